"""``repprofile score``: scores on every scale as JSON, CSV, streamed NDJSON or a table."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_answers,
    add_ci,
    add_norms,
    add_output,
    read_cli_answers,
    run_capturing_warnings,
    sjt_options,
    warn_if_simulated,
    warn_rejected,
    write_output,
)

if TYPE_CHECKING:
    from repprofile._analysis.scoring import ScoreResult
    from repprofile._formats.questionnaire import Questionnaire
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``score``."""
    p = sub.add_parser("score", help="score answers on every scale")
    add_answers(p)
    p.add_argument(
        "-q",
        "--questionnaire",
        default="rep-types",
        metavar="ID_OR_FILE",
        help="bundled questionnaire id or questionnaire file (default: rep-types)",
    )
    p.add_argument(
        "--format",
        choices=["json", "csv", "ndjson", "table"],
        default="json",
        help="json (one document), csv, ndjson (one line per candidate, streamed) or table",
    )
    add_output(p)
    add_norms(p, "norm table (repprofile norms build): z, T, percentiles")
    p.add_argument(
        "--strict", action="store_true", help="any rejected candidate is fatal (exit status 2)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_ci(p, 0.90, "confidence level of score intervals (default 0.90)")
    p.add_argument(
        "--reliability",
        choices=["alpha", "omega_total"],
        default="alpha",
        help="reliability estimate of the norm table for the SEM (default alpha)",
    )

    p.set_defaults(func=_cmd_score)


def _cmd_score(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire

        q = load_questionnaire(args.questionnaire)
        if args.format == "ndjson" and not args.mapping:
            return _score_ndjson(args, q)
        answers = read_cli_answers(args, q)
        result = score(
            q,
            answers,
            norms=args.norms,
            ci=args.ci,
            reliability=args.reliability,
            **sjt_options(args),
        )
        if args.strict and not result.scored.all():
            from repprofile._input.problems import count_candidates

            warn_rejected(result.errors)
            raise UsageError(
                f"--strict: {count_candidates(result.candidate_ids, ~result.scored)[0]} "
                "candidate(s) rejected; "
                "nothing was written"
            )
        warn_if_simulated(result.norms)
        _write_scores(result, args.format, args.output)
        from repprofile._input.problems import count_candidates

        n_bad, n_all = count_candidates(result.candidate_ids, ~result.scored)
        if n_bad:
            print(
                f"repprofile: {n_bad} of {n_all} candidates rejected; see 'errors'",
                file=sys.stderr,
            )
            return EXIT_REJECTED
        return EXIT_OK

    return run_capturing_warnings(run)


def _write_scores(result: ScoreResult, fmt: str, output: str | None) -> None:
    """A scored batch as a table, CSV or one JSON document (table and CSV warn rejects)."""
    if fmt == "table":
        from repprofile._rendering.text import profile_table, sjt_provenance

        note = "Scores are POMP (0-100)."
        if result.questionnaire.has_sjt:
            sjt = sjt_provenance(result.provenance.model_dump(mode="json"))
            note += f" Skill scales: situational judgment{sjt.replace('; SJT', ',')}."
        if result.norms is not None:
            note += f" Norms: {result.norms.description}"
        write_output(profile_table(result) + "\n" + note + "\n", output)
        warn_rejected(result.errors)
    elif fmt == "csv":
        from repprofile._rendering.text import scores_csv

        write_output(scores_csv(result), output)
        warn_rejected(result.errors)
    else:
        write_output(result.to_json() + "\n", output)


def _score_ndjson(args: argparse.Namespace, q: Questionnaire) -> int:
    """Stream NDJSON (memory stays flat); a file output is written atomically."""
    from repprofile._analysis.stream import stream_score
    from repprofile._formats.norms import load_norms
    from repprofile._io import atomic_text

    table = load_norms(args.norms) if args.norms else None
    warn_if_simulated(table)

    def progress(done: int) -> None:
        if not args.quiet and sys.stderr.isatty():
            sys.stderr.write(f"\rscored {done:,} candidates")
            sys.stderr.flush()

    def run(out: TextIO) -> tuple[int, int]:
        return stream_score(
            args.answers,
            q,
            out,
            norms=table,
            ci=args.ci,
            reliability=args.reliability,
            progress=progress,
            encoding=args.encoding,
            **sjt_options(args),
        )

    if args.output and args.output != "-":
        with atomic_text(args.output) as fh:
            scored, rejected = run(fh)
            if args.strict and rejected:
                raise UsageError(f"--strict: {rejected} candidate(s) rejected; nothing was written")
    else:
        scored, rejected = run(sys.stdout)
        sys.stdout.flush()
        if args.strict and rejected:
            raise UsageError(f"--strict: {rejected} candidate(s) rejected (see the error lines)")
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write("\n")
    if rejected:
        print(
            f"repprofile: {rejected} of {scored + rejected} candidates rejected; see the "
            "error lines",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    return EXIT_OK
