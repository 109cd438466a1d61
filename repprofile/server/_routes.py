"""The endpoints of the HTTP API, registered on the app group by group (catalogue,
scoring, chart, report), in the order of the OpenAPI document.

Each endpoint parses its body itself (:func:`repprofile.server._http.parse`: strict, from
the JSON text) and hands the work to the :class:`~repprofile.server._service.Service`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import Response

from repprofile._analysis.scoring import ScoreResult
from repprofile._formats.questionnaire import Questionnaire
from repprofile._formats.role import Role
from repprofile._version import __version__
from repprofile.server._http import found, json_response, negotiate, parse, run, unprocessable
from repprofile.server._render import draw_chart, draw_report
from repprofile.server._schemas import (
    ChartRequest,
    FitRequest,
    FitResponse,
    Health,
    QuestionnaireSummary,
    RankRequest,
    RankResponse,
    ReportRequest,
    RoleSummaryOut,
    ScoreRequest,
    ScoreResponse,
    body_doc,
    error_responses,
    with_200,
)
from repprofile.server._service import Service

__all__ = ["add_routes"]


def add_routes(app: FastAPI, service: Service) -> None:
    """Every endpoint of the API on ``app``, working with ``service``."""
    _add_catalogue_routes(app, service)
    _add_scoring_routes(app, service)
    _add_chart_route(app, service)
    _add_report_route(app, service)


def _add_catalogue_routes(app: FastAPI, service: Service) -> None:
    """``/v1/health`` and the bundled questionnaires and roles."""

    @app.get("/v1/health", tags=["service"], operation_id="health", responses=error_responses())
    def health() -> Health:
        """Liveness check; needs no key."""
        return Health(status="ok", version=__version__)

    @app.get(
        "/v1/questionnaires",
        tags=["catalogue"],
        operation_id="listQuestionnaires",
        responses=error_responses(401),
    )
    def questionnaires() -> list[QuestionnaireSummary]:
        """The bundled questionnaires."""
        return [
            QuestionnaireSummary(
                id=q.id,
                version=q.version,
                name=q.title,
                title=q.title,
                n_items=len(q.items),
                scales=list(q.scale_ids),
                sha256=q.fingerprint,
            )
            for q in service.catalogue.questionnaires.values()
        ]

    @app.get(
        "/v1/questionnaires/{questionnaire_id}",
        tags=["catalogue"],
        operation_id="getQuestionnaire",
        responses=error_responses(401, 404),
    )
    def questionnaire(questionnaire_id: str) -> Questionnaire:
        """One bundled questionnaire: scales, items, response scale."""
        return found(service.catalogue.questionnaires, questionnaire_id, "questionnaire")

    @app.get(
        "/v1/roles", tags=["catalogue"], operation_id="listRoles", responses=error_responses(401)
    )
    def roles() -> list[RoleSummaryOut]:
        """The bundled roles."""
        return [
            RoleSummaryOut(
                id=r.id, name=r.name, description=r.description, questionnaire=r.questionnaire
            )
            for r in service.catalogue.roles.values()
        ]

    @app.get(
        "/v1/roles/{role_id}",
        tags=["catalogue"],
        operation_id="getRole",
        responses=error_responses(401, 404),
    )
    def role(role_id: str) -> Role:
        """One bundled role: weights, minimums, target and rationale."""
        return found(service.catalogue.roles, role_id, "role")


def _add_scoring_routes(app: FastAPI, service: Service) -> None:
    """``/v1/score``, ``/v1/fit`` and ``/v1/rank``: JSON documents."""
    scoring_errors = error_responses(401, 413, 422)

    @app.post(
        "/v1/score",
        operation_id="score",
        tags=["scoring"],
        openapi_extra=body_doc(ScoreRequest),
        response_model=ScoreResponse,
        responses=scoring_errors,
    )
    async def score(request: Request) -> Response:
        """Score a batch. Rejected candidates are listed in `errors` (HTTP 200)."""
        return await _scored(request, ScoreRequest, service, lambda req, result: result.to_dict())

    @app.post(
        "/v1/fit",
        operation_id="fit",
        tags=["scoring"],
        openapi_extra=body_doc(FitRequest),
        response_model=FitResponse,
        responses=scoring_errors,
    )
    async def fit_(request: Request) -> Response:
        """Every scored candidate's fit for each role, and their best role."""
        from repprofile._analysis.fit import fit, fit_report

        def build(req: FitRequest, result: ScoreResult) -> Mapping[str, object]:
            q = result.questionnaire
            role_objs = [service.role(r, q, f"roles.{i}") for i, r in enumerate(req.roles)]
            return fit_report(result, [fit(result, r, cut=req.cut) for r in role_objs])

        return await _scored(request, FitRequest, service, build)

    @app.post(
        "/v1/rank",
        operation_id="rank",
        tags=["scoring"],
        openapi_extra=body_doc(RankRequest),
        response_model=RankResponse,
        responses=scoring_errors,
    )
    async def rank_(request: Request) -> Response:
        """Scored candidates ranked by fit for one role, best first."""
        from repprofile._analysis.fit import fit, rank

        def build(req: RankRequest, result: ScoreResult) -> Mapping[str, object]:
            role_obj = service.role(req.role, result.questionnaire, "role")
            fitted = fit(result, role_obj, cut=req.cut)
            doc = rank(fitted, top=req.top, exclude_flagged=req.exclude_flagged)
            return {**doc, "candidates": doc["ranking"]}  # 'ranking' is deprecated

        return await _scored(request, RankRequest, service, build)


