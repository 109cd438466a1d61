"""The result documents as typed dictionaries: score profiles, fit and rank documents,
the response-quality document.

These documents (CLI output, HTTP responses) are contracts. Each is built as plain
dicts and lists, ready for ``json.dumps``, because building a pydantic model per
candidate would cost more than the scoring; these ``TypedDict`` classes give those
dicts their types at no run-time cost. Each mirrors a pydantic model that validates
the same document (its name without ``Dict``: :class:`~repprofile.Profile`,
``FitReport``, ``Ranking``...; ``tests/test_result_types.py`` keeps the two in step).
A ``TypedDict`` does not fix the order of keys: the producers write them in the order
of the contract.

Only the standard library's ``typing`` is imported: nothing here exists at run time
but the classes.
"""

from __future__ import annotations

from typing import Literal, TypedDict

__all__ = [
    "CandidateErrorDict",
    "CandidateFitsDict",
    "FitReportDict",
    "FitRowDict",
    "FitScoresDict",
    "NormsProvenanceDict",
    "ProfileDict",
    "ProvenanceDict",
    "QualityCandidateDict",
    "QualityDocumentDict",
    "QualityFlagDict",
    "QualityVerdictDict",
    "RankedCandidateDict",
    "RankingDict",
    "RoleFitDict",
    "RoleProvenanceDict",
    "RoleSummaryDict",
    "ScaleScoreDict",
]

# --------------------------------------------------------------------------- shared parts


class CandidateErrorDict(TypedDict):
    """One rejected candidate's problem (``CandidateError`` as JSON)."""

    candidate_id: str | None
    item_id: str | None
    value: str | int | float | bool | None
    message: str


class NormsProvenanceDict(TypedDict):
    """The norm table that standardized the scores (``NormsProvenance`` as JSON)."""

    description: str
    created: str
    n: int
    simulated: bool
    sha256: str


class RoleProvenanceDict(TypedDict):
    """The role file that produced a fit (``RoleProvenance`` as JSON)."""

    id: str
    name: str
    sha256: str


class _SjtProvenanceDict(TypedDict, total=False):
    """Provenance fields present only for questionnaires with SJT items."""

    sjt_method: str
    sjt_key_sha256: str
    sjt_key_draft: bool


class ProvenanceDict(_SjtProvenanceDict):
    """Where a result came from (:class:`~repprofile.Provenance` as JSON)."""

    questionnaire_id: str
    questionnaire_version: str
    questionnaire_sha256: str
    repprofile_version: str
    norms: NormsProvenanceDict | None
    ci_level: float | None
    role: RoleProvenanceDict | None


# --------------------------------------------------------------------------- scores


class ScaleScoreDict(TypedDict):
    """One scale's score for one candidate (:class:`~repprofile.ScaleScore` as JSON)."""

    raw: float | None
    mean: float | None
    pomp: float | None
    n_answered: int
    reason: str | None
    sem: float | None
    z: float | None
    t: float | None
    percentile: float | None
    sten: int | None
    stanine: int | None
    ci_low: float | None
    ci_high: float | None
    t_ci_low: float | None
    t_ci_high: float | None
    percentile_ci_low: float | None
    percentile_ci_high: float | None


class QualityFlagDict(TypedDict):
    """One reason to doubt a candidate's answers (:class:`~repprofile.QualityFlag`)."""

    index: str
    value: float | None
    threshold: float
    reason: str


class QualityVerdictDict(TypedDict):
    """Response quality of one candidate (:class:`~repprofile.QualityVerdict` as JSON)."""

    indices: dict[str, float | None]
    flags: list[QualityFlagDict]
    valid: bool
    reference: str | None
    unavailable: dict[str, str]
    mahalanobis_reference: Literal["norms", "batch"] | None
    mahalanobis_distribution: str | None


class _SjtProfileDict(TypedDict, total=False):
    """Profile fields present only for questionnaires with SJT items."""

    sjt_type_preference: dict[str, float | None]


