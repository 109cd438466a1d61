"""repprofile as a Greenhouse assessment partner (issue 18), checked against a fake
Greenhouse written from the public contract (developers.greenhouse.io/assessment.html):

* it lists the tests, orders one for a candidate (``send_test``), and receives the
  completion call (a PATCH with no body and HTTP Basic, the key as the user name) on the
  ``url`` it sent, from a real HTTP server on 127.0.0.1; it fails the first two, so
  exactly one PATCH succeeds per completion;
* the candidate's link comes from the invitation email (written by the dry-run transport)
  and the candidate fills the forms without a browser;
* once PATCHed, the fake calls ``test_status`` and gets ``complete``, the fit as
  ``partner_score``, a ``partner_profile_url`` that opens the report, and flat metadata;
* every error the issue names has its documented answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import http.server
import json
import random
import re
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("fastapi")

from fastapi.testclient import TestClient
from sqlalchemy import select

from repprofile._analysis.fit import fit
from repprofile.server import ServerSettings
from repprofile.web import WebSettings, create_web_app
from repprofile.web._db import AccessLog, AtsOrder, Invitation, Outbox, make_engine
from repprofile.web._greenhouse import load_catalogue
from repprofile.web._links import check_report_token
from repprofile.web._mail import send_due_emails
from repprofile.web._outbox import deliver_due
from repprofile.web._service import WebService

from .test_web_pages import Site, _take_all

KEY = "k" * 32
GH_KEY = "greenhouse-org-key-0123456789"
OTHER_GH_KEY = "greenhouse-other-org-key-987654"


def basic(user: str, password: str = "") -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


GH = basic(GH_KEY)
BASE = "/integrations/greenhouse/"


# ---------------------------------------------------------------------------- the fake


@dataclass
class FakeGreenhouse:
    """Greenhouse's side: the PATCH receiver (fails ``fail_first`` times) and what it
    records. ``url`` is the per-order URL it gives in send_test."""

    fail_first: int = 2
    patches: list[dict[str, Any]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/partner/interviews/77"

    @property
    def succeeded(self) -> list[dict[str, Any]]:
        return [p for p in self.patches if p["status"] == 200]


@pytest.fixture
def greenhouse() -> Iterator[FakeGreenhouse]:
    fake = FakeGreenhouse()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PATCH(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status = 500 if len(fake.patches) < fake.fail_first else 200
            fake.patches.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "body": body,
                    "content_type": self.headers.get("Content-Type"),
                    "status": status,
                }
            )
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


@dataclass
class Partner:
    """repprofile as the partner: a test client, its WebService and the mail folder."""

    client: TestClient
    web: WebService
    mail: Path
    site: Site


def _partner(db_url: str, tmp_path: Path, **settings: Any) -> Generator[Partner, None, None]:
    engine = make_engine(db_url)
    values: dict[str, Any] = {
        "database_url": db_url,
        "public_url": "http://testserver",
        "secure_cookies": False,
        "outbox": False,  # the tests run the delivery passes themselves
        "webhook_allow_private": True,  # the fake Greenhouse is on 127.0.0.1
        "smtp_dry_run": tmp_path / "mail",
        "secret_key": "s" * 40,
        "greenhouse_keys": (GH_KEY, OTHER_GH_KEY),
    }
    ws = WebSettings(**(values | settings))
    app = create_web_app(ServerSettings(api_keys=(KEY,)), ws, engine=engine)
    client = TestClient(app, follow_redirects=False)
    try:
        yield Partner(client, app.state.web, tmp_path / "mail", Site(client, engine))
    finally:
        client.close()
        engine.dispose()


@pytest.fixture
def partner(db_url: str, tmp_path: Path) -> Iterator[Partner]:
    yield from _partner(db_url, tmp_path)


def send_test(p: Partner, url: str, email_: str = "ann.lee@example.com", **extra: Any) -> Any:
    body = {
        "partner_test_id": "escalations-sjt",
        "candidate": {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": email_,
            "resume_url": "https://files.example.com/resume/123.pdf",
            "phone_number": "+1 555 0100",
            "greenhouse_profile_url": "https://app.greenhouse.io/people/123?application_id=456",
        },
        "url": url,
        **extra,
    }
    return p.client.post(BASE + "send_test", json=body, headers=GH)


def token_from_mail(p: Partner, invitation_id: str) -> str:
    """The candidate's link token, read from the invitation email the dry run wrote."""
    files = [f for f in p.mail.glob("*.eml") if f.name.startswith(invitation_id + ".invitation")]
    assert len(files) == 1, sorted(f.name for f in p.mail.glob("*"))
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",))
    assert text is not None
    links = [w for w in text.get_content().split() if w.startswith("http://testserver/take/")]
    assert len(links) == 1
    return str(links[0].rsplit("/", 1)[1])


