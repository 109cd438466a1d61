"""Careless-responding indices on a matrix of answers (rows: respondents).

Definitions follow the R package careless 1.2.x (Yentes & Wilhelm 2023) so that
results can be compared with it; each function documents the definition and where ours
differs in presentation (even-odd is reported as a consistency, higher = more
consistent). Everything is vectorised over respondents; missing answers are NaN.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MahalanobisReference",
    "even_odd",
    "irv",
    "longstring",
    "mahalanobis_d2",
    "mahalanobis_p",
    "psychsyn",
    "synonym_pairs",
]

Array = NDArray[np.float64]
MahalanobisReference = Literal["norms", "batch", "chisq"]


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
    missing = np.isnan(x)
    n = x.shape[1] - missing.sum(axis=1)
    # x's dtype and memory order are kept (as np.where(ok, x, 0.0) keeps them): the
    # row sums' rounding follows both
    z = np.array(x, dtype=np.result_type(x, 0.0))
    np.copyto(z, 0.0, where=missing)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=1) / n
        dev = x - mean[:, None]
        np.copyto(dev, 0.0, where=missing)
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
    as many degrees of freedom as items (Meade & Craig 2012), which holds only when the
    reference sample is very large relative to the number of items; with a reference of
    a few hundred people use :func:`mahalanobis_p` (what :func:`repprofile.score` does).
    Rows with no answer: NaN.

    References
    ----------
    Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
    *Psychological Methods*, 17(3), 437-455. https://doi.org/10.1037/a0028085
    """
    from scipy.special import chdtrc  # chi-square survival function

    inv = np.linalg.inv(cov) if inverse is None else inverse  # pass it to reuse it
    d2 = squared_distances(x, means, np.asarray(inv, dtype=np.float64))
    p: Array = chdtrc(x.shape[1], d2)
    return d2, p


def squared_distances(x: Array, means: Array, inverse: Array) -> Array:
    """:math:`D^2` of :func:`mahalanobis_d2` (its formula and reference) without the
    p-value: ``inverse`` is the inverse of the reference covariance matrix."""
    d = x - means
    missing = np.isnan(d)
    np.copyto(d, 0.0, where=missing)  # in place, whatever the memory order
    # One row goes through BLAS's matrix-vector path, whose last bit can differ from
    # the matrix-matrix path every longer block takes: a single row is multiplied as
    # the first of two, so a row's D^2 does not depend on the rows around it.
    prod = (d @ inverse) if d.shape[0] != 1 else (np.vstack([d, d]) @ inverse)[:1]
    # prod is in C order; d in x's (a column selection gives Fortran order). The same
    # products, read in one memory order, are several times faster to multiply.
    d2: Array = np.multiply(prod, np.ascontiguousarray(d)).sum(axis=1)
    d2[missing.all(axis=1)] = np.nan
    return d2


