"""HTTP plumbing shared by the endpoints and the service: strict body parsing, 422 errors
(rendered in FastAPI's shape by the app's handler), compact JSON responses, content
negotiation, and running the work inline or in the thread pool."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from repprofile._errors import RepprofileError

__all__ = [
    "INLINE_BODY_BYTES",
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


def unprocessable(field: str, message: str) -> RequestValidationError:
    """A 422 about ``field`` (a dotted path below the body, "" for the body itself)."""
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
        raise HTTPException(404, f"no {noun} {key!r}; bundled: {', '.join(sorted(catalogue))}")
    return catalogue[key]


async def parse(request: Request, model: type[_Request]) -> _Request:
    """The request body as ``model``, validated from the JSON text in strict mode (no
    coercion: ``true`` is not 1, ``"0.5"`` is not a number, ``0`` is not a date), or a 422
    naming every problem (the same shape as FastAPI's)."""
    raw = await request.body()
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


def json_response(doc: Mapping[str, object]) -> Response:
    """Compact UTF-8 JSON (pydantic-core's encoder: the same bytes as ``json.dumps`` with
    ``separators=(",", ":")`` and ``ensure_ascii=False``, three times faster)."""
    from pydantic_core import to_json

    return Response(to_json(doc), media_type="application/json")


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
