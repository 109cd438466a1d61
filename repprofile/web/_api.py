"""The invitations API under ``/v1/invitations`` (bearer key, like the scoring API):
create (idempotent with ``Idempotency-Key``), read, list (cursor-paginated), withdraw,
erase, and the completed candidate's report and chart. Every call is written to the
access log (who, what, which invitation; never answers).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from repprofile._errors import RepprofileError
from repprofile.server._http import Problem, clip, json_response, negotiate, parse, unprocessable
from repprofile.server._render import draw_chart, draw_report
from repprofile.server._schemas import body_doc, error_responses, with_200
from repprofile.web._db import Invitation, as_utc, utcnow
from repprofile.web._links import REPORT_PREFIX, check_report_token, report_url
from repprofile.web._outbox import callback_refusal
from repprofile.web._schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationList,
    InvitationOut,
    ReportLink,
    ReportLinkRequest,
)
from repprofile.web._service import WebService, actor_of
from repprofile.web._store import (
    STATUSES,
    IdempotencyConflictError,
    NewInvitation,
    answer_record,
    create_invitation,
    emails_of,
    erase,
    list_invitations,
    log_access,
    refresh_status,
    result_of,
    stored_answers,
    withdraw,
)

__all__ = ["add_invitation_routes", "add_report_link_routes", "invitation_out"]

MAX_LIFETIME = dt.timedelta(days=366)


def _dt(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value)


def invitation_out(
    inv: Invitation,
    result: dict[str, Any] | None,
    with_result: bool,
    result_url: str | None = None,
    emails: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The invitation document (``InvitationOut``) as JSON-ready values."""
    done = inv.status == "completed"
    base = f"/v1/invitations/{inv.id}"
    doc = InvitationOut(
        invitation_id=inv.id,
        candidate_id=inv.candidate_id,
        questionnaire=inv.questionnaire,
        questionnaire_version=inv.questionnaire_version,
        questionnaire_sha256=inv.questionnaire_sha256,
        roles=list(inv.roles),
        norms=inv.norms,
        status=inv.status,
        progress={"answered": inv.answered, "total": inv.total},
        locale=inv.locale,
        metadata=dict(inv.meta or {}),
        callback_url=inv.callback_url,
        show_results=inv.show_results,
        created_at=_dt(inv.created_at),
        updated_at=_dt(inv.updated_at),
        expires_at=_dt(inv.expires_at),
        privacy_accepted_at=_dt(inv.privacy_accepted_at),
        started_at=_dt(inv.started_at),
        completed_at=_dt(inv.completed_at),
        withdrawn_at=_dt(inv.withdrawn_at),
        erased_at=_dt(inv.erased_at),
        result=result if with_result and done else None,
        report_url=base + "/report" if done else None,
        chart_url=base + "/chart" if done else None,
        result_url=result_url if done else None,
        emails=emails,
    )
    out: dict[str, Any] = doc.model_dump(mode="json")
    return out


def _one(web: WebService, s: Any, inv: Invitation, result: dict[str, Any] | None) -> dict[str, Any]:
    """The document of one invitation (GET, withdraw, erase): with the result when given,
    the signed report link when completed, and the candidate's emails."""
    link = web.result_url(inv)
    emails = emails_of(s, inv.id, web.settings.webhook_max_attempts)
    return invitation_out(inv, result, True, link, emails)


