"""Security and robustness review of the candidate web assessment (issue 17, item 6):
tokens out of logs and out of the database, the security headers on every candidate
response (errors and ``--root-path`` included), CSRF bound to the invitation, GET
changing nothing, answers refused once the invitation is closed, even when it closes
between the check and the write, erasure, and the token-guessing limit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient
from sqlalchemy import select, text

import repprofile.web._pages as pages_module
from repprofile.server import ServerSettings
from repprofile.server._transport import NoQueryFilter, mask_token
from repprofile.web._app import create_web_app
from repprofile.web._db import AccessLog, Invitation, Outbox, make_engine, upgrade
from repprofile.web._settings import WebSettings
from repprofile.web._store import AnswerIn as In
from repprofile.web._store import ClosedError, find_by_token, save_answers
from tests.test_web_pages import AUTH, KEY, Inputs, Site, _site, _start, _take_all

TAKE_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    """The site on a fresh database: SQLite and PostgreSQL (tests/conftest.py's db_url)."""
    yield from _site(db_url)


def _db(tmp_path: Path) -> str:
    """A fresh, upgraded SQLite database in ``tmp_path``."""
    from repprofile.web._db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _assert_take_headers(r: Any) -> None:
    assert r.headers.get("content-security-policy", "").startswith("default-src 'self'"), (
        r.status_code,
        dict(r.headers),
    )
    for name, value in TAKE_HEADERS.items():
        assert r.headers.get(name) == value, (name, r.status_code, dict(r.headers))


def _csrf(site: Site, token: str) -> str:
    where = _start(site, token)
    return Inputs(site.client.get(where).text).hidden["csrf"]


def _save(site: Site, token: str, csrf: str, item: str = "ctl01", value: str = "4") -> Any:
    body = {"answers": [{"item": item, "value": value, "seconds": 2.0}], "page": 1}
    return site.client.post(f"/take/{token}/answers", json=body, headers={"X-CSRF-Token": csrf})


# ------------------------------------------------------------------ headers


def test_a_500_under_take_carries_the_candidate_headers(site: Site) -> None:
    """Starlette's ServerErrorMiddleware answers a failure outside the app's own
    middleware: the 500 must still carry CSP, X-Frame-Options and Referrer-Policy."""
    _, token = site.invite()
    where = _start(site, token)
    site.client.raise_server_exceptions = False  # type: ignore[attr-defined]
    with mock.patch.object(pages_module.Pages, "render_page", side_effect=RuntimeError("x")):
        r = site.client.get(where)
    assert r.status_code == 500
    _assert_take_headers(r)


def test_every_error_status_under_take_carries_the_headers(tmp_path: Path) -> None:
    for s in _site(_db(tmp_path), token_guess_limit=2):
        inv_id, token = s.invite()
        csrf = _csrf(s, token)
        bad = {"answers": [{"item": "ctl01", "value": "9"}]}
        responses = {
            "422": s.client.post(
                f"/take/{token}/answers", json=bad, headers={"X-CSRF-Token": csrf}
            ),
            "403": _save(s, token, "0" * 64),
            "405": s.client.put(f"/take/{token}/answers"),
        }
        s.client.post(f"/v1/invitations/{inv_id}/withdraw", headers=AUTH)
        responses["410"] = s.client.get(f"/take/{token}/page/1")
        responses["410 json"] = _save(s, token, csrf)
        responses["404"] = s.client.get("/take/AAAAAAAAAAAAAAAAAAAAAA")
        responses["404 json"] = _save(s, "BBBBBBBBBBBBBBBBBBBBBB", csrf)
        responses["429"] = s.client.get("/take/CCCCCCCCCCCCCCCCCCCCCC")
        responses["429 json"] = _save(s, "CCCCCCCCCCCCCCCCCCCCCC", csrf)
        for name, r in responses.items():
            assert str(r.status_code) == name.split()[0], (name, r.status_code)
            _assert_take_headers(r)


def test_headers_behind_a_root_path(tmp_path: Path) -> None:
    """uvicorn --root-path /assess: scope["path"] is /assess/take/TOKEN; the candidate's
    pages must still get their headers."""
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade(engine)
    ws = WebSettings(data_dir=tmp_path, secure_cookies=False)
    app = create_web_app(ServerSettings(api_keys=(KEY,)), ws, engine=engine)
    try:
        with TestClient(app, root_path="/assess", follow_redirects=False) as client:
            r = client.post(
                "/assess/v1/invitations",
                json={"candidate_id": "c", "questionnaire": "rep-types", "roles": []},
                headers=AUTH,
            )
            assert r.status_code == 201, r.text
            token = r.json()["url"].rsplit("/take/", 1)[1]
            page = client.get(f"/assess/take/{token}")
            assert page.status_code == 200
            assert "privacy" in page.text.lower()
            _assert_take_headers(page)
            _assert_take_headers(client.get("/assess/take/AAAAAAAAAAAAAAAAAAAAAA"))
    finally:
        engine.dispose()


# ------------------------------------------------------------------ logs


def test_access_log_filter_hides_the_token_behind_a_root_path() -> None:
    rec = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.1:5", "POST", "/assess/take/SeCrEtToKeN_123/answers?x=1", "1.1", 200),
        None,
    )
    NoQueryFilter().filter(rec)
    assert rec.getMessage() == '10.0.0.1:5 - "POST /assess/take/***/answers HTTP/1.1" 200'
    assert mask_token("/take/SeCrEt") == "/take/***"
    assert mask_token("/v1/invitations?x=SeCrEt") == "/v1/invitations"


