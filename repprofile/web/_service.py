"""The web assessment's service: the database (engine and sessions), the catalogue of the
scoring API it shares, and scoring a completed invitation with the library exactly as
``/v1/score`` and ``/v1/fit`` do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from repprofile._analysis.scoring import ScoreResult
from repprofile._errors import InputError
from repprofile._formats.questionnaire import Questionnaire
from repprofile.server._schemas import ScoreRequest
from repprofile.server._service import Service
from repprofile.web._ats import ats_result
from repprofile.web._db import (
    AtsOrder,
    Invitation,
    as_utc,
    current_revision,
    head_revision,
    make_engine,
    utcnow,
)
from repprofile.web._links import report_url
from repprofile.web._settings import WebSettings
from repprofile.web._store import (
    ClosedError,
    EmailPlan,
    answer_record,
    complete,
    email_seal_key,
    hold_active,
    result_of,
    stored_answers,
)

__all__ = [
    "WebService",
    "actor_of",
    "email_plan_of",
    "report_link_of",
    "result_url_of",
    "secret_key_of",
    "sends_email",
]

log = logging.getLogger("repprofile.web")


def actor_of(authorization: str | None) -> str:
    """The access-log actor of a request: ``api:`` and 12 hex digits of the key's SHA-256
    (never the key)."""
    _, _, token = (authorization or "").partition(" ")
    return "api:" + hashlib.sha256(token.strip().encode()).hexdigest()[:12]


def _key_file(path: Path) -> bytes:
    """The key in ``path`` (64 hex digits), created with a new random key (mode 0600,
    ``O_EXCL``: of two processes creating it at once, one writes and both read) when
    missing. A file that group or others may read or write (on POSIX) is an
    :class:`InputError` (anyone who reads the key forges report links): ``chmod 600``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    mode = path.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        raise InputError(
            f"{path}: the secret key file may be read or written by other users (mode "
            f"{mode & 0o777:o}); make it the server's alone: chmod 600 {path}"
        )
    for _ in range(50):  # another process may be between creating and writing it
        text = path.read_text(encoding="ascii").strip()
        if len(text) == 64:
            return text.encode("ascii")
        time.sleep(0.01)
    raise InputError(f"{path}: expected a 64-hex-digit secret key, found {len(text)} characters")


