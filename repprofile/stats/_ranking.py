"""A stable descending sort key for rankings (ties keep input order)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["stable_argsort"]

Array = NDArray[np.float64]


def stable_argsort(key: Array) -> NDArray[np.intp]:
    """``np.argsort(key, kind="stable")``, about three times as fast for large arrays.

    Each value's float32 rounding (monotone, so it can merge ties but never reorder),
    as an unsigned integer that sorts in the same order, is sorted by an LSD radix sort
    of two 16-bit digits: numpy's stable argsort of 16-bit integers is a counting sort,
    so each pass is linear and ties keep the row order. Runs that tie after rounding
    are then re-sorted by the exact value and the row number, so the result is
    identical to the stable argsort.
    """
    n = key.size
    if n < 65536:
        out: NDArray[np.intp] = np.argsort(key, kind="stable")
        return out
    with np.errstate(over="ignore"):  # beyond float32 range: +-inf, still monotone
        rounded = (key + 0.0).astype(np.float32)  # + 0.0: -0.0 becomes 0.0
    rounded[np.isnan(rounded)] = np.nan  # a NaN with its sign bit set sorts last too
    bits = rounded.view(np.uint32)
    # as unsigned integers in the same order: negative values all bits flipped, the
    # others the sign bit set (in place: every new array of a million rows costs page
    # faults that serialise threads)
    flip = bits >> np.uint32(31)
    flip *= np.uint32(0x7FFFFFFF)
    flip |= np.uint32(0x80000000)
    sortable = np.bitwise_xor(bits, flip, out=bits)
    del flip
    low_first = np.argsort(sortable.astype(np.uint16), kind="stable")  # the low 16 bits
    high_digit = (sortable >> np.uint32(16)).astype(np.uint16)[low_first]
    idx: NDArray[np.intp] = low_first[np.argsort(high_digit, kind="stable")]
    high = sortable[idx]  # the rounded keys, sorted
    tie = high[1:] == high[:-1]
    # Exact ties are already in row order; only runs whose float64 values differ
    # (merged by the rounding) need re-sorting.
    in_order = key[idx]
    merged = tie & (in_order[1:] != in_order[:-1])
    if merged.any():
        run = np.cumsum(np.concatenate([[True], ~tie]))  # run number per sorted position
        bad_run = np.zeros(int(run[-1]) + 1, dtype=bool)
        bad_run[run[1:][merged]] = True
        pos = np.flatnonzero(bad_run[run])
        sub = idx[pos]
        idx[pos] = sub[np.lexsort((sub, key[sub], run[pos]))]
    return idx
