"""The HTTP scoring API (``repprofile serve``; needs ``pip install 'repprofile[server]'``).

Every request and response body is a pydantic model: the library's own
(:class:`~repprofile.Profile`, :class:`~repprofile.Questionnaire`,
:class:`~repprofile.Role`, :class:`~repprofile.NormTable`, the fit and rank documents)
plus the request envelopes below, so ``/openapi.json`` is the contract and nothing is
defined twice. See docs/server.md.

Security: every endpoint but ``GET /v1/health`` needs ``Authorization: Bearer KEY`` with
a key from ``REPPROFILE_API_KEYS`` or a key file, compared in constant time; request
bodies and batches are limited; CORS is off unless origins are configured; nothing about
a candidate is stored or logged (ids only, at debug level).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import logging
import os
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repprofile._analysis.fit import FitReport, Ranking
from repprofile._analysis.scoring import Profile, ScoreResult
from repprofile._errors import InputError, RepprofileError
from repprofile._formats.files import bundled_dir
from repprofile._formats.norms import NormTable, load_norms
from repprofile._formats.provenance import Provenance
from repprofile._formats.questionnaire import Questionnaire, list_questionnaires
from repprofile._formats.role import Role, list_roles
from repprofile._input.answers import CandidateError, clip
from repprofile._version import __version__

__all__ = ["ServerSettings", "create_app"]

log = logging.getLogger("repprofile.server")
_RENDER_LOCK = threading.Lock()  # matplotlib's style context is process-global
_T = TypeVar("_T")

MIN_KEY_LENGTH = 16
ENV_KEYS = "REPPROFILE_API_KEYS"
ENV_KEY_FILE = "REPPROFILE_API_KEY_FILE"
ENV_MAX_BODY = "REPPROFILE_MAX_BODY_BYTES"
ENV_MAX_CANDIDATES = "REPPROFILE_MAX_CANDIDATES"
ENV_CORS = "REPPROFILE_CORS_ORIGINS"
ENV_DOCS = "REPPROFILE_DOCS"
ENV_PUBLIC_DOCS = "REPPROFILE_PUBLIC_DOCS"
MAX_ID_LENGTH = 256  # candidate and item ids
MAX_ANSWERS = 1_000  # answers per candidate (rep-types has 80 items)
MAX_COMPARE = 19  # other candidates on one chart (20 in all)
MAX_ROLES = 20  # roles per fit request


# --------------------------------------------------------------------------- settings


class ServerSettings(BaseModel):
    """Configuration of the HTTP API.

    Keys are secret strings: never shown in ``repr``, dumps or logs. :meth:`from_env` reads the
    ``REPPROFILE_*`` environment variables (how ``repprofile serve`` hands its options
    to every worker process).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_keys: tuple[SecretStr, ...] = Field(default=())
    key_file: Path | None = None
    max_body_bytes: int = Field(default=5_000_000, gt=0)
    max_candidates: int = Field(default=10_000, gt=0)
    cors_origins: tuple[str, ...] = ()
    docs: bool = True
    public_docs: bool = Field(
        default=False,
        description="Serve /docs and /openapi.json without a key (default: they need one).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``REPPROFILE_API_KEYS`` (comma-separated), ``REPPROFILE_API_KEY_FILE``,
        ``REPPROFILE_MAX_BODY_BYTES``, ``REPPROFILE_MAX_CANDIDATES``,
        ``REPPROFILE_CORS_ORIGINS`` (comma-separated) and ``REPPROFILE_DOCS`` (0/1)."""
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {
            "api_keys": tuple(k.strip() for k in env.get(ENV_KEYS, "").split(",") if k.strip()),
            "cors_origins": tuple(o.strip() for o in env.get(ENV_CORS, "").split(",") if o.strip()),
        }
        if env.get(ENV_KEY_FILE):
            data["key_file"] = env[ENV_KEY_FILE]
        for name, field in (
            (ENV_MAX_BODY, "max_body_bytes"),
            (ENV_MAX_CANDIDATES, "max_candidates"),
        ):
            if env.get(name):
                data[field] = env[name]
        for name, field in ((ENV_DOCS, "docs"), (ENV_PUBLIC_DOCS, "public_docs")):
            if env.get(name):
                data[field] = env[name].strip().lower() not in ("0", "false", "no", "off")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            from repprofile._formats.files import format_validation_error

            raise InputError(format_validation_error("server settings", exc)) from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back to these settings."""
        env = {
            ENV_MAX_BODY: str(self.max_body_bytes),
            ENV_MAX_CANDIDATES: str(self.max_candidates),
            ENV_CORS: ",".join(self.cors_origins),
            ENV_DOCS: "1" if self.docs else "0",
            ENV_PUBLIC_DOCS: "1" if self.public_docs else "0",
            ENV_KEYS: ",".join(k.get_secret_value() for k in self.api_keys),
        }
        if self.key_file is not None:
            env[ENV_KEY_FILE] = str(self.key_file)
        return env

    def key_digests(self) -> tuple[bytes, ...]:
        """SHA-256 digests of every configured key (from the settings and the key file).

        Raises
        ------
        InputError
            No key at all, an unreadable key file, or a key shorter than 16 characters
            or containing whitespace (the message names the source and position, never
            the key).
        """
        sources: list[tuple[str, str]] = [
            (f"{ENV_KEYS} key {i}", k.get_secret_value())
            for i, k in enumerate(self.api_keys, start=1)
        ]
        if self.key_file is not None:
            try:  # utf-8-sig: a byte-order mark (Windows editors) is not part of a key
                lines = self.key_file.read_text(encoding="utf-8-sig").splitlines()
            except OSError as exc:
                raise InputError(
                    f"{self.key_file}: cannot read the API key file ({exc.strerror})"
                ) from None
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{self.key_file}: the API key file must be UTF-8 text (byte {exc.start} is "
                    "not); write one key per line"
                ) from None
            for n, line in enumerate(lines, start=1):
                key = line.strip()
                if key and not key.startswith("#"):
                    sources.append((f"{self.key_file} line {n}", key))
        if not sources:
            raise InputError(
                "no API key is configured: set REPPROFILE_API_KEYS (comma-separated keys) or "
                "give a key file (--key-file FILE, one key per line). Make a key with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        for where, key in sources:
            if len(key) < MIN_KEY_LENGTH or any(ch.isspace() or ch == "," for ch in key):
                raise InputError(
                    f"{where}: an API key must be at least {MIN_KEY_LENGTH} characters without "
                    f"spaces or commas, got {len(key)} characters instead"
                )
        return tuple(hashlib.sha256(k.encode("utf-8")).digest() for _, k in sources)


# --------------------------------------------------------------------------- request models

CandidateId = (
    Annotated[StrictStr, StringConstraints(max_length=MAX_ID_LENGTH)]
    | Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
)
ItemId = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CandidateAnswers(_Strict):
    """One candidate's answers."""

    candidate_id: CandidateId = Field(
        description="Unique id of the candidate in this request (a string or an integer)."
    )
    answers: dict[ItemId, Any] = Field(
        max_length=MAX_ANSWERS,
        description=(
            "Item id -> answer: a whole number on the questionnaire's response scale, or "
            "null for a missing answer (never 0). Any other value (text, true, a list, a "
            "number off the scale) rejects this candidate only, with an entry in 'errors' "
            "naming the item, the value and what was expected."
        ),
        examples=[{"ctl01": 5, "ctl02": 4, "emp01": None}],
    )
    seconds: float | None = Field(
        default=None, description="Time the candidate took to answer, in seconds (optional)."
    )
    item_seconds: dict[ItemId, float | None] | None = Field(
        default=None,
        max_length=MAX_ANSWERS,
        description="Seconds per item; their sum is used when 'seconds' is absent.",
    )

    @field_validator("answers")
    @classmethod
    def _nan_is_not_a_number(cls, answers: dict[str, Any]) -> dict[str, Any]:
        # JSON has no NaN; a NaN token must not pass as a missing answer. As text it is
        # rejected for this candidate, like any other non-number.
        for item, value in answers.items():
            if type(value) is float and value != value:
                answers[item] = "NaN"
        return answers


class ScoreRequest(_Strict):
    """Answers of a batch of candidates to one questionnaire."""

    questionnaire: str = Field(
        description="Id of a bundled questionnaire (GET /v1/questionnaires).",
        examples=["rep-types"],
    )
    candidates: list[CandidateAnswers] = Field(
        description="The candidates to score (at most the server's batch limit, 10,000 by default)."
    )
    norms: NormTable | str | None = Field(
        default=None,
        description=(
            "A norm table for this questionnaire version (the JSON of 'repprofile norms "
            "build'), or the id of a bundled one such as 'rep-types-simulated'. Adds z, T, "
            "percentile, sten, stanine and intervals."
        ),
    )
    ci: float = Field(default=0.90, gt=0.0, lt=1.0, description="Level of the score intervals.")
    reliability: Literal["alpha", "omega_total"] = Field(
        default="alpha", description="Which reliability of the norm table gives the SEM."
    )


RoleRef = Annotated[
    str | Role,
    Field(description="A bundled role id (GET /v1/roles) or a whole role object."),
]
Cut = Annotated[
    float,
    Field(gt=0.0, lt=100.0, description="Fit value (0-100) for p_above_cut and near_cut."),
]


class FitRequest(ScoreRequest):
    """Score a batch and compute every candidate's fit for one or more roles."""

    roles: list[RoleRef] = Field(min_length=1, max_length=MAX_ROLES)
    cut: Cut = 50.0


class RankRequest(ScoreRequest):
    """Score a batch and rank its candidates for one role, best first."""

    role: RoleRef
    cut: Cut = 50.0
    top: int | None = Field(default=None, ge=1, description="Only the best 'top' candidates.")
    exclude_flagged: bool = Field(
        default=False, description="Leave out candidates with response-quality flags."
    )


class ChartRequest(ScoreRequest):
    """A radar chart of one candidate (optionally with up to 4 others overlaid)."""

    candidates: list[CandidateAnswers] = Field(
        min_length=1, description="The candidates (the one to draw among them)."
    )
    candidate_id: CandidateId | None = Field(
        default=None, description="The candidate to draw (default: the only candidate)."
    )
    compare: list[CandidateId] = Field(
        default=[],
        max_length=MAX_COMPARE,
        description="Other candidates to overlay (a grid above 5 in all; at most 19).",
    )
    role: RoleRef | None = None
    metric: Literal["auto", "pomp", "percentile"] = "auto"
    show_ci: bool = True


class ReportRequest(ScoreRequest):
    """A one-page candidate report for a role."""

    candidates: list[CandidateAnswers] = Field(
        min_length=1, description="The candidates (the one of the report among them)."
    )
    candidate_id: CandidateId | None = Field(
        default=None, description="The candidate of the report (default: the only candidate)."
    )
    role: RoleRef
    cut: Cut = 50.0
    date: _dt.date | None = Field(default=None, description="Date on the report (default today).")


# --------------------------------------------------------------------------- response models


class ScoreResponse(BaseModel):
    """Scores of every valid candidate, and the problems of the others."""

    profiles: list[Profile]
    errors: list[CandidateError]
    provenance: Provenance
    warnings: list[str] = Field(
        default=[], description="Things to know about the result, e.g. a simulated norm table."
    )


class FitResponse(FitReport):
    """The fit document, with warnings."""

    warnings: list[str] = Field(default=[])


class RankResponse(Ranking):
    """The rank document, with warnings."""

    warnings: list[str] = Field(default=[])


class QuestionnaireSummary(BaseModel):
    """A bundled questionnaire in the list."""

    id: str
    version: str
    name: str
    n_items: int
    scales: list[str]
    sha256: str


class RoleSummaryOut(BaseModel):
    """A bundled role in the list."""

    id: str
    name: str
    description: str
    questionnaire: str


class Health(BaseModel):
    """The service is up."""

    status: Literal["ok"]
    version: str


class ValidationProblem(BaseModel):
    """One problem with the request: where (``loc``), what (``msg``) and its kind."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """HTTP 422: every problem found in the request."""

    detail: list[ValidationProblem]


class ErrorMessage(BaseModel):
    """An error: what went wrong and how to fix it."""

    detail: str


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint can answer."""
    text = {
        401: "Missing or invalid API key.",
        404: "No such resource.",
        406: "None of the media types in Accept can be produced.",
        413: "Request body or batch larger than the server's limit.",
    }
    out: dict[int | str, dict[str, Any]] = {
        c: {"model": ErrorMessage, "description": text[c]} for c in codes if c != 422
    }
    if 422 in codes:
        out[422] = {
            "model": ValidationErrors,
            "description": "A malformed body, or an unknown id (see docs/server.md).",
        }
    return out


def _with_200(ok: dict[str, Any], *codes: int) -> dict[int | str, dict[str, Any]]:
    return {200: ok, **_error_responses(*codes)}


# --------------------------------------------------------------------------- catalogue


class _Catalogue:
    """The bundled questionnaires, roles and norm tables, loaded once."""

    def __init__(self) -> None:
        self.questionnaires = {q.id: q for q in list_questionnaires()}
        self.roles = {r.id: r for r in list_roles()}
        self.norms: dict[str, NormTable] = {}
        for path in sorted((bundled_dir() / "norms").glob("*.json")):
            self.norms[path.stem] = load_norms(path)


def _record(c: CandidateAnswers) -> dict[str, Any]:
    rec: dict[str, Any] = {"candidate_id": c.candidate_id, "answers": c.answers}
    if c.seconds is not None:
        rec["seconds"] = c.seconds
    if c.item_seconds is not None:
        rec["item_seconds"] = c.item_seconds
    return rec


def _unprocessable(field: str, message: str) -> RequestValidationError:
    parts = [int(p) if p.isdigit() else p for p in field.split(".")] if field else []
    loc = ("body", *parts)
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])