def test_a_failure_is_logged_without_token_or_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure while saving: the server's log names the exception type and frames, never
    the token, the answer value or the exception's message (which could quote them)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade(engine)
    ws = WebSettings(data_dir=tmp_path, secure_cookies=False)
    app = create_web_app(ServerSettings(api_keys=(KEY,)), ws, engine=engine)
    try:
        with TestClient(app, root_path="/assess", follow_redirects=False) as client:
            client.raise_server_exceptions = False  # type: ignore[attr-defined]
            s = Site(client, engine)
            r = client.post(
                "/assess/v1/invitations",
                json={"candidate_id": "c", "questionnaire": "rep-types", "roles": []},
                headers=AUTH,
            )
            token = r.json()["url"].rsplit("/take/", 1)[1]
            page = client.get(f"/assess/take/{token}")
            csrf = Inputs(page.text).hidden["csrf"]
            client.post(f"/assess/take/{token}/start", data={"csrf": csrf, "accept_privacy": "1"})
            secret_value = "answer-value-3"
            boom = RuntimeError(f"cannot save {secret_value} for {token}")
            with (
                caplog.at_level(logging.DEBUG),
                mock.patch.object(pages_module, "save_answers", side_effect=boom),
            ):
                r = client.post(
                    f"/assess/take/{token}/answers",
                    json={"answers": [{"item": "ctl01", "value": "3"}]},
                    headers={"X-CSRF-Token": csrf},
                )
            assert r.status_code == 500
            _assert_take_headers(r)
            assert s is not None
    finally:
        engine.dispose()
    ours = [r for r in caplog.records if not r.name.startswith("httpx")]  # the test's client
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in ours)
    assert "RuntimeError" in logged  # the failure is logged ...
    assert token not in logged  # ... without the token
    assert secret_value not in logged


def test_access_log_detail_and_database_hold_no_token_or_values(site: Site) -> None:
    inv_id, token = site.invite(metadata={"note": "MarkerMetaValue"})
    given, _ = _take_all(site, token, random.Random(5))
    with site.engine.connect() as conn:
        logs = [tuple(map(str, r)) for r in conn.execute(text("SELECT * FROM access_log"))]
        invs = [tuple(map(str, r)) for r in conn.execute(text("SELECT * FROM invitations"))]
        details = [d for (d,) in conn.execute(select(AccessLog.detail)) if d]
    assert details
    assert all(d.endswith(" answer(s)") for d in details)
    assert token not in json.dumps(invs)
    assert token not in json.dumps(logs)
    # erasure: the tombstone keeps ids and dates only
    assert site.client.delete(f"/v1/invitations/{inv_id}", headers=AUTH).status_code == 200
    with site.engine.connect() as conn:
        inv = conn.execute(select(Invitation).where(Invitation.id == inv_id)).one()
        answers = conn.execute(text("SELECT count(*) FROM answers")).scalar()
        results = conn.execute(text("SELECT count(*) FROM results")).scalar()
        outbox = conn.execute(select(Outbox)).all()
    assert (answers, results, outbox) == (0, 0, [])
    assert inv.token_sha256 is None
    assert inv.token_sealed is None
    assert inv.metadata == {}
    assert inv.callback_url is None
    assert inv.status == "erased"
    assert given  # the flow did give answers