# ---------------------------------------------------------------------------- the flow


def test_order_complete_patch_and_status_like_greenhouse(
    partner: Partner, greenhouse: FakeGreenhouse
) -> None:
    p = partner
    # 1. list_tests: a bare array of {partner_test_id, partner_test_name}
    r = p.client.get(BASE + "list_tests", headers=GH)
    assert r.status_code == 200
    tests = r.json()
    assert isinstance(tests, list)
    assert all(set(t) == {"partner_test_id", "partner_test_name"} for t in tests)
    assert all(isinstance(v, str) for t in tests for v in t.values())
    roles = p.web.service.catalogue.roles
    assert [t["partner_test_id"] for t in tests] == sorted(roles)  # the default catalogue
    assert {t["partner_test_id"]: t["partner_test_name"] for t in tests}[
        "escalations-sjt"
    ] == roles["escalations-sjt"].name

    # 2. send_test: {"partner_interview_id": str}; nothing but what is needed is kept
    r = send_test(p, greenhouse.url)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"partner_interview_id"}
    interview = r.json()["partner_interview_id"]
    assert isinstance(interview, str)
    with p.web.session() as s:
        inv = s.get(Invitation, interview)
        order = s.get(AtsOrder, interview)
        assert inv is not None
        assert order is not None
        assert inv.questionnaire == "rep-hiring"
        assert inv.roles == ["escalations-sjt"]
        assert inv.candidate_email == "ann.lee@example.com"
        assert inv.candidate_name == "Ann"
        assert inv.meta == {"source": "greenhouse", "partner_test_id": "escalations-sjt"}
        stored = json.dumps(
            [getattr(inv, c.name) for c in Invitation.__table__.columns], default=str
        )
        # whole values only: a bare "555" can turn up by chance in a stored hash or token
        assert not re.search(r"\bLee\b", stored)
        for dropped in ("+1 555 0100", "files.example.com/resume", "people/123"):
            assert dropped not in stored
        assert order.callback_url == greenhouse.url
    r = p.client.get(BASE + "test_status", params={"partner_interview_id": interview}, headers=GH)
    assert r.json() == {
        "partner_status": "sent",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }

    # 3. the candidate gets the email and fills the forms (no browser)
    assert send_due_emails(p.web) == 1
    token = token_from_mail(p, interview)
    _take_all(p.site, token, random.Random(18))
    r = p.client.get(BASE + "test_status", params={"partner_interview_id": interview}, headers=GH)
    assert r.json()["partner_status"] == "complete"

    # 4. the completion PATCH: fails twice, then succeeds once; no body, Basic auth
    t0 = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert deliver_due(p.web, t0) == 1
    assert deliver_due(p.web, t0 + dt.timedelta(seconds=30)) == 1
    assert deliver_due(p.web, t0 + dt.timedelta(seconds=90)) == 1
    assert deliver_due(p.web, t0 + dt.timedelta(days=1)) == 0  # delivered: never again
    assert [x["status"] for x in greenhouse.patches] == [500, 500, 200]
    assert len(greenhouse.succeeded) == 1
    for patch in greenhouse.patches:
        assert patch["path"] == "/v1/partner/interviews/77"
        assert patch["body"] == b""
        assert patch["content_type"] is None  # no body, so no Content-Type
        assert patch["authorization"] == GH["Authorization"]
    with p.web.session() as s:
        row = s.scalars(select(Outbox).where(Outbox.invitation_id == interview)).one()
        assert (row.event, row.attempts, row.delivered_at is not None) == (
            "greenhouse.completed",
            3,
            True,
        )

    # 5. Greenhouse, told, calls test_status
    r = p.client.get(BASE + "test_status", params={"partner_interview_id": interview}, headers=GH)
    assert r.status_code == 200
    doc = r.json()
    assert set(doc) == {"partner_status", "partner_profile_url", "partner_score", "metadata"}
    assert doc["partner_status"] == "complete"
    stored_doc = p.client.get(
        f"/v1/invitations/{interview}", headers={"Authorization": f"Bearer {KEY}"}
    ).json()["result"]
    fits = stored_doc["fit"]["candidates"][0]["fits"]
    assert [f["role"] for f in fits] == ["escalations-sjt"]
    assert doc["partner_score"] == round(fits[0]["fit"], 1)
    assert isinstance(doc["partner_score"], float)
    assert 0 <= doc["partner_score"] <= 100
    meta = doc["metadata"]
    assert all(isinstance(v, str | int | float | bool) for v in meta.values())  # flat
    profile = stored_doc["score"]["profiles"][0]
    q = p.web.service.catalogue.questionnaires["rep-hiring"]
    names = {sc.id: sc.name for sc in q.scales}
    types = [sc for sc in q.scales if sc.kind == "trait"]
    skills = [sc for sc in q.scales if sc.kind == "skill"]
    assert len(types) == 7
    for scale in types:
        assert meta[f"{scale.name} (0-100)"] == round(profile["scales"][scale.id]["pomp"], 1)
    for scale in skills:
        pomp = profile["scales"][scale.id]["pomp"]
        assert meta[f"SJT {scale.name} (0-100)"] == round(pomp, 1)
    assert meta["Primary type"] == names[profile["primary_type"]]
    valid = profile["quality"]["valid"]
    assert meta["Response quality"] == ("valid" if valid else "flagged")
    assert meta["Questionnaire"] == f"rep-hiring {q.version}"

    # 6. the profile URL opens the report without a key, and is signed and expiring
    url = doc["partner_profile_url"]
    assert url.startswith("http://testserver/reports/")
    token = url.rsplit("/", 1)[1]
    with p.web.session() as s:
        inv = s.get(Invitation, interview)
        assert inv is not None
        completed = inv.completed_at
    assert completed is not None
    assert check_report_token(p.web.secret_key(), token, dt.datetime.now(dt.UTC)) == interview
    expires = dt.datetime.fromtimestamp(int(token.split(".")[1]), dt.UTC)
    assert expires == (completed.replace(tzinfo=dt.UTC) + dt.timedelta(days=30)).replace(
        microsecond=0
    )
    page = p.client.get(url.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Escalations" in page.text
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    # the same link on every poll (Greenhouse keeps the last one)
    again = p.client.get(
        BASE + "test_status", params={"partner_interview_id": interview}, headers=GH
    ).json()
    assert again == doc


def test_the_score_is_the_library_fit_for_the_tests_role(
    partner: Partner, greenhouse: FakeGreenhouse
) -> None:
    """partner_score is fit() of the stored answers for the test's role, to 1 decimal."""
    p = partner
    interview = send_test(p, greenhouse.url).json()["partner_interview_id"]
    send_due_emails(p.web)
    _take_all(p.site, token_from_mail(p, interview), random.Random(7))
    doc = p.client.get(
        BASE + "test_status", params={"partner_interview_id": interview}, headers=GH
    ).json()
    with p.web.session() as s:
        inv = s.get(Invitation, interview)
        assert inv is not None
        from repprofile.web._store import answer_record, stored_answers

        q = p.web.questionnaire(inv)
        result, _ = p.web.score(inv, answer_record(q, inv.candidate_id, stored_answers(s, inv.id)))
    role = p.web.service.catalogue.roles["escalations-sjt"]
    expected = float(fit(result, role).fit[0])
    assert doc["partner_score"] == round(expected, 1)


# ---------------------------------------------------------------------------- errors


def test_wrong_credentials_get_401_with_basic_challenge(partner: Partner) -> None:
    c = partner.client
    cases = {
        "none": {},
        "bearer": {"Authorization": f"Bearer {GH_KEY}"},
        "wrong key": basic("not-the-key-at-all-000"),
        "key in the password": basic("", GH_KEY),
        "a password too": basic(GH_KEY, "secret"),
        "malformed": {"Authorization": "Basic !!!notbase64"},
        "no colon": {"Authorization": "Basic " + base64.b64encode(GH_KEY.encode()).decode()},
    }
    details = {}
    for name, headers in cases.items():
        for method, path in (("GET", "list_tests"), ("GET", "test_status"), ("POST", "send_test")):
            r = c.request(
                method, BASE + path, headers=headers, json={} if method == "POST" else None
            )
            assert r.status_code == 401, (name, path, r.text)
            assert r.headers["www-authenticate"] == 'Basic realm="repprofile"'
            assert r.headers["content-type"].startswith("application/problem+json")
            details[name] = r.json()["detail"]
    assert "user name" in details["key in the password"]
    assert "empty password" in details["key in the password"]
    # a wrong key in the password field gets the same advice: it tells nothing of validity
    r = c.get(BASE + "list_tests", headers=basic("", "wrong-wrong-wrong-wrong"))
    assert r.json()["detail"] == details["key in the password"]
    assert details["wrong key"] == "missing or invalid key"
    assert "password of HTTP Basic must be empty" in details["a password too"]
    # the server's bearer API key is not a Greenhouse key when Greenhouse keys are set
    assert c.get(BASE + "list_tests", headers=basic(KEY)).status_code == 401


def test_missing_interview_id_unknown_test_and_foreign_order(
    partner: Partner, greenhouse: FakeGreenhouse
) -> None:
    c = partner.client
    r = c.get(BASE + "test_status", headers=GH)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "partner_interview_id"]
    r = c.get(BASE + "test_status", params={"partner_interview_id": "inv_nope"}, headers=GH)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    r = send_test(partner, greenhouse.url, partner_test_id="no-such-test")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "partner_test_id"]
    assert "list_tests" in r.json()["errors"][0]["msg"]
    # an order of one organisation's key is unknown to another organisation's key
    interview = send_test(partner, greenhouse.url).json()["partner_interview_id"]
    r = c.get(
        BASE + "test_status",
        params={"partner_interview_id": interview},
        headers=basic(OTHER_GH_KEY),
    )
    assert r.status_code == 404
    # an invitation made through the API is not a Greenhouse order
    r = c.post(
        "/v1/invitations",
        json={"candidate_id": "x", "questionnaire": "rep-types"},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    api_id = r.json()["invitation_id"]
    r = c.get(BASE + "test_status", params={"partner_interview_id": api_id}, headers=GH)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"candidate": {"first_name": "A"}}, ["body", "candidate", "email"]),
        ({"candidate": {"email": "not an address"}}, ["body", "candidate", "email"]),
        ({"url": None}, ["body", "url"]),
        ({"url": "ftp://example.com/x"}, ["body", "url"]),
        ({"partner_test_id": None}, ["body", "partner_test_id"]),
    ],
)
def test_send_test_bad_bodies_are_422(
    partner: Partner, greenhouse: FakeGreenhouse, change: dict[str, Any], loc: list[str]
) -> None:
    body: dict[str, Any] = {
        "partner_test_id": "escalations",
        "candidate": {"email": "a@example.com"},
        "url": greenhouse.url,
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = partner.client.post(BASE + "send_test", json=body, headers=GH)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


def test_a_repeated_send_test_answers_the_same_order_and_sends_one_email(
    partner: Partner, greenhouse: FakeGreenhouse
) -> None:
    p = partner
    first = send_test(p, greenhouse.url).json()["partner_interview_id"]
    again = send_test(p, greenhouse.url, email_="ANN.LEE@example.com").json()
    assert again == {"partner_interview_id": first}
    with p.web.session() as s:
        assert len(s.scalars(select(AtsOrder)).all()) == 1
        actions = [a.action for a in s.scalars(select(AccessLog))]
        assert actions.count("greenhouse.send_test.repeat") == 1
    assert send_due_emails(p.web) == 1
    assert len(list(p.mail.glob(f"{first}.invitation*.eml"))) == 1
    # another test, or another order URL, is a new order
    other = send_test(p, greenhouse.url, partner_test_id="retention-sjt").json()
    assert other["partner_interview_id"] != first
    # once the order is withdrawn, the same request makes a new one
    r = p.client.post(
        f"/v1/invitations/{first}/withdraw", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert r.status_code == 200
    fresh = send_test(p, greenhouse.url).json()["partner_interview_id"]
    assert fresh not in (first, other["partner_interview_id"])
    r = p.client.get(BASE + "test_status", params={"partner_interview_id": first}, headers=GH)
    assert r.json()["partner_status"] == "withdrawn"


def test_send_test_without_email_is_503(db_url: str, tmp_path: Path) -> None:
    gen = _partner(db_url, tmp_path, smtp_dry_run=None)
    p = next(gen)
    try:
        body = {
            "partner_test_id": "escalations",
            "candidate": {"email": "a@example.com"},
            "url": "http://127.0.0.1:9/x",
        }
        r = p.client.post(BASE + "send_test", json=body, headers=GH)
        assert r.status_code == 503
        assert r.json()["code"] == "email_not_configured"
        with p.web.session() as s:
            assert s.scalars(select(Invitation)).all() == []
    finally:
        gen.close()


def test_response_error_is_accepted_and_logged(
    partner: Partner, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"partner_interview_id": "inv_x", "errors": [{"message": "partner_profile_url"}]}
    with caplog.at_level("WARNING", logger="repprofile.web.greenhouse"):
        r = partner.client.post(BASE + "response_error", json=body, headers=GH)
    assert r.status_code == 200
    assert r.json() == {}
    assert "inv_x" in caplog.text
    assert "partner_profile_url" in caplog.text
    with partner.web.session() as s:
        rows = [a for a in s.scalars(select(AccessLog)) if a.action == "greenhouse.response_error"]
        assert len(rows) == 1
        assert rows[0].invitation_id == "inv_x"
    r = partner.client.post(BASE + "response_error", content=b"[1, 2]", headers=GH)
    assert r.status_code == 422


def test_a_key_no_longer_configured_gives_the_patch_up_with_a_reason(
    db_url: str, tmp_path: Path, greenhouse: FakeGreenhouse, caplog: pytest.LogCaptureFixture
) -> None:
    gen = _partner(db_url, tmp_path)
    p = next(gen)
    try:
        interview = send_test(p, greenhouse.url).json()["partner_interview_id"]
        send_due_emails(p.web)
        _take_all(p.site, token_from_mail(p, interview), random.Random(3))
        p.web.ats_keys = {}  # the organisation's key was removed from the configuration
        with caplog.at_level("ERROR", logger="repprofile.web.outbox"):
            assert deliver_due(p.web) == 0
        assert "no longer configured" in caplog.text
        assert GH_KEY not in caplog.text
        assert greenhouse.patches == []
        with p.web.session() as s:
            row = s.scalars(select(Outbox)).one()
            assert row.attempts == p.web.settings.webhook_max_attempts
            assert row.delivered_at is None
            assert "no longer configured" in (row.last_error or "")
    finally:
        gen.close()


# ---------------------------------------------------------------------------- the catalogue


def test_a_tests_file_defines_the_catalogue_and_bad_files_say_what_is_wrong(
    tmp_path: Path, partner: Partner
) -> None:
    catalogue = partner.web.service.catalogue
    good = tmp_path / "ats.yaml"
    good.write_text(
        "tests:\n"
        "  - id: frontline-2027\n"
        "    name: Frontline reps, 2027 hiring\n"
        "    questionnaire: rep-types\n"
        "    role: general-frontline\n"
        "    expires_in_days: 7\n"
        "  - id: escalations\n"
        "    name: Escalations desk\n"
        "    questionnaire: rep-hiring\n"
        "    role: escalations-sjt\n",
        encoding="utf-8",
    )
    tests = load_catalogue(good, catalogue)
    assert tests.listing() == [
        {"partner_test_id": "frontline-2027", "partner_test_name": "Frontline reps, 2027 hiring"},
        {"partner_test_id": "escalations", "partner_test_name": "Escalations desk"},
    ]
    assert tests.by_id["frontline-2027"].expires_in_days == 7
    from repprofile._errors import InputError

    bad = {
        "role: escalations-sjt\n": "applies to questionnaire 'rep-hiring', not 'rep-types'",
        "role: nope\n": "unknown role 'nope'",
    }
    for role_line, message in bad.items():
        f = tmp_path / "bad.yaml"
        f.write_text(
            f"tests:\n  - id: t1\n    name: T\n    questionnaire: rep-types\n    {role_line}",
            encoding="utf-8",
        )
        with pytest.raises(InputError, match=message) as info:
            load_catalogue(f, catalogue)
        assert "tests[0] ('t1')" in str(info.value)
        assert str(f) in str(info.value)
    f = tmp_path / "dup.yaml"
    one = "  - id: t1\n    name: T\n    questionnaire: rep-types\n    role: retention\n"
    f.write_text("tests:\n" + one + one, encoding="utf-8")
    with pytest.raises(InputError, match="used twice"):
        load_catalogue(f, catalogue)


def test_server_api_keys_serve_greenhouse_when_no_greenhouse_keys_are_set(
    db_url: str, tmp_path: Path
) -> None:
    long_key = "L" * 200  # too long for Greenhouse: left out, the server still starts
    engine = make_engine(db_url)
    ws = WebSettings(database_url=db_url, smtp_dry_run=tmp_path / "m", secret_key="s" * 40)
    app = create_web_app(ServerSettings(api_keys=(KEY, long_key)), ws, engine=engine)
    try:
        with TestClient(app) as c:
            assert c.get(BASE + "list_tests", headers=basic(KEY)).status_code == 200
            assert c.get(BASE + "list_tests", headers=basic(long_key)).status_code == 401
    finally:
        engine.dispose()
    from repprofile._errors import InputError

    with pytest.raises(InputError, match="16 to 170 characters"):
        create_web_app(
            ServerSettings(api_keys=(KEY,)),
            WebSettings(database_url=db_url, greenhouse_keys=("short",)),
            engine=make_engine("sqlite://"),
        )
