"""Chart speed: radar-chart PNGs per second (goal: at least 25 per second).

Scores 500 simulated candidates with the bundled simulated norms (not timed), then
times each case of ``CASES`` on them and prints charts (or documents) per second:

* ``radar PNGs (RadarRenderer)``: one PNG per candidate from a reused figure, written
  to a temporary folder; the figure set-up is included in the time. This is the path
  for batches and the one the goal is about.
* ``radar PNGs (radar_chart + save_figure)``: a new figure per chart, the simple path,
  on ``--n-slow`` candidates, for comparison.

Every case is a function ``(BenchData) -> Timing``; to time another kind of output
(for example report documents), write one more such function and add it to ``CASES``.

Run: ``.venv/bin/python benchmarks/bench_charts.py [--n 500] [--n-slow 50]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import repprofile
from repprofile import RadarRenderer, radar_chart, save_figure
from repprofile._analysis.simulate import simulate_answers
from repprofile._formats.files import bundled_dir


@dataclass(frozen=True)
class BenchData:
    """What every case works on: scored candidates, a role and an output folder."""

    scores: repprofile.ScoreResult
    candidate_ids: list[str]
    role: repprofile.Role
    out: Path
    n_slow: int


@dataclass(frozen=True)
class Timing:
    """How long a case took to make ``count`` outputs."""

    case: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def radar_pngs_renderer(data: BenchData) -> Timing:
    t0 = time.perf_counter()
    renderer = RadarRenderer(data.scores, role=data.role)
    for cid in data.candidate_ids:
        (data.out / f"{cid}.png").write_bytes(renderer.render(cid))
    return Timing("radar PNGs (RadarRenderer)", len(data.candidate_ids), time.perf_counter() - t0)


def radar_pngs_new_figure(data: BenchData) -> Timing:
    ids = data.candidate_ids[: data.n_slow]
    t0 = time.perf_counter()
    for cid in ids:
        ax = radar_chart(data.scores, cid, role=data.role)
        fig = ax.get_figure(root=True)
        assert fig is not None
        save_figure(fig, data.out / f"{cid}-full.png")
    return Timing("radar PNGs (radar_chart + save_figure)", len(ids), time.perf_counter() - t0)


def reports_pdf(data: BenchData) -> Timing:
    """100 one-page PDF reports (issue 6 goal: at least 5 per second)."""
    ids = data.candidate_ids[:100]
    fitted = repprofile.fit(data.scores, data.role)  # once for the batch, as `report --all`
    t0 = time.perf_counter()
    for cid in ids:
        repprofile.write_report(
            data.scores,
            cid,
            data.role,
            data.out / f"{cid}.pdf",
            date="2026-11-22",
            fit_result=fitted,
        )
    return Timing("candidate reports (PDF)", len(ids), time.perf_counter() - t0)


CASES: list[Callable[[BenchData], Timing]] = [
    radar_pngs_renderer,
    radar_pngs_new_figure,
    reports_pdf,
]


def make_scores(n: int) -> repprofile.ScoreResult:
    q = repprofile.load_questionnaire("rep-types")
    answers, _ = simulate_answers(q, n, seed=1, missing=0.02)
    ids = [f"BENCH-{i:05d}" for i in range(n)]
    norms = bundled_dir() / "norms" / "rep-types-simulated.json"
    return repprofile.score(q, answers, candidate_ids=ids, norms=norms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=500, help="charts for the renderer (500)")
    ap.add_argument("--n-slow", type=int, default=50, help="charts for the simple path (50)")
    args = ap.parse_args()
    scores = make_scores(args.n)
    _ = scores.normed.percentile_ci_high  # scoring and norms are not part of charting
    ids = [cid for cid, ok in zip(scores.candidate_ids, scores.scored, strict=True) if ok]
    print(f"candidates: {len(ids)} scored of {args.n}")
    with tempfile.TemporaryDirectory() as tmp:
        data = BenchData(scores, ids, repprofile.load_role("escalations"), Path(tmp), args.n_slow)
        for case in CASES:
            timing = case(data)
            size = np.mean([p.stat().st_size for p in data.out.iterdir()]) / 1024
            print(
                f"{timing.case}: {timing.count} in {timing.seconds:.2f} s = "
                f"{timing.per_second:.1f} per second (mean file {size:.0f} KiB)"
            )
            for p in data.out.iterdir():
                p.unlink()


if __name__ == "__main__":
    main()
