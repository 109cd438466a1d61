"""Candidate emails (repprofile/web/_mail.py): the invitation and the reminder reach a real
SMTP server on 127.0.0.1 (STARTTLS with a test certificate, TLS, plain), a refused first
attempt and a restart in between still deliver exactly one message per event, no reminder
after completion, expiry, withdrawal or erasure, dry-run files, replaceable templates, and
``candidate_email`` on the invitations API."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("fastapi")
from repprofile._errors import InputError
from repprofile.server import ServerSettings
from repprofile.server._service import Service
from repprofile.web import WebSettings
from repprofile.web._db import EmailOutbox, Invitation, as_utc, make_engine
from repprofile.web._mail import (
    MailError,
    MailTemplates,
    SmtpTarget,
    parse_smtp_url,
    send_due_emails,
    send_smtp,
)
from repprofile.web._service import WebService
from repprofile.web._store import (
    AnswerIn,
    NewInvitation,
    create_invitation,
    erase,
    save_answers,
    withdraw,
)

from .conftest import WEB_KEY

trustme = pytest.importorskip("trustme")

USER, PASSWORD = "mailer", "s3cret-pass"
ADDRESS = "ana.lima@example.org"


# ---------------------------------------------------------------------------- SMTP server


@dataclass
class Smtp:
    """What the test SMTP server saw: delivered messages, refusals, logins."""

    refuse: int = 0
    """How many DATA commands to answer 451 before accepting."""
    mode: str = "starttls"
    """starttls (offers STARTTLS), tls (TLS on connect), plain (no TLS offered)."""
    context: ssl.SSLContext | None = None
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refused: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    tls_used: list[bool] = field(default_factory=list)
    port: int = 0
    sessions: int = 0
    """Connections accepted."""


class _Handler(socketserver.BaseRequestHandler):
    """A small SMTP server: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT."""

    server: Any

    def handle(self) -> None:
        state: Smtp = self.server.state
        state.sessions += 1
        self.sock: socket.socket = self.request
        self.tls = False
        if state.mode == "tls":
            assert state.context is not None
            self.sock = state.context.wrap_socket(self.sock, server_side=True)
            self.tls = True
        self.reader = self.sock.makefile("rb")
        try:
            self._session(state)
        finally:
            self.reader.close()
            if self.sock is not self.request:
                self.sock.close()

    def say(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\r\n")

    def _session(self, state: Smtp) -> None:
        self.say("220 test.local ESMTP")
        sender, rcpts = "", list[str]()
        while True:
            line = self.reader.readline()
            if not line:
                return
            cmd = line.decode().rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                ext = ["test.local"]
                if state.mode == "starttls" and not self.tls:
                    ext.append("STARTTLS")
                ext.append("AUTH PLAIN")
                for i, e in enumerate(ext):
                    self.say(("250 " if i == len(ext) - 1 else "250-") + e)
            elif verb == "STARTTLS" and state.mode == "starttls" and not self.tls:
                self.say("220 go ahead")
                assert state.context is not None
                self.reader.close()
                self.sock = state.context.wrap_socket(self.sock, server_side=True)
                self.reader = self.sock.makefile("rb")
                self.tls = True
            elif verb == "AUTH":
                raw = base64.b64decode(cmd.split(" ")[2]).split(b"\0")
                login = (raw[1].decode(), raw[2].decode())
                state.logins.append(login)
                self.say("235 2.7.0 ok" if login == (USER, PASSWORD) else "535 5.7.8 no")
            elif verb == "MAIL":
                sender, rcpts = cmd.split(":", 1)[1].strip().strip("<>"), []
                self.say("250 ok")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                self.say("250 ok")
            elif verb == "DATA":
                self.say("354 end with .")
                data = []
                while (chunk := self.reader.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                if state.refuse > 0:
                    state.refuse -= 1
                    state.refused += 1
                    self.say(f"451 4.3.0 <{rcpts[0]}> greylisted, try again later")
                else:
                    state.messages.append((sender, rcpts, b"".join(data)))
                    state.tls_used.append(self.tls)
                    self.say("250 2.0.0 queued")
            elif verb in ("RSET", "NOOP"):
                self.say("250 ok")
            elif verb == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = True


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def cafile(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _server_context(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def smtp_mode() -> str:
    """The SMTP server's mode (a test parametrizes it to change it)."""
    return "starttls"


