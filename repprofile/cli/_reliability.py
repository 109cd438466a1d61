"""``repprofile reliability``: reliability and item analysis of every scale."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from repprofile.cli._common import (
    EXIT_OK,
    add_answers,
    add_ci,
    add_output,
    add_questionnaire,
    run_capturing_warnings,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``reliability``."""
    p = sub.add_parser("reliability", help="reliability and item analysis of every scale")
    add_answers(p)
    add_questionnaire(p)
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_ci(p, 0.95, "level of the Feldt interval for alpha (default 0.95, as R psych)")
    add_output(p)
    p.set_defaults(func=_cmd_reliability)


def _cmd_reliability(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.reliability import reliability
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._rendering.text import reliability_text
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        answers: Any = read_cli_answers(args, q)
        if args.sjt_method is not None or args.sjt_key is not None:
            from repprofile._analysis.scoring import score

            answers = score(q, answers, **sjt_options(args))  # SJT scored as asked
        rel = reliability(q, answers, ci=args.ci)
        if args.format == "json":
            write_output(rel.to_json() + "\n", args.output)
        else:
            write_output(reliability_text(rel), args.output)
        return EXIT_OK

    return run_capturing_warnings(run)