def secret_key_of(settings: WebSettings) -> bytes:
    """The server's secret key (signed report links, sealed email tokens):
    ``REPPROFILE_SECRET_KEY``, else a random 32-byte key kept in ``DATA_DIR/secret.key``
    (created on first use, mode 0600; every process on this machine reads the same file).
    Servers on several machines sharing one database must set the variable to the same
    value: a key that changes invalidates every report link already sent and the links
    in emails not sent yet."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    return _key_file(settings.data_dir / "secret.key")


def sends_email(settings: WebSettings) -> bool:
    """Whether candidate emails are sent (an SMTP URL) or written to files (dry run)."""
    return settings.smtp_url is not None or settings.smtp_dry_run is not None


def email_plan_of(settings: WebSettings, secret_key: bytes) -> EmailPlan:
    """How new invitations' emails are queued: the sealing key derived from
    ``secret_key``, the reminder delay, and the Message-ID domain (that of the From
    address, :attr:`WebSettings.sender`)."""
    domain = settings.sender.rpartition("@")[2].strip(" >") or "localhost"
    return EmailPlan(
        key=email_seal_key(secret_key), reminder_days=settings.reminder_days, domain=domain
    )


def report_link_of(
    settings: WebSettings, secret_key: bytes, invitation_id: str, completed_at: dt.datetime
) -> str:
    """The signed report link of a completed invitation, valid for ``report_link_days``
    after its completion (the same link every time it is asked for: Greenhouse's
    ``partner_profile_url``, the push's ``result_url`` and the invitation's)."""
    expires = (as_utc(completed_at) or completed_at) + dt.timedelta(days=settings.report_link_days)
    return report_url(settings.public_url, secret_key, invitation_id, expires)


def result_url_of(settings: WebSettings, secret_key: bytes, inv: Invitation) -> str | None:
    """The signed report link of a completed invitation that names a role (a report is
    a role's report: without one there is none to open); None otherwise."""
    if inv.status != "completed" or inv.completed_at is None or not inv.roles:
        return None
    return report_link_of(settings, secret_key, inv.id, inv.completed_at)


class WebService:
    """The database and what the web assessment does with it (easy to call from tests)."""

    def __init__(self, settings: WebSettings, service: Service, engine: Engine | None = None):
        self.settings = settings
        self.service = service
        self.engine = engine if engine is not None else make_engine(settings.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; threads of this process that wait for it in
        # SQLite's busy handler sleep 1, 2, 5, 10, ... ms between tries, which is what a
        # save's p99 was made of. Waiting on a lock here instead wakes the next writer as
        # soon as the last one commits. (Other processes still meet the busy handler.)
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self._secret: bytes | None = None
        # the keys an ATS may call with, by the hex SHA-256 of each (set by the app: the
        # Greenhouse keys, else the server's API keys); the PATCH to Greenhouse uses them
        self.ats_keys: dict[str, str] = {}

    def secret_key(self) -> bytes:
        """The server's secret key (:func:`secret_key_of`), read once."""
        if self._secret is None:
            self._secret = secret_key_of(self.settings)
        return self._secret

    @property
    def sends_email(self) -> bool:
        """Whether candidate emails are sent (an SMTP URL) or written to files (dry run)."""
        return sends_email(self.settings)

    def email_plan(self) -> EmailPlan | None:
        """How new invitations' emails are queued; None when no email is sent."""
        return email_plan_of(self.settings, self.secret_key()) if self.sends_email else None

    def report_link(self, invitation_id: str, completed_at: dt.datetime) -> str:
        """The signed report link of a completed invitation (:func:`report_link_of`)."""
        return report_link_of(self.settings, self.secret_key(), invitation_id, completed_at)

    def _push_link(self, inv: Invitation, completed_at: dt.datetime) -> str | None:
        """The ``result_url`` of the push: the report link, when the invitation names a
        role and the callback is HTTPS. A report link opens the report without a key, so
        it is not sent over plain http:// (anyone on the path could read it), unless the
        operator allows private callbacks (a receiver on the same machine or network)."""
        if not inv.roles or not inv.callback_url:
            return None
        if not inv.callback_url.startswith("https://") and not self.settings.webhook_allow_private:
            return None
        return self.report_link(inv.id, completed_at)

    def result_url(self, inv: Invitation) -> str | None:
        """The signed report link of a completed invitation (:func:`result_url_of`)."""
        return result_url_of(self.settings, self.secret_key(), inv)

    def writing(self) -> threading.Lock | nullcontext[None]:
        """A context manager around a short write transaction (lookup outside it, then
        the writes and the commit inside): serialises this process's SQLite writers."""
        return self._write_lock if self._write_lock is not None else nullcontext()

    def check_schema(self) -> None:
        """:class:`InputError` unless the database is at this version's newest migration."""
        at, head = current_revision(self.engine), head_revision()
        if at != head:
            raise InputError(
                f"the database is at migration {at or '(none)'}, this version of repprofile "
                f"needs {head}: run 'repprofile db upgrade' (or serve without --no-upgrade)"
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s:
            yield s

    def questionnaire(self, inv: Invitation) -> Questionnaire:
        """The invitation's questionnaire, as it was when invited (the fingerprint must
        match: a changed questionnaire file would score differently)."""
        q = self.service.catalogue.questionnaires.get(inv.questionnaire)
        if q is None or q.fingerprint != inv.questionnaire_sha256:
            raise InputError(
                f"invitation {inv.id}: questionnaire {inv.questionnaire!r} "
                f"(sha256 {inv.questionnaire_sha256[:12]}...) is no longer served"
            )
        return q

    def score(self, inv: Invitation, record: dict[str, Any]) -> tuple[ScoreResult, list[str]]:
        """One candidate's record scored as ``/v1/score`` scores it for the invitation's
        questionnaire, norm table and SJT method: the result and the warnings."""
        body: dict[str, Any] = {"questionnaire": inv.questionnaire, "candidates": [record]}
        if inv.norms:
            body["norms"] = inv.norms
        if inv.sjt_method:
            body["sjt_method"] = inv.sjt_method
        return self.service.score(ScoreRequest.model_validate(body))

    def score_document(self, inv: Invitation, record: dict[str, Any]) -> dict[str, Any]:
        """The result of one candidate's record: ``{"score": ..., "fit": ...}``, each the
        document ``/v1/score`` and ``/v1/fit`` answer for the same answers (warnings
        included); ``fit`` is null when the invitation names no role."""
        from repprofile._analysis.fit import fit, fit_report

        result, warnings = self.score(inv, record)
        doc: dict[str, Any] = {"score": {**result.to_dict(), "warnings": warnings}, "fit": None}
        if inv.roles:
            q = result.questionnaire
            roles = [self.service.role(r, q, f"roles.{i}") for i, r in enumerate(inv.roles)]
            doc["fit"] = {
                **fit_report(result, [fit(result, r) for r in roles]),
                "warnings": warnings,
            }
        # through JSON text and back: what is stored is exactly what a client reads
        from pydantic_core import to_json

        out: dict[str, Any] = json.loads(to_json(doc))
        return out

    def finish(self, session: Session, inv: Invitation) -> dict[str, Any]:
        """Score the invitation's stored answers, store the result, queue the webhook.

        Safe when two tabs (or two server processes) finish the same invitation at once:
        the invitation row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; the
        second caller waits for the first to commit, then finds it completed). SQLite
        ignores ``FOR UPDATE`` but has one writer at a time, so there the loser's insert
        breaks the results primary key (or finds its snapshot stale); that is caught, its
        transaction rolled back, and it too answers with the stored result. Either way
        exactly one result and one outbox row are stored and no error reaches the caller
        (unless the invitation is still not completed after the failure: then it is real).
        Returns the stored result document (the winner's, for both callers).

        Raises :class:`~repprofile.web._store.ClosedError` (nothing stored) when the
        invitation is no longer active in the database."""
        locked = session.scalars(
            select(Invitation)
            .where(Invitation.id == inv.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if locked.status == "completed":
            session.commit()  # releases the lock (and keeps what the caller logged)
            return self._stored_document(session, inv)
        q = self.questionnaire(inv)
        # lock the row first: no save can change the answers between reading and storing
        try:
            hold_active(session, inv, utcnow())
        except ClosedError:
            session.rollback()
            session.refresh(inv)
            if inv.status != "completed":
                raise
            return self._stored_document(session, inv)  # a concurrent finish won (SQLite)
        record = answer_record(q, inv.candidate_id, stored_answers(session, inv.id))
        doc = self.score_document(inv, record)
        now = utcnow()
        body = None
        if inv.callback_url:
            body = json.dumps(
                {
                    "event": "invitation.completed",
                    "invitation_id": inv.id,
                    "candidate_id": inv.candidate_id,
                    "result": doc,
                    "ats_result": ats_result(q, doc, now, self._push_link(inv, now)),
                },
                separators=(",", ":"),
                ensure_ascii=False,
            )
        order = session.get(AtsOrder, inv.id)
        try:
            complete(session, inv, q, doc, None, body, now=now, ats_order=order)
        except (IntegrityError, OperationalError):
            session.rollback()
            session.refresh(inv)
            if inv.status != "completed":
                raise
            log.info("invitation %s: completed by a concurrent request", inv.id)
            return self._stored_document(session, inv)
        return doc

    def _stored_document(self, session: Session, inv: Invitation) -> dict[str, Any]:
        """The stored result document of a completed invitation."""
        result = result_of(session, inv.id)
        if result is None:
            raise InputError(f"invitation {inv.id} is completed but has no stored result")
        return dict(result.document)
