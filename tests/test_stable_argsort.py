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


def test_nan_of_either_sign_sorts_last_in_row_order() -> None:
    # numpy's stable argsort puts every NaN last, in row order, whatever its sign bit;
    # the float32 bit pattern of a NaN with the sign bit set would sort it first
    rng = np.random.default_rng(2)
    x = rng.normal(size=70_000)
    nan_rows = [3, 10, 500, 69_999]
    x[nan_rows] = [-np.nan, np.nan, -np.nan, np.nan]
    assert np.signbit(x[3])
    assert not np.signbit(x[10])
    order = stable_argsort(x)
    assert order[-4:].tolist() == nan_rows
    assert np.array_equal(order, np.argsort(x, kind="stable"))


def test_radix_digits_beyond_the_low_bits() -> None:
    # keys that differ only in the high 16 bits of their float32 pattern, or only in
    # the low 16, both orders needed for the two-digit radix sort
    rng = np.random.default_rng(3)
    high = rng.integers(0x3F80, 0x4080, 80_000).astype(np.uint32) << np.uint32(16)
    low = rng.integers(0, 2**16, 80_000).astype(np.uint32)
    x = (high | low).view(np.float32).astype(np.float64)  # finite values in [1, 4)
    x[::7] = -x[::7]
    assert np.array_equal(stable_argsort(x), np.argsort(x, kind="stable"))
