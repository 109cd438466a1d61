"""SJT scoring speed: 1,000,000 candidates x 16 scenarios x 5 options (``rate``).

The questionnaire is the bundled ``service-recovery`` test without its last scenario
(sr17), so 16 scenarios of 5 options (80 answer columns, every competency still on two
or more scenarios). The answers are whole ratings 1..6 as float32 with 2% missing.

For every rating method (``distance``, ``absolute``, ``standardized``, ``correlation``,
and ``mode`` / ``proportion`` when ``repprofile.build_sjt_key`` exists to build an SME
key from simulated expert ratings) it prints the time of ``repprofile.score(q, X,
sjt_method=...)`` followed by reading ``.pomp`` (wall-clock min and median of
``--repeat`` runs, and the minimum CPU time of the process, which on a loaded shared
machine shows the work done better than the wall clock; the goal is read on the
median wall clock), and the peak memory ``score`` allocates on top of the input
(tracemalloc, which sees numpy's allocations). The floor is a bare float32 product of
the zeroed answers with the (80 x 9) option-to-scale membership matrix: no scoring
reads the answers fewer times.

BLAS threads: on a loaded 2-core machine a multi-threaded OpenBLAS matmul of tall thin
blocks is many times slower than a single-threaded one, so the script sets
``OPENBLAS_NUM_THREADS`` (and the OMP / MKL equivalents) to ``--blas-threads``
(default 1) *before* numpy is imported; ``--blas-threads 0`` leaves the environment
alone (the library's default behaviour).

Run: ``.venv/bin/python benchmarks/bench_sjt.py [--n 1000000] [--repeat 5]``.
Goal (issue 16): under 1 s per method, peak memory under 1 GB.
"""

from __future__ import annotations

import argparse
import os
import sys


def _blas_threads_from_argv() -> str:
    for i, a in enumerate(sys.argv):
        if a == "--blas-threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--blas-threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _blas_threads_from_argv()
if _THREADS != "0":  # must happen before numpy is imported
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _THREADS

import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

import repprofile  # noqa: E402
from repprofile._formats.questionnaire import Questionnaire, SjtMethod  # noqa: E402

_SOURCE = Path(__file__).resolve().parents[1] / "questionnaires" / "service-recovery.yaml"


def sixteen_by_five(tmp: Path) -> Questionnaire:
    """The bundled service-recovery test without its 17th scenario."""
    doc = yaml.safe_load(_SOURCE.read_text(encoding="utf-8"))
    doc["items"] = doc["items"][:16]
    doc["id"] = "service-recovery-16"
    path = tmp / "service-recovery-16.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    q = repprofile.load_questionnaire(path)
    assert len(q.sjt_items) == 16
    assert len(q.item_ids) == 80
    return q


def simulate(q: Questionnaire, n: int, seed: int = 16) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Ratings 1..6 near the key plus noise and a per-candidate elevation; 2% missing."""
    rng = np.random.default_rng(seed)
    key = np.array([o.key for it in q.sjt_items for o in it.options], dtype=np.float32)
    x = np.empty((n, key.size), dtype=np.float32)
    step = 1 << 16
    for s in range(0, n, step):
        m = min(n, s + step) - s
        v = key + rng.normal(0.0, 1.2, (m, key.size)).astype(np.float32)
        v += rng.normal(0.0, 0.6, (m, 1)).astype(np.float32)
        np.clip(np.rint(v), 1, 6, out=v)
        v[rng.random((m, key.size)) < 0.02] = np.nan
        x[s : s + m] = v
    return x


def sme_key(q: Questionnaire, tmp: Path) -> Any | None:
    """An SME key from 12 simulated experts, if ``repprofile.build_sjt_key`` exists."""
    build = getattr(repprofile, "build_sjt_key", None)
    if build is None:
        return None
    rng = np.random.default_rng(7)
    cols = list(q.item_ids)
    key = np.array([o.key for it in q.sjt_items for o in it.options])
    ratings = np.clip(np.rint(key + rng.normal(0.0, 0.7, (12, key.size))), 1, 6).astype(int)
    path = tmp / "sme.csv"
    lines = ["expert_id," + ",".join(cols)]
    lines += [f"e{i + 1}," + ",".join(map(str, row)) for i, row in enumerate(ratings)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    built = build(path, q)
    return getattr(built, "key", built)  # build_sjt_key returns the key and a report


def _times(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """Wall-clock min and median, and the minimum CPU time of this process."""
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), statistics.median(times), min(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--blas-threads", default="1", help="BLAS threads (0: leave the environment alone)"
    )
    ap.add_argument("--methods", default="", help="comma-separated subset of methods")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        q = sixteen_by_five(tmp)
        X = simulate(q, args.n)
        key = sme_key(q, tmp)
    methods: list[SjtMethod] = ["distance", "absolute", "standardized", "correlation"]
    if key is not None:
        methods += ["mode", "proportion"]
    if args.methods:
        methods = [m for m in methods if m in args.methods.split(",")]
    member = np.zeros((80, len(q.scale_ids)), dtype=np.float32)
    for j, it in enumerate(q.sjt_items):
        for c in ("service_recovery", *it.competencies):
            member[5 * j : 5 * j + 5, q.scale_ids.index(c)] = 1.0
    zeroed = np.nan_to_num(X, nan=0.0)
    floor = _times(lambda: zeroed @ member, args.repeat)
    zeroed = member  # drop the copy
    ms = "min {:7.1f} ms  median {:7.1f} ms  cpu {:7.1f} ms"
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(
        f"answers: {args.n:,} x {X.shape[1]} float32 ({X.nbytes / 2**20:,.0f} MiB), "
        f"{np.isnan(X).mean():.2%} missing; OPENBLAS_NUM_THREADS={blas}; "
        f"SME key: {'simulated, 12 experts' if key is not None else 'none (no build_sjt_key)'}"
    )
    print(f"{'floor (zeroed X @ membership)':32s}" + ms.format(*(v * 1e3 for v in floor)))
    for method in methods:
        sk = key if method in ("mode", "proportion") else None

        def run(method: SjtMethod = method, sk: Any = sk) -> None:
            r = repprofile.score(q, X, sjt_method=method, sjt_key=sk)
            r.pomp  # noqa: B018

        t = _times(run, args.repeat)
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        goal = "ok" if t[1] < 1.0 and peak < 2**30 else "over goal"
        print(
            f"{'score + .pomp, ' + method:32s}"
            + ms.format(*(v * 1e3 for v in t))
            + f"  peak {peak / 2**20:6,.0f} MiB  {goal}"
            + f"  ({t[0] / floor[0]:.1f}x / {t[1] / floor[1]:.1f}x the floor; "
            + f"{t[1]:.2f}x the 1 s goal)"
        )


if __name__ == "__main__":
    main()
