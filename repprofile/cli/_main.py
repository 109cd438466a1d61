"""The ``repprofile`` command line: the parser and ``main``.

Exit status: 0 every candidate was scored; 1 some candidates were rejected (they are
listed in the output's ``errors``); 2 unusable input or a usage error.

Every command group lives in its own module with a ``register(subparsers)`` that adds
its parser(s) and handler; :func:`build_parser` calls them in the order of
:data:`COMMANDS`. Only the standard library and the version are imported at start-up;
numpy, pydantic and the rest are imported inside the commands that need them, so
``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from repprofile._version import __version__
from repprofile.cli import (
    _assess,
    _audit,
    _calibrate,
    _chart,
    _completion,
    _convert,
    _demo,
    _fit,
    _norms,
    _quality,
    _questionnaire,
    _reliability,
    _report,
    _roles,
    _score,
    _serve,
    _sjt,
    _web,
)
from repprofile.cli._common import EXIT_OK, EXIT_USAGE, Parser, UsageError

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    _questionnaire.register,
    _score.register,
    _reliability.register,
    _quality.register,
    _roles.register,
    _fit.register,  # fit and rank
    _chart.register,
    _report.register,
    _calibrate.register,
    _sjt.register,
    _norms.register,
    _convert.register,
    _assess.register,
    _audit.register,
    _serve.register,
    _web.register,  # db, invite, invitations, results, purge
    _demo.register,
    _completion.register,
)
"""The command groups, in the order of ``repprofile --help`` and docs/cli.md."""

_COMMON_HELP = {
    "questionnaire": "bundled questionnaire id or questionnaire file",
    "format": "output format",
    "ci": "confidence level of the intervals, e.g. 0.90 or 90",
    "cut": "fit cut (0-100) for P(fit > cut) and 'near cut' (default 50)",
    "candidate": "candidate id",
    "role": "bundled role id or role file",
    "output": "output file (or folder), written atomically",
    "file": "file to check",
    "answers": "CSV or JSON answers file, or - for stdin",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to generate the CLI reference page)."""
    parser = Parser(
        prog="repprofile",
        description=(
            "Score customer-service rep candidates on the seven rep types, with the "
            "statistics to judge the scores. Exit status: 0 ok, 1 some candidates "
            "rejected, 2 usage or input error."
        ),
    )
    parser.add_argument("--version", action="version", version=f"repprofile {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for register in COMMANDS:
        register(sub)
    parser.set_defaults(root_parser=parser)  # for `completion`, which walks it
    _fill_help(parser)
    return parser


def _fill_help(parser: argparse.ArgumentParser) -> None:
    """Give every argument without its own help the common one for its name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _fill_help(sub)
        elif action.help is None and action.dest in _COMMON_HELP:
            action.help = _COMMON_HELP[action.dest]


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"repprofile: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        from repprofile._errors import RepprofileError

        if isinstance(exc, RepprofileError):
            print(f"repprofile: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
