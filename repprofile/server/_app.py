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

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from repprofile._input.answers import clip
from repprofile._version import __version__
from repprofile.server._routes import add_routes
from repprofile.server._schemas import REQUEST_MODELS
from repprofile.server._security import DOCS_PATHS, PUBLIC_PATHS, Guard
from repprofile.server._service import Catalogue, Service
from repprofile.server._settings import ServerSettings

__all__ = ["app_from_env", "create_app"]


def _validation_handler(request: Request, exc: Exception) -> Response:
    """422 in FastAPI's shape (detail: [{loc, msg, type}]), each message naming the
    candidate when the problem is inside one; inputs are not echoed."""
    assert isinstance(exc, RequestValidationError)
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else None
    out = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        msg = str(err.get("msg", "invalid"))
        if len(loc) >= 3 and loc[:2] == ["body", "candidates"] and isinstance(loc[2], int):
            who = f"candidates[{loc[2]}]"
            cands = body.get("candidates") if body else None
            if isinstance(cands, list) and loc[2] < len(cands) and isinstance(cands[loc[2]], dict):
                cid = cands[loc[2]].get("candidate_id")
                if isinstance(cid, str | int) and not isinstance(cid, bool):
                    text = str(cid) if isinstance(cid, str) or abs(cid) < 2**63 else "?"
                    who += f" (candidate {clip(text, 40)!r})"
            rest = ".".join(str(p) for p in loc[3:])
            msg = f"{who}{': ' + rest if rest else ''}: {msg}"
        out.append({"loc": loc, "msg": msg, "type": str(err.get("type", "value_error"))})
    return JSONResponse({"detail": out}, 422)


def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The HTTP API as an ASGI application (FastAPI).

    Parameters
    ----------
    settings : ServerSettings, optional
        Default: :meth:`ServerSettings.from_env`.

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
    app.router.on_shutdown.append(service.render_pool.close)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(HTTPException, _http_handler)
    add_routes(app, service)
    _declare_openapi(app, service.catalogue)
    public = PUBLIC_PATHS | (DOCS_PATHS if st.docs and st.public_docs else frozenset())
    app.add_middleware(Guard, max_body_bytes=st.max_body_bytes, digests=digests, public=public)
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
    JSON form), and the bundled ids as enums, so that a client sees which ids exist."""
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
    _add_components(components, [*REQUEST_MODELS, CandidateReport], "Input")
    ids = {
        "questionnaire": sorted(catalogue.questionnaires),
        "role": sorted(catalogue.roles),
        "norms": sorted(catalogue.norms),
    }
    for model in REQUEST_MODELS:
        props = components[model.__name__]["properties"]
        props["questionnaire"]["enum"] = ids["questionnaire"]
        for field, kind in (("norms", "norms"), ("role", "role"), ("roles", "role")):
            if field in props:
                _enum_strings(props[field], ids[kind])
    return schema


def _add_components(
    components: dict[str, Any], models: Sequence[type[BaseModel]], suffix: str
) -> None:
    """Add the validation-mode schemas of ``models`` (and what they reference) to the
    OpenAPI components. A referenced schema whose name is taken by a different one (the
    response form of the same model) is added as ``name + suffix``."""
    from pydantic.json_schema import models_json_schema

    _, doc = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
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


def _enum_strings(node: object, values: list[str]) -> None:
    """Give every plain string alternative below ``node`` an enum of ``values``."""
    if isinstance(node, dict):
        if node.get("type") == "string" and "format" not in node:
            node["enum"] = values
        for v in node.values():
            _enum_strings(v, values)
    elif isinstance(node, list):
        for v in node:
            _enum_strings(v, values)


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
