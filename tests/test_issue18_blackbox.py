"""Black-box tests of issue 18 (ATS integration), from docs/ats.md and the issue only.

A real ``repprofile serve`` runs as a subprocess; the tests talk HTTP to it as Greenhouse,
an HR system with the generic push, and a candidate filling the forms would.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import hashlib
import hmac
import html.parser
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

API_KEY = "apikey-0123456789abcdefXYZ"
GH_KEY = "ghkey-0123456789abcdefXYZ"
GH_KEY2 = "ghkey2-0123456789abcdefXYZ"
SECRET_KEY = "ab" * 32
WEBHOOK_SECRET = "whsec-test-secret"
TYPE_NAMES = [
    "Accommodator",
    "Competitor",
    "Controller",
    "Empathizer",
    "Hard Worker",
    "Innovator",
    "Rock",
]
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------- HTTP client


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(
    base: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Resp:
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def basic(user: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": "Basic " + token}


# ---------------------------------------------------------------- fake receivers


@dataclass
class Receiver:
    """A small HTTP server recording every request; fails the first ``fail`` ones."""

    fail: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: http.server.ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n) if n else b""
                with rec.lock:
                    answer = 500 if rec.fail > 0 else 200
                    rec.fail = max(0, rec.fail - 1)
                    rec.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": data,
                            "status": answer,
                        }
                    )
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PATCH = _handle  # noqa: N815
            do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)

    def matching(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


def wait_for(pred: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- server


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]
    mail_dir: Path | None
    log_path: Path

    def api(self, method: str, path: str, payload: Any = None, key: str = API_KEY) -> Resp:
        headers = {"Authorization": "Bearer " + key}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return request(self.base, method, path, body=body, headers=headers)

    def gh(
        self, method: str, name: str, payload: Any = None, key: str = GH_KEY, query: str = ""
    ) -> Resp:
        headers = basic(key)
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        path = f"/integrations/greenhouse/{name}" + (f"?{query}" if query else "")
        return request(self.base, method, path, body=body, headers=headers)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")


def start_server(
    tmp: Path, env_extra: dict[str, str], *, dry_run: bool = True, port: int | None = None
) -> Server:
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPPROFILE_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "REPPROFILE_API_KEYS": API_KEY,
            "REPPROFILE_GREENHOUSE_KEYS": f"{GH_KEY},{GH_KEY2}",
            "REPPROFILE_SECRET_KEY": SECRET_KEY,
            "REPPROFILE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REPPROFILE_WEBHOOK_ALLOW_PRIVATE": "1",
            "REPPROFILE_WEBHOOK_BACKOFF": "0.2",
            "REPPROFILE_WEBHOOK_MAX_ATTEMPTS": "6",
        }
    )
    env.update(env_extra)
    args = [
        sys.executable,
        "-m",
        "repprofile",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp / "data"),
        "--public-url",
        base,
        "--insecure-cookies",
    ]
    mail_dir = tmp / "mail" if dry_run else None
    if mail_dir is not None:
        args += ["--smtp-dry-run", str(mail_dir)]
    log_path = tmp / f"server-{port}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    srv = Server(base, proc, mail_dir, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{srv.log()}")
        with contextlib.suppress(OSError):
            if request(base, "GET", "/v1/health").status == 200:
                return srv
        time.sleep(0.1)
    stop_server(srv)
    raise AssertionError("server did not start:\n" + srv.log())


def stop_server(srv: Server) -> None:
    if srv.proc.poll() is None:
        srv.proc.terminate()
        try:
            srv.proc.wait(20)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            srv.proc.wait(10)


@pytest.fixture(scope="module")
def gh_receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("srv"), {})
    yield srv
    stop_server(srv)


# ---------------------------------------------------------------- candidate


class FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "hidden": {},
                "radios": {},
                "checkboxes": {},
                "buttons": [],
            }
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            kind = a.get("type", "text")
            name = a.get("name", "")
            if kind == "hidden":
                self._form["hidden"][name] = a.get("value", "")
            elif kind == "radio":
                self._form["radios"].setdefault(name, []).append(a.get("value", ""))
            elif kind == "checkbox":
                self._form["checkboxes"][name] = a.get("value", "on")
            elif kind == "submit" and name:
                self._form["buttons"].append((name, a.get("value", ""), a.get("class", "")))
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._form["buttons"].append(
                (a.get("name", ""), a.get("value", ""), a.get("class", ""))
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


class Candidate:
    """A browser-less candidate: cookies, forms and redirects over plain HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def _req(self, method: str, path: str, body: bytes | None = None) -> Resp:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.base
        u = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            for k, v in r.getheaders():
                if k.lower() == "set-cookie":
                    name, _, rest = v.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path: str) -> Resp:
        for _ in range(10):
            r = self._req("GET", path)
            if r.status in (301, 302, 303, 307) and "location" in r.headers:
                path = urllib.parse.urlsplit(r.headers["location"]).path
                continue
            return r
        raise AssertionError("too many redirects")

    def post(self, path: str, fields: list[tuple[str, str]]) -> Resp:
        r = self._req("POST", path, urllib.parse.urlencode(fields).encode())
        if r.status in (302, 303) and "location" in r.headers:
            return self.get(urllib.parse.urlsplit(r.headers["location"]).path)
        return r

    def start(self, link: str) -> Resp:
        path = urllib.parse.urlsplit(link).path
        page = self.get(path)
        assert page.status == 200, page.text[:500]
        form = self._form(page)
        fields = list(form["hidden"].items()) + list(form["checkboxes"].items())
        return self.post(form["action"], fields)

    @staticmethod
    def _form(page: Resp) -> dict[str, Any]:
        p = FormParser()
        p.feed(page.text)
        forms = [f for f in p.forms if f["action"].startswith("/take/")]
        assert forms, page.text[:2000]
        form: dict[str, Any] = forms[0]
        return form

    def complete(self, link: str, pick: int = 0) -> Resp:
        """Start, then answer every page (choice index cycles with pick), to the end."""
        page = self.start(link)
        for step in range(100):
            p = FormParser()
            p.feed(page.text)
            forms = [f for f in p.forms if f["radios"]]
            if not forms:
                return page
            form = forms[0]
            fields = list(form["hidden"].items())
            for i, (name, values) in enumerate(form["radios"].items()):
                fields.append((name, values[(i * 3 + step + pick) % len(values)]))
            buttons = [b for b in form["buttons"] if "primary" in b[2]] or form["buttons"]
            name, value, _ = buttons[-1]
            if name:
                fields.append((name, value))
            page = self.post(form["action"], fields)
            assert page.status == 200, page.text[:1000]
        raise AssertionError("the questionnaire did not end")


# ---------------------------------------------------------------- helpers


