"""The candidate's pages at ``/take/{token}``: server-rendered HTML (Jinja2, autoescaped)
that works without JavaScript (each page is a form posted to the server) and is better
with it (``/assets/take.js`` saves each answer as it is given through
``POST /take/{token}/answers``).

The URL contract (DESIGN17.md, "Candidate pages"):

* ``GET /take/{token}``: the welcome page (instructions, estimated time, privacy notice);
  once the notice is accepted, a 303 to the page where the candidate stopped (resume).
* ``POST /take/{token}/start``: accept the privacy notice (``accept_privacy``).
* ``GET|POST /take/{token}/page/{n}``: at most 10 items (3 scenarios) a page; the post
  saves the page and moves back, next, or finishes.
* ``POST /take/{token}/answers``: JSON autosave (``X-CSRF-Token``).
* ``GET /take/{token}/done``: the thank-you page.

Safety: a CSRF token (an HMAC of the invitation id under its ``csrf_secret``) on every
form and on the JSON endpoint; unknown tokens are rate limited per client address; the
same 404 page for an unknown and an erased link; ``Content-Security-Policy``,
``X-Frame-Options``, ``Referrer-Policy`` and ``Cache-Control: no-store`` on every
``/take/`` response. Tokens and answer values are never logged. No demographic data is
asked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repprofile._formats.questionnaire import Item, Questionnaire, SjtItem
from repprofile.server._http import error_response
from repprofile.web._db import Invitation, utcnow
from repprofile.web._i18n import Catalogue, catalogue
from repprofile.web._service import WebService
from repprofile.web._store import (
    AnswerError,
    AnswerIn,
    ClosedError,
    Progress,
    accept_privacy,
    check_answer,
    find_by_token,
    log_access,
    progress,
    refresh_status,
    result_of,
    save_answers,
    stored_answers,
)

__all__ = ["GuessLimiter", "TakeHeaders", "add_page_routes", "csrf_token", "page_layout"]

HERE = Path(__file__).parent
ASSETS = HERE / "assets"
LIKERT_PER_PAGE = 10
SJT_PER_PAGE = 3
SECONDS_PER_LIKERT = 7.5
SECONDS_PER_SCENARIO = 30.0
SECONDS_PER_OPTION = 12.0
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_ANSWERS = 200
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
TAKE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_TAKE_NAMES = {name for name, _ in TAKE_HEADERS}
# added when absent (the server's outer layers add them too; never twice)
_TAKE_DEFAULTS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))
ACTOR = "candidate"
log = logging.getLogger("repprofile.web")


# ------------------------------------------------------------------ headers, limits


class TakeHeaders:
    """ASGI middleware: the candidate pages' security headers on every ``/take/``
    response (pages, redirects, JSON, errors), replacing any the app set, and
    ``Cache-Control: no-store`` unless one is set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to responses under ``/take/``."""
        if scope["type"] != "http" or not _below_root(scope).startswith("/take/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (n, v) for n, v in message.get("headers", []) if n.lower() not in _TAKE_NAMES
                ]
                present = {n.lower() for n, _ in kept}
                extra = [(n, v) for n, v in _TAKE_DEFAULTS if n not in present]
                message = {**message, "headers": [*kept, *TAKE_HEADERS, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _below_root(scope: Scope) -> str:
    """The request path below ``root_path`` (uvicorn's ``--root-path`` is part of
    ``scope["path"]``), as the router sees it."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", "")).rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :] or "/"
    return path