@pytest.fixture
def smtp(ca: Any, smtp_mode: str) -> Iterator[Smtp]:
    """A running SMTP server on 127.0.0.1 (STARTTLS unless ``smtp_mode`` says otherwise)."""
    state = Smtp(mode=smtp_mode, context=_server_context(ca))
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc = Service(ServerSettings())
    yield svc
    svc.render_pool.close()


class Server:
    """One 'server process': a WebService with its own engine on the shared database."""

    def __init__(self, url: str, service: Service, data_dir: Path, **settings: Any) -> None:
        ws = WebSettings(
            database_url=url,
            data_dir=data_dir,
            public_url="https://jobs.example.com",
            webhook_backoff=30,
            outbox=False,
            **settings,
        )
        self.engine = make_engine(url)
        self.web = WebService(ws, service, self.engine)

    def close(self) -> None:
        self.engine.dispose()


def smtp_settings(smtp: Smtp, cafile: Path, scheme: str = "smtp") -> dict[str, Any]:
    return {
        "smtp_url": f"{scheme}://127.0.0.1:{smtp.port}",
        "smtp_username": USER,
        "smtp_password": PASSWORD,
        "smtp_cafile": cafile,
    }


def clock() -> Any:
    """``at(seconds)``: a fixed time that many seconds after a start one second from now."""
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)

    def at(seconds: float = 0, days: float = 0) -> dt.datetime:
        return t0 + dt.timedelta(seconds=seconds, days=days)

    return at


DAY = 86400


def invite(
    web: WebService, now: dt.datetime, expires_in: dt.timedelta = dt.timedelta(days=14)
) -> tuple[str, str]:
    """Invite Ana by email at ``now``: (invitation id, token)."""
    q = web.service.catalogue.questionnaires["rep-types"]
    with web.session() as s:
        inv, token, _ = create_invitation(
            s,
            NewInvitation(
                candidate_id="cand-1",
                questionnaire=q,
                roles=("escalations",),
                expires_at=now + expires_in,
                candidate_email=ADDRESS,
                candidate_name="Ana",
            ),
            "test",
            now=now,
            emails=web.email_plan(),
        )
        assert token is not None
        return inv.id, token


def rows(web: WebService) -> list[EmailOutbox]:
    with web.session() as s:
        return list(s.query(EmailOutbox).order_by(EmailOutbox.id))


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


# ---------------------------------------------------------------------------- delivery