class _Service:
    """What the endpoints do, free of HTTP details (easy to call from tests)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.catalogue = _Catalogue()
        self.render_lock = _RENDER_LOCK

    def questionnaire(self, qid: str) -> Questionnaire:
        q = self.catalogue.questionnaires.get(qid)
        if q is None:
            raise _unprocessable(
                "questionnaire",
                f"unknown questionnaire {qid!r}; expected one of "
                f"{sorted(self.catalogue.questionnaires)}",
            )
        return q

    def role(self, ref: str | Role, q: Questionnaire, field: str) -> Role:
        if isinstance(ref, Role):
            try:
                ref.check_against(q, field)
            except RepprofileError as exc:
                raise _unprocessable(field, str(exc)) from None
            return ref
        role = self.catalogue.roles.get(ref)
        if role is None:
            raise _unprocessable(
                field, f"unknown role {ref!r}; expected one of {sorted(self.catalogue.roles)}"
            )
        if role.questionnaire != q.id:
            raise _unprocessable(
                field, f"role {ref!r} applies to questionnaire {role.questionnaire!r}, not {q.id!r}"
            )
        return role

    def score(self, req: ScoreRequest) -> tuple[ScoreResult, list[str]]:
        from repprofile._analysis.scoring import score

        q = self.questionnaire(req.questionnaire)
        n = len(req.candidates)
        if n > self.settings.max_candidates:
            raise HTTPException(
                413,
                f"the batch has {n} candidates; this server takes at most "
                f"{self.settings.max_candidates} per request: split the batch",
            )
        norms: NormTable | None
        if isinstance(req.norms, str):
            norms = self.catalogue.norms.get(req.norms)
            if norms is None:
                raise _unprocessable(
                    "norms",
                    f"unknown norm table {req.norms!r}; expected a norm table object or one of "
                    f"{sorted(self.catalogue.norms)}",
                )
        else:
            norms = req.norms
        if norms is not None:
            try:
                norms.check_for(q)
            except InputError as exc:
                raise _unprocessable("norms", str(exc)) from None
        records = [_record(c) for c in req.candidates]
        result = score(q, records, norms=norms, ci=req.ci, reliability=req.reliability)
        warnings = []
        if norms is not None and norms.simulated:
            warnings.append(f"the norm table is SIMULATED, not real people: {norms.description}")
        if log.isEnabledFor(logging.DEBUG):
            rejected = [e.candidate_id for e in result.errors]
            log.debug(
                "scored %d candidate(s): ids %s; rejected ids %s",
                n,
                list(result.candidate_ids),
                rejected,
            )
        return result, warnings

    def pick(self, result: ScoreResult, wanted: str | int | None, field: str) -> str:
        ids = result.candidate_ids
        candidate_id = None if wanted is None else str(wanted)
        if candidate_id is None:
            if len(ids) != 1:
                raise _unprocessable(
                    field, f"the request has {len(ids)} candidates; say which one in {field!r}"
                )
            candidate_id = ids[0]
        if candidate_id not in ids:
            raise _unprocessable(field, f"no candidate {candidate_id!r} in 'candidates'")
        row = ids.index(candidate_id)
        if not result.scored[row]:
            problems = "; ".join(
                (f"item {e.item_id!r}: " if e.item_id else "") + e.message
                for e in result.errors
                if e.candidate_id == candidate_id
            )
            raise _unprocessable(
                field, f"candidate {candidate_id!r} was rejected, so it has no scores: {problems}"
            )
        return candidate_id


INLINE_BODY_BYTES = 16_384  # smaller requests are worked on the event loop, larger in a thread


async def _run(work: Callable[[], Response], request: Request | None) -> Response:
    """Run ``work`` inline when its request body is small (a thread hop would cost more
    than the work), else (or with no request: rendering) in the thread pool, so that the
    event loop keeps serving. A library error about the input (:class:`RepprofileError`)
    is the client's: 422."""

    def guarded() -> Response:
        try:
            return work()
        except RepprofileError as exc:
            raise _unprocessable("", str(exc)) from None

    size = int(request.headers.get("content-length") or INLINE_BODY_BYTES + 1) if request else -1
    if 0 <= size <= INLINE_BODY_BYTES:
        return guarded()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(guarded)


