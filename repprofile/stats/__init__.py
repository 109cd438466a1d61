"""Statistics: arrays in, numbers out (public).

The building blocks behind :func:`repprofile.score`, :func:`repprofile.reliability`,
the response-quality checks and the agreement of SJT key experts, each with its formula,
source and R equivalent in its docstring, for anyone who wants the numbers without the
questionnaire machinery::

    import numpy as np
    from repprofile.stats import cov2cor, cronbach_alpha, omega_total, longstring

    x = np.array([[1, 2, 2], [3, 3, 4], [4, 5, 4], [2, 2, 1]], dtype=float)
    c = np.cov(x, rowvar=False)
    cronbach_alpha(c)  # psych::alpha(x)$total$raw_alpha
    omega_total(cov2cor(c))  # psych::omega(x, nfactors = 1)$omega.tot

Missing answers are NaN in every function that takes answers. Matrices are those of one
scale's keyed items.
"""

from repprofile.stats._agreement import ICC_TYPES, IccRow, IccTable, icc, rwg
from repprofile.stats._careless import (
    even_odd,
    irv,
    longstring,
    mahalanobis_d2,
    mahalanobis_p,
    psychsyn,
    synonym_pairs,
)
from repprofile.stats._moments import PairwiseMoments, pairwise_moments
from repprofile.stats._ranking import stable_argsort
from repprofile.stats._reliability import (
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
from repprofile.stats._standard import percentile_rank, stanine, sten, t_score

__all__ = [
    "ICC_TYPES",
    "IccRow",
    "IccTable",
    "PairwiseMoments",
    "alpha_se",
    "average_r",
    "cov2cor",
    "cronbach_alpha",
    "even_odd",
    "feldt_ci",
    "guttman_lambda6",
    "icc",
    "irv",
    "longstring",
    "mahalanobis_d2",
    "mahalanobis_p",
    "minres_one_factor",
    "omega_total",
    "pairwise_moments",
    "percentile_rank",
    "psychsyn",
    "rwg",
    "smc",
    "stable_argsort",
    "standardized_alpha",
    "stanine",
    "sten",
    "synonym_pairs",
    "t_score",
]
