"""Black-box tests of issue 17 (the candidate web assessment), written from the issue text,
docs/web-assessment.md, docs/cli.md and docs/server.md alone.

A real ``repprofile serve`` subprocess is driven over HTTP, and the ``repprofile`` CLI in
subprocesses, as a recruiter, an ATS and a candidate without JavaScript would use them.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import http.client
import http.server
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
KEY = "bbk-0123456789abcdefghijklmnopqr"  # 32 characters
SECRET = "whsec-blackbox-0123456789abcdef"
QUESTIONNAIRE = "rep-types"
ROLES = ["escalations", "general-frontline"]
DEMOGRAPHIC_WORDS = re.compile(
    r"\b(age|gender|sex|ethnicity|race|nationality|religion|disability|date of birth|"
    r"birthday|marital)\b",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- helpers: processes


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(**extra: str) -> dict[str, str]:
    """The environment for the server and the CLI: this worktree on PYTHONPATH, the key."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["REPPROFILE_API_KEYS"] = KEY
    env["REPPROFILE_WEBHOOK_SECRET"] = SECRET
    # the test's receiver listens on 127.0.0.1: allow private callback addresses
    env["REPPROFILE_WEBHOOK_ALLOW_PRIVATE"] = "1"
    env.pop("REPPROFILE_DATABASE_URL", None)
    env.update(extra)
    return env