def mails(srv: Server) -> list[tuple[Path, EmailMessage]]:
    assert srv.mail_dir is not None
    if not srv.mail_dir.exists():
        return []
    out = []
    for p in sorted(srv.mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append((p, msg))
    return out


def mails_for(srv: Server, inv: str) -> list[tuple[Path, EmailMessage]]:
    return [(p, m) for p, m in mails(srv) if inv in str(m["Message-ID"])]


def text_body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def html_body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    content: str = part.get_content()
    return content


def link_in(srv: Server, msg: EmailMessage) -> str:
    m = re.search(re.escape(srv.base) + r"/take/[A-Za-z0-9_-]+", text_body(msg))
    assert m, text_body(msg)
    return m.group(0)


def order(srv: Server, test_id: str, email_addr: str, url: str, key: str = GH_KEY) -> Resp:
    return srv.gh(
        "POST",
        "send_test",
        {
            "partner_test_id": test_id,
            "candidate": {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": email_addr,
                "resume_url": "https://example.org/cv.pdf",
                "phone_number": "+44 20 0000 0000",
                "greenhouse_profile_url": "https://app.greenhouse.io/people/1",
            },
            "url": url,
        },
        key=key,
    )


def status_of(srv: Server, inv: str, key: str = GH_KEY) -> Resp:
    return srv.gh("GET", "test_status", key=key, query=f"partner_interview_id={inv}")


def one_decimal(x: float) -> bool:
    return round(x, 1) == x


def parse_time(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def verified(signature: str | None, body: bytes) -> bool:
    """The verification code of docs/web-assessment.md, verbatim in substance."""
    fields: dict[str, list[str]] = {}
    for part in (signature or "").split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    t = int(stamps[0])
    if abs(time.time() - t) > 300:
        return False
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256)
    return any(hmac.compare_digest(expected.hexdigest(), v) for v in fields.get("v1", []))


@dataclass
class Completed:
    inv: str
    link: str
    path: str
    completed_at: datetime


@pytest.fixture(scope="module")
def gh_done(server: Server, gh_receiver: Receiver) -> Completed:
    """A Greenhouse order taken to completion; the PATCH receiver fails twice first."""
    with gh_receiver.lock:
        gh_receiver.fail = 2
    path = "/gh/applications/1/partner_interviews/42"
    r = order(server, "general-frontline", "ada@example.org", gh_receiver.base + path)
    assert r.status == 200, r.text
    inv = r.json()["partner_interview_id"]
    msg = wait_for(lambda: mails_for(server, inv), what="invitation email")[0][1]
    link = link_in(server, msg)
    st = status_of(server, inv).json()
    assert st == {
        "partner_status": "sent",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }
    cand = Candidate(server.base)
    cand.start(link)
    assert status_of(server, inv).json()["partner_status"] == "started"
    Candidate(server.base).complete(link)
    got = server.api("GET", f"/v1/invitations/{inv}").json()
    assert got["status"] == "completed"
    return Completed(inv, link, path, parse_time(got["completed_at"]))


# ---------------------------------------------------------------- list_tests


def test_list_tests_default_catalogue_is_every_role_sorted(server: Server) -> None:
    r = server.gh("GET", "list_tests")
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/json")
    tests = r.json()
    assert isinstance(tests, list)
    assert len(tests) >= 2
    for t in tests:
        assert set(t) == {"partner_test_id", "partner_test_name"}
        assert isinstance(t["partner_test_id"], str)
        assert isinstance(t["partner_test_name"], str)
    ids = [t["partner_test_id"] for t in tests]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {
        "partner_test_id": "general-frontline",
        "partner_test_name": "General front-line service",
    } in tests


def test_ats_config_file_sets_catalogue_order(tmp_path: Path) -> None:
    cfg = tmp_path / "ats.yaml"
    cfg.write_text(
        "tests:\n"
        "  - id: frontline-2027\n"
        "    name: Front-line service (rep types)\n"
        "    questionnaire: rep-types\n"
        "    role: general-frontline\n"
        "  - id: escalations-sjt\n"
        "    name: Escalations (rep types and judgement)\n"
        "    questionnaire: rep-hiring\n"
        "    role: escalations-sjt\n"
        "    expires_in_days: 7\n"
    )
    srv = start_server(tmp_path, {"REPPROFILE_ATS_CONFIG": str(cfg)})
    try:
        r = srv.gh("GET", "list_tests")
        assert r.status == 200
        assert r.json() == [
            {
                "partner_test_id": "frontline-2027",
                "partner_test_name": "Front-line service (rep types)",
            },
            {
                "partner_test_id": "escalations-sjt",
                "partner_test_name": "Escalations (rep types and judgement)",
            },
        ]
        r = order(srv, "escalations-sjt", "bob@example.org", "http://127.0.0.1:9/gh")
        assert r.status == 200, r.text
        got = srv.api("GET", f"/v1/invitations/{r.json()['partner_interview_id']}").json()
        assert got["questionnaire"] == "rep-hiring"
        assert got["roles"] == ["escalations-sjt"]
        days = parse_time(got["expires_at"]) - parse_time(got["created_at"])
        assert abs(days.total_seconds() - 7 * 86400) < 5
    finally:
        stop_server(srv)


def test_ats_config_with_unknown_role_stops_server(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        "tests:\n  - id: t1\n    name: T\n    questionnaire: rep-types\n    role: no-such-role\n"
    )
    with pytest.raises(AssertionError, match="server exited") as info:
        start_server(tmp_path, {"REPPROFILE_ATS_CONFIG": str(cfg)})
    assert "bad.yaml" in str(info.value)
    assert "no-such-role" in str(info.value)


# ---------------------------------------------------------------- authentication


def _assert_401(r: Resp) -> dict[str, Any]:
    assert r.status == 401, r.text
    assert r.headers["www-authenticate"] == 'Basic realm="repprofile"'
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == "unauthorized"
    assert body["status"] == 401
    return body


@pytest.mark.parametrize("name", ["list_tests", "test_status"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer " + GH_KEY},
        {"Authorization": "Basic !!!notbase64!!!"},
        {"Authorization": "Basic " + base64.b64encode(GH_KEY.encode()).decode()},
        basic("unknown-key-0123456789abcdef"),
    ],
    ids=["none", "bearer", "not-base64", "no-colon", "unknown-key"],
)
def test_bad_credentials_get_401(server: Server, name: str, headers: dict[str, str]) -> None:
    r = request(
        server.base,
        "GET",
        f"/integrations/greenhouse/{name}?partner_interview_id=x",
        headers=headers,
    )
    _assert_401(r)


def test_key_in_password_field_is_explained(server: Server) -> None:
    r = request(
        server.base, "GET", "/integrations/greenhouse/list_tests", headers=basic("", GH_KEY)
    )
    detail = str(_assert_401(r)["detail"])
    assert "user name" in detail
    assert "empty password" in detail
    assert GH_KEY not in r.text


def test_non_empty_password_is_explained(server: Server) -> None:
    r = request(
        server.base, "GET", "/integrations/greenhouse/list_tests", headers=basic(GH_KEY, "secret")
    )
    detail = str(_assert_401(r)["detail"])
    assert "password" in detail
    assert "empty" in detail


def test_post_endpoints_need_auth(server: Server) -> None:
    for name in ("send_test", "response_error"):
        r = request(
            server.base,
            "POST",
            f"/integrations/greenhouse/{name}",
            body=b"{}",
            headers={"Content-Type": "application/json"},
        )
        _assert_401(r)


def test_greenhouse_key_does_not_open_v1(server: Server) -> None:
    r = server.api("GET", "/v1/invitations", key=GH_KEY)
    assert r.status == 401


def test_greenhouse_endpoints_not_in_openapi(server: Server) -> None:
    r = server.api("GET", "/openapi.json")
    assert r.status == 200
    assert "/integrations/greenhouse" not in r.text


# ---------------------------------------------------------------- send_test errors


def _loc(r: Resp) -> list[list[Any]]:
    assert r.status == 422, r.text
    return [e["loc"] for e in r.json()["errors"]]


def test_unknown_test_id_is_422(server: Server) -> None:
    r = order(server, "no-such-test", "x@example.org", "http://127.0.0.1:9/x")
    assert ["body", "partner_test_id"] in _loc(r)


@pytest.mark.parametrize("addr", [None, "not-an-address"])
def test_missing_or_bad_email_is_422(server: Server, addr: str | None) -> None:
    cand: dict[str, Any] = {"first_name": "Ada"}
    if addr is not None:
        cand["email"] = addr
    r = server.gh(
        "POST",
        "send_test",
        {"partner_test_id": "general-frontline", "candidate": cand, "url": "http://127.0.0.1:9/x"},
    )
    assert ["body", "candidate", "email"] in _loc(r)


@pytest.mark.parametrize("url", [None, "ftp://example.org/x", "example.org/x"])
def test_missing_or_bad_url_is_422(server: Server, url: str | None) -> None:
    payload: dict[str, Any] = {
        "partner_test_id": "general-frontline",
        "candidate": {"first_name": "Ada", "email": "ada@example.org"},
    }
    if url is not None:
        payload["url"] = url
    assert ["body", "url"] in _loc(server.gh("POST", "send_test", payload))


def test_private_url_refused_without_allow_private(tmp_path: Path) -> None:
    srv = start_server(tmp_path, {"REPPROFILE_WEBHOOK_ALLOW_PRIVATE": "0"})
    try:
        r = order(srv, "general-frontline", "ada@example.org", "http://127.0.0.1:9/x")
        assert ["body", "url"] in _loc(r)
        r = order(srv, "general-frontline", "ada@example.org", "http://10.1.2.3/x")
        assert ["body", "url"] in _loc(r)
    finally:
        stop_server(srv)


def test_send_test_without_email_setup_is_503(tmp_path: Path) -> None:
    srv = start_server(tmp_path, {}, dry_run=False)
    try:
        r = order(srv, "general-frontline", "ada@example.org", "http://127.0.0.1:9/x")
        assert r.status == 503, r.text
        assert r.json()["code"] == "email_not_configured"
        assert srv.api("GET", "/v1/invitations").json()["invitations"] == []
    finally:
        stop_server(srv)


def test_repeated_send_test_answers_same_id_and_no_email(server: Server) -> None:
    url = "http://127.0.0.1:9/gh/repeat"
    first = order(server, "complex-support", "Grace@Example.org", url)
    assert first.status == 200, first.text
    inv = first.json()["partner_interview_id"]
    assert re.fullmatch(r"inv_[0-9a-f]{24}", inv)
    wait_for(lambda: mails_for(server, inv), what="invitation email")
    again = order(server, "complex-support", "Grace@Example.org", url)
    assert again.status == 200
    assert again.json() == {"partner_interview_id": inv}
    time.sleep(1.5)
    assert len(mails_for(server, inv)) == 1
    # another url, another test or another key: a new order
    other = order(server, "complex-support", "Grace@Example.org", url + "2")
    assert other.json()["partner_interview_id"] != inv
    other_key = order(server, "complex-support", "Grace@Example.org", url, key=GH_KEY2)
    assert other_key.json()["partner_interview_id"] != inv
    # erased: the same order makes a new invitation
    assert server.api("DELETE", f"/v1/invitations/{inv}").status == 200
    fresh = order(server, "complex-support", "Grace@Example.org", url)
    assert fresh.status == 200
    assert fresh.json()["partner_interview_id"] != inv


def test_concurrent_identical_orders_make_one_invitation(server: Server) -> None:
    url = "http://127.0.0.1:9/gh/concurrent"
    results: list[str] = []

    def go() -> None:
        r = order(server, "retention", "conc@example.org", url)
        results.append(r.json()["partner_interview_id"])

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    assert len(set(results)) == 1


def test_send_test_keeps_only_email_and_first_name(server: Server) -> None:
    r = order(server, "escalations", "Mixed.Case@Example.ORG", "http://127.0.0.1:9/gh/keep")
    inv = r.json()["partner_interview_id"]
    got = server.api("GET", f"/v1/invitations/{inv}")
    assert got.status == 200
    doc = got.json()
    # docs/ats.md: 16 hex digits of an HMAC-SHA256 keyed with the server's secret key of
    # the lower-cased email (not a plain SHA-256 anyone could match against addresses)
    assert re.fullmatch(r"greenhouse-[0-9a-f]{16}", doc["candidate_id"])
    plain = hashlib.sha256(b"mixed.case@example.org").hexdigest()[:16]
    assert doc["candidate_id"] != "greenhouse-" + plain
    assert doc["metadata"] == {"source": "greenhouse", "partner_test_id": "escalations"}
    assert doc["questionnaire"] == "rep-types"
    assert doc["roles"] == ["escalations"]
    for dropped in ("Lovelace", "+44 20", "cv.pdf", "people/1"):
        assert dropped not in got.text
    listed = server.api("GET", "/v1/invitations?limit=200").json()["invitations"]
    assert inv in [i["invitation_id"] for i in listed]
    assert all(i["emails"] is None for i in listed)


# ---------------------------------------------------------------- test_status


def test_status_missing_id_is_422(server: Server) -> None:
    r = server.gh("GET", "test_status")
    assert _loc(r) == [["query", "partner_interview_id"]]


def test_status_unknown_and_other_key_are_same_404(server: Server) -> None:
    r = order(server, "cx-improvement", "nf@example.org", "http://127.0.0.1:9/gh/nf")
    inv = r.json()["partner_interview_id"]
    unknown = status_of(server, "inv_000000000000000000000000")
    other = status_of(server, inv, key=GH_KEY2)
    assert unknown.status == 404
    assert other.status == 404
    assert unknown.json()["code"] == "not_found"
    assert unknown.text.replace("inv_000000000000000000000000", inv) == other.text
    assert status_of(server, inv).status == 200


def test_status_of_withdrawn_invitation(server: Server) -> None:
    r = order(server, "cx-improvement", "wd@example.org", "http://127.0.0.1:9/gh/wd")
    inv = r.json()["partner_interview_id"]
    assert server.api("POST", f"/v1/invitations/{inv}/withdraw").status == 200
    assert status_of(server, inv).json() == {
        "partner_status": "withdrawn",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }


def test_reminder_cancelled_after_withdrawal(server: Server) -> None:
    r = order(server, "cx-improvement", "wd2@example.org", "http://127.0.0.1:9/gh/wd2")
    inv = r.json()["partner_interview_id"]
    wait_for(lambda: mails_for(server, inv), what="invitation email")
    assert server.api("POST", f"/v1/invitations/{inv}/withdraw").status == 200
    time.sleep(1)
    emails = server.api("GET", f"/v1/invitations/{inv}").json()["emails"]
    assert [(e["kind"], e["status"]) for e in emails] == [
        ("invitation", "sent"),
        ("reminder", "cancelled"),
    ]


# ---------------------------------------------------------------- the whole Greenhouse flow


def test_invitation_email_contents(server: Server, gh_done: Completed) -> None:
    found = mails_for(server, gh_done.inv)
    assert len(found) == 1, [p.name for p, _ in found]
    path, msg = found[0]
    mid = str(msg["Message-ID"])
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid)
    assert path.name == mid[1:].split("@")[0] + ".eml"
    assert msg["To"] == "Ada <ada@example.org>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"] == "Candidate assessment <no-reply@127.0.0.1>"
    assert msg["Date"] is not None
    assert msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    text = text_body(msg)
    assert "Ada" in text
    assert gh_done.link in text
    assert gh_done.link in html_body(msg)
    assert "UTC" in text
    doc = server.api("GET", f"/v1/invitations/{gh_done.inv}").json()
    expires = parse_time(doc["expires_at"])
    assert expires.strftime("%B %Y") in text
    assert str(expires.day) in text
    assert "Lovelace" not in text


