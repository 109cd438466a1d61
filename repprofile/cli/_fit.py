"""``repprofile fit`` and ``repprofile rank``: role fit of each candidate, and rankings."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_answers,
    add_ci,
    add_norms,
    add_output,
    fit_cut,
    positive_int,
    run_capturing_warnings,
    warn_if_simulated,
    write_output,
)

if TYPE_CHECKING:
    from repprofile._analysis.scoring import ScoreResult
    from repprofile._formats.role import Role
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``fit`` and ``rank`` (the same options; rank adds --top, --exclude-flagged)."""
    for name, helptext in (
        ("fit", "fit of each candidate for one or more roles (and the best-fit role)"),
        ("rank", "rank candidates for a role, best first"),
    ):
        p = sub.add_parser(name, help=helptext)
        add_answers(p)
        p.add_argument(
            "--role",
            action="append",
            required=True,
            metavar="ROLE",
            help="bundled role id or role file"
            + (" (repeat for several)" if name == "fit" else ""),
        )
        p.add_argument(
            "-q",
            "--questionnaire",
            metavar="ID_OR_FILE",
            help="questionnaire (default: the role's)",
        )
        add_norms(p, "norm table: z scores and SEMs from norms")
        p.add_argument(
            "--cut", type=fit_cut, default=50.0, help="fit cut for P(fit > cut) (default 50)"
        )
        add_ci(p, 0.90, "confidence level of fit intervals (default 0.90)")
        add_output(p)
        if name == "rank":
            p.add_argument("--top", type=positive_int, metavar="K", help="only the best K")
            p.add_argument(
                "--exclude-flagged",
                action="store_true",
                help="leave out candidates with quality flags",
            )
            p.add_argument("--format", choices=["json", "csv", "text"], default="json")
            p.set_defaults(func=_cmd_rank)
        else:
            p.add_argument("--format", choices=["json", "text"], default="json")
            p.set_defaults(func=_cmd_fit)


def _score_for_fit(args: argparse.Namespace) -> tuple[ScoreResult, list[Role]]:
    from repprofile._analysis.scoring import score
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._formats.role import load_role
    from repprofile.cli._common import read_cli_answers, sjt_options

    if args.questionnaire:
        q = load_questionnaire(args.questionnaire)
        roles = [load_role(r, q) for r in args.role]
    else:
        roles = [load_role(r) for r in args.role]
        q = load_questionnaire(roles[0].questionnaire)
        for r in roles:
            r.check_against(q)
    result = score(q, read_cli_answers(args, q), norms=args.norms, ci=args.ci, **sjt_options(args))
    warn_if_simulated(result.norms)
    return result, roles


def _cmd_fit(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.fit import fit, fit_report

        result, roles = _score_for_fit(args)
        doc = fit_report(result, [fit(result, r, cut=args.cut) for r in roles])
        if args.format == "text":
            from repprofile._rendering.text import fit_text

            write_output(fit_text(doc), args.output)
        else:
            write_output(json.dumps(doc, indent=2, allow_nan=False) + "\n", args.output)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return run_capturing_warnings(run)


def _cmd_rank(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.fit import fit, rank
        from repprofile._rendering.text import ranking_csv, ranking_text

        if len(args.role) != 1:
            raise UsageError("rank takes one --role")
        result, roles = _score_for_fit(args)
        doc = rank(
            fit(result, roles[0], cut=args.cut), top=args.top, exclude_flagged=args.exclude_flagged
        )
        if args.format == "json":
            write_output(json.dumps(doc, indent=2, allow_nan=False) + "\n", args.output)
        elif args.format == "csv":
            write_output(ranking_csv(doc, list(roles[0].weights)), args.output)
        else:
            write_output(ranking_text(doc, args.cut), args.output)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return run_capturing_warnings(run)
