"""What the web assessment does with its database, free of HTTP details: invitations
(create, read, list, withdraw, erase, purge), the candidate's answers (saved one item at a
time, the last one winning), completion (scored with the library, stored, and the webhook
queued) and the access log.

Every function takes a :class:`sqlalchemy.orm.Session` and commits its own work, so that
what a caller was told is saved is on disk.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repprofile._formats.questionnaire import Questionnaire, SjtItem
from repprofile._version import __version__
from repprofile.web._db import (
    AccessLog,
    Answer,
    AtsOrder,
    EmailOutbox,
    Invitation,
    Outbox,
    Result,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from repprofile.web._schemas import InvitationCreate

__all__ = [
    "ACTIVE",
    "STATUSES",
    "AnswerIn",
    "ClosedError",
    "EmailPlan",
    "Progress",
    "accept_privacy",
    "answer_record",
    "cancel_emails",
    "complete",
    "create_invitation",
    "email_seal_key",
    "emails_of",
    "erase",
    "find_by_token",
    "hash_token",
    "hold_active",
    "list_invitations",
    "log_access",
    "new_token",
    "progress",
    "purge",
    "queue_emails",
    "refresh_status",
    "save_answers",
    "withdraw",
]

Status = Literal["created", "started", "completed", "expired", "withdrawn", "erased"]
STATUSES: tuple[str, ...] = ("created", "started", "completed", "expired", "withdrawn", "erased")
ACTIVE = ("created", "started")
DEFAULT_EXPIRY = dt.timedelta(days=14)


def new_token() -> str:
    """A candidate link token: 128 bits from :mod:`secrets`, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) of a token: the only form of it that is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def seal_token(token: str, key: bytes, invitation_id: str) -> str:
    """The token encrypted with a pad derived from ``key`` (the API key that created the
    invitation and its idempotency key), so that a retried request (same API key, same
    Idempotency-Key) can be answered with the same link while the database alone cannot
    tell it."""
    raw = base64.urlsafe_b64decode(token + "==")
    pad = hmac.new(key, invitation_id.encode(), hashlib.sha256).digest()[: len(raw)]
    return bytes(a ^ b for a, b in zip(raw, pad, strict=True)).hex()


def unseal_token(sealed: str, key: bytes, invitation_id: str) -> str:
    raw = bytes.fromhex(sealed)
    pad = hmac.new(key, invitation_id.encode(), hashlib.sha256).digest()[: len(raw)]
    plain = bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    return base64.urlsafe_b64encode(plain).decode().rstrip("=")