_Scoring = TypeVar("_Scoring", bound=ScoreRequest)


async def _scored(
    request: Request,
    model: type[_Scoring],
    service: Service,
    build: Callable[[_Scoring, ScoreResult], Mapping[str, object]],
) -> Response:
    """A scoring endpoint: parse the body as ``model``, score its candidates, and answer
    the document ``build`` makes of them, with the scoring warnings."""
    req = await parse(request, model, service.settings.max_candidates)

    def work() -> Response:
        result, warnings = service.score(req)
        return json_response({**build(req, result), "warnings": warnings})

    return await run(work, request)


def _add_chart_route(app: FastAPI, service: Service) -> None:
    """``/v1/chart``: a radar chart, PNG or SVG."""
    media = {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
    }

    @app.post(
        "/v1/chart",
        operation_id="chart",
        tags=["documents"],
        openapi_extra=body_doc(ChartRequest),
        response_class=Response,
        responses=with_200({"content": media, "description": "The chart."}, 401, 406, 413, 422),
    )
    async def chart(request: Request) -> Response:
        """A radar chart: PNG, or SVG when `Accept: image/svg+xml`."""
        req = await parse(request, ChartRequest, service.settings.max_candidates)
        fmt = negotiate(request, ("image/png", "image/svg+xml"))

        def prepare() -> tuple[ScoreResult, list[str], Role | None]:
            result, _ = service.score(req)
            if req.metric == "percentile" and result.norms is None:
                raise unprocessable(
                    "metric", "metric 'percentile' needs 'norms'; send a norm table or use 'pomp'"
                )
            ids = [service.pick(result, req.candidate_id, "candidate_id")]
            for i, cid in enumerate(req.compare):
                if str(cid) not in ids:
                    ids.append(service.pick(result, cid, f"compare.{i}"))
            role_obj = (
                service.role(req.role, result.questionnaire, "role")
                if req.role is not None
                else None
            )
            return result, ids, role_obj

        result, ids, role_obj = await run(prepare, None)  # scoring: in a thread
        data = await service.render_pool.run(  # drawing: in a worker process
            request,
            draw_chart,
            result,
            ids,
            role_obj,
            req.metric,
            req.show_ci,
            "png" if fmt == "image/png" else "svg",
        )
        return Response(data, media_type=fmt)


def _add_report_route(app: FastAPI, service: Service) -> None:
    """``/v1/report``: a candidate report, PDF, HTML or JSON."""

    @app.post(
        "/v1/report",
        operation_id="report",
        tags=["documents"],
        openapi_extra=body_doc(ReportRequest),
        response_class=Response,
        responses=with_200(
            {
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/html": {"schema": {"type": "string"}},
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/CandidateReport"}
                    },
                },
                "description": "The report: PDF, or HTML / JSON by Accept.",
            },
            401,
            406,
            413,
            422,
        ),
    )
    async def report(request: Request) -> Response:
        """A one-page candidate report for a role: PDF (default), HTML or JSON by `Accept`."""
        from repprofile._analysis.fit import fit
        from repprofile._rendering.report import CandidateReport, candidate_report

        req = await parse(request, ReportRequest, service.settings.max_candidates)
        kind = negotiate(request, ("application/pdf", "text/html", "application/json"))

        def prepare() -> tuple[CandidateReport, ScoreResult, Role]:
            result, _ = service.score(req)
            cid = service.pick(result, req.candidate_id, "candidate_id")
            role_obj = service.role(req.role, result.questionnaire, "role")
            fitted = fit(result, role_obj, cut=req.cut)
            doc = candidate_report(
                result, cid, role_obj, date=req.date, cut=req.cut, fit_result=fitted
            )
            if req.date is None:  # never the server's clock: the same request, the same report
                doc = doc.model_copy(update={"date": None})
            return doc, result, role_obj

        doc, result, role_obj = await run(prepare, None)  # scoring: in a thread
        if kind == "application/json":
            return Response(doc.model_dump_json(), media_type=kind)
        data = await service.render_pool.run(  # drawing: in a worker process
            request,
            draw_report,
            doc,
            result,
            role_obj,
            "pdf" if kind == "application/pdf" else "html",
        )
        return Response(data, media_type=kind)
