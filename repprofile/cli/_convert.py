"""``repprofile convert``: a survey tool's export to the wide answers CSV."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_answers,
    add_output,
    run_capturing_warnings,
    warn_rejected,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``convert``."""
    p = sub.add_parser(
        "convert",
        help="convert a survey tool's export to an answers CSV",
        description=(
            "Read a survey tool's export (Google Forms, Microsoft Forms, Typeform, "
            "SurveyMonkey, Qualtrics; CSV or .xlsx) with a mapping file and write the wide "
            "answers CSV every command reads: candidate_id, one column per item id, and "
            "seconds when the mapping names time columns. Rejected candidates are listed "
            "on stderr and left out (exit status 1). Make a mapping with 'repprofile "
            "questionnaire template ID --format mapping'."
        ),
    )
    add_answers(p, "EXPORT", "the export file (CSV or .xlsx), or - for stdin", True, scoring=False)
    p.add_argument(
        "-q",
        "--questionnaire",
        metavar="ID_OR_FILE",
        help="bundled id or questionnaire file (default: the mapping's 'questionnaire')",
    )
    p.add_argument(
        "--strict", action="store_true", help="any rejected candidate is fatal (exit status 2)"
    )
    add_output(p)
    p.set_defaults(func=_cmd_convert)


def _cmd_convert(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._formats.mapping import load_mapping
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._input.answers import answers_csv
        from repprofile._input.problems import count_candidates
        from repprofile.cli._common import read_cli_answers

        qid = args.questionnaire or load_mapping(args.mapping).questionnaire
        answers = read_cli_answers(args, load_questionnaire(qid))
        rejected = answers.rejected if answers.rejected is not None else [False] * answers.n
        n_bad, n_all = count_candidates(answers.candidate_ids(), rejected)
        if n_bad:
            warn_rejected(answers.errors)
            if args.strict:
                raise UsageError(f"--strict: {n_bad} candidate(s) rejected; nothing was written")
        text, n_rows = answers_csv(answers)
        write_output(text, args.output)
        where = args.output if args.output else "stdout"
        print(
            f"repprofile: {n_rows} candidate(s) written to {where}"
            + (f"; {n_bad} of {n_all} rejected and left out" if n_bad else ""),
            file=sys.stderr,
        )
        return EXIT_REJECTED if n_bad else EXIT_OK

    return run_capturing_warnings(run)