class GuessLimiter:
    """How many unknown candidate links each client address tried in the last minute.

    The window is kept in memory, so the limit holds **per server process**: with N
    workers a client may try up to N times the limit. Once an address is over the limit
    every ``/take/`` lookup from it is refused (429) until the window clears, valid links
    included, so that the refusal tells nothing about which links exist.
    """

    def __init__(self, limit: int, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._misses: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        misses = self._misses.get(client)
        if misses is None:
            return None
        while misses and misses[0] <= now - self.window:
            misses.popleft()
        if not misses:
            del self._misses[client]
            return None
        return misses

    def blocked(self, client: str) -> bool:
        """True when ``client`` used up its unknown-link lookups of the last minute."""
        with self._lock:
            misses = self._recent(client, time.monotonic())
            return misses is not None and len(misses) >= self.limit

    def miss(self, client: str) -> bool:
        """Count one unknown-link lookup by ``client``; True when this one reaches the
        limit (the address is refused from now on, until its window clears)."""
        now = time.monotonic()
        with self._lock:
            misses = self._recent(client, now)
            if misses is None:
                misses = deque()
                self._misses[client] = misses
                while len(self._misses) > self.max_clients:
                    self._misses.popitem(last=False)
            self._misses.move_to_end(client)
            misses.append(now)
            return len(misses) == self.limit

    def retry_after(self, client: str) -> int:
        """Seconds until ``client``'s oldest counted miss leaves the window."""
        with self._lock:
            misses = self._recent(client, time.monotonic())
            if not misses:
                return 0
            return max(1, math.ceil(misses[0] + self.window - time.monotonic()))


def csrf_token(inv: Invitation) -> str:
    """The invitation's CSRF token: HMAC-SHA256 of its id under its ``csrf_secret``."""
    return hmac.new(
        inv.csrf_secret.encode(), b"take:" + inv.id.encode(), hashlib.sha256
    ).hexdigest()


def _csrf_ok(inv: Invitation, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token(inv).encode(), given.encode())


# ------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class Layout:
    """The pages of a questionnaire: item ids per page, and each item's page (from 1)."""

    pages: tuple[tuple[str, ...], ...]
    page_of: Mapping[str, int]


_layouts: dict[str, Layout] = {}


def page_layout(q: Questionnaire) -> Layout:
    """Pages in item order: runs of Likert items :data:`LIKERT_PER_PAGE` at a time and
    runs of SJT scenarios :data:`SJT_PER_PAGE` at a time (a page never mixes the two)."""
    found = _layouts.get(q.fingerprint)
    if found is not None:
        return found
    pages: list[list[str]] = []
    last_sjt: bool | None = None
    for item in q.items:
        sjt = isinstance(item, SjtItem)
        size = SJT_PER_PAGE if sjt else LIKERT_PER_PAGE
        if not pages or sjt != last_sjt or len(pages[-1]) >= size:
            pages.append([])
        pages[-1].append(item.id)
        last_sjt = sjt
    layout = Layout(
        tuple(tuple(p) for p in pages),
        {i: n for n, p in enumerate(pages, 1) for i in p},
    )
    _layouts[q.fingerprint] = layout
    return layout


_STATED_MINUTES = re.compile(r"\b(\d{1,3})\s+minutes?\b", re.IGNORECASE)


def estimated_minutes(q: Questionnaire) -> int | None:
    """About how long the questionnaire takes, in whole minutes, for the welcome page's
    "It takes about N minutes" (None: the page states no separate estimate).

    The welcome page shows the questionnaire's instructions under the estimate, and the
    bundled instructions state their author's own time ("takes about 35 minutes"). A
    second, computed figure beside it (36) would contradict it, so the instructions win:
    when they state one number of minutes, that number is the estimate; when they state
    several different ones (say, one per part), the page gives no separate estimate and
    leaves the time to the instructions. Only instructions that state no time get the
    computed estimate: 7.5 s per Likert item, 30 s per scenario plus 12 s per option of
    an SJT item, rounded up to whole minutes (at least 1). The questionnaire's
    ``description`` is recruiter text and is never read here or shown to candidates."""
    stated = {int(m) for m in _STATED_MINUTES.findall(q.instructions or "")}
    if len(stated) == 1:
        return stated.pop()
    if stated:
        return None
    seconds = len(q.likert_items) * SECONDS_PER_LIKERT + sum(
        SECONDS_PER_SCENARIO + SECONDS_PER_OPTION * len(i.options) for i in q.sjt_items
    )
    return max(1, math.ceil(seconds / 60 - 1e-9))


def _parts(item: Item | SjtItem) -> tuple[str, ...]:
    """The form-name suffixes of an item's answers (``""``: the item id alone)."""
    if not isinstance(item, SjtItem):
        return ("",)
    if item.response_format == "rate":
        return item.option_ids
    return ("most", "least") if item.response_format == "most_least" else ("best",)


def _field(item_id: str, part: str) -> str:
    return f"{item_id}.{part}" if part else item_id


# ------------------------------------------------------------------------- views


def _choices(
    name: str, item_id: str, part: str, values: Sequence[tuple[str, str]], current: str | None
) -> dict[str, Any]:
    return {
        "name": name,
        "item": item_id,
        "part": part,
        "choices": [
            {"value": v, "label": label, "id": f"q-{name}-{v}", "checked": v == current}
            for v, label in values
        ],
    }


def _item_view(
    q: Questionnaire,
    item: Item | SjtItem,
    number: int,
    answers: Mapping[tuple[str, str], str],
    cat: Catalogue,
    missing: bool,
) -> dict[str, Any]:
    """What a template needs to draw one item."""
    if not isinstance(item, SjtItem):
        scale = q.response_scale
        values = [(str(v), scale.labels.get(v, str(v))) for v in range(scale.min, scale.max + 1)]
        group = _choices(item.id, item.id, "", values, answers.get((item.id, "")))
        return {
            "kind": "likert",
            "id": item.id,
            "anchor": group["choices"][0]["id"],
            "number": number,
            "text": item.text,
            "missing": missing,
            "group": group,
        }
    groups = []
    if item.response_format == "rate":
        sjt_scale = q.sjt_response_scale
        assert sjt_scale is not None
        values = [
            (str(v), sjt_scale.labels.get(v, str(v)))
            for v in range(sjt_scale.min, sjt_scale.max + 1)
        ]
        for opt in item.options:
            g = _choices(
                _field(item.id, opt.id), item.id, opt.id, values, answers.get((item.id, opt.id))
            )
            groups.append({**g, "legend": opt.text})
    else:
        values = [(o.id, o.text) for o in item.options]
        for part in _parts(item):
            g = _choices(_field(item.id, part), item.id, part, values, answers.get((item.id, part)))
            groups.append({**g, "legend": cat.t(f"sjt.{part}")})
    return {
        "kind": "sjt",
        "format": item.response_format,
        "id": item.id,
        "anchor": groups[0]["choices"][0]["id"],
        "number": number,
        "scenario": item.scenario,
        "options": [{"id": o.id, "text": o.text} for o in item.options],
        "missing": missing,
        "groups": groups,
    }


class Pages:
    """The routes' shared state: the service, the templates, the limiter, the assets."""

    def __init__(self, web: WebService) -> None:
        self.web = web
        self.limiter = GuessLimiter(web.settings.token_guess_limit)
        self._warned_proxy = False
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.assets: dict[str, tuple[bytes, str, str]] = {}
        for name, media in (
            ("take.css", "text/css"),
            ("take.js", "text/javascript"),
            ("favicon.svg", "image/svg+xml"),
        ):
            data = (ASSETS / name).read_bytes()
            self.assets[name] = (data, media, hashlib.sha256(data).hexdigest()[:12])
        self.env.globals["asset"] = lambda name: f"/assets/{name}?v={self.assets[name][2]}"

    # ------------------------------------------------------------- rendering

    def html(self, template: str, cat: Catalogue, status: int = 200, **values: Any) -> Response:
        """A page rendered in the catalogue's language."""
        body = self.env.get_template(template).render(t=cat.t, lang=cat.lang, **values)
        return HTMLResponse(body, status)

    def message(self, kind: str, status: int, cat: Catalogue | None = None) -> Response:
        """A page that only says something (not found, expired, withdrawn, ...)."""
        cat = cat or catalogue(None)
        return self.html(
            "message.html", cat, status, kind=kind, title=cat.t(f"message.{kind}.heading")
        )

    def not_found(self) -> Response:
        """THE page for an unknown or erased link (the same bytes for both)."""
        return self.message("not_found", 404)

    # ------------------------------------------------------------- look-ups

    def client(self, request: Request) -> str:
        """The client address the rate limit counts: the address uvicorn reports (the
        proxy's unless the proxy is trusted, ``FORWARDED_ALLOW_IPS``), an IPv6 address
        as its /64 network (one subscriber's addresses count as one)."""
        host = request.client.host if request.client else "-"
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and not self._warned_proxy:
            hops = {h.strip() for h in forwarded.split(",")}
            if host not in hops:  # uvicorn did not trust the proxy: every client is `host`
                self._warned_proxy = True
                log.warning(
                    "requests come through a proxy at %s that this server does not trust "
                    "(X-Forwarded-For is ignored): the token-guessing limit counts every "
                    "candidate behind it as one client. Set FORWARDED_ALLOW_IPS to the "
                    "proxy's address (docs/web-assessment.md)",
                    host,
                )
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return host
        if isinstance(addr, ipaddress.IPv6Address):
            if addr.ipv4_mapped is not None:
                return str(addr.ipv4_mapped)
            return str(ipaddress.ip_network(f"{addr}/64", strict=False))
        return str(addr)

    def miss(self, client: str) -> None:
        """Count an unknown link tried by ``client``, logging (without the link) when the
        client reaches the limit: from then on all its candidate-page requests get 429,
        valid links included, so an operator must be able to see that it happened."""
        if self.limiter.miss(client):
            log.warning(
                "token-guessing limit reached by client %s (%d unknown links within %g s): "
                "its candidate-page requests get 429 until the window clears",
                client,
                self.limiter.limit,
                self.limiter.window,
            )

    def lookup(self, s: Session, request: Request, token: str) -> Invitation | Response:
        """The active, completed, expired or withdrawn invitation of ``token``; else the
        429 or 404 page (and an unknown token counted against the client)."""
        client = self.client(request)
        if self.limiter.blocked(client):
            resp = self.message("rate_limited", 429)
            resp.headers["Retry-After"] = str(self.limiter.retry_after(client))
            return resp
        inv = find_by_token(s, token)
        if inv is None or inv.status == "erased":
            self.miss(client)
            return self.not_found()
        refresh_status(s, inv)
        return inv

    def closed(self, inv: Invitation, token: str) -> Response | None:
        """The answer for a link that takes no more answers (None: it is active)."""
        cat = catalogue(inv.locale)
        if inv.status == "expired":
            return self.message("expired", 410, cat)
        if inv.status == "withdrawn":
            return self.message("withdrawn", 410, cat)
        if inv.status == "completed":
            return _see(f"/take/{token}/done")
        return None

    # ------------------------------------------------------------- pages

    def render_page(
        self,
        s: Session,
        inv: Invitation,
        q: Questionnaire,
        token: str,
        n: int,
        *,
        show_missing: bool = False,
        errors: Sequence[tuple[str, str]] = (),
        status: int = 200,
    ) -> Response:
        """Page ``n`` of the questionnaire with the stored answers checked."""
        cat = catalogue(inv.locale)
        layout = page_layout(q)
        rows = stored_answers(s, inv.id)
        answers = {(r.item_id, r.part): r.value for r in rows}
        prog = progress(s, inv, q)
        missing = set(prog.missing) if show_missing else set()
        index = {it.id: k for k, it in enumerate(q.items, 1)}
        items = [
            _item_view(q, q.items[index[i] - 1], index[i], answers, cat, i in missing)
            for i in layout.pages[n - 1]
        ]
        summary = list(errors)
        if show_missing:
            summary += [
                (v["anchor"], cat.t("error.missing_item", number=v["number"]))
                for v in items
                if v["missing"]
            ]
            elsewhere = len(prog.missing) - sum(1 for v in items if v["missing"])
            if elsewhere > 0:
                summary.append(("", cat.t("error.missing_elsewhere", count=elsewhere)))
        title = cat.t("page.title", n=n, pages=len(layout.pages), questionnaire=q.title)
        if summary:
            title = cat.t("error.title_prefix") + title
        return self.html(
            "page.html",
            cat,
            status,
            title=title,
            heading=q.title,
            n=n,
            pages=len(layout.pages),
            items=items,
            has_sjt=any(v["kind"] == "sjt" for v in items),
            errors=summary,
            progress=prog,
            action=f"/take/{token}/page/{n}",
            save_url=f"/take/{token}/answers",
            csrf=csrf_token(inv),
            t0=f"{time.time():.3f}",
            first=n == 1,
            last=n == len(layout.pages),
        )


def _see(url: str) -> Response:
    return RedirectResponse(url, 303)


def _form(raw: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the last value of a repeated name)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=2000))


