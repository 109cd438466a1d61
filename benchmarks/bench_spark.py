"""Spark throughput: repprofile.spark.score on a local Spark session.

Scores ``--n`` simulated candidates (rep-types trait scales, 70 items x 7 scales, 2%
missing answers) cached in ``--partitions`` Spark partitions, on ``local[--workers]``,
and prints rows/s and rows/s per core. Each run is every pass of
``repprofile.spark.score`` (the repeated-id count, the quality partials merged on the
driver, then ``mapInPandas`` of the scoring), ending in a ``count()`` of the output
after writing it to the noop sink (as before writing it out; nothing is collected).

The peer, measured in the same run: single-machine ``repprofile.score`` of the same
table in this process plus its conversion to the same output frame (its scoring kernel
runs one thread per core). The per-core ratio is Spark rows/s per core over
single-machine rows/s. Times: min and median of ``--repeat``.

Run: ``.venv/bin/python benchmarks/bench_spark.py [--n 1000000] [--workers 2]
[--partitions 8] [--repeat 3]`` (needs ``pip install 'repprofile[spark]'`` and Java 17+).
"""

from __future__ import annotations

import argparse
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

    import os
    import sys

    import pandas as pd
    from pyspark.sql import SparkSession

    import repprofile.spark as rspark
    from repprofile._distributed._common import result_frame

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    q = trait_only(repprofile.load_questionnaire("rep-types"))
    values = simulate_batch(q, args.n, missing=0.02)
    table = pd.DataFrame(values.astype("float64"), columns=list(q.item_ids))
    table.insert(0, "candidate_id", [f"c{i:07d}" for i in range(args.n)])

    single = _times(lambda: result_frame(repprofile.score(q, table)), args.repeat)

    spark = (
        SparkSession.builder.master(f"local[{args.workers}]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    sdf = spark.createDataFrame(table).repartition(args.partitions).cache()
    sdf.count()
    pieces = range(sdf.rdd.getNumPartitions())

    def run() -> None:
        rspark.score(q, sdf).write.format("noop").mode("overwrite").save()

    run()  # warm up: Python workers start and import repprofile
    spark_t = _times(run, args.repeat)
    pass1 = _times(lambda: rspark.quality_reference(q, sdf), args.repeat)
    spark.stop()

    n = args.n
    print(
        f"rows: {n:,}  items: {len(q.item_ids)}  cores: local[{args.workers}]  "
        f"partitions: {len(pieces)}  repeat: {args.repeat}"
    )
    print(
        f"single-machine score + output frame: min {single[0]:.2f} s, median "
        f"{single[1]:.2f} s -> {n / single[0]:,.0f} rows/s (min) {n / single[1]:,.0f} (median)"
    )
    print(
        f"repprofile.spark.score (all passes, noop sink): min {spark_t[0]:.2f} s, median "
        f"{spark_t[1]:.2f} s -> {n / spark_t[0]:,.0f} rows/s (min) {n / spark_t[1]:,.0f} (median)"
    )
    print(
        f"  of which the statistics pass (ids + quality partials): min {pass1[0]:.2f} s, "
        f"median {pass1[1]:.2f} s"
    )
    per_core = (n / spark_t[0] / args.workers, n / spark_t[1] / args.workers)
    print(
        f"per core: {per_core[0]:,.0f} rows/s (min) {per_core[1]:,.0f} (median); "
        f"ratio to single-machine rows/s: {per_core[0] / (n / single[0]):.2f} (min) "
        f"{per_core[1] / (n / single[1]):.2f} (median)"
    )


if __name__ == "__main__":
    main()
