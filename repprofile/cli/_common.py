"""What every command of the ``repprofile`` command line shares.

Exit codes, the usage error, output and warnings on stderr, the number parsers of
options, the arguments many commands take (ANSWERS, -q, -o, --norms, --ci, --mapping
and --from) and the parser class. Only the standard library (and two tuples of the
survey reader, itself standard library at load) is imported here, so building the
parser stays fast; the commands import numpy, pydantic and the rest when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from repprofile._formats.mapping import EXPORT_FORMATS
from repprofile._input.problems import DUPLICATES

if TYPE_CHECKING:
    from typing import TypeAlias

    from repprofile._formats.norms import NormTable
    from repprofile._formats.questionnaire import Questionnaire
    from repprofile._input.answers import AnswerSet, CandidateError

    Subparsers: TypeAlias = argparse._SubParsersAction[Any]
    """What ``register(subparsers)`` of every command module receives."""

__all__ = [
    "EXIT_ADVERSE_IMPACT",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "Parser",
    "UsageError",
    "add_answers",
    "add_ci",
    "add_norms",
    "add_output",
    "add_questionnaire",
    "add_sjt_scoring",
    "add_survey_options",
    "ci_level",
    "fit_cut",
    "missing_action",
    "port",
    "positive_int",
    "progress",
    "read_cli_answers",
    "run_capturing_warnings",
    "sjt_options",
    "warn",
    "warn_if_simulated",
    "warn_rejected",
    "write_output",
]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_ADVERSE_IMPACT = 3

SJT_METHOD_CHOICES = (
    "distance",
    "absolute",
    "standardized",
    "correlation",
    "most_least",
    "best",
    "mode",
    "proportion",
)
"""``--sjt-method`` choices: ``repprofile._formats.questionnaire.SJT_METHODS`` (kept here
so building the parser imports no pydantic; a test checks the two are equal)."""


class UsageError(Exception):
    """A problem the user must fix; printed without a traceback, exit status 2."""


# --------------------------------------------------------------------------- output


def write_output(text: str, output: str | None) -> None:
    """Write ``text`` to stdout, or atomically to a file (temp file + rename)."""
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from repprofile._io import write_atomic

    write_atomic(output, text.encode("utf-8"))


def warn(message: str) -> None:
    """A warning on stderr, prefixed ``repprofile: warning:``."""
    print(f"repprofile: warning: {message}", file=sys.stderr)


def warn_if_simulated(norms: NormTable | None) -> None:
    """Every command that uses a simulated norm table says so on stderr."""
    if norms is not None and norms.simulated:
        warn(f"the norm table is SIMULATED, not real people: {norms.description}")


def warn_rejected(errors: Iterable[CandidateError]) -> None:
    """The problems of rejected candidates on stderr, at most ten lines per candidate
    then ``... and N more problems for candidate X``; a blank id is shown as
    ``(blank id), row 5``."""
    from repprofile._input.problems import cap_problems, more_count, who

    for e in cap_problems(list(errors)):
        n = more_count(e)
        if n is not None:
            warn(f"... and {n} more problems for {who(e)}")
        else:
            warn(f"{who(e)} rejected: {e.message}")


def run_capturing_warnings(fn: Callable[[], int]) -> int:
    """Run a command; the library's warnings become ``repprofile: warning:`` lines."""
    import warnings

    from repprofile._input.answers import RepprofileWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RepprofileWarning)
        code = fn()
    for w in caught:
        if issubclass(w.category, RepprofileWarning):
            warn(str(w.message))
        else:  # pragma: no cover - library warnings outside our own category
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return code


