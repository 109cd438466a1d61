"""repprofile as a Greenhouse assessment partner: the four endpoints Greenhouse calls, under
``/integrations/greenhouse/``, as its Assessment Partner API documents them
(https://developers.greenhouse.io/assessment.html):

* ``GET list_tests``: the catalogue, a bare JSON array of ``{"partner_test_id",
  "partner_test_name"}``; one test per (questionnaire, role) of :class:`TestCatalogue`;
* ``POST send_test``: an order: an invitation is created, its email queued (the candidate
  is emailed by the email outbox), and ``{"partner_interview_id"}`` answered; Greenhouse's
  ``url`` is kept for the completion call (it must be ``https://`` on a public address:
  the call carries the key; ``REPPROFILE_WEBHOOK_ALLOW_PRIVATE`` lifts both rules);
* ``GET test_status?partner_interview_id=``: ``{"partner_status", "partner_profile_url",
  "partner_score", "metadata"}`` (``complete`` when done, with a signed report link, the
  fit for the test's role and flat metadata);
* ``POST response_error``: Greenhouse reports a problem with one of our answers; logged
  (at most 2,000 characters, report-link tokens and email addresses masked: Greenhouse
  may quote our answer).

Greenhouse authenticates with HTTP Basic, the organisation's key as the user name and an
empty password. The keys are ``REPPROFILE_GREENHOUSE_KEYS`` or else the server's API
keys; only their SHA-256 digests are compared, in constant time. An order belongs to the
key that placed it: another key gets 404 for it. On completion the invitation's
outbox row (``greenhouse.completed``) PATCHes Greenhouse's ``url`` with no body and the
same Basic credentials (:mod:`repprofile.web._outbox`); Greenhouse then calls
``test_status`` (it also polls it hourly on its own).

Nothing of the request is logged but ids and status codes; the candidate's last name,
phone number, resume URL and Greenhouse profile URL are not stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from repprofile._errors import InputError
from repprofile.server._http import Problem, clip, unprocessable
from repprofile.server._service import Catalogue
from repprofile.web._ats import greenhouse_fields
from repprofile.web._db import AtsOrder, Invitation, as_utc, utcnow
from repprofile.web._links import REPORT_PREFIX
from repprofile.web._outbox import callback_refusal
from repprofile.web._schemas import safe_display_name, valid_email
from repprofile.web._service import WebService
from repprofile.web._store import (
    ACTIVE,
    EmailPlan,
    NewInvitation,
    create_invitation,
    log_access,
    refresh_status,
    result_of,
)

__all__ = [
    "PREFIX",
    "GreenhouseTest",
    "TestCatalogue",
    "add_greenhouse_routes",
    "basic_key",
    "check_keys",
    "load_catalogue",
    "partner_status",
    "place_order",
]

log = logging.getLogger("repprofile.web.greenhouse")

PREFIX = "/integrations/greenhouse/"
MAX_KEY_LENGTH = 170
"""Greenhouse accepts partner keys of fewer than 171 characters."""
MAX_ERROR_BYTES = 65_536
REALM = 'Basic realm="repprofile"'
PROVIDER = "greenhouse"
_TEST_ID = r"^[A-Za-z0-9_.:-]{1,100}$"

# created -> "sent": the link is in the candidate's mailbox, not opened yet
PARTNER_STATUS = {
    "created": "sent",
    "started": "started",
    "completed": "complete",
    "expired": "expired",
    "withdrawn": "withdrawn",
    "erased": "erased",
}


def partner_status(status: str) -> str:
    """Greenhouse's ``partner_status`` of an invitation status (``complete`` when done)."""
    return PARTNER_STATUS[status]


# ---------------------------------------------------------------------------- catalogue


def _test_id(value: str) -> str:
    if re.fullmatch(_TEST_ID, value) is None:
        raise ValueError("expected 1 to 100 letters, digits or the characters _ . : - (no spaces)")
    return value


class GreenhouseTest(BaseModel):
    """One test Greenhouse can order: a role on its questionnaire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, AfterValidator(_test_id), Field(description="partner_test_id.")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    questionnaire: str
    role: str
    expires_in_days: int = Field(default=14, ge=1, le=366)
    sjt_method: str | None = None
    norms: str | None = None


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tests: list[GreenhouseTest] = Field(min_length=1)


class TestCatalogue:
    """The tests offered to Greenhouse, in order, checked against the server's catalogue."""

    __test__ = False  # not a pytest class

    def __init__(self, tests: Sequence[GreenhouseTest]) -> None:
        self.tests = tuple(tests)
        self.by_id = {t.id: t for t in self.tests}

    def listing(self) -> list[dict[str, str]]:
        """The ``list_tests`` answer."""
        return [{"partner_test_id": t.id, "partner_test_name": t.name} for t in self.tests]


