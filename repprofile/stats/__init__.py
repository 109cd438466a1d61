"""Statistics: arrays in, numbers out (public).

The building blocks behind :func:`repprofile.score`, :func:`repprofile.reliability` and
the response-quality checks, each with its formula, source and R equivalent in its
docstring, for anyone who wants the numbers without the questionnaire machinery::

    from repprofile.stats import cronbach_alpha, omega_total, longstring
"""

from repprofile.stats._moments import PairwiseMoments, pairwise_moments

__all__ = ["PairwiseMoments", "pairwise_moments"]
