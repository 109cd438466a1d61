"""The HTTP API's documents: request envelopes, response models, error models and the
OpenAPI declarations of the error statuses and request bodies.

Every request and response body is a pydantic model: the library's own
(:class:`~repprofile.Profile`, :class:`~repprofile.Questionnaire`,
:class:`~repprofile.Role`, :class:`~repprofile.NormTable`, the fit and rank documents)
plus the envelopes below, so ``/openapi.json`` is the contract and nothing is defined twice.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from repprofile._analysis.fit import FitReport, RankedCandidate, Ranking
from repprofile._analysis.scoring import Profile
from repprofile._formats.limits import IdText
from repprofile._formats.norms import NormTable
from repprofile._formats.provenance import Provenance
from repprofile._formats.questionnaire import SjtMethod
from repprofile._formats.role import Role
from repprofile._formats.sjt_key import SjtKey
from repprofile._input.answers import CandidateError

__all__ = [
    "ERROR_MODELS",
    "REQUEST_MODELS",
    "CandidateAnswers",
    "ChartRequest",
    "ErrorMessage",
    "FitRequest",
    "FitResponse",
    "Health",
    "Problem",
    "QuestionnaireSummary",
    "RankRequest",
    "RankResponse",
    "ReportRequest",
    "RoleSummaryOut",
    "ScoreRequest",
    "ScoreResponse",
    "ValidationErrors",
    "ValidationProblem",
    "body_doc",
    "error_responses",
    "with_200",
]

PROBLEM_JSON = "application/problem+json"
MAX_ANSWERS = 1_000  # answers per candidate, each SJT option counted (rep-hiring: 165)
MAX_SJT_ENTRIES = 8  # entries of one nested SJT answer (an SJT item has 2 to 8 options)
MAX_COMPARE = 19  # other candidates on one chart (20 in all)
MAX_ROLES = 20  # roles per fit request


# --------------------------------------------------------------------------- request models

CandidateId = Annotated[IdText, Strict()] | Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
ItemId = IdText  # at most MAX_ID_LENGTH characters


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


_SJT_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "SjtAnswer",
    "description": (
        "The answer to one situational-judgment (SJT) item, by its response format: "
        "'rate': option id -> rating on the SJT rating scale (null: not rated); "
        "'most_least': {'most': option id, 'least': option id}; 'best': {'best': option "
        "id}. An unknown option id, a rating off the scale or text where a rating is "
        "expected rejects this candidate only (listed in 'errors')."
    ),
    "maxProperties": MAX_SJT_ENTRIES,
    "additionalProperties": {
        "anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}, {"type": "null"}]
    },
    "examples": [{"a": 5, "b": 2, "c": 6, "d": 1, "e": 3}, {"most": "b", "least": "d"}],
}

_ANSWER_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "number",
            "description": (
                "A Likert item's answer (a whole number on the response scale), or, under "
                "an 'ITEM.OPTION' key, an SJT option's rating (null: a missing answer)."
            ),
        },
        {"type": "null"},
        _SJT_ANSWER_SCHEMA,
        {
            "anyOf": [{"type": "string"}, {"type": "boolean"}, {"type": "array"}],
            "description": (
                "Text (an option id under an 'ITEM.most', 'ITEM.least' or 'ITEM.best' key); "
                "any other text, true/false or a list rejects this candidate only."
            ),
        },
    ]
}

Answer = Annotated[Any, WithJsonSchema(_ANSWER_SCHEMA, mode="validation")]
"""One answer: any JSON value passes the request check (a bad one rejects its candidate
only); the schema says which values score."""


def _nan_to_text(value: object) -> object:
    # JSON has no NaN; a NaN token must not pass as a missing answer. As text it is
    # rejected for this candidate, like any other non-number.
    return "NaN" if type(value) is float and value != value else value


class CandidateAnswers(_Strict):
    """One candidate's answers."""

    candidate_id: CandidateId = Field(
        description="Unique id of the candidate in this request (a string or an integer)."
    )
    answers: dict[ItemId, Answer] = Field(
        max_length=MAX_ANSWERS,
        description=(
            "Item id -> answer. A Likert item: a whole number on the questionnaire's "
            "response scale, or null for a missing answer (never 0). A situational-"
            "judgment (SJT) item: an object, {option id: rating, ...} for a 'rate' item, "
            "{'most': option id, 'least': option id} or {'best': option id}; or the same "
            "flat, under 'ITEM.OPTION' / 'ITEM.most' / 'ITEM.least' / 'ITEM.best' keys. "
            f"At most {MAX_ANSWERS} answers, each entry of an SJT object counted. Any "
            "other value (text, true, a list, a number off the scale, an unknown option) "
            "rejects this candidate only, with an entry in 'errors' naming the item, the "
            "option, the value and what was expected."
        ),
        examples=[
            {"ctl01": 5, "ctl02": 4, "emp01": None},
            {"sr01": {"a": 5, "b": 2, "c": 6, "d": 1, "e": 3}, "sr02.a": 4},
        ],
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
    def _check_answers(cls, answers: dict[str, object]) -> dict[str, object]:
        count = 0
        for item, value in answers.items():
            if isinstance(value, dict):
                if len(value) > MAX_SJT_ENTRIES:
                    raise ValueError(
                        f"item {item!r}: an SJT answer of at most {MAX_SJT_ENTRIES} entries "
                        f"(options, or most/least/best) is expected, got {len(value)}"
                    )
                for option, v in value.items():
                    if isinstance(v, dict | list):
                        raise ValueError(
                            f"item {item!r}, option {option!r}: a rating (number), an option "
                            f"id (text) or null is expected, got {type(v).__name__}"
                        )
                    value[option] = _nan_to_text(v)
                count += len(value)
            else:
                answers[item] = _nan_to_text(value)
                count += 1
        if count > MAX_ANSWERS:
            raise ValueError(
                f"at most {MAX_ANSWERS} answers are expected (each entry of an SJT answer "
                f"counted), got {count}"
            )
        return answers


class ScoreRequest(_Strict):
    """Answers of a batch of candidates to one questionnaire."""

    questionnaire: IdText = Field(
        description="Id of a bundled questionnaire (GET /v1/questionnaires).",
        examples=["rep-types"],
    )
    candidates: list[CandidateAnswers] = Field(
        description="The candidates to score (at most the server's batch limit, 10,000 by default)."
    )
    norms: NormTable | IdText | None = Field(
        default=None,
        description=(
            "A norm table for this questionnaire version (the JSON of 'repprofile norms "
            "build'), or the id of a bundled one such as 'rep-types-simulated'. Adds z, T, "
            "percentile, sten, stanine and intervals."
        ),
    )
    ci: float = Field(
        default=0.90,
        gt=0.0,
        lt=1.0,
        description="Deprecated: use 'ci_level' (the name in provenance). Level of the "
        "score intervals.",
        json_schema_extra={"deprecated": True},
    )
    ci_level: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="Level of the score intervals (default 0.90); the same as 'ci', which "
        "it replaces. Give one of the two, or the same value in both.",
    )
    reliability: Literal["alpha", "omega_total"] = Field(
        default="alpha", description="Which reliability of the norm table gives the SEM."
    )
    sjt_method: SjtMethod | None = Field(
        default=None,
        description=(
            "Scoring method of the situational-judgment (SJT) items (docs/sjt.md); default: "
            "the questionnaire's own ('standardized' for service-recovery). 'mode' and "
            "'proportion' need 'sjt_key'. Ignored for a questionnaire without SJT items."
        ),
    )
    sjt_key: SjtKey | None = Field(
        default=None,
        description=(
            "An SME key (the JSON of a key file written by 'repprofile sjt key build', "
            "format repprofile-sjt-key) replacing the options' keyed values; its sha256 is "
            "recorded in provenance."
        ),
    )

    @model_validator(mode="after")
    def _one_ci_level(self) -> ScoreRequest:
        if self.ci_level is not None:
            if "ci" in self.model_fields_set and self.ci != self.ci_level:
                raise ValueError(
                    f"'ci' ({self.ci}) and 'ci_level' ({self.ci_level}) differ; "
                    "give 'ci_level' only"
                )
            self.ci = self.ci_level
        return self


