"""``repprofile demo``: score the bundled simulated candidates and print a table.

Only the standard library is imported at load (the parser is built from this module);
the bundled files and the scoring are imported when the demo runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from repprofile.cli._common import EXIT_OK, write_output

if TYPE_CHECKING:
    from repprofile._analysis.scoring import ScoreResult
    from repprofile.cli._common import Subparsers

__all__ = ["build_demo_norms", "demo_norms_path", "demo_sample_path", "register", "run_demo"]

DEMO_ROLE = "general-frontline"
DEMO_DATE = "2026-11-22"  # fixed, so the demo output is the same on every run
DEMO_NORMS_DESCRIPTION = (
    "SIMULATED norm sample of 5,000 computer-generated respondents (not real people), "
    "for demonstrations only. Never use it to assess anyone: build norms from your own "
    "applicant pool (repprofile norms build)."
)


def register(sub: Subparsers) -> None:
    """Add ``demo``."""
    p = sub.add_parser("demo", help="score the bundled simulated candidates")
    p.add_argument("--out", metavar="DIR", help="also write the results into DIR")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(Path(args.out) if args.out else None, sys.stdout)


def demo_sample_path() -> Path:
    """The bundled CSV of simulated candidates (ids start with SIMULATED-)."""
    from repprofile._formats.files import bundled_dir

    return bundled_dir() / "samples" / "rep-types-simulated.csv"


def demo_norms_path() -> Path:
    """The bundled simulated norm table of rep-types (labelled simulated)."""
    from repprofile._formats.files import bundled_dir

    return bundled_dir() / "norms" / "rep-types-simulated.json"


def build_demo_norms() -> str:
    """Rebuild the bundled simulated norm table (JSON text); a test checks it is unchanged."""
    from repprofile._analysis.norms import build_norms
    from repprofile._analysis.simulate import simulate_answers
    from repprofile._formats.questionnaire import load_questionnaire

    q = load_questionnaire("rep-types")
    answers, _ = simulate_answers(q, 5000, seed=20170101, missing=0.01)
    table = build_norms(
        q, answers, description=DEMO_NORMS_DESCRIPTION, created="2026-11-22", simulated=True
    )
    return table.to_json() + "\n"


def run_demo(out: Path | None, stdout: TextIO) -> int:
    """Score the demo sample, print a readable table, optionally write results to ``out``."""
    from repprofile._analysis.scoring import score
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._rendering.text import profile_table

    q = load_questionnaire("rep-types")
    result = score(q, demo_sample_path(), norms=demo_norms_path())
    print(
        f"repprofile demo: {len(result)} SIMULATED candidates (not real people) scored on "
        f"{q.title} ({q.id} {q.version}).\n"
        "Scores are POMP (0-100, percent of the maximum possible). The questionnaire is a\n"
        "starting point, not a validated instrument. Type clarity uses the bundled norm table,\n"
        "which is SIMULATED too: it only shows how norms work.\n",
        file=stdout,
    )
    print(profile_table(result), file=stdout, end="")
    if out is not None:
        _write_demo_files(result, out, stdout)
    return EXIT_OK


def _write_demo_files(result: ScoreResult, out: Path, stdout: TextIO) -> None:
    """Scores as JSON and CSV, a radar chart and a report per candidate, into ``out``."""
    from repprofile._analysis.fit import fit
    from repprofile._formats.role import load_role
    from repprofile._rendering.charts import radar_chart, save_figure
    from repprofile._rendering.report import write_report
    from repprofile._rendering.text import scores_csv

    write_output(result.to_json() + "\n", str(out / "scores.json"))
    write_output(scores_csv(result), str(out / "scores.csv"))
    role = load_role(DEMO_ROLE)
    fitted = fit(result, role)
    for p in result.profiles():
        ax = radar_chart(result, p.candidate_id, role=role)
        save_figure(ax.get_figure(root=True), out / "charts" / f"{p.candidate_id}.png")  # type: ignore[arg-type]
        write_report(
            result,
            p.candidate_id,
            role,
            out / "reports" / f"{p.candidate_id}.pdf",
            date=DEMO_DATE,
            fit_result=fitted,
        )
    print(
        f"\nWrote {out / 'scores.json'}, {out / 'scores.csv'}, a radar chart per candidate "
        f"in {out / 'charts'} and a report for the role {role.name!r} per candidate in "
        f"{out / 'reports'}.",
        file=stdout,
    )
