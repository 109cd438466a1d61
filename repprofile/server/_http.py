"""HTTP plumbing shared by the endpoints and the service: strict body parsing, 422 errors
(rendered in FastAPI's shape by the app's handler), compact JSON responses, content
negotiation, and running the work inline or in the thread pool."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from repprofile._errors import RepprofileError
from repprofile._util import json_loads

__all__ = [
    "INLINE_BODY_BYTES",
    "error_body",
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


def error_body(status: int, code: str, detail: object) -> dict[str, object]:
    """The JSON body of an error answer with HTTP ``status``: ``detail`` (what went wrong,
    for a person) and ``code`` (a machine-readable name such as ``body_too_large``).

    Every error body made outside FastAPI's handlers (the guard, the transport layer,
    the uvicorn protocol) comes from here, so that its shape changes in one place.
    """
    del status  # part of the signature: a problem-details body will carry it
    return {"detail": detail, "code": code}


def unprocessable(field: str, message: str) -> RequestValidationError:
    """A 422 about ``field`` (a dotted path below the body, "" for the body itself)."""
    parts = [int(p) if p.isdigit() else p for p in field.split(".")] if field else []
    loc = ("body", *parts)
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])


async def run(work: Callable[[], Response], request: Request | None) -> Response:
    """Run ``work`` inline when its request body is small (a thread hop would cost more
    than the work), else (or with no request: rendering) in the thread pool, so that the
    event loop keeps serving. A library error about the input (:class:`RepprofileError`)
    is the client's: 422."""

    def guarded() -> Response:
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
        raise HTTPException(404, f"no {noun} {key!r}; bundled: {', '.join(sorted(catalogue))}")
    return catalogue[key]


async def parse(request: Request, model: type[_Request]) -> _Request:
    """The request body as ``model``, validated from the JSON text in strict mode (no
    coercion: ``true`` is not 1, ``"0.5"`` is not a number, ``0`` is not a date), or a 422
    naming every problem (the same shape as FastAPI's)."""
    raw = await request.body()
    if b"NaN" in raw or b"Infinity" in raw:  # cheap test first: most bodies have neither
        _refuse_non_finite(raw)
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = [
            {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        try:  # only to name the candidates in the messages
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            doc = None
        raise RequestValidationError(errors, body=doc) from None


class _Constant:
    """Where a ``NaN``/``Infinity``/``-Infinity`` token stood in a parsed body."""

    def __init__(self, token: str) -> None:
        self.token = token


def _constant_paths(node: object, path: tuple[str | int, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, _Constant):
        yield (*path, node.token)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _constant_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _constant_paths(value, (*path, i))


def _refuse_non_finite(raw: bytes) -> None:
    """A 422 naming every ``NaN``, ``Infinity`` or ``-Infinity`` token of the body
    (Python's and pydantic's parsers accept them; JSON, RFC 8259, has no such numbers).
    Text that is not JSON is left to the model's parser, which says where it breaks."""
    try:
        doc = json.loads(raw, parse_constant=_Constant)
    except (ValueError, RecursionError):
        return
    errors = [
        {
            "type": "finite_number",
            "loc": ("body", *where[:-1]),
            "msg": f"{where[-1]} is not a JSON number: send a finite number, or null",
        }
        for where in _constant_paths(doc, ())
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
        raise HTTPException(406, f"cannot produce any of {header!r}; available: {list(offers)}")
    return chosen
