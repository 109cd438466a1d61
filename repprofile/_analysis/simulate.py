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

from repprofile._formats.questionnaire import Questionnaire

__all__ = ["simulate_answers", "simulate_batch", "trait_only"]


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
        expected = np.asarray(getattr(q.column_item(i), "expected", None), dtype=dtype)
        answers[:, i] = rng.choice(expected, size=n)
    if missing > 0:
        answers[rng.random(answers.shape) < missing] = np.nan
    return answers, traits


def simulate_batch(
    questionnaire: Questionnaire,
    n: int,
    *,
    missing: float = 0.02,
    dtype: type[np.floating[Any]] = np.float32,
    chunk: int = 100_000,
) -> NDArray[np.floating[Any]]:
    """A large batch of simulated answers, made in chunks (seed = chunk number) so that
    building it needs little more memory than the result (for benchmarks)."""
    out = np.empty((n, len(questionnaire.item_ids)), dtype=dtype)
    for i, start in enumerate(range(0, n, chunk)):
        stop = min(n, start + chunk)
        out[start:stop], _ = simulate_answers(
            questionnaire, stop - start, seed=i, missing=missing, dtype=dtype
        )
    return out


def trait_only(questionnaire: Questionnaire) -> Questionnaire:
    """The questionnaire less its validity scales and check items (for benchmarks that
    specify e.g. 70 items x 7 scales)."""
    data = questionnaire.model_dump()
    keep = {s["id"] for s in data["scales"] if s["kind"] == "trait"}
    data["scales"] = [s for s in data["scales"] if s["id"] in keep]
    data["items"] = [it for it in data["items"] if it["scale"] in keep]
    data["version"] = f"{questionnaire.version}-traits"
    return Questionnaire.model_validate(data)
