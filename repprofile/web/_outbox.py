"""The webhook outbox: signed delivery of queued events (``invitation.completed``) to the
invitation's ``callback_url``, retried with exponential backoff.

Every server process runs one delivery thread (:class:`OutboxWorker`, when
``WebSettings.outbox`` is on). All state is in the ``webhook_outbox`` table, so several
processes can share the work and a restart resumes where the last one stopped:

* a row is due when it is not delivered, has attempts left and ``next_attempt_at`` has come;
* a process claims a due row with a *lease*: it moves ``next_attempt_at`` forward by
  :data:`LEASE` (PostgreSQL: the rows are picked with ``SELECT ... FOR UPDATE SKIP LOCKED``;
  SQLite: a conditional ``UPDATE ... WHERE id = ? AND next_attempt_at = ?`` that only one
  process can win), so no other process sends the same event meanwhile; just before each
  POST the lease is renewed, conditionally, so that a pass that outlived a lease (a slow
  receiver) skips a row another process has taken since;
* the body is POSTed with ``Repprofile-Signature: t=TIMESTAMP,v1=HEX`` (:func:`sign`),
  ``Repprofile-Event-Id`` (the row id, the same on every retry), a 10 s timeout and no
  redirects followed; unless ``REPPROFILE_WEBHOOK_ALLOW_PRIVATE`` is set, the URL's host
  is resolved and checked again (:func:`public_address`) and the request connects to
  that checked address, so a name rebound to an internal address since the invitation
  was created is refused (an attempt that failed);
* a 2xx answer marks the row delivered; anything else counts an attempt and schedules the
  next one ``backoff * 2**(attempts - 1)`` seconds later (at most one hour); after
  ``webhook_max_attempts`` attempts the row is given up, its ``last_error`` kept.

The body holds scores, so it is never logged: the log names the event id, the status code
and the attempt. Receivers check the signature with :func:`verify` (or its few lines in
another language; docs/web-assessment.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update

from repprofile._version import __version__
from repprofile.web._db import EmailOutbox, Outbox, as_utc, utcnow

if TYPE_CHECKING:
    from fastapi import FastAPI

    from repprofile.web._service import WebService

__all__ = [
    "LEASE",
    "MAX_BACKOFF",
    "OutboxWorker",
    "PassWorker",
    "add_outbox_worker",
    "backoff_delay",
    "callback_refusal",
    "claim_due",
    "deliver_due",
    "public_address",
    "renew_lease",
    "sign",
    "update_held",
    "verify",
]

log = logging.getLogger("repprofile.web.outbox")

LEASE = dt.timedelta(seconds=60)
"""How long a claimed row is held by the process sending it (well above the timeout)."""
MAX_BACKOFF = 3600.0
"""The longest wait between two attempts, in seconds."""
TIMEOUT = 10.0
BATCH = 20
"""Rows claimed per pass."""
SIGNATURE_HEADER = "Repprofile-Signature"
EVENT_ID_HEADER = "Repprofile-Event-Id"


# ---------------------------------------------------------------------------- callback URLs


def callback_refusal(url: str) -> str | None:
    """Why ``url`` may not be a callback URL (None: it may). Its host (an IP address, or
    every address its name resolves to now) must be a public one: not loopback, private,
    link-local (cloud metadata at 169.254.169.254), shared, multicast, reserved or
    unspecified; otherwise anyone with an API key could have this server POST to its own
    admin ports or the internal network. Checked when the invitation is created, unless
    the operator sets ``REPPROFILE_WEBHOOK_ALLOW_PRIVATE=1`` (a receiver on the same
    machine or network), and again at each delivery (:func:`public_address`), where the
    request then connects to the address checked: a name that resolves differently
    later (DNS rebinding) does not reach the internal network."""
    return public_address(url)[1]


def public_address(url: str) -> tuple[str | None, str | None]:
    """``(address, None)``: the first address the host of ``url`` resolves to now, every
    one of them public (see :func:`callback_refusal`); ``(None, reason)`` otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as exc:
        return None, f"cannot resolve the host {host!r} of the callback URL ({type(exc).__name__})"
    found = [str(ai[4][0]) for ai in infos]
    if not found:
        return None, f"cannot resolve the host {host!r} of the callback URL (no address)"
    for text in sorted(set(found)):
        addr = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if not addr.is_global or addr.is_multicast:
            return None, (
                f"the callback URL's host {host!r} is the address {addr}, which is not a "
                "public one (loopback, private, link-local or reserved); the server "
                "refuses such callbacks unless REPPROFILE_WEBHOOK_ALLOW_PRIVATE=1 is set"
            )
    return found[0], None