def _page_number(text: str, pages: int) -> int | None:
    if not text.isdigit() or len(text) > 6:
        return None
    n = int(text)
    return n if 1 <= n <= pages else None


def _page_answers(
    q: Questionnaire,
    ids: Sequence[str],
    form: Mapping[str, str],
    stored: Mapping[tuple[str, str], str],
    elapsed: float | None,
) -> tuple[list[AnswerIn], list[tuple[str, str]]]:
    """The answers on a posted page that are new or changed (an unchanged one keeps its
    stored time, which take.js may have measured), timed by the page's time split over
    the items they belong to; and the problems ((anchor, message)) with the rest."""
    changed: list[tuple[str, str, str]] = []
    errors: list[tuple[str, str]] = []
    by_id = {it.id: it for it in q.items}
    for item_id in ids:
        item = by_id[item_id]
        for part in _parts(item):
            name = _field(item_id, part)
            value = form.get(name, "").strip()
            if not value or stored.get((item_id, part)) == value:
                continue
            try:
                check_answer(q, AnswerIn(item_id, part, value))
            except AnswerError as exc:
                errors.append((f"q-{name}-{value}", str(exc)))
                continue
            changed.append((item_id, part, value))
    per_item: dict[str, int] = {}
    for item_id, _, _ in changed:
        per_item[item_id] = per_item.get(item_id, 0) + 1
    out = []
    for item_id, part, value in changed:
        secs = None
        if elapsed is not None:
            secs = elapsed / len(per_item) / per_item[item_id]
        out.append(AnswerIn(item_id, part, value, secs))
    return out, errors


