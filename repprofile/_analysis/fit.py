"""Role fit: a candidate's profile against a role's weights, with its uncertainty.

See docs/role-fit.md for the formulas; :func:`fit` documents them in its Notes.
Everything is vectorised over candidates (and over roles in :func:`fit_many`).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from repprofile._analysis.scoring import ScoreResult, errors_json
from repprofile._formats.provenance import Provenance, RoleProvenance, provenance_json
from repprofile._formats.results import (
    CandidateFitsDict,
    FitReportDict,
    FitRowDict,
    FitScoresDict,
    RankedCandidateDict,
    RankingDict,
    RoleFitDict,
    RoleSummaryDict,
)
from repprofile._formats.role import Role, load_role
from repprofile._input.answers import CandidateError
from repprofile._util import finite_or_none, in_threads
from repprofile._validation import Interval, SequenceOf, validate_params
from repprofile.stats import stable_argsort

__all__ = [
    "CandidateFits",
    "FitReport",
    "FitResult",
    "FitScores",
    "RankedCandidate",
    "Ranking",
    "RoleFit",
    "RoleSummary",
    "fit",
    "fit_many",
    "fit_report",
    "rank",
]

Array = NDArray[np.float64]

LOGISTIC_SCALE = 1.702  # logistic(1.702 x) is within 0.01 of the normal CDF (Camilli 1994)
POMP_Z_SD = 25.0  # without norms, z = (pomp - 50) / 25 maps 0..100 to -2..2

CUT = [Interval(Real, 0, 100, closed="neither")]
"""The constraint of a fit cut (:func:`fit`, :func:`fit_many`, the report)."""
CUT_MUST = "must be between 0 and 100"


def _logistic(x: Array) -> Array:
    with np.errstate(over="ignore"):
        out: Array = 1.0 / (1.0 + np.exp(-LOGISTIC_SCALE * x))
    return out


def fit_to_composite(fit_value: float) -> float:
    """The composite whose fit is ``fit_value`` (inverse of the 0-100 transform)."""
    if not 0.0 < fit_value < 100.0:
        raise ValueError(f"a fit cut must be strictly between 0 and 100, got {fit_value}")
    # log(p / (1 - p)) with p = fit / 100, written so that no step rounds to 0 or 1
    # (fit / 100 is 1.0 in floating point for a fit just below 100)
    return (math.log(fit_value) - math.log(100.0 - fit_value)) / LOGISTIC_SCALE


# --------------------------------------------------------------------------- JSON shapes
# The fit and rank JSON documents (CLI output and HTTP responses) are contracts; these
# models describe them once. The dicts built below are checked against them in tests.


class RoleSummary(BaseModel):
    """The role a fit was computed for, with the cut and interval level used."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    questionnaire: str
    weights: dict[str, float]
    minimums: dict[str, float]
    cut: float
    ci_level: float
    sha256: str


class FitScores(BaseModel):
    """One candidate's fit for one role (null where the fit or its interval is unknown)."""

    model_config = ConfigDict(frozen=True)

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


class RoleFit(FitScores):
    """A candidate's fit for the role ``role`` (in :class:`CandidateFits`)."""

    role: str


class CandidateFits(BaseModel):
    """A candidate's fit for every requested role, and the best of them."""

    model_config = ConfigDict(frozen=True)

    candidate_id: str
    best_role: str | None
    fits: list[RoleFit]


class FitReport(BaseModel):
    """The ``repprofile fit`` / ``POST /v1/fit`` document."""

    model_config = ConfigDict(frozen=True)

    roles: list[RoleSummary]
    candidates: list[CandidateFits]
    errors: list[CandidateError]
    provenance: Provenance


class RankedCandidate(FitScores):
    """One entry of a ranking, best first."""

    rank: int
    candidate_id: str


class Ranking(BaseModel):
    """The ``repprofile rank`` / ``POST /v1/rank`` document."""

    model_config = ConfigDict(frozen=True)

    role: RoleSummary
    ranking: list[RankedCandidate]
    provenance: Provenance
    errors: list[CandidateError] = []