def test_invitation_and_reminder_arrive_once_after_a_refusal_and_a_restart(
    db_url: str, service: Service, smtp: Smtp, cafile: Path, tmp_path: Path
) -> None:
    smtp.refuse = 1
    at = clock()
    first = Server(db_url, service, tmp_path, **smtp_settings(smtp, cafile))
    inv_id, token = invite(first.web, at(0))
    queued = rows(first.web)
    assert [(r.kind, r.attempts) for r in queued] == [("invitation", 0), ("reminder", 0)]
    assert as_utc(queued[0].next_attempt_at) == at(0)
    assert as_utc(queued[1].next_attempt_at) == at(days=3)  # reminder_days default 3

    # the first attempt is refused (451): nothing delivered, retried 30 s later
    assert send_due_emails(first.web, at(0)) == 1
    assert smtp.refused == 1
    assert smtp.messages == []
    row = rows(first.web)[0]
    assert row.attempts == 1
    assert row.delivered_at is None
    assert as_utc(row.next_attempt_at) == at(30)
    assert row.last_error is not None
    assert row.last_error.startswith("SMTP 451")
    assert ADDRESS not in row.last_error  # the server echoed the address: scrubbed
    assert row.token_sealed is not None
    first.close()

    # "restart": a new process on the same database and the same data dir (secret key)
    second = Server(db_url, service, tmp_path, **smtp_settings(smtp, cafile))
    assert send_due_emails(second.web, at(29)) == 0
    assert send_due_emails(second.web, at(30)) == 1
    assert send_due_emails(second.web, at(31)) == 0
    assert len(smtp.messages) == 1
    sender, rcpts, raw = smtp.messages[0]
    assert (sender, rcpts) == ("no-reply@jobs.example.com", [ADDRESS])
    assert smtp.tls_used == [True]
    assert smtp.logins[-1] == (USER, PASSWORD)
    msg = parse(raw)
    sent_row = rows(second.web)[0]
    assert msg["Message-ID"] == sent_row.message_id
    assert sent_row.message_id.startswith(f"<{inv_id}.invitation.")
    assert sent_row.message_id.endswith("@jobs.example.com>")
    assert msg["To"] == f"Ana <{ADDRESS}>"
    assert msg["From"] == "repprofile <no-reply@jobs.example.com>"
    assert msg["Subject"] == "Your invitation to a short work-style assessment"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = bodies(msg)
    link = f"https://jobs.example.com/take/{token}"
    expires = at(days=14)
    human = f"{expires:%A} {expires.day} {expires:%B %Y, %H:%M} UTC"
    for body in (text, html):
        assert link in body
        assert human in body
        assert "Hello Ana," in body
        assert "reminder" not in body.lower()
    assert f'href="{link}"' in html
    assert (sent_row.attempts, sent_row.token_sealed) == (2, None)
    assert sent_row.last_error is None

    # the reminder: not before 3 days, then once
    assert send_due_emails(second.web, at(days=3) - dt.timedelta(seconds=1)) == 0
    assert send_due_emails(second.web, at(days=3)) == 1
    assert send_due_emails(second.web, at(days=4)) == 0
    assert len(smtp.messages) == 2
    reminder = parse(smtp.messages[1][2])
    assert reminder["Subject"] == "Reminder: your work-style assessment is waiting"
    assert reminder["Message-ID"] == rows(second.web)[1].message_id
    assert reminder["Message-ID"] != msg["Message-ID"]
    rtext, rhtml = bodies(reminder)
    assert "This is a reminder" in rtext
    assert link in rtext
    assert link in rhtml
    assert [r.delivered_at is not None for r in rows(second.web)] == [True, True]
    second.close()


def test_one_session_per_pass_and_a_new_one_after_a_refusal(
    db_url: str, service: Service, smtp: Smtp, cafile: Path, tmp_path: Path
) -> None:
    srv = Server(db_url, service, tmp_path, reminder_days=0, **smtp_settings(smtp, cafile))
    at = clock()
    for _ in range(3):
        invite(srv.web, at(0))
    smtp.refuse = 1  # the first message of the pass is refused; the session is dropped
    assert send_due_emails(srv.web, at(0)) == 3
    assert (smtp.refused, len(smtp.messages), smtp.sessions) == (1, 2, 2)
    assert [r.delivered_at is None for r in rows(srv.web)] == [True, False, False]
    assert send_due_emails(srv.web, at(30)) == 1  # the refused one, 30 s later
    assert (len(smtp.messages), smtp.sessions) == (3, 3)
    # the three messages went to the one address, each with its own Message-ID
    ids = {parse(raw)["Message-ID"] for _, _, raw in smtp.messages}
    assert ids == {r.message_id for r in rows(srv.web)}
    srv.close()