def progress(done: int, total: int, label: str) -> None:
    """A progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{label} [{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- numbers


def _number(text: str, kind: type[float] | type[int], example: str) -> float:
    """Parse a CLI number, or a usage error (exit status 2) that shows an example."""
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(
            f"must be {what} such as {example}, got {text!r}"
        ) from None


def fit_cut(text: str) -> float:
    """``--cut``: a fit between 0 and 100 (exclusive)."""
    v = _number(text, float, "50")
    if not 0.0 < v < 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 (exclusive), got {text!r}")
    return v


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    v = int(_number(text, int, "10"))
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return v


def port(text: str) -> int:
    """``--port``: 0 to 65535."""
    v = int(_number(text, int, "8000"))
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return v


def ci_level(text: str) -> float:
    """``--ci``: a level between 0 and 1, or a percentage such as 90."""
    v = _number(text, float, "0.90")
    if 50.0 <= v < 100.0:  # a percentage such as 90 or 95
        v /= 100.0
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.90), got {text!r}")
    return v


# --------------------------------------------------------------------------- arguments


def add_answers(
    p: argparse.ArgumentParser,
    metavar: str = "ANSWERS",
    help: str = "CSV (separated by , ; or tabs), .xlsx or JSON answers file, or - for stdin",
    mapping_required: bool = False,
    scoring: bool = True,
) -> None:
    """The answers argument (a file or - for stdin; ``metavar`` and ``help`` name it) and
    how to read it: --encoding, --duplicates, --mapping (required when
    ``mapping_required``), --from; and, when the command scores them (``scoring``),
    how SJT items are scored: --sjt-method, --sjt-key (:func:`add_sjt_scoring`)."""
    p.add_argument("answers", metavar=metavar, help=help)
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help=(
            f"text encoding of {metavar}, e.g. cp1252 for a file Windows Excel saved as plain "
            "CSV (default: UTF-8 with or without BOM, or UTF-16 with BOM)"
        ),
    )
    p.add_argument(
        "--duplicates",
        choices=list(DUPLICATES),
        default="reject",
        help=(
            "a candidate id on several rows (submitted twice): reject them all (default), "
            "or read only the first or the last row, with a warning naming what was dropped"
        ),
    )
    add_survey_options(p, metavar, mapping_required)
    if scoring:
        add_sjt_scoring(p)


def add_sjt_scoring(p: argparse.ArgumentParser) -> None:
    """``--sjt-method`` and ``--sjt-key`` of every command that scores answers."""
    g = p.add_argument_group("situational judgment (SJT) items")
    g.add_argument(
        "--sjt-method",
        choices=list(SJT_METHOD_CHOICES),
        help=(
            "how SJT items are scored (default: the questionnaire's sjt.method; mode and "
            "proportion need --sjt-key; docs/sjt.md)"
        ),
    )
    g.add_argument(
        "--sjt-key",
        metavar="KEY_FILE",
        help=(
            "an SME key file (repprofile sjt key build) that replaces the keys written in "
            "the questionnaire; provenance records its sha256"
        ),
    )


def sjt_options(args: argparse.Namespace) -> dict[str, Any]:
    """``sjt_method=`` and ``sjt_key=`` of :func:`repprofile.score` from the options of
    :func:`add_sjt_scoring` (None when a command has no such options)."""
    return {
        "sjt_method": getattr(args, "sjt_method", None),
        "sjt_key": getattr(args, "sjt_key", None),
    }


def add_questionnaire(p: argparse.ArgumentParser) -> None:
    """``-q/--questionnaire`` with the default rep-types and the common help."""
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")


def add_output(p: argparse.ArgumentParser) -> None:
    """``-o/--output FILE``, stdout when left out."""
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def add_norms(p: argparse.ArgumentParser, help: str) -> None:
    """``--norms ID_OR_FILE`` (a norm table file, else a bundled norm table id, resolved
    by :func:`repprofile._formats.norms.load_norms`) with what the table is used for."""
    p.add_argument(
        "--norms",
        metavar="ID_OR_FILE",
        help=f"{help} (a norm table file or a bundled id such as rep-types-simulated)",
    )


def add_ci(p: argparse.ArgumentParser, default: float = 0.90, help: str | None = None) -> None:
    """``--ci LEVEL``, parsed by :func:`ci_level`."""
    p.add_argument("--ci", type=ci_level, default=default, metavar="LEVEL", help=help)


def add_survey_options(
    parser: argparse.ArgumentParser, metavar: str = "ANSWERS", required: bool = False
) -> None:
    """Add ``--mapping FILE`` and ``--from FORMAT`` to a command reading ``metavar``."""
    parser.add_argument(
        "--mapping",
        metavar="FILE",
        required=required,
        help=(
            f"{metavar} is a survey tool's export (Google Forms, Microsoft Forms, Typeform, "
            "SurveyMonkey, Qualtrics); FILE maps its columns and labels to the questionnaire"
        ),
    )
    parser.add_argument(
        "--from",
        dest="survey_format",
        choices=list(EXPORT_FORMATS),
        help="layout of the export (default: 'format' in the mapping, else generic)",
    )


def read_cli_answers(args: argparse.Namespace, questionnaire: Questionnaire) -> AnswerSet:
    """ANSWERS of a command: a survey export when ``--mapping`` is given, else read_answers."""
    from repprofile._errors import InputError

    mapping = getattr(args, "mapping", None)
    kind = getattr(args, "survey_format", None)
    encoding = getattr(args, "encoding", None)
    duplicates = getattr(args, "duplicates", "reject")
    if mapping is None:
        if kind is not None:
            raise InputError(
                f"--from {kind} needs --mapping FILE, the mapping of the export's columns to "
                "item ids"
            )
        from repprofile._input.answers import read_answers

        return read_answers(args.answers, questionnaire, encoding=encoding, duplicates=duplicates)
    from repprofile._input.survey import read_survey

    return read_survey(
        args.answers, questionnaire, mapping, kind, encoding=encoding, duplicates=duplicates
    )


# --------------------------------------------------------------------------- parser


class Parser(argparse.ArgumentParser):
    """argparse's parser with its exit status 2 and a ``repprofile: error:`` prefix."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"repprofile: error: {message}\n")


def missing_action(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The handler of a command group called without its ACTION: its help, exit status 2."""

    def handler(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    return handler