class FitResult:
    """Fit of every candidate of a :class:`ScoreResult` for one role (arrays, row-aligned).

    Attributes
    ----------
    composite : ndarray
        :math:`C = \\sum_s a_s z_s` with :math:`a_s = w_s / \\sqrt{\\sum w^2}`. Candidates
        are ranked by it.
    fit : ndarray
        :math:`100 / (1 + e^{-1.702 C})`, strictly increasing in C, never clipped.
    fit_se, ci_low, ci_high : ndarray
        Standard error and confidence interval of the fit (NaN without reliabilities).
    p_above_cut : ndarray
        Probability that the true fit exceeds ``cut``.
    near_cut : ndarray of bool
        The fit interval contains the cut: indistinguishable from it.
    contributions : ndarray, shape (n, n_weighted_scales)
        :math:`a_s z_s`, each scale's signed share of the composite.
    meets_minimums : ndarray of bool; failed_minimums : list of list of str
    similarity : ndarray
        Profile similarity to the role's target (NaN without a target).
    """

    def __init__(self, scores: ScoreResult, role: Role, cut: float) -> None:
        q = scores.questionnaire
        role.check_against(q)
        self.scores = scores
        self.role = role
        self.cut = cut
        self.scale_ids = [s for s in q.scale_ids if s in role.weights]
        self._cols = [q.scale_ids.index(s) for s in self.scale_ids]
        w = np.array([role.weights[s] for s in self.scale_ids])
        self._a = w / math.sqrt(float(w @ w))
        z, sem_z = _standardized(scores)
        self._z = z
        composite = np.zeros(len(scores))
        term = np.empty(len(scores))
        for j, a in zip(self._cols, self._a, strict=True):  # only the weighted columns
            if a != 0:  # a zero weight ignores the scale, even a missing score on it
                np.multiply(z[:, j], a, out=term)
                composite += term
        self.composite: Array = composite  # all that ranking needs
        nonzero = self._a != 0
        se = np.sqrt((sem_z[self._cols][nonzero] ** 2 * self._a[nonzero] ** 2).sum())
        self.composite_se = float(se)
        self.provenance = scores.provenance.model_copy(
            update={"role": RoleProvenance(id=role.id, name=role.name, sha256=role.fingerprint)}
        )

    # Everything below is computed on first use, so ranking a million candidates pays
    # only for the composite and the sort.

    @functools.cached_property
    def order(self) -> NDArray[np.intp]:
        """Row numbers of scored candidates, best composite first (ties: input order)."""
        scored = self.scores.scored
        everyone = bool(scored.all())
        if everyone:
            key = np.negative(self.composite)
        else:
            rows = np.flatnonzero(scored)
            key = np.negative(self.composite[rows])
        key[np.isnan(key)] = np.inf  # no fit: last
        out: NDArray[np.intp] = stable_argsort(key)
        return out if everyone else rows[out]

    @functools.cached_property
    def contributions(self) -> Array:
        out: Array = np.where(self._a != 0, self._z[:, self._cols] * self._a, 0.0)
        return out

    @functools.cached_property
    def fit(self) -> Array:
        return 100.0 * _logistic(self.composite)

    @functools.cached_property
    def fit_se(self) -> Array:
        p = self.fit / 100.0
        out: Array = 100.0 * LOGISTIC_SCALE * p * (1.0 - p) * self.composite_se
        return out

    @functools.cached_property
    def ci_low(self) -> Array:
        return 100.0 * _logistic(self.composite - self.scores.normed.z_crit * self.composite_se)

    @functools.cached_property
    def ci_high(self) -> Array:
        return 100.0 * _logistic(self.composite + self.scores.normed.z_crit * self.composite_se)

    @functools.cached_property
    def p_above_cut(self) -> Array:
        from scipy.special import ndtr

        with np.errstate(invalid="ignore", divide="ignore"):
            out: Array = ndtr((self.composite - fit_to_composite(self.cut)) / self.composite_se)
        return out

    @functools.cached_property
    def near_cut(self) -> NDArray[np.bool_]:
        with np.errstate(invalid="ignore"):
            out: NDArray[np.bool_] = np.asarray(
                (self.ci_low <= self.cut) & (self.cut <= self.ci_high)
            )
        return out

    @functools.cached_property
    def _failed(self) -> NDArray[np.bool_]:
        q = self.scores.questionnaire
        pomp = self.scores.pomp
        failed = np.zeros((len(self.scores), len(self.role.minimums)), dtype=bool)
        for h, (sid, minimum) in enumerate(self.role.minimums.items()):
            failed[:, h] = ~(pomp[:, q.scale_ids.index(sid)] >= minimum)  # missing fails
        return failed

    @property
    def meets_minimums(self) -> NDArray[np.bool_]:
        out: NDArray[np.bool_] = np.asarray(~self._failed.any(axis=1))
        return out

    @functools.cached_property
    def similarity(self) -> Array:
        q = self.scores.questionnaire
        if not self.role.target:
            return np.full(len(self.scores), np.nan)
        tcols = [q.scale_ids.index(s) for s in self.role.target]
        diff = self.scores.pomp[:, tcols] - np.array(list(self.role.target.values()))
        out: Array = 100.0 - np.sqrt((diff * diff).mean(axis=1))
        return out

    def failed_minimums(self, row: int) -> list[str]:
        return [s for h, s in enumerate(self.role.minimums) if self._failed[row, h]]

    def explanation(self, row: int) -> str:
        """Plain English: which scale scores drive the fit up or down.

        A scale is called "high" or "low" only when that is true relative to the norm
        table (|z| >= 1, one SD from the norm mean; the table is named), or "above" or
        "below the role's target" when, without norms, its POMP is at least 25 points
        (one unit of the POMP-based z) from the role's target (both numbers given).
        Otherwise the scale is named with its score (percentile or POMP), no judgement.
        """
        names = {s.id: s.name for s in self.scores.questionnaire.scales}
        c = self.contributions[row]
        if not np.isfinite(c).all():
            missing = [names[s] for s, v in zip(self.scale_ids, c, strict=True) if np.isnan(v)]
            return f"no fit: no score on {', '.join(missing)}"
        up = [(v, s) for v, s in zip(c, self.scale_ids, strict=True) if v > 0.05]
        down = [(v, s) for v, s in zip(c, self.scale_ids, strict=True) if v < -0.05]
        up.sort(reverse=True)
        down.sort()
        normed: list[bool] = []  # whether a "high"/"low" relative to the norms was said

        def words(items: list[tuple[float, str]], limit: int) -> list[str]:
            out = []
            for _, s in items[:limit]:
                word, by_norm = self._scale_words(row, s, names[s])
                normed.append(by_norm)
                out.append(word)
            return out

        parts = []
        if up:
            parts.append(f"{_join(words(up, 3))} raise{'s' if len(up[:3]) == 1 else ''} the fit")
        if down:
            what = "it" if up else "the fit"
            parts.append(f"{_join(words(down, 2))} lower{'s' if len(down[:2]) == 1 else ''} {what}")
        if not parts:
            return "no scale moves the fit far from the middle"
        text = "; ".join(parts)
        norms = self.scores.norms
        if any(normed) and norms is not None:
            text += f" (high and low relative to the norm {_short(norms.description)!r})"
        return text

    def _scale_words(self, row: int, sid: str, name: str) -> tuple[str, bool]:
        """How the explanation names one scale, and whether it judged it by the norms."""
        scores = self.scores
        j = scores.questionnaire.scale_ids.index(sid)
        if scores.normed.has_norms:
            z = float(self._z[row, j])
            if abs(z) >= 1.0:
                return f"{'high' if z > 0 else 'low'} {name}", True
            return f"{name} (percentile {scores.normed.percentile[row, j]:.0f})", False
        pomp = float(scores.pomp[row, j])
        target = self.role.target.get(sid)
        if target is not None and abs(pomp - target) >= POMP_Z_SD:
            side = "above" if pomp > target else "below"
            return f"{name} {side} the role's target (POMP {pomp:.0f} vs {target:g})", False
        return f"{name} (POMP {pomp:.0f})", False

    def row(self, r: int) -> FitRowDict:
        """One candidate's fit (row ``r``) in the rank JSON shape, without its rank."""
        return {"candidate_id": self.scores.answers.candidate_id(r), **self._fit_scores(r)}

    def _fit_scores(self, r: int) -> FitScoresDict:
        f = finite_or_none
        return {
            "fit": f(self.fit[r]),
            "fit_se": f(self.fit_se[r]),
            "ci_low": f(self.ci_low[r]),
            "ci_high": f(self.ci_high[r]),
            "p_above_cut": f(self.p_above_cut[r]),
            "near_cut": bool(self.near_cut[r]),
            "meets_minimums": bool(self.meets_minimums[r]),
            "failed_minimums": self.failed_minimums(r),
            "contributions": {
                s: f(v) for s, v in zip(self.scale_ids, self.contributions[r], strict=True)
            },
            "similarity": f(self.similarity[r]),
            "composite": f(self.composite[r]),
            "explanation": self.explanation(r),
            "quality_valid": bool(np.asarray(self.scores.quality.valid)[r]),
        }

    def role_summary(self) -> RoleSummaryDict:
        """The role, the cut and the interval level, as the fit and rank documents name them."""
        r = self.role
        return {
            "id": r.id,
            "name": r.name,
            "questionnaire": r.questionnaire,
            "weights": dict(r.weights),
            "minimums": dict(r.minimums),
            "cut": self.cut,
            "ci_level": self.scores.normed.level,
            "sha256": r.fingerprint,
        }