@pytest.mark.parametrize("event", ["completed", "expired", "withdrawn", "erased"])
def test_no_reminder_after(event: str, db_url: str, service: Service, tmp_path: Path) -> None:
    out = tmp_path / "mail"
    srv = Server(db_url, service, tmp_path, smtp_dry_run=out, reminder_days=1)
    at = clock()
    inv_id, _ = invite(srv.web, at(0), expires_in=dt.timedelta(days=2))
    assert send_due_emails(srv.web, at(0)) == 1
    assert len(list(out.glob("*.eml"))) == 1
    web = srv.web
    with web.session() as s:
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        if event == "completed":
            q = web.service.catalogue.questionnaires["rep-types"]
            answers = [AnswerIn(item, "", str(1 + i % 5)) for i, item in enumerate(q.item_ids)]
            save_answers(s, inv, q, answers)
            web.finish(s, inv)
        elif event == "withdrawn":
            assert withdraw(s, inv, "test")
        elif event == "erased":
            erase(s, inv, "test")
    # the reminder was due after one day; the pass runs at 2.5 days (after the expiry)
    when = at(days=2.5) if event == "expired" else at(days=1)
    assert send_due_emails(web, when) == 0
    assert len(list(out.glob("*.eml"))) == 1
    left = rows(web)
    if event == "erased":
        assert left == []  # erasure deletes the candidate's emails
    else:
        assert [(r.kind, r.delivered_at is None, r.cancelled_at is None) for r in left] == [
            ("invitation", False, True),
            ("reminder", True, False),
        ]
        assert left[1].last_error == f"cancelled: invitation {event}"
        assert left[1].token_sealed is None
        assert send_due_emails(web, at(days=3)) == 0  # never due again
    srv.close()


