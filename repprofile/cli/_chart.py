"""``repprofile chart``: radar chart of a candidate (PNG, SVG or PDF by extension)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    UsageError,
    add_answers,
    add_ci,
    add_norms,
    add_questionnaire,
    run_capturing_warnings,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``chart``."""
    p = sub.add_parser("chart", help="radar chart of a candidate (PNG, SVG or PDF by extension)")
    add_answers(p)
    p.add_argument("--candidate", required=True, metavar="ID")
    p.add_argument("--compare", metavar="ID,ID,...", help="overlay (up to 5) or a grid of more")
    p.add_argument("--role", metavar="ROLE", help="overlay the role's target or weights")
    p.add_argument(
        "--scales",
        choices=["traits", "skills"],
        default="traits",
        help=(
            "the rep-type (trait) scales (default), or the competencies (skill scales) of "
            "situational judgment items, in a radar of their own"
        ),
    )
    add_questionnaire(p)
    add_norms(p, "norm table: percentiles instead of POMP")
    add_ci(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help=".png, .svg or .pdf")
    p.set_defaults(func=_cmd_chart)


def _cmd_chart(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._formats.role import load_role
        from repprofile._rendering.charts import radar_chart, radar_grid, save_figure
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        result = score(
            q, read_cli_answers(args, q), norms=args.norms, ci=args.ci, **sjt_options(args)
        )
        role = load_role(args.role, q) if args.role else None
        ids = [args.candidate]
        if args.compare:
            ids += [c.strip() for c in args.compare.split(",") if c.strip()]
        missing = [c for c in ids if c not in result.candidate_ids]
        if missing:
            raise UsageError(f"no candidate {', '.join(map(repr, missing))} in {args.answers}")
        if len(ids) > 5:
            save_figure(radar_grid(result, ids, role=role, scales=args.scales), args.output)
        else:
            ax = radar_chart(result, ids if len(ids) > 1 else ids[0], role=role, scales=args.scales)
            save_figure(ax.get_figure(root=True), args.output)  # type: ignore[arg-type]
        return EXIT_OK

    return run_capturing_warnings(run)