def _short(description: str, limit: int = 48) -> str:
    """A norm table's description, cut at its first clause or ``limit`` characters."""
    first = description.split(". ")[0].split(", ")[0].strip()
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + "..."


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _standardized(scores: ScoreResult) -> tuple[Array, Array]:
    """z scores (norms, else from POMP) and the SEM of each scale in that metric."""
    nd = scores.normed
    if nd.has_norms:
        r = np.clip(nd.reliability, 0.0, 1.0)
        return nd.z, np.sqrt(1.0 - r)
    rs = scores.questionnaire.response_scale
    z = (scores.pomp - 50.0) / POMP_Z_SD
    sem_pomp = nd.sem * 100.0 / (rs.max - rs.min)
    return z, sem_pomp / POMP_Z_SD


@validate_params(
    {"scores": [ScoreResult], "role": [str, os.PathLike, Role], "cut": CUT},
    must={"cut": CUT_MUST},
)
def fit(scores: ScoreResult, role: str | Path | Role, *, cut: float = 50.0) -> FitResult:
    """Fit of every scored candidate for a role.

    Parameters
    ----------
    scores : ScoreResult
        From :func:`repprofile.score`; pass ``norms=`` there to standardize with norms.
    role : str, Path or Role
        A bundled role id, a role file or a :class:`Role`.
    cut : float
        Fit value (0-100) for ``p_above_cut`` and ``near_cut`` (default 50).

    Notes
    -----
    With standardized scores :math:`z_s` (from the norm table; without norms :math:`z_s
    = (\\mathrm{pomp}_s - 50)/25`, which is not norm-referenced) and role weights
    :math:`w_s`, the composite is :math:`C = \\sum_s a_s z_s`, :math:`a_s = w_s /
    \\sqrt{\\sum_s w_s^2}` (so C is a unit-variance composite if the scales were
    uncorrelated z scores) and the fit is :math:`100 / (1 + \\exp(-1.702\\, C))`:
    strictly increasing, so candidates keep the order of their composites (in float64
    the fit reaches exactly 100 only beyond :math:`C \\approx 21`; ranking always uses
    the composite itself), and within 1 point of :math:`100\\,\\Phi(C)` (Camilli 1994).
    Measurement error: with scale SEMs in the z metric :math:`e_s` (:math:`\\sqrt{1 -
    r_s}` with norms) and independent errors across scales, :math:`SE_C = \\sqrt{\\sum_s
    a_s^2 e_s^2}`; the interval is the composite's :math:`C \\pm z_{crit} SE_C` mapped
    through the same transform (so it stays within 0-100), ``fit_se`` is its
    delta-method SE and ``p_above_cut`` is :math:`\\Phi((C - C_{cut}) / SE_C)`.
    ``contributions`` are :math:`a_s z_s` (they sum to C). Hurdles (``minimums``) are
    reported, not folded into the fit; ``similarity`` is :math:`100 -
    \\mathrm{RMS}(\\mathrm{pomp} - \\mathrm{target})`.

    References
    ----------
    Camilli, G. (1994). Origin of the scaling constant d = 1.7 in item response theory.
    *Journal of Educational and Behavioral Statistics*, 19(3), 293-295.
    https://doi.org/10.3102/10769986019003293
    """
    return _fit(scores, role, cut)


