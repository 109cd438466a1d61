"""Agreement among raters: intraclass correlations and within-group agreement (rwg).

:func:`icc` computes the six intraclass correlations of Shrout & Fleiss (1979) exactly as
R psych ``ICC()`` reports them; :func:`rwg` the within-group agreement index of James,
Demaree & Wolf (1984) against a uniform null. :func:`repprofile.build_sjt_key` applies
both to subject-matter experts' ratings of situational-judgment options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

__all__ = ["ICC_TYPES", "IccRow", "IccTable", "icc", "rwg"]

ICC_TYPES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
"""The six intraclass correlations, in psych's order."""


@dataclass(frozen=True)
class IccRow:
    """One intraclass correlation with its F test and confidence bounds (a row of psych's
    ``ICC()$results``)."""

    icc: float
    f: float
    df1: float
    df2: float
    p: float
    lower: float
    upper: float


@dataclass(frozen=True)
class IccTable:
    """The six intraclass correlations of a targets x raters matrix and the mean squares
    they come from (``n_targets`` targets, ``n_raters`` raters, bounds at ``level``)."""

    rows: dict[str, IccRow]
    msb: float
    msw: float
    msj: float
    mse: float
    n_targets: int
    n_raters: int
    level: float


def icc(x: ArrayLike, *, alpha: float = 0.05) -> IccTable:
    """The six Shrout & Fleiss (1979) intraclass correlations, as R psych ``ICC()``.

    Parameters
    ----------
    x : array_like, shape (n, k)
        n targets (rows; here: SJT response options) rated by k raters (columns; here:
        experts). Complete: no NaN (leave out the targets some rater skipped).
    alpha : float
        The bounds are the two-sided :math:`1 - \\alpha` interval (default 95%), from the
        :math:`1 - \\alpha/2` quantiles of F as psych 2.2.9 computes them.

    Returns
    -------
    IccTable
        ``rows`` keyed ICC1, ICC2, ICC3, ICC1k, ICC2k, ICC3k (psych's ``type`` column),
        each with icc, F, df1, df2, p, lower and upper bound.

    Notes
    -----
    Two-way ANOVA of the ratings without replication (targets x raters): with grand
    mean :math:`\\bar x`, target means :math:`\\bar x_{i\\cdot}` and rater means
    :math:`\\bar x_{\\cdot j}`,

    * :math:`MSB = k \\sum_i (\\bar x_{i\\cdot} - \\bar x)^2 / (n - 1)` (between targets),
    * :math:`MSJ = n \\sum_j (\\bar x_{\\cdot j} - \\bar x)^2 / (k - 1)` (between raters),
    * :math:`MSE = SS_{res} / ((n - 1)(k - 1))` (residual),
    * :math:`MSW = (SS_J + SS_{res}) / (n (k - 1))` (within targets).

    Then :math:`ICC1 = (MSB - MSW) / (MSB + (k-1) MSW)`,
    :math:`ICC2 = (MSB - MSE) / (MSB + (k-1) MSE + k (MSJ - MSE)/n)`,
    :math:`ICC3 = (MSB - MSE) / (MSB + (k-1) MSE)`, :math:`ICC1k = (MSB - MSW)/MSB`,
    :math:`ICC2k = (MSB - MSE)/(MSB + (MSJ - MSE)/n)`, :math:`ICC3k = (MSB - MSE)/MSB`.
    ICC1 and ICC1k are tested with :math:`F = MSB/MSW` on :math:`(n-1, n(k-1))` df, the
    others with :math:`F = MSB/MSE` on :math:`(n-1, (n-1)(k-1))` df; p is the upper
    tail. Bounds of ICC1/ICC3 (and their k forms): :math:`F_L = F / F_{1-\\alpha/2}(df_1,
    df_2)`, :math:`F_U = F \\cdot F_{1-\\alpha/2}(df_2, df_1)`, then
    :math:`(F_L - 1)/(F_L + k - 1)` (single) or :math:`1 - 1/F_L` (average). ICC2 uses
    Satterthwaite's approximate df :math:`v` (Shrout & Fleiss 1979, eq. for case 2):
    :math:`L = n(MSB - F^* MSE) / (F^* (k MSJ + (kn - k - n) MSE) + n MSB)` with
    :math:`F^* = F_{1-\\alpha/2}(n-1, v)`, the upper bound likewise with
    :math:`F_{1-\\alpha/2}(v, n-1)`; ICC2k's bounds are the Spearman-Brown
    :math:`kL/(1 + (k-1)L)` of ICC2's.

    psych's default ``lmer = TRUE`` estimates the variance components with lme4 and
    converts them back to these mean squares; on a complete matrix this is the same
    as the ANOVA (``lmer = FALSE``) unless a variance component estimate is negative
    (e.g. MSJ < MSE), where REML stops at zero, up to lme4's optimiser tolerance (about
    4e-5 on the test tables). This function is the ANOVA form, equal to psych's
    ``lmer = FALSE`` to 1e-13 on them.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: Uses in assessing
    rater reliability. *Psychological Bulletin*, 86(2), 420-428.
    https://doi.org/10.1037/0033-2909.86.2.420

    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass
    correlation coefficients. *Psychological Methods*, 1(1), 30-46.
    https://doi.org/10.1037/1082-989X.1.1.30

    Examples
    --------
    R: ``psych::ICC(x, lmer = FALSE)$results`` (psych 2.2.9).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(
            f"icc needs an (n targets x k raters) matrix with n, k >= 2, got {a.shape}"
        )
    if not np.isfinite(a).all():
        raise ValueError("icc needs a complete matrix; leave out the targets with missing ratings")
    n, k = a.shape
    grand = a.mean()
    row_means = a.mean(axis=1)
    col_means = a.mean(axis=0)
    ss_b = k * float(((row_means - grand) ** 2).sum())
    ss_j = n * float(((col_means - grand) ** 2).sum())
    ss_e = float(((a - row_means[:, None] - col_means[None, :] + grand) ** 2).sum())
    df_b, df_j, df_e = n - 1, k - 1, (n - 1) * (k - 1)
    msb, msj, mse = ss_b / df_b, ss_j / df_j, ss_e / df_e
    msw = (ss_j + ss_e) / (df_j + df_e)

    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = (msb - mse) / (msb + (k - 1) * mse)
        icc1k = (msb - msw) / msb
        icc2k = (msb - mse) / (msb + (msj - mse) / n)
        icc3k = (msb - mse) / msb
        f11 = _ratio(msb, msw)
        f21 = _ratio(msb, mse)
    df11n, df11d = n - 1, n * (k - 1)
    df21n, df21d = n - 1, (n - 1) * (k - 1)
    p11 = float(_st.f.sf(f11, df11n, df11d))
    p21 = float(_st.f.sf(f21, df21n, df21d))

    q = 1.0 - alpha / 2.0
    f1l = f11 / _st.f.ppf(q, df11n, df11d)
    f1u = f11 * _st.f.ppf(q, df11d, df11n)
    f3l = f21 / _st.f.ppf(q, df21n, df21d)
    f3u = f21 * _st.f.ppf(q, df21d, df21n)

    fj = _ratio(msj, mse)
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd if vd != 0 else math.nan
    f2u = _st.f.ppf(q, n - 1, v)
    f2l = _st.f.ppf(q, v, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
        l2k = l2 * k / (1 + l2 * (k - 1))
        u2k = u2 * k / (1 + u2 * (k - 1))

    def row(value: float, f: float, d1: int, d2: int, p: float, lo: float, hi: float) -> IccRow:
        return IccRow(float(value), float(f), float(d1), float(d2), p, float(lo), float(hi))

    rows = {
        "ICC1": row(
            icc1, f11, df11n, df11d, p11, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)
        ),
        "ICC2": row(icc2, f21, df21n, df21d, p21, l2, u2),
        "ICC3": row(
            icc3, f21, df21n, df21d, p21, (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)
        ),
        "ICC1k": row(icc1k, f11, df11n, df11d, p11, 1 - 1 / f1l, 1 - 1 / f1u),
        "ICC2k": row(icc2k, f21, df21n, df21d, p21, l2k, u2k),
        "ICC3k": row(icc3k, f21, df21n, df21d, p21, 1 - 1 / f3l, 1 - 1 / f3u),
    }
    return IccTable(rows, msb, msw, msj, mse, n, k, 1.0 - alpha)


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


def rwg(ratings: ArrayLike, n_categories: int) -> float:
    """Within-group agreement of raters on one target or a set of parallel items.

    Parameters
    ----------
    ratings : array_like, shape (n_raters,) or (n_raters, J)
        One rater per row; J the options of one SJT scenario (NaN: not rated).
    n_categories : int
        A, the number of rating-scale values (6 for a 1-6 scale).

    Returns
    -------
    float
        :math:`r_{wg}` for one column, :math:`r_{wg(J)}` for J columns; NaN when fewer
        than two raters rated any option.

    Notes
    -----
    Against the uniform (rectangular) null distribution of random responding on A
    categories, :math:`\\sigma^2_{EU} = (A^2 - 1)/12`. With :math:`\\bar s^2` the mean
    over the J options of the observed rating variance (unbiased, :math:`n - 1`
    denominator; options with fewer than two ratings left out),

    .. math::

        r_{wg(J)} = \\frac{J (1 - \\bar s^2 / \\sigma^2_{EU})}
                         {J (1 - \\bar s^2 / \\sigma^2_{EU}) + \\bar s^2 / \\sigma^2_{EU}}

    (James, Demaree & Wolf 1984, eq. 5), which for J = 1 is
    :math:`r_{wg} = 1 - s^2/\\sigma^2_{EU}`. When :math:`\\bar s^2 > \\sigma^2_{EU}`
    (more disagreement than random responding) the formula leaves the 0-1 range; the
    value is then set to 0, as is conventional (Lindell, Brandt & Whitney 1999;
    LeBreton & Senter 2008) and as R multilevel ``rwg.j`` does. The multi-item form
    treats a scenario's options as parallel indicators of one judgement, so it rises
    with J; read it beside the per-option SDs. Values of .70 and above are
    conventionally read as agreement (LeBreton & Senter 2008).

    References
    ----------
    James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group interrater
    reliability with and without response bias. *Journal of Applied Psychology*,
    69(1), 85-98. https://doi.org/10.1037/0021-9010.69.1.85

    Lindell, M. K., Brandt, C. J., & Whitney, D. J. (1999). A revised index of
    interrater agreement for multi-item ratings of a single target. *Applied
    Psychological Measurement*, 23(2), 127-135.
    https://doi.org/10.1177/01466219922031257

    LeBreton, J. M., & Senter, J. L. (2008). Answers to 20 questions about interrater
    reliability and interrater agreement. *Organizational Research Methods*, 11(4),
    815-852. https://doi.org/10.1177/1094428106296642

    Examples
    --------
    R: ``multilevel::rwg.j(x, grpid = rep(1, nrow(x)), ranvar = (A^2 - 1) / 12)``
    (``rwg`` for one column).
    """
    a = np.asarray(ratings, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"rwg needs a (raters x options) matrix, got shape {a.shape}")
    if n_categories < 2:
        raise ValueError(f"rwg needs at least 2 rating categories, got {n_categories}")
    counts = np.isfinite(a).sum(axis=0)
    usable = counts >= 2
    if not usable.any():
        return math.nan
    s2 = float(np.nanvar(a[:, usable], axis=0, ddof=1).mean())
    j = int(usable.sum())
    sigma2 = (n_categories**2 - 1) / 12.0
    ratio = s2 / sigma2
    if ratio >= 1.0:
        return 0.0
    return j * (1.0 - ratio) / (j * (1.0 - ratio) + ratio)