# ------------------------------------------------------------------ CSRF, GET


def test_csrf_token_of_one_invitation_does_not_work_for_another(site: Site) -> None:
    inv_a, token_a = site.invite()
    inv_b, token_b = site.invite()
    csrf_a = _csrf(site, token_a)
    _start(site, token_b)
    assert _save(site, token_b, csrf_a).status_code == 403
    r = site.client.post(
        f"/take/{token_b}/page/1", data={"csrf": csrf_a, "ctl01": "3", "nav": "next"}
    )
    assert r.status_code == 403
    assert site.answers(inv_b) == []
    assert _save(site, token_a, csrf_a).status_code == 200
    assert len(site.answers(inv_a)) == 1


def test_get_changes_nothing_but_the_opened_record(site: Site) -> None:
    inv_id, token = site.invite()
    csrf = _csrf(site, token)
    assert _save(site, token, csrf).status_code == 200

    def state() -> tuple[Any, ...]:
        with site.engine.connect() as conn:
            inv = conn.execute(select(Invitation).where(Invitation.id == inv_id)).one()
            logs = conn.execute(text("SELECT count(*) FROM access_log")).scalar()
        answers = [(a.item_id, a.part, a.value, a.seconds) for a in site.answers(inv_id)]
        return (inv.status, inv.page, inv.answered, inv.updated_at, logs, answers)

    before = state()
    for url in (
        f"/take/{token}",
        f"/take/{token}/page/1",
        f"/take/{token}/page/3",
        f"/take/{token}/done",
        f"/take/{token}/page/1?ctl01=1",
    ):
        assert site.client.get(url).status_code in (200, 303)
    assert state() == before


# ------------------------------------------------------------------ closed invitations


@pytest.mark.parametrize("how", ["complete", "withdraw", "erase"])
def test_an_answer_racing_a_close_is_refused_and_not_stored(site: Site, how: str) -> None:
    """The invitation closes between the autosave's status check and its write (a second
    tab finishing, the recruiter withdrawing or erasing): the save is
    refused with the closed status and nothing is stored."""
    inv_id, token = site.invite()
    csrf = _csrf(site, token)
    assert _save(site, token, csrf, "ctl01", "4").status_code == 200
    real = pages_module.refresh_status  # type: ignore[attr-defined]

    def close_meanwhile(s: Any, inv: Invitation) -> bool:
        changed = real(s, inv)  # the handler's check sees the invitation still active
        if how == "erase":
            assert site.client.delete(f"/v1/invitations/{inv_id}", headers=AUTH).status_code == 200
        elif how == "withdraw":
            r = site.client.post(f"/v1/invitations/{inv_id}/withdraw", headers=AUTH)
            assert r.status_code == 200
        else:
            site.set(inv_id, status="completed")
        return changed

    with mock.patch.object(pages_module, "refresh_status", side_effect=close_meanwhile):
        r = _save(site, token, csrf, "acc01", "2")
    expected = {"complete": 409, "withdraw": 410, "erase": 404}[how]
    assert r.status_code == expected, r.text
    _assert_take_headers(r)
    stored = {a.item_id: a.value for a in site.answers(inv_id)}
    assert stored == ({} if how == "erase" else {"ctl01": "4"})


def test_form_post_racing_erasure_stores_nothing(site: Site) -> None:
    inv_id, token = site.invite()
    _start(site, token)
    page = Inputs(site.client.get(f"/take/{token}/page/1").text)
    real = pages_module.refresh_status  # type: ignore[attr-defined]

    def erase_meanwhile(s: Any, inv: Invitation) -> bool:
        changed = real(s, inv)
        assert site.client.delete(f"/v1/invitations/{inv_id}", headers=AUTH).status_code == 200
        return changed

    with mock.patch.object(pages_module, "refresh_status", side_effect=erase_meanwhile):
        r = site.client.post(
            f"/take/{token}/page/1", data={**page.hidden, "ctl01": "3", "nav": "next"}
        )
    assert r.status_code == 404
    assert site.answers(inv_id) == []


