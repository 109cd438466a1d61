"""repprofile as a Greenhouse assessment partner (repprofile/web/_greenhouse.py): the four
endpoints against the shapes Greenhouse documents, HTTP Basic with the key as the user
name, the test catalogue file, repeated orders, and the whole round trip with a fake
Greenhouse on 127.0.0.1 that fails the completion PATCH twice, then accepts it and asks
for the result."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.server
import json
import logging
import random
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from repprofile._errors import InputError
from repprofile.server import ServerSettings
from repprofile.server._service import Catalogue
from repprofile.web._app import create_web_app
from repprofile.web._db import AccessLog, AtsOrder, EmailOutbox, Invitation, Outbox, make_engine
from repprofile.web._greenhouse import GreenhouseTest, check_keys, load_catalogue
from repprofile.web._greenhouse import _candidate_id as candidate_id_of
from repprofile.web._links import check_report_token
from repprofile.web._outbox import deliver_due
from repprofile.web._service import WebService
from repprofile.web._settings import WebSettings
from repprofile.web._store import email_seal_key, unseal_token

from .test_web_pages import _take_all


def load_tests(path: Path | None, catalogue: Catalogue) -> dict[str, GreenhouseTest]:
    """The tests offered, by id, in order (the catalogue file or the default)."""
    return load_catalogue(path, catalogue).by_id


def greenhouse_key_ring(greenhouse: list[str], api: list[str]) -> dict[str, str]:
    """The keys Greenhouse may use: its own when set (checked), else the API keys it can
    hold."""
    if greenhouse:
        return check_keys(greenhouse, "REPPROFILE_GREENHOUSE_KEYS")
    return check_keys(api, "REPPROFILE_API_KEYS", strict=False)


KEY = "gh-key-0123456789-abcdefghij"
KEY2 = "second-gh-key-ABCDEFGHIJKLMNOP"
API_KEY = "api-key-0123456789-abcdefghij"
SECRET_KEY = "secret-key-for-report-links-0123456789"
GH = "/integrations/greenhouse/"
PUBLIC = "http://testserver"


def basic(user: str, password: str = "") -> dict[str, str]:
    """An HTTP Basic header of ``user:password``."""
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


AUTH = basic(KEY)
AUTH2 = basic(KEY2)
API = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


@dataclass
class Site:
    """The whole server on a fresh database, with its WebService and engine."""

    client: TestClient
    web: WebService
    engine: Any

    def count(self, model: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())

    def token(self, invitation_id: str) -> str:
        """The candidate's link token, unsealed from the invitation email's outbox row."""
        with self.engine.connect() as conn:
            sealed = conn.execute(
                select(EmailOutbox.token_sealed).where(
                    EmailOutbox.invitation_id == invitation_id, EmailOutbox.kind == "invitation"
                )
            ).scalar_one()
        assert sealed is not None
        return unseal_token(sealed, email_seal_key(self.web.secret_key()), invitation_id)


@contextmanager
def make_site(db_url: str, tmp_path: Path, **settings: Any) -> Iterator[Site]:
    """A site with Greenhouse keys KEY and KEY2, an API key, email in dry-run mode."""
    engine = make_engine(db_url)
    options: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path / "data",
        "public_url": PUBLIC,
        "secure_cookies": False,
        "outbox": False,
        "secret_key": SECRET_KEY,
        "greenhouse_keys": (KEY, KEY2),
        "smtp_dry_run": tmp_path / "mail",
        "webhook_allow_private": True,
        "webhook_backoff": 30,
        **settings,
    }
    app = create_web_app(ServerSettings(api_keys=(API_KEY,)), WebSettings(**options), engine=engine)
    client = TestClient(app, follow_redirects=False)
    client.__enter__()
    try:
        yield Site(client, app.state.web, engine)
    finally:
        client.__exit__(None, None, None)
        engine.dispose()


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    with make_site(db_url, tmp_path) as made:
        yield made


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Iterator[Site]:
    """The site on SQLite only (for the checks that do not depend on the database)."""
    from repprofile.web._db import upgrade

    from ._webdb import sqlite_url

    url = sqlite_url(tmp_path / "gh.db")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with make_site(url, tmp_path) as made:
        yield made


def order(
    email: str = "Ana.Lima@example.com",
    test: str = "escalations",
    url: str = "https://app.greenhouse.io/integrations/partner/done/1",
    **extra: Any,
) -> dict[str, Any]:
    """A send_test body as Greenhouse documents it."""
    return {
        "partner_test_id": test,
        "candidate": {
            "first_name": "Ana",
            "last_name": "Lima",
            "email": email,
            "resume_url": "https://example.com/resume.pdf",
            "phone_number": "+1 555 0100",
            "greenhouse_profile_url": "https://app.greenhouse.io/people/1",
        },
        "url": url,
        **extra,
    }


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    doc: dict[str, Any] = r.json()
    assert doc["code"] == code, doc
    return doc


def locations(r: Any) -> list[list[Any]]:
    doc = problem(r, 422, "invalid_request")
    return [e["loc"] for e in doc["detail"]]


# ---------------------------------------------------------------------------- list_tests


def test_list_tests_is_every_bundled_role_by_default(
    sqlite_site: Site, catalogue: Catalogue
) -> None:
    r = sqlite_site.client.get(GH + "list_tests", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    tests = r.json()
    assert isinstance(tests, list)
    expected = sorted((role.id, role.name) for role in catalogue.roles.values())
    assert len(expected) == 12
    assert [(t["partner_test_id"], t["partner_test_name"]) for t in tests] == expected
    for t in tests:
        assert set(t) == {"partner_test_id", "partner_test_name"}
        assert isinstance(t["partner_test_id"], str)
        assert isinstance(t["partner_test_name"], str)


def test_the_routes_are_not_in_the_openapi_document(sqlite_site: Site) -> None:
    doc = sqlite_site.client.get("/openapi.json", headers=API).json()
    assert not [p for p in doc["paths"] if p.startswith("/integrations")]


CONFIG = """\
tests:
  - id: cs-escalations
    name: Escalations (with judgement)
    questionnaire: rep-hiring
    role: escalations-sjt
    expires_in_days: 7
  - id: frontline
    name: Front-line
    questionnaire: rep-types
    role: general-frontline