def load_catalogue(path: Path | None, catalogue: Catalogue) -> TestCatalogue:
    """The tests of the ``tests:`` list in the YAML file ``path``, or by default every
    role the server knows on its questionnaire (id and name those of the role, sorted by
    id). Raises :class:`InputError` naming the file, the entry and what was expected: an
    unknown questionnaire, role or norm table, a role of another questionnaire, a
    repeated id."""
    if path is None:
        tests = [
            GreenhouseTest(id=r.id, name=r.name, questionnaire=r.questionnaire, role=r.id)
            for r in sorted(catalogue.roles.values(), key=lambda r: r.id)
            if r.questionnaire in catalogue.questionnaires
        ]
        return TestCatalogue(tests)
    from repprofile._formats.files import read_yaml, validate_document

    try:
        data = read_yaml(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the ATS configuration ({exc.strerror})") from None
    doc = validate_document(
        _CatalogueFile,
        data,
        str(path),
        expected="the ATS configuration must be a mapping with a 'tests:' list",
        error=InputError,
    )
    seen: set[str] = set()
    for i, t in enumerate(doc.tests):
        where = f"{path}: tests[{i}] ({t.id!r})"
        if t.id in seen:
            raise InputError(f"{where}: the id is used twice; each test needs its own id")
        seen.add(t.id)
        if t.questionnaire not in catalogue.questionnaires:
            raise InputError(
                f"{where}: unknown questionnaire {t.questionnaire!r}; expected one of "
                f"{sorted(catalogue.questionnaires)}"
            )
        role = catalogue.roles.get(t.role)
        if role is None:
            raise InputError(
                f"{where}: unknown role {t.role!r}; expected one of {sorted(catalogue.roles)}"
            )
        if role.questionnaire != t.questionnaire:
            raise InputError(
                f"{where}: role {t.role!r} applies to questionnaire {role.questionnaire!r}, "
                f"not {t.questionnaire!r}"
            )
        if t.norms is not None and t.norms not in catalogue.norms:
            raise InputError(
                f"{where}: unknown norm table {t.norms!r}; expected one of "
                f"{sorted(catalogue.norms)}"
            )
    return TestCatalogue(doc.tests)


# ---------------------------------------------------------------------------- keys


def _usable(key: str) -> bool:
    return 16 <= len(key) <= MAX_KEY_LENGTH and not any(c.isspace() or c in ":," for c in key)


def check_keys(keys: Sequence[str], source: str, strict: bool = True) -> dict[str, str]:
    """``{sha256 hex: key}`` of the keys Greenhouse may use. A key Greenhouse would refuse
    (over 170 characters), one too short to be safe (under 16) or one with a colon (it
    cannot be an HTTP Basic user name) is an :class:`InputError` naming ``source`` and
    its position when ``strict`` (keys given for Greenhouse); otherwise it is left out
    (the server's API keys, which may be longer)."""
    ring: dict[str, str] = {}
    for i, key in enumerate(keys, start=1):
        if not _usable(key):
            if not strict:
                continue
            raise InputError(
                f"{source} key {i}: a Greenhouse key must be 16 to {MAX_KEY_LENGTH} characters "
                f"without spaces, commas or colons, got {len(key)} characters instead"
            )
        ring[hashlib.sha256(key.encode("utf-8")).hexdigest()] = key
    return ring


def basic_key(authorization: str | None, ring: Mapping[str, str]) -> str:
    """The SHA-256 (hex) of the configured key presented as the HTTP Basic user name with
    an empty password, or a 401 :class:`Problem` saying what was wrong (never whether a
    key in the wrong place is a valid one). Every configured digest is compared, in
    constant time."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise _unauthorized(
            "expected HTTP Basic authentication: the key as the user name, an empty password"
        )
    try:
        user, sep, password = (
            base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("malformed HTTP Basic credentials") from None
    if not sep:
        raise _unauthorized("malformed HTTP Basic credentials (no ':' separator)")
    if not user and password:
        raise _unauthorized(
            "the key goes in the user name of HTTP Basic, with an empty password "
            "(it was sent as the password)"
        )
    if password:
        raise _unauthorized("the password of HTTP Basic must be empty; the key is the user name")
    presented = hashlib.sha256(user.encode("utf-8")).hexdigest()
    ok = False
    for digest in ring:  # every key is compared: the time does not tell which matched
        ok |= hmac.compare_digest(digest.encode("ascii"), presented.encode("ascii"))
    if not ok:
        raise _unauthorized("missing or invalid key")
    return presented


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": REALM})


# ---------------------------------------------------------------------------- requests


class GreenhouseCandidate(BaseModel):
    """The candidate of a ``send_test`` order (Greenhouse's fields; others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    first_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    last_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    resume_url: str | None = None
    phone_number: str | None = None
    greenhouse_profile_url: str | None = None


class SendTest(BaseModel):
    """The ``send_test`` body."""

    model_config = ConfigDict(extra="ignore")

    partner_test_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    candidate: GreenhouseCandidate
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def _dedupe(key_sha256: str, test_id: str, email: str, url: str) -> str:
    text = "\x00".join((key_sha256, test_id, email.strip().lower(), url))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _candidate_id(secret_key: bytes, email: str) -> str:
    """A stable candidate id without the address in it: ``greenhouse-`` and 16 hex digits
    of the HMAC-SHA256, keyed with the server's secret key, of the lower-cased address
    (repeated orders for one person match). Keyed, not a plain hash: the id outlives
    erasure and every API key reads it, and a plain hash of an address is found again by
    hashing a list of addresses."""
    text = b"repprofile-greenhouse-candidate\x00" + email.strip().lower().encode()
    return "greenhouse-" + hmac.new(secret_key, text, hashlib.sha256).hexdigest()[:16]


def _json(doc: Any, status: int = 200) -> Response:
    return JSONResponse(doc, status)


async def _parse_send_test(request: Request) -> SendTest:
    raw = await request.body()
    try:
        return SendTest.model_validate_json(raw)
    except ValidationError as exc:
        from fastapi.exceptions import RequestValidationError

        errors = [
            {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


def add_greenhouse_routes(app: FastAPI, web: WebService, tests: TestCatalogue) -> None:
    """The four Greenhouse endpoints on ``app`` (not in the OpenAPI document: their
    shapes are Greenhouse's, documented in docs/ats.md)."""

    def key_of(request: Request) -> str:
        return basic_key(request.headers.get("authorization"), web.ats_keys)

    @app.get(PREFIX + "list_tests", include_in_schema=False)
    def list_tests(request: Request) -> Response:
        """The tests this server offers."""
        key_of(request)
        return _json(tests.listing())

    @app.post(PREFIX + "send_test", include_in_schema=False)
    async def send_test(request: Request) -> Response:
        """Order a test for a candidate: an invitation, its email, Greenhouse's URL kept."""
        key = key_of(request)
        req = await _parse_send_test(request)
        test = tests.by_id.get(req.partner_test_id)
        if test is None:
            raise unprocessable(
                "partner_test_id",
                f"unknown test {clip(req.partner_test_id)!r}; list_tests gives the tests "
                "this server offers",
            )
        email = req.candidate.email.strip()
        if not valid_email(email):
            raise unprocessable("candidate.email", "expected an email address")
        if not req.url.startswith(("https://", "http://")):
            raise unprocessable("url", "expected an http(s) URL")
        if not web.settings.webhook_allow_private:
            refused = await run_in_threadpool(callback_refusal, req.url)
            if refused is not None:
                raise unprocessable("url", refused)
            if not req.url.startswith("https://"):
                # the completion PATCH carries the key: never in clear text on the internet
                raise unprocessable(
                    "url",
                    "expected an https:// URL: the completion call sends the key in its "
                    "Authorization header (http:// only with REPPROFILE_WEBHOOK_ALLOW_PRIVATE=1, "
                    "for a receiver on this network)",
                )
        plan = web.email_plan()
        if plan is None:
            raise Problem(
                503,
                "email_not_configured",
                "this server sends no email (set REPPROFILE_SMTP_URL, or --smtp-dry-run to "
                "write the messages to files), so it cannot send the test to the candidate",
            )
        invitation_id, _ = await run_in_threadpool(place_order, web, test, req, key, plan)
        return _json({"partner_interview_id": invitation_id})

    @app.get(PREFIX + "test_status", include_in_schema=False)
    def test_status(request: Request) -> Response:
        """Where the order stands; when complete, the report link, the fit and metadata."""
        key = key_of(request)
        interview = request.query_params.get("partner_interview_id")
        if not interview:
            raise unprocessable(
                "partner_interview_id", "expected the partner_interview_id query parameter", "query"
            )
        with web.session() as s:
            order = s.get(AtsOrder, interview) if len(interview) <= 40 else None
            inv = s.get(Invitation, interview) if order is not None else None
            if order is None or inv is None or order.key_sha256 != key:
                raise Problem(404, "not_found", f"no test {clip(interview)!r}")
            refresh_status(s, inv)
            doc: dict[str, Any] = {
                "partner_status": partner_status(inv.status),
                "partner_profile_url": None,
                "partner_score": None,
                "metadata": None,
            }
            if inv.status == "completed" and inv.completed_at is not None:
                result = result_of(s, inv.id)
                if result is not None:
                    q = web.questionnaire(inv)
                    role = inv.roles[0] if inv.roles else None
                    score, meta = greenhouse_fields(q, dict(result.document), role)
                    completed = as_utc(inv.completed_at) or inv.completed_at
                    doc["partner_profile_url"] = web.report_link(inv.id, completed)
                    doc["partner_score"] = score
                    doc["metadata"] = meta
            log_access(s, _actor(key), "greenhouse.test_status", inv.id)
            s.commit()
        return _json(doc)

    @app.post(PREFIX + "response_error", include_in_schema=False)
    async def response_error(request: Request) -> Response:
        """Greenhouse reports a problem with one of our answers: logged, acknowledged."""
        key = key_of(request)
        raw = await request.body()
        if len(raw) > MAX_ERROR_BYTES:
            raise Problem(
                413, "body_too_large", f"expected a body of at most {MAX_ERROR_BYTES} bytes"
            )
        try:
            doc = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            raise unprocessable("", "expected a JSON object") from None
        if not isinstance(doc, dict):
            raise unprocessable("", "expected a JSON object")
        interview = doc.get("partner_interview_id")
        interview = str(interview)[:40] if interview is not None else None
        text = _masked(json.dumps(doc, sort_keys=True, ensure_ascii=True))[:2000]
        log.warning("Greenhouse reported an error about test %s: %s", interview or "(none)", text)

        def work() -> None:
            with web.session() as s:
                log_access(s, _actor(key), "greenhouse.response_error", interview, text)
                s.commit()

        await run_in_threadpool(work)
        return _json({})


def place_order(
    web: WebService, test: GreenhouseTest, req: SendTest, key_sha256: str, plan: EmailPlan
) -> tuple[str, bool]:
    """Place a checked ``send_test`` order: ``(invitation id, created)``. An open or
    completed order with the same key, test, email (case-insensitive) and URL answers its
    own id (``created`` False, nothing new, no email); otherwise an invitation, its emails
    and the :class:`AtsOrder` are stored in one commit. Of two identical orders placed at
    once, the unique ``dedupe`` digest lets one insert; the other answers its id."""
    email = req.candidate.email.strip()
    dedupe = _dedupe(key_sha256, test.id, email, req.url)
    first_name = safe_display_name(req.candidate.first_name)
    q = web.service.questionnaire(test.questionnaire)
    actor = _actor(key_sha256)
    now = utcnow()
    with web.session() as s:
        found = _open_order(s, dedupe)
        if found is not None:
            log_access(s, actor, "greenhouse.send_test.repeat", found)
            s.commit()
            return found, False
        new = NewInvitation(
            candidate_id=_candidate_id(web.secret_key(), email),
            questionnaire=q,
            roles=(test.role,),
            norms=test.norms,
            expires_at=now + dt.timedelta(days=test.expires_in_days),
            metadata={"source": PROVIDER, "partner_test_id": test.id},
            sjt_method=test.sjt_method,
            candidate_email=email,
            candidate_name=first_name,
        )

        def order(inv: Invitation) -> list[AtsOrder]:
            return [
                AtsOrder(
                    invitation_id=inv.id,
                    provider=PROVIDER,
                    partner_test_id=test.id,
                    callback_url=req.url,
                    key_sha256=key_sha256,
                    dedupe=dedupe,
                    created_at=now,
                )
            ]

        try:
            with web.writing():
                inv, _, _ = create_invitation(s, new, actor, now=now, emails=plan, also=order)
        except IntegrityError:  # the same order, placed by a concurrent request
            s.rollback()
            found = _open_order(s, dedupe)
            if found is None:
                raise
            return found, False
        return inv.id, True


# what Greenhouse may quote back from our answers: a report link's token (a credential
# to the report) and email addresses (personal data); never logged
_REPORT_TOKEN = re.compile(re.escape(REPORT_PREFIX) + r"[^\s\"'\\<>?#]+")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _masked(text: str) -> str:
    """``text`` with report-link tokens and email addresses replaced by ``***``."""
    return _ADDRESS.sub("***@***", _REPORT_TOKEN.sub(REPORT_PREFIX + "***", text))


def _actor(key_sha256: str) -> str:
    """The access-log actor of a Greenhouse call (12 hex digits of the key's SHA-256)."""
    return "greenhouse:" + key_sha256[:12]


def _open_order(s: Any, dedupe: str) -> str | None:
    """The invitation id of the order with this dedupe digest when it is still open or
    completed; a closed one (expired, withdrawn, erased) gives its digest up (None)."""
    order = s.scalars(select(AtsOrder).where(AtsOrder.dedupe == dedupe)).first()
    if order is None:
        return None
    inv = s.get(Invitation, order.invitation_id)
    if inv is not None:
        refresh_status(s, inv)
        if inv.status in (*ACTIVE, "completed"):
            return str(order.invitation_id)
    s.execute(
        update(AtsOrder).where(AtsOrder.invitation_id == order.invitation_id).values(dedupe=None)
    )
    s.commit()
    return None