class ProfileDict(_SjtProfileDict):
    """One candidate's scores, types and response quality (:class:`~repprofile.Profile`)."""

    candidate_id: str
    scales: dict[str, ScaleScoreDict]
    primary_type: str | None
    secondary_type: str | None
    type_clarity: Literal["clear", "mixed"] | None
    types: list[str | None] | None
    type_tied: bool
    quality: QualityVerdictDict


class QualityCandidateDict(TypedDict):
    """One candidate of the ``repprofile quality`` document."""

    candidate_id: str
    indices: dict[str, float | None]
    flags: list[QualityFlagDict]
    valid: bool


class QualityDocumentDict(TypedDict):
    """The ``repprofile quality --format json`` document: indices and flags of every
    scored candidate, the reference sample, the thresholds and provenance."""

    candidates: list[QualityCandidateDict]
    reference: str | None
    unavailable: dict[str, str]
    mahalanobis_reference: Literal["norms", "batch"] | None
    mahalanobis_distribution: str | None
    settings: dict[str, float | int | None]
    provenance: ProvenanceDict


# --------------------------------------------------------------------------- fit and rank


class RoleSummaryDict(TypedDict):
    """The role a fit was computed for, with the cut and interval level used
    (``RoleSummary`` as JSON)."""

    id: str
    name: str
    questionnaire: str
    weights: dict[str, float]
    minimums: dict[str, float]
    cut: float
    ci_level: float
    sha256: str


class FitScoresDict(TypedDict):
    """One candidate's fit for one role; null where the fit or its interval is unknown
    (``FitScores`` as JSON)."""

    fit: float | None
    fit_se: float | None
    ci_low: float | None
    ci_high: float | None
    p_above_cut: float | None
    near_cut: bool
    meets_minimums: bool
    failed_minimums: list[str]
    contributions: dict[str, float | None]
    similarity: float | None
    composite: float | None
    explanation: str
    quality_valid: bool


class FitRowDict(FitScoresDict):
    """One candidate's fit for a role, as :meth:`FitResult.row <repprofile.FitResult.row>`
    returns it: the candidate's id and the fields of its fit (``fit``, ``fit_se``,
    ``ci_low``, ``ci_high``, ``p_above_cut``, ``near_cut``, ``meets_minimums``,
    ``failed_minimums``, ``contributions``, ``similarity``, ``composite``,
    ``explanation``, ``quality_valid``); numbers are null where unknown."""

    candidate_id: str


class RoleFitDict(FitScoresDict):
    """A candidate's fit for the role ``role`` (``RoleFit`` as JSON)."""

    role: str


class CandidateFitsDict(TypedDict):
    """A candidate's fit for every requested role, and the best of them
    (``CandidateFits`` as JSON)."""

    candidate_id: str
    best_role: str | None
    fits: list[RoleFitDict]


class FitReportDict(TypedDict):
    """The ``repprofile fit`` / ``POST /v1/fit`` document (``FitReport`` as JSON)."""

    roles: list[RoleSummaryDict]
    candidates: list[CandidateFitsDict]
    errors: list[CandidateErrorDict]
    provenance: ProvenanceDict


class RankedCandidateDict(FitRowDict):
    """One entry of :func:`repprofile.rank`'s ranking, best first: ``rank`` (1, 2, ...)
    and the candidate's :class:`FitRowDict` (``RankedCandidate`` as JSON)."""

    rank: int


class RankingDict(TypedDict):
    """What :func:`repprofile.rank` returns, the ``repprofile rank`` / ``POST /v1/rank``
    document (``Ranking`` as JSON): ``role`` (:class:`RoleSummaryDict`), ``ranking``
    (:class:`RankedCandidateDict` entries, best first), ``provenance`` and ``errors``
    (the rejected candidates)."""

    role: RoleSummaryDict
    ranking: list[RankedCandidateDict]
    provenance: ProvenanceDict
    errors: list[CandidateErrorDict]