def test_save_answers_refuses_a_stale_invitation(site: Site) -> None:
    """The store itself checks the row, not the caller's copy of it."""
    import repprofile

    inv_id, token = site.invite()
    q = repprofile.load_questionnaire("rep-types")
    from sqlalchemy.orm import Session

    with Session(site.engine) as s:
        inv = find_by_token(s, token)
        assert inv is not None
        assert inv.status == "created"
        site.set(inv_id, status="completed")  # another process completed it
        with pytest.raises(ClosedError):
            save_answers(s, inv, q, [In("ctl01", "", "5")])
    assert site.answers(inv_id) == []


def test_a_completed_invitations_answers_cannot_change(site: Site) -> None:
    inv_id, token = site.invite("service-recovery")
    _take_all(site, token, random.Random(2))
    before = {(a.item_id, a.part): a.value for a in site.answers(inv_id)}
    item, part = next(iter(before))
    r = site.client.post(
        f"/take/{token}/answers",
        json={"answers": [{"item": item, "part": part, "value": before[(item, part)]}]},
        headers={"X-CSRF-Token": "x"},
    )
    assert r.status_code == 409
    r = site.client.post(f"/take/{token}/page/1", data={"nav": "next", "csrf": "x"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/take/{token}/done"
    assert {(a.item_id, a.part): a.value for a in site.answers(inv_id)} == before


# ------------------------------------------------------------------ the guessing limit


def _request(host: str, forwarded: str | None = None) -> Any:
    from starlette.requests import Request

    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return Request({"type": "http", "client": (host, 1234), "headers": headers})


def test_reaching_the_guess_limit_is_logged_without_the_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The limit refuses every /take/ request of the address once reached (valid links
    too): the operator must be able to see that it happened, and the log names the
    address, never a token."""
    for s in _site(_db(tmp_path), token_guess_limit=3):
        with caplog.at_level(logging.WARNING, logger="repprofile"):
            tried = [f"Guess{i:017d}" for i in range(5)]
            codes = [s.client.get(f"/take/{t}").status_code for t in tried]
        assert codes == [404, 404, 404, 429, 429]
        warned = [r.getMessage() for r in caplog.records if "token-guessing limit" in r.message]
        assert len(warned) == 1
        assert "testclient" in warned[0]
        assert "3 unknown links" in warned[0]
        assert not any(t in warned[0] for t in tried)


def test_the_limit_counts_an_ipv6_network_as_one_client(site: Site) -> None:
    pages = site.client.app.state.take_pages  # type: ignore[attr-defined]
    a = pages.client(_request("2001:db8:1:2::1"))
    b = pages.client(_request("2001:db8:1:2:ffff::9"))
    c = pages.client(_request("2001:db8:1:3::1"))
    assert a == b == "2001:db8:1:2::/64"
    assert c == "2001:db8:1:3::/64"
    assert pages.client(_request("::ffff:192.0.2.7")) == "192.0.2.7"
    assert pages.client(_request("192.0.2.7")) == "192.0.2.7"


def test_an_untrusted_proxy_is_reported_once(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """Behind a proxy uvicorn does not trust, every candidate has the proxy's address and
    shares one limit: the server says so (once) instead of failing silently."""
    pages = site.client.app.state.take_pages  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="repprofile"):
        # trusted: uvicorn replaced the client with the forwarded address
        assert pages.client(_request("198.51.100.4", "198.51.100.4")) == "198.51.100.4"
        assert not caplog.records
        for _ in range(3):
            assert pages.client(_request("10.0.0.5", "198.51.100.4")) == "10.0.0.5"
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1
    assert "10.0.0.5" in warned[0]
    assert "FORWARDED_ALLOW_IPS" in warned[0]


def test_the_limiter_memory_is_bounded() -> None:
    limiter = pages_module.GuessLimiter(limit=2, max_clients=100)
    for i in range(10_000):
        limiter.miss(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(limiter._misses) == 100
    # the newest addresses are kept, each with its own count
    assert limiter.miss("10.0.39.15") is True  # the 9999th address: its second miss
    assert limiter.blocked("10.0.39.15")
    assert not limiter.blocked("10.0.0.0")  # evicted long ago


# ------------------------------------------------------------------ webhooks


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1/invitations",
        "http://localhost:9000/admin",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0:8000/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_callback_to_a_private_address_is_refused(tmp_path: Path, url: str) -> None:
    for s in _site(_db(tmp_path), webhook_secret="w" * 32):
        body = {"candidate_id": "c", "questionnaire": "rep-types", "roles": [], "callback_url": url}
        r = s.client.post("/v1/invitations", json=body, headers=AUTH)
        assert r.status_code == 422, r.text
        assert "REPPROFILE_WEBHOOK_ALLOW_PRIVATE" in r.text
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM invitations")).scalar() == 0


def test_a_callback_to_a_public_or_allowed_private_address_is_accepted(tmp_path: Path) -> None:
    body = {"candidate_id": "c", "questionnaire": "rep-types", "roles": []}
    for s in _site(_db(tmp_path), webhook_secret="w" * 32):
        public = {**body, "callback_url": "https://93.184.215.14/hook"}
        assert s.client.post("/v1/invitations", json=public, headers=AUTH).status_code == 201
    (tmp_path / "b").mkdir()
    for s in _site(_db(tmp_path / "b"), webhook_secret="w" * 32, webhook_allow_private=True):
        private = {**body, "callback_url": "http://127.0.0.1:9/hook"}
        assert s.client.post("/v1/invitations", json=private, headers=AUTH).status_code == 201


def test_allow_private_round_trips_through_the_environment() -> None:
    ws = WebSettings(webhook_allow_private=True)
    assert ws.to_env()["REPPROFILE_WEBHOOK_ALLOW_PRIVATE"] == "1"
    assert WebSettings.from_env(ws.to_env()).webhook_allow_private is True
    assert WebSettings.from_env({}).webhook_allow_private is False


def test_the_signature_covers_timestamp_and_body() -> None:
    import hashlib
    import hmac

    from repprofile.web._outbox import sign, verify

    body = b'{"event":"invitation.completed","invitation_id":"inv_1"}'
    header = sign("s3cret", 1_700_000_000, body)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("s3cret", header, body, now=1_700_000_010)
    assert not verify("s3cret", header, body + b" ", now=1_700_000_010)
    forged_time = header.replace("t=1700000000", "t=1700000100")
    assert not verify("s3cret", forged_time, body, now=1_700_000_100)


# ------------------------------------------------------------------ two workers on PostgreSQL


class _Receiver:
    """A webhook receiver on 127.0.0.1: answers 500 to the first attempt of each event and
    200 to the next; records every request and whether its signature verified."""

    def __init__(self, secret: str) -> None:
        import http.server
        import threading

        from repprofile.web._outbox import verify

        self.attempts: list[tuple[str, str, bool]] = []  # (event id, invitation id, ok)
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify(secret, self.headers.get("Repprofile-Signature"), body)
                event = self.headers.get("Repprofile-Event-Id", "")
                inv = json.loads(body)["invitation_id"]
                with outer.lock:
                    first = all(e != event for e, _, _ in outer.attempts)
                    outer.attempts.append((event, inv, ok))
                self.send_response(500 if first else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _serve_workers(folder: Path, args: list[str], env_extra: dict[str, str]) -> Any:
    """``repprofile serve`` with ``env_extra`` in its environment (tests/test_web_durability's
    helper, which passes only the API key)."""
    import os
    import subprocess
    import time

    from tests import test_web_durability as dur

    port = dur.free_port()
    log = folder / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPPROFILE_")}
    env |= {"REPPROFILE_API_KEYS": dur.KEY, "MPLBACKEND": "Agg", **env_extra}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(dur.SCRIPT), "serve", "--port", str(port), "--insecure-cookies", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = dur.Server(proc, port, log)
    deadline = time.monotonic() + dur.STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"repprofile serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if server.request("GET", "/v1/health")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"repprofile serve did not answer in {dur.STARTUP_TIMEOUT} s")
        time.sleep(0.1)


def _workers(supervisor: int) -> list[int]:
    """The pids whose parent is ``supervisor`` and that run uvicorn's worker (spawned
    python processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == supervisor:
            cmd = (stat.parent / "cmdline").read_bytes()
            if b"resource_tracker" not in cmd:
                found.append(int(stat.parent.name))
    return sorted(found)


def test_two_workers_on_postgresql(pg_cluster: Any, tmp_path: Path) -> None:
    """``repprofile serve --workers 2`` on a fresh PostgreSQL database: the database is
    upgraded once, before the workers start; candidates take the whole questionnaire with
    saves spread over both workers (new connections, the kernel picks the worker), two
    values of one item saved at the same moment keep one of them, the stored scores are the
    library's, and each completed event reaches the receiver exactly once as delivered
    (one 500 then one 200) though both workers poll the outbox."""
    import threading
    import time
    import urllib.parse
    from concurrent.futures import ThreadPoolExecutor

    import repprofile
    from tests import test_web_durability as dur

    secret = "webhook-secret-for-two-workers-test"
    receiver = _Receiver(secret)
    url = pg_cluster.create_database()  # empty: serve must upgrade it
    env = {
        "REPPROFILE_WEBHOOK_SECRET": secret,
        "REPPROFILE_WEBHOOK_ALLOW_PRIVATE": "1",
        "REPPROFILE_WEBHOOK_BACKOFF": "1",
    }
    srv = _serve_workers(tmp_path, ["--workers", "2", "--database-url", url], env)
    q = repprofile.load_questionnaire("rep-types")
    items = [it.id for it in q.items]
    try:
        workers = _workers(srv.proc.pid)
        assert len(workers) == 2, workers
        # the upgrade ran once, in the supervisor, before the workers
        log = srv.log.read_text()
        assert log.count("database: migration (empty) ->") == 1, log

        def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes]:
            status, _, raw = srv.request(
                "POST",
                path,
                json.dumps(body).encode(),
                {"Content-Type": "application/json", **headers},
            )
            return status, raw

        candidates = []
        for n in range(4):
            status, raw = post(
                "/v1/invitations",
                {
                    "candidate_id": f"two-{n}",
                    "questionnaire": "rep-types",
                    "roles": [],
                    "callback_url": f"http://127.0.0.1:{receiver.port}/hook",
                },
                dur.AUTH,
            )
            assert status == 201, raw
            doc = json.loads(raw)
            token = doc["url"].rsplit("/", 1)[1]
            status, _, html = srv.request("GET", f"/take/{token}")
            csrf = Inputs(html.decode()).hidden["csrf"]
            form = urllib.parse.urlencode({"csrf": csrf, "accept_privacy": "on"}).encode()
            status, _, _ = srv.request(
                "POST",
                f"/take/{token}/start",
                form,
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert status == 303
            candidates.append((doc["invitation_id"], token, csrf))

        rng = random.Random(41)
        final = {c[0]: {i: str(rng.randint(1, 5)) for i in items} for c in candidates}
        jobs = []
        for _inv_id, token, csrf in candidates:
            for i in items:  # two different values of one item at the same moment
                jobs.append((token, csrf, i, "2"))
                jobs.append((token, csrf, i, "4"))
        rng.shuffle(jobs)
        errors: list[str] = []
        lock = threading.Lock()

        def save(job: tuple[str, str, str, str]) -> None:
            token, csrf, item, value = job
            status, raw = post(
                f"/take/{token}/answers",
                {"answers": [{"item": item, "value": value, "seconds": 1.0}]},
                {"X-CSRF-Token": csrf},
            )
            if status != 200:
                with lock:
                    errors.append(f"{status} {raw[:200]!r}")

        before = {w: _cpu_ticks(w) for w in workers}
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(save, jobs))
        used = {w: _cpu_ticks(w) - before[w] for w in workers}
        assert errors == []
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo) as conn:
            rows = conn.execute(
                "SELECT invitation_id, item_id, part, value FROM answers"
            ).fetchall()
        assert len(rows) == len(candidates) * len(items)  # one row per item
        assert {r[3] for r in rows} <= {"2", "4"}
        # the final answers, in batches of 10 over fresh connections, then finish
        for inv_id, token, csrf in candidates:
            given = final[inv_id]
            batches = [items[k : k + 10] for k in range(0, len(items), 10)]

            def save_batch(
                batch: list[str],
                token: str = token,
                csrf: str = csrf,
                given: dict[str, str] = given,
            ) -> int:
                body = {"answers": [{"item": i, "value": given[i], "seconds": 2.0} for i in batch]}
                return post(f"/take/{token}/answers", body, {"X-CSRF-Token": csrf})[0]

            with ThreadPoolExecutor(4) as pool:
                assert set(pool.map(save_batch, batches)) == {200}
            last = len(batches)
            form = urllib.parse.urlencode({"csrf": csrf, "nav": "finish"}).encode()
            status, headers, _ = srv.request(
                "POST",
                f"/take/{token}/page/{last}",
                form,
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert status == 303
            assert headers["location"].endswith(f"/take/{token}/done")
            status, _, raw = srv.request("GET", f"/v1/invitations/{inv_id}", headers=dur.AUTH)
            doc = json.loads(raw)
            assert doc["status"] == "completed"
            record = {
                "candidate_id": doc["candidate_id"],
                "answers": {i: int(v) for i, v in given.items()},
                "item_seconds": dict.fromkeys(items, 2.0),
            }
            expected = repprofile.score(q, [record]).to_dict()["profiles"][0]
            stored = doc["result"]["score"]["profiles"][0]
            assert json.dumps(stored, sort_keys=True) == json.dumps(expected, sort_keys=True)
        # every event: one failed attempt, one delivery, both signed; no more after that
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with receiver.lock:
                if len(receiver.attempts) >= 2 * len(candidates):
                    break
            time.sleep(0.2)
        time.sleep(5)  # two more polling rounds of both workers: nothing may come again
        with receiver.lock:
            attempts = list(receiver.attempts)
        assert all(ok for _, _, ok in attempts)
        per_invitation: dict[str, int] = {}
        for _, inv, _ in attempts:
            per_invitation[inv] = per_invitation.get(inv, 0) + 1
        assert per_invitation == {c[0]: 2 for c in candidates}
        # uvicorn's access log (on at --log-level info) and our loggers: no token
        served = srv.log.read_text()
        assert served.count('"POST /take/***/answers HTTP/1.1" 200') >= len(jobs)
        assert not any(token in served for _, token, _ in candidates)
        print(f"two workers: CPU ticks during the concurrent saves {used}")
    finally:
        srv.kill()
        receiver.close()


def _cpu_ticks(pid: int) -> int:
    """User plus system CPU ticks of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_purge_leaves_no_erased_data_in_the_sqlite_files(site: Site, db_url: str) -> None:
    """After ``purge`` the erased metadata and result are neither in the database file nor
    in its write-ahead log (which holds old page images until it is checkpointed)."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's files only; PostgreSQL keeps deleted rows until vacuum (docs)")
    from sqlalchemy.orm import Session

    from repprofile.web._store import purge

    _, token = site.invite(metadata={"note": "MarkerMetaValueXYZ"})
    _take_all(site, token, random.Random(1))
    folder = Path(str(site.engine.url.database)).parent

    def files() -> bytes:
        return b"".join(p.read_bytes() for p in folder.glob("web.db*"))

    assert b"MarkerMetaValueXYZ" in files()
    with Session(site.engine) as s:
        counts = purge(s, dt.timedelta(0), "test", now=dt.datetime.now(dt.UTC) + dt.timedelta(1))
    assert counts == {"invitations": 1, "answers": 80, "results": 1}
    raw = files()
    assert b"MarkerMetaValueXYZ" not in raw
    assert b'"primary_type"' not in raw  # the stored result document
    with site.engine.connect() as conn:
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_slow_pass_never_sends_an_event_another_worker_took(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A pass claims up to 20 events with a 60 s lease and POSTs them one after another,
    each with a 10 s timeout: a slow receiver makes the pass outlive the lease of its last
    events. Another worker may then claim and deliver them; the first must not send them
    again (each event once)."""
    import repprofile.web._outbox as outbox
    from repprofile.server._service import Service
    from tests import test_web_outbox as tob

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'web.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    svc = Service(ServerSettings())
    one = tob.Server(url, svc)
    two = tob.Server(url, svc)
    sent: list[tuple[str, int]] = []
    inside = False
    now = later = dt.datetime.now(dt.UTC)

    def post(
        u: str, body: str, event_id: int, secret: str, address: str | None = None
    ) -> tuple[int, None]:
        sent.append(("two" if inside else "one", event_id))
        return 204, None

    real_record = outbox._record

    def record(web: Any, claim: Any, status: int | None, error: str | None) -> None:
        nonlocal inside
        real_record(web, claim, status, error)
        if web is one.web and len(sent) == 1:
            # worker one's first POST took past the lease of the rest of its batch
            # (20 events, 10 s timeout each): worker two runs a minute later
            inside = True
            try:
                assert outbox.deliver_due(two.web, now=later) == 2
            finally:
                inside = False

    try:
        for n in range(3):
            tob.complete_invitation(one.web, f"slow-{n}", "https://93.184.215.14/hook")
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        later = now + outbox.LEASE + dt.timedelta(seconds=1)
        with (
            mock.patch.object(outbox, "_post", side_effect=post),
            mock.patch.object(outbox, "_record", side_effect=record),
        ):
            outbox.deliver_due(one.web, now=now)
        ids = [e for _, e in sent]
        assert len(ids) == 3, sent  # each event sent once, by one of the workers
        assert len(set(ids)) == 3, sent
        assert [w for w, _ in sent] == ["one", "two", "two"]
        with one.web.session() as s:
            rows = list(s.scalars(select(Outbox)))
        assert all(r.delivered_at is not None and r.attempts == 1 for r in rows)
    finally:
        one.close()
        two.close()
        svc.render_pool.close()


def test_erasure_also_removes_a_delivered_webhook_body(tmp_path: Path) -> None:
    """A delivered event's row still holds its body (the scores) and the callback URL:
    erasure must remove it like the queued ones, and ``purge`` the same."""
    import repprofile.web._outbox as outbox
    from repprofile.server._service import Service
    from repprofile.web._store import purge
    from tests import test_web_outbox as tob

    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    svc = Service(ServerSettings())
    srv = tob.Server(url, svc)
    try:
        ids = [
            tob.complete_invitation(srv.web, f"gone-{n}", "https://93.184.215.14/hook?k=abc")
            for n in range(2)
        ]
        with mock.patch.object(outbox, "_post", return_value=(204, None)):
            assert outbox.deliver_due(srv.web) == 2
        with srv.web.session() as s:
            assert all(r.delivered_at is not None for r in s.scalars(select(Outbox)))
        client = TestClient(
            create_web_app(ServerSettings(api_keys=(KEY,)), srv.web.settings, engine=srv.engine)
        )
        with client:
            assert client.delete(f"/v1/invitations/{ids[0]}", headers=AUTH).status_code == 200
        with srv.web.session() as s:
            left = [r.invitation_id for r in s.scalars(select(Outbox))]
            assert left == [ids[1]]
            counts = purge(
                s, dt.timedelta(0), "test", now=dt.datetime.now(dt.UTC) + dt.timedelta(1)
            )
            assert counts["invitations"] == 1
            assert list(s.scalars(select(Outbox))) == []
        with srv.engine.connect() as conn:
            dump = json.dumps(
                [tuple(map(str, r)) for r in conn.execute(text("SELECT * FROM webhook_outbox"))]
            )
        assert "abc" not in dump
        assert "profiles" not in dump
    finally:
        srv.close()
        svc.render_pool.close()


def test_answers_refused_before_the_privacy_notice_and_after_expiry(site: Site) -> None:
    inv_id, token = site.invite()
    csrf = Inputs(site.client.get(f"/take/{token}").text).hidden["csrf"]
    r = _save(site, token, csrf)  # the notice is not accepted yet
    assert r.status_code == 409
    r = site.client.post(f"/take/{token}/page/1", data={"csrf": csrf, "ctl01": "3"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/take/{token}"
    assert site.answers(inv_id) == []
    _start(site, token)
    site.set(inv_id, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert _save(site, token, csrf).status_code == 410
    r = site.client.post(f"/take/{token}/page/1", data={"csrf": csrf, "ctl01": "3"})
    assert r.status_code == 410
    assert site.answers(inv_id) == []