def test_a_link_sealed_with_another_secret_key_is_never_mailed(
    db_url: str, service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "mail"
    first = Server(db_url, service, tmp_path, smtp_dry_run=out, secret_key="a" * 40)
    at = clock()
    inv_id, _ = invite(first.web, at(0))
    first.close()
    other = Server(db_url, service, tmp_path, smtp_dry_run=out, secret_key="b" * 40)
    with caplog.at_level("ERROR", logger="repprofile.web.mail"):
        assert send_due_emails(other.web, at(0)) == 0
    assert not out.exists()
    row = rows(other.web)[0]
    assert row.cancelled_at is not None
    assert row.last_error == "cancelled: the link cannot be unsealed: the secret key changed"
    assert f"(invitation, {inv_id}): not sent" in caplog.text
    other.close()


def test_a_message_that_cannot_be_built_is_a_failed_attempt(
    db_url: str, service: Service, tmp_path: Path
) -> None:
    out = tmp_path / "mail"
    srv = Server(db_url, service, tmp_path, smtp_dry_run=out)
    at = clock()
    inv_id, _ = invite(srv.web, at(0))
    with srv.web.session() as s:  # a name the API would refuse (a header injection)
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        inv.candidate_name = "Ana\r\nBcc: someone@example.org"
        s.commit()
    assert send_due_emails(srv.web, at(0)) == 1
    row = rows(srv.web)[0]
    assert (row.attempts, row.delivered_at) == (1, None)
    assert row.last_error == "cannot build the message (ValueError)"
    assert as_utc(row.next_attempt_at) == at(30)
    assert not out.exists()
    srv.close()


def test_dry_run_file_is_the_whole_message(db_url: str, service: Service, tmp_path: Path) -> None:
    out = tmp_path / "new" / "mail"  # created on the first message
    srv = Server(db_url, service, tmp_path, smtp_dry_run=out, mail_from="Acme <jobs@acme.test>")
    at = clock()
    _, token = invite(srv.web, at(0))
    assert send_due_emails(srv.web, at(0)) == 1
    files = sorted(p.name for p in out.iterdir())
    row = rows(srv.web)[0]
    local = row.message_id.strip("<>").rpartition("@")[0]
    assert files == [f"{local}.eml"]  # no temporary file left beside it
    assert row.message_id.endswith("@acme.test>")  # the Message-ID domain of mail_from
    msg = parse((out / files[0]).read_bytes())
    assert msg["From"] == "Acme <jobs@acme.test>"
    assert msg["Message-ID"] == row.message_id
    assert f"https://jobs.example.com/take/{token}" in bodies(msg)[0]
    srv.close()


# ---------------------------------------------------------------------------- transports


def _message(to: str = ADDRESS) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "no-reply@example.com"
    msg["To"] = to
    msg["Subject"] = "hello"
    msg["Message-ID"] = "<m1@example.com>"
    msg.set_content("body")
    return msg


@pytest.mark.parametrize("smtp_mode", ["tls"])
def test_smtps_is_tls_from_the_first_byte(smtp: Smtp, cafile: Path) -> None:
    target = parse_smtp_url(f"smtps://127.0.0.1:{smtp.port}", USER, PASSWORD)
    send_smtp(target, _message(), cafile)
    assert smtp.tls_used == [True]
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("smtp_mode", ["plain"])
def test_smtp_url_refuses_a_server_without_starttls(smtp: Smtp, cafile: Path) -> None:
    target = parse_smtp_url(f"smtp://127.0.0.1:{smtp.port}")
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        send_smtp(target, _message(), cafile)
    assert smtp.messages == []
    # smtp+plain is the explicit choice of no TLS (a local relay)
    send_smtp(parse_smtp_url(f"smtp+plain://127.0.0.1:{smtp.port}"), _message(), None)
    assert smtp.tls_used == [False]


def test_certificate_of_another_ca_is_refused(smtp: Smtp, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    target = parse_smtp_url(f"smtp://127.0.0.1:{smtp.port}", USER, PASSWORD)
    with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
        send_smtp(target, _message(), other)
    assert smtp.messages == []


def test_wrong_password_is_a_failed_attempt(smtp: Smtp, cafile: Path) -> None:
    target = parse_smtp_url(f"smtp://127.0.0.1:{smtp.port}", USER, "wrong")
    with pytest.raises(MailError, match=r"^SMTP 535"):
        send_smtp(target, _message(), cafile)


def test_connection_refused_is_a_failed_attempt(cafile: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MailError, match="ConnectionRefusedError"):
        send_smtp(parse_smtp_url(f"smtp://127.0.0.1:{port}"), _message(), cafile)


@pytest.mark.parametrize(
    ("url", "user", "password", "expected"),
    [
        ("smtp://mail.example.com", None, None, ("smtp", "mail.example.com", 587, None, None)),
        ("smtps://mail.example.com", None, None, ("smtps", "mail.example.com", 465, None, None)),
        ("smtp+plain://localhost", None, None, ("smtp+plain", "localhost", 25, None, None)),
        ("SMTP://h:2525", None, None, ("smtp", "h", 2525, None, None)),
        ("smtp://u%40x:p%3Aw@h", None, None, ("smtp", "h", 587, "u@x", "p:w")),
        ("smtp://u:p@h", "env-user", "env-pass", ("smtp", "h", 587, "env-user", "env-pass")),
    ],
)
def test_parse_smtp_url(
    url: str, user: str | None, password: str | None, expected: tuple[Any, ...]
) -> None:
    t = parse_smtp_url(url, user, password)
    assert (t.scheme, t.host, t.port, t.username, t.password) == expected
    assert t.password is None or t.password not in repr(t)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h", "expected smtp://HOST"),
        ("smtp://", "expected a host name"),
        ("smtp://h:99999", "expected a port number"),
    ],
)
def test_parse_smtp_url_refuses(url: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_smtp_url(url)


def test_target_repr_hides_credentials() -> None:
    t = SmtpTarget("smtp", "h", 587, "user", "hunter2")
    assert "hunter2" not in repr(t)
    assert "user" not in repr(t)


# ---------------------------------------------------------------------------- templates


def test_a_replaced_template_is_used_and_the_others_stay_bundled(tmp_path: Path) -> None:
    (tmp_path / "invitation.txt").write_text("Hi {{ name }}: {{ take_url }} until {{ expires }}\n")
    templates = MailTemplates(tmp_path)
    templates.check()
    when = dt.datetime(2027, 1, 29, 17, 5, tzinfo=dt.UTC)
    subject, text, html = templates.render(
        "invitation", take_url="https://x/take/T", expires_at=when, name="Bo", locale=None
    )
    assert text == "Hi Bo: https://x/take/T until Friday 29 January 2027, 17:05 UTC\n"
    assert subject == "Your invitation to a short work-style assessment"
    assert 'href="https://x/take/T"' in html
    assert "Hello Bo," in html


def test_html_templates_escape_and_text_templates_do_not(tmp_path: Path) -> None:
    when = dt.datetime(2027, 1, 29, 17, 5, tzinfo=dt.UTC)
    _, text, html = MailTemplates().render(
        "reminder", take_url="https://x/take/T", expires_at=when, name="<b>Bo</b>", locale=None
    )
    assert "Hello &lt;b&gt;Bo&lt;/b&gt;," in html
    assert "<b>Bo</b>" not in html
    assert "Hello <b>Bo</b>," in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{% if %}", r"reminder\.html: line 1: .*expected a Jinja2 template"),
        ("{{ no_such_variable }}", r"reminder\.html: cannot render it .*no_such_variable"),
    ],
)
def test_a_broken_template_is_refused_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "reminder.html").write_text(content)
    with pytest.raises(InputError, match=message):
        MailTemplates(tmp_path).check()


