"""Worked example for docs/scale.md: score, norms and reliability on Dask.

Writes 200,000 simulated rep-types candidates as four Parquet files of different sizes
(the data lake), then reads them with dask and runs repprofile.dask on a LocalCluster.
Run: python docs/examples/dask/score_on_dask.py  (needs pip install 'repprofile[dask]')
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
from dask.distributed import Client, LocalCluster

import repprofile
import repprofile.dask as rdask
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
    with tempfile.TemporaryDirectory() as tmp:
        write_lake(Path(tmp))
        with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
            answers = dd.read_parquet(f"{tmp}/answers-*.parquet")
            print("partitions:", answers.npartitions, "rows:", len(answers))

            t0 = time.perf_counter()
            scores = rdask.score("rep-types", answers, norms="rep-types-simulated")
            scores.to_parquet(f"{tmp}/scores")  # or .compute() for a pandas frame
            print(f"scored in {time.perf_counter() - t0:.1f} s")
            first = dd.read_parquet(f"{tmp}/scores").head(3)
            print(
                first[
                    [
                        "candidate_id",
                        "controller_mean",
                        "controller_t",
                        "primary_type",
                        "quality_valid",
                        "quality_flags",
                    ]
                ].to_string(index=False)
            )

            norms = rdask.build_norms(
                "rep-types",
                answers,
                description="Applicants 2026 (simulated)",
                created="2026-12-04",
                simulated=True,
            )
            ctl = norms.scales["controller"]
            print(f"norms: n={ctl.n} controller mean={ctl.mean:.4f} sd={ctl.sd:.4f}")

            rel = rdask.reliability("rep-types", answers)
            print("alpha:", {s: r.alpha and round(r.alpha, 3) for s, r in rel.scales.items()})

            # the same numbers as single-machine build_norms of the whole table
            whole = answers.compute()
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
