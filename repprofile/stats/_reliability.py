"""Reliability coefficients of one scale from its item covariance or correlation matrix.

Each function takes the matrix of one scale's (keyed) items and returns a number, as
R psych computes it: ``alpha``, ``std.alpha``, ``average_r``, ``G6`` (Guttman's lambda
6), the alpha standard error, Feldt's interval, the one-factor minres solution and
omega total. :func:`repprofile.reliability` applies them to every scale of a
questionnaire with item statistics; these are the bare statistics.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "alpha_se",
    "average_r",
    "cov2cor",
    "cronbach_alpha",
    "feldt_ci",
    "guttman_lambda6",
    "minres_one_factor",
    "omega_total",
    "smc",
    "standardized_alpha",
]

Matrix = NDArray[np.float64]


def cov2cor(c: Matrix) -> Matrix:
    """Correlation matrix from a covariance matrix, as R's ``cov2cor``.

    Notes
    -----
    :math:`r_{ij} = c_{ij} / \\sqrt{c_{ii} c_{jj}}`. With pairwise covariances this is
    what ``psych::alpha`` uses (SDs from all answered rows of each item), which differs
    slightly from ``cor(x, use = "pairwise")`` when answers are missing.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero or negative variance: NaN
        d = np.sqrt(np.diag(c))
        r: Matrix = c / np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return r


def cronbach_alpha(c: Matrix) -> float:
    """Cronbach's (raw) alpha of a keyed covariance matrix.

    Notes
    -----
    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{1'C1}\\right)`
    (Cronbach 1951), psych's ``raw_alpha``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika*, 16(3), 297-334. https://doi.org/10.1007/BF02310555

    Examples
    --------
    R: ``psych::alpha(x, use = "pairwise")$total$raw_alpha``.
    """
    k = c.shape[0]
    total = c.sum()
    if total == 0:
        return math.nan
    return float((1.0 - np.trace(c) / total) * k / (k - 1))


def standardized_alpha(r: Matrix) -> float:
    """Standardized alpha of a correlation matrix, psych's ``std.alpha``.

    Notes
    -----
    :math:`\\alpha_s = \\frac{k}{k-1}\\left(1 - \\frac{k}{1'R1}\\right)` (Cronbach 1951).
    """
    k = r.shape[0]
    total = r.sum()
    return float((1.0 - k / total) * k / (k - 1)) if total != 0 else math.nan


def average_r(r: Matrix) -> float:
    """Mean off-diagonal correlation, psych's ``average_r``: :math:`(1'R1 - k)/(k(k-1))`."""
    k = r.shape[0]
    return float((r.sum() - k) / (k * (k - 1)))


def smc(r: Matrix) -> NDArray[np.float64]:
    """Squared multiple correlations of each variable on the others, as ``psych::smc``.

    Notes
    -----
    :math:`\\mathrm{smc}_i = 1 - 1/(R^{-1})_{ii}`, with R's pseudo-inverse (singular
    values below :math:`\\sqrt{\\epsilon} d_1` dropped, as psych's ``Pinv``), then
    clipped to [0, 1] as psych does.
    """
    inv = np.linalg.pinv(r, rcond=math.sqrt(np.finfo(float).eps), hermitian=True)
    out: NDArray[np.float64] = 1.0 - 1.0 / np.diag(inv)
    return np.clip(out, 0.0, 1.0)


def guttman_lambda6(r: Matrix) -> float:
    """Guttman's lambda 6 from squared multiple correlations, psych ``alpha``'s ``G6(smc)``.

    Notes
    -----
    :math:`\\lambda_6 = 1 - \\frac{k - \\sum_i \\mathrm{smc}_i}{1'R1}`, with the SMCs
    from the scale's own items (Guttman 1945).

    References
    ----------
    Guttman, L. (1945). A basis for analyzing test-retest reliability.
    *Psychometrika*, 10(4), 255-282. https://doi.org/10.1007/BF02288892
    """
    k = r.shape[0]
    total = r.sum()
    return float(1.0 - (k - smc(r).sum()) / total) if total != 0 else math.nan


