"""Worked example for docs/scale.md: score, norms and reliability on Spark.

Writes 200,000 simulated rep-types candidates as four Parquet files of different sizes
(the data lake), then reads them with Spark and runs repprofile.spark on a local session.
Run: python docs/examples/spark/score_on_spark.py
(needs pip install 'repprofile[spark]' and Java 17 or newer)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

import repprofile
import repprofile.spark as rspark
from repprofile._analysis.simulate import simulate_answers


def write_lake(folder: Path) -> None:
    """Four Parquet files of 20k, 30k, 50k and 100k simulated candidates."""
    q = repprofile.load_questionnaire("rep-types")
    start = 0
    for part, n in enumerate([20_000, 30_000, 50_000, 100_000]):
        values, _ = simulate_answers(q, n, seed=part, missing=0.02)
        frame = pd.DataFrame(values, columns=list(q.item_ids))
        frame.insert(0, "candidate_id", [f"A{i:06d}" for i in range(start, start + n)])
        frame.to_parquet(folder / f"answers-{part}.parquet", index=False)
        start += n


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        write_lake(Path(tmp))
        answers = spark.read.parquet(f"{tmp}/answers-*.parquet")
        print("partitions:", answers.rdd.getNumPartitions(), "rows:", answers.count())

        t0 = time.perf_counter()
        scores = rspark.score("rep-types", answers, norms="rep-types-simulated")
        scores.write.parquet(f"{tmp}/scores")  # or .toPandas() for a pandas frame
        print(f"scored in {time.perf_counter() - t0:.1f} s")
        first = spark.read.parquet(f"{tmp}/scores").orderBy("candidate_id").limit(3)
        first.select(
            "candidate_id",
            "controller_mean",
            "controller_t",
            "primary_type",
            "quality_valid",
            "quality_flags",
        ).show()

        norms = rspark.build_norms(
            "rep-types",
            answers,
            description="Applicants 2026 (simulated)",
            created="2026-12-04",
            simulated=True,
        )
        ctl = norms.scales["controller"]
        print(f"norms: n={ctl.n} controller mean={ctl.mean:.4f} sd={ctl.sd:.4f}")

        rel = rspark.reliability("rep-types", answers)
        print("alpha:", {s: r.alpha and round(r.alpha, 3) for s, r in rel.scales.items()})

        # the same numbers as single-machine build_norms of the whole table
        whole = pd.concat([pd.read_parquet(p) for p in sorted(Path(tmp).glob("answers-*.parquet"))])
        single = repprofile.build_norms(
            "rep-types",
            whole,
            description="Applicants 2026 (simulated)",
            created="2026-12-04",
            simulated=True,
        )
        print(
            "max |difference| of the scale means:",
            max(abs(norms.scales[s].mean - single.scales[s].mean) for s in norms.scales),
        )
    spark.stop()