def test_emails_listed_and_reminder_cancelled_after_completion(
    server: Server, gh_done: Completed
) -> None:
    doc = server.api("GET", f"/v1/invitations/{gh_done.inv}").json()
    emails = doc["emails"]
    assert [e["kind"] for e in emails] == ["invitation", "reminder"]
    for e in emails:
        assert set(e) == {"kind", "status", "message_id", "scheduled_at", "sent_at", "attempts"}
    inv_mail, reminder = emails
    assert inv_mail["status"] == "sent"
    assert inv_mail["attempts"] == 1
    assert inv_mail["message_id"] == str(mails_for(server, gh_done.inv)[0][1]["Message-ID"])
    assert reminder["status"] == "cancelled"
    assert reminder["sent_at"] is None
    created = parse_time(doc["created_at"])
    delay = parse_time(reminder["scheduled_at"]) - created
    assert abs(delay.total_seconds() - 3 * 86400) < 60
    assert "ada@example.org" not in json.dumps(emails)


def test_invitation_email_scheduled_at_not_after_sent_at(
    server: Server, gh_done: Completed
) -> None:
    inv_mail = server.api("GET", f"/v1/invitations/{gh_done.inv}").json()["emails"][0]
    assert parse_time(inv_mail["scheduled_at"]) <= parse_time(inv_mail["sent_at"])


