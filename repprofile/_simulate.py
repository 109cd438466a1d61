"""Simulated respondents, for the demo sample, tests and benchmarks. Never real people.

The generating model is a simple graded-response sketch: each candidate has one latent
trait per scale, drawn from a multivariate normal with a common correlation; an answer
is ``round(centre + loading * keyed * trait + noise)`` clipped to the response scale.
It is deterministic for a given seed (numpy's PCG64 generator).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._questionnaire import Questionnaire

__all__ = ["simulate_answers"]


def simulate_answers(
    questionnaire: Questionnaire,
    n: int,
    *,
    seed: int = 0,
    loading: float = 1.0,
    noise: float = 0.8,
    trait_correlation: float = 0.1,
    missing: float = 0.0,
    dtype: type[np.floating[Any]] = np.float64,
) -> tuple[NDArray[np.floating[Any]], NDArray[np.float64]]:
    """Simulate answers (n x items, NaN for missing) and the latent traits (n x scales)."""
    q = questionnaire
    rng = np.random.default_rng(seed)
    s = len(q.scales)
    cov = np.full((s, s), trait_correlation) + np.eye(s) * (1.0 - trait_correlation)
    traits = rng.multivariate_normal(np.zeros(s), cov, size=n, method="cholesky")
    lo, hi = q.response_scale.min, q.response_scale.max
    centre = (lo + hi) / 2.0
    signed = q.keys.sum(axis=1)  # +1 / -1 per item
    y = centre + loading * traits[:, q.item_scale_index] * signed
    y += rng.normal(0.0, noise, size=y.shape)
    answers = np.ascontiguousarray(np.clip(np.rint(y), lo, hi), dtype=dtype)
    if missing > 0:
        answers[rng.random(answers.shape) < missing] = np.nan
    return answers, traits