def log_access(
    session: Session,
    actor: str,
    action: str,
    invitation_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Add an access-log row (committed with the caller's work). ``detail`` must never
    hold answer values, tokens or keys."""
    session.add(
        AccessLog(
            at=utcnow(), actor=actor, action=action, invitation_id=invitation_id, detail=detail
        )
    )


def refresh_status(session: Session, inv: Invitation, now: dt.datetime | None = None) -> bool:
    """Mark an active invitation past its expiry ``expired`` (committed); True if it changed."""
    now = now or utcnow()
    expires = as_utc(inv.expires_at)
    if inv.status in ACTIVE and expires is not None and expires <= now:
        inv.status = "expired"
        inv.updated_at = now
        session.commit()
        return True
    return False


@dataclass(frozen=True)
class EmailPlan:
    """How to queue a new invitation's emails: the key that seals the link token in the
    email outbox (derived from the server's secret key), the days until the reminder (0:
    none) and the domain of the Message-IDs."""

    key: bytes
    reminder_days: float
    domain: str


EMAIL_KINDS = ("invitation", "reminder")


def email_seal_key(secret_key: bytes) -> bytes:
    """The key sealing link tokens in the email outbox: HMAC-SHA256 of the server's secret
    key with a fixed context (never the secret key itself, which also signs report links)."""
    return hmac.new(secret_key, b"repprofile-email-token", hashlib.sha256).digest()


def queue_emails(
    session: Session, inv: Invitation, token: str, plan: EmailPlan, now: dt.datetime
) -> list[EmailOutbox]:
    """Add (not commit) the invitation email, due now, and the reminder, due
    ``plan.reminder_days`` after ``now`` when that is before the invitation expires, for
    an invitation with a candidate email. Each row carries its Message-ID and the token
    sealed with ``plan.key``; the sender checks the invitation's status before sending
    (no reminder after completion, expiry, withdrawal or erasure)."""
    if not inv.candidate_email:
        return []
    sealed = seal_token(token, plan.key, inv.id)
    due = {"invitation": now}
    expires = as_utc(inv.expires_at)
    if plan.reminder_days > 0:
        at = now + dt.timedelta(days=plan.reminder_days)
        if expires is None or at < expires:
            due["reminder"] = at
    rows = [
        EmailOutbox(
            invitation_id=inv.id,
            kind=kind,
            message_id=f"<{inv.id}.{kind}.{secrets.token_hex(8)}@{plan.domain}>",
            token_sealed=sealed,
            attempts=0,
            next_attempt_at=at,
            created_at=now,
        )
        for kind, at in due.items()
    ]
    session.add_all(rows)
    return rows


def emails_of(session: Session, invitation_id: str, max_attempts: int) -> list[dict[str, Any]]:
    """The invitation's emails as ``EmailOut`` documents (kind, status, Message-ID, when
    due, when sent, attempts), invitation first."""
    rows = session.scalars(
        select(EmailOutbox).where(EmailOutbox.invitation_id == invitation_id)
    ).all()
    out = []
    for r in sorted(rows, key=lambda r: EMAIL_KINDS.index(r.kind)):
        if r.delivered_at is not None:
            status = "sent"
        elif r.cancelled_at is not None:
            status = "cancelled"
        elif r.attempts >= max_attempts:
            status = "failed"
        else:
            status = "queued"
        out.append(
            {
                "kind": r.kind,
                "status": status,
                "message_id": r.message_id,
                "scheduled_at": as_utc(r.next_attempt_at),
                "sent_at": as_utc(r.delivered_at),
                "attempts": r.attempts,
            }
        )
    return out


@dataclass(frozen=True)
class NewInvitation:
    """A validated invitation request (the HTTP body or the CLI's options)."""

    candidate_id: str
    questionnaire: Questionnaire
    roles: tuple[str, ...]
    norms: str | None = None
    expires_at: dt.datetime | None = None
    callback_url: str | None = None
    locale: str | None = None
    metadata: Mapping[str, str] | None = None
    show_results: bool = False
    sjt_method: str | None = None
    candidate_email: str | None = None
    candidate_name: str | None = None

    @classmethod
    def of(cls, req: InvitationCreate, questionnaire: Questionnaire) -> NewInvitation:
        """The invitation that a checked request (``POST /v1/invitations`` or
        ``repprofile invite``) asks for, with its questionnaire looked up."""
        return cls(
            candidate_id=req.candidate_id,
            questionnaire=questionnaire,
            roles=tuple(req.roles),
            norms=req.norms,
            expires_at=req.expires_at,
            callback_url=req.callback_url,
            locale=req.locale,
            metadata=req.metadata,
            show_results=req.show_results,
            sjt_method=req.sjt_method,
            candidate_email=req.candidate_email,
            candidate_name=req.candidate_name,
        )


def request_digest(req: NewInvitation) -> str:
    """A digest of what an invitation request asks for (an idempotent retry must match)."""
    doc = {
        "candidate_id": req.candidate_id,
        "questionnaire": req.questionnaire.id,
        "roles": list(req.roles),
        "norms": req.norms,
        "expires_at": None if req.expires_at is None else req.expires_at.isoformat(),
        "callback_url": req.callback_url,
        "locale": req.locale,
        "metadata": dict(req.metadata or {}),
        "show_results": req.show_results,
        "sjt_method": req.sjt_method,
    }
    if req.candidate_email is not None or req.candidate_name is not None:
        # only when given: digests of requests without them stay what they were
        doc["candidate_email"] = req.candidate_email
        doc["candidate_name"] = req.candidate_name
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class IdempotencyConflictError(Exception):
    """The Idempotency-Key was used before with a different request."""


def create_invitation(
    session: Session,
    req: NewInvitation,
    actor: str,
    idempotency: tuple[str, bytes] | None = None,
    now: dt.datetime | None = None,
    emails: EmailPlan | None = None,
    also: Callable[[Invitation], Iterable[Any]] | None = None,
) -> tuple[Invitation, str | None, bool]:
    """Create an invitation; returns (invitation, token, created).

    With ``emails`` and a candidate email in ``req``, the invitation and reminder emails
    are queued in the same commit (:func:`queue_emails`); ``also`` gives more rows to add
    in that commit (an ATS order), from the new invitation.

    With ``idempotency`` (the Idempotency-Key scoped by the caller, and the secret that
    seals the token), a second request with the same key returns the first invitation and
    its token (``created`` False); a different request with the same key raises
    :class:`IdempotencyConflictError`.
    """
    now = now or utcnow()
    digest = request_digest(req)
    if idempotency is not None:
        found = _idempotent(session, idempotency, digest)
        if found is not None:
            return found
    token = new_token()
    q = req.questionnaire
    inv = Invitation(
        id="inv_" + secrets.token_hex(12),
        token_sha256=hash_token(token),
        candidate_id=req.candidate_id,
        questionnaire=q.id,
        questionnaire_version=q.version,
        questionnaire_sha256=q.fingerprint,
        roles=list(req.roles),
        norms=req.norms,
        sjt_method=req.sjt_method,
        status="created",
        locale=req.locale,
        meta=dict(req.metadata or {}),
        callback_url=req.callback_url,
        show_results=req.show_results,
        idempotency_key=None if idempotency is None else idempotency[0],
        request_sha256=digest,
        csrf_secret=secrets.token_urlsafe(24),
        answered=0,
        total=len(q.items),
        page=0,
        created_at=now,
        updated_at=now,
        expires_at=req.expires_at or now + DEFAULT_EXPIRY,
        candidate_email=req.candidate_email,
        candidate_name=req.candidate_name,
    )
    if idempotency is not None:
        inv.token_sealed = seal_token(token, idempotency[1], inv.id)
    session.add(inv)
    if emails is not None:
        queue_emails(session, inv, token, emails, now)
    if also is not None:
        session.flush()  # the invitation row before the rows that refer to it
        session.add_all(list(also(inv)))
    log_access(session, actor, "invitation.create", inv.id)
    try:
        session.commit()
    except IntegrityError:  # the same key, created by a concurrent request just now
        session.rollback()
        if idempotency is None:
            raise
        found = _idempotent(session, idempotency, digest)
        if found is None:
            raise
        return found
    return inv, token, True


def _idempotent(
    session: Session, idempotency: tuple[str, bytes], digest: str
) -> tuple[Invitation, str | None, bool] | None:
    inv = session.scalars(
        select(Invitation).where(Invitation.idempotency_key == idempotency[0])
    ).first()
    if inv is None:
        return None
    if inv.request_sha256 != digest:
        raise IdempotencyConflictError(idempotency[0])
    token = (
        unseal_token(inv.token_sealed, idempotency[1], inv.id)
        if inv.token_sealed and inv.status in ACTIVE
        else None
    )
    return inv, token, False


def find_by_token(session: Session, token: str) -> Invitation | None:
    """The invitation of a candidate link (None: unknown or erased)."""
    if not token or len(token) > 64:
        return None
    return session.scalars(
        select(Invitation).where(Invitation.token_sha256 == hash_token(token))
    ).first()


def list_invitations(
    session: Session,
    status: str | None = None,
    updated_since: dt.datetime | None = None,
    limit: int = 100,
    cursor: tuple[dt.datetime, str] | None = None,
) -> tuple[list[Invitation], tuple[dt.datetime, str] | None]:
    """Invitations in (updated_at, id) order, oldest first, after ``cursor``; returns the
    page and the cursor of the next page (None: this was the last). Expired invitations
    are marked so first, so that a status filter sees them as they are."""
    _expire_due(session)
    stmt = select(Invitation)
    if status is not None:
        stmt = stmt.where(Invitation.status == status)
    if updated_since is not None:
        stmt = stmt.where(Invitation.updated_at >= updated_since)
    if cursor is not None:
        at, last = cursor
        stmt = stmt.where(
            or_(
                Invitation.updated_at > at,
                (Invitation.updated_at == at) & (Invitation.id > last),
            )
        )
    rows = list(
        session.scalars(stmt.order_by(Invitation.updated_at, Invitation.id).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = (as_utc(rows[-1].updated_at), rows[-1].id) if more and rows else None
    return rows, nxt  # type: ignore[return-value]


def _expire_due(session: Session, now: dt.datetime | None = None) -> int:
    now = now or utcnow()
    res = session.execute(
        update(Invitation)
        .where(Invitation.status.in_(ACTIVE), Invitation.expires_at <= now)
        .values(status="expired", updated_at=now)
    )
    session.commit()
    return int(getattr(res, "rowcount", 0) or 0)


def accept_privacy(session: Session, inv: Invitation, actor: str, now: dt.datetime) -> bool:
    """Record that the candidate accepted the privacy notice: the invitation becomes
    ``started`` (``started_at`` set, once) and the acceptance is logged, in one commit.
    A conditional UPDATE (the row is still active), so that an erase, withdrawal or
    completion committed meanwhile is never undone; False (nothing changed) then."""
    res = session.execute(
        update(Invitation)
        .where(Invitation.id == inv.id, Invitation.status.in_(ACTIVE))
        .values(
            status="started",
            started_at=func.coalesce(Invitation.started_at, now),
            privacy_accepted_at=func.coalesce(Invitation.privacy_accepted_at, now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if int(getattr(res, "rowcount", 0) or 0) != 1:
        session.rollback()
        return False
    log_access(session, actor, "take.start", inv.id)
    session.commit()
    session.refresh(inv)
    return True


def withdraw(session: Session, inv: Invitation, actor: str) -> bool:
    """Withdraw an invitation that is not completed or erased; False when it cannot be."""
    refresh_status(session, inv)
    if inv.status not in (*ACTIVE, "expired"):
        return False
    now = utcnow()
    inv.status = "withdrawn"
    inv.withdrawn_at = now
    inv.updated_at = now
    cancel_emails(session, inv.id, "withdrawn", now)
    log_access(session, actor, "invitation.withdraw", inv.id)
    session.commit()
    return True


def cancel_emails(session: Session, invitation_id: str, status: str, now: dt.datetime) -> None:
    """Cancel (not commit) the invitation's emails not sent yet, and wipe their sealed
    link tokens: the invitation is ``status`` now, so no reminder will go out."""
    session.execute(
        update(EmailOutbox)
        .where(
            EmailOutbox.invitation_id == invitation_id,
            EmailOutbox.delivered_at.is_(None),
            EmailOutbox.cancelled_at.is_(None),
        )
        .values(cancelled_at=now, token_sealed=None, last_error=f"cancelled: invitation {status}")
        .execution_options(synchronize_session=False)
    )


def erase(session: Session, inv: Invitation, actor: str, now: dt.datetime | None = None) -> None:
    """Erase an invitation (a data-subject request, or retention): answers, results and
    webhook events (queued or delivered) are deleted; a tombstone (ids and dates) stays,
    with the link dead."""
    now = now or utcnow()
    _hold(session, inv)  # a save in flight commits first, and its answers are deleted too
    session.execute(delete(Answer).where(Answer.invitation_id == inv.id))
    session.execute(delete(Result).where(Result.invitation_id == inv.id))
    # delivered events too: their rows keep the body (the scores) and the callback URL
    session.execute(delete(Outbox).where(Outbox.invitation_id == inv.id))
    # emails (sent or not: a row names the candidate's message) and the ATS order's link
    session.execute(delete(EmailOutbox).where(EmailOutbox.invitation_id == inv.id))
    session.execute(
        update(AtsOrder)
        .where(AtsOrder.invitation_id == inv.id)
        .values(callback_url=None, dedupe=None)
    )
    inv.candidate_email = None
    inv.candidate_name = None
    inv.answered = 0  # the answers are gone: the tombstone keeps ids and dates only
    inv.page = 0
    inv.status = "erased"
    inv.erased_at = now
    inv.updated_at = now
    inv.token_sha256 = None
    inv.token_sealed = None
    inv.meta = {}
    inv.callback_url = None
    inv.locale = None
    log_access(session, actor, "invitation.erase", inv.id)
    session.commit()


def purge(
    session: Session, older_than: dt.timedelta, actor: str, now: dt.datetime | None = None
) -> dict[str, int]:
    """Retention: erase every invitation created before ``now - older_than`` that is not
    erased yet; returns counts (invitations, answers, results)."""
    now = now or utcnow()
    cutoff = now - older_than
    ids = list(
        session.scalars(
            select(Invitation.id).where(
                Invitation.created_at < cutoff, Invitation.status != "erased"
            )
        )
    )
    counts = {"invitations": len(ids), "answers": 0, "results": 0}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        counts["answers"] += int(
            session.scalar(
                select(func.count()).select_from(Answer).where(Answer.invitation_id.in_(chunk))
            )
            or 0
        )
        counts["results"] += int(
            session.scalar(
                select(func.count()).select_from(Result).where(Result.invitation_id.in_(chunk))
            )
            or 0
        )
        for inv in session.scalars(select(Invitation).where(Invitation.id.in_(chunk))):
            erase(session, inv, actor, now)
    log_access(session, actor, "purge", None, json.dumps(counts, sort_keys=True))
    session.commit()
    if ids:
        scrub_wal(session)
    return counts


def scrub_wal(session: Session) -> bool:
    """SQLite: copy the write-ahead log into the database file and truncate it, so that
    the old page images it holds (erased answers, results and metadata) leave the disk;
    the database file itself overwrites deleted content (``secure_delete``). Waits for
    readers (at most the busy timeout) and blocks writers meanwhile, so it runs after a
    purge, not after each erasure. True when the log was emptied; nothing to do on
    PostgreSQL (its VACUUM reclaims deleted rows)."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    row = session.connection().exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    session.commit()
    return row is not None and row[0] == 0


# ---------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class AnswerIn:
    """One answer as the candidate gave it: the item, the part (``""`` for a Likert item,
    an option id for a rated SJT option, ``most``/``least``/``best``), the value as text
    (a number, or an option id) and the seconds it took (None: not measured)."""

    item_id: str
    part: str
    value: str
    seconds: float | None = None


class ClosedError(Exception):
    """The invitation stopped taking answers (completed, expired, withdrawn or erased)
    between the caller's check and its write: nothing was saved."""


def hold_active(session: Session, inv: Invitation, now: dt.datetime) -> None:
    """Lock ``inv``'s row for this transaction if it is still active, else roll back and
    raise :class:`ClosedError`. The first write of the transaction: on PostgreSQL a row
    lock, on SQLite the database's write lock; so a save and a completion, withdrawal or
    erasure running at the same time happen one after the other, and an answer never
    lands after the invitation was completed or erased."""
    held = session.execute(
        update(Invitation)
        .where(Invitation.id == inv.id, Invitation.status.in_(ACTIVE))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(held, "rowcount", 0) or 0) != 1:
        session.rollback()
        raise ClosedError(inv.id)


def _hold(session: Session, inv: Invitation) -> None:
    """Lock ``inv``'s row (whatever its status) before the caller reads or deletes what
    belongs to it: a save running at the same time commits before or after, not between."""
    session.execute(
        update(Invitation)
        .where(Invitation.id == inv.id)
        .values(updated_at=Invitation.updated_at)
        .execution_options(synchronize_session=False)
    )


class AnswerError(ValueError):
    """An answer that does not fit the questionnaire (the message names item and value)."""


def check_answer(q: Questionnaire, a: AnswerIn) -> AnswerIn:
    """``a`` if it fits ``q``; else :class:`AnswerError` naming the item, the part and
    what was expected. Ratings are whole numbers on the item's scale."""
    sjt = q.sjt_item_index.get(a.item_id)
    if sjt is None:
        if a.part or a.item_id not in _shape(q).likert:
            raise AnswerError(f"item {a.item_id!r}: not an item of {q.id!r}")
        scale = q.response_scale
        return _rating(a, scale.min, scale.max, f"item {a.item_id!r}")
    return _check_sjt(q, sjt, a)


def _rating(a: AnswerIn, lo: int, hi: int, where: str) -> AnswerIn:
    try:
        value = int(a.value.strip())
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise AnswerError(f"{where}: expected a whole number from {lo} to {hi}")
    seconds = a.seconds
    if seconds is not None and not (0 <= seconds < 86_400):
        seconds = None
    return AnswerIn(a.item_id, a.part, str(value), seconds)


def _check_sjt(q: Questionnaire, item: SjtItem, a: AnswerIn) -> AnswerIn:
    where = f"item {a.item_id!r}"
    if item.response_format == "rate":
        if a.part not in item.option_ids:
            raise AnswerError(f"{where}: expected an option of {list(item.option_ids)}")
        scale = q.sjt_response_scale
        assert scale is not None
        return _rating(a, scale.min, scale.max, f"{where} option {a.part!r}")
    parts = ("most", "least") if item.response_format == "most_least" else ("best",)
    if a.part not in parts:
        raise AnswerError(f"{where}: expected one of {list(parts)}")
    if a.value not in item.option_ids:
        raise AnswerError(f"{where} {a.part}: expected an option of {list(item.option_ids)}")
    seconds = a.seconds if a.seconds is not None and 0 <= a.seconds < 86_400 else None
    return AnswerIn(a.item_id, a.part, a.value, seconds)


_UPSERTS: dict[str, Any] = {}


def _upsert_statement(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (invitation_id, item_id, part) DO UPDATE`` for the
    dialect, built once (the compiled form is then cached by SQLAlchemy)."""
    found = _UPSERTS.get(dialect)
    if found is not None:
        return found
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(Answer)
        stmt = pg.on_conflict_do_update(
            index_elements=["invitation_id", "item_id", "part"],
            set_={k: pg.excluded[k] for k in ("value", "seconds", "saved_at")},
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(Answer)
        stmt = lite.on_conflict_do_update(
            index_elements=["invitation_id", "item_id", "part"],
            set_={k: lite.excluded[k] for k in ("value", "seconds", "saved_at")},
        )
    _UPSERTS[dialect] = stmt
    return stmt


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace answer rows (the last one wins): ``INSERT ... ON CONFLICT DO
    UPDATE``, which SQLite and PostgreSQL both run atomically (a Core statement on the
    session's connection, in the session's transaction)."""
    if not rows:
        return
    conn = session.connection()
    conn.execute(_upsert_statement(conn.dialect.name), rows)


def save_answers(
    session: Session,
    inv: Invitation,
    q: Questionnaire,
    answers: Sequence[AnswerIn],
    page: int | None = None,
    now: dt.datetime | None = None,
) -> Progress:
    """Save checked answers (each replaces the item part's earlier answer), start the
    invitation, record where the candidate is, and commit: once this returns, the answers
    are on disk. Raises :class:`AnswerError` (nothing saved) for an answer that does not
    fit, and :class:`ClosedError` (nothing saved) when the invitation is no longer active
    in the database (completed, withdrawn, expired or erased since the caller looked)."""
    now = now or utcnow()
    checked = [check_answer(q, a) for a in answers]
    hold_active(session, inv, now)
    rows = {
        (a.item_id, a.part): {
            "invitation_id": inv.id,
            "item_id": a.item_id,
            "part": a.part,
            "value": a.value,
            "seconds": a.seconds,
            "saved_at": now,
        }
        for a in checked
    }
    # One flush, at the commit: the upsert and the recount run without autoflush, so the
    # caller's pending access-log row and the invitation's update go out together.
    with session.no_autoflush:
        _upsert(session, list(rows.values()))
        prog = progress(session, inv, q)
    if inv.status == "created":
        inv.status = "started"
        inv.started_at = now
    if page is not None and inv.page != page:
        inv.page = page
    if inv.answered != prog.answered:
        inv.answered = prog.answered
    inv.updated_at = now
    session.commit()
    return prog


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int
    missing: tuple[str, ...]


def stored_answers(session: Session, invitation_id: str) -> list[Answer]:
    return list(
        session.scalars(
            select(Answer)
            .where(Answer.invitation_id == invitation_id)
            .order_by(Answer.item_id, Answer.part)
        )
    )


@dataclass(frozen=True)
class _Shape:
    """What a questionnaire's answers must hold: its Likert item ids, and each item's
    parts needed for it to count as answered (in item order)."""

    likert: frozenset[str]
    needs: tuple[tuple[str, frozenset[str]], ...]


_shapes: dict[str, _Shape] = {}


def _shape(q: Questionnaire) -> _Shape:
    """The :class:`_Shape` of ``q`` (cached by the questionnaire's fingerprint)."""
    found = _shapes.get(q.fingerprint)
    if found is not None:
        return found
    needs = []
    for item in q.items:
        if not isinstance(item, SjtItem):
            need = frozenset({""})
        elif item.response_format == "rate":
            need = frozenset(item.option_ids)
        else:
            need = frozenset(
                {"most", "least"} if item.response_format == "most_least" else {"best"}
            )
        needs.append((item.id, need))
    shape = _Shape(frozenset(it.id for it in q.likert_items), tuple(needs))
    _shapes[q.fingerprint] = shape
    return shape


def progress(session: Session, inv: Invitation, q: Questionnaire) -> Progress:
    """How many items are fully answered (a rate item: every option; most/least: both).

    Counted from the stored answers' keys only (an index-only read of the primary key),
    so that it is exact with two tabs saving at once, and cheap."""
    parts: dict[str, set[str]] = {}
    for item_id, part in session.execute(
        select(Answer.item_id, Answer.part).where(Answer.invitation_id == inv.id)
    ):
        parts.setdefault(item_id, set()).add(part)
    # items, not answer columns: an SJT item is one item however many parts it has
    needs = _shape(q).needs
    missing = [i for i, need in needs if not need <= parts.get(i, set())]
    return Progress(len(needs) - len(missing), len(needs), tuple(missing))


def answer_record(q: Questionnaire, candidate_id: str, rows: Iterable[Answer]) -> dict[str, Any]:
    """The stored answers as a scoring record (the shape ``repprofile.score`` and
    ``/v1/score`` take): Likert items as whole numbers, SJT items nested
    (``{"sr01": {"a": 4}}`` or ``{"sr01": {"most": "b", "least": "d"}}``), and
    ``item_seconds`` (an item's parts summed) when every answer of an item was timed."""
    answers: dict[str, Any] = {}
    seconds: dict[str, float | None] = {}
    for row in rows:
        sjt = q.sjt_item_index.get(row.item_id)
        if sjt is None:
            answers[row.item_id] = int(row.value)
        elif sjt.response_format == "rate":
            answers.setdefault(row.item_id, {})[row.part] = int(row.value)
        else:
            answers.setdefault(row.item_id, {})[row.part] = row.value
        if row.item_id in seconds and seconds[row.item_id] is None:
            continue
        if row.seconds is None:
            seconds[row.item_id] = None
        else:
            seconds[row.item_id] = (seconds.get(row.item_id) or 0.0) + row.seconds
    rec: dict[str, Any] = {"candidate_id": candidate_id, "answers": answers}
    timed = {k: v for k, v in seconds.items() if v is not None}
    if timed and len(timed) == len(seconds):
        rec["item_seconds"] = timed
    return rec


def complete(
    session: Session,
    inv: Invitation,
    q: Questionnaire,
    document: Mapping[str, Any],
    sjt_key: str | None,
    outbox_body: str | None,
    now: dt.datetime | None = None,
    ats_order: AtsOrder | None = None,
) -> None:
    """Store the scored ``document`` of a completed invitation, mark it completed and queue
    its webhook (``outbox_body``, when the invitation has a callback URL) and the ATS's
    completion call (``ats_order``, when it has a callback URL: event
    ``greenhouse.completed``, an empty body sent as a PATCH with the ordering key), in
    one commit."""
    now = now or utcnow()
    session.add(
        Result(
            invitation_id=inv.id,
            candidate_id=inv.candidate_id,
            questionnaire=q.id,
            questionnaire_version=q.version,
            questionnaire_sha256=q.fingerprint,
            norms=inv.norms,
            roles=list(inv.roles),
            sjt_key=sjt_key,
            library_version=__version__,
            document=dict(document),
            created_at=now,
        )
    )
    inv.status = "completed"
    inv.completed_at = now
    inv.updated_at = now
    cancel_emails(session, inv.id, "completed", now)
    if inv.callback_url and outbox_body is not None:
        session.add(
            Outbox(
                invitation_id=inv.id,
                event="invitation.completed",
                url=inv.callback_url,
                body=outbox_body,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    if ats_order is not None and ats_order.callback_url:
        session.add(
            Outbox(
                invitation_id=inv.id,
                event=f"{ats_order.provider}.completed",
                url=ats_order.callback_url,
                body="",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                auth_key_sha256=ats_order.key_sha256,
            )
        )
    log_access(session, "candidate", "invitation.complete", inv.id)
    session.commit()


def result_of(session: Session, invitation_id: str) -> Result | None:
    return session.get(Result, invitation_id)
