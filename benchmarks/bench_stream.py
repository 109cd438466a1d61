"""Streamed scoring of a 1,000,000-candidate CSV to NDJSON (issue 7 goal: peak memory
under 500 MB).

Writes a CSV of simulated rep-types answers (2% missing), then runs
``repprofile score BIG.csv --format ndjson -o OUT.ndjson`` as a subprocess and prints
its wall time and peak resident memory (``ru_maxrss`` of the child).

Run: ``.venv/bin/python benchmarks/bench_stream.py [--n 1000000] [--dir /tmp]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import repprofile
from repprofile._analysis.simulate import simulate_answers


def write_csv(path: Path, q: repprofile.Questionnaire, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(["candidate_id", *q.item_ids]) + "\n")
        for i, start in enumerate(range(0, n, 100_000)):
            m = min(n, start + 100_000) - start
            x, _ = simulate_answers(q, m, seed=i, missing=0.02)
            codes = np.nan_to_num(x, nan=0.0).astype(np.int64).astype(str)
            cells = np.where(np.isnan(x), "", codes)
            ids = np.char.add("c", np.arange(start, start + m).astype(str))
            rows = np.concatenate([ids[:, None], cells], axis=1)
            fh.write("\n".join(",".join(r) for r in rows.tolist()) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp")
    args = ap.parse_args()
    q = repprofile.load_questionnaire("rep-types")
    big = Path(args.dir) / f"repprofile-bench-{args.n}.csv"
    if not big.exists():
        write_csv(big, q, args.n)
    out = Path(args.dir) / "repprofile-bench.ndjson"
    exe = Path(sys.executable).parent / "repprofile"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "score", str(big), "--format", "ndjson", "-o", str(out), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = sum(1 for _ in out.open(encoding="utf-8")) if out.exists() else 0
    size_in = big.stat().st_size / 2**20
    size_out = out.stat().st_size / 2**20 if out.exists() else 0.0
    print(f"input: {args.n:,} candidates x {len(q.item_ids)} items, {size_in:,.0f} MiB CSV")
    print(f"exit status {proc.returncode}; {lines:,} NDJSON lines ({size_out:,.0f} MiB)")
    print(f"wall time {wall:.1f} s; peak RSS of the scoring process {peak_mb:,.0f} MB")
    if proc.returncode not in (0, 1):
        print(proc.stderr[-2000:])


if __name__ == "__main__":
    main()