def test_patch_retried_until_one_success(
    server: Server, gh_receiver: Receiver, gh_done: Completed
) -> None:
    got = wait_for(
        lambda: [r for r in gh_receiver.matching(gh_done.path) if r["status"] == 200],
        what="a successful PATCH",
    )
    time.sleep(2)
    all_calls = gh_receiver.matching(gh_done.path)
    assert [r["status"] for r in all_calls] == [500, 500, 200]
    assert len(got) == 1
    for r in all_calls:
        assert r["method"] == "PATCH"
        assert r["body"] == b""
        assert r["headers"]["authorization"] == basic(GH_KEY)["Authorization"]


def test_status_complete_contract(server: Server, gh_done: Completed) -> None:
    r = status_of(server, gh_done.inv)
    assert r.status == 200
    st = r.json()
    assert list(st) == ["partner_status", "partner_profile_url", "partner_score", "metadata"]
    assert st["partner_status"] == "complete"
    doc = server.api("GET", f"/v1/invitations/{gh_done.inv}").json()
    fit = doc["result"]["fit"]
    score = st["partner_score"]
    assert isinstance(score, float | int)
    assert not isinstance(score, bool)
    assert 0 <= score <= 100
    assert one_decimal(float(score))
    assert str(score) in json.dumps(fit) or round(float(score), 1) == score
    meta = st["metadata"]
    assert isinstance(meta, dict)
    for k, v in meta.items():
        assert isinstance(k, str)
        assert isinstance(v, str | int | float)
        assert not isinstance(v, bool)
    keys = list(meta)
    assert keys[-1] == "Questionnaire"
    assert meta["Questionnaire"] == f"rep-types {doc['questionnaire_version']}"
    assert meta["Response quality"] in ("valid", "flagged")
    assert ("Quality flags" in meta) == (meta["Response quality"] == "flagged")
    scale_keys = [k for k in keys if k.endswith(" (0-100)")]
    assert scale_keys == [f"{n} (0-100)" for n in TYPE_NAMES]
    for k in scale_keys:
        assert 0 <= meta[k] <= 100
        assert one_decimal(float(meta[k]))
    assert not any(k.startswith("SJT ") for k in keys)
    head = [k for k in keys if k in ("Primary type", "Secondary type", "Response quality")]
    assert keys[: len(head)] == head
    if "Primary type" in meta:
        assert meta["Primary type"] in TYPE_NAMES


def test_profile_url_opens_report_without_key(server: Server, gh_done: Completed) -> None:
    url = status_of(server, gh_done.inv).json()["partner_profile_url"]
    m = re.fullmatch(re.escape(server.base) + r"/reports/(inv_[0-9a-f]{24})\.(\d+)\.([\w-]+)", url)
    assert m, url
    assert m.group(1) == gh_done.inv
    expires = int(m.group(2))
    assert abs(expires - (gh_done.completed_at.timestamp() + 30 * 86400)) < 5
    path = urllib.parse.urlsplit(url).path
    r = request(server.base, "GET", path)
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-robots-tag"] == "noindex, nofollow"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    pdf = request(server.base, "GET", path + "?format=pdf")
    assert pdf.status == 200
    assert pdf.body.startswith(b"%PDF")
    assert request(server.base, "GET", path + "?format=xml").status == 400


def test_tampered_report_links_are_404(server: Server, gh_done: Completed) -> None:
    url = status_of(server, gh_done.inv).json()["partner_profile_url"]
    path = urllib.parse.urlsplit(url).path
    inv, exp, sig = path.rsplit("/", 1)[1].split(".", 2)
    bad_sig = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    variants = [
        f"/reports/{inv}.{exp}.{bad_sig}",
        f"/reports/{inv}.{int(exp) + 1}.{sig}",
        f"/reports/inv_000000000000000000000000.{exp}.{sig}",
        f"/reports/{inv}.{int(time.time()) - 10}.{sig}",
        "/reports/garbage",
    ]
    bodies = set()
    for v in variants:
        r = request(server.base, "GET", v)
        assert r.status == 404, v
        bodies.add(r.body)
    assert len(bodies) == 1


