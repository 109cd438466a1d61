"""``repprofile quality``: response-quality indices and flags per candidate."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    add_answers,
    add_norms,
    add_output,
    add_questionnaire,
    run_capturing_warnings,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``quality``."""
    p = sub.add_parser("quality", help="response-quality indices and flags per candidate")
    add_answers(p)
    add_questionnaire(p)
    add_norms(p, "norm table: reference sample for small batches")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_output(p)
    p.set_defaults(func=_cmd_quality)


def _cmd_quality(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._rendering.text import quality_json, quality_text
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        result = score(q, read_cli_answers(args, q), norms=args.norms, **sjt_options(args))
        if args.format == "json":
            write_output(quality_json(result), args.output)
        else:
            write_output(quality_text(result), args.output)
        n_bad = len(result) - int(result.scored.sum())
        return EXIT_REJECTED if n_bad else EXIT_OK

    return run_capturing_warnings(run)