# ---------------------------------------------------------------------------- signatures


def _as_bytes(body: str | bytes) -> bytes:
    """``body`` as bytes (text is UTF-8)."""
    return body.encode("utf-8") if isinstance(body, str) else body


def _digest(secret: str, timestamp: int, body: str | bytes) -> str:
    """Hex HMAC-SHA256 with key ``secret`` of ``TIMESTAMP.BODY``."""
    message = str(int(timestamp)).encode("ascii") + b"." + _as_bytes(body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: str | bytes) -> str:
    """The ``Repprofile-Signature`` header of ``body`` sent at ``timestamp`` (integer Unix
    seconds): ``t=TIMESTAMP,v1=HEX``, HEX the hex HMAC-SHA256 with key ``secret`` of
    ``f"{timestamp}.{body}"`` (the body exactly as sent, UTF-8)."""
    return f"t={int(timestamp)},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str | None,
    body: str | bytes,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """True when ``header`` (the ``Repprofile-Signature`` value) signs ``body`` with
    ``secret`` and its timestamp is within ``tolerance`` seconds of ``now`` (default: the
    clock), so that a captured request cannot be replayed later. Compares in constant
    time; any malformed header is False. ``body`` must be the raw request body."""
    if not header:
        return False
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isascii() or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    # every v1 value is compared (a sender rotating secrets may send two)
    ok = False
    for candidate in fields.get("v1", []):
        ok |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii", "replace"))
    return ok


# ---------------------------------------------------------------------------- delivery


def backoff_delay(base: float, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1 for the first):
    ``base * 2**(attempts - 1)``, at most :data:`MAX_BACKOFF`."""
    return min(base * 2.0 ** min(attempts - 1, 60), MAX_BACKOFF)


@dataclass(frozen=True)
class _Claim:
    id: int
    url: str
    body: str
    attempts: int
    lease: dt.datetime
    auth_key_sha256: str | None = None
    """Set on an ATS completion call: a PATCH with this key, not a signed POST."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: the event is not delivered."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Follow no redirect (urllib then raises HTTPError with the 3xx status)."""
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def _pinned_class(base: type[http.client.HTTPConnection], address: str) -> Any:
    """A connection class like ``base`` whose socket goes to ``address`` (the host name
    stays in the Host header and in TLS: SNI and certificate checks are unchanged)."""

    def factory(host: str, **kwargs: Any) -> http.client.HTTPConnection:
        conn = base(host, **kwargs)

        def create(where: tuple[str, int], *args: Any) -> socket.socket:
            return socket.create_connection((address, where[1]), *args)

        conn._create_connection = create  # type: ignore[attr-defined]
        return conn

    return factory


class _PinnedHTTP(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> Any:
        """Open ``req`` on the pinned address."""
        return self.do_open(_pinned_class(http.client.HTTPConnection, self.address), req)


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def https_open(self, req: urllib.request.Request) -> Any:
        """Open ``req`` on the pinned address, TLS checked against the URL's host name."""
        pinned = _pinned_class(http.client.HTTPSConnection, self.address)
        return self.do_open(pinned, req, context=self._context)  # type: ignore[attr-defined]


def _opener(url: str, address: str | None) -> urllib.request.OpenerDirector:
    """The opener of one request: connecting to ``address`` (checked by
    :func:`public_address`) when given and no outgoing proxy applies to ``url`` (a proxy
    resolves the name itself: it is then the place for egress rules); else the default."""
    if address is None:
        return _OPENER
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme in proxies and not urllib.request.proxy_bypass(parts.hostname or ""):
        return _OPENER
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirect(), _PinnedHTTP(address), _PinnedHTTPS(address)
    )