def test_report_link_of_unfinished_invitation_is_404(server: Server) -> None:
    r = order(server, "general-frontline", "unfin@example.org", "http://127.0.0.1:9/gh/unfin")
    inv = r.json()["partner_interview_id"]
    assert server.api("POST", f"/v1/invitations/{inv}/report-link").status == 409


def test_completed_link_shows_thank_you_and_no_more_mail(
    server: Server, gh_done: Completed
) -> None:
    page = Candidate(server.base).get(urllib.parse.urlsplit(gh_done.link).path)
    assert page.status == 200
    assert len(mails_for(server, gh_done.inv)) == 1


def test_fresh_report_link(server: Server, gh_done: Completed) -> None:
    r = server.api("POST", f"/v1/invitations/{gh_done.inv}/report-link", {"days": 1})
    assert r.status == 200, r.text
    body = r.json()
    assert set(body) == {"result_url", "expires_at"}
    expires = parse_time(body["expires_at"])
    assert abs(expires.timestamp() - (time.time() + 86400)) < 60
    m = re.fullmatch(r".*/reports/inv_[0-9a-f]{24}\.(\d+)\.[\w-]+", body["result_url"])
    assert m
    assert abs(int(m.group(1)) - expires.timestamp()) < 2
    assert request(server.base, "GET", urllib.parse.urlsplit(body["result_url"]).path).status == 200
    for days in (0, 367):
        bad = server.api("POST", f"/v1/invitations/{gh_done.inv}/report-link", {"days": days})
        assert bad.status == 422
    doc = server.api("GET", f"/v1/invitations/{gh_done.inv}").json()
    assert doc["result_url"].startswith(server.base + "/reports/" + gh_done.inv + ".")


# ---------------------------------------------------------------- response_error


def test_response_error_accepts_object(server: Server) -> None:
    r = server.gh("POST", "response_error", {"partner_interview_id": "inv_x", "error": "bad score"})
    assert r.status == 200
    assert r.json() == {}
    wait_for(lambda: "inv_x" in server.log(), 5, "the WARNING log")
    assert "WARNING" in server.log()


def test_response_error_rejects_non_object_and_large(server: Server) -> None:
    assert server.gh("POST", "response_error", [1, 2]).status == 422
    big = {"partner_interview_id": "inv_y", "pad": "x" * 70_000}
    assert server.gh("POST", "response_error", big).status == 413


# ---------------------------------------------------------------- SJT metadata


def test_sjt_test_metadata_has_sjt_competencies(server: Server, gh_receiver: Receiver) -> None:
    r = order(server, "general-frontline-sjt", "sjt@example.org", gh_receiver.base + "/gh/sjt")
    assert r.status == 200, r.text
    inv = r.json()["partner_interview_id"]
    msg = wait_for(lambda: mails_for(server, inv), what="mail")[0][1]
    Candidate(server.base).complete(link_in(server, msg), pick=1)
    st = status_of(server, inv).json()
    assert st["partner_status"] == "complete"
    meta = st["metadata"]
    keys = list(meta)
    sjt = [k for k in keys if k.startswith("SJT ") and k.endswith(" (0-100)")]
    assert len(sjt) >= 1
    types = [k for k in keys if k in {f"{n} (0-100)" for n in TYPE_NAMES}]
    assert keys.index(types[-1]) < keys.index(sjt[0])
    assert keys.index(sjt[-1]) < keys.index("Questionnaire")
    assert meta["Questionnaire"].startswith("rep-hiring ")
    for k in sjt:
        assert 0 <= meta[k] <= 100
        assert one_decimal(float(meta[k]))


# ---------------------------------------------------------------- generic push


def test_generic_push_has_ats_result(server: Server) -> None:
    hook = Receiver().start()
    try:
        r = server.api(
            "POST",
            "/v1/invitations",
            {
                "candidate_id": "A-1234",
                "questionnaire": "rep-types",
                "roles": ["escalations", "general-frontline"],
                "callback_url": hook.base + "/hooks/repprofile",
                "candidate_email": "hr@example.org",
                "candidate_name": "Hal",
            },
        )
        assert r.status == 201, r.text
        inv = r.json()["invitation_id"]
        link = r.json()["url"]
        mail = wait_for(lambda: mails_for(server, inv), 10, "the invitation email")
        Candidate(server.base).complete(link, pick=2)
        req = wait_for(lambda: hook.matching("/hooks/repprofile"), what="the push")[0]
        body = req["body"]
        assert verified(req["headers"].get("repprofile-signature"), body)
        assert req["headers"]["repprofile-event-id"].isdigit()
        event = json.loads(body)
        assert event["event"] == "invitation.completed"
        assert event["invitation_id"] == inv
        assert event["candidate_id"] == "A-1234"
        assert set(event["result"]) == {"score", "fit"}
        block = event["ats_result"]
        assert set(block) == {
            "status",
            "completed_at",
            "score",
            "max_score",
            "result_url",
            "attributes",
        }
        assert block["status"] == "COMPLETED"
        assert block["max_score"] == 100
        doc = server.api("GET", f"/v1/invitations/{inv}").json()
        assert parse_time(block["completed_at"]) == parse_time(doc["completed_at"])
        assert block["completed_at"].endswith("Z") or block["completed_at"].endswith("+00:00")
        assert isinstance(block["score"], float | int)
        assert 0 <= block["score"] <= 100
        assert one_decimal(float(block["score"]))
        attrs = block["attributes"]
        assert [a["label"] for a in attrs] == TYPE_NAMES
        assert [a["id"] for a in attrs] == [n.lower().replace(" ", "-") for n in TYPE_NAMES] or [
            a["id"] for a in attrs
        ] == [n.lower().replace(" ", "_") for n in TYPE_NAMES]
        for a in attrs:
            assert set(a) == {"type", "id", "label", "score"}
            assert a["type"] == "SUB_RESULT"
            assert set(a["score"]) == {"value", "max"}
            assert a["score"]["max"] == 100
            assert 0 <= a["score"]["value"] <= 100
            assert one_decimal(float(a["score"]["value"]))
        url = block["result_url"]
        assert url.startswith(server.base + "/reports/" + inv + ".")
        exp = int(url.rsplit("/", 1)[1].split(".")[1])
        assert abs(exp - (parse_time(block["completed_at"]).timestamp() + 30 * 86400)) < 5
        page = request(server.base, "GET", urllib.parse.urlsplit(url).path)
        assert page.status == 200
        assert page.headers["content-type"].startswith("text/html")
        # the push's score is the fit for the first role; Greenhouse-style metadata agrees
        assert len(hook.matching("/hooks/repprofile")) == 1
        # email to an API invitation: greeting by name, then none after completion
        time.sleep(1)
        assert len(mails_for(server, inv)) == 1
        assert "Hal" in text_body(mail[0][1])
        assert mail[0][1]["To"] == "Hal <hr@example.org>"
        # erasure revokes the link
        assert server.api("DELETE", f"/v1/invitations/{inv}").status == 200
        assert request(server.base, "GET", urllib.parse.urlsplit(url).path).status == 404
    finally:
        hook.stop()


