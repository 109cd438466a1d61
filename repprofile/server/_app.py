"""The HTTP scoring API (``repprofile serve``; needs ``pip install 'repprofile[server]'``):
the app itself, put together from the modules of this package.

* :mod:`~repprofile.server._settings`: :class:`ServerSettings` (limits, keys, environment);
* :mod:`~repprofile.server._security`: the outer ASGI guard (keys, body limits, headers);
* :mod:`~repprofile.server._schemas`: request, response and error documents;
* :mod:`~repprofile.server._service`: the catalogue, scoring and candidate look-up;
* :mod:`~repprofile.server._http`: body parsing, 422s, JSON, content negotiation;
* :mod:`~repprofile.server._routes`: the endpoints;
* here: :func:`create_app` (exception handlers, middleware, the OpenAPI document) and
  :func:`app_from_env`, the factory the workers of ``repprofile serve`` call.

Security: every endpoint but ``GET /v1/health`` needs ``Authorization: Bearer KEY`` with
a key from ``REPPROFILE_API_KEYS`` or a key file, compared in constant time; request
bodies and batches are limited; CORS is off unless origins are configured; nothing about
a candidate is stored or logged (ids only, at debug level). See docs/server.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from repprofile._version import __version__
from repprofile.server._http import MAX_PROBLEMS, clip, default_code, error_response
from repprofile.server._routes import add_routes
from repprofile.server._schemas import ERROR_MODELS, REQUEST_MODELS
from repprofile.server._security import DOCS_PATHS, PUBLIC_PATHS, Guard
from repprofile.server._service import Catalogue, Service
from repprofile.server._settings import ServerSettings
from repprofile.server._transport import Transport

__all__ = ["app_from_env", "create_app"]


def _validation_handler(request: Request, exc: Exception) -> Response:
    """422 problem details whose ``detail`` (kept for compatibility) and ``errors`` are the
    list of problems in FastAPI's shape ([{loc, msg, type}]), at most ``MAX_PROBLEMS``,
    with ``errors_omitted`` counting the rest. Each message names the candidate when the
    problem is inside one; inputs are not echoed, and field names are clipped."""
    assert isinstance(exc, RequestValidationError)
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else None
    out = []
    all_errors = exc.errors()
    omitted = getattr(exc, "omitted", 0) + max(0, len(all_errors) - MAX_PROBLEMS)
    for err in all_errors[:MAX_PROBLEMS]:
        loc = [clip(p) if isinstance(p, str) else p for p in err.get("loc", ())]
        msg = str(err.get("msg", "invalid"))
        if len(loc) >= 3 and loc[:2] == ["body", "candidates"] and isinstance(loc[2], int):
            who = f"candidates[{loc[2]}]"
            cands = body.get("candidates") if body else None
            if isinstance(cands, list) and loc[2] < len(cands) and isinstance(cands[loc[2]], dict):
                cid = cands[loc[2]].get("candidate_id")
                if isinstance(cid, str | int) and not isinstance(cid, bool):
                    text = str(cid) if isinstance(cid, str) or abs(cid) < 2**63 else "?"
                    who += f" (candidate {clip(text, 40)!r})"
            rest = clip(".".join(str(p) for p in loc[3:]))
            msg = f"{who}{': ' + rest if rest else ''}: {msg}"
        out.append({"loc": loc, "msg": msg, "type": str(err.get("type", "value_error"))})
    count = len(out)
    summary = f"{count + omitted} problem(s) with the request" + (
        f"; the first {count} are listed" if omitted else ""
    )
    return error_response(
        422,
        "invalid_request",
        out,
        errors=out,
        errors_omitted=omitted,
        summary=summary,
    )


def _http_handler(request: Request, exc: Exception) -> Response:
    """Every other error (ours with their code, Starlette's 404/405 by status)."""
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or default_code(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_response(exc.status_code, code, detail, headers=exc.headers)


def create_app(
    settings: ServerSettings | None = None,
    *,
    extend: Callable[[FastAPI, Service], None] | None = None,
    public_prefixes: tuple[str, ...] = (),
) -> FastAPI:
    """The HTTP API as an ASGI application (FastAPI).

    Parameters
    ----------
    settings : ServerSettings, optional
        Default: :meth:`ServerSettings.from_env`.
    extend : callable, optional
        Called with the app and its service after the scoring routes are added: how the
        web assessment (:mod:`repprofile.web`) adds its routes, startup and shutdown.
    public_prefixes : tuple of str
        Paths starting with one of these need no API key (the candidate pages).

    Raises
    ------
    InputError
        No API key is configured, or a key is too short.

    Examples
    --------
    ``repprofile serve`` runs it under uvicorn. Any ASGI server can call this factory,
    which reads the settings from the environment:
    ``uvicorn --factory repprofile:create_app``.

    >>> import repprofile
    >>> app = repprofile.create_app(repprofile.ServerSettings(api_keys=("k" * 32,)))
    >>> sorted(r.path for r in app.routes if r.path.startswith("/v1/"))[:2]
    ['/v1/chart', '/v1/fit']
    """
    st = settings if settings is not None else ServerSettings.from_env()
    digests = st.key_digests()
    service = Service(st.model_copy(update={"api_keys": ()}))  # only digests are kept
    app = FastAPI(
        title="repprofile",
        version=__version__,
        summary="Score customer-service rep candidates: profiles, role fit, charts, reports.",
        description=(
            "Every endpoint but /v1/health needs `Authorization: Bearer KEY`. The bundled "
            "questionnaire and roles are starting points, not validated instruments; "
            "validate them locally before relying on them (docs/server.md)."
        ),
        docs_url="/docs" if st.docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if st.docs else None,
    )
    app.state.service = service
    app.router.on_startup.append(service.render_pool.warm)
    app.router.on_shutdown.append(service.render_pool.close)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    add_routes(app, service)
    if extend is not None:
        extend(app, service)
    _declare_openapi(app, service.catalogue)
    public = PUBLIC_PATHS | (DOCS_PATHS if st.docs and st.public_docs else frozenset())
    app.add_middleware(
        Guard,
        max_body_bytes=st.max_body_bytes,
        digests=digests,
        public=public,
        public_prefixes=public_prefixes,
    )
    # CORS outside the guard: preflights are answered without a key, and the guard's own
    # 401/413/500 responses carry the CORS headers a browser needs to read them.
    if st.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(st.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # Outermost: the body read timeout, and the security headers on every response.
    app.add_middleware(Transport, body_timeout=st.body_timeout)
    return app


def _declare_openapi(app: FastAPI, catalogue: Catalogue) -> None:
    """Make ``app.openapi`` build (once) the document of :func:`_openapi_document`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi_document(app, catalogue)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _openapi_document(app: FastAPI, catalogue: Catalogue) -> dict[str, Any]:
    """The OpenAPI document: FastAPI's, plus the bearer-key scheme, the request bodies
    (validated by :func:`repprofile.server._http.parse`), CandidateReport (the report's
    JSON form), the error documents, the bundled ids as examples (not enums: a new bundled
    id must not break a generated client), every field of a response-only document
    required, and the report's provenance typed as Provenance."""
    from fastapi.openapi.utils import get_openapi

    from repprofile._rendering.report import CandidateReport

    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schema.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of this server: Authorization: Bearer KEY.",
        }
    }
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/") and path not in PUBLIC_PATHS:
            for op in operations.values():
                op["security"] = [{"apiKey": []}]
    components = schema["components"].setdefault("schemas", {})
    extra: list[type[BaseModel]] = list(getattr(app.state, "request_models", []))
    _add_components(components, [*REQUEST_MODELS, *extra, *ERROR_MODELS], "Input")
    _add_components(components, [CandidateReport], "Output", mode="serialization")
    ids = {
        # the rep-types inventory first: OpenAPI 3.0's single example is the first one
        "questionnaire": sorted(catalogue.questionnaires, key=lambda i: (i != "rep-types", i)),
        "role": sorted(catalogue.roles),
        "norms": sorted(catalogue.norms),
    }
    for model in REQUEST_MODELS:
        props = components[model.__name__]["properties"]
        props["questionnaire"]["examples"] = ids["questionnaire"]
        for field, kind in (("norms", "norms"), ("role", "role"), ("roles", "role")):
            if field in props:
                _example_strings(props[field], ids[kind])
    # The report's provenance is the Provenance of every other document.
    components["CandidateReport"]["properties"]["provenance"] = {
        "$ref": "#/components/schemas/Provenance"
    }
    _require_response_fields(schema)
    return schema


def _refs(node: object) -> set[str]:
    """The component names ``node`` refers to (directly)."""
    out: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.add(ref.rsplit("/", 1)[-1])
        for v in node.values():
            out |= _refs(v)
    elif isinstance(node, list):
        for v in node:
            out |= _refs(v)
    return out


def _closure(names: set[str], components: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen and name in components:
            seen.add(name)
            todo += _refs(components[name])
    return seen


def _require_response_fields(schema: dict[str, Any]) -> None:
    """Mark every property of a response-only object schema required: the server always
    sends every field of its documents (null where a value is missing), so a generated
    client need not treat them as optional. Schemas also used in requests keep the
    optional fields a client may leave out."""
    components = schema["components"]["schemas"]
    requests: set[str] = set()
    responses: set[str] = set()
    for operations in schema.get("paths", {}).values():
        for op in operations.values():
            requests |= _refs(op.get("requestBody", {}))
            requests |= _refs(op.get("parameters", []))
            for status, response in op.get("responses", {}).items():
                if status.startswith("2"):
                    responses |= _refs(response)
    only = _closure(responses, components) - _closure(requests, components)
    absent = _maybe_absent()
    for name in sorted(only):
        node = components[name]
        if node.get("type") == "object" and "properties" in node:
            node["required"] = [p for p in node["properties"] if (name, p) not in absent]


def _maybe_absent() -> set[tuple[str, str]]:
    """(schema, field) pairs left out of a document while they hold no value (pydantic
    ``exclude_if``): the SJT fields, present only for questionnaires with SJT items."""
    from repprofile._analysis.scoring import Profile
    from repprofile._formats.provenance import Provenance

    return {
        (model.__name__, name)
        for model in (Profile, Provenance)
        for name, info in model.model_fields.items()
        if info.exclude_if is not None
    }


def _add_components(
    components: dict[str, Any],
    models: Sequence[type[BaseModel]],
    suffix: str,
    mode: Literal["validation", "serialization"] = "validation",
) -> None:
    """Add the ``mode`` schemas of ``models`` (and what they reference) to the
    OpenAPI components. A referenced schema whose name is taken by a different one (the
    response form of the same model) is added as ``name + suffix``."""
    from pydantic.json_schema import models_json_schema

    _, doc = models_json_schema(
        [(m, mode) for m in models], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, Any] = doc.get("$defs", {})
    rename = {n: n + suffix for n, d in defs.items() if n in components and components[n] != d}

    def fix(node: object) -> object:
        if isinstance(node, dict):
            out = {k: fix(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in rename:
                out["$ref"] = "#/components/schemas/" + rename[ref.rsplit("/", 1)[-1]]
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    for name, schema in defs.items():
        components[rename.get(name, name)] = fix(schema)


def _example_strings(node: object, values: list[str]) -> None:
    """Give every plain string alternative below ``node`` the ``values`` as examples (not
    an enum: a new bundled id must not break a generated client)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and "format" not in node:
            node["examples"] = values
        for v in node.values():
            _example_strings(v, values)
    elif isinstance(node, list):
        for v in node:
            _example_strings(v, values)


def app_from_env() -> FastAPI:
    """App factory for ASGI servers: ``uvicorn --factory repprofile.server._app:app_from_env``."""
    import gc

    app = create_app(ServerSettings.from_env())
    # Everything loaded so far (modules, questionnaires, norm tables) lives as long as the
    # process: move it out of the collector's sight, so that collections during requests
    # only scan the requests' own objects.
    gc.collect()
    gc.freeze()
    # A request allocates thousands of short-lived objects; collect the youngest
    # generation every 20,000 allocations instead of every 700.
    gc.set_threshold(20_000, 50, 100)
    return app
