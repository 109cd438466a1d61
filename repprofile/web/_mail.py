"""Candidate emails: the invitation and the reminder, sent from the ``email_outbox`` table.

Rows are queued with the invitation (:func:`repprofile.web._store.queue_emails`): the
invitation email due at once, the reminder ``reminder_days`` later (when that is before
the link expires). Each server process runs a :class:`MailWorker` thread; a pass
(:func:`send_due_emails`):

* claims due rows with the lease the webhook outbox uses
  (:func:`repprofile.web._outbox.claim_due`), so two processes never send one message;
* cancels a row whose invitation is no longer ``created`` or ``started`` (no reminder
  after completion, expiry or withdrawal; an erased invitation's rows are deleted);
* unseals the link token (kept sealed with the server's secret key, wiped once sent),
  renders the message from templates a company may replace, and sends it over SMTP
  (``REPPROFILE_SMTP_URL``) or writes it to a file (``--smtp-dry-run DIR``);
* records the outcome: sent, or the next attempt ``backoff * 2**(attempts - 1)`` seconds
  later (``REPPROFILE_WEBHOOK_BACKOFF``, at most one hour), given up after
  ``REPPROFILE_WEBHOOK_MAX_ATTEMPTS`` attempts.

A failing SMTP server or a restart delays mail but loses none: the state is in the
database. Every message carries its own ``Message-ID``, the same on every attempt, so a
mail system that receives one twice (the server accepted it, then this process died
before recording so) can tell. Logs name the row, the invitation and the kind, never the
address, the name or the link.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import os
import smtplib
import ssl
import tempfile
import time
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)

from repprofile._errors import InputError
from repprofile.web._db import EmailOutbox, Invitation, as_utc, utcnow
from repprofile.web._i18n import catalogue
from repprofile.web._outbox import (
    LEASE,
    PassWorker,
    backoff_delay,
    claim_due,
    renew_lease,
    update_held,
)
from repprofile.web._store import (
    ACTIVE,
    email_seal_key,
    hash_token,
    refresh_status,
    unseal_token,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from repprofile.web._service import WebService
    from repprofile.web._settings import WebSettings

__all__ = [
    "TEMPLATE_NAMES",
    "DryRunTransport",
    "MailTemplates",
    "MailWorker",
    "SmtpTransport",
    "add_mail_worker",
    "build_message",
    "send_due_emails",
    "transport_for",
]

log = logging.getLogger("repprofile.web.mail")

BUNDLED = Path(__file__).parent / "templates" / "email"
TEMPLATE_NAMES = ("invitation.txt", "invitation.html", "reminder.txt", "reminder.html")
"""The templates of the two emails; a company's folder may replace any of them (and
``_layout.html``, the frame of the HTML ones)."""
SMTP_TIMEOUT = 30.0
# Header lines up to RFC 5322's 998 characters: a folded Message-ID comes back from some
# parsers with a leading space, and a receiver comparing ids would miss a repeat.
MESSAGE_POLICY = email.policy.default.clone(max_line_length=998)


# ---------------------------------------------------------------------------- templates


class MailTemplates:
    """The email templates: the bundled ones, each replaced by the file of the same name
    in ``folder`` when there is one. Text templates are not escaped; HTML templates are
    (a candidate's name cannot inject markup). Templates use ``t(key, **values)`` for the
    strings of ``locales/*.json`` and get ``name`` (first name or None), ``link``,
    ``expires`` (date and time, UTC), ``minutes`` (or None), ``subject``, ``lang``,
    ``kind``."""

    def __init__(self, folder: Path | None = None) -> None:
        loaders: list[Any] = []
        if folder is not None:
            if not folder.is_dir():
                raise InputError(f"{folder}: the email templates folder does not exist")
            loaders.append(FileSystemLoader(str(folder)))
        loaders.append(FileSystemLoader(str(BUNDLED)))
        loader = ChoiceLoader(loaders)
        self.text = Environment(
            loader=loader, autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
        )
        self.html = Environment(
            loader=loader,
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
        )
        self.folder = folder

    def check(self) -> None:
        """Parse and render every template now (at start-up), with sample values:
        :class:`InputError` naming the file (and the line) of a template that does not
        parse or uses a variable that does not exist."""
        cat = catalogue(None)
        sample = {
            "t": cat.t,
            "lang": cat.lang,
            "subject": "Subject",
            "name": "Ann",
            "link": "https://assess.example.com/take/TOKEN",
            "expires": "18 December 2026, 17:00 UTC",
            "minutes": 10,
        }
        for name in TEMPLATE_NAMES:
            env = self.html if name.endswith(".html") else self.text
            try:
                env.get_template(name).render({**sample, "kind": name.split(".")[0]})
            except TemplateError as exc:
                where = self.folder / name if self.folder else BUNDLED / name
                line = getattr(exc, "lineno", None)
                at = f" line {line}" if line else ""
                raise InputError(
                    f"{where}{at}: the email template does not parse ({exc})"
                ) from None

    def render(self, kind: str, context: dict[str, Any]) -> tuple[str, str]:
        """(text, HTML) of the ``kind`` email (``invitation`` or ``reminder``)."""
        out: list[str] = []
        for name, env in ((f"{kind}.txt", self.text), (f"{kind}.html", self.html)):
            try:
                out.append(env.get_template(name).render(context))
            except TemplateError as exc:
                if getattr(exc, "name", None) is None:  # UndefinedError names no file
                    exc.name = name  # type: ignore[attr-defined]
                raise
        return out[0], out[1]


def _format_time(when: dt.datetime) -> str:
    """``4 December 2026, 15:22 UTC``."""
    utc = when.astimezone(dt.UTC)
    return f"{utc.day} {utc:%B %Y, %H:%M} UTC"


def build_message(
    web: WebService,
    templates: MailTemplates,
    row: EmailOutbox,
    inv: Invitation,
    token: str,
    now: dt.datetime,
) -> EmailMessage:
    """The ``row``'s message to the invitation's candidate, with the link for ``token``."""
    from repprofile.web._pages import estimated_minutes

    cat = catalogue(inv.locale)
    kind = row.kind
    subject = cat.t(f"email.{kind}.subject")
    try:
        minutes = estimated_minutes(web.questionnaire(inv))
    except InputError:
        minutes = None
    expires = as_utc(inv.expires_at) or now
    context = {
        "t": cat.t,
        "lang": cat.lang,
        "kind": kind,
        "subject": subject,
        "name": inv.candidate_name,
        "link": web.settings.take_url(token),
        "expires": _format_time(expires),
        "minutes": minutes,
    }
    text, html = templates.render(kind, context)
    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["Subject"] = subject
    msg["From"] = web.settings.sender
    to = inv.candidate_email or ""
    msg["To"] = Address(display_name=inv.candidate_name or "", addr_spec=to)
    msg["Date"] = format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = row.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


# ---------------------------------------------------------------------------- transports


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None:
        """Hand ``msg`` over, or raise (:class:`OSError`, :class:`smtplib.SMTPException`)."""


@dataclass(frozen=True)
class SmtpTransport:
    """SMTP: ``smtp://HOST[:587]`` with STARTTLS (required: a server that does not offer
    it is a failure, never a plain-text fallback), ``smtps://HOST[:465]`` with TLS from the
    start, or ``smtp+plain://HOST[:25]`` without TLS (a relay on this machine only).
    Certificates are checked (``cafile`` adds a CA bundle). Credentials: ``username`` and
    ``password`` (``REPPROFILE_SMTP_USERNAME`` / ``REPPROFILE_SMTP_PASSWORD``, or the
    URL's user information)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    cafile: Path | None = None
    timeout: float = SMTP_TIMEOUT

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)

    def send(self, msg: EmailMessage) -> None:
        """Send ``msg`` in one SMTP session."""
        client: smtplib.SMTP
        if self.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if self.scheme == "smtp":
                if not client.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "the SMTP server does not offer STARTTLS; use smtps:// for TLS from "
                        "the start, or smtp+plain:// for a relay on this machine"
                    )
                client.starttls(context=self._context())
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(msg)


@dataclass(frozen=True)
class DryRunTransport:
    """Write each message to ``folder/<Message-ID local part>.eml`` instead of sending
    it (a first look, or tests): written to a temporary file in the folder, then renamed,
    so a reader never sees half a message."""

    folder: Path

    def send(self, msg: EmailMessage) -> None:
        """Write ``msg`` as an .eml file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(msg["Message-ID"]).strip("<>").split("@", 1)[0] + ".eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(msg.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


_SCHEMES = {"smtp": 587, "smtps": 465, "smtp+plain": 25}


def transport_for(st: WebSettings) -> Transport | None:
    """The transport of the settings (dry run first); None when no email is sent.
    :class:`InputError` for an SMTP URL that is not one of the three forms."""
    if st.smtp_dry_run is not None:
        return DryRunTransport(st.smtp_dry_run)
    if st.smtp_url is None:
        return None
    parts = urlsplit(st.smtp_url.get_secret_value())
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise InputError(
            "REPPROFILE_SMTP_URL: expected smtp://HOST[:PORT] (STARTTLS), smtps://HOST[:PORT] "
            "(TLS) or smtp+plain://HOST[:PORT] (no TLS, a relay on this machine), got a URL "
            f"with scheme {parts.scheme!r}"
        )
    try:
        port = parts.port or _SCHEMES[parts.scheme]
    except ValueError:
        raise InputError("REPPROFILE_SMTP_URL: the port is not a number") from None
    username = st.smtp_username or (unquote(parts.username) if parts.username else None)
    password = (
        st.smtp_password.get_secret_value()
        if st.smtp_password is not None
        else (unquote(parts.password) if parts.password else None)
    )
    return SmtpTransport(parts.scheme, parts.hostname, port, username, password, st.smtp_cafile)


# ---------------------------------------------------------------------------- sending


def _finish(web: WebService, row_id: int, held: dt.datetime, values: dict[str, Any]) -> bool:
    """Record an outcome on a row this process still holds (its lease ``held``)."""
    return update_held(web.engine, EmailOutbox, row_id, held, values)


def send_due_emails(
    web: WebService,
    now: dt.datetime | None = None,
    transport: Transport | None = None,
    templates: MailTemplates | None = None,
) -> int:
    """One pass (see the module docstring): claim the due emails (at most 20), send or
    cancel each, record the outcome. ``now`` (default: the clock) decides what is due and
    when a failed message is tried next. Returns the number of send attempts made."""
    transport = transport if transport is not None else transport_for(web.settings)
    if transport is None:
        return 0
    templates = templates if templates is not None else MailTemplates(web.settings.email_templates)
    now = as_utc(now) or utcnow()
    max_attempts = web.settings.webhook_max_attempts
    started = time.monotonic()
    won = claim_due(web.engine, EmailOutbox, now, max_attempts)
    key = email_seal_key(web.secret_key()) if won else b""
    sent = 0
    for claimed_row, claimed in won:
        row_id, attempts = claimed_row.id, claimed_row.attempts
        # a pass may outlive the lease of its last rows (20 sessions of up to 30 s):
        # renew each lease before its message, and skip a row another process took
        lease = claimed + dt.timedelta(seconds=time.monotonic() - started)
        if not renew_lease(web.engine, EmailOutbox, row_id, claimed, lease):
            log.info("email %d: taken over by another process, not sent", row_id)
            continue
        with web.session() as s:
            row = s.get(EmailOutbox, row_id)
            inv = s.get(Invitation, row.invitation_id) if row is not None else None
            if row is None:
                continue  # erased meanwhile
            if inv is not None:
                refresh_status(s, inv, now)
            if inv is None or inv.status not in ACTIVE or not inv.candidate_email:
                status = inv.status if inv is not None else "erased"
                _finish(
                    web,
                    row_id,
                    lease,
                    {
                        "cancelled_at": now,
                        "next_attempt_at": claimed - LEASE,
                        "token_sealed": None,
                        "last_error": f"cancelled: invitation {status}",
                    },
                )
                log.info(
                    "email %d (%s, invitation %s) cancelled: invitation %s",
                    row_id,
                    row.kind,
                    row.invitation_id,
                    status,
                )
                continue
            error: str | None = None
            msg: EmailMessage | None = None
            try:
                if row.token_sealed is None:
                    raise ValueError("the link token is gone")
                token = unseal_token(row.token_sealed, key, inv.id)
                if hash_token(token) != inv.token_sha256:
                    # sealed under another secret key: the link would be wrong
                    raise ValueError("the secret key changed since the email was queued")
            except ValueError as exc:  # no retry can send it: given up now
                _finish(
                    web,
                    row_id,
                    lease,
                    {
                        "attempts": max_attempts,
                        "token_sealed": None,
                        "last_error": f"cannot build: {exc}",
                    },
                )
                log.error(
                    "email %d (%s, invitation %s) cannot be built (%s): given up",
                    row_id,
                    row.kind,
                    inv.id,
                    exc,
                )
                continue
            try:
                msg = build_message(web, templates, row, inv, token, now)
            except TemplateError as exc:
                # a template the company can fix: a failed attempt, retried (token kept)
                error = f"template {_template_name(exc)}: {exc}"[:500]
            kind, invitation_id = row.kind, inv.id
        if msg is not None:
            try:
                transport.send(msg)
            except (OSError, smtplib.SMTPException) as exc:
                error = f"{type(exc).__name__}: {_smtp_reason(exc)}"[:500]
        sent += 1
        attempt = attempts + 1
        if error is None:
            _finish(
                web,
                row_id,
                lease,
                {
                    "attempts": attempt,
                    "delivered_at": utcnow(),
                    # back from the lease to when it was due (claimed): never after sent_at
                    "next_attempt_at": claimed - LEASE,
                    "token_sealed": None,
                    "last_error": None,
                },
            )
            log.info("email %d (%s, invitation %s) sent", row_id, kind, invitation_id)
            continue
        delay = backoff_delay(web.settings.webhook_backoff, attempt)
        # from the pass's clock (``claimed - LEASE`` is ``now``): fixed ``now``, exact times
        nxt = claimed - LEASE + dt.timedelta(seconds=delay)
        _finish(
            web, row_id, lease, {"attempts": attempt, "next_attempt_at": nxt, "last_error": error}
        )
        if attempt >= max_attempts:
            log.error(
                "email %d (%s, invitation %s) failed (%s, attempt %d): giving up",
                row_id,
                kind,
                invitation_id,
                error,
                attempt,
            )
        else:
            log.warning(
                "email %d (%s, invitation %s) failed (%s, attempt %d): next attempt in %.0f s",
                row_id,
                kind,
                invitation_id,
                error,
                attempt,
                delay,
            )
    return sent


def _template_name(exc: TemplateError) -> str:
    """The template file of a rendering error (as far as Jinja2 tells), else "?"."""
    name = getattr(exc, "name", None) or getattr(exc, "filename", None)
    return str(name) if name else "?"


def _smtp_reason(exc: BaseException) -> str:
    """The server's reply (code and text) of an SMTP error, else the exception's text;
    never the recipient (SMTPRecipientsRefused holds the addresses: only codes kept)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"recipient refused ({', '.join(str(c) for c in codes)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {text}"
    return str(exc)


# ---------------------------------------------------------------------------- the worker


class MailWorker(PassWorker):
    """The email thread of one server process: a pass of :func:`send_due_emails` every
    ``interval`` seconds (at once again after a full batch). The templates are checked
    and the transport made once, when it is built."""

    def __init__(self, web: WebService, interval: float = 2.0) -> None:
        self.web = web
        self.templates = MailTemplates(web.settings.email_templates)
        self.templates.check()
        self.transport = transport_for(web.settings)
        super().__init__(
            lambda: send_due_emails(web, None, self.transport, self.templates),
            "repprofile-mail",
            "email",
            SMTP_TIMEOUT + 5,
            interval,
        )


def add_mail_worker(app: FastAPI, web: WebService) -> MailWorker | None:
    """Run a :class:`MailWorker` from app startup to shutdown when this server sends
    email and ``web.settings.outbox`` is on (returns it; None otherwise). The templates
    and the SMTP URL are checked here, when the app is built."""
    if not (web.sends_email and web.settings.outbox):
        if web.sends_email:
            MailTemplates(web.settings.email_templates).check()
            transport_for(web.settings)
        return None
    worker = MailWorker(web)
    app.router.on_startup.append(worker.start)
    app.router.on_shutdown.append(worker.stop)
    app.state.mail_worker = worker
    return worker