def mahalanobis_p(d2: ArrayLike, p: int, n: int | None, reference: MahalanobisReference) -> Array:
    """The p-value (upper tail) of squared Mahalanobis distances under the reference
    distribution the data support.

    Parameters
    ----------
    d2 : array_like
        :math:`D^2 = (x - \\bar x)' S^{-1} (x - \\bar x)`, with :math:`\\bar x` and
        :math:`S` (divisor :math:`n - 1`) estimated from a reference sample of ``n``
        people (:func:`mahalanobis_d2`). NaN gives NaN.
    p : int
        Number of variables (items).
    n : int or None
        Size of the reference sample the mean and covariance were estimated from
        (unused, may be None, for ``"chisq"``).
    reference : {"norms", "batch", "chisq"}
        How the person relates to the reference sample:

        ``"norms"``
            A **new** observation, not part of the reference sample (a candidate scored
            against a norm table). Hotelling's :math:`T^2` for a new observation:

            .. math:: D^2 \\, \\frac{n (n - p)}{(n^2 - 1)\\, p} \\sim F(p,\\ n - p),

            exact for multivariate normal data (Tracy, Young & Mason 1992).
            Needs :math:`n > p`.
        ``"batch"``
            A **member** of the reference sample (the batch is its own reference, so the
            person's answers are in the mean and covariance):

            .. math:: D^2 \\, \\frac{n}{(n - 1)^2} \\sim
                \\mathrm{Beta}\\left(\\frac{p}{2},\\ \\frac{n - p - 1}{2}\\right),

            exact for multivariate normal data (Wilks 1962; Gnanadesikan & Kettenring
            1972); :math:`D^2` cannot exceed :math:`(n - 1)^2 / n`. Needs
            :math:`n > p + 1`.
        ``"chisq"``
            :math:`D^2 \\sim \\chi^2_p`, the limit of both as :math:`n \\to \\infty`
            (Meade & Craig 2012). For comparison only: with :math:`n` a few times
            :math:`p` it is far too liberal for a new observation (its tail is lighter
            than the F's) and too conservative for a member of the sample.

    Returns
    -------
    ndarray of float
        :math:`P(D^2 \\ge d^2)` under the chosen distribution, the shape of ``d2``.

    Raises
    ------
    ValueError
        When ``n`` is too small for the distribution (``"norms"``: :math:`n \\le p`;
        ``"batch"``: :math:`n \\le p + 1`), ``p < 1`` or ``reference`` is unknown.

    Notes
    -----
    With missing answers (deviation 0, as :func:`mahalanobis_d2`) and pairwise
    covariances the distributions are approximations; with whole-number answers on a
    response scale (not normal) too: ``benchmarks/mahalanobis_flag_rate.py`` checks the
    flag rate of simulated honest respondents against its nominal alpha.

    References
    ----------
    Tracy, N. D., Young, J. C., & Mason, R. L. (1992). Multivariate control charts for
    individual observations. *Journal of Quality Technology*, 24(2), 88-95.
    https://doi.org/10.1080/00224065.1992.11979381

    Gnanadesikan, R., & Kettenring, J. R. (1972). Robust estimates, residuals, and
    outlier detection with multiresponse data. *Biometrics*, 28(1), 81-124.
    https://doi.org/10.2307/2528963

    Wilks, S. S. (1962). *Mathematical Statistics*. New York: Wiley.
    """
    from scipy.special import betainc, chdtrc, fdtrc

    if p < 1:
        raise ValueError(f"mahalanobis_p: expected p >= 1 variables, got {p}")
    x = np.asarray(d2, dtype=np.float64)
    if reference == "chisq":
        out: Array = chdtrc(p, x)
        return out
    if reference not in ("norms", "batch"):
        raise ValueError(
            f"mahalanobis_p: expected reference 'norms', 'batch' or 'chisq', got {reference!r}"
        )
    least = p + 1 if reference == "norms" else p + 2
    if n is None or n < least:
        raise ValueError(
            f"mahalanobis_p: reference={reference!r} needs a reference sample of more than "
            f"{least - 1} people for {p} variables, got n = {n}"
        )
    if reference == "norms":
        out = fdtrc(p, n - p, x * (n * (n - p) / ((n * n - 1.0) * p)))
        return out
    # Upper tail of Beta(a, b) at u is I_{1-u}(b, a) (regularized incomplete beta), which
    # keeps its precision for small p-values. u is clipped to [0, 1]: pairwise
    # covariances (missing answers) can push D^2 past its bound (n - 1)^2 / n.
    u = np.clip(x * (n / (n - 1.0) ** 2), 0.0, 1.0)
    out = betainc((n - p - 1) / 2.0, p / 2.0, 1.0 - u)
    return out


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
    # min + max - x for reversed items, as (-x) + (min + max), which IEEE rounds as the
    # subtraction; x + (-0.0) is x itself, signed zeros included
    # (in the dtype ``reverse_total - x`` has: float32 answers stay float32)
    reverse = np.asarray(signs) < 0
    dtype = np.result_type(x, reverse_total)
    keyed = np.multiply(x, np.where(reverse, -1.0, 1.0).astype(dtype), dtype=dtype)
    keyed += np.where(reverse, reverse_total, -0.0).astype(dtype)
    ok = ~np.isnan(keyed)
    filled = keyed
    np.copyto(filled, 0.0, where=~ok)
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