def _elapsed(t0: str | None) -> float | None:
    """Seconds since the page was rendered (its hidden ``t0``), None if implausible."""
    try:
        start = float(t0 or "")
    except ValueError:
        return None
    secs = time.time() - start
    return secs if math.isfinite(secs) and 0 <= secs < 86_400 else None


def _json_error(status: int, code: str, detail: Any, **extra: Any) -> Response:
    return error_response(status, code, detail, **extra)


def _parse_autosave(raw: bytes) -> tuple[list[AnswerIn], int | None] | Response:
    """The autosave body as answers and the page, or the 422 naming what is wrong."""

    def bad(field: str, msg: str) -> Response:
        loc: list[str | int] = ["body"]
        loc += [int(p) if p.isdigit() else p for p in field.split(".") if p]
        err = [{"loc": loc, "msg": msg, "type": "value_error"}]
        return _json_error(422, "invalid_request", err, errors=err)

    if len(raw) > MAX_JSON_BYTES:
        return bad("", f"expected a body of at most {MAX_JSON_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except ValueError:
        return bad("", 'expected a JSON object {"answers": [...], "page": N}')
    if not isinstance(doc, dict) or not isinstance(doc.get("answers"), list):
        return bad("answers", "expected a list of answers")
    items = doc["answers"]
    if len(items) > MAX_JSON_ANSWERS:
        return bad("answers", f"expected at most {MAX_JSON_ANSWERS} answers")
    page = doc.get("page")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        return bad("page", "expected a page number from 1")
    out = []
    for i, a in enumerate(items):
        if not isinstance(a, dict) or not isinstance(a.get("item"), str):
            return bad(f"answers.{i}.item", "expected an object with an item id")
        part = a.get("part", "")
        value = a.get("value")
        secs = a.get("seconds")
        if not isinstance(part, str):
            return bad(f"answers.{i}.part", f"item {a['item'][:80]!r}: expected a string")
        if isinstance(value, bool) or not isinstance(value, str | int):
            return bad(
                f"answers.{i}.value", f"item {a['item'][:80]!r}: expected a string or a number"
            )
        if secs is not None and (
            isinstance(secs, bool) or not isinstance(secs, int | float) or not math.isfinite(secs)
        ):
            return bad(f"answers.{i}.seconds", f"item {a['item'][:80]!r}: expected seconds")
        out.append(AnswerIn(a["item"], part, str(value), None if secs is None else float(secs)))
    return out, page


# ------------------------------------------------------------------------ routes


def add_page_routes(app: FastAPI, web: WebService) -> None:
    """The candidate's pages, their assets and their security headers on ``app``."""
    pages = Pages(web)
    app.state.take_pages = pages
    # outermost, around Starlette's ServerErrorMiddleware and the server's guard and
    # transport layers: their 500, 413 and 408 answers under /take/ get the headers too
    build = app.build_middleware_stack

    def build_with_take_headers() -> ASGIApp:
        return TakeHeaders(build())

    app.build_middleware_stack = build_with_take_headers  # type: ignore[method-assign]

    @app.get("/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        """take.css and take.js, cached for a year (the URL carries a version)."""
        found = pages.assets.get(name)
        if found is None:
            return Response(b"not found", 404, media_type="text/plain")
        data, media, _ = found
        return Response(
            data,
            media_type=media,
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    @app.get("/take/{token}", include_in_schema=False)
    def welcome(token: str, request: Request) -> Response:
        """The welcome page, or the page where the candidate stopped."""
        with web.session() as s:
            inv = pages.lookup(s, request, token)
            if isinstance(inv, Response):
                return inv
            closed = pages.closed(inv, token)
            if closed is not None:
                return closed
            if inv.privacy_accepted_at is not None:
                n = min(max(inv.page, 1), len(page_layout(web.questionnaire(inv)).pages))
                return _see(f"/take/{token}/page/{n}")
            log_access(s, ACTOR, "take.open", inv.id)
            s.commit()
            return _welcome(pages, inv, token, ())

    @app.post("/take/{token}/start", include_in_schema=False)
    async def start(token: str, request: Request) -> Response:
        """Accept the privacy notice and go to the first page."""
        form = _form(await request.body())

        def work() -> Response:
            with web.session() as s:
                inv = pages.lookup(s, request, token)
                if isinstance(inv, Response):
                    return inv
                closed = pages.closed(inv, token)
                if closed is not None:
                    return closed
                if not _csrf_ok(inv, form.get("csrf")):
                    return pages.message("csrf", 403, catalogue(inv.locale))
                if inv.privacy_accepted_at is None:
                    if not form.get("accept_privacy"):
                        cat = catalogue(inv.locale)
                        err = [("accept_privacy", cat.t("error.accept_privacy"))]
                        return _welcome(pages, inv, token, err, 422)
                    if not accept_privacy(s, inv, ACTOR, utcnow()):
                        s.refresh(inv)  # closed meanwhile (erased, withdrawn, completed)
                        return pages.closed(inv, token) or _see(f"/take/{token}")
                return _see(f"/take/{token}/page/{max(inv.page, 1)}")

        return await run_in_threadpool(work)

    @app.get("/take/{token}/page/{number}", include_in_schema=False)
    def page(token: str, number: str, request: Request) -> Response:
        """One page of items."""
        with web.session() as s:
            inv = pages.lookup(s, request, token)
            if isinstance(inv, Response):
                return inv
            closed = pages.closed(inv, token)
            if closed is not None:
                return closed
            if inv.privacy_accepted_at is None:
                return _see(f"/take/{token}")
            q = web.questionnaire(inv)
            n = _page_number(number, len(page_layout(q).pages))
            if n is None:
                return _see(
                    f"/take/{token}/page/{min(max(inv.page, 1), len(page_layout(q).pages))}"
                )
            return pages.render_page(
                s, inv, q, token, n, show_missing="missing" in request.query_params
            )

    @app.post("/take/{token}/page/{number}", include_in_schema=False)
    async def post_page(token: str, number: str, request: Request) -> Response:
        """Save the page's answers, then back, next, or finish."""
        form = _form(await request.body())

        def work() -> Response:
            with web.session() as s:
                inv = pages.lookup(s, request, token)
                if isinstance(inv, Response):
                    return inv
                closed = pages.closed(inv, token)
                if closed is not None:
                    return closed
                if not _csrf_ok(inv, form.get("csrf")):
                    return pages.message("csrf", 403, catalogue(inv.locale))
                if inv.privacy_accepted_at is None:
                    return _see(f"/take/{token}")
                q = web.questionnaire(inv)
                layout = page_layout(q)
                n = _page_number(number, len(layout.pages))
                if n is None:
                    return _see(f"/take/{token}/page/{max(inv.page, 1)}")
                stored = {(r.item_id, r.part): r.value for r in stored_answers(s, inv.id)}
                answers, errors = _page_answers(
                    q, layout.pages[n - 1], form, stored, _elapsed(form.get("t0"))
                )
                if errors:
                    return pages.render_page(s, inv, q, token, n, errors=errors, status=422)
                nav = form.get("nav", "next")
                target = {"back": max(n - 1, 1), "finish": n}.get(
                    nav, min(n + 1, len(layout.pages))
                )
                with web.writing():
                    if answers:
                        log_access(s, ACTOR, "take.save", inv.id, f"{len(answers)} answer(s)")
                    try:
                        prog = save_answers(s, inv, q, answers, page=target)
                    except ClosedError:  # completed, withdrawn or erased meanwhile: not saved
                        s.refresh(inv)
                        return pages.closed(inv, token) or pages.not_found()
                if nav != "finish":
                    return _see(f"/take/{token}/page/{target}")
                return _finish(pages, s, inv, q, token, prog)

        return await run_in_threadpool(work)

    @app.post("/take/{token}/answers", include_in_schema=False)
    async def autosave(token: str, request: Request) -> Response:
        """Save answers as they are given (take.js); 200 once they are on disk."""
        raw = await request.body()

        def work() -> Response:
            with web.session() as s:
                client = pages.client(request)
                if pages.limiter.blocked(client):
                    return _json_error(
                        429,
                        "rate_limited",
                        "too many unknown links from this address; retry later",
                        headers={"Retry-After": str(pages.limiter.retry_after(client))},
                    )
                inv = find_by_token(s, token)
                if inv is None or inv.status == "erased":
                    pages.miss(client)
                    return _json_error(404, "not_found", "no such link")
                refresh_status(s, inv)
                if inv.status in ("expired", "withdrawn"):
                    return _json_error(410, "gone", f"this link is {inv.status}")
                if inv.status == "completed":
                    return _json_error(409, "conflict", "this assessment is already completed")
                if not _csrf_ok(inv, request.headers.get("x-csrf-token")):
                    return _json_error(403, "forbidden", "missing or wrong X-CSRF-Token header")
                if inv.privacy_accepted_at is None:
                    return _json_error(
                        409, "conflict", "the privacy notice is not accepted yet: start first"
                    )
                parsed = _parse_autosave(raw)
                if isinstance(parsed, Response):
                    return parsed
                answers, page_no = parsed
                q = web.questionnaire(inv)
                for i, a in enumerate(answers):
                    try:
                        check_answer(q, a)
                    except AnswerError as exc:
                        err = [
                            {
                                "loc": ["body", "answers", i, "value"],
                                "msg": str(exc),
                                "type": "value_error",
                            }
                        ]
                        return _json_error(422, "invalid_request", err, errors=err)
                if page_no is not None:
                    page_no = min(page_no, len(page_layout(q).pages))
                with web.writing():
                    log_access(s, ACTOR, "take.save", inv.id, f"{len(answers)} answer(s)")
                    try:
                        prog = save_answers(s, inv, q, answers, page=page_no)
                    except ClosedError:  # completed, withdrawn or erased meanwhile: not saved
                        s.refresh(inv)
                        refresh_status(s, inv)
                        if inv.status == "completed":
                            return _json_error(
                                409, "conflict", "this assessment is already completed"
                            )
                        if inv.status in ("expired", "withdrawn"):
                            return _json_error(410, "gone", f"this link is {inv.status}")
                        return _json_error(404, "not_found", "no such link")
                return Response(
                    json.dumps(
                        {"saved": len(answers), "answered": prog.answered, "total": prog.total}
                    ),
                    media_type="application/json",
                )

        return await run_in_threadpool(work)

    @app.get("/take/{token}/done", include_in_schema=False)
    def done(token: str, request: Request) -> Response:
        """The thank-you page (with a short profile when the invitation asks for it)."""
        with web.session() as s:
            inv = pages.lookup(s, request, token)
            if isinstance(inv, Response):
                return inv
            if inv.status != "completed":
                return pages.closed(inv, token) or _see(f"/take/{token}")
            cat = catalogue(inv.locale)
            profile = None
            if inv.show_results:
                res = result_of(s, inv.id)
                if res is not None:
                    profile = _profile_view(web.questionnaire(inv), res.document)
            return pages.html("done.html", cat, title=cat.t("done.title"), profile=profile)


def _welcome(
    pages: Pages,
    inv: Invitation,
    token: str,
    errors: Sequence[tuple[str, str]],
    status: int = 200,
) -> Response:
    cat = catalogue(inv.locale)
    q = pages.web.questionnaire(inv)
    title = q.title
    if errors:
        title = cat.t("error.title_prefix") + title
    return pages.html(
        "welcome.html",
        cat,
        status,
        title=title,
        heading=q.title,
        instructions=q.instructions or "",
        minutes=estimated_minutes(q),
        items=len(q.items),
        pages=len(page_layout(q).pages),
        action=f"/take/{token}/start",
        csrf=csrf_token(inv),
        errors=list(errors),
    )


def _finish(
    pages: Pages, s: Session, inv: Invitation, q: Questionnaire, token: str, prog: Progress
) -> Response:
    """Complete the invitation when every item is answered (else the first page with a
    missing item, with an error summary). Two tabs finishing at once: one completes, the
    other finds it completed and sees the thank-you page."""
    if prog.missing:
        first = page_layout(q).page_of[prog.missing[0]]
        return _see(f"/take/{token}/page/{first}?missing=1")
    s.refresh(inv)
    if inv.status == "completed":
        return _see(f"/take/{token}/done")
    try:
        log_access(s, ACTOR, "take.complete", inv.id)
        pages.web.finish(s, inv)
    except ClosedError:  # completed by another tab, or withdrawn or erased meanwhile
        s.refresh(inv)
        return pages.closed(inv, token) or pages.not_found()
    except (IntegrityError, OperationalError):
        s.rollback()
        s.refresh(inv)
        if inv.status != "completed":
            raise
    return _see(f"/take/{token}/done")


def _profile_view(q: Questionnaire, document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The plain profile of the thank-you page: the primary type's name and the trait and
    skill scales' scores (0 to 100), from the stored result."""
    try:
        prof = document["score"]["profiles"][0]
    except (KeyError, IndexError, TypeError):
        return None
    names = {sc.id: sc.name for sc in q.scales}
    scales = []
    for sc in q.scales:
        if sc.kind == "validity":
            continue
        got = prof.get("scales", {}).get(sc.id, {})
        pomp = got.get("pomp") if isinstance(got, dict) else None
        if isinstance(pomp, int | float):
            scales.append({"name": sc.name, "score": round(float(pomp)), "kind": sc.kind})
    primary = prof.get("primary_type")
    return {"primary": names.get(primary) if isinstance(primary, str) else None, "scales": scales}
