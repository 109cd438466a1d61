"""Request and response documents of the invitations API (``/v1/invitations``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "EmailOut",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationList",
    "InvitationOut",
    "ProgressOut",
    "ReportLink",
    "ReportLinkRequest",
    "safe_display_name",
    "valid_email",
]

MAX_METADATA = 50

# an address as SMTP servers take it: a local part without spaces, brackets or quotes, and
# a domain name with at least one dot (no IP literals, no comments)
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def valid_email(text: str) -> bool:
    """Whether ``text`` is an email address the candidate emails can be sent to (ASCII,
    ``local@domain.tld``, at most 64 + 1 + 253 characters; RFC 5321 section 4.5.3.1)."""
    return _EMAIL.match(text) is not None


Id = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
MetaKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MetaValue = Annotated[str, StringConstraints(max_length=1000)]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
InvitationStatus = Literal["created", "started", "completed", "expired", "withdrawn", "erased"]


def _web_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2000:
        raise ValueError("expected an http:// or https:// URL (at most 2,000 characters)")
    if parts.username or parts.password:
        raise ValueError("expected a URL without a user name or password in it")
    return value


def _email(value: str) -> str:
    if not valid_email(value):
        raise ValueError("expected an email address such as ann.lee@example.com")
    return value


def _display_name(value: str) -> str:
    """A name fit for an email's To: header and greeting: 1 to 200 characters, no control
    characters (a line break would start a new header) and none of < > " (they delimit
    the address)."""
    text = value.strip()
    if not 1 <= len(text) <= 200 or any(c < " " or c in '<>"\x7f' for c in text):
        raise ValueError(
            "expected a name of 1 to 200 characters without line breaks, control "
            'characters or < > "'
        )
    return text


def safe_display_name(value: str | None) -> str | None:
    """``value`` as a greeting name when it is one (:func:`_display_name`), else None
    (a name from another system that cannot go in an email header is left out)."""
    if value is None:
        return None
    try:
        return _display_name(value)
    except ValueError:
        return None


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("expected a date and time with a time zone, e.g. 2027-01-31T17:00:00Z")
    return value.astimezone(dt.UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class InvitationCreate(_Strict):
    """``POST /v1/invitations``: invite a candidate to take a bundled questionnaire."""

    candidate_id: Id = Field(description="Your id for the candidate (an ATS id): not a name.")
    questionnaire: Id = Field(description="A bundled questionnaire id (GET /v1/questionnaires).")
    roles: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description="Bundled role ids of that questionnaire: the result holds the fit for each.",
    )
    norms: Id | None = Field(default=None, description="A bundled norm table id.")
    expires_at: Annotated[dt.datetime, AfterValidator(_aware)] | None = Field(
        default=None, description="When the link stops working (default: 14 days from now)."
    )
    callback_url: Annotated[str, AfterValidator(_web_url)] | None = Field(
        default=None,
        description="Where the signed invitation.completed event is POSTed (see the docs).",
    )
    locale: Locale | None = Field(
        default=None, description="Language of the candidate's pages (BCP 47, e.g. 'en')."
    )
    metadata: dict[MetaKey, MetaValue] | None = Field(
        default=None,
        max_length=MAX_METADATA,
        description="Your own strings, returned as given (e.g. the ATS application id).",
    )
    show_results: bool = Field(
        default=False,
        description="Show the candidate their profile on the thank-you page (default: no scores).",
    )
    sjt_method: str | None = Field(
        default=None, description="SJT scoring method (default: the questionnaire's)."
    )
    candidate_email: Annotated[str, AfterValidator(_email)] | None = Field(
        default=None,
        description="Email the candidate the link, and a reminder (when the server sends "
        "email: REPPROFILE_SMTP_URL). Kept only to send these emails; erased with the "
        "invitation.",
    )
    candidate_name: Annotated[str, AfterValidator(_display_name)] | None = Field(
        default=None,
        description="The name the emails greet the candidate with (and put in To:).",
    )


class InvitationCreated(BaseModel):
    """The new invitation: give ``url`` to the candidate (it is not shown again)."""

    invitation_id: str
    url: str | None = Field(
        description="The candidate's link. Null only when an idempotent retry finds the "
        "invitation no longer active."
    )
    status: InvitationStatus
    expires_at: dt.datetime
    created_at: dt.datetime


class ProgressOut(BaseModel):
    answered: int = Field(description="Items fully answered.")
    total: int = Field(description="Items in the questionnaire.")


class EmailOut(BaseModel):
    """One email to the candidate (never the address)."""

    kind: Literal["invitation", "reminder"]
    status: Literal["queued", "sent", "cancelled", "failed"] = Field(
        description="queued: waiting to be sent (or retried); failed: given up."
    )
    message_id: str = Field(description="The email's Message-ID header.")
    scheduled_at: dt.datetime = Field(description="When it is (or was last) due.")
    sent_at: dt.datetime | None
    attempts: int


class InvitationOut(BaseModel):
    """An invitation: status, progress, timestamps and, once completed, the result."""

    invitation_id: str
    candidate_id: str
    questionnaire: str
    questionnaire_version: str
    questionnaire_sha256: str
    roles: list[str]
    norms: str | None
    status: InvitationStatus
    progress: ProgressOut
    locale: str | None
    metadata: dict[str, str]
    callback_url: str | None
    show_results: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime
    privacy_accepted_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    erased_at: dt.datetime | None
    result: dict[str, Any] | None = Field(
        description="When completed: {'score': the /v1/score document, 'fit': the /v1/fit "
        "document or null when the invitation names no role}."
    )
    report_url: str | None = Field(description="When completed: the report (PDF or HTML).")
    chart_url: str | None = Field(description="When completed: the radar chart (PNG or SVG).")
    result_url: str | None = Field(
        default=None,
        description="When completed: the signed report link (no API key needed), valid "
        "REPPROFILE_REPORT_LINK_DAYS days after completion; POST .../report-link for a "
        "fresh one.",
    )
    emails: list[EmailOut] | None = Field(
        default=None,
        description="The candidate's emails (invitation, reminder); null in lists: GET one.",
    )


class ReportLinkRequest(_Strict):
    """``POST /v1/invitations/{id}/report-link``."""

    days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="Days the link stays valid (default: REPPROFILE_REPORT_LINK_DAYS, 30).",
    )


class ReportLink(BaseModel):
    result_url: str = Field(description="The signed report link (no API key needed).")
    expires_at: dt.datetime


class InvitationList(BaseModel):
    invitations: list[InvitationOut] = Field(description="Without 'result': GET one for it.")
    next_cursor: str | None = Field(description="Pass as 'cursor' for the next page; null: done.")
