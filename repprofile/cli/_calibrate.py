"""``repprofile calibrate``: learn role weights from performance data."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    add_answers,
    add_norms,
    add_questionnaire,
    positive_int,
    run_capturing_warnings,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``calibrate``."""
    p = sub.add_parser("calibrate", help="learn role weights from performance data")
    add_answers(p)
    p.add_argument(
        "--performance",
        required=True,
        metavar="FILE",
        help="CSV with candidate_id and the criterion column",
    )
    p.add_argument(
        "--column", required=True, metavar="NAME", help="criterion column, e.g. qa_score"
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="role YAML to write")
    add_questionnaire(p)
    add_norms(p, "norm table: standardize with norms")
    p.add_argument(
        "--id", metavar="ROLE_ID", help="id of the role written (default calibrated-COLUMN)"
    )
    p.add_argument(
        "--folds", type=positive_int, default=10, help="k of k-fold cross-validation (default 10)"
    )
    p.add_argument(
        "--bootstrap", type=positive_int, default=1000, help="bootstrap resamples (default 1000)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date to record (default today)")
    p.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.calibrate import calibrate, read_performance, role_yaml
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        result = score(q, read_cli_answers(args, q), norms=args.norms, **sjt_options(args))
        perf = read_performance(args.performance, args.column)
        cal = calibrate(
            result,
            perf,
            criterion=args.column,
            role_id=args.id,
            folds=args.folds,
            bootstrap=args.bootstrap,
            seed=args.seed,
            created=args.date,
        )
        write_output(role_yaml(cal.role), args.output)
        lo, hi = cal.validity_ci
        print(
            f"repprofile: calibrated on {cal.n} candidates: cross-validated validity "
            f"r = {cal.validity:.3f} ({cal.validity_ci_level:.0%} CI {lo:.3f} to {hi:.3f}); "
            f"role written to {args.output}",
            file=sys.stderr,
        )
        for sid, w in cal.weights.items():
            a, b = cal.weights_ci[sid]
            print(f"  {sid:14s} {w:+.3f}  [{a:+.3f}, {b:+.3f}]", file=sys.stderr)
        return EXIT_OK

    return run_capturing_warnings(run)
