"""The faster response-quality arithmetic gives the same numbers, bit for bit.

Each reference below is the straightforward formula the index was first written with
(``np.where`` over every cell, row sums by numpy); the library's version must match it
exactly, whatever the dtype and memory order of the answers, for one row and for many,
with missing answers, signed zeros and fractional values.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from numpy.typing import NDArray

from repprofile._analysis import quality as quality_module
from repprofile.stats import even_odd, irv, mahalanobis_d2, pairwise_moments
from repprofile.stats._careless import _halves, _rowwise_pearson, squared_distances

Array = NDArray[np.float64]


def irv_reference(x: Array) -> Array:
    ok = ~np.isnan(x)
    n = ok.sum(axis=1)
    z = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=1) / n
        dev = np.where(ok, x - mean[:, None], 0.0)
        var = (dev * dev).sum(axis=1) / (n - 1)
    out: Array = np.sqrt(var)
    out[n < 2] = np.nan
    return out


def d2_reference(x: Array, means: Array, inv: Array) -> Array:
    d = x - means
    answered = ~np.isnan(d)
    d[~answered] = 0.0
    rows = [((d[i : i + 2] if i + 2 <= len(d) else d[i - 1 : i + 1]) @ inv) for i in range(len(d))]
    prod = np.vstack([r[0] if i + 2 <= len(d) else r[1] for i, r in enumerate(rows)])
    d2: Array = (prod * d).sum(axis=1)
    d2[~answered.any(axis=1)] = np.nan
    return d2


def even_odd_reference(x: Array, scale_index: NDArray[np.intp], signs: Array, rt: float) -> Array:
    even_items, odd_items = _halves(tuple(scale_index.tolist()))
    keyed = np.where(signs < 0, rt - x, x)
    ok = ~np.isnan(keyed)
    filled = np.where(ok, keyed, 0.0)
    answered = ok.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        even = (filled @ even_items) / (answered @ even_items)
        odd = (filled @ odd_items) / (answered @ odd_items)
        r = _rowwise_pearson(even, odd)
        sb: Array = 2.0 * r / (1.0 + r)
    sb[sb < -1.0] = -1.0
    return sb


def answers(seed: int, n: int, k: int, *, whole: bool) -> Array:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, (n, k)).astype(np.float64)
    if not whole:
        x += rng.choice([0.0, 0.25, 0.1, 1e-9], size=(n, k))
    x[rng.random((n, k)) < 0.1] = np.nan
    x[rng.random((n, k)) < 0.05] = -0.0
    x[0] = np.nan  # a row with no answer
    x[1, :] = 2.0  # no variance
    return x


LAYOUTS = ["C", "F"]


@pytest.mark.parametrize("order", LAYOUTS)
@pytest.mark.parametrize("whole", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_irv_bit_for_bit(order: Literal["C", "F"], whole: bool, dtype: type[np.floating]) -> None:
    x = np.asarray(answers(1, 300, 23, whole=whole), dtype=dtype, order=order)
    assert irv(x).tobytes() == irv_reference(x).tobytes()
    assert irv(x[5:6]).tobytes() == irv_reference(x[5:6]).tobytes()


@pytest.mark.parametrize("order", LAYOUTS)
@pytest.mark.parametrize("whole", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_even_odd_bit_for_bit(
    order: Literal["C", "F"], whole: bool, dtype: type[np.floating]
) -> None:
    x = np.asarray(answers(2, 300, 24, whole=whole), dtype=dtype, order=order)
    scale_index = np.repeat(np.arange(4), 6).astype(np.intp)
    signs = np.tile([1.0, -1.0, 1.0, 1.0, -1.0, 1.0], 4)
    got = even_odd(x, scale_index, signs, 4.0)
    want = even_odd_reference(x, scale_index, signs, 4.0)
    assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()
    assert np.isfinite(got).sum() > 200  # the comparison is not all NaN


@pytest.mark.parametrize("order", LAYOUTS)
@pytest.mark.parametrize("whole", [True, False])
def test_squared_distances_bit_for_bit(order: Literal["C", "F"], whole: bool) -> None:
    x = np.asarray(answers(3, 200, 12, whole=whole), order=order)
    rng = np.random.default_rng(4)
    a = rng.normal(size=(400, 12))
    cov = np.cov(a.T)
    inv = np.asarray(np.linalg.inv(cov), dtype=np.float64)
    means = a.mean(axis=0) + 2.0
    got = squared_distances(x, means, inv)
    assert got.tobytes() == d2_reference(x, means, inv).tobytes()
    assert np.isnan(got[0])  # no answer
    assert mahalanobis_d2(x, means, cov, inv)[0].tobytes() == got.tobytes()


def test_one_row_has_the_distance_it_has_among_others() -> None:
    # a single row takes the matrix-matrix path too, so its D^2 does not depend on
    # whether it is scored alone (one row in a partition) or with others
    x = answers(5, 64, 30, whole=False)
    rng = np.random.default_rng(6)
    a = rng.normal(size=(500, 30))
    inv = np.asarray(np.linalg.inv(np.cov(a.T)), dtype=np.float64)
    means = a.mean(axis=0)
    together = squared_distances(x, means, inv)
    alone = np.concatenate([squared_distances(x[i : i + 1], means, inv) for i in range(64)])
    assert alone.tobytes() == together.tobytes()


def test_co_missing_counts_of_the_moments() -> None:
    # N (pairwise answered counts) from the dense co-missing product, checked against
    # a count by hand over every pair of columns
    x = answers(7, 500, 9, whole=True)
    moments = pairwise_moments(iter([x[:260].copy(), x[260:].copy()]), 9, np.full(9, 2.0))
    ok = ~np.isnan(x)
    by_hand = np.array([[np.sum(ok[:, i] & ok[:, j]) for j in range(9)] for i in range(9)])
    assert np.array_equal(moments.N, by_hand)
    # and the same moments from functions that make the blocks
    made = pairwise_moments(
        iter([lambda: x[:260].copy(), lambda: x[260:].copy()]), 9, np.full(9, 2.0), threads=2
    )
    assert np.array_equal(made.N, moments.N)
    assert made.A.tobytes() == moments.A.tobytes()
    assert made.B.tobytes() == moments.B.tobytes()


@pytest.mark.parametrize("n", [1, 2, 1023, 1024, 1025, 1026, 2049, 5000])
def test_quality_blocks_cover_every_row_and_none_is_one_row(n: int) -> None:
    size = quality_module._BLOCK
    starts = quality_module._block_starts(n)
    blocks = [quality_module._block(s, n) for s in starts]
    rows = np.concatenate([np.arange(n)[b] for b in blocks])
    assert rows.tolist() == list(range(n))
    lengths = [b.stop - b.start for b in blocks]
    assert n == 1 or min(lengths) >= 2
    assert max(lengths) <= size + 1


@pytest.mark.parametrize("centre", [2.0, 2.5])
def test_whole_number_moments_in_float32_are_the_float64_ones(centre: float) -> None:
    # whole=True sums in float32; with whole-number answers (1-5 here, 1-4 for the
    # half-integer centre) every sum is exact, so both ways agree to the bit
    rng = np.random.default_rng(8)
    hi = 5 if centre == 2.0 else 4
    x = rng.integers(1, hi + 1, (3000, 11)).astype(np.float64)
    x[rng.random(x.shape) < 0.07] = np.nan
    x[:, 3] = np.nan  # a column nobody answered
    c = np.full(11, centre + 1.0)
    blocks = [x[i : i + 700] for i in range(0, 3000, 700)]
    plain = pairwise_moments(iter([b.copy() for b in blocks]), 11, c)
    fast = pairwise_moments(iter([b.astype(np.float32) for b in blocks]), 11, c, whole=True)
    for name in ("N", "A", "B", "Q"):
        assert getattr(fast, name).tobytes() == getattr(plain, name).tobytes(), name
    assert fast.n_rows == plain.n_rows == 3000
    # and B by hand for one pair: the sum of z_0 over rows where item 1 is answered
    ok = ~np.isnan(x[:, 0]) & ~np.isnan(x[:, 1])
    assert plain.B[0, 1] == np.sum(x[ok, 0] - c[0])
