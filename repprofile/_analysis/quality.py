"""Response quality: careless-responding indices, attention checks, response time and
impression management, with a per-candidate verdict.

Index definitions follow the R package careless 1.2.x (Yentes & Wilhelm 2023) so that
results can be compared with it; each function documents the definition and where ours
differs in presentation (even-odd is reported as a consistency, higher = more
consistent). Everything is vectorised over candidates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from repprofile._formats.questionnaire import CachedModel, QualitySettings, Questionnaire

__all__ = [
    "QualityFlag",
    "QualityReference",
    "QualitySettings",
    "even_odd",
    "irv",
    "longstring",
    "mahalanobis_d2",
    "psychsyn",
    "synonym_pairs",
]

Array = NDArray[np.float64]
_BLOCK = 32768  # rows per block: indices are computed block by block, memory stays flat


# --------------------------------------------------------------------------- indices


def longstring(x: Array) -> tuple[Array, Array]:
    """Longest and mean run of identical consecutive answers, per row.

    Notes
    -----
    In presentation order; a missing answer is a run of its own (length 1) and breaks
    the run around it, as ``careless::longstring`` (R's ``rle`` never joins NAs), whose
    ``avg = TRUE`` variant is the mean run length, :math:`k / \\text{number of runs}`
    (Johnson 2005; Meade & Craig 2012).

    References
    ----------
    Johnson, J. A. (2005). Ascertaining the validity of individual protocols from
    Web-based personality inventories. *Journal of Research in Personality*, 39(1),
    103-129. https://doi.org/10.1016/j.jrp.2004.09.009
    """
    m, k = x.shape
    if k == 0 or m == 0:
        return np.full(m, np.nan), np.full(m, np.nan)
    # A run starts at the first item and wherever an answer differs from the one before
    # (NaN never equals anything). Flattened row by row, the gaps between run starts are
    # the run lengths; every row starts a run, so each row's runs are contiguous.
    starts = np.ones((m, k), dtype=bool)
    np.not_equal(x[:, 1:], x[:, :-1], out=starts[:, 1:])
    runs = starts.sum(axis=1)
    pos = np.flatnonzero(starts)
    lengths = np.empty_like(pos)
    np.subtract(pos[1:], pos[:-1], out=lengths[:-1])
    lengths[-1] = m * k - pos[-1]
    first = np.zeros(m, dtype=np.intp)
    np.cumsum(runs[:-1], out=first[1:])
    longest: Array = np.maximum.reduceat(lengths, first).astype(np.float64)
    return longest, k / runs


def irv(x: Array) -> Array:
    """Intra-individual response variability: the SD (n - 1) of each row's answers.

    Notes
    -----
    Over the answered items; NaN with fewer than two answers (``careless::irv`` 1.2.x,
    ``na.rm = TRUE``; Dunn, Heggestad, Shanock & Theilgard 2018). Low values mean the
    same answer again and again.

    References
    ----------
    Dunn, A. M., Heggestad, E. D., Shanock, L. R., & Theilgard, N. (2018).
    Intra-individual response variability as an indicator of insufficient effort
    responding. *Journal of Business and Psychology*, 33(1), 105-121.
    https://doi.org/10.1007/s10869-016-9479-0
    """
    ok = ~np.isnan(x)
    n = ok.sum(axis=1)
    z = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=1) / n
        dev = np.where(ok, x - mean[:, None], 0.0)
        var = (dev * dev).sum(axis=1) / (n - 1)
    out: Array = np.sqrt(var)
    out[n < 2] = np.nan
    return out


def mahalanobis_d2(
    x: Array, means: Array, cov: Array, inverse: Array | None = None
) -> tuple[Array, Array]:
    """Squared Mahalanobis distance of each row from the reference sample, and its p-value.

    Notes
    -----
    :math:`D^2 = d' S^{-1} d` with :math:`d` the deviations from the reference item
    means and :math:`S` the reference pairwise covariance matrix; a missing answer's
    deviation is 0, as ``careless::mahad`` (which returns :math:`D^2`, through
    ``psych::outlier``). The p-value is the upper tail of a chi-square distribution with
    as many degrees of freedom as items (Meade & Craig 2012). Rows with no answer: NaN.

    References
    ----------
    Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
    *Psychological Methods*, 17(3), 437-455. https://doi.org/10.1037/a0028085
    """
    from scipy.special import chdtrc  # chi-square survival function

    inv = np.linalg.inv(cov) if inverse is None else inverse  # pass it to reuse it
    d = x - means
    answered = ~np.isnan(d)
    d[~answered] = 0.0
    d2: Array = ((d @ inv) * d).sum(axis=1)
    d2[~answered.any(axis=1)] = np.nan
    p: Array = chdtrc(x.shape[1], d2)
    return d2, p


def even_odd(
    x: Array,
    scale_index: NDArray[np.intp],
    signs: Array,
    reverse_total: float = 0.0,
) -> Array:
    """Even-odd consistency: the Spearman-Brown corrected correlation, across scales, of
    the means of each scale's even- and odd-position items.

    Notes
    -----
    Per scale, items in presentation order are split into even (2nd, 4th, ...) and odd
    (1st, 3rd, ...) positions, reverse-keyed items scored ``reverse_total - x``
    (``reverse_total`` = min + max of the response scale) where ``signs`` is -1
    (``careless::evenodd`` uses the answers as given: pass ones to reproduce it). The
    two sets of half means are correlated across the scales where both halves have an
    answer (Pearson), then corrected :math:`r_{SB} = 2r/(1+r)` and bounded below by -1.
    **Higher means more consistent**: careless 1.2.x reports the negative (higher = more
    careless); the values are otherwise identical. NaN with fewer than two usable scales
    or when either set of half means has no variance (Johnson 2005; Curran 2016).

    References
    ----------
    Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in
    survey data. *Journal of Experimental Social Psychology*, 66, 4-19.
    https://doi.org/10.1016/j.jesp.2015.07.006
    """
    even_items, odd_items = _halves(tuple(scale_index.tolist()))
    keyed = np.where(signs < 0, reverse_total - x, x)  # min + max - x for reversed items
    ok = ~np.isnan(keyed)
    filled = np.where(ok, keyed, 0.0)
    answered = ok.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        even = (filled @ even_items) / (answered @ even_items)  # 0/0: NaN, no answer
        odd = (filled @ odd_items) / (answered @ odd_items)
        r = _rowwise_pearson(even, odd)
        sb: Array = 2.0 * r / (1.0 + r)
    sb[sb < -1.0] = -1.0
    return sb


@functools.lru_cache(maxsize=64)
def _halves(scale_index: tuple[int, ...]) -> tuple[Array, Array]:
    """Indicator matrices (items x scales) of each scale's even- and odd-position items,
    so that every scale's half means come from two matrix products per half."""
    idx = np.asarray(scale_index, dtype=np.intp)
    n_scales = int(idx.max(initial=-1)) + 1
    even_items = np.zeros((idx.size, n_scales))
    odd_items = np.zeros((idx.size, n_scales))
    for j in range(n_scales):
        items = np.flatnonzero(idx == j)
        even_items[items[1::2], j] = 1.0
        odd_items[items[0::2], j] = 1.0
    even_items.flags.writeable = False
    odd_items.flags.writeable = False
    return even_items, odd_items


def _rowwise_pearson(a: Array, b: Array) -> Array:
    """Pearson r of a[i] with b[i] per row, over columns where both are present."""
    ok = ~np.isnan(a) & ~np.isnan(b)
    n = ok.sum(axis=1)
    a0 = np.where(ok, a, 0.0)
    b0 = np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = a0.sum(axis=1) / n
        mb = b0.sum(axis=1) / n
        da = np.where(ok, a - ma[:, None], 0.0)
        db = np.where(ok, b - mb[:, None], 0.0)
        sab = (da * db).sum(axis=1)
        saa = (da * da).sum(axis=1)
        sbb = (db * db).sum(axis=1)
        r: Array = sab / np.sqrt(saa * sbb)
    r[(n < 2) | (saa == 0) | (sbb == 0)] = np.nan
    return r


def synonym_pairs(cor: Array, critval: float = 0.60) -> NDArray[np.intp]:
    """Item pairs whose sample correlation exceeds ``critval`` (psychometric synonyms).

    Returns an array of ``(later, earlier)`` column pairs in ``careless``'s order
    (lower triangle, column by column).
    """
    k = cor.shape[0]
    rows, cols = np.tril_indices(k, -1)
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    keep = cor[rows, cols] > critval
    return np.stack([rows[keep], cols[keep]], axis=1)


def psychsyn(x: Array, pairs: NDArray[np.intp]) -> Array:
    """Psychometric synonyms: each row's correlation between the two items of every pair.

    Notes
    -----
    Over the pairs the row answered both items of; NaN with fewer than three such pairs,
    as ``careless::psychsyn`` (which needs more than two), or with no variance. careless
    by default reshuffles the values of a row whose correlation is undefined, at random;
    repprofile does not (results must be deterministic), matching its
    ``resample_na = FALSE`` (Meade & Craig 2012). Low values: answers to items that
    most people answer alike disagree.
    """
    if pairs.size == 0:
        return np.full(x.shape[0], np.nan)
    a = x[:, pairs[:, 0]]
    b = x[:, pairs[:, 1]]
    r = _rowwise_pearson(a, b)
    n = (~np.isnan(a) & ~np.isnan(b)).sum(axis=1)
    r[n < 3] = np.nan
    return r


# --------------------------------------------------------------------------- settings


class QualityReference(CachedModel):
    """What sample-based indices need from a reference sample (stored in norm tables)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[str]
    means: list[float]
    cov: list[list[float]]
    synonym_pairs: list[tuple[str, str]]
    critval: float
    n: int
    full_rank: bool = Field(
        default=True,
        description="The covariance matrix is invertible (Mahalanobis D^2 is defined).",
    )

    @model_validator(mode="after")
    def _check_shapes(self) -> QualityReference:
        k = len(self.items)
        problems = []
        if len(set(self.items)) != k:
            problems.append("items: each item once")
        if len(self.means) != k:
            problems.append(f"means: one per item ({k}), got {len(self.means)}")
        if len(self.cov) != k or any(len(row) != k for row in self.cov):
            problems.append(f"cov: a {k} x {k} matrix")
        if not all(math.isfinite(v) for v in self.means) or not all(
            math.isfinite(v) for row in self.cov for v in row
        ):
            problems.append("means and cov: finite numbers")
        known = set(self.items)
        if any(a not in known or b not in known for a, b in self.synonym_pairs):
            problems.append("synonym_pairs: pairs of ids listed in items")
        if problems:
            raise ValueError("quality reference: expected " + "; ".join(problems))
        return self

    @functools.cached_property
    def arrays(self) -> tuple[Array, Array, Array | None]:
        """Item means, covariance matrix and its inverse (None unless full rank) as
        arrays, built once per reference."""
        means = np.asarray(self.means, dtype=np.float64)
        cov = np.asarray(self.cov, dtype=np.float64)
        inverse: Array | None = None
        if self.full_rank:
            try:
                inverse = np.asarray(np.linalg.inv(cov), dtype=np.float64)
            except np.linalg.LinAlgError:  # declared full rank, but singular
                inverse = None
        return means, cov, inverse

    @classmethod
    def from_sample(
        cls,
        q: Questionnaire,
        x: NDArray[np.floating[Any]],
        critval: float,
        rows: NDArray[np.bool_] | None = None,
    ) -> QualityReference | None:
        """Reference statistics of the scored items of ``x`` (rows: candidates; only
        those where ``rows`` is True), accumulated over blocks of rows."""
        from repprofile.stats._moments import pairwise_moments

        items = np.flatnonzero(q.item_scale_index >= 0)
        mid = (q.response_scale.min + q.response_scale.max) / 2.0
        use = np.ones(x.shape[0], dtype=bool) if rows is None else rows

        def blocks() -> Iterator[Array]:
            for start in range(0, x.shape[0], _BLOCK):
                b = np.asarray(x[start : start + _BLOCK], dtype=np.float64)[:, items]
                yield np.ascontiguousarray(b[use[start : start + _BLOCK]])

        moments = pairwise_moments(blocks(), len(items), np.full(len(items), mid))
        cov = moments.cov()
        if not np.isfinite(cov).all():
            return None  # some item pair was never answered together
        full_rank = bool(np.linalg.matrix_rank(cov) == len(items))
        pairs = synonym_pairs(moments.cor(), critval)
        ids = [q.item_ids[i] for i in items]
        return cls(
            items=ids,
            means=moments.means().tolist(),
            cov=cov.tolist(),
            synonym_pairs=[(ids[a], ids[b]) for a, b in pairs],
            critval=critval,
            n=int(use.sum()),
            full_rank=full_rank,
        )


class QualityFlag(BaseModel):
    """One reason to doubt a candidate's answers."""

    model_config = ConfigDict(frozen=True)

    index: str
    value: float | None
    threshold: float
    reason: str


# --------------------------------------------------------------------------- batch


class QualityResult:
    """Indices (arrays, one value per row) and per-row flags for a batch."""

    def __init__(
        self,
        q: Questionnaire,
        values: NDArray[np.floating[Any]],
        scored: NDArray[np.bool_],
        pomp: Array,
        seconds: Array | None,
        settings: QualitySettings,
        norm_reference: QualityReference | None,
    ) -> None:
        self.settings = st = settings.resolved(q)
        self.longstring_max = float(st.longstring_max if st.longstring_max is not None else 0)
        self.irv_min = float(st.irv_min if st.irv_min is not None else 0.0)
        n = values.shape[0]
        self.unavailable: dict[str, str] = {}
        nan = np.full(n, np.nan)
        self.longstring, self.longstring_avg, self.irv = nan.copy(), nan.copy(), nan.copy()
        self.even_odd = nan.copy()
        self.mahalanobis_d2, self.mahalanobis_p, self.psychsyn = nan.copy(), nan.copy(), nan.copy()
        checks = list(q.check_items)
        self.attention_failures = np.zeros(n) if checks else nan.copy()
        answered_n = np.zeros(n)
        signs = q.item_signs
        lo, hi = q.response_scale.min, q.response_scale.max
        expected = q.check_expected
        for start in range(0, n, _BLOCK):  # pass 1: the indices that need no reference
            sl = slice(start, min(n, start + _BLOCK))
            x = np.array(values[sl], dtype=np.float64)
            x[~scored[sl]] = np.nan  # rejected candidates get no indices
            self.longstring[sl], self.longstring_avg[sl] = longstring(x)
            self.irv[sl] = irv(x)
            self.even_odd[sl] = even_odd(x, q.item_scale_index, signs, lo + hi)
            answered_n[sl] = (~np.isnan(x)).sum(axis=1)
            if checks:  # a wrong answer fails; a skipped check item does not
                answer = x[:, checks]
                right = (answer[:, :, None] == expected).any(axis=2)
                self.attention_failures[sl] += (~np.isnan(answer) & ~right).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.seconds_per_item = (
                seconds / answered_n if seconds is not None else np.full(n, np.nan)
            )
        # The batch is the reference sample when it is large enough, less the candidates
        # the sample-free indices already flag (they would distort the covariances).
        clean = scored & ~self._flagged(
            ("longstring", "irv", "attention_failures", "seconds_per_item")
        )
        self.clean = clean
        reference: QualityReference | None = None
        self.reference_source: str | None = None
        if int(clean.sum()) >= st.reference_min:
            reference = QualityReference.from_sample(q, values, st.psychsyn_critval, clean)
            if reference is not None:
                self.reference_source = (
                    f"this batch ({int(clean.sum())} candidates not flagged by longstring, "
                    "IRV, attention or response time)"
                )
        if reference is None and norm_reference is not None:
            reference, self.reference_source = norm_reference, "the norm table"
        if reference is None:
            why = (
                f"needs a reference sample: a batch of at least {st.reference_min} candidates, "
                "or a norm table built with this version of repprofile"
            )
            self.unavailable = {"mahalanobis_d2": why, "psychsyn": why}
        else:
            distance_ref: QualityReference | None = reference
            if not reference.full_rank:  # fewer candidates than items: D^2 is undefined
                if norm_reference is not None and norm_reference.full_rank:
                    distance_ref = norm_reference
                    self.reference_source = (
                        f"{self.reference_source}; Mahalanobis D^2 from the norm table"
                    )
                else:
                    distance_ref = None
                    self.unavailable["mahalanobis_d2"] = (
                        f"the reference sample ({reference.n} candidates) is too small for the "
                        f"covariance of {len(reference.items)} items; give a norm table or a "
                        f"batch of more than {len(reference.items)} candidates"
                    )
            if distance_ref is not None and distance_ref.arrays[2] is None:
                distance_ref = None
                self.unavailable["mahalanobis_d2"] = (
                    "the reference covariance matrix is singular, so D^2 is undefined"
                )
            pos = {iid: i for i, iid in enumerate(q.item_ids)}
            cols = [pos[i] for i in reference.items]
            col_of = {iid: c for c, iid in enumerate(reference.items)}
            pairs = np.array(
                [(col_of[a], col_of[b]) for a, b in reference.synonym_pairs], dtype=np.intp
            ).reshape(-1, 2)
            if pairs.shape[0] < 3:
                self.unavailable["psychsyn"] = (
                    f"the reference sample has {pairs.shape[0]} item pair(s) correlating above "
                    f"{reference.critval}; at least 3 are needed"
                )
            if distance_ref is not None:
                d_cols = [reference.items.index(i) for i in distance_ref.items]
                d_means, d_cov, d_inv = distance_ref.arrays
            for start in range(0, n, _BLOCK):  # pass 2: the indices that need the reference
                sl = slice(start, min(n, start + _BLOCK))
                x = np.array(values[sl], dtype=np.float64)[:, cols]
                x[~scored[sl]] = np.nan
                if distance_ref is not None:
                    self.mahalanobis_d2[sl], self.mahalanobis_p[sl] = mahalanobis_d2(
                        x[:, d_cols], d_means, d_cov, d_inv
                    )
                if pairs.shape[0] >= 3:
                    self.psychsyn[sl] = psychsyn(x, pairs)
        validity = [j for j, s in enumerate(q.scales) if s.kind == "validity"]
        self.impression = {q.scale_ids[j]: pomp[:, j] for j in validity}
        self.scored = scored
        self._q = q

    def indices(self, row: int) -> dict[str, float | None]:
        def f(a: Array) -> float | None:
            v = float(a[row])
            return v if math.isfinite(v) else None

        out: dict[str, float | None] = {
            "longstring": f(self.longstring),
            "longstring_avg": f(self.longstring_avg),
            "irv": f(self.irv),
            "mahalanobis_d2": f(self.mahalanobis_d2),
            "mahalanobis_p": f(self.mahalanobis_p),
            "even_odd": f(self.even_odd),
            "psychsyn": f(self.psychsyn),
            "attention_failures": f(self.attention_failures),
            "seconds_per_item": f(self.seconds_per_item),
        }
        for sid, arr in self.impression.items():
            out[f"{sid}_pomp"] = f(arr)
        return out

    def _flagged(self, names: Sequence[str]) -> NDArray[np.bool_]:
        """Rows flagged by any of the named indices (computed so far)."""
        st = self.settings
        limits: dict[str, tuple[Array, float, bool]] = {  # values, threshold, above?
            "longstring": (self.longstring, self.longstring_max, True),
            "irv": (self.irv, self.irv_min, False),
            "attention_failures": (self.attention_failures, st.attention_failures_max, True),
            "seconds_per_item": (self.seconds_per_item, st.seconds_per_item_min, False),
        }
        out = np.zeros(self.longstring.shape[0], dtype=bool)
        with np.errstate(invalid="ignore"):
            for name in names:
                values, threshold, above = limits[name]
                out |= values > threshold if above else values < threshold
        return out

    def flag_matrix(self) -> dict[str, NDArray[np.bool_]]:
        """Per index, which rows it flags (NaN never flags)."""
        return self._flag_matrix

    @functools.cached_property
    def _flag_matrix(self) -> dict[str, NDArray[np.bool_]]:
        st = self.settings
        with np.errstate(invalid="ignore"):
            out = {
                "longstring": self.longstring > self.longstring_max,
                "irv": self.irv < self.irv_min,
                "mahalanobis_d2": self.mahalanobis_p < st.mahalanobis_p,
                "even_odd": self.even_odd < st.even_odd_min,
                "psychsyn": self.psychsyn < st.psychsyn_min,
                "attention_failures": self.attention_failures > st.attention_failures_max,
                "seconds_per_item": self.seconds_per_item < st.seconds_per_item_min,
            }
            for sid, arr in self.impression.items():
                out[f"{sid}_pomp"] = arr >= st.impression_pomp_max
        return out

    @functools.cached_property
    def valid(self) -> NDArray[np.bool_]:
        """True where no index flags the row."""
        flagged = np.zeros(self.scored.shape[0], dtype=bool)
        for m in self.flag_matrix().values():
            flagged |= m
        return ~flagged

    def flags(
        self, row: int, matrix: dict[str, NDArray[np.bool_]] | None = None
    ) -> list[QualityFlag]:
        """The flags of one row, each with its value, threshold and a plain reason."""
        st = self.settings
        matrix = matrix if matrix is not None else self.flag_matrix()
        idx = self.indices(row)
        out: list[QualityFlag] = []
        for name, hit in matrix.items():
            if not hit[row]:
                continue
            value = idx["mahalanobis_p" if name == "mahalanobis_d2" else name]
            threshold, reason = self._explain(name, value, st)
            out.append(QualityFlag(index=name, value=value, threshold=threshold, reason=reason))
        return out

    def _explain(self, name: str, value: float | None, st: QualitySettings) -> tuple[float, str]:
        v = "?" if value is None else f"{value:.3g}"
        if name == "longstring":
            return self.longstring_max, (
                f"gave the same answer {v} times in a row (more than "
                f"{self.longstring_max:.0f}): possible straight-lining"
            )
        if name == "irv":
            return self.irv_min, (
                f"answers barely vary (SD {v}, below {self.irv_min:.3g}): possible straight-lining"
            )
        if name == "mahalanobis_d2":
            return st.mahalanobis_p, (
                f"the answer pattern is very unusual for the reference sample (p = {v} < "
                f"{st.mahalanobis_p}): possible random or patterned responding"
            )
        if name == "even_odd":
            return st.even_odd_min, (
                f"answers to items of the same scale disagree (even-odd consistency {v}, "
                f"below {st.even_odd_min}): possible random responding"
            )
        if name == "psychsyn":
            return st.psychsyn_min, (
                f"items most people answer alike were answered differently (r = {v}, below "
                f"{st.psychsyn_min}): possible random responding"
            )
        if name == "attention_failures":
            return float(st.attention_failures_max), (
                f"failed {v} attention/infrequency item(s): answers may not have been read"
            )
        if name == "seconds_per_item":
            return st.seconds_per_item_min, (
                f"{v} seconds per item, under {st.seconds_per_item_min}: too fast to read the items"
            )
        return st.impression_pomp_max, (
            f"{name.removesuffix('_pomp')} score {v} (POMP) at or above "
            f"{st.impression_pomp_max}: describes implausibly perfect conduct; other scores "
            "may be inflated"
        )