def test_push_without_role_has_null_score_and_url(server: Server) -> None:
    hook = Receiver().start()
    try:
        r = server.api(
            "POST",
            "/v1/invitations",
            {
                "candidate_id": "B-1",
                "questionnaire": "rep-types",
                "callback_url": hook.base + "/hooks/norole",
            },
        )
        assert r.status == 201, r.text
        Candidate(server.base).complete(r.json()["url"])
        req = wait_for(lambda: hook.matching("/hooks/norole"), what="the push")[0]
        assert verified(req["headers"].get("repprofile-signature"), req["body"])
        block = json.loads(req["body"])["ats_result"]
        assert block["score"] is None
        assert block["result_url"] is None
        assert block["status"] == "COMPLETED"
        assert len(block["attributes"]) == 7
    finally:
        hook.stop()


# ---------------------------------------------------------------- erasure


def test_erasure_revokes_links_and_status(server: Server, gh_receiver: Receiver) -> None:
    r = order(server, "retention", "erase@example.org", gh_receiver.base + "/gh/erase")
    inv = r.json()["partner_interview_id"]
    msg = wait_for(lambda: mails_for(server, inv), what="mail")[0][1]
    link = link_in(server, msg)
    Candidate(server.base).complete(link)
    url = status_of(server, inv).json()["partner_profile_url"]
    fresh = server.api("POST", f"/v1/invitations/{inv}/report-link").json()["result_url"]
    for u in (url, fresh):
        assert request(server.base, "GET", urllib.parse.urlsplit(u).path).status == 200
    assert server.api("DELETE", f"/v1/invitations/{inv}").status == 200
    for u in (url, fresh):
        assert request(server.base, "GET", urllib.parse.urlsplit(u).path).status == 404
    assert server.api("POST", f"/v1/invitations/{inv}/report-link").status == 404
    st = status_of(server, inv)
    assert st.status == 200
    assert st.json() == {
        "partner_status": "erased",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }
    assert Candidate(server.base).get(urllib.parse.urlsplit(link).path).status == 404


def test_log_holds_no_keys_links_or_addresses(server: Server, gh_done: Completed) -> None:
    log = server.log()
    token = gh_done.link.rsplit("/", 1)[1]
    for secret in (GH_KEY, API_KEY, token, "ada@example.org", "Lovelace"):
        assert secret not in log
    assert "/reports/inv_" not in log


# ---------------------------------------------------------------- real SMTP


def test_smtp_refused_once_then_exactly_one_message_after_restart(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []
    attempts: list[int] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            attempts.append(1)
            if len(attempts) == 1:
                return "451 4.3.0 try again later"
            received.append(envelope.content)
            return "250 OK"

    smtp_port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=smtp_port)
    ctl.start()
    port = free_port()
    env = {
        "REPPROFILE_SMTP_URL": f"smtp+plain://127.0.0.1:{smtp_port}",
        "REPPROFILE_WEBHOOK_BACKOFF": "3",
    }
    try:
        srv = start_server(tmp_path, env, dry_run=False, port=port)
        try:
            r = order(srv, "general-frontline", "smtp@example.org", "http://127.0.0.1:9/gh/smtp")
            assert r.status == 200, r.text
            inv = r.json()["partner_interview_id"]
            wait_for(lambda: attempts, what="first SMTP attempt")
        finally:
            stop_server(srv)
        assert received == []
        srv = start_server(tmp_path, env, dry_run=False, port=port)
        try:
            wait_for(lambda: received, what="the message after restart")
            time.sleep(4)
            assert len(received) == 1
            msg = email.message_from_bytes(received[0], policy=email.policy.default)
            assert inv in str(msg["Message-ID"])
            assert msg["To"] == "Ada <smtp@example.org>"
            doc = srv.api("GET", f"/v1/invitations/{inv}").json()
            first = doc["emails"][0]
            assert first["status"] == "sent"
            assert first["attempts"] == 2
            assert first["message_id"] == str(msg["Message-ID"])
        finally:
            stop_server(srv)
    finally:
        ctl.stop()


# ---------------------------------------------------------------- keys and configuration


@pytest.mark.parametrize(
    "keys",
    [f"{GH_KEY},short", f"{GH_KEY},has:colon-0123456789abc", f"{GH_KEY}," + "k" * 171],
    ids=["short", "colon", "too-long"],
)
def test_bad_greenhouse_key_stops_server_without_naming_it(tmp_path: Path, keys: str) -> None:
    with pytest.raises(AssertionError, match="server exited") as info:
        start_server(tmp_path, {"REPPROFILE_GREENHOUSE_KEYS": keys})
    message = str(info.value)
    bad = keys.split(",")[1]
    assert bad not in message
    assert "REPPROFILE_GREENHOUSE_KEYS" in message
    assert "2" in message


def test_api_keys_open_greenhouse_endpoints_without_greenhouse_keys(tmp_path: Path) -> None:
    srv = start_server(tmp_path, {"REPPROFILE_GREENHOUSE_KEYS": ""})
    try:
        r = srv.gh("GET", "list_tests", key=API_KEY)
        assert r.status == 200
        assert isinstance(r.json(), list)
        assert srv.gh("GET", "list_tests", key=GH_KEY).status == 401
    finally:
        stop_server(srv)


def test_greenhouse_keys_set_means_api_key_is_not_a_greenhouse_key(server: Server) -> None:
    # docs/ats.md: "Without that variable, the server's API keys ... are accepted"
    assert server.gh("GET", "list_tests", key=API_KEY).status == 401


# ---------------------------------------------------------------- access log


def test_access_log_rows(server: Server, gh_done: Completed) -> None:
    import sqlite3

    url = status_of(server, gh_done.inv).json()["partner_profile_url"]
    path = urllib.parse.urlsplit(url).path
    assert request(server.base, "GET", path + "?format=pdf").status == 200
    assert request(server.base, "GET", path).status == 200
    order(server, "general-frontline", "ada@example.org", "http://127.0.0.1:9/gh/al")
    order(server, "general-frontline", "ada@example.org", "http://127.0.0.1:9/gh/al")
    server.gh("POST", "response_error", {"partner_interview_id": gh_done.inv})
    db = server.log_path.parent / "data" / "repprofile.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cur = con.execute("SELECT * FROM access_log")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()
    actor = "greenhouse:" + hashlib.sha256(GH_KEY.encode()).hexdigest()[:12]
    actions = {(r["actor"], r["action"]) for r in rows}
    for action in (
        "invitation.create",
        "greenhouse.send_test.repeat",
        "greenhouse.test_status",
        "greenhouse.response_error",
    ):
        assert (actor, action) in actions, action
    assert not any(r["action"] == "greenhouse.list_tests" for r in rows)
    link_rows = [r for r in rows if r["action"] == "report.link"]
    assert any("pdf" in str(r.get("detail")) for r in link_rows)
    assert any("html" in str(r.get("detail")) for r in link_rows)
    assert link_rows, rows[-5:]
    dump = json.dumps(rows, default=str)
    assert GH_KEY not in dump
    assert "ada@example.org" not in dump


