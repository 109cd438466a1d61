"""A stable descending sort key for rankings (ties keep input order)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["stable_argsort"]

Array = NDArray[np.float64]


def stable_argsort(key: Array) -> NDArray[np.intp]:
    """``np.argsort(key, kind="stable")``, about twice as fast for large arrays.

    Each value's float32 rounding (monotone, so it can merge ties but never reorder) is
    packed with the row number into one uint64 and sorted with numpy's SIMD integer
    sort; runs that tie after rounding are then re-sorted by the exact value and the row
    number, so the result is identical to the stable argsort.
    """
    n = key.size
    if n < 65536 or n >= 2**32:
        out: NDArray[np.intp] = np.argsort(key, kind="stable")
        return out
    with np.errstate(over="ignore"):  # beyond float32 range: +-inf, still monotone
        bits = (key + 0.0).astype(np.float32).view(np.uint32)  # + 0.0: -0.0 becomes 0.0
    sortable = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(0x80000000))
    packed = (sortable.astype(np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64)
    packed.sort()
    idx = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
    high = packed >> np.uint64(32)
    tie = high[1:] == high[:-1]
    # Exact ties are already in row order; only runs whose float64 values differ
    # (merged by the rounding) need re-sorting.
    in_order = key[idx]
    merged = tie & (in_order[1:] != in_order[:-1])
    if merged.any():
        run = np.cumsum(np.concatenate([[True], ~tie]))  # run number per sorted position
        bad_runs = np.unique(run[1:][merged])
        pos = np.flatnonzero(np.isin(run, bad_runs))
        sub = idx[pos]
        idx[pos] = sub[np.lexsort((sub, key[sub], run[pos]))]
    return idx
