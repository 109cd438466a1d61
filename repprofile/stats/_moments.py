"""Pairwise moments of a batch of answers, accumulated with a few matrix products.

R's ``cov(x, use = "pairwise")`` takes, for each item pair, the rows where both items
are answered. With ``Z`` the (centred, keyed) answers with missing cells set to 0 and
``M`` the answered mask, the pairwise sums are matrix products:

* ``N = M'M`` (rows where both answered), ``A = Z'Z``, ``B = Z'M``
  (``B[i, j]``: sum of ``z_i`` over rows where ``j`` is answered),
  ``Q = (Z*Z)'M`` (sum of ``z_i^2`` over rows where ``j`` is answered);
* ``cov_ij = (A_ij - B_ij B_ji / N_ij) / (N_ij - 1)``;
* the pairwise correlation (R's ``cor(x, use = "pairwise")``, SDs over the same rows)
  ``cov_ij / sqrt(v_i|j v_j|i)`` with ``v_i|j = (Q_ij - B_ij^2 / N_ij) / (N_ij - 1)``.

Missing answers are sparse, so with ``M = 1 - Mc`` (``Mc`` the missing mask) only
``A`` needs a dense product; ``B``, ``Q`` and ``N`` are column sums minus products
with the sparse ``Mc``. Rows are processed in blocks, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["PairwiseMoments", "pairwise_moments"]


@dataclass(frozen=True)
class PairwiseMoments:
    """Pairwise sums over a batch (see module docs); ``centre`` was subtracted first."""

    n_rows: int
    centre: NDArray[np.float64]
    N: NDArray[np.float64]
    A: NDArray[np.float64]
    B: NDArray[np.float64]
    Q: NDArray[np.float64]

    def cov(self) -> NDArray[np.float64]:
        """R's ``cov(x, use = "pairwise")``; NaN where a pair has fewer than 2 rows."""
        with np.errstate(invalid="ignore", divide="ignore"):
            c: NDArray[np.float64] = (self.A - self.B * self.B.T / self.N) / (self.N - 1)
        c[self.N < 2] = np.nan
        return c

    def cor(self) -> NDArray[np.float64]:
        """R's ``cor(x, use = "pairwise")``: SDs over the pairwise-complete rows."""
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (self.Q - self.B * self.B / self.N) / (self.N - 1)
            r: NDArray[np.float64] = self.cov() / np.sqrt(v * v.T)
        np.fill_diagonal(r, np.where(np.diag(self.N) >= 2, 1.0, np.nan))
        return r

    def merge(self, other: PairwiseMoments) -> PairwiseMoments:
        """The moments of both batches together: every sum (``N``, ``A``, ``B``, ``Q``)
        and the row count add, since each is a sum over rows (Chan, Golub & LeVeque
        1983 combine centred moments the same way). Both must share ``centre``; with
        whole-number answers and a whole or half-integer centre every sum is an integer
        below 2**53, so the merge is exact and independent of the order."""
        if self.centre.shape != other.centre.shape or not np.array_equal(self.centre, other.centre):
            raise ValueError("pairwise moments to merge must share their centre")
        return PairwiseMoments(
            self.n_rows + other.n_rows,
            self.centre,
            self.N + other.N,
            self.A + other.A,
            self.B + other.B,
            self.Q + other.Q,
        )

    def means(self) -> NDArray[np.float64]:
        """Mean of each column over its answered rows."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: NDArray[np.float64] = np.diag(self.B) / np.diag(self.N) + self.centre
        return out


_Sums = tuple[
    int,
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
]


def _block_sums(
    z: NDArray[np.floating[Any]], k: int, centre: NDArray[np.float64], whole: bool = False
) -> _Sums:
    """One block's sums: rows, ``Z'Z``, ``Mc'Z``, ``Mc'Z^2``, ``Mc'Mc``, and the column
    sums of ``Z`` and ``Z^2`` (module docs). The block is modified in place.

    ``whole``: whole-number answers about a whole or half-integer centre, summed in
    float32. Every product and partial sum is then a multiple of 1/4 far below 2**22
    (the caller bounds rows x largest squared deviation), so float32 holds each exactly
    and the sums equal the float64 ones bit for bit, at about half the cost.
    """
    import scipy.sparse as sp  # imported here: keeps `import repprofile` light

    dtype = np.float32 if whole else np.float64
    z = np.ascontiguousarray(z, dtype=dtype)  # reshape(-1) below must be a view
    z -= centre.astype(dtype)
    flat = np.flatnonzero(np.isnan(z))  # sparse: 1-D indices are far cheaper than 2-D
    z.reshape(-1)[flat] = 0.0
    z2 = z * z

    def f64(a: Any) -> NDArray[np.float64]:
        return np.asarray(a, dtype=np.float64)

    if flat.size:
        rr, cc = np.divmod(flat, k)
        # Mc' built directly (items x rows); each of its rows adds the block's rows in
        # ascending order, as the transpose of Mc does
        mct = sp.csr_array((np.ones(flat.size, dtype=dtype), (cc, rr)), shape=(k, len(z)))
        t1, t2, nm = f64(mct @ z), f64(mct @ z2), f64((mct @ mct.T).toarray())
    else:
        t1 = t2 = nm = np.zeros((k, k))
    return len(z), f64(z.T @ z), t1, t2, nm, f64(z.sum(axis=0)), f64(z2.sum(axis=0))


Block = NDArray[np.floating[Any]] | Callable[[], NDArray[np.floating[Any]]]


def _sums_of(block: Block, k: int, centre: NDArray[np.float64], whole: bool) -> _Sums:
    """:func:`_block_sums` of a block, or of the block a function makes (in the thread
    that runs this, so preparing blocks runs side by side too)."""
    return _block_sums(block() if callable(block) else block, k, centre, whole)


def _in_order(
    blocks: Iterable[Block], k: int, centre: NDArray[np.float64], threads: int, whole: bool
) -> Iterator[_Sums]:
    """Each block's sums, in block order; with ``threads`` > 1 computed side by side
    (numpy and BLAS release the GIL; BLAS pinned to one thread), a few blocks ahead."""
    if threads <= 1:
        for z in blocks:
            yield _sums_of(z, k, centre, whole)
        return
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    from repprofile._util import one_blas_thread

    with one_blas_thread(), ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[_Sums]] = deque()
        for z in blocks:
            pending.append(pool.submit(_sums_of, z, k, centre, whole))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def pairwise_moments(
    blocks: Iterable[Block],
    k: int,
    centre: NDArray[np.float64],
    *,
    threads: int = 1,
    whole: bool = False,
) -> PairwiseMoments:
    """Accumulate the pairwise sums over row blocks (float64, NaN = missing).

    ``blocks``: arrays, or functions that each return one (called in the thread that
    sums it). ``centre`` (per column) is subtracted first to keep the sums small; it does
    not change the result beyond rounding. Each block is modified in place. With
    ``threads`` > 1 the blocks' sums are computed in threads and added in block order,
    as one thread adds them. ``whole=True`` promises whole-number answers, a whole or
    half-integer centre and blocks of at most ``2**22 / d**2`` rows (``d`` the largest
    deviation from the centre): the block sums are then taken in float32, exactly.
    """
    A = np.zeros((k, k))
    T1 = np.zeros((k, k))  # Mc' Z
    T2 = np.zeros((k, k))  # Mc' Z^2
    NM = np.zeros((k, k))  # Mc' Mc
    colsum = np.zeros(k)
    colsq = np.zeros(k)
    n = 0
    for rows, a, t1, t2, nm, cs, cq in _in_order(blocks, k, centre, threads, whole):
        n += rows
        A += a
        colsum += cs
        colsq += cq
        T1 += t1
        T2 += t2
        NM += nm
    miss_count = np.diag(NM)
    N = n - miss_count[:, None] - miss_count[None, :] + NM
    B = colsum[:, None] - T1.T
    Q = colsq[:, None] - T2.T
    return PairwiseMoments(n, np.asarray(centre, dtype=np.float64), N, A, B, Q)
