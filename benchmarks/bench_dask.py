"""Dask throughput: repprofile.dask.score on a dask.distributed LocalCluster.

Scores ``--n`` simulated candidates (rep-types trait scales, 70 items x 7 scales, 2%
missing answers) held on the workers in ``--partitions`` pandas partitions, with
``--workers`` single-threaded worker processes, and prints rows/s and rows/s per worker
(the throughput per core). Each run is both passes of ``repprofile.dask.score``: the
quality partials merged on the client, then ``map_partitions`` of the scoring; the
output is persisted on the workers (as before writing it out), not gathered.

The peer, measured in the same run: single-machine ``repprofile.score`` of the same
table in this process plus its conversion to the same output frame (one core for the
Python work; BLAS may use more for the matrix products). The per-core ratio is dask
rows/s per worker over single-machine rows/s. Times: min and median of ``--repeat``.

Run: ``.venv/bin/python benchmarks/bench_dask.py [--n 1000000] [--workers 2]
[--partitions 8] [--repeat 3]`` (needs ``pip install 'repprofile[dask]'``).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import repprofile
from repprofile._analysis.simulate import simulate_batch, trait_only


def _times(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Minimum and median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    """Measure and print the throughput."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import dask.dataframe as dd
    import pandas as pd

    distributed: Any = importlib.import_module("dask.distributed")  # untyped

    import repprofile.dask as rdask
    from repprofile._distributed._common import result_frame

    q = trait_only(repprofile.load_questionnaire("rep-types"))
    values = simulate_batch(q, args.n, missing=0.02)
    table = pd.DataFrame(values, columns=list(q.item_ids))
    table.insert(0, "candidate_id", [f"c{i:07d}" for i in range(args.n)])
    step = -(-args.n // args.partitions)
    pieces = [table.iloc[a : a + step] for a in range(0, args.n, step)]

    single = _times(lambda: result_frame(repprofile.score(q, table)), args.repeat)

    with (
        distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ddf = dd.from_delayed(client.scatter(pieces), meta=table.iloc[:0], verify_meta=False)

        def run() -> None:
            out = rdask.score(q, ddf).persist()
            distributed.wait(out)
            del out

        run()  # warm up: workers import repprofile and load numpy/pandas
        dask_t = _times(run, args.repeat)
        pass1 = _times(lambda: rdask.quality_reference(q, ddf), args.repeat)

    n = args.n
    print(
        f"rows: {n:,}  items: {len(q.item_ids)}  workers: {args.workers} x 1 thread  "
        f"partitions: {len(pieces)}  repeat: {args.repeat}"
    )
    print(
        f"single-machine score + output frame: min {single[0]:.2f} s, median "
        f"{single[1]:.2f} s -> {n / single[0]:,.0f} rows/s (min) {n / single[1]:,.0f} (median)"
    )
    print(
        f"repprofile.dask.score (2 passes, persisted): min {dask_t[0]:.2f} s, median "
        f"{dask_t[1]:.2f} s -> {n / dask_t[0]:,.0f} rows/s (min) {n / dask_t[1]:,.0f} (median)"
    )
    print(
        f"  of which pass 1 (quality partials, merged on the client): min {pass1[0]:.2f} s, "
        f"median {pass1[1]:.2f} s"
    )
    per_worker = (n / dask_t[0] / args.workers, n / dask_t[1] / args.workers)
    print(
        f"per worker (core): {per_worker[0]:,.0f} rows/s (min) {per_worker[1]:,.0f} (median); "
        f"ratio to single-machine rows/s: {per_worker[0] / (n / single[0]):.2f} (min) "
        f"{per_worker[1] / (n / single[1]):.2f} (median)"
    )


if __name__ == "__main__":
    main()