def _cursor_text(cursor: tuple[dt.datetime, str] | None) -> str | None:
    if cursor is None:
        return None
    raw = json.dumps([cursor[0].isoformat(), cursor[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(text: str) -> tuple[dt.datetime, str]:
    try:
        at, last = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        when = dt.datetime.fromisoformat(at)
        if not isinstance(last, str) or when.tzinfo is None:
            raise ValueError
        return when.astimezone(dt.UTC), last
    except (ValueError, TypeError):
        raise unprocessable("cursor", "expected a cursor returned by this endpoint") from None


def _not_found(invitation_id: str) -> Problem:
    return Problem(404, "not_found", f"no invitation {clip(invitation_id)!r}")


def add_invitation_routes(app: FastAPI, web: WebService) -> None:
    """``/v1/invitations`` and its sub-resources on ``app``."""
    service = web.service
    app.state.request_models = [
        *getattr(app.state, "request_models", []),
        InvitationCreate,
        ReportLinkRequest,
    ]

    @app.post(
        "/v1/invitations",
        operation_id="createInvitation",
        tags=["invitations"],
        status_code=201,
        openapi_extra={
            **body_doc(InvitationCreate),
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "A retry with the same key and body answers the same "
                    "invitation and link (Idempotent-Replayed: true).",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            ],
        },
        response_model=InvitationCreated,
        responses=error_responses(401, 413, 422),
    )
    async def create(request: Request) -> Response:
        """Invite a candidate: answers 201 with the candidate's link. A retry with the same
        `Idempotency-Key` header (and the same body) answers the same invitation and link,
        with `Idempotent-Replayed: true`; the same key with another body is a 422."""
        req = await parse(request, InvitationCreate)
        actor = actor_of(request.headers.get("authorization"))
        q = service.questionnaire(req.questionnaire)
        for i, r in enumerate(req.roles):
            service.role(r, q, f"roles.{i}")
        if req.norms is not None:
            table = service.catalogue.norms.get(req.norms)
            if table is None:
                raise unprocessable(
                    "norms",
                    f"unknown norm table {clip(req.norms)!r}; expected one of "
                    f"{sorted(service.catalogue.norms)}",
                )
            try:
                table.check_for(q)
            except RepprofileError as exc:
                raise unprocessable("norms", str(exc)) from None
        if req.sjt_method is not None:
            from repprofile._analysis.sjt import resolve_method
            from repprofile._formats.questionnaire import SJT_METHODS

            if req.sjt_method not in SJT_METHODS:
                raise unprocessable(
                    "sjt_method",
                    f"expected one of {list(SJT_METHODS)}, got {clip(req.sjt_method)!r}",
                )
            try:
                resolve_method(q, req.sjt_method, None)
            except RepprofileError as exc:
                raise unprocessable("sjt_method", str(exc)) from None
        if req.candidate_email is not None and not web.sends_email:
            raise unprocessable(
                "candidate_email",
                "this server sends no email: set REPPROFILE_SMTP_URL (or --smtp-dry-run) on "
                "the server, or leave out candidate_email and give the link yourself",
            )
        if req.callback_url is not None and web.settings.webhook_secret is None:
            raise unprocessable(
                "callback_url",
                "this server has no webhook secret to sign events with: set "
                "REPPROFILE_WEBHOOK_SECRET on the server, or leave out callback_url",
            )
        if req.callback_url is not None and not web.settings.webhook_allow_private:
            refused = await run_in_threadpool(callback_refusal, req.callback_url)
            if refused is not None:
                raise unprocessable("callback_url", refused)
        now = dt.datetime.now(dt.UTC)
        if req.expires_at is not None and not now < req.expires_at <= now + MAX_LIFETIME:
            raise unprocessable(
                "expires_at", "expected a time in the future, at most 366 days from now"
            )
        key = request.headers.get("idempotency-key")
        idem: tuple[str, bytes] | None = None
        if key is not None:
            if not 1 <= len(key) <= 255:
                raise unprocessable(
                    "Idempotency-Key", "expected 1 to 255 characters", where="header"
                )
            auth = request.headers.get("authorization", "").partition(" ")[2].strip()
            scope = actor + ":" + hashlib.sha256(key.encode()).hexdigest()
            idem = (scope, hashlib.sha256(("seal:" + auth + ":" + key).encode()).digest())
        new = NewInvitation.of(req, q)

        def work() -> tuple[Invitation, str | None, bool]:
            with web.session() as s:
                try:
                    plan = web.email_plan() if new.candidate_email else None
                    return create_invitation(s, new, actor, idem, emails=plan)
                except IdempotencyConflictError:
                    raise unprocessable(
                        "Idempotency-Key",
                        "this Idempotency-Key was used with a different request; use a new key",
                        where="header",
                    ) from None

        inv, token, created = await run_in_threadpool(work)
        doc = InvitationCreated(
            invitation_id=inv.id,
            url=web.settings.take_url(token) if token else None,
            status=inv.status,
            expires_at=as_utc(inv.expires_at),
            created_at=as_utc(inv.created_at),
        )
        headers = {"Location": f"/v1/invitations/{inv.id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return Response(doc.model_dump_json(), 201, headers, media_type="application/json")

    @app.get(
        "/v1/invitations",
        operation_id="listInvitations",
        tags=["invitations"],
        response_model=InvitationList,
        responses=error_responses(401, 422),
    )
    def list_(
        request: Request,
        status: Annotated[str | None, Query(description="Only this status.")] = None,
        updated_since: Annotated[
            dt.datetime | None, Query(description="Only invitations changed at or after this.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Query(description="next_cursor of the page before.")] = None,
    ) -> Response:
        """Invitations, oldest change first, a page at a time (follow `next_cursor`)."""
        if status is not None and status not in STATUSES:
            raise unprocessable("status", f"expected one of {list(STATUSES)}")
        if updated_since is not None:  # stored times are UTC; a time without a zone is UTC
            if updated_since.tzinfo is None:
                updated_since = updated_since.replace(tzinfo=dt.UTC)
            updated_since = updated_since.astimezone(dt.UTC)
        after = _parse_cursor(cursor) if cursor else None
        with web.session() as s:
            rows, nxt = list_invitations(s, status, updated_since, limit, after)
            log_access(s, actor_of(request.headers.get("authorization")), "invitation.list")
            s.commit()
            docs = [invitation_out(r, None, False, web.result_url(r)) for r in rows]
        return json_response({"invitations": docs, "next_cursor": _cursor_text(nxt)})

    @app.get(
        "/v1/invitations/{invitation_id}",
        operation_id="getInvitation",
        tags=["invitations"],
        response_model=InvitationOut,
        responses=error_responses(401, 404),
    )
    def get(invitation_id: str, request: Request) -> Response:
        """One invitation: status, progress, timestamps and, once completed, the result."""
        with web.session() as s:
            inv = s.get(Invitation, invitation_id)
            if inv is None:
                raise _not_found(invitation_id)
            refresh_status(s, inv)
            res = result_of(s, inv.id)
            log_access(s, actor_of(request.headers.get("authorization")), "invitation.read", inv.id)
            s.commit()
            return json_response(_one(web, s, inv, res.document if res else None))

    @app.post(
        "/v1/invitations/{invitation_id}/withdraw",
        operation_id="withdrawInvitation",
        tags=["invitations"],
        response_model=InvitationOut,
        responses=error_responses(401, 404, 409),
    )
    def withdraw_(invitation_id: str, request: Request) -> Response:
        """Withdraw an invitation: its link stops working. 409 once completed or erased."""
        with web.session() as s:
            inv = s.get(Invitation, invitation_id)
            if inv is None:
                raise _not_found(invitation_id)
            if inv.status == "withdrawn":
                return json_response(_one(web, s, inv, None))
            if not withdraw(s, inv, actor_of(request.headers.get("authorization"))):
                raise Problem(
                    409, "conflict", f"invitation {inv.id} is {inv.status}: it cannot be withdrawn"
                )
            return json_response(_one(web, s, inv, None))

    @app.delete(
        "/v1/invitations/{invitation_id}",
        operation_id="eraseInvitation",
        tags=["invitations"],
        response_model=InvitationOut,
        responses=error_responses(401, 404),
    )
    def erase_(invitation_id: str, request: Request) -> Response:
        """Erase an invitation (a data-subject request): its answers and result are
        deleted and its link stops working; a tombstone with the ids and dates stays.
        Erasing again answers the tombstone."""
        with web.session() as s:
            inv = s.get(Invitation, invitation_id)
            if inv is None:
                raise _not_found(invitation_id)
            if inv.status != "erased":
                erase(s, inv, actor_of(request.headers.get("authorization")))
            return json_response(_one(web, s, inv, None))

    @app.post(
        "/v1/invitations/{invitation_id}/report-link",
        operation_id="invitationReportLink",
        tags=["invitations"],
        openapi_extra=body_doc(ReportLinkRequest, required=False),
        response_model=ReportLink,
        responses=error_responses(401, 404, 409, 422),
    )
    async def report_link(invitation_id: str, request: Request) -> Response:
        """A fresh signed report link (no API key needed to open it) for a completed
        invitation, valid `days` days (default: the server's REPPROFILE_REPORT_LINK_DAYS,
        30); for the recruiter an ATS link has expired on. Links already given keep
        working until they expire."""
        raw = await request.body()
        req = await parse(request, ReportLinkRequest) if raw.strip() else ReportLinkRequest()
        actor = actor_of(request.headers.get("authorization"))

        def work() -> dict[str, Any]:
            with web.session() as s:
                inv = s.get(Invitation, invitation_id)
                if inv is None or inv.status == "erased":
                    raise _not_found(invitation_id)
                if inv.status != "completed":
                    raise Problem(
                        409, "conflict", f"invitation {inv.id} is {inv.status}, not completed"
                    )
                if not inv.roles:
                    raise Problem(
                        409,
                        "conflict",
                        f"invitation {inv.id} names no role: a report is a role's report, so "
                        "there is none to link to (GET /v1/invitations/{id}/report?role=...)",
                    )
                days = req.days or web.settings.report_link_days
                log_access(s, actor, "invitation.report_link", inv.id, f"days={days}")
                s.commit()
            expires = utcnow().replace(microsecond=0) + dt.timedelta(days=days)
            url = report_url(web.settings.public_url, web.secret_key(), invitation_id, expires)
            return {"result_url": url, "expires_at": expires}

        doc = await run_in_threadpool(work)
        return Response(ReportLink(**doc).model_dump_json(), media_type="application/json")

    _add_document_routes(app, web)


def _completed(
    web: WebService, invitation_id: str, actor: str, action: str, detail: str | None = None
) -> Any:
    """The completed invitation's questionnaire, re-scored result and roles (the read is
    written to the access log as ``actor`` doing ``action``)."""
    with web.session() as s:
        inv = s.get(Invitation, invitation_id)
        if inv is None or inv.status == "erased":
            raise _not_found(invitation_id)
        if inv.status != "completed":
            raise Problem(409, "conflict", f"invitation {inv.id} is {inv.status}, not completed")
        q = web.questionnaire(inv)
        record = answer_record(q, inv.candidate_id, stored_answers(s, inv.id))
        log_access(s, actor, action, inv.id, detail)
        s.commit()
        result, _ = web.score(inv, record)
        return inv, q, result


def _report_parts(
    web: WebService, invitation_id: str, role: str | None, actor: str, detail: str | None = None
) -> Any:
    """The report document, scores and role of a completed invitation (for ``role``,
    default the invitation's first)."""
    from repprofile._analysis.fit import fit
    from repprofile._rendering.report import candidate_report

    action = "report.link" if actor == LINK_ACTOR else "invitation.report"
    inv, q, result = _completed(web, invitation_id, actor, action, detail)
    role_id = role or (inv.roles[0] if inv.roles else None)
    if role_id is None:
        raise unprocessable(
            "role", "the invitation names no role; give ?role=ROLE_ID", where="query"
        )
    role_obj = web.service.role(role_id, q, "role")
    fitted = fit(result, role_obj)
    date = as_utc(inv.completed_at)
    doc = candidate_report(
        result,
        inv.candidate_id,
        role_obj,
        date=None if date is None else date.date().isoformat(),
        fit_result=fitted,
    )
    return doc, result, role_obj


def _add_document_routes(app: FastAPI, web: WebService) -> None:
    service = web.service

    @app.get(
        "/v1/invitations/{invitation_id}/report",
        operation_id="invitationReport",
        tags=["invitations"],
        response_class=Response,
        responses=with_200(
            {
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/html": {"schema": {"type": "string"}},
                },
                "description": "The candidate report: PDF, or HTML by Accept.",
            },
            401,
            404,
            406,
            409,
            422,
        ),
    )
    async def report(
        invitation_id: str,
        request: Request,
        role: Annotated[str | None, Query(description="Default: the invitation's first.")] = None,
    ) -> Response:
        """The completed candidate's report for one of the invitation's roles."""
        kind = negotiate(request, ("application/pdf", "text/html"))
        actor = actor_of(request.headers.get("authorization"))
        doc, result, role_obj = await run_in_threadpool(
            _report_parts, web, invitation_id, role, actor
        )
        fmt: Literal["pdf", "html"] = "pdf" if kind == "application/pdf" else "html"
        data = await service.render_pool.run(request, draw_report, doc, result, role_obj, fmt)
        return Response(data, media_type=kind)

    @app.get(
        "/v1/invitations/{invitation_id}/chart",
        operation_id="invitationChart",
        tags=["invitations"],
        response_class=Response,
        responses=with_200(
            {
                "content": {
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/svg+xml": {"schema": {"type": "string"}},
                },
                "description": "The radar chart: PNG, or SVG by Accept.",
            },
            401,
            404,
            406,
            409,
        ),
    )
    async def chart(invitation_id: str, request: Request) -> Response:
        """The completed candidate's radar chart, with the first role's target if any."""
        fmt = negotiate(request, ("image/png", "image/svg+xml"))

        def prepare() -> Any:
            actor = actor_of(request.headers.get("authorization"))
            inv, q, result = _completed(web, invitation_id, actor, "invitation.chart")
            role_obj = service.role(inv.roles[0], q, "role") if inv.roles else None
            return inv, result, role_obj

        inv, result, role_obj = await run_in_threadpool(prepare)
        data = await service.render_pool.run(
            request,
            draw_chart,
            result,
            [inv.candidate_id],
            role_obj,
            "auto",
            False,
            "png" if fmt == "image/png" else "svg",
        )
        return Response(data, media_type=fmt)


LINK_ACTOR = "link"
"""The access-log actor of a report opened through a signed link."""
# The report's HTML has its styles inline and its chart as an inline SVG or data: image;
# nothing else may load, run, frame it or be submitted from it.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
LINK_HEADERS = {
    "Content-Security-Policy": REPORT_CSP,
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
}


def _link_not_found() -> Response:
    """The one answer to every report link that does not open a report (malformed,
    forged, expired, erased, not completed): nothing tells which."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Link not valid</title>"
        "<p>This report link is not valid: it may have expired or been revoked. Ask for a "
        "new link from the system that gave you this one.</p></html>"
    )
    return Response(body, 404, LINK_HEADERS, media_type="text/html")


def add_report_link_routes(app: FastAPI, web: WebService) -> None:
    """``GET /reports/{token}``: the candidate report of a signed link
    (:mod:`repprofile.web._links`), HTML, or PDF with ``?format=pdf``; no API key."""
    service = web.service

    @app.get(REPORT_PREFIX + "{token}", include_in_schema=False)
    async def report_link(token: str, request: Request) -> Response:
        """A report opened through a signed link."""
        invitation_id = check_report_token(web.secret_key(), token, utcnow())
        if invitation_id is None:
            return _link_not_found()
        fmt = request.query_params.get("format", "html")
        if fmt not in ("html", "pdf"):  # said only to a holder of a valid link
            body = "<!doctype html><html lang=en><meta charset=utf-8><title>Bad format</title>"
            body += "<p>format must be html (the default) or pdf: ?format=pdf.</p></html>"
            return Response(body, 400, LINK_HEADERS, media_type="text/html")
        try:
            doc, result, role_obj = await run_in_threadpool(
                _report_parts, web, invitation_id, None, LINK_ACTOR, fmt
            )
        except (Problem, RequestValidationError):  # erased, not completed, no role
            return _link_not_found()
        data = await service.render_pool.run(request, draw_report, doc, result, role_obj, fmt)
        headers = dict(LINK_HEADERS)
        if fmt == "pdf":
            headers["Content-Disposition"] = f'inline; filename="report-{invitation_id}.pdf"'
        kind = "application/pdf" if fmt == "pdf" else "text/html"
        return Response(data, media_type=kind, headers=headers)
