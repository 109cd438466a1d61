"""Scoring speed: repprofile.score on 1,000,000 x 70 float32 answers with 2% missing.

Prints the time of ``repprofile.score`` and of the floor: a bare float32 matrix product
of the same array (NaN already zeroed) with the 70 x 7 key matrix, since no scoring can
read the answers fewer times. Times are the minimum and median of ``--repeat`` runs
(this machine's timings vary run to run; compare medians too). Memory: the input array's
size, and the peak that ``score`` allocates on top of it (tracemalloc, which sees numpy's
allocations), so peak total = input + score.

Run: ``.venv/bin/python benchmarks/bench_scoring.py [--n 1000000] [--repeat 9]``.
Goal (issue 2): within 3x of the floor, >= 20x faster than R psych scoreFast on the
same matrix (``--save FILE.csv`` writes it for ``benchmarks/bench_scoring.R``), peak
memory under 1 GB.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

import repprofile
from repprofile._analysis.simulate import simulate_batch, trait_only


def _times(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def _floor(
    zeroed: NDArray[np.float32], keys: NDArray[np.float32], repeat: int
) -> tuple[float, float]:
    return _times(lambda: zeroed @ keys, repeat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--save", metavar="FILE", help="also save the answers as CSV for R")
    args = ap.parse_args()
    q = trait_only(repprofile.load_questionnaire("rep-types"))  # 70 items x 7 scales
    X = simulate_batch(q, args.n, missing=0.02)
    if args.save:
        np.savetxt(
            args.save, X, delimiter=",", fmt="%.0f", header=",".join(q.item_ids), comments=""
        )
    keys = q.keys.astype(np.float32)
    floor = _floor(np.nan_to_num(X, nan=0.0), keys, args.repeat)
    t = _times(lambda: repprofile.score(q, X), args.repeat)
    full = _times(lambda: (r := repprofile.score(q, X)).pomp is not None and r.mean, 3)
    tracemalloc.start()
    repprofile.score(q, X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ms = "min {:7.1f} ms  median {:7.1f} ms"
    print(f"answers: {args.n:,} x {X.shape[1]} float32, {np.isnan(X).mean():.2%} missing")
    print("floor (zeroed float32 X @ keys): " + ms.format(floor[0] * 1e3, floor[1] * 1e3))
    print(
        "repprofile.score:                "
        + ms.format(t[0] * 1e3, t[1] * 1e3)
        + f"  ({t[0] / floor[0]:.2f}x / {t[1] / floor[1]:.2f}x the floor)"
    )
    print("score + .mean + .pomp:           " + ms.format(full[0] * 1e3, full[1] * 1e3))
    print(
        f"memory: input {X.nbytes / 2**20:,.0f} MiB + score peak {peak / 2**20:,.0f} MiB "
        f"= {(X.nbytes + peak) / 2**20:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
