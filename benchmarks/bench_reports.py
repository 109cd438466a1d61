"""Report speed: candidate PDF reports per second (goal: at least 5 per second).

Scores ``--n`` simulated candidates with the bundled simulated norms and fits the
``escalations`` role once (not timed, as ``repprofile report --all`` does them once per
batch), then times, on the first ``--reports`` (100) scored candidates:

* ``one process``: ``write_report`` in a loop in this process (the peer: the
  single-process figure);
* ``report --all --jobs N``: the command's batch path (``repprofile.cli._report``),
  with ``--jobs 1`` (in this process) and ``--jobs N`` worker processes; pool start-up
  (spawning the workers, importing matplotlib there, sending them the scores once) is
  included in the time.

Each case runs ``--repeat`` times; min and median reports per second are printed with
the ratio to the goal (5 per second) and to the single-process figure of the same run.
The files of ``--jobs 1`` and ``--jobs N`` are checked to be byte-identical.

Run: ``.venv/bin/python benchmarks/bench_reports.py [--reports 100] [--jobs 2] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import repprofile
from repprofile._analysis.simulate import simulate_answers
from repprofile._formats.files import bundled_dir
from repprofile.cli._report import _report_all

GOAL = 5.0  # reports per second (issue 6 / issue 19)


def make_batch(n: int, reports: int) -> tuple[repprofile.ScoreResult, repprofile.Role]:
    """``n`` simulated candidates scored with the simulated norms; the first ``reports``
    scored ones are kept (so ``--all`` makes exactly that many)."""
    q = repprofile.load_questionnaire("rep-types")
    answers, _ = simulate_answers(q, n, seed=1, missing=0.02)
    ids = [f"BENCH-{i:05d}" for i in range(n)]
    norms = bundled_dir() / "norms" / "rep-types-simulated.json"
    full = repprofile.score(q, answers, candidate_ids=ids, norms=norms)
    keep = [i for i, ok in enumerate(full.scored) if ok][:reports]
    scores = repprofile.score(q, answers[keep], candidate_ids=[ids[i] for i in keep], norms=norms)
    _ = scores.normed.percentile_ci_high  # scoring and norms are not part of reporting
    return scores, repprofile.load_role("escalations")


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file of a folder, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reports", type=int, default=100, help="reports per case (100)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes of the pool (2)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each case (3)")
    args = ap.parse_args()
    scores, role = make_batch(args.reports + args.reports // 5 + 10, args.reports)
    fitted = repprofile.fit(scores, role)
    ids = [c for c, ok in zip(scores.candidate_ids, scores.scored, strict=True) if ok]
    n = len(ids)
    print(f"reports per case: {n}; repeats: {args.repeat}; goal {GOAL:g} per second")

    def loop(out: Path) -> None:
        for cid in ids:
            repprofile.write_report(
                scores, cid, role, out / f"{cid}.pdf", date="2026-11-22", fit_result=fitted
            )

    def cli(jobs: int) -> Callable[[Path], None]:
        def run(out: Path) -> None:
            ns = argparse.Namespace(
                output=str(out), format="pdf", date="2026-11-22", jobs=jobs, quiet=True
            )
            assert _report_all(ns, scores, role, fitted)

        return run

    cases: list[tuple[str, Callable[[Path], None]]] = [
        ("one process (write_report loop)", loop),
        ("report --all --jobs 1", cli(1)),
        (f"report --all --jobs {args.jobs}", cli(args.jobs)),
    ]
    rates: dict[str, list[float]] = {name: [] for name, _ in cases}
    files: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for c, (name, fn) in enumerate(cases):
                out = Path(tmp) / f"{r}-{c}"
                out.mkdir()
                t0 = time.perf_counter()
                fn(out)
                rates[name].append(n / (time.perf_counter() - t0))
                files[name] = digests(out)
    single = statistics.median(rates[cases[0][0]])
    for name, _ in cases:
        best, med = max(rates[name]), statistics.median(rates[name])
        print(
            f"{name}: best {best:.2f} / median {med:.2f} reports per second; "
            f"median x{med / GOAL:.2f} of the goal, x{med / single:.2f} of one process"
        )
    same = files[cases[1][0]] == files[cases[2][0]] and len(files[cases[1][0]]) == n
    print(f"--jobs 1 and --jobs {args.jobs} files byte-identical: {same}")


if __name__ == "__main__":
    main()