Leased = type[Outbox] | type[EmailOutbox]
"""The tables delivered through a lease (same columns: id, attempts, next_attempt_at,
delivered_at)."""


def _due(model: Leased, now: dt.datetime, max_attempts: int) -> Any:
    """The conditions of a due row: not delivered, attempts left, its time come."""
    conditions = [
        model.delivered_at.is_(None),
        model.attempts < max_attempts,
        model.next_attempt_at <= now,
    ]
    if model is EmailOutbox:
        conditions.append(EmailOutbox.cancelled_at.is_(None))
    return tuple(conditions)


def claim_due(
    engine: Engine,
    model: Leased,
    now: dt.datetime,
    max_attempts: int,
    *where: Any,
    columns: tuple[Any, ...] = (),
) -> list[tuple[Any, dt.datetime]]:
    """Claim up to :data:`BATCH` due rows of ``model`` (that also meet the conditions
    ``where``) for this process (see the module docstring): ``(row, lease)`` of each row
    won, ``row`` holding ``id``, ``attempts``, ``next_attempt_at`` and ``columns``, read
    in the same query."""
    lease = now + LEASE
    stmt = (
        select(model.id, model.attempts, model.next_attempt_at, *columns)
        .where(*_due(model, now, max_attempts), *where)
        .order_by(model.next_attempt_at)
    )
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(stmt.limit(BATCH).with_for_update(skip_locked=True)).all()
            if rows:
                conn.execute(
                    update(model)
                    .where(model.id.in_([r.id for r in rows]))
                    .values(next_attempt_at=lease)
                )
            return [(r, lease) for r in rows]
        rows = conn.execute(stmt.limit(BATCH)).all()
    won: list[tuple[Any, dt.datetime]] = []
    for r in rows:
        # the lease: only the process whose UPDATE still sees the value it read wins
        with engine.begin() as conn:
            count = conn.execute(
                update(model)
                .where(
                    model.id == r.id,
                    model.next_attempt_at == r.next_attempt_at,
                    model.delivered_at.is_(None),
                )
                .values(next_attempt_at=lease)
            ).rowcount
        if count == 1:
            won.append((r, lease))
    return won


def update_held(
    engine: Engine, model: Leased, row_id: int, held: dt.datetime, values: dict[str, Any]
) -> bool:
    """Write ``values`` to a claimed row if this process still holds it (the row is
    undelivered and its ``next_attempt_at`` is the lease ``held`` this process set);
    False when another process claimed it since."""
    with engine.begin() as conn:
        count = conn.execute(
            update(model)
            .where(
                model.id == row_id,
                model.next_attempt_at == held,
                model.delivered_at.is_(None),
            )
            .values(**values)
        ).rowcount
    return count == 1


def renew_lease(
    engine: Engine, model: Leased, row_id: int, held: dt.datetime, lease: dt.datetime
) -> bool:
    """Move a claimed row's lease from ``held`` to ``lease`` (:func:`update_held`)."""
    return update_held(engine, model, row_id, held, {"next_attempt_at": lease})


def _claim(web: WebService, now: dt.datetime, *where: Any) -> list[_Claim]:
    """Claim up to :data:`BATCH` due outbox rows (that also meet ``where``) for this
    process, with their URL, body and ATS key digest."""
    cols = (Outbox.url, Outbox.body, Outbox.auth_key_sha256)
    won = claim_due(
        web.engine, Outbox, now, web.settings.webhook_max_attempts, *where, columns=cols
    )
    return [_Claim(r.id, r.url, r.body, r.attempts, lease, r.auth_key_sha256) for r, lease in won]


