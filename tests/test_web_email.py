"""Candidate emails (issue 18): the invitation and the reminder, sent from the email
outbox to a real SMTP server on 127.0.0.1 (aiosmtpd), which refuses the first attempt;
a restart in between; exactly one message per event arrives. Reminders after N days and
none after completion, expiry, withdrawal or erasure; STARTTLS with a test CA and no
plain-text fallback; the dry-run files; replaceable templates; the API's fields."""

from __future__ import annotations

import datetime as dt
import email
import random
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("aiosmtpd")

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from repprofile._errors import InputError
from repprofile.server import ServerSettings
from repprofile.server._service import Service
from repprofile.web import WebSettings, create_web_app
from repprofile.web._db import EmailOutbox, Invitation, as_utc
from repprofile.web._mail import MailTemplates, send_due_emails, transport_for
from repprofile.web._service import WebService
from repprofile.web._store import NewInvitation, create_invitation, erase, withdraw

from .test_web_pages import Site, _take_all

KEY = "k" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """What the SMTP server accepted (parsed), and how many DATA commands it refused."""

    refuse: int = 0
    refused: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd calls this name)
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox(refuse=1)
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def web_for(db_url: str, engine: Engine, **settings: Any) -> WebService:
    values: dict[str, Any] = {
        "database_url": db_url,
        "public_url": "https://assess.example.com",
        "secret_key": "s" * 40,
        "reminder_days": 3,
        "webhook_backoff": 30,
        "mail_from": "Hiring team <hiring@example.com>",
    }
    return WebService(WebSettings(**(values | settings)), Service(ServerSettings()), engine)


def invite(
    web: WebService, now: dt.datetime = T0, email_: str = "ann.lee@example.com", days: int = 14
) -> tuple[str, str]:
    q = web.service.catalogue.questionnaires["rep-types"]
    plan = web.email_plan()
    assert plan is not None
    with web.session() as s:
        inv, token, _ = create_invitation(
            s,
            NewInvitation(
                "cand-1",
                q,
                ("escalations",),
                expires_at=now + dt.timedelta(days=days),
                candidate_email=email_,
                candidate_name="Ann",
            ),
            "test",
            now=now,
            emails=plan,
        )
        assert token is not None
        return inv.id, token


def rows(web: WebService) -> list[EmailOutbox]:
    with web.session() as s:
        return list(s.scalars(select(EmailOutbox).order_by(EmailOutbox.id)))


def at(days: float = 0, seconds: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, seconds=seconds)


# ---------------------------------------------------------------------------- SMTP


