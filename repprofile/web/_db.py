"""The database: the tables (SQLAlchemy 2 declarative models), the engine (SQLite in WAL
mode, or PostgreSQL through psycopg 3) and the Alembic migrations that create them.

Tables:

* ``invitations``: one row per invitation; the candidate's link is stored only as the
  SHA-256 of its token. An erased invitation stays as a tombstone (ids and dates).
* ``answers``: one row per item (Likert) or item part (an SJT option rating, or the
  most / least / best choice) answered, with the seconds it took and when it was saved;
  saved again, the row is replaced (the last answer wins).
* ``results``: the scored document (profile, quality and fit JSON, with provenance).
* ``webhook_outbox``: events waiting for delivery, retried with backoff.
* ``access_log``: who read or changed what; never answer values or tokens.
* ``email_outbox``: invitation and reminder emails waiting to be sent (or sent), retried
  with backoff like the webhooks; the link token is kept sealed until the message is sent.
* ``ats_orders``: an assessment ordered by an ATS (Greenhouse): the test ordered, where to
  tell the ATS it is complete, and which key ordered it (its SHA-256, never the key).

Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AccessLog",
    "Answer",
    "AtsOrder",
    "Base",
    "EmailOutbox",
    "Invitation",
    "Outbox",
    "Result",
    "current_revision",
    "head_revision",
    "make_engine",
    "upgrade",
    "utcnow",
]

MIGRATIONS = Path(__file__).parent / "_migrations"


def utcnow() -> dt.datetime:
    """Now, in UTC, to the microsecond."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC time (SQLite returns naive UTC times)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    candidate_id: Mapped[str] = mapped_column(String(200), index=True)
    questionnaire: Mapped[str] = mapped_column(String(200))
    questionnaire_version: Mapped[str] = mapped_column(String(50))
    questionnaire_sha256: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(JSON)
    norms: Mapped[str | None] = mapped_column(String(200))
    sjt_method: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), index=True)
    locale: Mapped[str | None] = mapped_column(String(35))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    callback_url: Mapped[str | None] = mapped_column(Text)
    show_results: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    token_sealed: Mapped[str | None] = mapped_column(String(64))
    csrf_secret: Mapped[str] = mapped_column(String(64))
    answered: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    page: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    privacy_accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # migration 0002: who to email (null once erased); never returned by the API in full
    candidate_email: Mapped[str | None] = mapped_column(String(320))
    candidate_name: Mapped[str | None] = mapped_column(String(200))


class Answer(Base):
    """One answered item (``part`` empty) or item part (an option id, or ``most`` /
    ``least`` / ``best``). ``value`` is the text of the answer: a number for a rating, an
    option id for a choice."""

    __tablename__ = "answers"

    invitation_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    part: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    value: Mapped[str] = mapped_column(String(200))
    seconds: Mapped[float | None] = mapped_column(Float)
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Result(Base):
    """The scored document of a completed invitation, with its provenance."""

    __tablename__ = "results"

    invitation_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
    candidate_id: Mapped[str] = mapped_column(String(200))
    questionnaire: Mapped[str] = mapped_column(String(200))
    questionnaire_version: Mapped[str] = mapped_column(String(50))
    questionnaire_sha256: Mapped[str] = mapped_column(String(64))
    norms: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    sjt_key: Mapped[str | None] = mapped_column(String(200))
    library_version: Mapped[str] = mapped_column(String(50))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class Outbox(Base):
    """A webhook event waiting for delivery (or delivered: ``delivered_at``). One event of a
    kind per invitation (the unique constraint), so a retried completion never sends two."""

    __tablename__ = "webhook_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invitation_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # migration 0002: set on an ATS completion call (a PATCH with Basic auth, no body and
    # no signature): the SHA-256 of the key to send it with
    auth_key_sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("invitation_id", "event"),
        Index("ix_outbox_due", "delivered_at", "next_attempt_at"),
    )


class EmailOutbox(Base):
    """An email to a candidate (``kind`` ``invitation`` or ``reminder``), waiting to be
    sent at ``next_attempt_at`` or sent (``delivered_at``), or cancelled (``cancelled_at``:
    the invitation was completed, expired, withdrawn or erased before it went out). The
    lease columns are those of :class:`Outbox`, so one claim/renew code serves both.
    ``token_sealed`` is the candidate's link token sealed with the server's secret key
    (wiped once sent); ``message_id`` is the RFC 5322 Message-ID, the same on every retry."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invitation_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    token_sealed: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("invitation_id", "kind"),
        Index("ix_email_outbox_due", "delivered_at", "next_attempt_at"),
    )


class AtsOrder(Base):
    """An assessment ordered through an ATS (``provider`` ``greenhouse``): the invitation
    it created is the order's id (``partner_interview_id``). ``callback_url`` is where the
    ATS asked to be told of completion; ``key_sha256`` names the key that ordered it (the
    PATCH is sent with that key, looked up among the configured ones). ``dedupe`` is the
    SHA-256 of (key, test, candidate email, callback URL) while the order is open or
    completed, so that a repeated order answers the same id; null once it is closed."""

    __tablename__ = "ats_orders"

    invitation_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(30))
    partner_test_id: Mapped[str] = mapped_column(String(200))
    callback_url: Mapped[str | None] = mapped_column(Text)
    key_sha256: Mapped[str] = mapped_column(String(64))
    dedupe: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AccessLog(Base):
    """Who read or changed what: the actor (``api:`` and the first 12 hex digits of the
    key's SHA-256, ``candidate``, ``cli``, ``system``), the action and the invitation.
    Never answer values, tokens or keys."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    invitation_id: Mapped[str | None] = mapped_column(String(40), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the browser hears "saved" (survives a power cut,
    # not only a killed process)
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    # deleted content is overwritten with zeros (erasure), whatever SQLite's build default
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite (the folder is created; WAL mode, full sync, foreign
    keys) or PostgreSQL (``postgresql://`` is read as psycopg 3)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every migration not yet applied; returns (revision before, revision after).
    On PostgreSQL an advisory lock keeps two processes from migrating at once."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), "head")
    return before, head_revision()


def head_revision() -> str:
    """The newest migration of this version of repprofile."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: an empty database)."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