RoleRef = Annotated[
    IdText | Role,
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
    date: _dt.date | None = Field(
        default=None,
        description=(
            "ISO date printed on the report. Without it the report has no date (never the "
            "server's clock), so the same request gives the same report on any day."
        ),
    )


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

    ranking: list[RankedCandidate] = Field(
        description="Deprecated: the same list as 'candidates' (the name fit uses).",
        json_schema_extra={"deprecated": True},
    )
    candidates: list[RankedCandidate] = Field(
        description="The ranked candidates, best first (the same list as 'ranking')."
    )
    warnings: list[str] = Field(default=[])


class QuestionnaireSummary(BaseModel):
    """A bundled questionnaire in the list."""

    id: str
    version: str
    name: str = Field(
        description="Deprecated: the same as 'title' (the questionnaire's own name for it).",
        json_schema_extra={"deprecated": True},
    )
    title: str = Field(description="The questionnaire's title.")
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


_CODE_DOC = (
    "Machine-readable error code (docs/server.md, Errors): body_too_large, batch_too_large, "
    "invalid_request, unauthorized, not_found, method_not_allowed, not_acceptable, "
    "rate_limited, unavailable, timeout, internal_error, ... New codes may be added."
)


class _ProblemFields(BaseModel):
    type: str = Field(
        description="A URI naming the problem: urn:repprofile:problem:CODE (RFC 9457).",
        examples=["urn:repprofile:problem:batch_too_large"],
    )
    title: str = Field(description="The HTTP status's reason phrase.", examples=["Not Found"])
    status: int = Field(description="The HTTP status code.", examples=[404])
    code: str = Field(description=_CODE_DOC, examples=["not_found"])


class Problem(_ProblemFields):
    """An error (RFC 9457 problem details, ``application/problem+json``): every non-2xx
    answer but a 422 (:class:`ValidationErrors`)."""

    detail: str = Field(description="What went wrong and how to fix it, for people.")


class ValidationErrors(_ProblemFields):
    """HTTP 422 (RFC 9457 problem details): the problems found in the request, at most
    100, and how many more there were."""

    detail: list[ValidationProblem] = Field(
        description="Deprecated: the same list as 'errors' (kept for existing clients).",
        json_schema_extra={"deprecated": True},
    )
    errors: list[ValidationProblem] = Field(description="The problems, at most 100.")
    errors_omitted: int = Field(description="How many more problems were found.", ge=0)
    summary: str = Field(
        description="A sentence: how many problems, and how many are listed.",
        examples=["1 problem(s) with the request"],
    )


ErrorMessage = Problem  # the former name of the non-422 error document

_ERROR_TEXT = {
    401: "Missing or invalid API key (code unauthorized).",
    404: "No such resource (code not_found).",
    406: "None of the media types in Accept can be produced (code not_acceptable).",
    409: "The resource is not in a state that allows this (code conflict).",
    413: "Request body (body_too_large) or batch (batch_too_large) over the server's limit.",
    422: "A malformed body, or an unknown id (code invalid_request; docs/server.md).",
    500: "A bug in the server (code internal_error).",
    503: "The server is busy (code unavailable); retry after Retry-After.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint can answer (always 500, 503 and
    a default: every error is a problem document)."""

    def entry(model: type[BaseModel], description: str) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        return {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}

    out: dict[int | str, dict[str, Any]] = {
        c: entry(ValidationErrors if c == 422 else Problem, _ERROR_TEXT[c])
        for c in (*codes, 500, 503)
    }
    out["default"] = entry(Problem, "Any other error (docs/server.md, Errors).")
    return out


def with_200(ok: dict[str, Any], *codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of an endpoint whose 200 is ``ok`` (not a JSON model)."""
    return {200: ok, **error_responses(*codes)}


def body_doc(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """The OpenAPI requestBody of an endpoint that parses ``model`` itself (the app's
    OpenAPI document adds the schema to the components); ``required`` False: the body
    may be left out."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {"application/json": {"schema": ref}}
    return {"requestBody": {"required": required, "content": content}}


# The error documents: declared in the responses by reference (application/problem+json).
ERROR_MODELS: tuple[type[BaseModel], ...] = (Problem, ValidationErrors)

# The request bodies: validated by the endpoints themselves (strict, from the JSON text),
# so the OpenAPI document declares their schemas (in validation mode) explicitly.
REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ScoreRequest,
    FitRequest,
    RankRequest,
    ChartRequest,
    ReportRequest,
)