def test_one_message_per_event_after_a_refusal_and_a_restart(
    db_url: str, web_engine: Engine, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    url = f"smtp+plain://127.0.0.1:{port}"
    first = web_for(db_url, web_engine, smtp_url=url)
    inv_id, token = invite(first)
    queued = rows(first)
    assert [(r.kind, as_utc(r.next_attempt_at)) for r in queued] == [
        ("invitation", at()),
        ("reminder", at(days=3)),
    ]
    ids = {r.kind: r.message_id for r in queued}

    assert send_due_emails(first, at(seconds=1)) == 1  # refused (451)
    assert box.received == []
    r = rows(first)[0]
    assert (r.attempts, r.delivered_at) == (1, None)
    assert r.last_error is not None
    assert r.last_error.startswith("SMTPDataError: 451")
    assert "ann.lee" not in r.last_error
    assert as_utc(r.next_attempt_at) == at(seconds=31)  # backoff 30 s from the pass's clock
    assert send_due_emails(first, at(seconds=30)) == 0  # not due yet

    second = web_for(db_url, web_engine, smtp_url=url)  # the restart
    assert send_due_emails(second, at(seconds=31)) == 1
    assert send_due_emails(second, at(seconds=3600)) == 0  # sent: never again
    assert len(box.received) == 1
    msg = box.received[0]
    assert msg["Message-ID"] == ids["invitation"]
    assert msg["To"] == "Ann <ann.lee@example.com>"
    assert msg["From"] == "Hiring team <hiring@example.com>"
    assert msg["Subject"] == "Your candidate assessment"
    assert box.envelopes[0] == ("hiring@example.com", ["ann.lee@example.com"])
    link = f"https://assess.example.com/take/{token}"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    assert link in text.get_content()
    assert f'href="{link}"' in html.get_content()
    assert "15 December 2026, 09:00 UTC" in text.get_content()  # the expiry
    sent = rows(second)[0]
    assert sent.token_sealed is None  # the link is not kept once sent

    # the reminder, three days later, to a candidate who has not finished
    assert send_due_emails(second, at(days=2.9)) == 0
    third = web_for(db_url, web_engine, smtp_url=url)
    assert send_due_emails(third, at(days=3)) == 1
    assert send_due_emails(third, at(days=4)) == 0
    assert [m["Message-ID"] for m in box.received] == [ids["invitation"], ids["reminder"]]
    reminder = box.received[1]
    assert reminder["Subject"] == "Reminder: your candidate assessment"
    body = reminder.get_body(("plain",))
    assert body is not None
    assert link in body.get_content()
    with second.session() as s:
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        assert inv.status == "created"


def test_starttls_is_required_and_the_certificate_checked(
    db_url: str, web_engine: Engine, tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))

    box = Mailbox()
    port = free_port()
    tls = Controller(
        box, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    plain_box = Mailbox()
    plain_port = free_port()
    plain = Controller(plain_box, hostname="127.0.0.1", port=plain_port)
    tls.start()
    plain.start()
    try:
        web = web_for(db_url, web_engine, smtp_url=f"smtp://127.0.0.1:{port}", smtp_cafile=cafile)
        invite(web)
        assert send_due_emails(web, at(seconds=1)) == 1
        assert len(box.received) == 1  # over STARTTLS, the test CA's certificate checked

        # a certificate from an unknown CA is a failed attempt
        other = web_for(db_url, web_engine, smtp_url=f"smtp://127.0.0.1:{port}")
        invite(other, email_="bo@example.com")
        assert send_due_emails(other, at(seconds=2)) == 1
        failed = [r for r in rows(other) if r.attempts == 1 and r.delivered_at is None]
        assert len(failed) == 1
        assert "SSLCertVerificationError" in (failed[0].last_error or "")

        # smtp:// to a server that offers no STARTTLS: never sent in plain text
        nostls = web_for(db_url, web_engine, smtp_url=f"smtp://127.0.0.1:{plain_port}")
        invite(nostls, email_="cy@example.com")
        send_due_emails(nostls, at(seconds=3))
        assert plain_box.received == []
        errors = [r.last_error or "" for r in rows(nostls) if r.delivered_at is None]
        assert any("STARTTLS" in e for e in errors)
    finally:
        tls.stop()
        plain.stop()


def test_smtp_urls() -> None:
    def parse(url: str, **extra: Any) -> Any:
        return transport_for(WebSettings(smtp_url=url, **extra))

    t = parse("smtp://mail.example.com")
    assert (t.scheme, t.host, t.port, t.username) == ("smtp", "mail.example.com", 587, None)
    assert parse("smtps://mail.example.com").port == 465
    assert parse("smtp+plain://localhost").port == 25
    t = parse("smtp://u%40x:p%3Aw@mail.example.com:2525")
    assert (t.port, t.username, t.password) == (2525, "u@x", "p:w")
    t = parse("smtp://u:p@mail.example.com", smtp_username="env-user", smtp_password="env-pw")
    assert (t.username, t.password) == ("env-user", "env-pw")
    with pytest.raises(InputError, match="expected smtp://HOST"):
        parse("http://mail.example.com")
    assert transport_for(WebSettings()) is None


# ---------------------------------------------------------------------------- reminders


@pytest.mark.parametrize("close", ["complete", "withdraw", "erase", "expire"])
def test_no_reminder_once_the_invitation_is_closed(
    db_url: str, web_engine: Engine, tmp_path: Path, close: str
) -> None:
    web = web_for(db_url, web_engine, smtp_dry_run=tmp_path / "mail", reminder_days=2)
    inv_id, _ = invite(web, days=2 if close == "expire" else 14)
    assert send_due_emails(web, at(seconds=1)) == 1
    if close == "expire":
        # due at expiry: no reminder is queued at all (it would arrive with a dead link)
        assert [r.kind for r in rows(web)] == ["invitation"]
        return
    with web.session() as s:
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        if close == "withdraw":
            assert withdraw(s, inv, "test")
        elif close == "erase":
            erase(s, inv, "test")
        else:
            s.execute(update(Invitation).where(Invitation.id == inv_id).values(status="completed"))
            s.commit()
    assert send_due_emails(web, at(days=2)) == 0  # cancelled (or deleted), none sent
    files = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    assert ".invitation." in files[0]
    left = rows(web)
    if close == "erase":
        assert left == []  # erased with the invitation
    else:
        reminder = next(r for r in left if r.kind == "reminder")
        assert reminder.cancelled_at is not None
        assert reminder.token_sealed is None
        expected = "withdrawn" if close == "withdraw" else "completed"
        assert reminder.last_error == f"cancelled: invitation {expected}"


def test_reminder_days_zero_queues_none(db_url: str, web_engine: Engine, tmp_path: Path) -> None:
    web = web_for(db_url, web_engine, smtp_dry_run=tmp_path, reminder_days=0)
    invite(web)
    assert [r.kind for r in rows(web)] == ["invitation"]


# ---------------------------------------------------------------------------- templates


def test_a_company_replaces_a_template(db_url: str, web_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "invitation.txt").write_text(
        "Hi {{ name }}! Acme Support is hiring. Your link: {{ link }} (until {{ expires }})\n",
        encoding="utf-8",
    )
    web = web_for(db_url, web_engine, smtp_dry_run=tmp_path / "out", email_templates=folder)
    _, token = invite(web)
    send_due_emails(web, at(seconds=1))
    (eml,) = (tmp_path / "out").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == (
        f"Hi Ann! Acme Support is hiring. Your link: https://assess.example.com/take/{token} "
        "(until 15 December 2026, 09:00 UTC)\n"
    )
    assert "Start the assessment" in html.get_content()  # the bundled HTML stays
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind

    (folder / "reminder.html").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(InputError, match=r"reminder.html line 1: the email template"):
        MailTemplates(folder).check()


def test_html_escapes_the_name(db_url: str, web_engine: Engine, tmp_path: Path) -> None:
    web = web_for(db_url, web_engine, smtp_dry_run=tmp_path)
    q = web.service.catalogue.questionnaires["rep-types"]
    plan = web.email_plan()
    with web.session() as s:
        create_invitation(
            s,
            NewInvitation("c", q, (), candidate_email="a@example.com", candidate_name="<b>x</b>"),
            "test",
            now=T0,
            emails=plan,
        )
    send_due_emails(web, at(seconds=1))
    (eml,) = tmp_path.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = msg.get_body(("html",))
    assert html is not None
    assert "&lt;b&gt;x&lt;/b&gt;" in html.get_content()
    assert "<b>x</b>" not in html.get_content()


# ---------------------------------------------------------------------------- the API


def test_api_candidate_email_and_the_emails_of_an_invitation(db_url: str, tmp_path: Path) -> None:
    from repprofile.web._db import make_engine

    engine = make_engine(db_url)
    ws = WebSettings(
        database_url=db_url,
        public_url="http://testserver",
        secure_cookies=False,
        outbox=False,
        smtp_dry_run=tmp_path / "mail",
        secret_key="s" * 40,
    )
    app = create_web_app(ServerSettings(api_keys=(KEY,)), ws, engine=engine)
    try:
        with TestClient(app, follow_redirects=False) as c:
            body = {
                "candidate_id": "c-1",
                "questionnaire": "rep-types",
                "roles": ["escalations"],
                "candidate_email": "ann.lee@example.com",
                "candidate_name": "Ann",
            }
            r = c.post("/v1/invitations", json=body, headers=AUTH)
            assert r.status_code == 201, r.text
            inv_id = r.json()["invitation_id"]
            doc = c.get(f"/v1/invitations/{inv_id}", headers=AUTH).json()
            assert [(e["kind"], e["status"], e["attempts"]) for e in doc["emails"]] == [
                ("invitation", "queued", 0),
                ("reminder", "queued", 0),
            ]
            assert "ann.lee" not in r.text + str(doc)  # the address is never returned
            web: WebService = app.state.web
            assert send_due_emails(web) == 1
            doc = c.get(f"/v1/invitations/{inv_id}", headers=AUTH).json()
            assert doc["emails"][0]["status"] == "sent"
            assert doc["emails"][0]["sent_at"] is not None
            token = r.json()["url"].rsplit("/", 1)[1]
            _take_all(Site(c, engine), token, random.Random(1))
            doc = c.get(f"/v1/invitations/{inv_id}", headers=AUTH).json()
            assert doc["status"] == "completed"
            assert doc["result_url"].startswith("http://testserver/reports/")
            listed = c.get("/v1/invitations", headers=AUTH).json()["invitations"][0]
            assert listed["emails"] is None

            bad = {**body, "candidate_email": "ann at example"}
            r = c.post("/v1/invitations", json=bad, headers=AUTH)
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["body", "candidate_email"]
    finally:
        engine.dispose()

    # a server that sends no email refuses candidate_email instead of dropping it
    engine = make_engine(db_url)
    ws2 = WebSettings(database_url=db_url, secret_key="s" * 40)
    app2 = create_web_app(ServerSettings(api_keys=(KEY,)), ws2, engine=engine)
    try:
        with TestClient(app2) as c:
            r = c.post("/v1/invitations", json=body, headers=AUTH)
            assert r.status_code == 422
            assert r.json()["errors"][0]["loc"] == ["body", "candidate_email"]
            assert "REPPROFILE_SMTP_URL" in r.json()["errors"][0]["msg"]
    finally:
        engine.dispose()


def test_a_changed_secret_key_cancels_instead_of_mailing_a_wrong_link(
    db_url: str, web_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = web_for(db_url, web_engine, smtp_dry_run=tmp_path)
    invite(old)
    new = web_for(db_url, web_engine, smtp_dry_run=tmp_path, secret_key="t" * 40)
    with caplog.at_level("ERROR", logger="repprofile.web.mail"):
        assert send_due_emails(new, at(seconds=1)) == 0
    assert list(tmp_path.glob("*.eml")) == []
    row = rows(new)[0]
    assert row.attempts == new.settings.webhook_max_attempts
    assert row.token_sealed is None
    assert row.last_error == "cannot build: the secret key changed since the email was queued"
    assert "secret key changed" in caplog.text


@pytest.mark.parametrize("name", ["Ann\r\nBcc: x@example.com", 'A "B"', "<Ann>", " ", "x" * 201])
def test_names_that_cannot_go_in_a_header_are_refused(name: str) -> None:
    from pydantic import ValidationError

    from repprofile.web._schemas import InvitationCreate, safe_display_name

    body = {"candidate_id": "c", "questionnaire": "rep-types", "candidate_name": name}
    with pytest.raises(ValidationError, match="candidate_name"):
        InvitationCreate.model_validate(body)
    assert safe_display_name(name) is None
    assert safe_display_name("  Ann-Marie O'Neil ") == "Ann-Marie O'Neil"


def test_cli_invite_with_email_queues_the_emails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from repprofile.cli import _main as cli

    monkeypatch.setenv("REPPROFILE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REPPROFILE_SMTP_DRY_RUN", "")
    monkeypatch.setenv("REPPROFILE_SMTP_URL", "")
    assert cli.main(["db", "upgrade"]) == 0
    argv = ["invite", "c-9", "--questionnaire", "rep-types", "--email", "ann@example.com"]
    assert cli.main(argv) == 2  # no email transport here: refused, not dropped
    assert "--email" in capsys.readouterr().err
    monkeypatch.setenv("REPPROFILE_SMTP_DRY_RUN", str(tmp_path / "mail"))
    assert cli.main([*argv, "--name", "Ann"]) == 0
    url = capsys.readouterr().out.strip()
    from repprofile.web._db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'repprofile.db'}")
    try:
        web = web_for(
            f"sqlite:///{tmp_path / 'data' / 'repprofile.db'}",
            engine,
            smtp_dry_run=tmp_path / "mail",
            secret_key=None,
            data_dir=tmp_path / "data",
            public_url="http://127.0.0.1:8000",
        )
        assert [r.kind for r in rows(web)] == ["invitation", "reminder"]
        assert send_due_emails(web) == 1  # the server's sender reads the CLI's sealed token
        (eml,) = (tmp_path / "mail").glob("*.eml")
        assert url in eml.read_text(encoding="utf-8")
    finally:
        engine.dispose()


def test_completion_cancels_the_reminder_at_once_and_times_stay_in_order(
    db_url: str, web_engine: Engine, tmp_path: Path
) -> None:
    web = web_for(db_url, web_engine, smtp_dry_run=tmp_path)
    inv_id, _ = invite(web)
    assert send_due_emails(web, at(seconds=5)) == 1
    sent = rows(web)[0]
    # the row shows when it was due, not the sending lease
    assert as_utc(sent.next_attempt_at) == at(seconds=5)
    assert sent.delivered_at is not None
    q = web.service.catalogue.questionnaires["rep-types"]
    from repprofile.web._store import complete

    with web.session() as s:
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        complete(s, inv, q, {"score": {}, "fit": None}, None, None, now=at(days=1))
    reminder = rows(web)[1]
    assert as_utc(reminder.cancelled_at) == at(days=1)  # at completion, not on its due date
    assert reminder.token_sealed is None
    assert reminder.last_error == "cancelled: invitation completed"


def test_a_template_error_is_a_retried_attempt_and_caught_at_start(
    db_url: str, web_engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "invitation.txt").write_text("Hello {{ nosuchvar }}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"invitation.txt: the email template .*nosuchvar"):
        MailTemplates(folder).check()
    web = web_for(db_url, web_engine, smtp_dry_run=tmp_path / "out", email_templates=folder)
    invite(web)
    assert send_due_emails(web, at(seconds=1)) == 1
    row = rows(web)[0]
    assert (row.attempts, row.delivered_at) == (1, None)
    assert row.token_sealed is not None  # kept: fixed templates send it on the next try
    assert row.last_error == "template invitation.txt: 'nosuchvar' is undefined"
    (folder / "invitation.txt").unlink()  # the company fixes its templates
    assert send_due_emails(web, at(seconds=31)) == 1
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1
