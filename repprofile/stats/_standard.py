"""Standard scores from z (T, sten, stanine) and the mid-point percentile rank."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["percentile_rank", "stanine", "sten", "t_score"]

Array = NDArray[np.float64]


def t_score(z: Array) -> Array:
    """T score: :math:`T = 50 + 10 z` (McCall 1922)."""
    return 50.0 + 10.0 * z


def sten(z: Array) -> Array:
    """Standard ten: :math:`\\mathrm{clip}(\\lfloor 2z \\rfloor + 6, 1, 10)` (Canfield 1951)."""
    with np.errstate(invalid="ignore"):
        return np.clip(np.floor(2.0 * z) + 6.0, 1.0, 10.0)


def stanine(z: Array) -> Array:
    """Standard nine: :math:`\\mathrm{clip}(\\mathrm{round}(2z + 5), 1, 9)`, halves rounded up."""
    with np.errstate(invalid="ignore"):
        return np.clip(np.floor(2.0 * z + 5.5), 1.0, 9.0)


def percentile_rank(x: Array, values: Array, counts: Array) -> Array:
    """Mid-point percentile rank of ``x`` in a sample given as distinct values and counts.

    Notes
    -----
    :math:`P = 100 (B + E/2) / N` with :math:`B` the number of the sample below
    :math:`x`, :math:`E` the number equal to it and :math:`N` the sample size (the
    mid-point percentile rank, e.g. Crocker & Algina 1986, ch. 19). NaN stays NaN.
    """
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    total = cum[-1]
    safe = np.where(np.isnan(x), -np.inf, x)
    left = np.searchsorted(values, safe, side="left")
    right = np.searchsorted(values, safe, side="right")
    out: Array = 100.0 * (cum[left] + (cum[right] - cum[left]) / 2.0) / total
    out[np.isnan(x)] = np.nan
    return out
