"""Review 20: a row's Mahalanobis D^2 must not depend on the size of its batch, nor a
candidate's indices on the memory order of the answers array.

Batches of at most 1,025 rows (one quality block) used to be computed in the calling
thread with OpenBLAS multi-threaded, larger ones in threads with BLAS pinned to one
thread: on a machine with more than one core the product's last bit then differed for a
few rows (300 items). BLAS is now pinned either way. (On a one-core machine the first
test cannot fail; the second can anywhere.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import repprofile


def _questionnaire(path: Path) -> repprofile.Questionnaire:
    lines = [
        "id: review20",
        'version: "1.0.0"',
        "title: review20",
        "response_scale: {min: 1, max: 7}",
        "scales:",
    ]
    lines += [f"  - {{id: s{j}, name: S{j}}}" for j in range(3)]
    lines.append("items:")
    reversed_per_scale = (50, 0, 100)
    for j in range(3):
        for i in range(100):
            keyed = -1 if i < reversed_per_scale[j] else 1
            lines.append(f"  - {{id: i{j}_{i}, text: t, scale: s{j}, keyed: {keyed}}}")
    lines.append("  - {id: att, text: t, kind: attention_check, expected: [7]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return repprofile.load_questionnaire(str(path))


def _answers(rng: np.random.Generator, n: int, k: int) -> NDArray[np.float64]:
    factor = rng.normal(size=(n, 1))
    loading = rng.uniform(0.2, 0.9, size=(1, k))
    z = factor * loading + rng.normal(size=(n, k))
    x: NDArray[np.float64] = np.clip(np.rint((z + 2) / 4 * 6 + 1), 1, 7)
    x[:, -1] = 7  # the attention check passed
    return x


def test_d2_of_a_row_does_not_depend_on_the_batch_size(tmp_path: Path) -> None:
    q = _questionnaire(tmp_path / "review20.yaml")
    rng = np.random.default_rng(11)
    k = len(q.item_ids)
    _answers(rng, 5000, k)  # the draws the reproducer made first
    x = _answers(rng, 3100, k)
    norms = repprofile.build_norms(q, x[:1030], description="review 20")
    settings = {"reference_min": 1_000_000}  # always the norm table's reference
    small = repprofile.score(q, x[:1024], norms=norms, quality=settings).quality
    large = repprofile.score(q, x[:2048], norms=norms, quality=settings).quality
    assert small.reference_source == large.reference_source == "the norm table"
    a, b = small.mahalanobis_d2, large.mahalanobis_d2[:1024]
    assert a.tobytes() == b.tobytes(), np.flatnonzero(a != b)


def test_fortran_ordered_answers_give_the_c_ordered_results(tmp_path: Path) -> None:
    # row sums of fractions (irv, even-odd, D^2) round by memory order; the answers
    # are put in C order at the boundary, so the same answers give the same numbers
    q = _questionnaire(tmp_path / "review20.yaml")
    rng = np.random.default_rng(12)
    x = _answers(rng, 700, len(q.item_ids))
    x[rng.random(x.shape) < 0.03] = np.nan
    c = repprofile.score(q, np.ascontiguousarray(x)).quality
    f = repprofile.score(q, np.asfortranarray(x)).quality
    for name in ("irv", "even_odd", "longstring_avg", "mahalanobis_d2", "psychsyn"):
        a, b = getattr(c, name), getattr(f, name)
        assert a.tobytes() == b.tobytes(), name
    assert np.isfinite(c.irv).all()