def _send(
    request: urllib.request.Request, address: str | None = None
) -> tuple[int | None, str | None]:
    """Send one request (10 s timeout, no redirect followed), to ``address`` when given
    (:func:`_opener`); (HTTP status or None, error text or None on a 2xx)."""
    try:
        with _opener(request.full_url, address).open(request, timeout=TIMEOUT) as response:
            status = int(response.status)
            response.read(65536)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}"


def _post(
    url: str, body: str, event_id: int, secret: str, address: str | None = None
) -> tuple[int | None, str | None]:
    """POST one signed event (to ``address`` when given); (HTTP status or None, error text
    or None on a 2xx)."""
    data = body.encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, int(time.time()), data),
            EVENT_ID_HEADER: str(event_id),
            "User-Agent": f"repprofile/{__version__}",
        },
    )
    return _send(request, address)


def _patch(url: str, key: str, address: str | None = None) -> tuple[int | None, str | None]:
    """The ATS completion call: ``PATCH url`` with no body and HTTP Basic credentials
    (``key`` as the user name, an empty password), as Greenhouse's Assessment Partner API
    asks (to ``address`` when given); (HTTP status or None, error text or None on a 2xx)."""
    credentials = base64.b64encode(f"{key}:".encode()).decode("ascii")
    request = urllib.request.Request(  # no body: Content-Length 0, no Content-Type
        url,
        data=None,
        method="PATCH",
        headers={
            "Authorization": f"Basic {credentials}",
            "User-Agent": f"repprofile/{__version__}",
        },
    )
    return _send(request, address)


def _label(claim: _Claim) -> str:
    """How the logs name a row: a webhook event, or an ATS completion call (PATCH)."""
    kind = "ATS completion call" if claim.auth_key_sha256 is not None else "webhook event"
    return f"{kind} {claim.id}"


def _record(web: WebService, claim: _Claim, status: int | None, error: str | None) -> None:
    """Store the outcome of one attempt (delivered, or the next attempt scheduled)."""
    attempt = claim.attempts + 1
    when = utcnow()
    with web.engine.begin() as conn:
        if error is None:
            conn.execute(
                update(Outbox)
                .where(Outbox.id == claim.id)
                .values(attempts=attempt, delivered_at=when, last_error=None)
            )
            log.info("%s delivered (HTTP %s, attempt %d)", _label(claim), status, attempt)
            return
        delay = backoff_delay(web.settings.webhook_backoff, attempt)
        # ``claim.lease`` was computed from the pass's ``now``: the next attempt counts
        # from that same clock, so a pass with a fixed ``now`` schedules exact times
        nxt = claim.lease - LEASE + dt.timedelta(seconds=delay)
        conn.execute(
            update(Outbox)
            .where(Outbox.id == claim.id, Outbox.delivered_at.is_(None))
            .values(attempts=attempt, next_attempt_at=nxt, last_error=error)
        )
    if attempt >= web.settings.webhook_max_attempts:
        log.error(
            "%s failed (%s, attempt %d): giving up after %d attempts",
            _label(claim),
            status if status is not None else error,
            attempt,
            web.settings.webhook_max_attempts,
        )
    else:
        log.warning(
            "%s failed (%s, attempt %d): next attempt in %.0f s",
            _label(claim),
            status if status is not None else error,
            attempt,
            delay,
        )


