"""``repprofile report``: one-page candidate reports (PDF or HTML) for a role."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_answers,
    add_ci,
    add_norms,
    add_questionnaire,
    fit_cut,
    progress,
    run_capturing_warnings,
    warn_if_simulated,
)

if TYPE_CHECKING:
    from repprofile._analysis.fit import FitResult
    from repprofile._analysis.scoring import ScoreResult
    from repprofile._formats.role import Role
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``report``."""
    p = sub.add_parser("report", help="one-page candidate report (PDF or HTML) for a role")
    add_answers(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--candidate", metavar="ID")
    who.add_argument("--all", action="store_true", help="every scored candidate, into -o DIR")
    p.add_argument("--role", required=True, metavar="ROLE")
    add_questionnaire(p)
    add_norms(p, "norm table: percentiles and intervals")
    add_ci(p)
    p.add_argument("--cut", type=fit_cut, default=50.0)
    p.add_argument(
        "--format",
        choices=["pdf", "html"],
        default="pdf",
        help="for --all or an -o folder (a file's extension decides otherwise)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date on the report (default today)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", required=True, metavar="DIR_OR_FILE")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.fit import fit
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._formats.role import load_role
        from repprofile._rendering.report import write_report
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        result = score(
            q, read_cli_answers(args, q), norms=args.norms, ci=args.ci, **sjt_options(args)
        )
        warn_if_simulated(result.norms)
        role = load_role(args.role, q)
        fitted = fit(result, role, cut=args.cut)
        if args.all:
            _report_all(args, result, role, fitted)
        else:
            if args.candidate not in result.candidate_ids:
                raise UsageError(f"no candidate {args.candidate!r} in {args.answers}")
            out = Path(args.output)
            if out.suffix.lower() not in (".pdf", ".html", ".htm"):
                out = out / f"{args.candidate}.{args.format}"
            write_report(result, args.candidate, role, out, date=args.date, fit_result=fitted)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return run_capturing_warnings(run)


def _report_all(
    args: argparse.Namespace, result: ScoreResult, role: Role, fitted: FitResult
) -> None:
    """A report per scored candidate into the folder -o, named by the candidate id."""
    from repprofile._rendering.report import write_report

    ids = [c for c, ok in zip(result.candidate_ids, result.scored, strict=True) if ok]
    folder = Path(args.output)
    for i, cid in enumerate(ids, start=1):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cid)
        write_report(
            result,
            cid,
            role,
            folder / f"{safe}.{args.format}",
            date=args.date,
            fit_result=fitted,
        )
        if not args.quiet:
            progress(i, len(ids), "reports")
    print(f"repprofile: {len(ids)} reports written to {folder}", file=sys.stderr)
