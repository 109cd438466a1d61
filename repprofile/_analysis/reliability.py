"""Reliability and item analysis, matching R psych 2.2.9 ``alpha()`` and ``omega()``.

One function per statistic, each taking a keyed covariance or correlation matrix, so
every number can be checked on its own. :func:`reliability` computes all of them for
every scale of a questionnaire from a batch of answers, with pairwise-complete
(co)variances exactly as ``psych::alpha(x, use = "pairwise")``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from repprofile._analysis.scoring import ScoreResult, _score
from repprofile._analysis.sjt import sjt_layout
from repprofile._formats.provenance import Provenance
from repprofile._formats.questionnaire import Questionnaire, load_questionnaire
from repprofile._input.answers import RepprofileWarning, as_answer_set
from repprofile._util import finite_or_none as _f
from repprofile._validation import NO_CHECK, Interval, validate_params
from repprofile.stats import (
    alpha_se,
    average_r,
    cov2cor,
    cronbach_alpha,
    feldt_ci,
    guttman_lambda6,
    minres_one_factor,
    omega_total,
    smc,
    standardized_alpha,
)
from repprofile.stats._moments import PairwiseMoments, pairwise_moments

__all__ = [
    "ItemStatistics",
    "MtmmTable",
    "ReliabilityResult",
    "ScaleReliability",
    "reliability",
]

Matrix = NDArray[np.float64]


# --------------------------------------------------------------------------- statistics


# --------------------------------------------------------------------------- results


class ItemStatistics(BaseModel):
    """Item analysis of one item within its scale (psych ``alpha()``'s item tables)."""

    model_config = ConfigDict(frozen=True)

    keyed: int
    n: int
    mean: float | None
    sd: float | None
    r_raw: float | None
    r_std: float | None
    r_cor: float | None
    r_drop: float | None
    alpha_if_dropped: float | None
    std_alpha_if_dropped: float | None
    g6_if_dropped: float | None
    average_r_if_dropped: float | None
    frequencies: dict[str, float] | None
    missing: float


class ScaleReliability(BaseModel):
    """Reliability estimates and item analysis of one scale."""

    model_config = ConfigDict(frozen=True)

    n_items: int
    n_obs: int
    alpha: float | None
    std_alpha: float | None
    g6: float | None
    average_r: float | None
    median_r: float | None
    var_r: float | None
    signal_noise: float | None
    alpha_se: float | None
    alpha_ci: tuple[float, float] | None
    alpha_ci_level: float
    omega_total: float | None
    loadings: dict[str, float] | None
    mean: float | None
    sd: float | None
    items: dict[str, ItemStatistics]
    excluded_items: list[str]
    warnings: list[str]
    # Skill (SJT) scales only; left out of the output of Likert scales.
    scenario_score: str | None = None
    split_half_r: float | None = None
    split_half_spearman_brown: float | None = None
    split_half_n: int | None = None
    caveat: str | None = None

    @model_serializer(mode="wrap")
    def _drop_sjt_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if self.scenario_score is None:
            for name in _SJT_SCALE_FIELDS:
                out.pop(name, None)
        return out


_SJT_SCALE_FIELDS = (
    "scenario_score",
    "split_half_r",
    "split_half_spearman_brown",
    "split_half_n",
    "caveat",
)


class MtmmTable(BaseModel):
    """Multitrait-multimethod table of the rep types (Campbell & Fiske 1959).

    ``r[i][j]`` is the pairwise-complete Pearson correlation, over scored candidates, of
    type ``types[i]``'s self-report scale (pomp) with type ``types[j]``'s SJT preference
    (:attr:`~repprofile.ScoreResult.sjt_type_preference`), ``n[i][j]`` the number of
    candidates with both. The diagonal (``convergent``) is the validity diagonal: the
    same trait by two methods; ``exceeds_heterotrait`` says per type whether its
    convergent r is larger than every heterotrait-heteromethod r in its row and column
    (Campbell & Fiske's first comparison; null when some r is undefined).
    """

    model_config = ConfigDict(frozen=True)

    types: list[str]
    self_report: str
    sjt_measure: str
    r: list[list[float | None]]
    n: list[list[int]]
    convergent: dict[str, float | None]
    exceeds_heterotrait: dict[str, bool | None]
    note: str


class ReliabilityResult(BaseModel):
    """Reliability of every scale, scale intercorrelations and provenance."""

    model_config = ConfigDict(frozen=True)

    n_obs: int
    scales: dict[str, ScaleReliability]
    scale_ids: list[str]
    scale_correlations: list[list[float | None]]
    scale_correlations_disattenuated: list[list[float | None]]
    provenance: Provenance
    mtmm: MtmmTable | None = None

    @model_serializer(mode="wrap")
    def _drop_mtmm(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if self.mtmm is None:
            out.pop("mtmm", None)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text; NaN never appears (undefined statistics are null)."""
        return self.model_dump_json(indent=indent)


# --------------------------------------------------------------------------- batch


_SCALE_FIELDS = (
    "alpha",
    "std_alpha",
    "g6",
    "average_r",
    "median_r",
    "var_r",
    "signal_noise",
    "alpha_se",
    "omega_total",
)
_ITEM_FIELDS = (
    "r_std",
    "r_cor",
    "r_drop",
    "alpha_if_dropped",
    "std_alpha_if_dropped",
    "g6_if_dropped",
    "average_r_if_dropped",
)


def _scale_statistics(c: Matrix, r_pair: Matrix, n_obs: int, level: float) -> dict[str, Any]:
    """Every alpha()/omega() statistic of one scale from its keyed matrices."""
    k = c.shape[0]
    r = cov2cor(c)
    lower = r[np.tril_indices(k, -1)]
    a = cronbach_alpha(c)
    av = average_r(r)
    lam = minres_one_factor(r_pair)
    return {
        "alpha": a,
        "std_alpha": standardized_alpha(r),
        "g6": guttman_lambda6(r),
        "average_r": av,
        "median_r": float(np.median(lower)),
        "var_r": float(np.var(lower, ddof=1)) if lower.size > 1 else math.nan,
        "signal_noise": k * av / (1.0 - av),
        "alpha_se": alpha_se(c, n_obs),
        "alpha_ci": feldt_ci(a, n_obs, k, level),
        "omega_total": omega_total(r_pair, lam),
        "loadings": lam,
    }


def _item_statistics(c: Matrix, i: int) -> dict[str, float]:
    """Item-total statistics of item i from the keyed covariance C of its scale."""
    r = cov2cor(c)
    rc = r.copy()
    np.fill_diagonal(rc, smc(r))
    c_drop = c[:, i].sum() - c[i, i]
    keep = np.arange(c.shape[0]) != i
    v_drop = c[np.ix_(keep, keep)].sum()

    def ratio(num: float, den: float) -> float:
        """num / sqrt(den), NaN where psych's value is undefined (den <= 0)."""
        return float(num / math.sqrt(den)) if den > 0 else math.nan

    out = {
        "r_std": ratio(r[:, i].sum(), r.sum()),
        "r_cor": ratio(rc[:, i].sum(), rc.sum()),
        "r_drop": ratio(c_drop, c[i, i] * v_drop),
    }
    if c.shape[0] > 2:
        cd = c[np.ix_(keep, keep)]
        rd = cov2cor(cd)
        out |= {
            "alpha_if_dropped": cronbach_alpha(cd),
            "std_alpha_if_dropped": standardized_alpha(rd),
            "g6_if_dropped": guttman_lambda6(rd),
            "average_r_if_dropped": average_r(rd),
        }
    else:
        out |= dict.fromkeys(
            ("alpha_if_dropped", "std_alpha_if_dropped", "g6_if_dropped", "average_r_if_dropped"),
            math.nan,
        )
    return out


class _FrequencyCounter:
    """Counts of each answer per item (psych ``response.freq``, on unkeyed answers)."""

    def __init__(self, q: Questionnaire) -> None:
        self.q = q
        self.lo = q.response_scale.min
        self.k = len(q.item_ids)
        self.width = q.response_scale.max - self.lo + 2  # bin 0: missing
        self.offsets = np.arange(self.k) * self.width
        self.counts = np.zeros(self.k * self.width)
        self.rows = 0

    def add(self, block: NDArray[np.float64]) -> None:
        self.rows += block.shape[0]
        codes = np.fmax(block, self.lo - 1.0)  # fmax ignores NaN: missing -> lo - 1
        codes -= self.lo - 1.0  # 0 = missing, then one code per answer value
        idx = codes.astype(np.intp) + self.offsets  # answers are validated whole numbers
        self.counts += np.bincount(idx.reshape(-1), minlength=self.k * self.width)

    def result(self) -> tuple[NDArray[np.float64] | None, NDArray[np.float64]]:
        """Proportions among answered rows, and ``miss = 1 - answered / rows``."""
        table = self.counts.reshape(self.k, self.width)
        answered = self.rows - table[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            freq = table[:, 1:] / answered[:, None] if self.q.response_scale.integers else None
        return freq, table[:, 0] / max(self.rows, 1)


_BLOCK_ROWS = 32768


@dataclass(frozen=True)
class _Batch:
    """The Likert part of a scored batch: its questionnaire, answers, per-scale sums and
    answered counts (the whole result when the questionnaire has no SJT items)."""

    questionnaire: Questionnaire
    values: NDArray[Any]
    sums: NDArray[np.float64]
    n_answered: NDArray[Any]
    scored: NDArray[np.bool_]

    @classmethod
    def likert(cls, result: ScoreResult) -> _Batch | None:
        q = result.questionnaire
        lq = q.likert_view
        if lq is None:
            return None
        if not q.has_sjt:
            return cls(q, result.answers.values, result._sums, result.n_answered, result.scored)
        cols, scales = q.likert_columns, q.likert_scales
        return cls(
            lq,
            np.ascontiguousarray(result.answers.values[:, cols]),  # C order, as alone
            np.ascontiguousarray(result._sums[:, scales]),
            np.ascontiguousarray(result.n_answered[:, scales]),
            result.scored,
        )


def _blocks(result: _Batch, counter: _FrequencyCounter) -> Iterator[NDArray[np.float64]]:
    """Scored rows in blocks: the answers, then each scale's person mean (psych ``total``)."""
    values = result.values
    scored = result.scored
    everyone = bool(scored.all())
    for start in range(0, scored.size, _BLOCK_ROWS):
        stop = min(scored.size, start + _BLOCK_ROWS)
        with np.errstate(invalid="ignore", divide="ignore"):
            totals = result.sums[start:stop] / result.n_answered[start:stop]
        block = np.concatenate([values[start:stop], totals], axis=1, dtype=np.float64)
        if not everyone:
            block = block[scored[start:stop]]
        counter.add(block[:, : counter.k])
        yield block


@validate_params(
    {
        "questionnaire": [str, os.PathLike, Questionnaire],
        "answers": [NO_CHECK],  # a ScoreResult, or any form score accepts
        "ci": [Interval(Real, 0, 1, closed="neither")],
    }
)
def reliability(
    questionnaire: str | Questionnaire,
    answers: Any,
    *,
    ci: float = 0.95,
) -> ReliabilityResult:
    """Reliability and item analysis of every scale from a batch of answers.

    Parameters
    ----------
    questionnaire : str or Questionnaire
    answers
        Any answers form :func:`repprofile.score` accepts. Rejected candidates (values
        outside the response scale) are left out.
    ci : float
        Level of the Feldt confidence interval for alpha (default 0.95, as psych).

    Returns
    -------
    ReliabilityResult

    Notes
    -----
    Items are keyed with the questionnaire's declared response scale
    (``min + max - x``). Covariances are pairwise-complete, as
    ``psych::alpha(x, use = "pairwise")``; ``alpha``, ``std_alpha``, ``g6``,
    ``average_r``, ``median_r``, ``var_r``, ``signal_noise``, ``alpha_se`` and the
    Feldt interval follow that function, with ``n_obs`` the number of scored
    candidates. ``omega_total`` follows ``psych::omega(nfactors = 1)`` on the pairwise
    correlation matrix (``cor(x, use = "pairwise")``). Item statistics: ``r_raw`` is
    the correlation of the item with the scale mean (which includes the item),
    ``r_std`` and ``r_cor`` are psych's ``std.r`` and ``r.cor``, ``r_drop`` the
    item-rest correlation from the covariance matrix, ``alpha_if_dropped`` alpha
    without the item. Scale intercorrelations are psych ``scoreItems``' ``$cor``
    (implied by the item covariances), and disattenuated by alpha.

    An item with zero variance or fewer than two answers is left out of its scale's
    statistics with a warning; a scale with fewer than two usable items gets null
    statistics.

    Examples
    --------
    >>> import repprofile
    >>> rel = repprofile.reliability("rep-types", "answers.csv")  # doctest: +SKIP
    >>> rel.scales["controller"].alpha  # doctest: +SKIP

    The R equivalent per scale is
    ``psych::alpha(items, keys = reversed, use = "pairwise")`` and
    ``psych::omega(keyed_items, nfactors = 1)$omega.tot``.
    """
    q = load_questionnaire(questionnaire)
    result = (
        answers
        if isinstance(answers, ScoreResult)
        else _score(as_answer_set(q, answers, caller="reliability"))
    )
    return _reliability_from_scores(result, ci)


@dataclass(frozen=True)
class _Moments:
    """Keyed item moments of a batch and each scale's person mean, from one pass."""

    cov: Matrix  # keyed item covariances, pairwise-complete
    cor: Matrix  # keyed item correlations, pairwise-complete
    item_mean: NDArray[np.float64]  # keyed
    item_n: NDArray[np.int_]  # answers per item
    r_raw: NDArray[np.float64]  # item with its scale's mean
    signs: NDArray[np.float64]  # +1, or -1 for a reverse-keyed item
    freq: Matrix | None  # proportion of each answer per item (whole-number answers)
    missing: NDArray[np.float64]  # share of rows without an answer, per item
    total_mean: NDArray[np.float64]  # per scale: mean of the person means
    total_sd: NDArray[np.float64]
    total_n: NDArray[np.float64]


def _moment_sums(result: _Batch) -> tuple[PairwiseMoments, _FrequencyCounter]:
    """One pass over [answers | scale means] of the scored rows, centred at the scale
    midpoint: the pairwise moment sums and the answer counts. Both are sums over rows,
    so the sums of separate batches add (:mod:`repprofile._analysis.partial`)."""
    q = result.questionnaire
    lo, hi = q.response_scale.min, q.response_scale.max
    k, n_scales = len(q.item_ids), len(q.scale_ids)
    counter = _FrequencyCounter(q)
    moments = pairwise_moments(
        _blocks(result, counter), k + n_scales, np.full(k + n_scales, (lo + hi) / 2.0)
    )
    return moments, counter


def _moments(result: _Batch) -> _Moments:
    """Keyed item moments of a batch and each scale's person mean, from one pass."""
    return _moments_from_sums(result.questionnaire, *_moment_sums(result))


def _moments_from_sums(
    q: Questionnaire, moments: PairwiseMoments, counter: _FrequencyCounter
) -> _Moments:
    """The statistics of :class:`_Moments` from the moment sums about the midpoint.
    Keying x' = lo + hi - x is a sign flip around the midpoint, so the keyed moments
    are these with signs flipped."""
    lo, hi = q.response_scale.min, q.response_scale.max
    k = len(q.item_ids)
    signs = q.keys.sum(axis=1)
    signs = np.where(signs == 0, 1.0, signs)  # check items: on no scale, left as answered
    n_scales = len(q.scale_ids)
    freq, missing = counter.result()
    sign_all = np.concatenate([signs, np.ones(n_scales)])
    flip = np.outer(sign_all, sign_all)
    c_big = moments.cov() * flip
    r_big = moments.cor() * flip
    item_mean = moments.means()[:k]
    scored = q.item_scale_index >= 0
    r_raw = np.full(k, np.nan)
    r_raw[scored] = r_big[np.flatnonzero(scored), k + q.item_scale_index[scored]]
    return _Moments(
        cov=c_big[:k, :k],
        cor=r_big[:k, :k],
        item_mean=np.where(signs < 0, lo + hi - item_mean, item_mean),
        item_n=np.diag(moments.N)[:k].astype(int),
        r_raw=r_raw,
        signs=signs,
        freq=freq,
        missing=missing,
        total_mean=moments.means()[k:],
        total_sd=np.sqrt(np.diag(c_big)[k:]),
        total_n=np.diag(moments.N)[k:],
    )


def _reliability_from_scores(result: ScoreResult, ci: float) -> ReliabilityResult:
    q = result.questionnaire
    n_obs = int(result.scored.sum())
    batch = _Batch.likert(result)
    found: dict[str, ScaleReliability] = {}
    alpha_of: dict[str, float] = {}
    cor: list[list[float | None]] = []
    dis: list[list[float | None]] = []
    if batch is not None:
        cor, dis = _likert_reliability(
            batch.questionnaire, _moments(batch), n_obs, ci, found, alpha_of
        )
    if q.has_sjt:
        for sid, (model, a) in _skill_reliability(result, n_obs, ci).items():
            found[sid], alpha_of[sid] = model, a
        cor, dis = _mixed_correlations(result, cor, dis, alpha_of)
    return _result(q, n_obs, found, cor, dis, result.provenance, _mtmm(result))


def _likert_reliability(
    lq: Questionnaire,
    mom: _Moments,
    n_obs: int,
    ci: float,
    found: dict[str, ScaleReliability],
    alpha_of: dict[str, float],
) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """Every Likert scale's statistics (into ``found`` and ``alpha_of``) and the scale
    intercorrelations, plain and disattenuated."""
    alphas = np.full(len(lq.scale_ids), np.nan)
    for j, sid in enumerate(lq.scale_ids):
        found[sid], alphas[j] = _scale_reliability(lq, j, mom, n_obs, ci)
        alpha_of[sid] = alphas[j]
    return _scale_correlations(mom.cov, lq, alphas)


def _result(
    q: Questionnaire,
    n_obs: int,
    found: dict[str, ScaleReliability],
    cor: list[list[float | None]],
    dis: list[list[float | None]],
    provenance: Provenance,
    mtmm: MtmmTable | None,
) -> ReliabilityResult:
    """The result document, warning once per note of a scale."""
    scales = {sid: found[sid] for sid in q.scale_ids}
    for s in scales.values():
        for note in s.warnings:
            warnings.warn(note, RepprofileWarning, stacklevel=4)
    return ReliabilityResult(
        n_obs=n_obs,
        scales=scales,
        scale_ids=list(q.scale_ids),
        scale_correlations=cor,
        scale_correlations_disattenuated=dis,
        provenance=provenance,
        mtmm=mtmm,
    )


def _reliability_from_sums(
    q: Questionnaire,
    moments: PairwiseMoments,
    counter: _FrequencyCounter,
    n_obs: int,
    ci: float,
    provenance: Provenance,
) -> ReliabilityResult:
    """The reliability result of a questionnaire without SJT items from its moment
    sums (:func:`_moment_sums`, possibly merged over batches): the same statistics as
    :func:`reliability` on all the rows at once."""
    found: dict[str, ScaleReliability] = {}
    cor, dis = _likert_reliability(q, _moments_from_sums(q, moments, counter), n_obs, ci, found, {})
    return _result(q, n_obs, found, cor, dis, provenance, None)


def _scale_reliability(
    q: Questionnaire, j: int, mom: _Moments, n_obs: int, ci: float
) -> tuple[ScaleReliability, float]:
    """Statistics and item analysis of scale ``j``, and its alpha (NaN: unknown)."""
    sid = q.scale_ids[j]
    c_all = mom.cov
    items = np.flatnonzero(q.item_scale_index == j)
    notes: list[str] = []
    usable = [
        i for i in items if mom.item_n[i] >= 2 and np.isfinite(c_all[i, i]) and c_all[i, i] > 0
    ]
    excluded = [q.item_ids[i] for i in items if i not in usable]
    if excluded:
        notes.append(
            f"scale {sid!r}: item(s) {', '.join(excluded)} have zero variance or fewer "
            "than two answers and were left out of the scale's statistics"
        )
    sub = np.array(usable, dtype=np.intp)
    stats: dict[str, Any] = {}
    if sub.size >= 2:
        c = c_all[np.ix_(sub, sub)]
        rp = mom.cor[np.ix_(sub, sub)]
        if np.isfinite(c).all() and np.isfinite(rp).all():
            stats = _scale_statistics(c, rp, n_obs, ci)
        else:
            notes.append(f"scale {sid!r}: some item pairs were never answered together")
    else:
        notes.append(f"scale {sid!r}: fewer than two usable items; no statistics")
    ci_pair = stats.get("alpha_ci")
    total_n = mom.total_n[j]
    model = ScaleReliability(
        n_items=int(sub.size),
        n_obs=n_obs,
        **{name: _f(stats.get(name, math.nan)) for name in _SCALE_FIELDS},
        alpha_ci=_finite_pair(ci_pair),
        alpha_ci_level=ci,
        loadings=(
            {q.item_ids[i]: float(v) for i, v in zip(sub, stats["loadings"], strict=True)}
            if "loadings" in stats
            else None
        ),
        mean=_f(mom.total_mean[j]) if total_n else None,
        sd=_f(mom.total_sd[j]) if total_n > 1 else None,
        items=_item_models(q, items, sub, bool(stats), mom),
        excluded_items=excluded,
        warnings=notes,
    )
    return model, stats.get("alpha", math.nan)


def _item_models(
    q: Questionnaire,
    items: NDArray[np.intp],
    sub: NDArray[np.intp],
    with_stats: bool,
    mom: _Moments,
) -> dict[str, ItemStatistics]:
    """Item analysis of a scale's items (``sub``: the usable ones, in the statistics)."""
    lo = q.response_scale.min
    c_all, freq = mom.cov, mom.freq
    out: dict[str, ItemStatistics] = {}
    for i in items:
        in_sub = np.flatnonzero(sub == i)
        ist: dict[str, float] = {}
        if with_stats and in_sub.size:
            ist = _item_statistics(c_all[np.ix_(sub, sub)], int(in_sub[0]))
        out[q.item_ids[i]] = ItemStatistics(
            keyed=int(mom.signs[i]),
            n=int(mom.item_n[i]),
            mean=_f(mom.item_mean[i]),
            sd=_f(math.sqrt(c_all[i, i])) if c_all[i, i] >= 0 else None,
            r_raw=_f(mom.r_raw[i]),
            **{name: _f(ist.get(name, math.nan)) for name in _ITEM_FIELDS},
            frequencies=(
                {str(lo + v): float(freq[i, v]) for v in range(freq.shape[1])}
                if freq is not None and mom.item_n[i] > 0
                else None
            ),
            missing=float(mom.missing[i]),
        )
    return out


def _scale_correlations(
    c_all: Matrix, q: Questionnaire, alphas: NDArray[np.float64]
) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """psych ``scoreItems`` ``$cor`` (from item covariances) and its disattenuation."""
    keys = np.abs(q.keys)
    c = np.where(np.isfinite(c_all), c_all, 0.0)
    cov_scales = keys.T @ c @ keys
    cor = cov2cor(cov_scales)
    with np.errstate(invalid="ignore", divide="ignore"):
        dis = cor / np.sqrt(np.outer(alphas, alphas))
    np.fill_diagonal(dis, 1.0)

    def rows(m: Matrix) -> list[list[float | None]]:
        return [[_f(v) for v in row] for row in m]

    return rows(cor), rows(dis)


# --------------------------------------------------------------------------- SJT

_SJT_CAVEAT = (
    "situational judgment scenarios are heterogeneous (each draws on several abilities), "
    "so internal consistency (alpha) understates their reliability; prefer the "
    "split-half or, better, a test-retest estimate (Whetzel & McDaniel 2009; Catano, "
    "Brochu & Lamerson 2012)"
)


def scenario_scores(result: ScoreResult) -> tuple[NDArray[np.float64], str]:
    """Per candidate and SJT scenario, the scenario's score, and what it is.

    The item score that alpha and the split-half of a skill scale are computed on:

    * ``rate`` items, ``absolute`` method: 1 - sum |r - k| / sum max(k - lo, hi - k) over
      the scenario's rated options (0..1);
    * ``rate`` items, every other method: the distance score of the scenario,
      1 - sum (r - k)^2 / sum max((k - lo)^2, (hi - k)^2) (0..1). The standardized and
      correlation methods are defined over many options, not within one scenario of 3-5;
      the distance score is their per-scenario counterpart (docs/sjt.md);
    * ``most_least``: the scenario's points, -2..+2; ``best``: 1 when the keyed best
      option was picked, else 0.

    NaN where the scenario is unanswered or the candidate was rejected. ``r`` a rating,
    ``k`` its keyed value (the SME key the result was scored with, else the options'
    keys), ``[lo, hi]`` the rating scale.
    """
    q = result.questionnaire
    layout = sjt_layout(q, result.sjt_key)
    x = np.array(result.answers.values[:, layout.columns], dtype=np.float64)
    x[~result.scored] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        if layout.response_format == "rate":
            k = layout.key
            assert k is not None
            answered = ~np.isnan(x)
            lo, hi = layout.lo, layout.hi
            absolute = result.sjt is not None and result.sjt.method == "absolute"
            if absolute:
                d = np.abs(x - k)
                worst = np.maximum(k - lo, hi - k)
                what = (
                    "per-scenario absolute-distance score 1 - sum |r - k| / "
                    "sum max(k - lo, hi - k), 0..1"
                )
            else:
                d = (x - k) ** 2
                worst = np.maximum((k - lo) ** 2, (hi - k) ** 2)
                what = (
                    "per-scenario distance score 1 - sum (r - k)^2 / "
                    "sum max((k - lo)^2, (hi - k)^2), 0..1"
                )
            num = np.where(answered, d, 0.0) @ layout.scenario_onehot
            den = (answered * worst) @ layout.scenario_onehot
            out: NDArray[np.float64] = np.where(den > 0, 1.0 - num / den, np.nan)
            return out, what
        km, kl = layout.keyed_most, layout.keyed_least
        assert km is not None
        if layout.response_format == "most_least":
            assert kl is not None
            most, least = x[:, 0::2], x[:, 1::2]
            pts = (
                (most == km).astype(np.float64)
                + (least == kl)
                - (most == kl).astype(np.float64)
                - (least == km).astype(np.float64)
            )
            ok = ~np.isnan(most) & ~np.isnan(least)
            return np.where(ok, pts, np.nan), "per-scenario most/least points, -2..+2"
        return (
            np.where(np.isnan(x), np.nan, (x == km).astype(np.float64)),
            "per-scenario best pick, 1 (keyed best) or 0",
        )


def split_half(
    scores: NDArray[np.float64],
) -> tuple[float, float, int]:
    """Odd-even split-half reliability of a scale from its per-scenario scores.

    The odd (1st, 3rd, ...) and even (2nd, 4th, ...) scenarios of the scale, in test
    order, each give a half score (the mean of the candidate's answered scenarios in the
    half); ``r`` is the Pearson correlation of the two half scores over the candidates
    with both, and the Spearman-Brown step-up to the full length is
    ``r_sb = 2 r / (1 + r)`` (Spearman 1910; Brown 1910).

    Returns ``(r, r_sb, n)``; r and r_sb are NaN when undefined (fewer than three
    candidates with both halves, or a half without variance).

    References
    ----------
    Spearman, C. (1910). Correlation calculated from faulty data. *British Journal of
    Psychology*, 3(3), 271-295. https://doi.org/10.1111/j.2044-8295.1910.tb00206.x

    Brown, W. (1910). Some experimental results in the correlation of mental abilities.
    *British Journal of Psychology*, 3(3), 296-322.
    https://doi.org/10.1111/j.2044-8295.1910.tb00207.x
    """
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN halves: NaN
        odd = np.nanmean(scores[:, 0::2], axis=1)
        even = np.nanmean(scores[:, 1::2], axis=1)
    both = np.isfinite(odd) & np.isfinite(even)
    n = int(both.sum())
    if n < 3:
        return math.nan, math.nan, n
    a, b = odd[both] - odd[both].mean(), even[both] - even[both].mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    if den == 0:
        return math.nan, math.nan, n
    r = float(a @ b) / den
    return r, 2.0 * r / (1.0 + r) if r != -1.0 else math.nan, n


def _skill_reliability(
    result: ScoreResult, n_obs: int, ci: float
) -> dict[str, tuple[ScaleReliability, float]]:
    """Alpha (and psych alpha()'s other statistics) over each skill scale's
    per-scenario scores (:func:`scenario_scores`), the odd-even split-half with
    Spearman-Brown (:func:`split_half`) and the caveat that alpha understates an SJT's
    reliability."""
    q = result.questionnaire
    scores, what = scenario_scores(result)
    scores = scores[result.scored]
    scen_ids = [it.id for it in q.sjt_items]
    out: dict[str, tuple[ScaleReliability, float]] = {}
    for j in np.flatnonzero(q.skill_mask):
        sid = q.scale_ids[j]
        idx = np.flatnonzero(q.scenario_membership[j])
        sub_scores = scores[:, idx]
        pomp = result.pomp[result.scored, j] / 100.0
        block = np.ascontiguousarray(np.column_stack([sub_scores, pomp]))
        k = idx.size
        mom = pairwise_moments(iter([block]), k + 1, np.zeros(k + 1))
        cov, cor = mom.cov(), mom.cor()
        n_item = np.diag(mom.N)[:k].astype(int)
        notes: list[str] = []
        usable = [
            i for i in range(k) if n_item[i] >= 2 and np.isfinite(cov[i, i]) and cov[i, i] > 0
        ]
        excluded = [scen_ids[idx[i]] for i in range(k) if i not in usable]
        if excluded:
            notes.append(
                f"scale {sid!r}: scenario(s) {', '.join(excluded)} have zero variance or "
                "fewer than two answers and were left out of the scale's statistics"
            )
        sub = np.array(usable, dtype=np.intp)
        stats: dict[str, Any] = {}
        if sub.size >= 2:
            c, rp = cov[np.ix_(sub, sub)], cor[np.ix_(sub, sub)]
            if np.isfinite(c).all() and np.isfinite(rp).all():
                stats = _scale_statistics(c, rp, n_obs, ci)
            else:
                notes.append(f"scale {sid!r}: some scenario pairs were never answered together")
        else:
            notes.append(f"scale {sid!r}: fewer than two usable scenarios; no statistics")
        items: dict[str, ItemStatistics] = {}
        for i in range(k):
            in_sub = np.flatnonzero(sub == i)
            ist: dict[str, float] = {}
            if stats and in_sub.size:
                ist = _item_statistics(cov[np.ix_(sub, sub)], int(in_sub[0]))
            col = sub_scores[:, i]
            col = col[np.isfinite(col)]
            items[scen_ids[idx[i]]] = ItemStatistics(
                keyed=1,
                n=int(n_item[i]),
                mean=_f(col.mean()) if col.size else None,
                sd=_f(math.sqrt(cov[i, i])) if cov[i, i] >= 0 else None,
                r_raw=_f(cor[i, k]),
                **{name: _f(ist.get(name, math.nan)) for name in _ITEM_FIELDS},
                frequencies=None,
                missing=1.0 - n_item[i] / max(n_obs, 1),
            )
        r, r_sb, n_sh = split_half(sub_scores)
        ci_pair = stats.get("alpha_ci")
        finite = np.isfinite(pomp)
        model = ScaleReliability(
            n_items=int(sub.size),
            n_obs=n_obs,
            **{name: _f(stats.get(name, math.nan)) for name in _SCALE_FIELDS},
            alpha_ci=_finite_pair(ci_pair),
            alpha_ci_level=ci,
            loadings=(
                {scen_ids[idx[i]]: float(v) for i, v in zip(sub, stats["loadings"], strict=True)}
                if "loadings" in stats
                else None
            ),
            mean=_f(100.0 * pomp[finite].mean()) if finite.any() else None,
            sd=_f(100.0 * pomp[finite].std(ddof=1)) if finite.sum() > 1 else None,
            items=items,
            excluded_items=excluded,
            warnings=notes,
            scenario_score=what,
            split_half_r=_f(r),
            split_half_spearman_brown=_f(r_sb),
            split_half_n=n_sh,
            caveat=_SJT_CAVEAT,
        )
        out[sid] = (model, stats.get("alpha", math.nan))
    return out


def pairwise_pearson(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Pearson correlation of every column of ``x`` with every column of ``y`` over the
    rows where both are finite (pairwise-complete), and that number of rows.

    r = (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2)(n Syy - Sy^2)), the sums over the pair's
    complete rows; NaN below 3 rows or without variance.
    """
    mx, my = np.isfinite(x), np.isfinite(y)
    fx, fy = mx.astype(np.float64), my.astype(np.float64)
    x0, y0 = np.where(mx, x, 0.0), np.where(my, y, 0.0)
    n = fx.T @ fy
    sx, sy = x0.T @ fy, fx.T @ y0
    sxx, syy = (x0 * x0).T @ fy, fx.T @ (y0 * y0)
    sxy = x0.T @ y0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))
    r = np.where((n >= 3) & np.isfinite(r), np.clip(r, -1.0, 1.0), np.nan)
    return r, n.astype(np.int64)


def _mixed_correlations(
    result: ScoreResult,
    likert_cor: list[list[float | None]],
    likert_dis: list[list[float | None]],
    alpha_of: dict[str, float],
) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """Scale intercorrelations of a questionnaire with skill scales: between Likert
    scales as before (psych scoreItems, from the item covariances); any pair with a
    skill scale: the pairwise-complete Pearson correlation of the scale scores (mean
    for Likert scales, pomp for skill scales) over scored candidates. Disattenuated by
    alpha."""
    q = result.questionnaire
    means = result.mean[result.scored]
    r, _ = pairwise_pearson(means, means)
    likert = q.likert_scales
    for a, ja in enumerate(likert):
        for b, jb in enumerate(likert):
            v = likert_cor[a][b]
            r[ja, jb] = math.nan if v is None else v
    alphas = np.array([alpha_of.get(sid, math.nan) for sid in q.scale_ids])
    with np.errstate(invalid="ignore", divide="ignore"):
        dis = r / np.sqrt(np.outer(alphas, alphas))
    for a, ja in enumerate(likert):
        for b, jb in enumerate(likert):
            v = likert_dis[a][b]
            dis[ja, jb] = math.nan if v is None else v
    np.fill_diagonal(r, 1.0)
    np.fill_diagonal(dis, 1.0)
    return [[_f(v) for v in row] for row in r], [[_f(v) for v in row] for row in dis]


_SJT_MEASURES = {
    "rate": "mean within-person z of the ratings given to the type's options",
    "most_least": "scenarios where the type's option was picked as most effective minus "
    "those where it was picked as least effective",
    "best": "scenarios where the type's option was picked as best",
}


def _mtmm(result: ScoreResult) -> MtmmTable | None:
    """The multitrait-multimethod table, when the questionnaire has trait scales for
    rep types that its SJT options are typed with (else None)."""
    q = result.questionnaire
    pref = result.sjt_type_preference
    if pref is None:
        return None
    typed = {o.type for it in q.sjt_items for o in it.options if o.type is not None}
    kinds = {s.id: s.kind for s in q.scales}
    types = [t for t in result.sjt_type_ids if t in typed and kinds.get(t) == "trait"]
    if not types:
        return None
    rows = result.scored
    x = result.pomp[rows][:, [q.scale_ids.index(t) for t in types]]
    y = pref[rows][:, [list(result.sjt_type_ids).index(t) for t in types]]
    r, n = pairwise_pearson(x, y)
    m = len(types)
    exceeds: dict[str, bool | None] = {}
    for i, t in enumerate(types):
        others = np.concatenate([np.delete(r[i, :], i), np.delete(r[:, i], i)])
        if not np.isfinite(r[i, i]) or not np.isfinite(others).all():
            exceeds[t] = None
        else:
            exceeds[t] = bool(m == 1 or r[i, i] > others.max())
    fmt = sjt_layout(q).response_format
    return MtmmTable(
        types=types,
        self_report="pomp of the type's self-report (Likert) scale",
        sjt_measure=_SJT_MEASURES[fmt],
        r=[[_f(v) for v in row] for row in r],
        n=n.tolist(),
        convergent={t: _f(r[i, i]) for i, t in enumerate(types)},
        exceeds_heterotrait=exceeds,
        note=(
            "rows: self-report scales; columns: SJT preferences; pairwise-complete Pearson "
            "r over scored candidates. The diagonal is the convergent validity of the two "
            "methods (Campbell & Fiske 1959): it should be clearly positive and larger "
            "than the other entries of its row and column. A sample of a few hundred "
            "candidates is needed before these correlations mean much."
        ),
    )


def _finite_pair(pair: Any) -> tuple[float, float] | None:
    """A confidence interval as two floats, or None when missing or not finite."""
    if pair is None or not all(math.isfinite(v) for v in pair):
        return None
    return (float(pair[0]), float(pair[1]))
