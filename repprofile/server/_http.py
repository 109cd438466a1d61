"""HTTP plumbing shared by the endpoints and the service: the error documents (RFC 9457
problem details, built by :func:`error_body` only), strict body parsing, 422 errors,
compact JSON responses, content negotiation, and running the work inline or in the
thread pool."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from repprofile._errors import RepprofileError
from repprofile._util import SHOWN, clip, json_loads, non_finite_tokens
from repprofile.server._schemas import CandidateAnswers

__all__ = [
    "ERROR_CODES",
    "INLINE_BODY_BYTES",
    "MAX_PROBLEMS",
    "PROBLEM_MEDIA_TYPE",
    "SHOWN",
    "Problem",
    "UnprocessableError",
    "batch_limit",
    "clip",
    "closing_error",
    "default_code",
    "error_body",
    "error_response",
    "found",
    "json_response",
    "negotiate",
    "parse",
    "run",
    "unprocessable",
]

_T = TypeVar("_T")
_Request = TypeVar("_Request", bound=BaseModel)

INLINE_BODY_BYTES = 16_384  # smaller requests are worked on the event loop, larger in a thread


PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_PROBLEMS = 100  # problems listed in a 422; the rest are counted in "errors_omitted"

# The machine-readable error codes: code -> (HTTP status, meaning). docs/server.md has the
# same table; tests/test_server_problems.py checks that they agree.
ERROR_CODES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "The HTTP request itself is malformed (answered by the server)."),
    "unauthorized": (401, "Missing or invalid API key."),
    "not_found": (404, "No such path, questionnaire or role."),
    "method_not_allowed": (405, "The path exists, but not with this method."),
    "not_acceptable": (406, "None of the media types in Accept can be produced."),
    "header_timeout": (408, "The request line and headers did not arrive in time."),
    "body_timeout": (408, "The request body did not arrive in time."),
    "body_too_large": (413, "The request body is larger than the server's byte limit."),
    "batch_too_large": (413, "More candidates than the server's batch limit."),
    "invalid_request": (422, "A malformed body, or an unknown or mismatched id."),
    "rate_limited": (429, "Too many requests from this client; retry after Retry-After."),
    "headers_too_large": (431, "Request headers over the server's size or count limit."),
    "internal_error": (500, "A bug in the server; the log has the traceback."),
    "unavailable": (503, "The server is at its concurrency limit; retry after Retry-After."),
    "timeout": (503, "A chart or report took longer than the server's time budget."),
}
_DEFAULT_CODES = {status: code for code, (status, _) in reversed(ERROR_CODES.items())}


def error_body(status: int, code: str, detail: Any, **extra: Any) -> dict[str, Any]:
    """The one error document of the API, for every non-2xx answer: RFC 9457 problem
    details (``type``, ``title``, ``status``, ``detail``) plus the machine-readable
    ``code`` (:data:`ERROR_CODES`) and any ``extra`` members (a 422's ``errors``).

    ``type`` is a URN naming the code (RFC 9457 section 3.1.1 allows a non-resolvable
    URI); ``title`` is the status's reason phrase. ``detail`` is a sentence for the
    client, except in a 422, where it stays the list of problems (FastAPI's shape, which
    clients read today; the same list is ``errors``)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        "type": f"urn:repprofile:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def closing_error(status: int, code: str, detail: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body (compact :func:`error_body` JSON) and the headers of an error answer
    after which the connection is closed (``Connection: close``), for the layers that
    answer below FastAPI: the guard, the transport middleware, the HTTP protocol."""
    body = json.dumps(error_body(status, code, detail), separators=(",", ":")).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return body, headers


def error_response(
    status: int,
    code: str,
    detail: Any,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """:func:`error_body` as a response, media type ``application/problem+json``."""
    return JSONResponse(
        error_body(status, code, detail, **extra),
        status,
        headers=dict(headers) if headers else None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


class Problem(HTTPException):
    """An HTTP error with its machine-readable ``code`` (answered by the app's handler)."""

    def __init__(
        self, status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, detail, dict(headers) if headers else None)
        self.code = code


class UnprocessableError(RequestValidationError):
    """A 422 listing at most :data:`MAX_PROBLEMS` problems; ``omitted`` counts the rest."""

    def __init__(self, errors: Sequence[Any], *, body: Any = None, omitted: int = 0) -> None:
        super().__init__(errors, body=body)
        self.omitted = omitted


def default_code(status: int) -> str:
    """The code of an error raised without one (Starlette's 404 and 405, ...)."""
    return _DEFAULT_CODES.get(status, "internal_error" if status >= 500 else "bad_request")


def unprocessable(field: str, message: str, where: str = "body") -> RequestValidationError:
    """A 422 about ``field``: a dotted path below the body ("" for the body itself), or,
    with ``where="header"`` (or ``"query"``, ``"path"``), the name of a request header
    (query or path parameter) taken whole, so the location reads like FastAPI's own,
    e.g. ``["header", "Idempotency-Key"]``."""
    if where not in ("body", "header", "query", "path"):
        raise ValueError(f"where: expected body, header, query or path, not {where!r}")
    if where != "body":
        return RequestValidationError(
            [{"type": "value_error", "loc": (where, field), "msg": message}]
        )
    parts = [int(p) if p.isdigit() else p for p in field.split(".")] if field else []
    loc = ("body", *parts)
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])


