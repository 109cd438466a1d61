"""``repprofile norms build``: a norm table from a sample of answers."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    Parser,
    add_answers,
    add_questionnaire,
    missing_action,
    run_capturing_warnings,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``norms`` and its action ``build``."""
    np_ = sub.add_parser("norms", help="build norm tables")
    nsub = np_.add_subparsers(dest="ncommand", metavar="ACTION", parser_class=Parser)
    p = nsub.add_parser("build", help="build a norm table from a sample of answers")
    add_answers(p)
    add_questionnaire(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="norm table JSON to write")
    p.add_argument(
        "--description",
        required=True,
        help="who the sample is: population, period, selection (shown with every use)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date to record (default today)")
    p.add_argument("--simulated", action="store_true", help="mark a simulated norm sample")
    p.set_defaults(func=_cmd_build)
    np_.set_defaults(func=missing_action(np_))


def _cmd_build(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.norms import build_norms
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        table = build_norms(
            q,
            read_cli_answers(args, q),
            description=args.description,
            created=args.date,
            simulated=args.simulated,
            **sjt_options(args),
        )
        write_output(table.to_json() + "\n", args.output)
        print(
            f"repprofile: norm table for {q.id} {q.version} from {table.n} candidates "
            f"written to {args.output}",
            file=sys.stderr,
        )
        for name, (supported, reason) in table.quality_support().items():
            if name in ("mahalanobis_d2", "psychsyn"):  # the others need no table
                print(
                    f"repprofile: quality index {name}: "
                    f"{'supported' if supported else 'NOT supported'} ({reason})",
                    file=sys.stderr,
                )
        return EXIT_OK

    return run_capturing_warnings(run)