def test_a_missing_template_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected a folder of email templates"):
        MailTemplates(tmp_path / "nope").check()


# ---------------------------------------------------------------------------- the API


@pytest.fixture
def mail_client(db_url: str, web_engine: Any, tmp_path: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from repprofile.web import create_web_app

    app = create_web_app(
        ServerSettings(api_keys=(WEB_KEY,)),
        WebSettings(
            database_url=db_url,
            data_dir=tmp_path,
            public_url="http://testserver",
            smtp_dry_run=tmp_path / "mail",
            outbox=False,
        ),
        engine=web_engine,
    )
    with TestClient(app, headers={"Authorization": f"Bearer {WEB_KEY}"}) as c:
        yield c


def test_api_queues_the_emails_and_shows_them_without_the_address(
    mail_client: Any, tmp_path: Path
) -> None:
    body = {
        "candidate_id": "c-1",
        "questionnaire": "rep-types",
        "candidate_email": ADDRESS,
        "candidate_name": "Ana",
    }
    r = mail_client.post("/v1/invitations", json=body)
    assert r.status_code == 201, r.text
    inv_id = r.json()["invitation_id"]
    doc = mail_client.get(f"/v1/invitations/{inv_id}").json()
    assert [(e["kind"], e["status"], e["sent_at"]) for e in doc["emails"]] == [
        ("invitation", "queued", None),
        ("reminder", "queued", None),
    ]
    assert all(e["message_id"].startswith(f"<{inv_id}.") for e in doc["emails"])
    assert ADDRESS not in r.text + str(doc)
    assert "Ana" not in str(doc)
    web = mail_client.app.state.web
    assert send_due_emails(web) == 1
    doc = mail_client.get(f"/v1/invitations/{inv_id}").json()
    assert [e["status"] for e in doc["emails"]] == ["sent", "queued"]
    assert doc["emails"][0]["sent_at"] is not None
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
    listed = mail_client.get("/v1/invitations").json()["invitations"]
    assert [e["status"] for e in listed[0]["emails"]] == ["sent", "queued"]
    w = mail_client.post(f"/v1/invitations/{inv_id}/withdraw").json()
    assert [e["status"] for e in w["emails"]] == ["sent", "cancelled"]
    # no email: no rows
    plain = mail_client.post(
        "/v1/invitations", json={"candidate_id": "c-2", "questionnaire": "rep-types"}
    )
    doc2 = mail_client.get(f"/v1/invitations/{plain.json()['invitation_id']}").json()
    assert doc2["emails"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("candidate_email", "not-an-address"),
        ("candidate_email", "a@b"),
        ("candidate_email", "Ana <ana@example.org>"),
        ("candidate_email", "a@example.org, b@example.org"),
        ("candidate_email", "a" * 310 + "@example.org"),
        ("candidate_name", "x" * 201),
        ("candidate_name", "Ana\r\nBcc: x@example.org"),
    ],
)
def test_api_refuses_a_bad_address_or_name(mail_client: Any, field: str, value: str) -> None:
    body = {"candidate_id": "c-1", "questionnaire": "rep-types", "candidate_email": ADDRESS}
    body[field] = value
    r = mail_client.post("/v1/invitations", json=body)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", field]]