async def run(work: Callable[[], _T], request: Request | None) -> _T:
    """Run ``work`` inline when its request body is small (a thread hop would cost more
    than the work), else (or with no request: rendering) in the thread pool, so that the
    event loop keeps serving. A library error about the input (:class:`RepprofileError`)
    is the client's: 422."""

    def guarded() -> _T:
        try:
            return work()
        except RepprofileError as exc:
            raise unprocessable("", str(exc)) from None

    size = int(request.headers.get("content-length") or INLINE_BODY_BYTES + 1) if request else -1
    if 0 <= size <= INLINE_BODY_BYTES:
        return guarded()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(guarded)


def found(catalogue: Mapping[str, _T], key: str, noun: str) -> _T:
    """A bundled questionnaire or role by id, or 404."""
    if key not in catalogue:
        raise Problem(
            404, "not_found", f"no {noun} {clip(key)!r}; bundled: {', '.join(sorted(catalogue))}"
        )
    return catalogue[key]


async def parse(
    request: Request, model: type[_Request], max_candidates: int | None = None
) -> _Request:
    """The request body as ``model``, validated from the JSON text in strict mode (no
    coercion: ``true`` is not 1, ``"0.5"`` is not a number, ``0`` is not a date), or a 422
    naming the first :data:`MAX_PROBLEMS` problems (FastAPI's shape) and counting the rest.

    A body with more than ``max_candidates`` candidates is a 413 ``batch_too_large``
    whatever else is wrong with it: the batch limit comes before the per-item problems."""
    raw = await request.body()
    if b"NaN" in raw or b"Infinity" in raw or _HUGE.search(raw):  # cheap tests first
        _refuse_non_finite(raw)
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        try:  # to check the batch size and to name the candidates in the messages
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            doc = None
        cands = doc.get("candidates") if isinstance(doc, dict) else None
        if max_candidates is not None and isinstance(cands, list):
            batch_limit(len(cands), max_candidates)
        total = exc.error_count()
        if total > 10 * MAX_PROBLEMS and isinstance(cands, list):
            # Converting every error costs about 3 us each (462,000 take 1.5 s): find the
            # first problems envelope first, then candidate by candidate.
            found_ = _first_problems(model, doc, cands)
        else:
            found_ = exc.errors(include_url=False, include_input=False, include_context=False)
        errors = [
            {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
            for e in found_[:MAX_PROBLEMS]
        ]
        raise UnprocessableError(errors, body=doc, omitted=total - len(errors)) from None


def _first_problems(model: type[BaseModel], doc: Any, cands: list[Any]) -> list[Any]:
    """At least :data:`MAX_PROBLEMS` problems of a body whose ``candidates`` is a list
    (when it has that many): those of the rest of the body, then those of each candidate
    in turn, validated from JSON like the whole body."""
    out: list[Any] = []
    opts: dict[str, Any] = {"include_url": False, "include_input": False, "include_context": False}
    try:
        model.model_validate_json(json.dumps({**doc, "candidates": []}), strict=True)
    except ValidationError as exc:  # an empty list may be too short: not a problem here
        out += [e for e in exc.errors(**opts) if tuple(e["loc"]) != ("candidates",)]
    for i, cand in enumerate(cands):
        if len(out) >= MAX_PROBLEMS:
            break
        try:
            CandidateAnswers.model_validate_json(json.dumps(cand), strict=True)
        except ValidationError as exc:
            out += [{**e, "loc": ("candidates", i, *e["loc"])} for e in exc.errors(**opts)]
    return out


def batch_limit(n: int, max_candidates: int) -> None:
    """413 ``batch_too_large`` when ``n`` candidates are more than ``max_candidates``."""
    if n > max_candidates:
        raise Problem(
            413,
            "batch_too_large",
            f"the batch has {n} candidates; this server takes at most "
            f"{max_candidates} per request: split the batch",
        )


# an exponent of three digits or more: the only way a JSON number with a fraction or
# exponent can overflow a double (1e999); long integers are read exactly as integers
_HUGE = re.compile(rb"[eE][+-]?\d{3}")


def _refuse_non_finite(raw: bytes) -> None:
    """A 422 naming every ``NaN``, ``Infinity`` or ``-Infinity`` token of the body
    (Python's and pydantic's parsers accept them; JSON, RFC 8259, has no such numbers).
    Text that is not JSON is left to the model's parser, which says where it breaks."""
    errors = [
        {
            "type": "finite_number",
            "loc": ("body", *where[:-1]),
            "msg": (
                f"{clip(where[-1])} is not a JSON number: send a finite number, or null"
                if where[-1] in ("NaN", "Infinity", "-Infinity")
                else f"{clip(where[-1])} is beyond the range of a double (about 1.8e308): "
                "send a finite number, or null"
            ),
        }
        for where in non_finite_tokens(raw)
    ]
    if errors:
        raise RequestValidationError(errors)


def json_response(doc: Mapping[str, object]) -> Response:
    """Compact UTF-8 JSON (pydantic-core's encoder: the same bytes as ``json.dumps`` with
    ``separators=(",", ":")``, ``ensure_ascii=False`` and ``allow_nan=False``, three times
    faster): a NaN or infinity in ``doc`` (the library writes null for a number it cannot
    compute) raises :class:`~repprofile._util.NonFiniteJSONError` instead of emitting
    ``NaN``/``Infinity``, which no JSON parser accepts."""
    from pydantic_core import to_json

    out = to_json(doc)
    if b"NaN" in out or b"Infinity" in out:  # cheap test first: most documents have neither
        json_loads(out)  # a stray non-finite number fails loudly (500), never sent as JSON
    return Response(out, media_type="application/json")


def negotiate(request: Request, offers: Sequence[str]) -> str:
    """The offer the Accept header rates highest (ties: the server's order in ``offers``).

    Each offer takes the quality of the most specific range that matches it (``type/sub``
    over ``type/*`` over ``*/*``, RFC 9110 section 12.5.1), so ``image/png;q=0, */*``
    refuses PNG. No Accept header means any offer; 406 when every offer is refused.
    """
    header = request.headers.get("accept", "")
    if not header.strip():
        return offers[0]
    ranges: list[tuple[str, float]] = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        ranges.append((fields[0].lower(), q))
    best: tuple[float, int] | None = None
    chosen: str | None = None
    for rank, offer in enumerate(offers):
        kind = offer.split("/")[0]
        quality = None
        for media in (offer, f"{kind}/*", "*/*"):  # most specific first
            matches = [q for m, q in ranges if m == media]
            if matches:
                quality = max(matches)
                break
        if quality is not None and quality > 0 and (best is None or (quality, -rank) > best):
            best, chosen = (quality, -rank), offer
    if chosen is None:
        raise Problem(
            406,
            "not_acceptable",
            f"cannot produce any of {clip(header)!r}; available: {list(offers)}",
        )
    return chosen