def deliver_due(web: WebService, now: dt.datetime | None = None) -> int:
    """One pass: claim the due events (at most :data:`BATCH`), POST each once and record
    the outcome. ``now`` (default: the clock) decides what is due and when a failed event
    is tried next. Returns the number of attempts made (delivered or not; a row
    taken over by another process meanwhile is not counted).

    Without a webhook secret no webhook is sent (an unsigned event would be worthless to
    a receiver that checks): those rows wait for a server that has the secret. ATS
    completion calls (rows with ``auth_key_sha256``) need no secret: they are PATCHed
    with the key that ordered the test (:func:`_patch`); when that key is no longer
    configured the row is given up at once, its reason logged and kept in
    ``last_error``."""
    secret = web.settings.webhook_secret
    now = as_utc(now) or utcnow()
    started = time.monotonic()
    only_ats = () if secret is not None else (Outbox.auth_key_sha256.is_not(None),)
    claims = _claim(web, now, *only_ats)
    sent = 0
    for claim in claims:
        # a pass may outlive the lease of its last rows (20 POSTs of up to 10 s each):
        # renew each lease just before its POST, and skip a row another process took
        elapsed = dt.timedelta(seconds=time.monotonic() - started)
        if not _renew(web, claim, claim.lease + elapsed):
            log.info("%s: taken over by another process, not sent", _label(claim))
            continue
        address: str | None = None
        if not web.settings.webhook_allow_private:
            # again now, and the request connects to the address checked (DNS rebinding)
            address, refused = public_address(claim.url)
            if refused is not None:
                _record(web, claim, None, refused)
                sent += 1
                continue
        if claim.auth_key_sha256 is not None:
            key = web.ats_keys.get(claim.auth_key_sha256)
            if key is None:
                _give_up(
                    web,
                    claim,
                    "the key that ordered this test is no longer configured "
                    "(REPPROFILE_GREENHOUSE_KEYS or REPPROFILE_API_KEYS); the ATS still "
                    "reads the result through test_status",
                )
                continue
            status, error = _patch(claim.url, key, address)
        else:
            assert secret is not None
            status, error = _post(
                claim.url, claim.body, claim.id, secret.get_secret_value(), address
            )
        _record(web, claim, status, error)
        sent += 1
    return sent


def _give_up(web: WebService, claim: _Claim, reason: str) -> None:
    """Give a row up without sending it (attempts set to the maximum), logging why."""
    with web.engine.begin() as conn:
        conn.execute(
            update(Outbox)
            .where(Outbox.id == claim.id, Outbox.delivered_at.is_(None))
            .values(attempts=web.settings.webhook_max_attempts, last_error=reason)
        )
    log.error("%s given up without sending: %s", _label(claim), reason)


def _renew(web: WebService, claim: _Claim, lease: dt.datetime) -> bool:
    """Renew a webhook claim's lease (:func:`renew_lease`)."""
    return renew_lease(web.engine, Outbox, claim.id, claim.lease, lease)


# ---------------------------------------------------------------------------- the worker


class PassWorker:
    """A delivery thread of one server process: ``run_pass()`` every ``interval``
    seconds, at once again after a full batch (it returned :data:`BATCH` or more); a
    failing pass is logged (its type only: no body, no address) and tried again.
    :meth:`stop` ends it, waiting up to ``join_timeout`` seconds for the pass in flight."""

    def __init__(
        self,
        run_pass: Callable[[], int],
        name: str,
        what: str,
        join_timeout: float,
        interval: float = 2.0,
    ) -> None:
        self.run_pass = run_pass
        self.name = name
        self.what = what
        self.join_timeout = join_timeout
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a daemon: it never keeps the process alive)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end and wait for the pass in flight (at most the timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)
            self._thread = None

    def _run(self) -> None:
        """The thread: passes until stopped."""
        while not self._stop.is_set():
            try:
                full = self.run_pass() >= BATCH
            except Exception as exc:  # a database hiccup: try again next time
                log.error("%s pass failed: %s", self.what, type(exc).__name__)
                full = False
            if not full:
                self._stop.wait(self.interval)


class OutboxWorker(PassWorker):
    """The webhook (and ATS completion call) thread: a pass of :func:`deliver_due`."""

    def __init__(self, web: WebService, interval: float = 2.0) -> None:
        self.web = web
        super().__init__(
            lambda: deliver_due(web), "repprofile-outbox", "webhook delivery", TIMEOUT + 5, interval
        )


def add_outbox_worker(app: FastAPI, web: WebService) -> OutboxWorker | None:
    """Run an :class:`OutboxWorker` from app startup to shutdown when
    ``web.settings.outbox`` is on (returns it; None when off)."""
    if not web.settings.outbox:
        return None
    worker = OutboxWorker(web)
    app.router.on_startup.append(worker.start)
    app.router.on_shutdown.append(worker.stop)
    app.state.outbox_worker = worker
    return worker