def alpha_se(c: Matrix, n_obs: int) -> float:
    """Asymptotic standard error of alpha (Duhachek & Iacobucci 2004), psych's ``ase``.

    Notes
    -----
    .. math::

        Q = \\frac{2k^2}{(k-1)^2 (1'C1)^3}\\left[1'C1\\,(\\operatorname{tr} C^2 +
        (\\operatorname{tr} C)^2) - 2 \\operatorname{tr} C \\; 1'C^21\\right],
        \\qquad \\mathrm{ase} = \\sqrt{Q / n}

    with ``n`` the number of respondents passed in (psych counts rows with missing
    answers too).

    References
    ----------
    Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE): An accurate and
    precise confidence interval estimate. *Journal of Applied Psychology*, 89(5),
    792-808. https://doi.org/10.1037/0021-9010.89.5.792
    """
    k = c.shape[0]
    s = c.sum()
    tr = np.trace(c)
    cc = c @ c
    q = (2 * k**2 / ((k - 1) ** 2 * s**3)) * (s * (np.trace(cc) + tr**2) - 2 * tr * cc.sum())
    return float(math.sqrt(q / n_obs)) if q >= 0 else math.nan


def feldt_ci(alpha: float, n_obs: int, n_items: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt (1965) confidence interval for alpha, as ``psych::alpha.ci``.

    Notes
    -----
    With :math:`F_p` the quantile of an F distribution with :math:`n-1` and
    :math:`(n-1)(k-1)` degrees of freedom and :math:`a = 1 - \\text{level}`:
    :math:`[1 - (1-\\alpha) F_{1-a/2},\\; 1 - (1-\\alpha) F_{a/2}]`.

    References
    ----------
    Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson
    reliability coefficient twenty. *Psychometrika*, 30(3), 357-370.
    https://doi.org/10.1007/BF02289499
    """
    from scipy.special import fdtri  # quantile of the F distribution

    d1 = n_obs - 1
    d2 = (n_obs - 1) * (n_items - 1)
    a = 1.0 - level
    lo = 1.0 - (1.0 - alpha) * float(fdtri(d1, d2, 1.0 - a / 2.0))
    hi = 1.0 - (1.0 - alpha) * float(fdtri(d1, d2, a / 2.0))
    return lo, hi


def minres_one_factor(r: Matrix) -> NDArray[np.float64]:
    """Loadings of a one-factor minimum-residual (minres) solution, as ``psych::fa``.

    Notes
    -----
    Minimises the sum of squared off-diagonal residuals
    :math:`\\sum_{i<j} (r_{ij} - \\lambda_i \\lambda_j)^2` over uniquenesses
    :math:`\\psi \\in [0.005, 1]` (the loadings being the first principal axis of
    :math:`R - \\operatorname{diag}(\\psi)`), with L-BFGS-B from :math:`\\psi = 1 -
    \\mathrm{smc}` and the analytic gradient, as psych's ``fac`` (Harman & Jones 1966;
    Revelle 2022), but to a tighter tolerance. The sign makes the loadings sum >= 0.

    References
    ----------
    Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals
    (minres). *Psychometrika*, 31(3), 351-368. https://doi.org/10.1007/BF02289468
    """
    from scipy.optimize import minimize

    k = r.shape[0]
    tri = np.tril_indices(k, -1)

    def loadings(psi: NDArray[np.float64]) -> NDArray[np.float64]:
        s = r.copy()
        np.fill_diagonal(s, 1.0 - psi)
        vals, vecs = np.linalg.eigh(s)
        return np.asarray(vecs[:, -1] * math.sqrt(max(vals[-1], 0.0)))

    def fun(psi: NDArray[np.float64]) -> float:
        lam = loadings(psi)
        res = (r - np.outer(lam, lam))[tri]
        return float(res @ res)

    def grad(psi: NDArray[np.float64]) -> NDArray[np.float64]:
        lam = loadings(psi)
        return np.asarray(lam * lam + psi - np.diag(r))

    start = 1.0 - smc(r)
    fit = minimize(
        fun,
        np.clip(start, 0.005, 1.0),
        jac=grad,
        method="L-BFGS-B",
        bounds=[(0.005, 1.0)] * k,
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    lam = loadings(fit.x)
    return -lam if lam.sum() < 0 else lam


def omega_total(r: Matrix, loadings: NDArray[np.float64] | None = None) -> float:
    """McDonald's omega total with psych's definition (one-factor minres).

    Notes
    -----
    :math:`\\omega_t = (1'R1 - \\sum_i u_i^2) / 1'R1` with :math:`u_i^2 = 1 -
    \\lambda_i^2` the uniquenesses of the one-factor minres solution of the pairwise
    correlation matrix R of the keyed items (McDonald 1999; psych ``omega(nfactors =
    1)$omega.tot``, which uses the observed 1'R1 as denominator).

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Lawrence Erlbaum.
    https://doi.org/10.4324/9781410601087
    """
    lam = minres_one_factor(r) if loadings is None else loadings
    vt = r.sum()
    return float((vt - (1.0 - lam * lam).sum()) / vt) if vt != 0 else math.nan
