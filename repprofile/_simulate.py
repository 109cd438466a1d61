"""Simulated respondents, for the demo sample, tests and benchmarks. Never real people.

The generating model is a simple graded-response sketch: each candidate has one latent
trait per scale, drawn from a multivariate normal with a common correlation; an answer
is ``round(centre + loading * keyed * trait + noise)`` clipped to the response scale.
Attention and infrequency items get one of their expected answers.
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
    # Trait scales centre on the midpoint; validity (impression-management) scales on the
    # lower quarter with a weaker loading: honest respondents rarely claim perfect conduct.
    validity = np.array([sc.kind == "validity" for sc in q.scales])
    centre = np.where(validity, lo + 0.25 * (hi - lo), (lo + hi) / 2.0)
    load = np.where(validity, 0.8 * loading, loading)
    scale_of = q.item_scale_index
    on_scale = scale_of >= 0
    col = np.where(on_scale, scale_of, 0)
    signed = q.keys.sum(axis=1)  # +1 / -1 per scored item, 0 for check items
    keyed = centre[col] + load[col] * traits[:, col] + rng.normal(0.0, noise, size=(n, signed.size))
    y = np.where(signed < 0, lo + hi - keyed, keyed)  # the answer as given, before keying
    answers = np.ascontiguousarray(np.clip(np.rint(y), lo, hi), dtype=dtype)
    for i in q.check_items:  # attentive respondents give an expected answer
        expected = np.asarray(q.items[i].expected, dtype=dtype)
        answers[:, i] = rng.choice(expected, size=n)
    if missing > 0:
        answers[rng.random(answers.shape) < missing] = np.nan
    return answers, traits
