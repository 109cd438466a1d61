"""``repprofile sjt key build``: a situational-judgment key from experts' ratings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    Parser,
    missing_action,
    run_capturing_warnings,
    warn,
    write_output,
)

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``sjt`` and its action ``key build``."""
    sp = sub.add_parser("sjt", help="situational judgment tests: build an SME key")
    ssub = sp.add_subparsers(dest="sjt_command", metavar="ACTION", parser_class=Parser)
    kp = ssub.add_parser("key", help="SJT keys from subject-matter experts")
    ksub = kp.add_subparsers(dest="key_command", metavar="ACTION", parser_class=Parser)
    p = ksub.add_parser(
        "build",
        help="build a consensus key (mean expert rating per option) and an agreement report",
    )
    p.add_argument(
        "ratings",
        metavar="RATINGS",
        help="CSV or .xlsx: one row per expert, an expert_id column and one ITEM.OPTION column "
        "per option",
    )
    p.add_argument("-q", "--questionnaire", required=True, metavar="ID_OR_FILE")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="key YAML to write")
    p.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    p.add_argument(
        "--sd-threshold",
        type=float,
        default=1.0,
        metavar="SD",
        help="flag options whose SME SD exceeds SD (default 1.0)",
    )
    p.add_argument(
        "--best-gap",
        type=float,
        default=0.5,
        metavar="GAP",
        help="flag scenarios whose two best option means are less than GAP apart (default 0.5)",
    )
    p.add_argument("--source", metavar="TEXT", help="where the ratings came from, kept in the key")
    p.set_defaults(func=_cmd_build)
    kp.set_defaults(func=missing_action(kp))
    sp.set_defaults(func=missing_action(sp))


def _cmd_build(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.sjt_key import build_sjt_key

        result = build_sjt_key(
            args.ratings,
            args.questionnaire,
            sd_threshold=args.sd_threshold,
            best_gap=args.best_gap,
            source=args.source,
        )
        write_output(result.key_yaml(), args.output)
        if args.format == "json":
            sys.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
        else:
            sys.stdout.write(result.to_text())
        for e in result.errors:
            who = f"expert {e.expert_id!r}" if e.expert_id else f"(blank id), row {e.row}"
            warn(f"{who} rejected: {e.message}")
        print(
            f"repprofile: key from {result.n_experts} experts written to {args.output}",
            file=sys.stderr,
        )
        return EXIT_REJECTED if result.errors else EXIT_OK

    return run_capturing_warnings(run)