def _fit(scores: ScoreResult, role: str | Path | Role, cut: float) -> FitResult:
    """:func:`fit` without the parameter checks (for public functions that fit)."""
    return FitResult(scores, load_role(role, scores.questionnaire), cut)


@validate_params(
    {
        "scores": [ScoreResult],
        "roles": [SequenceOf(str, os.PathLike, Role)],
        "cut": CUT,
        "ranked": ["boolean"],
    },
    must={"cut": CUT_MUST},
)
def fit_many(
    scores: ScoreResult,
    roles: Sequence[str | Path | Role],
    *,
    cut: float = 50.0,
    ranked: bool = False,
) -> list[FitResult]:
    """:func:`fit` for several roles (e.g. to find each candidate's best-fit role).

    With ``ranked=True`` each role's full ranking order (:attr:`FitResult.order`) is
    computed too, the roles side by side in threads (numpy's sorts release the GIL),
    one per CPU; the orders are those computed one at a time, element for element.
    """
    fits = [_fit(scores, r, cut) for r in roles]
    if ranked:

        def work(share: Iterable[int]) -> None:
            for i in share:
                fits[i].order  # noqa: B018 - fills the cached order

        in_threads(work, range(len(fits)))
    return fits


def fit_report(scores: ScoreResult, fits: Sequence[FitResult]) -> FitReportDict:
    """The fit document (a contract, :class:`FitReport`): every scored candidate's fit
    for each role, the best role per candidate, the rejected candidates and provenance."""
    candidates: list[CandidateFitsDict] = []
    for row in np.flatnonzero(scores.scored).tolist():
        per_role: list[RoleFitDict] = [{**f._fit_scores(row), "role": f.role.id} for f in fits]
        ranked = [e for e in per_role if e["fit"] is not None]  # so is the composite
        best = max(ranked, key=lambda e: cast(float, e["composite"]))["role"] if ranked else None
        candidates.append(
            {"candidate_id": scores.candidate_ids[row], "best_role": best, "fits": per_role}
        )
    return {
        "roles": [f.role_summary() for f in fits],
        "candidates": candidates,
        "errors": errors_json(scores.errors),
        "provenance": provenance_json(scores.provenance),
    }


@validate_params(
    {
        "result": [FitResult],
        "top": [Interval(Integral, 1, None, closed="left"), None],
        "exclude_flagged": ["boolean"],
    }
)
def rank(
    result: FitResult, *, top: int | None = None, exclude_flagged: bool = False
) -> RankingDict:
    """Rank scored candidates by fit, best first, in the rank JSON shape (a contract).

    Candidates are ordered by composite (ties: input order); a candidate without a fit
    (no score on a weighted scale) comes last. Flagged candidates are ranked but marked
    (``quality_valid``) unless ``exclude_flagged``.
    """
    scores = result.scores
    order = result.order
    if exclude_flagged:
        order = order[scores.quality.valid[order]]
    if top is not None:
        order = order[:top]
    ranking: list[RankedCandidateDict] = []
    for i, r in enumerate(order.tolist(), start=1):
        ranking.append({"rank": i, **result.row(r)})
    return {
        "role": result.role_summary(),
        "ranking": ranking,
        "provenance": provenance_json(result.provenance),
        "errors": errors_json(scores.errors),
    }
