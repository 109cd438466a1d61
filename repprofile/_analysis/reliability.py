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
from pydantic import BaseModel, ConfigDict

from repprofile._analysis.scoring import ScoreResult, _score
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
from repprofile.stats._moments import pairwise_moments

__all__ = ["ItemStatistics", "ReliabilityResult", "ScaleReliability", "reliability"]

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


class ReliabilityResult(BaseModel):
    """Reliability of every scale, scale intercorrelations and provenance."""

    model_config = ConfigDict(frozen=True)

    n_obs: int
    scales: dict[str, ScaleReliability]
    scale_ids: list[str]
    scale_correlations: list[list[float | None]]
    scale_correlations_disattenuated: list[list[float | None]]
    provenance: Provenance

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


def _blocks(result: ScoreResult, counter: _FrequencyCounter) -> Iterator[NDArray[np.float64]]:
    """Scored rows in blocks: the answers, then each scale's person mean (psych ``total``)."""
    values = result.answers.values
    scored = result.scored
    everyone = bool(scored.all())
    for start in range(0, scored.size, _BLOCK_ROWS):
        stop = min(scored.size, start + _BLOCK_ROWS)
        with np.errstate(invalid="ignore", divide="ignore"):
            totals = result._sums[start:stop] / result.n_answered[start:stop]
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


def _moments(result: ScoreResult) -> _Moments:
    """One pass over [answers | scale means], centred at the scale midpoint. Keying
    x' = lo + hi - x is a sign flip around the midpoint, so the keyed moments are these
    with signs flipped."""
    q = result.questionnaire
    lo, hi = q.response_scale.min, q.response_scale.max
    k, n_scales = len(q.item_ids), len(q.scale_ids)
    signs = q.keys.sum(axis=1)
    signs = np.where(signs == 0, 1.0, signs)  # check items: on no scale, left as answered
    counter = _FrequencyCounter(q)
    moments = pairwise_moments(
        _blocks(result, counter), k + n_scales, np.full(k + n_scales, (lo + hi) / 2.0)
    )
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
    mom = _moments(result)
    scales: dict[str, ScaleReliability] = {}
    alphas = np.full(len(q.scale_ids), np.nan)
    for j, sid in enumerate(q.scale_ids):
        scales[sid], alphas[j] = _scale_reliability(q, j, mom, n_obs, ci)
        for note in scales[sid].warnings:
            warnings.warn(note, RepprofileWarning, stacklevel=3)
    cor, dis = _scale_correlations(mom.cov, q, alphas)
    return ReliabilityResult(
        n_obs=n_obs,
        scales=scales,
        scale_ids=list(q.scale_ids),
        scale_correlations=cor,
        scale_correlations_disattenuated=dis,
        provenance=result.provenance,
    )


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
        alpha_ci=(
            (float(ci_pair[0]), float(ci_pair[1]))
            if ci_pair is not None and all(math.isfinite(v) for v in ci_pair)
            else None
        ),
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