# ---------------------------------------------------------------- templates


def test_own_text_template_is_used(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "invitation.txt").write_text(
        "CUSTOM {{ kind }} for {{ name }}: {{ link }} until {{ expires }}\n"
    )
    srv = start_server(tmp_path, {"REPPROFILE_EMAIL_TEMPLATES": str(tpl)})
    try:
        r = order(srv, "general-frontline", "tpl@example.org", "http://127.0.0.1:9/gh/tpl")
        inv = r.json()["partner_interview_id"]
        msg = wait_for(lambda: mails_for(srv, inv), what="mail")[0][1]
        text = text_body(msg)
        assert text.startswith("CUSTOM invitation for Ada: " + srv.base + "/take/")
        assert text.rstrip().endswith("UTC")
        assert "Start the assessment" in html_body(msg)
    finally:
        stop_server(srv)


def test_template_that_does_not_parse_stops_server(tmp_path: Path) -> None:
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "reminder.html").write_text("{% if %}broken")
    with pytest.raises(AssertionError, match="server exited") as info:
        start_server(tmp_path, {"REPPROFILE_EMAIL_TEMPLATES": str(tpl)})
    assert "reminder.html" in str(info.value)


# ---------------------------------------------------------------- more edges


def test_api_invitation_is_not_visible_through_test_status(server: Server) -> None:
    r = server.api("POST", "/v1/invitations", {"candidate_id": "C-9", "questionnaire": "rep-types"})
    assert r.status == 201
    st = status_of(server, r.json()["invitation_id"])
    assert st.status == 404
    assert st.json()["code"] == "not_found"


def test_send_test_ignores_unknown_fields_and_needs_no_first_name(server: Server) -> None:
    r = server.gh(
        "POST",
        "send_test",
        {
            "partner_test_id": "retention",
            "candidate": {"email": "noname@example.org", "middle_name": "X"},
            "url": "http://127.0.0.1:9/gh/noname",
            "extra": {"anything": [1, 2]},
        },
    )
    assert r.status == 200, r.text
    inv = r.json()["partner_interview_id"]
    msg = wait_for(lambda: mails_for(server, inv), what="mail")[0][1]
    assert msg["To"] == "noname@example.org"
    assert "Hello," in text_body(msg) or "Hello\n" in text_body(msg)


def test_send_test_not_json_is_422(server: Server) -> None:
    r = request(
        server.base,
        "POST",
        "/integrations/greenhouse/send_test",
        body=b"not json",
        headers={**basic(GH_KEY), "Content-Type": "application/json"},
    )
    assert r.status == 422


def _order_named(server: Server, name: str, addr: str) -> tuple[Path, EmailMessage]:
    r = server.gh(
        "POST",
        "send_test",
        {
            "partner_test_id": "retention",
            "candidate": {"first_name": name, "email": addr},
            "url": "http://127.0.0.1:9/gh/" + addr,
        },
    )
    assert r.status == 200, r.text
    inv = r.json()["partner_interview_id"]
    found: tuple[Path, EmailMessage] = wait_for(lambda: mails_for(server, inv), what="mail")[0]
    return found


def test_name_cannot_inject_headers(server: Server) -> None:
    path, msg = _order_named(server, "Eve\r\nBcc: evil@example.net", "eve@example.org")
    assert msg["Bcc"] is None
    head = path.read_bytes().split(b"\n\n", 1)[0]
    assert b"evil@example.net" not in head
    assert str(msg["To"]).endswith("eve@example.org") or msg["To"] == "eve@example.org"


def test_name_is_escaped_in_html(server: Server) -> None:
    _, msg = _order_named(server, "<i>Mal</i>", "mal@example.org")
    body = html_body(msg)
    assert "<i>Mal</i>" not in body
    # the name is escaped, or (undocumented, but safe) dropped from the greeting
    assert "&lt;i&gt;Mal&lt;/i&gt;" in body or "Hello,</p>" in body


@pytest.mark.parametrize("name", ["José", "O'Brien", "Anne-Marie", "李", "Zoë Ann"])
def test_ordinary_first_names_are_greeted(server: Server, name: str) -> None:
    addr = "n" + hashlib.sha256(name.encode()).hexdigest()[:10] + "@example.org"
    _, msg = _order_named(server, name, addr)
    assert f"Hello {name}," in text_body(msg)
    assert name in str(msg["To"])


def test_no_reminder_when_it_would_fall_after_expiry(tmp_path: Path) -> None:
    cfg = tmp_path / "ats.yaml"
    cfg.write_text(
        "tests:\n  - id: short\n    name: Short\n    questionnaire: rep-types\n"
        "    role: general-frontline\n    expires_in_days: 2\n"
    )
    srv = start_server(tmp_path, {"REPPROFILE_ATS_CONFIG": str(cfg)})
    try:
        r = order(srv, "short", "short@example.org", "http://127.0.0.1:9/gh/short")
        inv = r.json()["partner_interview_id"]
        wait_for(lambda: mails_for(srv, inv), what="mail")
        emails = srv.api("GET", f"/v1/invitations/{inv}").json()["emails"]
        assert [e["kind"] for e in emails] == ["invitation"]
    finally:
        stop_server(srv)


def test_reminder_days_zero_means_no_reminder(tmp_path: Path) -> None:
    srv = start_server(tmp_path, {"REPPROFILE_REMINDER_DAYS": "0"})
    try:
        r = order(srv, "retention", "zero@example.org", "http://127.0.0.1:9/gh/zero")
        inv = r.json()["partner_interview_id"]
        wait_for(lambda: mails_for(srv, inv), what="mail")
        emails = srv.api("GET", f"/v1/invitations/{inv}").json()["emails"]
        assert [e["kind"] for e in emails] == ["invitation"]
    finally:
        stop_server(srv)


def test_erased_before_sending_sends_nothing(tmp_path: Path) -> None:
    # a failing SMTP relay (nothing listens) keeps the message queued; erasure cancels it
    port = free_port()
    srv = start_server(
        tmp_path, {"REPPROFILE_SMTP_URL": f"smtp+plain://127.0.0.1:{port}"}, dry_run=False
    )
    try:
        r = order(srv, "retention", "gone@example.org", "http://127.0.0.1:9/gh/gone")
        assert r.status == 200, r.text
        inv = r.json()["partner_interview_id"]
        assert srv.api("DELETE", f"/v1/invitations/{inv}").status == 200
        doc = srv.api("GET", f"/v1/invitations/{inv}")
        assert doc.status == 200
        emails = doc.json().get("emails") or []
        assert all(e["status"] != "queued" for e in emails)
        assert "gone@example.org" not in doc.text
    finally:
        stop_server(srv)