# ---------------------------------------------------------------------------- the worker


def test_the_app_s_worker_sends_what_was_queued_before_it_started(
    db_url: str, web_engine: Any, service: Service, tmp_path: Path
) -> None:
    import time

    from fastapi.testclient import TestClient

    from repprofile.web import create_web_app

    out = tmp_path / "mail"
    srv = Server(db_url, service, tmp_path, smtp_dry_run=out)
    invite(srv.web, clock()(0) - dt.timedelta(seconds=2))
    srv.close()
    app = create_web_app(
        ServerSettings(api_keys=(WEB_KEY,)),
        WebSettings(database_url=db_url, data_dir=tmp_path, smtp_dry_run=out),
        engine=web_engine,
    )
    assert app.state.mail_worker is not None
    with TestClient(app):
        deadline = time.monotonic() + 20  # a liveness bound, not a speed check
        while not list(out.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(list(out.glob("*.eml"))) == 1


def test_no_worker_without_email(web_app: Any) -> None:
    assert getattr(web_app.state, "mail_worker", None) is None


def test_the_app_refuses_a_broken_template_folder(db_url: str, tmp_path: Path) -> None:
    from repprofile.web import create_web_app

    (tmp_path / "invitation.html").write_text("{% for %}")
    with pytest.raises(InputError, match=r"invitation\.html: line 1"):
        create_web_app(
            ServerSettings(api_keys=(WEB_KEY,)),
            WebSettings(
                database_url=db_url,
                smtp_dry_run=tmp_path / "mail",
                email_templates=tmp_path,
            ),
        )


# ---------------------------------------------------------------------------- the CLI


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from repprofile.cli import main

    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_invite_email_queues_what_the_server_sends(
    db_url: str,
    service: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("REPPROFILE_DATABASE_URL", "REPPROFILE_SECRET_KEY", "REPPROFILE_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPPROFILE_PUBLIC_URL", "https://jobs.example.com")
    monkeypatch.setenv("REPPROFILE_DATA_DIR", str(tmp_path))
    base = ("invite", "c-9", "-q", "rep-types", "--database-url", db_url)
    code, _, err = _run(capsys, *base, "--email", ADDRESS)
    assert code == 2
    assert "--email: this environment sends no email" in err
    code, _, err = _run(capsys, *base, "--name", "Ana")
    assert code == 2
    assert "give --email too" in err
    code, _, err = _run(capsys, *base, "--email", "nope")
    assert code == 2
    assert "candidate_email" in err

    out_dir = tmp_path / "mail"
    monkeypatch.setenv("REPPROFILE_SMTP_DRY_RUN", str(out_dir))
    code, link, _ = _run(capsys, *base, "--email", ADDRESS, "--name", "Ana")
    assert code == 0
    # the server (same data dir: same secret key) sends it with the link printed
    srv = Server(db_url, service, tmp_path, smtp_dry_run=out_dir)
    assert [r.kind for r in rows(srv.web)] == ["invitation", "reminder"]
    assert send_due_emails(srv.web) == 1
    (path,) = out_dir.glob("*.eml")
    msg = parse(path.read_bytes())
    assert msg["To"] == f"Ana <{ADDRESS}>"
    assert link.strip() in bodies(msg)[0]
    srv.close()
