"""The fast ranking sort is exactly numpy's stable argsort (the ranking contract)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.typing import NDArray

from repprofile.stats import stable_argsort

FLOATS = st.one_of(
    st.floats(allow_nan=False, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 1.0 + 2**-40, 1e-45, 3.4e38, 3.5e38, np.inf, -np.inf]),
)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.integers(65536, 70000), elements=FLOATS))
def test_equals_numpy_stable_argsort(values: NDArray[np.float64]) -> None:
    assert np.array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


@pytest.mark.parametrize("seed", [0, 1])
def test_many_near_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # values closer together than float32 can tell apart, and exact ties
    x = np.asarray(1.0 + rng.integers(0, 50, 100_000) * 2.0**-40, dtype=np.float64)
    assert np.array_equal(stable_argsort(x), np.argsort(x, kind="stable"))
