"""The CLI reference page (docs/cli.md), generated from the argument parser.

Regenerate with ``python -m repprofile.cli._reference > docs/cli.md``; a test checks that the
committed page equals this output, so the reference never drifts from the parser.
"""

from __future__ import annotations

import argparse
import functools

from repprofile.cli._main import build_parser

__all__ = ["cli_reference"]

INTRO = """# Command-line reference

Generated from the argument parser (`python -m repprofile.cli._reference > docs/cli.md`); a test
keeps this page in sync with the code.

Exit status of every command: **0** everything was done; **1** some candidates were
rejected (they are listed in the output's errors); **2** usage error or unusable input
(also `--strict` when a candidate is rejected); **3** `audit --fail-on-adverse-impact`
found adverse impact (when that command exists). Warnings and progress go to stderr,
results to stdout or `-o FILE`; output files are written atomically.
"""


def _subparsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    out: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.extend(action.choices.items())
    return out


def _section(path: str, parser: argparse.ArgumentParser, level: int) -> list[str]:
    lines = [f"{'#' * level} `{path}`", ""]
    if parser.description:
        lines += [parser.description, ""]
    # a fixed width, so the page does not depend on the terminal it is made in
    parser.formatter_class = functools.partial(argparse.HelpFormatter, width=100)
    usage = parser.format_usage().replace("usage: ", "").strip()
    lines += ["```", usage, "```", ""]
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(action.option_strings) or (action.metavar or action.dest)
        default = (
            ""
            if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings
            else f" (default: `{action.default}`)"
        )
        choices = f" One of: {', '.join(map(str, action.choices))}." if action.choices else ""
        text = (action.help or "").replace("%%", "%").replace("|", "\\\\|")
        rows.append(f"| `{name}` | {text}{choices}{default} |")
    if rows:
        lines += ["| argument | meaning |", "| --- | --- |", *rows, ""]
    for name, sub in _subparsers(parser):
        lines += _section(f"{path} {name}", sub, min(level + 1, 4))
    return lines


def cli_reference() -> str:
    """The Markdown reference of every command and option."""
    parser = build_parser()
    lines = [INTRO]
    for name, sub in _subparsers(parser):
        lines += _section(f"repprofile {name}", sub, 2)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(cli_reference())
