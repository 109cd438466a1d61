"""``repprofile audit``: adverse-impact audit (four-fifths rule, LL144 bias-audit tables)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_ADVERSE_IMPACT,
    EXIT_OK,
    add_output,
    run_capturing_warnings,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``audit``."""
    p = sub.add_parser(
        "audit", help="adverse-impact audit: four-fifths rule and LL144 bias-audit tables"
    )
    p.add_argument(
        "file",
        metavar="FILE",
        help="CSV: candidate_id, outcome, group columns (or those of --join)",
    )
    p.add_argument(
        "--group",
        action="append",
        required=True,
        metavar="COL",
        help="demographic column (repeat for several; pairs give intersections)",
    )
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--selected", metavar="COL", help="0/1 selection outcome column")
    outcome.add_argument(
        "--score", metavar="COL", help="score column: scoring rate = share above the sample median"
    )
    p.add_argument(
        "--unknown",
        action="append",
        metavar="VALUE",
        help="another value meaning 'unknown' (blank and 'unknown' always do)",
    )
    p.add_argument(
        "--exclude-small",
        action="store_true",
        help="leave categories under 2%% of the sample out of impact ratios",
    )
    p.add_argument(
        "--scale",
        action="append",
        metavar="COL",
        help="scale score column for standardized mean differences (repeat)",
    )
    p.add_argument(
        "--reference",
        action="append",
        metavar="CATEGORY",
        help="the reference category of its column (repeat for several columns; "
        "default: the highest rate among categories that are not non-answers)",
    )
    p.add_argument(
        "--join",
        metavar="FILE",
        help="CSV of demographics joined to FILE by candidate id (unmatched ids are reported)",
    )
    p.add_argument(
        "--id-column",
        default="candidate_id",
        metavar="NAME",
        help="the candidate id column of FILE and of --join (default: candidate_id)",
    )
    p.add_argument("--format", choices=["json", "md", "html"], default="json")
    add_output(p)
    p.add_argument(
        "--fail-on-adverse-impact",
        action="store_true",
        help="exit with status 3 when any impact ratio is below 0.8",
    )
    p.set_defaults(func=_cmd_audit)


def _cmd_audit(args: argparse.Namespace) -> int:
    return run_capturing_warnings(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from repprofile._analysis.audit import audit
    from repprofile._rendering.audit import to_html, to_markdown

    result = audit(
        args.file,
        groups=args.group,
        selected=args.selected,
        score=args.score,
        unknown=args.unknown or (),
        exclude_small=args.exclude_small,
        scales=args.scale or (),
        reference=args.reference,
        join=args.join,
        id_column=args.id_column,
    )
    if args.format == "md":
        write_output(to_markdown(result), args.output)
    elif args.format == "html":
        write_output(to_html(result), args.output)
    else:
        write_output(result.model_dump_json(indent=2) + "\n", args.output)
    if args.fail_on_adverse_impact and result.adverse_impact:
        print("repprofile: adverse impact found (impact ratio below 0.8)", file=sys.stderr)
        return EXIT_ADVERSE_IMPACT
    return EXIT_OK