def _found(catalogue: Mapping[str, _T], key: str, noun: str) -> _T:
    """A bundled questionnaire or role by id, or 404."""
    if key not in catalogue:
        raise HTTPException(404, f"no {noun} {key!r}; bundled: {', '.join(sorted(catalogue))}")
    return catalogue[key]


_Request = TypeVar("_Request", bound=BaseModel)


async def _parse(request: Request, model: type[_Request]) -> _Request:
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


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of an endpoint that parses ``model`` itself (see
    :func:`_openapi`, which adds the schema to the components)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _json(doc: Mapping[str, Any]) -> Response:
    """Compact UTF-8 JSON (pydantic-core's encoder: the same bytes as ``json.dumps`` with
    ``separators=(",", ":")`` and ``ensure_ascii=False``, three times faster)."""
    from pydantic_core import to_json

    return Response(to_json(doc), media_type="application/json")


def _negotiate(request: Request, offers: Sequence[str]) -> str:
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


# --------------------------------------------------------------------------- middleware


PUBLIC_PATHS = frozenset({"/v1/health"})
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})
_NO_STORE = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


class _Guard:
    """Outermost ASGI layer, before any body is read:

    * API keys: every path but ``/v1/health`` (and the docs, when they are public) needs
      ``Authorization: Bearer KEY``; the key's SHA-256 is compared with every configured
      key's in constant time (:func:`hmac.compare_digest`), and a missing, malformed or
      wrong key gets the same 401, whether or not the path exists;
    * the body limit: 413 when Content-Length or the bytes received exceed it;
    * ``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff`` on every
      response (they may carry candidate data);
    * a last-resort handler that answers 500 and logs the failure without the
      exception's message (it could quote answers).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        digests: tuple[bytes, ...],
        public: frozenset[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.digests = digests
        self.public = public

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        presented = hashlib.sha256(token.strip()).digest()
        ok = False
        for d in self.digests:  # every key is compared: the time does not tell which matched
            ok |= hmac.compare_digest(d, presented)
        return ok and scheme.lower() == b"bearer" and bool(token.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        path = scope.get("path", "")
        root = scope.get("root_path", "").rstrip("/")
        if root and (path == root or path.startswith(root + "/")):  # as Starlette routes
            path = path[len(root) :] or "/"
        if path not in self.public and not self._authorized(headers):
            await JSONResponse(
                {"detail": "missing or invalid API key"},
                401,
                headers={"WWW-Authenticate": "Bearer"},
            )(scope, receive, send)
            return
        limit = self.max_body_bytes
        length = headers.get(b"content-length")
        too_big = f"the request body is larger than this server's limit of {limit} bytes"
        if length is not None and length.isdigit() and int(length) > limit:
            await JSONResponse({"detail": too_big}, 413)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # disconnected
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await JSONResponse({"detail": too_big}, 413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *_NO_STORE]}
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "internal error on %s %s: %s\n%s",
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
                frames,
            )
            if not started:
                await JSONResponse({"detail": "internal server error"}, 500)(scope, replay, send)


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


# --------------------------------------------------------------------------- app


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
    service = _Service(st.model_copy(update={"api_keys": ()}))  # only digests are kept
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
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(HTTPException, _http_handler)

    @app.get("/v1/health", tags=["service"])
    def health() -> Health:
        """Liveness check; needs no key."""
        return Health(status="ok", version=__version__)

    @app.get("/v1/questionnaires", tags=["catalogue"], responses=_error_responses(401))
    def questionnaires() -> list[QuestionnaireSummary]:
        """The bundled questionnaires."""
        return [
            QuestionnaireSummary(
                id=q.id,
                version=q.version,
                name=q.title,
                n_items=len(q.items),
                scales=list(q.scale_ids),
                sha256=q.fingerprint,
            )
            for q in service.catalogue.questionnaires.values()
        ]

    @app.get(
        "/v1/questionnaires/{questionnaire_id}",
        tags=["catalogue"],
        responses=_error_responses(401, 404),
    )
    def questionnaire(questionnaire_id: str) -> Questionnaire:
        """One bundled questionnaire: scales, items, response scale."""
        return _found(service.catalogue.questionnaires, questionnaire_id, "questionnaire")

    @app.get("/v1/roles", tags=["catalogue"], responses=_error_responses(401))
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
        responses=_error_responses(401, 404),
    )
    def role(role_id: str) -> Role:
        """One bundled role: weights, minimums, target and rationale."""
        return _found(service.catalogue.roles, role_id, "role")

    scoring_errors = _error_responses(401, 413, 422)

    @app.post(
        "/v1/score",
        tags=["scoring"],
        openapi_extra=_body_doc(ScoreRequest),
        response_model=ScoreResponse,
        responses=scoring_errors,
    )
    async def score(request: Request) -> Response:
        """Score a batch. Rejected candidates are listed in `errors` (HTTP 200)."""
        req = await _parse(request, ScoreRequest)

        def work() -> Response:
            result, warnings = service.score(req)
            return _json(result.to_dict() | {"warnings": warnings})

        return await _run(work, request)

    @app.post(
        "/v1/fit",
        tags=["scoring"],
        openapi_extra=_body_doc(FitRequest),
        response_model=FitResponse,
        responses=scoring_errors,
    )
    async def fit_(request: Request) -> Response:
        """Every scored candidate's fit for each role, and their best role."""
        from repprofile._analysis.fit import fit, fit_report

        req = await _parse(request, FitRequest)

        def work() -> Response:
            result, warnings = service.score(req)
            q = result.questionnaire
            role_objs = [service.role(r, q, f"roles.{i}") for i, r in enumerate(req.roles)]
            doc = fit_report(result, [fit(result, r, cut=req.cut) for r in role_objs])
            return _json(doc | {"warnings": warnings})

        return await _run(work, request)

    @app.post(
        "/v1/rank",
        tags=["scoring"],
        openapi_extra=_body_doc(RankRequest),
        response_model=RankResponse,
        responses=scoring_errors,
    )
    async def rank_(request: Request) -> Response:
        """Scored candidates ranked by fit for one role, best first."""
        from repprofile._analysis.fit import fit, rank

        req = await _parse(request, RankRequest)

        def work() -> Response:
            result, warnings = service.score(req)
            role_obj = service.role(req.role, result.questionnaire, "role")
            fitted = fit(result, role_obj, cut=req.cut)
            doc = rank(fitted, top=req.top, exclude_flagged=req.exclude_flagged)
            return _json(doc | {"warnings": warnings})

        return await _run(work, request)

    media = {
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
    }

    @app.post(
        "/v1/chart",
        tags=["documents"],
        openapi_extra=_body_doc(ChartRequest),
        response_class=Response,
        responses=_with_200({"content": media, "description": "The chart."}, 401, 406, 413, 422),
    )
    async def chart(request: Request) -> Response:
        """A radar chart: PNG, or SVG when `Accept: image/svg+xml`."""
        from repprofile._rendering.charts import _figure_bytes, radar_chart, radar_grid

        req = await _parse(request, ChartRequest)
        fmt = _negotiate(request, ("image/png", "image/svg+xml"))

        def work() -> Response:
            result, _ = service.score(req)
            if req.metric == "percentile" and result.norms is None:
                raise _unprocessable(
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
            with service.render_lock:
                if len(ids) > 5:
                    fig = radar_grid(
                        result, ids, role=role_obj, metric=req.metric, show_ci=req.show_ci
                    )
                else:
                    ax = radar_chart(
                        result,
                        ids if len(ids) > 1 else ids[0],
                        role=role_obj,
                        metric=req.metric,
                        show_ci=req.show_ci,
                    )
                    fig = ax.get_figure(root=True)  # type: ignore[assignment]
                data = _figure_bytes(fig, "png" if fmt == "image/png" else "svg")
            return Response(data, media_type=fmt)

        return await _run(work, None)  # rendering: always in a thread

    @app.post(
        "/v1/report",
        tags=["documents"],
        openapi_extra=_body_doc(ReportRequest),
        response_class=Response,
        responses=_with_200(
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
        from repprofile._rendering.report import candidate_report, render_html, render_pdf

        req = await _parse(request, ReportRequest)
        kind = _negotiate(request, ("application/pdf", "text/html", "application/json"))

        def work() -> Response:
            result, _ = service.score(req)
            cid = service.pick(result, req.candidate_id, "candidate_id")
            role_obj = service.role(req.role, result.questionnaire, "role")
            fitted = fit(result, role_obj, cut=req.cut)
            doc = candidate_report(
                result, cid, role_obj, date=req.date, cut=req.cut, fit_result=fitted
            )
            if kind == "application/json":
                return Response(doc.model_dump_json(), media_type=kind)
            with service.render_lock:
                if kind == "application/pdf":
                    return Response(render_pdf(doc, result, role_obj), media_type=kind)
                return Response(render_html(doc, result, role_obj), media_type="text/html")

        return await _run(work, None)  # rendering: always in a thread

    _declare_report_schema(app, service.catalogue)
    public = PUBLIC_PATHS | (DOCS_PATHS if st.docs and st.public_docs else frozenset())
    app.add_middleware(_Guard, max_body_bytes=st.max_body_bytes, digests=digests, public=public)
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


_REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ScoreRequest,
    FitRequest,
    RankRequest,
    ChartRequest,
    ReportRequest,
)


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

    def fix(node: Any) -> Any:
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


def _declare_report_schema(app: FastAPI, catalogue: _Catalogue) -> None:
    """The OpenAPI document: FastAPI's, plus the bearer-key scheme, the request bodies
    (validated by :func:`_parse`), CandidateReport (the report's JSON form), and the
    bundled ids as enums, so that a client sees which ids exist."""
    from fastapi.openapi.utils import get_openapi

    from repprofile._rendering.report import CandidateReport

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
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
            _add_components(components, [*_REQUEST_MODELS, CandidateReport], "Input")
            ids = {
                "questionnaire": sorted(catalogue.questionnaires),
                "role": sorted(catalogue.roles),
                "norms": sorted(catalogue.norms),
            }
            for model in _REQUEST_MODELS:
                props = components[model.__name__]["properties"]
                props["questionnaire"]["enum"] = ids["questionnaire"]
                for field, kind in (("norms", "norms"), ("role", "role"), ("roles", "role")):
                    if field in props:
                        _enum_strings(props[field], ids[kind])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _enum_strings(node: Any, values: list[str]) -> None:
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