"""


def test_list_tests_follows_the_config_file_in_its_order(
    db_url: str, tmp_path: Path, catalogue: Catalogue
) -> None:
    path = tmp_path / "ats.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    tests = load_tests(path, catalogue)
    assert list(tests) == ["cs-escalations", "frontline"]
    assert tests["cs-escalations"].expires_in_days == 7
    assert tests["frontline"].expires_in_days == 14
    with make_site(db_url, tmp_path, ats_config=path) as site:
        r = site.client.get(GH + "list_tests", headers=AUTH)
        assert r.json() == [
            {
                "partner_test_id": "cs-escalations",
                "partner_test_name": "Escalations (with judgement)",
            },
            {"partner_test_id": "frontline", "partner_test_name": "Front-line"},
        ]
        r = site.client.post(GH + "send_test", json=order(test="cs-escalations"), headers=AUTH)
        assert r.status_code == 200, r.text
        with site.web.session() as s:
            inv = s.get(Invitation, r.json()["partner_interview_id"])
            assert inv is not None
            assert (inv.questionnaire, inv.roles) == ("rep-hiring", ["escalations-sjt"])
            days = (inv.expires_at - inv.created_at).total_seconds() / 86400
            assert days == pytest.approx(7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tests:\n  - {id: a, name: A, questionnaire: nope, role: escalations}\n",
            "tests[0] ('a'): unknown questionnaire 'nope'",
        ),
        (
            "tests:\n  - {id: a, name: A, questionnaire: rep-types, role: nope}\n",
            "tests[0] ('a'): unknown role 'nope'",
        ),
        (
            "tests:\n  - {id: a, name: A, questionnaire: rep-types, role: escalations-sjt}\n",
            "tests[0] ('a'): role 'escalations-sjt' applies to questionnaire 'rep-hiring', "
            "not 'rep-types'",
        ),
        (
            "tests:\n  - {id: a, name: A, questionnaire: rep-types, role: escalations}\n"
            "  - {id: a, name: B, questionnaire: rep-types, role: retention}\n",
            "tests[1] ('a'): the id is used twice",
        ),
        (
            "tests:\n  - {id: 'a b', name: A, questionnaire: rep-types, role: escalations}\n",
            "tests[0].id: expected 1 to 100 letters",
        ),
        (
            "tests:\n  - {id: a, name: A, questionnaire: rep-types, role: escalations, x: 1}\n",
            "tests[0].x: unknown field",
        ),
        ("- a\n", "must be a mapping with a 'tests:' list"),
    ],
)
def test_a_bad_config_file_is_refused_naming_the_file_and_entry(
    tmp_path: Path, catalogue: Catalogue, text: str, message: str
) -> None:
    path = tmp_path / "ats.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_tests(path, catalogue)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_greenhouse_keys_are_checked_and_the_api_keys_are_the_default() -> None:
    ok = "g" * 170
    assert list(greenhouse_key_ring([ok], [API_KEY]).values()) == [ok]
    with pytest.raises(InputError, match=r"key 1: .* 16 to 170 characters .* got 171"):
        greenhouse_key_ring(["g" * 171], [API_KEY])
    with pytest.raises(InputError, match="got 15 characters"):
        greenhouse_key_ring(["g" * 15], [API_KEY])
    with pytest.raises(InputError, match="colons"):
        greenhouse_key_ring(["gggggggg:gggggggg"], [API_KEY])
    # no Greenhouse key: the API keys Greenhouse can hold
    ring = greenhouse_key_ring([], [API_KEY, "a" * 171])
    assert list(ring.values()) == [API_KEY]

    assert list(ring) == [hashlib.sha256(API_KEY.encode()).hexdigest()]


def test_without_greenhouse_keys_the_api_key_authenticates(db_url: str, tmp_path: Path) -> None:
    with make_site(db_url, tmp_path, greenhouse_keys=()) as site:
        assert site.client.get(GH + "list_tests", headers=basic(API_KEY)).status_code == 200
        assert site.client.get(GH + "list_tests", headers=AUTH).status_code == 401


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "expected HTTP Basic"),
        ({"Authorization": f"Bearer {KEY}"}, "expected HTTP Basic"),
        ({"Authorization": "Basic !!!not-base64"}, "malformed HTTP Basic credentials"),
        ({"Authorization": "Basic " + base64.b64encode(KEY.encode()).decode()}, "HTTP Basic"),
        (basic("wrong-key-0123456789-abcdef"), "missing or invalid key"),
        (basic("", KEY), "the key goes in the user name of HTTP Basic, with an empty password"),
        (
            basic("", "anything"),
            "the key goes in the user name of HTTP Basic, with an empty password",
        ),
        (basic(KEY, "x"), "the password of HTTP Basic must be empty"),
        (
            basic(API_KEY),
            "missing or invalid key",
        ),  # Greenhouse keys configured: the API key is not one
    ],
)
def test_wrong_credentials_get_401_with_a_basic_challenge(
    sqlite_site: Site, headers: dict[str, str], detail: str
) -> None:
    for method, path in (
        ("GET", "list_tests"),
        ("POST", "send_test"),
        ("GET", "test_status?partner_interview_id=x"),
        ("POST", "response_error"),
    ):
        r = sqlite_site.client.request(method, GH + path, headers=headers, json={})
        doc = problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == 'Basic realm="repprofile"'
        assert detail in doc["detail"]
        assert KEY not in r.text


# ---------------------------------------------------------------------------- send_test


def test_send_test_creates_one_invitation_order_and_email(site: Site) -> None:
    r = site.client.post(GH + "send_test", json=order(extra_field="ignored"), headers=AUTH)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert list(doc) == ["partner_interview_id"]
    inv_id = doc["partner_interview_id"]
    assert re.fullmatch(r"inv_[0-9a-f]{24}", inv_id)
    with site.web.session() as s:
        inv = s.get(Invitation, inv_id)
        order_ = s.get(AtsOrder, inv_id)
        assert inv is not None
        assert order_ is not None
        # keyed with the secret key (security review): not a plain hash of the address
        assert (
            inv.candidate_id
            != "greenhouse-" + hashlib.sha256(b"ana.lima@example.com").hexdigest()[:16]
        )
        assert re.fullmatch(r"greenhouse-[0-9a-f]{16}", inv.candidate_id)
        secret = SECRET_KEY.encode()
        assert inv.candidate_id == candidate_id_of(secret, "ANA.LIMA@example.com")
        assert (inv.questionnaire, inv.roles, inv.status) == (
            "rep-types",
            ["escalations"],
            "created",
        )
        assert inv.meta == {"source": "greenhouse", "partner_test_id": "escalations"}
        assert (inv.candidate_email, inv.candidate_name) == ("Ana.Lima@example.com", "Ana")
        assert inv.callback_url is None
        assert (order_.provider, order_.partner_test_id) == ("greenhouse", "escalations")
        assert order_.callback_url == "https://app.greenhouse.io/integrations/partner/done/1"
        assert order_.key_sha256 == hashlib.sha256(KEY.encode()).hexdigest()
        days = (inv.expires_at - inv.created_at).total_seconds() / 86400
        assert days == pytest.approx(14)
        kinds = sorted(
            s.scalars(select(EmailOutbox.kind).where(EmailOutbox.invitation_id == inv_id))
        )
        assert kinds == ["invitation", "reminder"]
        # nothing of the last name, phone, resume or profile URL is stored anywhere
        stored = json.dumps(
            [
                str(v)
                for row in s.execute(select(Invitation)).all()
                for v in row[0].__dict__.values()
            ]
        )
        for value in ('Lima"', "555 0100", "resume.pdf", "people/1"):
            assert value not in stored
        actions = s.scalars(select(AccessLog.actor).where(AccessLog.invitation_id == inv_id)).all()
        assert actions == ["greenhouse:" + order_.key_sha256[:12]]


def test_a_repeated_order_answers_the_same_assessment(site: Site) -> None:
    first = site.client.post(GH + "send_test", json=order(), headers=AUTH).json()
    counts = (site.count(Invitation), site.count(AtsOrder), site.count(EmailOutbox))
    # the same order (the email's case does not matter): same id, nothing new, no email
    again = site.client.post(
        GH + "send_test", json=order(email="ana.lima@EXAMPLE.com"), headers=AUTH
    )
    assert again.status_code == 200
    assert again.json() == first
    assert (site.count(Invitation), site.count(AtsOrder), site.count(EmailOutbox)) == counts
    # another test, callback URL or key: another assessment
    other = {
        site.client.post(GH + "send_test", json=order(test="retention"), headers=AUTH).json()[
            "partner_interview_id"
        ],
        site.client.post(
            GH + "send_test", json=order(url="https://gh.example/2"), headers=AUTH
        ).json()["partner_interview_id"],
        site.client.post(GH + "send_test", json=order(), headers=AUTH2).json()[
            "partner_interview_id"
        ],
    }
    assert len(other) == 3
    assert first["partner_interview_id"] not in other
    # once the first is withdrawn, the same order makes a new assessment
    r = site.client.post(f"/v1/invitations/{first['partner_interview_id']}/withdraw", headers=API)
    assert r.status_code == 200
    renewed = site.client.post(GH + "send_test", json=order(), headers=AUTH).json()
    assert renewed != first
    with site.web.session() as s:
        old = s.get(AtsOrder, first["partner_interview_id"])
        assert old is not None
        assert old.dedupe is None
    # and it is answered again while it is open
    assert site.client.post(GH + "send_test", json=order(), headers=AUTH).json() == renewed


def test_send_test_validation(sqlite_site: Site) -> None:
    c = sqlite_site.client
    r = c.post(GH + "send_test", json=order(test="no-such-test"), headers=AUTH)
    assert locations(r) == [["body", "partner_test_id"]]
    assert "list_tests gives the tests this server offers" in r.json()["detail"][0]["msg"]
    body = order()
    del body["partner_test_id"]
    assert locations(c.post(GH + "send_test", json=body, headers=AUTH)) == [
        ["body", "partner_test_id"]
    ]
    assert locations(
        c.post(GH + "send_test", json=order(email="not-an-address"), headers=AUTH)
    ) == [["body", "candidate", "email"]]
    body = order()
    del body["candidate"]["email"]
    assert locations(c.post(GH + "send_test", json=body, headers=AUTH)) == [
        ["body", "candidate", "email"]
    ]
    body = order()
    del body["url"]
    assert locations(c.post(GH + "send_test", json=body, headers=AUTH)) == [["body", "url"]]
    assert locations(
        c.post(GH + "send_test", json=order(url="ftp://gh.example/x"), headers=AUTH)
    ) == [["body", "url"]]
    assert sqlite_site.count(Invitation) == 0


def test_send_test_refuses_a_private_url_and_needs_email(db_url: str, tmp_path: Path) -> None:
    with make_site(db_url, tmp_path, webhook_allow_private=False) as site:
        r = site.client.post(GH + "send_test", json=order(url="http://127.0.0.1:9/x"), headers=AUTH)
        assert locations(r) == [["body", "url"]]
        assert "not a public one" in r.json()["detail"][0]["msg"]
    with make_site(db_url, tmp_path, smtp_dry_run=None) as site:
        r = site.client.post(GH + "send_test", json=order(), headers=AUTH)
        doc = problem(r, 503, "email_not_configured")
        assert "REPPROFILE_SMTP_URL" in doc["detail"]
        assert site.count(Invitation) == 0


# ---------------------------------------------------------------------------- test_status


def test_status_before_completion_and_errors(site: Site) -> None:
    inv_id = site.client.post(GH + "send_test", json=order(), headers=AUTH).json()[
        "partner_interview_id"
    ]
    r = site.client.get(GH + "test_status", params={"partner_interview_id": inv_id}, headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {
        "partner_status": "sent",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }
    assert locations(site.client.get(GH + "test_status", headers=AUTH)) == [
        ["query", "partner_interview_id"]
    ]
    unknown = site.client.get(
        GH + "test_status", params={"partner_interview_id": "inv_" + "0" * 24}, headers=AUTH
    )
    other_key = site.client.get(
        GH + "test_status", params={"partner_interview_id": inv_id}, headers=AUTH2
    )
    assert problem(unknown, 404, "not_found")["detail"] == "no test 'inv_" + "0" * 24 + "'"
    assert problem(other_key, 404, "not_found")["detail"] == f"no test {inv_id!r}"
    # an invitation made through the API is not a Greenhouse order
    made = site.client.post(
        "/v1/invitations",
        json={"candidate_id": "c1", "questionnaire": "rep-types", "roles": []},
        headers=API,
    ).json()["invitation_id"]
    r = site.client.get(GH + "test_status", params={"partner_interview_id": made}, headers=AUTH)
    problem(r, 404, "not_found")
    # withdrawn, then erased
    site.client.post(f"/v1/invitations/{inv_id}/withdraw", headers=API)
    r = site.client.get(GH + "test_status", params={"partner_interview_id": inv_id}, headers=AUTH)
    assert r.json()["partner_status"] == "withdrawn"
    site.client.delete(f"/v1/invitations/{inv_id}", headers=API)
    r = site.client.get(GH + "test_status", params={"partner_interview_id": inv_id}, headers=AUTH)
    assert r.json()["partner_status"] == "erased"


def test_status_expired(sqlite_site: Site) -> None:
    from sqlalchemy import update

    inv_id = sqlite_site.client.post(GH + "send_test", json=order(), headers=AUTH).json()[
        "partner_interview_id"
    ]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with sqlite_site.engine.begin() as conn:
        conn.execute(update(Invitation).where(Invitation.id == inv_id).values(expires_at=past))
    r = sqlite_site.client.get(
        GH + "test_status", params={"partner_interview_id": inv_id}, headers=AUTH
    )
    assert r.json()["partner_status"] == "expired"
    # a new order for the same candidate and test after expiry: a new assessment
    again = sqlite_site.client.post(GH + "send_test", json=order(), headers=AUTH).json()
    assert again["partner_interview_id"] != inv_id


# ---------------------------------------------------------------------------- response_error


def test_response_error_is_accepted_and_logged(
    sqlite_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    inv_id = "inv_" + "a" * 24
    with caplog.at_level(logging.WARNING, logger="repprofile.web.greenhouse"):
        r = sqlite_site.client.post(
            GH + "response_error",
            json={"partner_interview_id": inv_id, "error": "partner_score must be a number"},
            headers=AUTH,
        )
    assert r.status_code == 200
    assert r.json() == {}
    text = "\n".join(rec.getMessage() for rec in caplog.records)
    assert inv_id in text
    assert "partner_score must be a number" in text
    with sqlite_site.engine.connect() as conn:
        rows = conn.execute(
            select(AccessLog.action, AccessLog.invitation_id).where(
                AccessLog.action == "greenhouse.response_error"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("greenhouse.response_error", inv_id)]
    r = sqlite_site.client.post(GH + "response_error", json=[1, 2], headers=AUTH)
    assert locations(r) == [["body"]]
    big = {"error": "x" * 70_000}
    problem(
        sqlite_site.client.post(GH + "response_error", json=big, headers=AUTH),
        413,
        "body_too_large",
    )


# ---------------------------------------------------------------------------- a fake Greenhouse


@dataclass
class FakeGreenhouse:
    """Greenhouse's side on 127.0.0.1: records every PATCH to its completion URL, answers
    503 to the first ``fail`` of them, and on the first one it accepts asks
    ``test_status`` (through ``ask``) before answering 200."""

    fail: int
    ask: Callable[[str], Any] | None = None
    patches: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    def url(self, interview: str) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/integrations/partner/{interview}/done"


@pytest.fixture
def greenhouse() -> Iterator[FakeGreenhouse]:
    fake = FakeGreenhouse(fail=2)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PATCH(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                status = 503 if len(fake.patches) < fake.fail else 200
                fake.patches.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "body": body,
                        "signature": self.headers.get("Repprofile-Signature"),
                        "status": status,
                    }
                )
            if status == 200 and fake.ask is not None:
                fake.statuses.append(fake.ask(self.path.split("/")[3]))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_whole_round_trip_with_a_fake_greenhouse(
    site: Site, greenhouse: FakeGreenhouse, caplog: pytest.LogCaptureFixture
) -> None:
    c = site.client
    # Greenhouse lists the tests and orders one (no webhook secret on this server: the
    # PATCH needs none)
    assert site.web.settings.webhook_secret is None
    tests = c.get(GH + "list_tests", headers=AUTH).json()
    test_id = next(t["partner_test_id"] for t in tests if t["partner_test_id"] == "escalations-sjt")
    callback = greenhouse.url("gh-interview-77")
    r = c.post(GH + "send_test", json=order(test=test_id, url=callback), headers=AUTH)
    inv_id = r.json()["partner_interview_id"]

    def ask(interview: str) -> Any:
        assert interview == "gh-interview-77"
        got = c.get(GH + "test_status", params={"partner_interview_id": inv_id}, headers=AUTH)
        return got.status_code, got.json()

    greenhouse.ask = ask
    # the candidate opens the emailed link and answers every page, without JavaScript
    token = site.token(inv_id)
    _take_all(site, token, random.Random(18))  # type: ignore[arg-type]
    # the completion PATCH: 503, 503, then 200, one pass each as the backoff comes due
    t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with caplog.at_level(logging.INFO, logger="repprofile.web.outbox"):
        assert deliver_due(site.web, t0) == 1
        assert deliver_due(site.web, t0 + dt.timedelta(seconds=29)) == 0  # backoff: 30 s
        assert deliver_due(site.web, t0 + dt.timedelta(seconds=30)) == 1
        assert deliver_due(site.web, t0 + dt.timedelta(seconds=89)) == 0  # then 60 s
        assert deliver_due(site.web, t0 + dt.timedelta(seconds=90)) == 1
        assert deliver_due(site.web, t0 + dt.timedelta(days=1)) == 0
    assert [p["status"] for p in greenhouse.patches] == [503, 503, 200]
    expected_auth = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    for p in greenhouse.patches:
        assert p["path"] == "/integrations/partner/gh-interview-77/done"
        assert p["authorization"] == expected_auth
        assert p["body"] == b""
        assert p["signature"] is None
    with site.web.session() as s:
        rows = s.scalars(select(Outbox).where(Outbox.invitation_id == inv_id)).all()
        assert [(r.event, r.attempts, r.delivered_at is not None) for r in rows] == [
            ("greenhouse.completed", 3, True)
        ]
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    row_id = rows[0].id
    assert f"ATS completion call {row_id} failed (503, attempt 1)" in logged
    assert f"ATS completion call {row_id} failed (503, attempt 2)" in logged
    assert f"ATS completion call {row_id} delivered (HTTP 200, attempt 3)" in logged
    assert KEY not in logged
    assert base64.b64encode(f"{KEY}:".encode()).decode() not in logged
    # what Greenhouse received when it asked, on the accepted PATCH
    assert len(greenhouse.statuses) == 1
    status, doc = greenhouse.statuses[0]
    assert status == 200
    assert list(doc) == ["partner_status", "partner_profile_url", "partner_score", "metadata"]
    assert doc["partner_status"] == "complete"
    # the score: the fit for the test's role in the result the API answers, 1 decimal
    result = c.get(f"/v1/invitations/{inv_id}", headers=API).json()["result"]
    fits = result["fit"]["candidates"][0]["fits"]
    assert [f["role"] for f in fits] == ["escalations-sjt"]
    assert isinstance(doc["partner_score"], float)
    assert doc["partner_score"] == round(fits[0]["fit"], 1)
    assert 0 <= doc["partner_score"] <= 100
    # the profile link: PUBLIC_URL/reports/TOKEN, signed for this invitation, valid for
    # 30 days after completion and not after
    url = doc["partner_profile_url"]
    assert url.startswith(PUBLIC + "/reports/")
    token_ = url.removeprefix(PUBLIC + "/reports/")
    key = SECRET_KEY.encode()
    now = dt.datetime.now(dt.UTC)
    assert check_report_token(key, token_, now) == inv_id
    assert check_report_token(key, token_, now + dt.timedelta(days=29, hours=23)) == inv_id
    assert check_report_token(key, token_, now + dt.timedelta(days=30, minutes=1)) is None
    assert check_report_token(b"another key", token_, now) is None
    # the report itself exists (with the API key; the public /reports/ route is helper C's)
    report = c.get(f"/v1/invitations/{inv_id}/report", headers={**API, "Accept": "text/html"})
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    # the metadata: flat primitives, the seven types, the primary type, the quality
    # verdict and the SJT competencies, each worked out from the API's result
    meta = doc["metadata"]
    assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())
    q = site.web.service.catalogue.questionnaires["rep-hiring"]
    profile = result["score"]["profiles"][0]
    types = [sc for sc in q.scales if sc.kind == "trait"]
    skills = [sc for sc in q.scales if sc.kind == "skill"]
    assert len(types) == 7
    assert len(skills) >= 1
    for sc in types:
        assert meta[f"{sc.name} (0-100)"] == round(profile["scales"][sc.id]["pomp"], 1)
    for sc in skills:
        assert meta[f"SJT {sc.name} (0-100)"] == round(profile["scales"][sc.id]["pomp"], 1)
    names = {sc.id: sc.name for sc in q.scales}
    optional = {"Secondary type", "Quality flags"}
    required = {"Primary type", "Response quality", "Questionnaire"}
    required |= {f"{sc.name} (0-100)" for sc in types}
    required |= {f"SJT {sc.name} (0-100)" for sc in skills}
    assert required <= set(meta) <= required | optional
    assert meta["Primary type"] == names[profile["primary_type"]]
    assert meta["Response quality"] == ("valid" if profile["quality"]["valid"] else "flagged")
    assert meta["Questionnaire"] == f"{q.id} {q.version}"
    # contract: exactly these fields and types
    assert isinstance(doc["partner_status"], str)
    assert isinstance(url, str)
    assert isinstance(meta, dict)
    # the access log names the Greenhouse key by its digest, never the key
    with site.engine.connect() as conn:
        actions = conn.execute(
            select(AccessLog.actor, AccessLog.action).where(AccessLog.invitation_id == inv_id)
        ).all()
    actor = "greenhouse:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
    assert (actor, "greenhouse.test_status") in [tuple(a) for a in actions]
    assert all(KEY not in a.actor for a in actions)


def test_a_patch_whose_key_is_gone_is_given_up_at_once(
    site: Site, greenhouse: FakeGreenhouse, caplog: pytest.LogCaptureFixture
) -> None:
    inv_id = site.client.post(
        GH + "send_test", json=order(url=greenhouse.url("x")), headers=AUTH
    ).json()["partner_interview_id"]
    _take_all(site, site.token(inv_id), random.Random(1))  # type: ignore[arg-type]
    site.web.ats_keys = {}  # the key that ordered it is no longer configured
    with caplog.at_level(logging.ERROR, logger="repprofile.web.outbox"):
        assert deliver_due(site.web, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 0
    assert greenhouse.patches == []
    with site.web.session() as s:
        row = s.scalars(select(Outbox).where(Outbox.invitation_id == inv_id)).one()
        assert row.attempts == site.web.settings.webhook_max_attempts
        assert row.delivered_at is None
        assert row.last_error is not None
        assert row.last_error.startswith("the key that ordered this test is no longer configured")
    errors = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith(
        f"ATS completion call {row.id} given up without sending: the key that ordered this "
        "test is no longer configured"
    )


def test_the_give_up_log_names_the_last_status(
    db_url: str, tmp_path: Path, greenhouse: FakeGreenhouse, caplog: pytest.LogCaptureFixture
) -> None:
    greenhouse.fail = 99
    with make_site(db_url, tmp_path, webhook_max_attempts=2) as site:
        inv_id = site.client.post(
            GH + "send_test", json=order(url=greenhouse.url("y")), headers=AUTH
        ).json()["partner_interview_id"]
        _take_all(site, site.token(inv_id), random.Random(2))  # type: ignore[arg-type]
        t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        with caplog.at_level(logging.ERROR, logger="repprofile.web.outbox"):
            assert deliver_due(site.web, t0) == 1
            assert deliver_due(site.web, t0 + dt.timedelta(seconds=30)) == 1
            assert deliver_due(site.web, t0 + dt.timedelta(days=1)) == 0
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert re.fullmatch(
            r"ATS completion call \d+ failed \(503, attempt 2\): giving up after 2 attempts",
            errors[0],
        )
        assert len(greenhouse.patches) == 2


def test_two_identical_orders_at_once_make_one_assessment(site: Site) -> None:
    from repprofile.web._greenhouse import SendTest, place_order

    req = SendTest.model_validate(order())
    test = load_tests(None, site.web.service.catalogue)["escalations"]
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    barrier = threading.Barrier(2)
    answers: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def one() -> None:
        barrier.wait()
        try:
            plan = site.web.email_plan()
            assert plan is not None
            answers.append(place_order(site.web, test, req, digest, plan))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({a[0] for a in answers}) == 1
    assert sorted(a[1] for a in answers) == [False, True]
    assert site.count(Invitation) == 1
    assert site.count(AtsOrder) == 1
    assert site.count(EmailOutbox) == 2


def test_the_app_refuses_a_greenhouse_key_longer_than_greenhouse_allows(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    try:
        with pytest.raises(InputError, match=r"REPPROFILE_GREENHOUSE_KEYS key 2: .* got 171"):
            create_web_app(
                ServerSettings(api_keys=(API_KEY,)),
                WebSettings(data_dir=tmp_path, greenhouse_keys=(KEY, "g" * 171)),
                engine=engine,
            )
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------- serve


@pytest.fixture
def serve_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Every REPPROFILE_* variable serve may set blanked (and restored afterwards), an API
    key, the data directory in tmp_path, and a fake uvicorn.run recording its calls."""
    import os

    import uvicorn

    names = {
        *ServerSettings().to_env(),
        *WebSettings(secret_key="x" * 32, smtp_url="smtp://h").to_env(),
    }
    names |= {n for n in os.environ if n.startswith("REPPROFILE_")}
    names |= {"REPPROFILE_ATS_CONFIG", "REPPROFILE_GREENHOUSE_KEYS", "REPPROFILE_API_KEY_FILE"}
    for name in names:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("REPPROFILE_API_KEYS", API_KEY)
    monkeypatch.setenv("REPPROFILE_DATA_DIR", str(tmp_path / "data"))
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_serve_takes_an_ats_config_and_refuses_a_bad_one_before_starting(
    serve_calls: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from repprofile.cli import _main as _cli

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "tests:\n  - {id: a, name: A, questionnaire: rep-types, role: escalations-sjt}\n",
        encoding="utf-8",
    )
    assert _cli.main(["serve", "--ats-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{bad}: tests[0] ('a'): role 'escalations-sjt' applies to questionnaire 'rep-hiring'"
        in err
    )
    assert serve_calls == []
    good = tmp_path / "ats.yaml"
    good.write_text(CONFIG, encoding="utf-8")
    assert _cli.main(["serve", "--ats-config", str(good)]) == 0
    assert len(serve_calls) == 1
    assert os.environ["REPPROFILE_ATS_CONFIG"] == str(good)


def test_serve_refuses_a_greenhouse_key_greenhouse_cannot_hold(
    serve_calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from repprofile.cli import _main as _cli

    secret = "g" * 171
    monkeypatch.setenv("REPPROFILE_GREENHOUSE_KEYS", f"{KEY},{secret}")
    assert _cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "REPPROFILE_GREENHOUSE_KEYS key 2: a Greenhouse key must be 16 to 170" in err
    assert secret not in err
    assert serve_calls == []