# ---------------------------------------------------------------- SMTP with TLS


class _Store:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


def test_smtp_without_starttls_is_refused(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    store = _Store()
    port = free_port()
    ctl = Controller(store, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        srv = start_server(
            tmp_path, {"REPPROFILE_SMTP_URL": f"smtp://127.0.0.1:{port}"}, dry_run=False
        )
        try:
            r = order(srv, "retention", "tls@example.org", "http://127.0.0.1:9/gh/tls")
            assert r.status == 200, r.text
            inv = r.json()["partner_interview_id"]
            wait_for(
                lambda: srv.api("GET", f"/v1/invitations/{inv}").json()["emails"][0]["attempts"],
                what="an attempt",
            )
            time.sleep(0.5)
            assert store.messages == []
            first = srv.api("GET", f"/v1/invitations/{inv}").json()["emails"][0]
            assert first["status"] in ("queued", "failed")
            assert first["sent_at"] is None
            assert "tls@example.org" not in srv.log()
        finally:
            stop_server(srv)
    finally:
        ctl.stop()


def test_smtp_starttls_with_credentials(tmp_path: Path) -> None:
    import ssl

    import trustme
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    logins: list[tuple[bytes, bytes]] = []

    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            logins.append((data.login, data.password))
            ok = data.login == b"mailer" and data.password == b"p@ss word"
            return AuthResult(success=ok)
        return AuthResult(success=False)

    store = _Store()
    port = free_port()
    ctl = Controller(
        store,
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        authenticator=auth,
        auth_require_tls=True,
    )
    ctl.start()
    try:
        env = {
            "REPPROFILE_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "REPPROFILE_SMTP_USERNAME": "mailer",
            "REPPROFILE_SMTP_PASSWORD": "p@ss word",
            "REPPROFILE_SMTP_CAFILE": str(ca_file),
            "REPPROFILE_MAIL_FROM": "Hiring <hiring@example.com>",
        }
        srv = start_server(tmp_path, env, dry_run=False)
        try:
            r = order(srv, "retention", "tls2@example.org", "http://127.0.0.1:9/gh/tls2")
            assert r.status == 200, r.text
            wait_for(lambda: store.messages, what="the message over STARTTLS")
            assert logins == [(b"mailer", b"p@ss word")]
            msg = email.message_from_bytes(store.messages[0], policy=email.policy.default)
            assert msg["From"] == "Hiring <hiring@example.com>"
            assert msg["To"] == "Ada <tls2@example.org>"
            assert "p@ss word" not in srv.log()
        finally:
            stop_server(srv)
    finally:
        ctl.stop()


def test_patch_given_up_with_error_log(server: Server) -> None:
    rec = Receiver(fail=1000).start()
    try:
        r = order(server, "retention", "giveup@example.org", rec.base + "/gh/giveup")
        inv = r.json()["partner_interview_id"]
        msg = wait_for(lambda: mails_for(server, inv), what="mail")[0][1]
        Candidate(server.base).complete(link_in(server, msg))
        # REPPROFILE_WEBHOOK_MAX_ATTEMPTS=6, backoff 0.2 s doubling: about 6 s in all
        wait_for(lambda: len(rec.matching("/gh/giveup")) >= 6, 40, "six attempts")
        time.sleep(3)
        assert len(rec.matching("/gh/giveup")) == 6
        errors = [ln for ln in server.log().splitlines() if "ERROR" in ln and "500" in ln]
        assert errors, server.log()[-3000:]
        assert "/gh/giveup" not in "\n".join(errors)
        assert status_of(server, inv).json()["partner_status"] == "complete"
    finally:
        rec.stop()


def test_link_days_setting_and_new_secret_revokes_links(tmp_path: Path) -> None:
    env = {"REPPROFILE_REPORT_LINK_DAYS": "2"}
    srv = start_server(tmp_path, env)
    port = int(srv.base.rsplit(":", 1)[1])
    try:
        r = order(srv, "retention", "days@example.org", "http://127.0.0.1:9/gh/days")
        inv = r.json()["partner_interview_id"]
        msg = wait_for(lambda: mails_for(srv, inv), what="mail")[0][1]
        Candidate(srv.base).complete(link_in(srv, msg))
        url = status_of(srv, inv).json()["partner_profile_url"]
        doc = srv.api("GET", f"/v1/invitations/{inv}").json()
        exp = int(url.rsplit("/", 1)[1].split(".")[1])
        assert abs(exp - (parse_time(doc["completed_at"]).timestamp() + 2 * 86400)) < 5
        assert request(srv.base, "GET", urllib.parse.urlsplit(url).path).status == 200
    finally:
        stop_server(srv)
    srv = start_server(tmp_path, {**env, "REPPROFILE_SECRET_KEY": "cd" * 32}, port=port)
    try:
        assert request(srv.base, "GET", urllib.parse.urlsplit(url).path).status == 404
        new = status_of(srv, inv).json()["partner_profile_url"]
        assert new != url
        assert request(srv.base, "GET", urllib.parse.urlsplit(new).path).status == 200
    finally:
        stop_server(srv)


def test_link_days_above_366_refused(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="server exited") as info:
        start_server(tmp_path, {"REPPROFILE_REPORT_LINK_DAYS": "367"})
    assert "report_link_days" in str(info.value).lower()
    assert "366" in str(info.value)


def test_repeat_of_completed_order_answers_same_id(
    server: Server, gh_receiver: Receiver, gh_done: Completed
) -> None:
    r = order(server, "general-frontline", "ada@example.org", gh_receiver.base + gh_done.path)
    assert r.status == 200
    assert r.json() == {"partner_interview_id": gh_done.inv}
    time.sleep(1)
    assert len(mails_for(server, gh_done.inv)) == 1


def test_patch_for_removed_key_is_given_up(tmp_path: Path) -> None:
    rec = Receiver().start()
    try:
        srv = start_server(tmp_path, {})
        port = int(srv.base.rsplit(":", 1)[1])
        try:
            r = order(srv, "retention", "rot@example.org", rec.base + "/gh/rot", key=GH_KEY2)
            inv = r.json()["partner_interview_id"]
            link = link_in(srv, wait_for(lambda: mails_for(srv, inv), what="mail")[0][1])
        finally:
            stop_server(srv)
        srv = start_server(tmp_path, {"REPPROFILE_GREENHOUSE_KEYS": GH_KEY}, port=port)
        try:
            Candidate(srv.base).complete(link)
            wait_for(
                lambda: any(
                    "ERROR" in ln and "given up" in ln and "no longer configured" in ln
                    for ln in srv.log().splitlines()
                ),
                15,
                "an ERROR log for the PATCH",
            )
            time.sleep(1)
            assert rec.matching("/gh/rot") == []
            assert GH_KEY2 not in srv.log()
        finally:
            stop_server(srv)
    finally:
        rec.stop()