@dataclass
class Server:
    """A running ``repprofile serve`` subprocess and where its output goes."""

    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    tokens: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server (appending to its log) and wait until it answers /v1/health."""
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "repprofile",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--insecure-cookies",
                "--public-url",
                self.base,
                "--render-workers",
                "1",
                *self.extra_args,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.data_dir.parent),
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.log_path.read_text())
            try:
                status, _, _ = request("GET", self.base + "/v1/health")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start: " + self.log_path.read_text())

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), then wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _make_server(root: Path, **extra_env: str) -> Server:
    """A started server with its own data directory under root."""
    root.mkdir(parents=True, exist_ok=True)
    srv = Server(_free_port(), root / "data", root / "server.log", _env(**extra_env))
    srv.start()
    return srv


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m repprofile ARGS`` with this worktree on the path."""
    return subprocess.run(
        [sys.executable, "-m", "repprofile", *args],
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- helpers: HTTP


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request, no redirects followed: (status, lower-cased headers, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def api(
    srv: Server,
    method: str,
    path: str,
    doc: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """A call of the JSON API with the key; the body parsed as JSON when it is JSON."""
    hdrs = {"Authorization": "Bearer " + KEY}
    body = None
    if doc is not None:
        body = json.dumps(doc).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    status, rh, data = request(method, srv.base + path, body, hdrs)
    parsed: Any = data
    if "json" in rh.get("content-type", ""):
        parsed = json.loads(data)
    return status, rh, parsed


def invite(srv: Server, candidate_id: str, **fields: Any) -> dict[str, Any]:
    """Create an invitation through the API; remember its token for the log checks."""
    doc = {"candidate_id": candidate_id, "questionnaire": QUESTIONNAIRE, "roles": ROLES}
    doc.update(fields)
    status, _, body = api(srv, "POST", "/v1/invitations", doc)
    assert status == 201, body
    srv.tokens.append(token_of(body["url"]))
    result: dict[str, Any] = body
    return result


def token_of(url: str) -> str:
    """The token of a candidate link PUBLIC_URL/take/TOKEN."""
    m = re.fullmatch(r"http://127\.0\.0\.1:\d+/take/([A-Za-z0-9_-]+)", url)
    assert m, url
    return m.group(1)


class Page(HTMLParser):
    """What a candidate page holds, as a browser without JavaScript sees it."""

    def __init__(self, html: str) -> None:
        """Parse html."""
        super().__init__(convert_charrefs=True)
        self.inputs: list[dict[str, str]] = []
        self.labels_for: list[str] = []
        self.label_depth = 0
        self.wrapped_inputs: set[str] = set()
        self.fieldsets = 0
        self.legends = 0
        self.buttons: list[dict[str, str]] = []
        self.forms: list[dict[str, str]] = []
        self.progress: list[dict[str, str]] = []
        self.resources: list[str] = []
        self.selects_textareas = 0
        self.text: list[str] = []
        self.in_script = False
        self.feed(html)
        self.html = html

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect the tags the tests look at."""
        a = {k: v or "" for k, v in attrs}
        if tag == "input":
            self.inputs.append(a)
            if self.label_depth and a.get("id"):
                self.wrapped_inputs.add(a["id"])
        elif tag == "label":
            self.label_depth += 1
            if "for" in a:
                self.labels_for.append(a["for"])
        elif tag == "fieldset":
            self.fieldsets += 1
        elif tag == "legend":
            self.legends += 1
        elif tag == "button":
            self.buttons.append(a)
        elif tag == "form":
            self.forms.append(a)
        elif tag == "progress":
            self.progress.append(a)
        elif tag in ("select", "textarea"):
            self.selects_textareas += 1
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.resources.append(a["src"])
        if tag == "link" and a.get("href"):
            self.resources.append(a["href"])
        if tag in ("script", "style"):
            self.in_script = True

    def handle_endtag(self, tag: str) -> None:
        """Track label nesting and script text."""
        if tag == "label":
            self.label_depth -= 1
        if tag in ("script", "style"):
            self.in_script = False

    def handle_data(self, data: str) -> None:
        """Visible text."""
        if not self.in_script:
            self.text.append(data)

    @property
    def visible_text(self) -> str:
        """The page's text, whitespace collapsed."""
        return " ".join(" ".join(self.text).split())

    def field(self, name: str) -> str:
        """The value of the (hidden) input called name."""
        for i in self.inputs:
            if i.get("name") == name:
                return i.get("value", "")
        raise AssertionError(f"no input named {name!r} on the page")

    def radio_items(self) -> list[str]:
        """The item ids (radio names) on the page, in order."""
        names: list[str] = []
        for i in self.inputs:
            if i.get("type") == "radio" and i["name"] not in names:
                names.append(i["name"])
        return names

    def checked(self) -> dict[str, str]:
        """The radios that are checked: name to value."""
        return {
            i["name"]: i["value"]
            for i in self.inputs
            if i.get("type") == "radio" and "checked" in i
        }

    def nav_values(self) -> set[str]:
        """The values of the nav submit buttons."""
        return {b.get("value", "") for b in self.buttons if b.get("name") == "nav"}


def answers_for(seed: int, item_ids: list[str]) -> dict[str, int]:
    """A deterministic, varied answer set for item_ids (values 1..5)."""
    return {item: (seed * 3 + i * 7 + (i * i) % 5) % 5 + 1 for i, item in enumerate(item_ids)}


@dataclass
class Taker:
    """A candidate without JavaScript, following the forms and the redirects."""

    srv: Server
    url: str
    cookies: dict[str, str] = field(default_factory=dict)
    pages_seen: list[Page] = field(default_factory=list)

    def _headers(self) -> dict[str, str]:
        """Headers with the cookies the server set, if any."""
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _remember(self, headers: dict[str, str]) -> None:
        """Keep a cookie the server sets."""
        sc = headers.get("set-cookie")
        if sc:
            name, _, rest = sc.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]

    def get(self, path_or_url: str) -> tuple[int, dict[str, str], str]:
        """GET a page (relative paths are on the server)."""
        url = path_or_url if path_or_url.startswith("http") else self.srv.base + path_or_url
        status, headers, body = request("GET", url, headers=self._headers())
        self._remember(headers)
        return status, headers, body.decode("utf-8")

    def post(self, path: str, form: list[tuple[str, str]]) -> tuple[int, dict[str, str], str]:
        """POST a form (urlencoded)."""
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **self._headers()}
        body = urllib.parse.urlencode(form).encode()
        url = path if path.startswith("http") else self.srv.base + path
        status, headers, data = request("POST", url, body, hdrs)
        self._remember(headers)
        return status, headers, data.decode("utf-8")

    def follow(self, status: int, headers: dict[str, str], html: str) -> tuple[str, Page]:
        """Follow 303s to the page they lead to: (its path, the parsed page)."""
        path = ""
        for _ in range(5):
            if status in (301, 302, 303, 307):
                path = headers["location"]
                status, headers, html = self.get(path)
                continue
            break
        assert status == 200, (status, html[:500])
        page = Page(html)
        self.pages_seen.append(page)
        return path, page

    def open(self) -> tuple[str, Page]:
        """Open the link."""
        return self.follow(*self.get(self.url))

    def start(self) -> tuple[str, Page]:
        """Open the link, accept the privacy notice and land on the first page of items."""
        _, welcome = self.open()
        form = welcome.forms[0]
        return self.follow(
            *self.post(form["action"], [("csrf", welcome.field("csrf")), ("accept_privacy", "yes")])
        )

    def submit(
        self, page: Page, answers: dict[str, int], nav: str
    ) -> tuple[int, dict[str, str], str]:
        """Post a page of items with the answers to its items and the nav button."""
        form: list[tuple[str, str]] = [
            (i["name"], i.get("value", "")) for i in page.inputs if i.get("type") == "hidden"
        ]
        form += [(item, str(answers[item])) for item in page.radio_items() if item in answers]
        form.append(("nav", nav))
        return self.post(page.forms[-1]["action"], form)

    def take_all(self, answers: dict[str, int]) -> tuple[str, Page]:
        """Answer every page and finish; the path and page of where it ends."""
        path, page = self.start()
        for _ in range(40):
            navs = page.nav_values()
            nav = "finish" if "finish" in navs else "next"
            path, page = self.follow(*self.submit(page, answers, nav))
            if nav == "finish":
                return path, page
        raise AssertionError("never reached a finish button")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module."""
    s = _make_server(tmp_path_factory.mktemp("srv"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def item_ids(srv: Server) -> list[str]:
    """The item ids of rep-types in questionnaire order, from the API."""
    status, _, doc = api(srv, "GET", "/v1/questionnaires/" + QUESTIONNAIRE)
    assert status == 200
    return [item["id"] for item in doc["items"]]


@pytest.fixture(scope="module")
def completed(srv: Server, item_ids: list[str]) -> dict[str, Any]:
    """One invitation taken to the end through the forms: its id, answers and end page."""
    inv = invite(srv, "BB-done", metadata={"requisition": "R-77"})
    answers = answers_for(1, item_ids)
    taker = Taker(srv, inv["url"])
    path, page = taker.take_all(answers)
    return {"inv": inv, "answers": answers, "path": path, "page": page, "taker": taker}


# ---------------------------------------------------------------- the invitations API


def test_create_201_fields(srv: Server) -> None:
    """201 with exactly the documented fields, a 128-bit link, 14 days by default."""
    before = datetime.now(UTC)
    status, headers, body = api(
        srv, "POST", "/v1/invitations", {"candidate_id": "BB-1", "questionnaire": QUESTIONNAIRE}
    )
    after = datetime.now(UTC)
    assert status == 201
    assert headers["content-type"].startswith("application/json")
    assert set(body) >= {"invitation_id", "url", "status", "expires_at", "created_at"}
    assert body["invitation_id"].startswith("inv_")
    assert body["status"] == "created"
    token = token_of(body["url"])
    srv.tokens.append(token)
    assert body["url"] == f"{srv.base}/take/{token}"
    # 128 bits, URL-safe base64 without padding: 22 characters
    assert len(token) == 22
    created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=2) <= created <= after + timedelta(seconds=2)
    assert abs((expires - created) - timedelta(days=14)) < timedelta(seconds=2)


def test_idempotency_key_replay(srv: Server) -> None:
    """The same key and body: the same invitation and link, Idempotent-Replayed; other body: 422."""
    doc = {"candidate_id": "BB-idem", "questionnaire": QUESTIONNAIRE, "roles": ["escalations"]}
    h = {"Idempotency-Key": "bb-ats-application-1"}
    s1, h1, b1 = api(srv, "POST", "/v1/invitations", doc, h)
    s2, h2, b2 = api(srv, "POST", "/v1/invitations", doc, h)
    assert s1 == 201
    srv.tokens.append(token_of(b1["url"]))
    assert s2 in (200, 201)
    assert b2["invitation_id"] == b1["invitation_id"]
    assert b2["url"] == b1["url"]
    assert h2.get("idempotent-replayed") == "true"
    assert h1.get("idempotent-replayed") in (None, "false")
    s3, _, b3 = api(srv, "POST", "/v1/invitations", {**doc, "candidate_id": "BB-other"}, h)
    assert s3 == 422, b3
    # only one invitation exists for this candidate
    _, _, listing = api(srv, "GET", "/v1/invitations?limit=200")
    ids = [i for i in listing["invitations"] if i["candidate_id"] == "BB-idem"]
    assert len(ids) == 1


def test_create_needs_key(srv: Server) -> None:
    """Without the key the invitations API answers 401 problem+json."""
    status, headers, _ = request(
        "POST",
        srv.base + "/v1/invitations",
        json.dumps({"candidate_id": "x", "questionnaire": QUESTIONNAIRE}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 401
    assert headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "bad",
    [
        {"candidate_id": "x", "questionnaire": "no-such-questionnaire"},
        {"candidate_id": "x", "questionnaire": QUESTIONNAIRE, "roles": ["no-such-role"]},
        {"candidate_id": "x", "questionnaire": QUESTIONNAIRE, "metadata": {"a": 1}},
        {"candidate_id": "x", "questionnaire": QUESTIONNAIRE, "expires_at": "2020-01-01T00:00:00Z"},
        {"questionnaire": QUESTIONNAIRE},
    ],
)
def test_create_invalid_is_422(srv: Server, bad: dict[str, Any]) -> None:
    """Unknown questionnaire or role, non-string metadata, past expiry, no candidate: 422."""
    status, _, body = api(srv, "POST", "/v1/invitations", bad)
    assert status == 422, body


def test_expiry_over_366_days_is_422(srv: Server) -> None:
    """The docs say at most 366 days."""
    far = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _, body = api(
        srv,
        "POST",
        "/v1/invitations",
        {"candidate_id": "x", "questionnaire": QUESTIONNAIRE, "expires_at": far},
    )
    assert status == 422, body


def test_get_created_status_and_progress(srv: Server) -> None:
    """A new invitation: created, 0 of 80 answered, no result."""
    inv = invite(srv, "BB-get", metadata={"k": "v"})
    status, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert status == 200
    assert doc["invitation_id"] == inv["invitation_id"]
    assert doc["candidate_id"] == "BB-get"
    assert doc["status"] == "created"
    assert doc["progress"]["answered"] == 0
    assert doc["progress"]["total"] == 80
    assert doc["created_at"] == inv["created_at"]
    assert doc["expires_at"] == inv["expires_at"]
    assert doc.get("result") is None
    assert doc["metadata"] == {"k": "v"}
    assert "url" not in doc or doc["url"] is None  # the link is shown only once


def test_get_unknown_is_404(srv: Server) -> None:
    """An unknown invitation id is a 404."""
    status, _, _ = api(srv, "GET", "/v1/invitations/inv_000000000000000000000000")
    assert status == 404


def test_started_after_privacy_accepted(srv: Server) -> None:
    """Accepting the privacy notice makes the invitation 'started'."""
    inv = invite(srv, "BB-started")
    Taker(srv, inv["url"]).start()
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["privacy_accepted_at"] is not None
    assert doc["status"] == "started"


def test_progress_counts_a_posted_page(srv: Server, item_ids: list[str]) -> None:
    """A page posted moves progress by its items and the invitation is started."""
    inv = invite(srv, "BB-progress")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"] == {"answered": 0, "total": 80}
    answers = answers_for(2, item_ids)
    n = len(page.radio_items())
    assert n == 10
    taker.follow(*taker.submit(page, answers, "next"))
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"]["answered"] == n
    assert doc["status"] == "started"
    assert doc["started_at"] is not None


def test_completed_result_equals_score_and_fit(srv: Server, completed: dict[str, Any]) -> None:
    """The stored result is what POST /v1/score and POST /v1/fit answer for the same answers."""
    inv = completed["inv"]
    status, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert status == 200
    assert doc["status"] == "completed"
    assert doc["progress"]["answered"] == 80
    assert doc["completed_at"] is not None
    body = {
        "questionnaire": QUESTIONNAIRE,
        "candidates": [{"candidate_id": "BB-done", "answers": completed["answers"]}],
    }
    s1, _, score = api(srv, "POST", "/v1/score", body)
    s2, _, fit = api(srv, "POST", "/v1/fit", {**body, "roles": ROLES})
    assert s1 == 200
    assert s2 == 200
    stored = doc["result"]
    assert stored["score"]["profiles"][0]["scales"] == score["profiles"][0]["scales"]
    assert stored["score"]["profiles"][0]["primary_type"] == score["profiles"][0]["primary_type"]
    assert (
        stored["score"]["provenance"]["questionnaire_sha256"]
        == (score["provenance"]["questionnaire_sha256"])
    )
    assert stored["fit"]["candidates"] == fit["candidates"]


def test_completed_result_quality_equals_score(srv: Server, completed: dict[str, Any]) -> None:
    """The stored profile, quality included, equals /v1/score's for the same answers."""
    inv = completed["inv"]
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    body = {
        "questionnaire": QUESTIONNAIRE,
        "candidates": [{"candidate_id": "BB-done", "answers": completed["answers"]}],
    }
    _, _, score = api(srv, "POST", "/v1/score", body)
    stored = doc["result"]["score"]["profiles"][0]
    fresh = score["profiles"][0]
    # the response-time index needs item times that /v1/score was not sent; the rest equal
    for key in ("scales", "primary_type", "secondary_type", "type_clarity", "types", "type_tied"):
        assert stored[key] == fresh[key], key
    timed = "seconds_per_item"
    assert {k: v for k, v in stored["quality"]["indices"].items() if k != timed} == {
        k: v for k, v in fresh["quality"]["indices"].items() if k != timed
    }
    # the time per item was recorded (the forms answered within milliseconds: flagged)
    assert fresh["quality"]["indices"][timed] is None
    assert stored["quality"]["indices"][timed] is not None
    assert 0 <= stored["quality"]["indices"][timed] < 1
    assert [f for f in stored["quality"]["flags"] if f["index"] != timed] == (
        fresh["quality"]["flags"]
    )
    assert stored["quality"]["unavailable"] == fresh["quality"]["unavailable"]


def test_report_pdf_and_html_and_chart(srv: Server, completed: dict[str, Any]) -> None:
    """Report as PDF by default, HTML with Accept text/html; chart PNG or SVG."""
    iid = completed["inv"]["invitation_id"]
    s, h, pdf = api(
        srv, "GET", f"/v1/invitations/{iid}/report", headers={"Accept": "application/pdf"}
    )
    assert s == 200
    assert h["content-type"].startswith("application/pdf")
    assert pdf[:5] == b"%PDF-"
    s, h, html = api(srv, "GET", f"/v1/invitations/{iid}/report", headers={"Accept": "text/html"})
    assert s == 200
    assert h["content-type"].startswith("text/html")
    assert b"<html" in html.lower()
    s, h, png = api(srv, "GET", f"/v1/invitations/{iid}/chart")
    assert s == 200
    assert h["content-type"].startswith("image/png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    s, h, svg = api(srv, "GET", f"/v1/invitations/{iid}/chart", headers={"Accept": "image/svg+xml"})
    assert s == 200
    assert h["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg


def test_report_link_in_completed_invitation(srv: Server, completed: dict[str, Any]) -> None:
    """A completed invitation names its report link, and the link works."""
    iid = completed["inv"]["invitation_id"]
    _, _, doc = api(srv, "GET", "/v1/invitations/" + iid)
    links = json.dumps(doc)
    assert f"/v1/invitations/{iid}/report" in links


def test_report_of_unfinished_is_refused(srv: Server) -> None:
    """No result yet: the report is not a 200 and not a 500."""
    inv = invite(srv, "BB-noreport")
    s, _, _ = api(srv, "GET", f"/v1/invitations/{inv['invitation_id']}/report")
    assert 400 <= s < 500


def test_list_status_limit_cursor(srv: Server) -> None:
    """Cursor pages cover every invitation once, oldest change first; status filters."""
    for i in range(3):
        invite(srv, f"BB-list-{i}")
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        q = "/v1/invitations?limit=2" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        s, _, page = api(srv, "GET", q)
        assert s == 200
        assert len(page["invitations"]) <= 2
        seen += page["invitations"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [i["invitation_id"] for i in seen]
    assert len(ids) == len(set(ids))
    _, _, everything = api(srv, "GET", "/v1/invitations?limit=500")
    assert sorted(ids) == sorted(i["invitation_id"] for i in everything["invitations"])
    stamps = [i["updated_at"] for i in seen]
    assert stamps == sorted(stamps)
    _, _, created = api(srv, "GET", "/v1/invitations?status=created&limit=500")
    assert created["invitations"]
    assert {i["status"] for i in created["invitations"]} == {"created"}
    mine = {i["candidate_id"] for i in created["invitations"]}
    assert {"BB-list-0", "BB-list-1", "BB-list-2"} <= mine


def test_list_updated_since(srv: Server) -> None:
    """updated_since returns only what changed at or after the time."""
    invite(srv, "BB-old")
    time.sleep(1.1)
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    invite(srv, "BB-new")
    _, _, page = api(srv, "GET", "/v1/invitations?limit=500&updated_since=" + since)
    cands = {i["candidate_id"] for i in page["invitations"]}
    assert "BB-new" in cands
    assert "BB-old" not in cands


def test_list_bad_parameters_are_422(srv: Server) -> None:
    """A bad status, limit or cursor is a 422 (not a 500)."""
    for q in ("status=nope", "limit=0", "cursor=%%%garbage", "updated_since=yesterday"):
        s, _, _ = api(srv, "GET", "/v1/invitations?" + q)
        assert s in (400, 422), q


def test_withdraw_then_link_410_and_completed_409(srv: Server, completed: dict[str, Any]) -> None:
    """Withdraw: status withdrawn, the link gets 410; withdrawing a completed one: 409."""
    inv = invite(srv, "BB-withdraw")
    s, _, doc = api(srv, "POST", f"/v1/invitations/{inv['invitation_id']}/withdraw")
    assert s == 200, doc
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["status"] == "withdrawn"
    assert doc["withdrawn_at"] is not None
    status, _headers, html = request("GET", inv["url"])
    assert status == 410
    assert "withdrawn" in Page(html.decode()).visible_text.lower()
    s, _, _ = api(srv, "POST", f"/v1/invitations/{completed['inv']['invitation_id']}/withdraw")
    assert s == 409


def test_delete_erases_keeps_tombstone_and_link_is_404(srv: Server, item_ids: list[str]) -> None:
    """DELETE: status erased, ids and dates kept, answers gone; the link is like an unknown one."""
    inv = invite(srv, "BB-erase")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    taker.follow(*taker.submit(page, answers_for(3, item_ids), "next"))
    s, _, _ = api(srv, "DELETE", "/v1/invitations/" + inv["invitation_id"])
    assert s in (200, 204)
    s, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert s == 200
    assert doc["status"] == "erased"
    assert doc["candidate_id"] == "BB-erase"
    assert doc["created_at"] == inv["created_at"]
    assert doc.get("result") is None
    assert doc["erased_at"] is not None
    with sqlite3.connect(srv.data_dir / "repprofile.db") as con:
        n = con.execute(
            "select count(*) from answers where invitation_id = ?", (inv["invitation_id"],)
        ).fetchone()[0]
    con.close()
    assert n == 0
    s_erased, _, erased = request("GET", inv["url"])
    s_unknown, _, unknown = request("GET", srv.base + "/take/AAAAAAAAAAAAAAAAAAAAAA")
    assert s_erased == s_unknown == 404
    assert erased == unknown


def test_erased_tombstone_reports_no_answers(srv: Server, item_ids: list[str]) -> None:
    """The tombstone of an erased invitation does not claim answers it no longer has."""
    inv = invite(srv, "BB-erase-progress")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    taker.follow(*taker.submit(page, answers_for(3, item_ids), "next"))
    api(srv, "DELETE", "/v1/invitations/" + inv["invitation_id"])
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["status"] == "erased"
    assert doc["progress"] is None or doc["progress"]["answered"] == 0


# ---------------------------------------------------------------- the candidate's pages


def test_welcome_page(srv: Server) -> None:
    """Welcome: title, instructions, time, privacy notice with a labelled checkbox, CSRF."""
    inv = invite(srv, "BB-welcome")
    status, _headers, html = request("GET", inv["url"])
    assert status == 200
    page = Page(html.decode())
    text = page.visible_text
    assert "Service Rep Types Inventory" in text
    assert "minutes" in text
    assert "privacy" in text.lower()
    boxes = [i for i in page.inputs if i.get("type") == "checkbox"]
    assert len(boxes) == 1
    assert boxes[0]["id"] in page.labels_for
    assert page.field("csrf")
    assert page.forms[0]["method"].lower() == "post"


def test_security_headers_on_every_candidate_page(srv: Server, item_ids: list[str]) -> None:
    """CSP default-src 'self', X-Frame-Options DENY, Referrer-Policy no-referrer, no-store."""
    inv = invite(srv, "BB-headers")
    taker = Taker(srv, inv["url"])
    statuses = []
    for _, headers, _ in (
        request("GET", inv["url"]),
        request("GET", srv.base + "/take/AAAAAAAAAAAAAAAAAAAAAB"),
    ):
        statuses.append(headers)
    _, page = taker.start()
    statuses.append(request("GET", srv.base + page.forms[-1]["action"])[1])
    for h in statuses:
        csp = [p.strip() for p in h["content-security-policy"].split(";")]
        assert "default-src 'self'" in csp
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
        assert "no-store" in h["cache-control"]


def test_items_pages_structure(srv: Server, item_ids: list[str]) -> None:
    """Every page: <= 10 items, each a fieldset with legend, radios named by item id with
    values 1..5, each labelled; a progress bar; CSRF hidden field; no external resources."""
    inv = invite(srv, "BB-structure")
    taker = Taker(srv, inv["url"])
    answers = answers_for(4, item_ids)
    _, page = taker.start()
    seen_items: list[str] = []
    for _ in range(20):
        items = page.radio_items()
        assert 1 <= len(items) <= 10
        assert page.fieldsets >= len(items)
        assert page.legends >= len(items)
        for item in items:
            values = sorted(
                i["value"] for i in page.inputs if i.get("type") == "radio" and i["name"] == item
            )
            assert values == ["1", "2", "3", "4", "5"]
        for i in page.inputs:
            if i.get("type") not in ("hidden", "submit"):
                assert i.get("id") in page.labels_for or i.get("id") in page.wrapped_inputs, i
        assert page.field("csrf")
        assert page.progress, "no progress bar"
        assert page.progress[0]["max"] == "80"
        assert page.progress[0]["value"] == str(len(seen_items))
        assert f"{len(seen_items)} of 80 answered" in page.visible_text
        for src in page.resources:
            assert src.startswith("/"), src
            assert not src.startswith("//"), src
        seen_items += items
        nav = "finish" if "finish" in page.nav_values() else "next"
        if nav == "finish":
            break
        _, page = taker.follow(*taker.submit(page, answers, nav))
    assert seen_items == item_ids


def test_no_demographic_questions(srv: Server, completed: dict[str, Any]) -> None:
    """No page asks for demographics: no select/textarea/text input, no demographic question."""
    for page in completed["taker"].pages_seen:
        assert page.selects_textareas == 0
        for i in page.inputs:
            assert i.get("type") in ("hidden", "radio", "checkbox", "submit"), i
        for i in page.inputs:
            assert not DEMOGRAPHIC_WORDS.search(i.get("name", "")), i
        # legends (the questions) never ask for demographics
        for m in re.finditer(r"<legend>(.*?)</legend>", page.html, re.S):
            assert not DEMOGRAPHIC_WORDS.search(m.group(1)), m.group(1)


def test_back_and_forward_keep_answers(srv: Server, item_ids: list[str]) -> None:
    """Back from page 2 shows page 1 with its answers checked; forward again shows page 2's."""
    inv = invite(srv, "BB-back")
    taker = Taker(srv, inv["url"])
    answers = answers_for(5, item_ids)
    _path1, page1 = taker.start()
    _path2, page2 = taker.follow(*taker.submit(page1, answers, "next"))
    assert page2.radio_items() != page1.radio_items()
    assert "back" in page2.nav_values()
    _back_path, back = taker.follow(*taker.submit(page2, answers, "back"))
    assert back.radio_items() == page1.radio_items()
    assert back.checked() == {i: str(answers[i]) for i in page1.radio_items()}
    _, fwd = taker.follow(*taker.submit(back, answers, "next"))
    assert fwd.radio_items() == page2.radio_items()
    assert fwd.checked() == {i: str(answers[i]) for i in page2.radio_items()}


def test_resume_with_same_link_lands_where_it_stopped(srv: Server, item_ids: list[str]) -> None:
    """A second 'device' opening the same link continues at the page after the last saved."""
    inv = invite(srv, "BB-resume")
    answers = answers_for(6, item_ids)
    first = Taker(srv, inv["url"])
    _, page = first.start()
    pages = [page.radio_items()]
    for _ in range(2):
        _, page = first.follow(*first.submit(page, answers, "next"))
        pages.append(page.radio_items())
    second = Taker(srv, inv["url"])  # no cookies: another device
    _, resumed = second.open()
    assert resumed.radio_items() == pages[2]
    done = sum(len(p) for p in pages[:2])
    assert f"{done} of 80 answered" in resumed.visible_text
    # and going back on the new device shows the earlier answers
    _, back = second.follow(*second.submit(resumed, {}, "back"))
    assert back.checked() == {i: str(answers[i]) for i in pages[1]}


def test_answer_saved_twice_keeps_last(srv: Server, item_ids: list[str]) -> None:
    """The same page posted twice (double click / two tabs) keeps the last value per item."""
    inv = invite(srv, "BB-twice")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    items = page.radio_items()
    first = dict.fromkeys(items, 2)
    last = dict.fromkeys(items, 4)
    s1, _, _ = taker.submit(page, first, "next")
    s2, _, _ = taker.submit(page, last, "next")
    assert s1 in (200, 303)
    assert s2 in (200, 303)
    _, back = taker.follow(*taker.get(page.forms[-1]["action"]))
    assert back.checked() == {i: "4" for i in items}
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"]["answered"] == len(items)


def test_autosave_json_saved_twice_keeps_last(srv: Server) -> None:
    """The script's save endpoint: two saves of one item keep the last value."""
    inv = invite(srv, "BB-autosave")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    form = page.forms[-1]
    item = page.radio_items()[0]
    csrf = page.field("csrf")
    statuses = []
    for value in ("1", "5"):
        body = json.dumps(
            {"answers": [{"item": item, "part": "", "value": value, "seconds": 1.5}], "page": 1}
        ).encode()
        s, _, data = request(
            "POST",
            srv.base + form["data-save-url"],
            body,
            {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )
        statuses.append(s)
        assert s == 200, data
        assert json.loads(data)["answered"] == 1
    _, again = taker.follow(*taker.get(form["action"]))
    assert again.checked() == {item: "5"}


def test_form_post_without_or_with_wrong_csrf_is_refused(srv: Server, item_ids: list[str]) -> None:
    """A page post without the CSRF token or with a wrong one saves nothing."""
    inv = invite(srv, "BB-csrf")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    action = page.forms[-1]["action"]
    items = page.radio_items()
    plain = [(i, "3") for i in items] + [("nav", "next")]
    s1, _, _ = taker.post(action, plain)
    s2, _, _ = taker.post(action, [("csrf", "0" * 64), *plain])
    assert s1 in (400, 403)
    assert s2 in (400, 403)
    s3, _, _ = request(
        "POST",
        srv.base + page.forms[-1]["data-save-url"],
        json.dumps({"answers": [{"item": items[0], "part": "", "value": "3"}], "page": 1}).encode(),
        {"Content-Type": "application/json", "X-CSRF-Token": "wrong"},
    )
    assert s3 in (400, 403)
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"]["answered"] == 0
    # the start form too
    inv2 = invite(srv, "BB-csrf-start")
    _, welcome = Taker(srv, inv2["url"]).open()
    s4, _, _ = request(
        "POST",
        srv.base + welcome.forms[0]["action"],
        b"accept_privacy=yes",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert s4 in (400, 403)
    _, _, doc2 = api(srv, "GET", "/v1/invitations/" + inv2["invitation_id"])
    assert doc2["status"] == "created"


def test_csrf_token_of_another_invitation_is_refused(srv: Server) -> None:
    """A CSRF token from one link does not work on another link's form."""
    a = invite(srv, "BB-csrf-a")
    b = invite(srv, "BB-csrf-b")
    _, pa = Taker(srv, a["url"]).open()
    _, pb = Taker(srv, b["url"]).open()
    s, _, _ = request(
        "POST",
        srv.base + pb.forms[0]["action"],
        urllib.parse.urlencode([("csrf", pa.field("csrf")), ("accept_privacy", "yes")]).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert s in (400, 403)


def test_start_without_accepting_privacy_does_not_start(srv: Server) -> None:
    """The notice must be ticked to start."""
    inv = invite(srv, "BB-noaccept")
    taker = Taker(srv, inv["url"])
    _, welcome = taker.open()
    s, _, _ = taker.post(welcome.forms[0]["action"], [("csrf", welcome.field("csrf"))])
    assert s != 500
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["status"] == "created"


def test_thank_you_page_has_no_scores(srv: Server, completed: dict[str, Any]) -> None:
    """The end page shows no scores (no scale names, no numbers of a profile)."""
    page: Page = completed["page"]
    text = page.visible_text
    assert "thank" in text.lower()
    for scale in ("Accommodator", "Competitor", "Controller", "Empathizer", "Rock", "Innovator"):
        assert scale not in text
    assert not re.search(r"\b\d{1,3}(\.\d+)?\s*%|\bpomp\b|\bpercentile\b", text, re.I)
    # a completed link shows the thank-you page again
    status, headers, html = request("GET", completed["inv"]["url"])
    assert status in (200, 303)
    if status == 303:
        status, _, html = request("GET", srv.base + headers["location"])
    assert "thank" in Page(html.decode()).visible_text.lower()


def test_thank_you_page_shows_scores_when_asked(srv: Server, item_ids: list[str]) -> None:
    """show_results: true puts the profile on the thank-you page."""
    inv = invite(srv, "BB-show", show_results=True)
    _, page = Taker(srv, inv["url"]).take_all(answers_for(7, item_ids))
    text = page.visible_text
    assert "thank" in text.lower()
    assert sum(s in text for s in ("Accommodator", "Controller", "Empathizer", "Rock")) >= 3


def test_closed_link_pages(srv: Server, completed: dict[str, Any]) -> None:
    """Expired: 410 saying so. Unknown: 404. A post to an unknown link is 404 too."""
    soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    inv = invite(srv, "BB-expire", expires_at=soon)
    time.sleep(3.2)
    status, headers, html = request("GET", inv["url"])
    assert status == 410
    assert "expired" in Page(html.decode()).visible_text.lower()
    assert headers["x-frame-options"] == "DENY"
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["status"] == "expired"
    s1, _, b1 = request("GET", srv.base + "/take/ZZZZZZZZZZZZZZZZZZZZZZ")
    s2, _, b2 = request("GET", srv.base + "/take/short")
    assert s1 == 404
    assert s2 == 404
    assert b1 == b2


# ---------------------------------------------------------------- the CLI


def test_cli_invite_prints_a_working_link(srv: Server) -> None:
    """repprofile invite prints the link; the server opens it; invitations list shows it."""
    env = _env(REPPROFILE_PUBLIC_URL=srv.base)
    res = cli(
        "invite",
        "BB-cli",
        "-q",
        QUESTIONNAIRE,
        "--role",
        "escalations",
        "--expires",
        "7d",
        "--data-dir",
        str(srv.data_dir),
        env=env,
    )
    assert res.returncode == 0, res.stderr
    links = re.findall(re.escape(srv.base) + r"/take/[A-Za-z0-9_-]+", res.stdout)
    assert len(links) == 1, res.stdout
    srv.tokens.append(token_of(links[0]))
    status, _, html = request("GET", links[0])
    assert status == 200
    assert "Service Rep Types Inventory" in Page(html.decode()).visible_text
    res = cli(
        "invitations", "list", "--status", "created", "--format", "json",
        "--data-dir", str(srv.data_dir), env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    rows = doc["invitations"] if isinstance(doc, dict) else doc
    mine = [r for r in rows if r["candidate_id"] == "BB-cli"]
    assert len(mine) == 1
    assert mine[0]["status"] == "created"
    exp = datetime.fromisoformat(mine[0]["expires_at"].replace("Z", "+00:00"))
    made = datetime.fromisoformat(mine[0]["created_at"].replace("Z", "+00:00"))
    assert abs((exp - made) - timedelta(days=7)) < timedelta(seconds=2)
    assert {r["status"] for r in rows} == {"created"}
    text = cli("invitations", "list", "--data-dir", str(srv.data_dir), env=env)
    assert text.returncode == 0
    assert "BB-cli" in text.stdout


def test_cli_results_export_csv_equals_score_csv(
    srv: Server, item_ids: list[str], tmp_path: Path
) -> None:
    """results export --since T --format csv equals repprofile score --format csv."""
    time.sleep(1.1)
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    time.sleep(1.1)
    rows = []
    for n, cand in enumerate(("BB-exp-1", "BB-exp-2")):
        inv = invite(srv, cand)
        answers = answers_for(10 + n, item_ids)
        Taker(srv, inv["url"]).take_all(answers)
        rows.append({"candidate_id": cand, **{k: str(v) for k, v in answers.items()}})
    src = tmp_path / "answers.csv"
    with src.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["candidate_id", *item_ids])
        w.writeheader()
        w.writerows(rows)
    exported = cli(
        "results", "export", "--since", since, "--format", "csv",
        "--data-dir", str(srv.data_dir),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    scored = cli("score", str(src), "-q", QUESTIONNAIRE, "--format", "csv", "--quiet")
    assert scored.returncode == 0, scored.stderr
    got = list(csv.reader(io.StringIO(exported.stdout)))
    want = list(csv.reader(io.StringIO(scored.stdout)))
    assert [r[0] for r in got[1:]] == ["BB-exp-1", "BB-exp-2"]
    assert got[0] == want[0]
    assert len(got) == len(want) == 3
    flags = got[0].index("quality_flags")
    for g, exp in zip(got[1:], want[1:], strict=True):
        # the export has the recorded item times, the answers file has none: the
        # response-time flag is the only possible difference
        assert g[:flags] + g[flags + 1 :] == exp[:flags] + exp[flags + 1 :]
        assert set(g[flags].split(";")) - {"seconds_per_item"} == set(exp[flags].split(";"))


def test_cli_results_export_json_has_profiles(srv: Server, completed: dict[str, Any]) -> None:
    """The json export is one document with the completed candidates' profiles."""
    res = cli("results", "export", "--format", "json", "--data-dir", str(srv.data_dir))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert "BB-done" in {p["candidate_id"] for p in doc["profiles"]}


def test_cli_db_upgrade_idempotent(srv: Server, tmp_path: Path) -> None:
    """db upgrade on a fresh directory twice, and on the server's live database: exit 0."""
    fresh = tmp_path / "fresh"
    r1 = cli("db", "upgrade", "--data-dir", str(fresh))
    r2 = cli("db", "upgrade", "--data-dir", str(fresh))
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    assert (fresh / "repprofile.db").exists()
    with sqlite3.connect(fresh / "repprofile.db") as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        mode = con.execute("pragma journal_mode").fetchone()[0]
    con.close()
    assert {"invitations", "answers", "results", "webhook_outbox", "access_log"} <= tables
    assert mode == "wal"
    r3 = cli("db", "upgrade", "--data-dir", str(srv.data_dir))
    assert r3.returncode == 0, r3.stderr


# ---------------------------------------------------------------- secrets at rest and in logs


def test_access_log_records_actors_without_answers(srv: Server, completed: dict[str, Any]) -> None:
    """The access log has candidate and api: actors, and never an answer value."""
    with sqlite3.connect(srv.data_dir / "repprofile.db") as con:
        rows = con.execute("select * from access_log").fetchall()
        cols = [d[1] for d in con.execute("pragma table_info(access_log)")]
    con.close()
    assert rows
    actors = {r[cols.index("actor")] for r in rows}
    key_id = "api:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert key_id in actors
    assert "candidate" in actors
    actions = {r[cols.index("action")] for r in rows}
    assert {"invitation.read", "invitation.erase", "take.save"} <= actions
    answer_pattern = re.compile(r"(acc|cmp|ctl|emp|hwk|inn|rck|imp|att|inf)\d\d\W{0,4}[1-5]\b")
    for r in rows:
        for v in r:
            if isinstance(v, str):
                assert not answer_pattern.search(v), v
                assert KEY not in v


def test_tokens_never_in_database_in_clear(srv: Server) -> None:
    """No text column of any table holds a token handed out in this module."""
    assert srv.tokens
    with sqlite3.connect(srv.data_dir / "repprofile.db") as con:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                for v in row:
                    if isinstance(v, (str, bytes)):
                        s = v if isinstance(v, str) else v.decode("latin-1")
                        for t in srv.tokens:
                            assert t not in s, (table, "holds a token")
        hashes = {r[0] for r in con.execute("select token_sha256 from invitations")}
    con.close()
    assert hashlib.sha256(srv.tokens[0].encode()).hexdigest() in hashes


def test_tokens_answers_key_never_in_server_log(srv: Server, completed: dict[str, Any]) -> None:
    """The server's stdout/stderr holds no token and no API key."""
    log = srv.log_path.read_text(errors="replace")
    assert "/take/" in log or "POST" in log or "Application startup" in log
    for t in srv.tokens:
        assert t not in log, "a token is in the server log"
    assert KEY not in log
    assert SECRET not in log


# ---------------------------------------------------------------- webhook, restart, purge


@dataclass
class Receiver:
    """A webhook receiver that fails the first `fail` requests, then accepts."""

    fail: int = 2
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _verify(signature: str, body: bytes) -> bool:
    """The documented check: HMAC-SHA256(secret, f'{t}.' + body) == v1, t recent."""
    fields: dict[str, list[str]] = {}
    for part in signature.split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields.setdefault(k, []).append(v)
    ts = fields.get("t", [])
    if len(ts) != 1 or not ts[0].isdigit() or abs(time.time() - int(ts[0])) > 300:
        return False
    want = hmac.new(SECRET.encode(), f"{ts[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(want, v) for v in fields.get("v1", []))


def _start_receiver(rec: Receiver) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Run rec on a free port in a thread; its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        """Records each POST and answers 500 for the first rec.fail of them."""

        def do_POST(self) -> None:
            """Record, verify, answer."""
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                n = len(rec.calls)
                ok = n >= rec.fail
                rec.calls.append(
                    {
                        "body": body,
                        "signature": self.headers.get("Repprofile-Signature", ""),
                        "event_id": self.headers.get("Repprofile-Event-Id"),
                        "verified": _verify(self.headers.get("Repprofile-Signature", ""), body),
                        "accepted": ok,
                        "at": time.monotonic(),
                    }
                )
            self.send_response(200 if ok else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/hook"


def _wait(pred: Any, seconds: float) -> bool:
    """Poll pred until true or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return bool(pred())


def test_webhook_signed_retried_once_across_restart_then_purge(tmp_path: Path) -> None:
    """Fails twice, accepted the third time, after a server restart: one event, signed,
    same event id; then purge --older-than 180d erases it and prints the counts."""
    rec = Receiver(fail=2)
    httpd, hook = _start_receiver(rec)
    s = _make_server(tmp_path / "hook", REPPROFILE_WEBHOOK_BACKOFF="1")
    try:
        _, _, qdoc = api(s, "GET", "/v1/questionnaires/" + QUESTIONNAIRE)
        items = [i["id"] for i in qdoc["items"]]
        inv = invite(s, "BB-hook", callback_url=hook)
        answers = answers_for(20, items)
        Taker(s, inv["url"]).take_all(answers)
        assert _wait(lambda: len(rec.calls) >= 1, 30), "no webhook attempt"
        s.stop()
        s.start()
        assert _wait(lambda: any(c["accepted"] for c in rec.calls), 40), rec.calls
        time.sleep(3)  # nothing more should come
        assert len(rec.calls) == 3
        assert [c["accepted"] for c in rec.calls] == [False, False, True]
        assert all(c["verified"] for c in rec.calls)
        assert len({c["event_id"] for c in rec.calls}) == 1
        assert rec.calls[0]["event_id"]
        event = json.loads(rec.calls[-1]["body"])
        assert event["event"] == "invitation.completed"
        assert event["invitation_id"] == inv["invitation_id"]
        assert event["candidate_id"] == "BB-hook"
        _, _, doc = api(s, "GET", "/v1/invitations/" + inv["invitation_id"])
        assert event["result"] == doc["result"]
        log = s.log_path.read_text(errors="replace")
        assert token_of(inv["url"]) not in log
        assert '"pomp"' not in log
        # retention: back-date the invitation, then purge
        old = (datetime.now(UTC) - timedelta(days=200)).strftime("%Y-%m-%d %H:%M:%S.000000")
        with sqlite3.connect(s.data_dir / "repprofile.db") as con:
            con.execute("update invitations set created_at = ?", (old,))
        con.close()
        keep = invite(s, "BB-keep")
        res = cli(
            "purge", "--older-than", "180d", "--format", "json", "--data-dir", str(s.data_dir)
        )
        assert res.returncode == 0, res.stderr
        counts = json.loads(res.stdout)
        assert counts["invitations"] == 1
        assert counts["answers"] == 80
        assert counts["results"] == 1
        text = cli("purge", "--older-than", "180d", "--data-dir", str(s.data_dir))
        assert text.returncode == 0
        assert re.search(r"\b0\b", text.stdout)
        _, _, doc = api(s, "GET", "/v1/invitations/" + inv["invitation_id"])
        assert doc["status"] == "erased"
        _, _, kept = api(s, "GET", "/v1/invitations/" + keep["invitation_id"])
        assert kept["status"] == "created"
    finally:
        s.stop()
        httpd.shutdown()
        httpd.server_close()


def test_locale_without_catalogue_falls_back_to_english(srv: Server) -> None:
    """A locale with no catalogue file gets the English pages."""
    inv = invite(srv, "BB-locale", locale="de")
    status, _, html = request("GET", inv["url"])
    assert status == 200
    text = Page(html.decode()).visible_text
    assert "Privacy notice" in text


def test_debug_server_rate_limit_erase_cancels_webhook(tmp_path: Path) -> None:
    """A server at --log-level debug with REPPROFILE_TOKEN_GUESS_LIMIT=3: unknown links get
    404 three times, then 429. An invitation erased while its webhook is failing gets no
    more delivery attempts. The debug log holds no token, no API key and no answer."""
    rec = Receiver(fail=1000)
    httpd, hook = _start_receiver(rec)
    root = tmp_path / "dbg"
    root.mkdir()
    s = Server(
        _free_port(),
        root / "data",
        root / "server.log",
        _env(REPPROFILE_TOKEN_GUESS_LIMIT="3", REPPROFILE_WEBHOOK_BACKOFF="1"),
        extra_args=["--log-level", "debug"],
    )
    s.start()
    try:
        _, _, qdoc = api(s, "GET", "/v1/questionnaires/" + QUESTIONNAIRE)
        items = [i["id"] for i in qdoc["items"]]
        inv = invite(s, "BB-debug", callback_url=hook)
        answers = answers_for(30, items)
        Taker(s, inv["url"]).take_all(answers)
        assert _wait(lambda: len(rec.calls) >= 1, 30), "no webhook attempt"
        assert all(c["verified"] for c in rec.calls)
        s_del, _, _ = api(s, "DELETE", "/v1/invitations/" + inv["invitation_id"])
        assert s_del in (200, 204)
        with rec.lock:
            n = len(rec.calls)
        time.sleep(4.5)  # backoff 1 s, doubling: attempts would come at +1, +2, +4 s
        assert len(rec.calls) <= n + 1  # at most one attempt already in flight
        statuses = [request("GET", f"{s.base}/take/guess{k:017d}")[0] for k in range(5)]
        assert statuses[:3] == [404, 404, 404]
        assert statuses[3:] == [429, 429]
        log = s.log_path.read_text(errors="replace")
        assert "DEBUG" in log or "debug" in log.lower()
        assert token_of(inv["url"]) not in log
        assert KEY not in log
        assert SECRET not in log
        answer_pattern = re.compile(
            r"[\"']?(acc|cmp|ctl|emp|hwk|inn|rck|imp)\d\d[\"']?\s*[:=]\s*[1-5]"
        )
        assert not answer_pattern.search(log)
        assert '"pomp"' not in log
    finally:
        s.stop()
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "callback", ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "http://"]
)
def test_callback_url_must_be_http(srv: Server, callback: str) -> None:
    """callback_url is http or https with a host; anything else is a 422."""
    status, _, _ = api(
        srv,
        "POST",
        "/v1/invitations",
        {"candidate_id": "x", "questionnaire": QUESTIONNAIRE, "callback_url": callback},
    )
    assert status == 422


def test_erased_link_subpages_equal_unknown(srv: Server) -> None:
    """Every page of an erased link answers exactly as the same page of an unknown link."""
    inv = invite(srv, "BB-erase-sub", metadata={"note": "x"})
    api(srv, "DELETE", "/v1/invitations/" + inv["invitation_id"])
    token = token_of(inv["url"])
    for sub in ("", "/page/1", "/done"):
        a = request("GET", f"{srv.base}/take/{token}{sub}")
        b = request("GET", f"{srv.base}/take/AAAAAAAAAAAAAAAAAAAAAC{sub}")
        assert a[0] == b[0] == 404, sub
        assert a[2] == b[2], sub
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["metadata"] in ({}, None)


def test_withdrawn_link_saves_nothing(srv: Server, item_ids: list[str]) -> None:
    """After withdrawal, neither the form nor the save endpoint stores an answer."""
    inv = invite(srv, "BB-withdraw-save")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    api(srv, "POST", f"/v1/invitations/{inv['invitation_id']}/withdraw")
    s1, _, _ = taker.submit(page, answers_for(8, item_ids), "next")
    s2, _, _ = request(
        "POST",
        srv.base + page.forms[-1]["data-save-url"],
        json.dumps({"answers": [{"item": "acc01", "part": "", "value": "3"}], "page": 1}).encode(),
        {"Content-Type": "application/json", "X-CSRF-Token": page.field("csrf")},
    )
    assert s1 == 410
    assert s2 == 410
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"]["answered"] == 0
    assert doc["status"] == "withdrawn"


def test_completed_link_cannot_change_the_result(srv: Server, completed: dict[str, Any]) -> None:
    """Posting answers again after finishing changes neither answers nor result."""
    inv = completed["inv"]
    taker: Taker = completed["taker"]
    _, _, before = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    page1 = taker.pages_seen[1]
    status, _, _ = taker.submit(page1, dict.fromkeys(page1.radio_items(), 1), "next")
    assert status in (303, 409, 410)
    s2, _, _ = request(
        "POST",
        srv.base + page1.forms[-1]["data-save-url"],
        json.dumps({"answers": [{"item": "acc01", "part": "", "value": "1"}], "page": 1}).encode(),
        {"Content-Type": "application/json", "X-CSRF-Token": page1.field("csrf")},
    )
    assert s2 == 409
    _, _, after = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert after["result"] == before["result"]
    assert after["status"] == "completed"


def test_out_of_range_answer_is_refused_not_stored(srv: Server) -> None:
    """A forged value 9 or 'abc' for a 1-5 item: no 500, nothing stored."""
    inv = invite(srv, "BB-range")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    for bad in ("9", "0", "abc", "3.5"):
        form = [("csrf", page.field("csrf")), (page.radio_items()[0], bad), ("nav", "next")]
        status, _, _ = taker.post(page.forms[-1]["action"], form)
        assert status in (400, 422), bad
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"]["answered"] == 0


def test_finish_with_missing_answers_does_not_complete(srv: Server) -> None:
    """Finish with unanswered items goes back to the questions instead of completing."""
    inv = invite(srv, "BB-early")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    last = page.forms[-1]["action"].rsplit("/", 1)[0] + "/8"
    status, headers, _ = taker.post(last, [("csrf", page.field("csrf")), ("nav", "finish")])
    assert status == 303
    assert "/page/" in headers["location"]
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["status"] != "completed"
    assert doc["result"] is None


def test_expired_is_listed_as_expired(srv: Server) -> None:
    """An invitation past its expiry is listed under status=expired."""
    soon = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    inv = invite(srv, "BB-expire-list", expires_at=soon)
    time.sleep(2.2)
    _, _, page = api(srv, "GET", "/v1/invitations?status=expired&limit=500")
    assert inv["invitation_id"] in {i["invitation_id"] for i in page["invitations"]}


def test_sjt_questionnaire_through_forms_equals_score_and_fit(srv: Server) -> None:
    """rep-hiring: SJT options as radio groups named ITEM.OPTION; the stored result equals
    /v1/score and /v1/fit on the same flat answers."""
    status, _, body = api(
        srv,
        "POST",
        "/v1/invitations",
        {"candidate_id": "BB-sjt", "questionnaire": "rep-hiring", "roles": ["escalations-sjt"]},
    )
    assert status == 201
    srv.tokens.append(token_of(body["url"]))
    taker = Taker(srv, body["url"])
    _, page = taker.start()
    given: dict[str, int] = {}
    sjt_names: set[str] = set()
    for n in range(40):
        values: dict[str, list[str]] = {}
        for i in page.inputs:
            if i.get("type") == "radio":
                values.setdefault(i["name"], []).append(i["value"])
        for k, (name, vals) in enumerate(values.items()):
            given[name] = int(vals[(n * 3 + k * 7) % len(vals)])
            if "." in name:
                sjt_names.add(name)
        # at most ten items (a scenario counts once) per page
        assert len({name.split(".")[0] for name in values}) <= 10
        nav = "finish" if "finish" in page.nav_values() else "next"
        _, page = taker.follow(*taker.submit(page, given, nav))
        if nav == "finish":
            break
    assert sjt_names
    assert all(re.fullmatch(r"sr\d\d\.[a-z]", name) for name in sjt_names)
    _, _, doc = api(srv, "GET", "/v1/invitations/" + body["invitation_id"])
    assert doc["status"] == "completed"
    req = {
        "questionnaire": "rep-hiring",
        "candidates": [{"candidate_id": "BB-sjt", "answers": given}],
    }
    _, _, score = api(srv, "POST", "/v1/score", req)
    _, _, fit = api(srv, "POST", "/v1/fit", {**req, "roles": ["escalations-sjt"]})
    stored = doc["result"]["score"]["profiles"][0]
    assert stored["scales"] == score["profiles"][0]["scales"]
    assert stored.get("sjt_type_preference") == score["profiles"][0].get("sjt_type_preference")
    assert doc["result"]["fit"]["candidates"] == fit["candidates"]


def test_report_default_is_pdf_and_openapi_lists_invitations(
    srv: Server, completed: dict[str, Any]
) -> None:
    """Without an Accept header the report is a PDF; /openapi.json documents the calls."""
    iid = completed["inv"]["invitation_id"]
    status, headers, data = request(
        "GET", f"{srv.base}/v1/invitations/{iid}/report", headers={"Authorization": "Bearer " + KEY}
    )
    assert status == 200
    assert headers["content-type"].startswith("application/pdf")
    assert data[:5] == b"%PDF-"
    _, _, spec = api(srv, "GET", "/openapi.json")
    paths = spec["paths"]
    assert set(paths["/v1/invitations"]) >= {"get", "post"}
    assert set(paths["/v1/invitations/{invitation_id}"]) >= {"get", "delete"} or set(
        paths.get("/v1/invitations/{id}", {})
    ) >= {"get", "delete"}


def test_concurrent_saves_of_one_item_never_500(srv: Server) -> None:
    """Twenty saves of one item at once (two tabs, double clicks): every one answered 200,
    one value kept, and it is one of the values sent."""
    inv = invite(srv, "BB-race")
    taker = Taker(srv, inv["url"])
    _, page = taker.start()
    url = srv.base + page.forms[-1]["data-save-url"]
    csrf = page.field("csrf")
    item = page.radio_items()[0]
    results: list[int] = []
    lock = threading.Lock()

    def save(value: int) -> None:
        """One save."""
        body = json.dumps(
            {"answers": [{"item": item, "part": "", "value": str(value)}], "page": 1}
        ).encode()
        status, _, _ = request(
            "POST", url, body, {"Content-Type": "application/json", "X-CSRF-Token": csrf}
        )
        with lock:
            results.append(status)

    threads = [threading.Thread(target=save, args=(k % 5 + 1,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 20
    _, again = taker.follow(*taker.get(page.forms[-1]["action"]))
    kept = again.checked()
    assert list(kept) == [item]
    assert kept[item] in {"1", "2", "3", "4", "5"}
    _, _, doc = api(srv, "GET", "/v1/invitations/" + inv["invitation_id"])
    assert doc["progress"]["answered"] == 1
