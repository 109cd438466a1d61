"""``repprofile assess``: a candidate takes a questionnaire in the terminal.

The questionnaire's title and instructions are shown, then one item at a time with a
counter (``12/80``), the item text and the answer values with their labels. Keys: the
answer (one digit on scales of single-digit values such as 1-5, read without Enter;
otherwise a number and Enter), ``b`` back one item, ``s`` skip (a missing answer),
``q`` quit. Enter on an item answered before keeps that answer.

When standard input is a terminal, keys are read one at a time with the terminal in
cbreak mode (no echo, no line buffering; Ctrl-C still interrupts), and the terminal
settings are restored however the session ends. Otherwise lines are read, one answer
or command a line, so a session can be scripted; the end of input on the final screen
finishes, anywhere else it pauses.

After every keystroke that changes something the session is saved, atomically, to the
progress file ``<out>/<candidate>.progress.json`` (JSON: questionnaire id, version and
source, candidate id, role, answers so far with null for skipped items, position,
timestamps). ``q``, Ctrl-C, a closed terminal (SIGHUP) or SIGTERM leave it in place,
and ``repprofile assess --resume FILE`` carries on where the session stopped. A
progress file of another questionnaire version is refused (exit status 2).

At the end the results are written: ``<out>/<candidate>.json`` (the score JSON
contract of :meth:`ScoreResult.to_dict`, plus ``fit`` with ``--role``, plus the answers
record) and the radar chart ``<out>/<candidate>.png``. The candidate sees a thank-you
screen, never their scores, fit or response-quality flags, unless ``--show-results``
(a recruiter trying the questionnaire) prints the profile instead.

When a person answers at a terminal, the seconds from showing each item to its answer
are added up per item (``item_seconds`` in the progress file and the answers record),
so the response-time check of the quality indices applies; scripted (piped) input
records no times. The result depends on the answers and these times only, so a resumed
session gives the result of an uninterrupted one with the same times. The progress
file is kept, marked ``completed``: resuming it again rewrites the same result.

Only the standard library is imported until the command runs.
"""

from __future__ import annotations

import argparse
import codecs
import json
import math
import os
import re
import shlex
import shutil
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_sjt_scoring,
    run_capturing_warnings,
    warn_if_simulated,
)

if TYPE_CHECKING:
    from repprofile._formats.norms import NormTable
    from repprofile._formats.questionnaire import Questionnaire, ResponseScale, SjtMethod
    from repprofile._formats.role import Role
    from repprofile.cli._common import Subparsers

__all__ = ["register"]

PROGRESS_FORMAT = "repprofile-assess-progress"
PROGRESS_FORMAT_VERSION = 1

EXIT_PAUSED = 1  # q, or the end of input before the last screen: progress saved
EXIT_SIGHUP = 128 + 1
EXIT_SIGINT = 128 + 2
EXIT_SIGTERM = 128 + 15

_CLEAR = "\x1b[H\x1b[2J"
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)?", re.DOTALL)
_MAX_LISTED_VALUES = 11  # scales with more values list only their labelled ones

_EPILOG = """\
keys: the answer (1-5 on a 1-5 scale, no Enter needed; on scales with values above 9
or below 0, type the number and press Enter), b back one item, s skip the item, q quit
and save, Enter keep the answer given before. When standard input is not a terminal,
one answer or command is read per line (an empty line or the end of input on the
final screen finishes).

The progress file (default OUT/CANDIDATE.progress.json) is saved after every key,
with the seconds spent on each item when a person answers at a terminal; resume with
--resume FILE after q, Ctrl-C or a closed terminal. At the end OUT/CANDIDATE.json
(answers, item times, scores, quality, and fit with --role) and the radar chart
OUT/CANDIDATE.png are written, and the candidate sees a thank-you screen; with
--show-results the profile, fit and quality check are printed instead.

exit status: 0 finished; 1 paused with q or end of input (resume with --resume);
2 usage or input error, e.g. a progress file of another questionnaire version;
130 interrupted with Ctrl-C, 129 terminal closed, 143 terminated (progress saved)."""


def register(sub: Subparsers) -> None:
    """Add ``assess``."""
    p = sub.add_parser(
        "assess",
        help="take a questionnaire interactively in the terminal (resumable)",
        description=(
            "Take a questionnaire item by item in the terminal, then see the profile.\n"
            "Answers are saved after every key, so an interrupted session can be resumed."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-q",
        "--questionnaire",
        metavar="ID_OR_FILE",
        help="bundled questionnaire id or questionnaire file "
        "(default: the role's questionnaire, else rep-types; with --resume: the saved one)",
    )
    p.add_argument("--role", metavar="ROLE", help="bundled role id or role file: also show the fit")
    p.add_argument(
        "--candidate",
        metavar="ID",
        help="candidate id, also the file names (default: candidate-DATE-TIME)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder of the progress file and the results "
        "(default: the current folder; with --resume: the progress file's folder)",
    )
    p.add_argument(
        "--resume", metavar="FILE", help="carry on with the session saved in this progress file"
    )
    p.add_argument(
        "--norms", metavar="FILE", help="norm table: adds T scores, percentiles and type clarity"
    )
    shown = p.add_mutually_exclusive_group()
    shown.add_argument(
        "--show-results",
        dest="show_results",
        action="store_true",
        default=None,
        help="at the end, show the profile, the fit and the response-quality check on screen "
        "(for a recruiter trying the questionnaire; kept on --resume)",
    )
    shown.add_argument(
        "--hide-results",
        dest="show_results",
        action="store_false",
        help="at the end, show only a thank-you screen (the default: the candidate is at the "
        "keyboard); the results are written to OUT/CANDIDATE.json either way",
    )
    add_sjt_scoring(p)  # kept in the progress file, like --role and --norms
    p.set_defaults(func=_cmd_assess)


# --------------------------------------------------------------------------- progress


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _safe_name(candidate_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in candidate_id)


def _source(text: str) -> str:
    """A questionnaire/role/norms argument as saved: files by absolute path, ids as given."""
    path = Path(text)
    return str(path.resolve()) if path.is_file() else text


Answer = int | float | str | None
"""A rating, the option id picked (most / least / best of an SJT item), or skipped."""


@dataclass
class _Progress:
    """A session's state, saved as the progress file after every change."""

    path: Path
    questionnaire: str
    questionnaire_id: str
    questionnaire_version: str
    candidate_id: str
    role: str | None
    norms: str | None
    started: str
    answers: dict[str, Answer] = field(default_factory=dict)
    position: int = 0
    completed: str | None = None
    item_seconds: dict[str, float] = field(default_factory=dict)
    show_results: bool = False
    sjt_method: str | None = None
    sjt_key: str | None = None

    def to_dict(self, item_ids: tuple[str, ...]) -> dict[str, Any]:
        sjt = {k: v for k, v in (("sjt_method", self.sjt_method), ("sjt_key", self.sjt_key)) if v}
        return {
            "format": PROGRESS_FORMAT,
            "format_version": PROGRESS_FORMAT_VERSION,
            "questionnaire_id": self.questionnaire_id,
            "questionnaire_version": self.questionnaire_version,
            "questionnaire": self.questionnaire,
            "candidate_id": self.candidate_id,
            "role": self.role,
            "norms": self.norms,
            "answers": {i: self.answers[i] for i in item_ids if i in self.answers},
            "item_seconds": {i: self.item_seconds[i] for i in item_ids if i in self.item_seconds},
            "show_results": self.show_results,
            "position": self.position,
            "started": self.started,
            "updated": _now(),
            "completed": self.completed,
            **sjt,  # only when given: a rep-types progress file is as before
        }

    def save(self, item_ids: tuple[str, ...]) -> None:
        from repprofile._io import write_atomic

        text = (
            json.dumps(self.to_dict(item_ids), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        )
        write_atomic(self.path, text.encode("utf-8"))


def _read_progress(path: Path) -> _Progress:
    def bad(why: str) -> Exception:
        return UsageError(f"{path}: not a usable repprofile assess progress file: {why}")

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such progress file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != PROGRESS_FORMAT:
        raise bad(f"'format' must be {PROGRESS_FORMAT!r}")
    if data.get("format_version") != PROGRESS_FORMAT_VERSION:
        raise bad(
            f"format_version {data.get('format_version')!r} is not supported "
            f"(this repprofile reads {PROGRESS_FORMAT_VERSION})"
        )
    strings = ("questionnaire_id", "questionnaire_version", "questionnaire", "candidate_id")
    for key in (*strings, "started"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise bad(f"{key!r} must be a non-empty string")
    for key in ("role", "norms", "completed", "sjt_method", "sjt_key"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise bad(f"{key!r} must be a string or null")
    answers = data.get("answers")
    if not isinstance(answers, dict) or not all(
        v is None or (isinstance(v, int | float | str) and not isinstance(v, bool))
        for v in answers.values()
    ):
        raise bad("'answers' must map item ids to numbers, option ids or null")
    position = data.get("position")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise bad("'position' must be a whole number from 0")
    item_seconds = data.get("item_seconds", {})
    if not isinstance(item_seconds, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        for v in item_seconds.values()
    ):
        raise bad("'item_seconds' must map item ids to non-negative numbers of seconds")
    show_results = data.get("show_results", False)
    if not isinstance(show_results, bool):
        raise bad("'show_results' must be true or false")
    return _Progress(
        path=path,
        questionnaire=data["questionnaire"],
        questionnaire_id=data["questionnaire_id"],
        questionnaire_version=data["questionnaire_version"],
        candidate_id=data["candidate_id"],
        role=data.get("role"),
        norms=data.get("norms"),
        started=data["started"],
        answers=dict(answers),
        position=position,
        completed=data.get("completed"),
        item_seconds={k: float(v) for k, v in item_seconds.items()},
        show_results=show_results,
        sjt_method=data.get("sjt_method"),
        sjt_key=data.get("sjt_key"),
    )


def _check_progress_fits(progress: _Progress, q: Questionnaire) -> None:
    """Refuse a progress file saved for another questionnaire or version (exit status 2)."""
    saved = f"{progress.questionnaire_id!r} version {progress.questionnaire_version}"
    if (progress.questionnaire_id, progress.questionnaire_version) != (q.id, q.version):
        raise UsageError(
            f"{progress.path} was saved for questionnaire {saved}, but the questionnaire "
            f"({progress.questionnaire}) is {q.id!r} version {q.version}. Answers do not carry "
            f"over to another questionnaire or version: resume with the questionnaire file of "
            f"{saved} (--questionnaire FILE), or start a new assessment."
        )
    unknown = [i for i in progress.answers if i not in q.item_ids]
    if unknown:
        raise UsageError(
            f"{progress.path}: items {', '.join(map(repr, unknown))} are not in {q.id!r} "
            f"version {q.version}; the questionnaire file changed without a new version"
        )
    steps = {s.column: s for s in _steps(q)}
    for item_id, value in progress.answers.items():
        if value is None:
            continue
        step = steps[item_id]
        if step.scale is None:  # most / least / best: an option id
            parsed: Answer = value if value in step.option_ids else None
            expected = f"one of the option ids {', '.join(step.option_ids)}"
        else:
            parsed = None if isinstance(value, str) else _parse_answer(repr(value), step.scale)
            expected = step.scale.describe()
        progress.answers[item_id] = parsed  # 4.0 on a whole-number scale is 4
        if parsed is None:
            raise UsageError(
                f"{progress.path}: the answer to {item_id!r} is {value!r}; "
                f"expected {expected} or null"
            )
    if progress.position > len(steps):
        raise UsageError(
            f"{progress.path}: position {progress.position} is beyond the "
            f"{len(steps)} items of {q.id!r}"
        )


# --------------------------------------------------------------------------- steps


_PICK_QUESTION = {
    "most": "Which response is the MOST effective?",
    "least": "Which response is the LEAST effective?",
    "best": "Which response is the best?",
}


@dataclass(frozen=True)
class _Step:
    """One screen of the session: one answer column of the questionnaire.

    A Likert item is one step (its statement, answered on the response scale). An SJT
    item of the ``rate`` format is one step per response (the scenario, then the
    response to rate on the SJT rating scale); ``most_least`` is two steps (the
    scenario and its numbered responses, asking for the most, then the least
    effective), ``best`` one. A pick is typed as the response's number and saved as
    its option id, under the ``ITEM.most`` / ``ITEM.least`` / ``ITEM.best`` column.
    """

    column: str
    text: str  # the statement, or the scenario
    scale: ResponseScale | None  # None: a pick among the options
    response: str | None = None  # rate: the response to rate
    heading: str | None = None  # rate: "Response 2 of 4"; pick: the question
    options: tuple[tuple[str, str], ...] = ()  # pick: (option id, text)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o for o, _ in self.options)


def _steps(q: Questionnaire) -> list[_Step]:
    """The steps of a questionnaire, in answer-column order (:attr:`item_ids`)."""
    from repprofile._formats.questionnaire import SjtItem

    steps: list[_Step] = []
    for c, column in enumerate(q.item_ids):
        item = q.column_item(c)
        if not isinstance(item, SjtItem):
            steps.append(_Step(column, item.text, q.response_scale))
            continue
        suffix = column.rsplit(".", 1)[1]
        if item.response_format == "rate":
            k = item.option_ids.index(suffix)
            steps.append(
                _Step(
                    column,
                    item.scenario,
                    q.sjt_response_scale,
                    response=item.options[k].text,
                    heading=f"Response {k + 1} of {len(item.options)}:",
                )
            )
        else:
            steps.append(
                _Step(
                    column,
                    item.scenario,
                    None,
                    heading=_PICK_QUESTION[suffix],
                    options=tuple((o.id, o.text) for o in item.options),
                )
            )
    return steps


def _parse_step(token: str, step: _Step) -> Answer:
    """The answer ``token`` stands for at ``step`` (None: not an answer there)."""
    if step.scale is not None:
        return _parse_answer(token, step.scale)
    try:
        k = int(token)
    except ValueError:
        return None
    return step.options[k - 1][0] if 1 <= k <= len(step.options) else None


def _step_single_key(step: _Step) -> bool:
    """One key, no Enter: single-digit ratings, or a pick among at most 9 responses."""
    return _single_key(step.scale) if step.scale is not None else len(step.options) <= 9


def _step_range(step: _Step) -> str:
    """What to answer at ``step``: ``1 to 5``."""
    if step.scale is None:
        return f"1 to {len(step.options)}"
    return f"{step.scale.min} to {step.scale.max}"


# --------------------------------------------------------------------------- answers


def _single_key(rs: ResponseScale) -> bool:
    """Answers are single digits: read one key, no Enter."""
    return rs.integers and rs.min >= 0 and rs.max <= 9


def _parse_answer(token: str, rs: ResponseScale) -> Answer:
    """The answer ``token`` stands for, or None when it is not an answer on the scale."""
    try:
        value: int | float = int(token) if rs.integers else float(token)
    except ValueError:
        if rs.integers:  # "4.0" from a saved float is still the whole number 4
            try:
                f = float(token)
            except ValueError:
                return None
            if not f.is_integer():
                return None
            value = int(f)
        else:
            return None
    if not math.isfinite(value) or not rs.min <= value <= rs.max:
        return None
    return value


def _format_answer(value: Answer, step: _Step | None = None) -> str:
    if value is None:
        return "skipped"
    if isinstance(value, str):  # a picked option: its number on the screen
        ids = step.option_ids if step is not None else ()
        return str(ids.index(value) + 1) if value in ids else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- input


class _Input(Protocol):
    def read(self, number: bool) -> str | None:
        """The next answer or command (stripped; "" for Enter), None at the end of input."""


class _LineInput:
    """One answer or command per line (standard input is not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def read(self, number: bool) -> str | None:
        line = self._stream.readline()
        return None if not line else line.strip()


class _KeyInput:
    """Keys from a terminal in cbreak mode: one key is one command; numbers end at Enter."""

    def __init__(self, fd: int, echo: Callable[[str], None]) -> None:
        self._fd = fd
        self._echo = echo
        self._pending: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def _key(self) -> str | None:
        while not self._pending:
            try:
                data = os.read(self._fd, 64)
            except OSError:  # the terminal went away
                return None
            if not data:
                return None
            text = _ESCAPE_SEQUENCE.sub("", self._decoder.decode(data))  # arrows etc.
            self._pending.extend(text)
        key = self._pending.pop(0)
        if key == "\x03":  # Ctrl-C when the terminal does not turn it into SIGINT
            raise KeyboardInterrupt
        return None if key == "\x04" else key  # Ctrl-D: end of input

    def read(self, number: bool) -> str | None:
        if not number:
            key = self._key()
            return None if key is None else ("" if key in "\r\n" else key)
        typed = ""
        while True:
            key = self._key()
            if key is None:
                return None
            if key in "\r\n":
                self._echo("\n")
                return typed
            if key in "\x7f\x08":
                if typed:
                    typed = typed[:-1]
                    self._echo("\b \b")
                continue
            if not typed and key.lower() in ("b", "s", "q"):
                return key
            if key.isdigit() or key in "-+.":
                typed += key
                self._echo(key)


@contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Keys one at a time without echo (Ctrl-C still interrupts); settings restored after."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    main = threading.current_thread() is threading.main_thread()
    old_tstp: Any = None

    def suspend(signum: int, frame: FrameType | None) -> None:
        """Ctrl-Z: give the shell its terminal settings back, stop; on fg, carry on."""
        with suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, suspend)
        with suppress(termios.error, OSError):
            tty.setcbreak(fd, termios.TCSANOW)

    try:
        tty.setcbreak(fd, termios.TCSANOW)  # TCSANOW: keep keys typed ahead
        if main and hasattr(signal, "SIGTSTP"):
            old_tstp = signal.signal(signal.SIGTSTP, suspend)
        yield
    finally:
        if old_tstp is not None:
            signal.signal(signal.SIGTSTP, old_tstp)
        with suppress(termios.error, OSError):  # the terminal may be gone (SIGHUP)
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _terminal_fd(stream: TextIO) -> int | None:
    """The file descriptor of ``stream`` when it is a terminal that can be put in cbreak mode."""
    try:
        import termios  # noqa: F401  (not on Windows)
        import tty  # noqa: F401
    except ImportError:  # pragma: no cover - Windows: read lines
        return None
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


class _Stopped(BaseException):
    """The session was ended by a signal (SIGHUP, SIGTERM); progress is already saved."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code
        self.why = why


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGHUP (terminal closed) and SIGTERM end the session cleanly (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reasons = {"SIGHUP": (EXIT_SIGHUP, "terminal closed"), "SIGTERM": (EXIT_SIGTERM, "terminated")}
    handlers: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        code, why = reasons[signal.Signals(signum).name]
        raise _Stopped(code, why)

    for name in reasons:
        sig = getattr(signal, name, None)
        if sig is not None:
            handlers[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in handlers.items():
            signal.signal(sig, old)


# --------------------------------------------------------------------------- screens


class _Screen:
    """Writes the item screens: cleared and redrawn on a terminal, appended otherwise."""

    def __init__(self, q: Questionnaire, out: TextIO, redraw: bool) -> None:
        self.q = q
        self.out = out
        self.redraw = redraw
        self.width = max(40, min(100, shutil.get_terminal_size((80, 24)).columns) - 2)
        self.steps = _steps(q)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def wrap(self, text: str, indent: str = "") -> str:
        return textwrap.fill(
            " ".join(text.split()), self.width, initial_indent=indent, subsequent_indent=indent
        )

    def intro(self) -> str:
        q = self.q
        lines = [q.title, "=" * min(len(q.title), self.width), ""]
        if q.instructions:
            lines += [self.wrap(q.instructions), ""]
        return "\n".join(lines) + "\n"

    def values(self, step: _Step | None = None) -> list[str]:
        if step is not None and step.scale is None:
            width = len(str(len(step.options)))
            return [
                textwrap.fill(
                    f"{k:>{width}}  {' '.join(text.split())}",
                    self.width,
                    initial_indent="  ",
                    subsequent_indent=" " * (width + 4),
                )
                for k, (_, text) in enumerate(step.options, start=1)
            ]
        rs = step.scale if step is not None and step.scale is not None else self.q.response_scale
        labels = rs.labels
        if rs.integers and rs.max - rs.min + 1 <= _MAX_LISTED_VALUES:
            shown = list(range(rs.min, rs.max + 1))
        else:
            shown = sorted({rs.min, rs.max, *labels})
        width = max(len(str(v)) for v in shown)
        return [f"  {v:>{width}}  {labels.get(v, '')}".rstrip() for v in shown]

    def keys_help(self, step: _Step | None = None) -> str:
        if step is not None and step.scale is None:
            n = len(step.options)
            how = f"1-{n} choose" if n <= 9 else f"type 1 to {n} and press Enter to choose"
            return f"Keys: {how}, b back, s skip, q quit and save"
        rs = step.scale if step is not None and step.scale is not None else self.q.response_scale
        kind = "a whole number" if rs.integers else "a number"
        if _single_key(rs):
            answer = f"{rs.min}-{rs.max} answer"
        else:
            answer = f"type {kind} from {rs.min} to {rs.max} and press Enter to answer"
        return f"Keys: {answer}, b back, s skip, q quit and save"

    def item(self, progress: _Progress, intro: bool, message: str | None) -> None:
        q = self.q
        i = progress.position
        step = self.steps[i]
        # without redrawing, the intro was written once, before the first item
        parts = [_CLEAR, self.intro() if intro else f"{q.title}\n\n"] if self.redraw else ["\n"]
        parts.append(f"{i + 1}/{len(self.steps)}\n")
        parts.append(self.wrap(step.text) + "\n\n")
        if step.response is not None:  # an SJT response to rate
            parts.append(self.wrap(f"{step.heading} {step.response}", "  ") + "\n\n")
            parts.append("How effective is this response?\n")
        if step.scale is None:  # an SJT pick: the responses, then the question
            parts.append("\n".join(self.values(step)) + "\n\n")
            parts.append(f"{step.heading}\n\n")
        else:
            parts.append("\n".join(self.values(step)) + "\n\n")
        if step.column in progress.answers:
            given = _format_answer(progress.answers[step.column], step)
            parts.append(f"Your answer: {given} (Enter keeps it)\n")
        parts.append(self.keys_help(step) + "\n")
        if message:
            parts.append(f"{message}\n")
        parts.append("> ")
        self.write("".join(parts))

    def final(self, progress: _Progress, message: str | None) -> None:
        q = self.q
        skipped = [
            str(n)
            for n, step in enumerate(self.steps, start=1)
            if progress.answers.get(step.column, None) is None
        ]
        parts = [_CLEAR + f"{q.title}\n\n" if self.redraw else "\n"]
        parts.append(f"All {len(self.steps)} items done")
        if skipped:
            parts.append(f"; {len(skipped)} skipped (item{'s' if len(skipped) > 1 else ''} ")
            parts.append(", ".join(skipped) + ")")
        then = "finish and see the profile" if progress.show_results else "finish"
        parts.append(f".\nPress Enter to {then}, b to go back, q to quit.\n")
        if message:
            parts.append(f"{message}\n")
        parts.append("> ")
        self.write("".join(parts))


# --------------------------------------------------------------------------- session


def _invalid(token: str, step: _Step) -> str:
    what = token if token.strip() and token.isprintable() else repr(token)
    return (
        f"{what} is not an answer: answer {_step_range(step)}, "
        "or press b (back), s (skip) or q (quit)."
    )


def _interact(
    progress: _Progress,
    q: Questionnaire,
    inp: _Input,
    screen: _Screen,
    eof_finishes: bool,
    clock: Callable[[], float] | None = None,
) -> str:
    """Ask until the candidate finishes ("finish") or pauses ("quit", "eof").

    ``eof_finishes``: the end of input on the final screen finishes (scripted input).
    ``clock``: when given (a person at a terminal), the seconds from showing an item to
    its answer, skip or Enter are added to ``progress.item_seconds[item]``; going back
    and answering again adds the new time, so the sum is the time spent on the item.
    """
    steps = screen.steps
    n = len(steps)
    intro = True
    message: str | None = None
    shown_at, shown_item = (clock() if clock else 0.0), progress.position

    def took() -> None:
        """Add the time since the current item was shown to it."""
        nonlocal shown_at
        if clock is None:
            return
        now = clock()
        item_id = steps[progress.position].column
        elapsed = max(0.0, now - shown_at)
        progress.item_seconds[item_id] = progress.item_seconds.get(item_id, 0.0) + elapsed
        shown_at = now

    if progress.position > 0 and not progress.completed:
        message = f"Welcome back: carrying on at item {min(progress.position + 1, n)} of {n}."
    while True:
        at_end = progress.position >= n
        if progress.position != shown_item and clock is not None:
            shown_at, shown_item = clock(), progress.position
        if at_end:
            screen.final(progress, message)
        else:
            screen.item(progress, intro, message)
        message = None
        step = steps[min(progress.position, n - 1)]
        token = inp.read(not _step_single_key(step) and not at_end)
        if token is None:
            return "finish" if at_end and eof_finishes else "eof"
        intro = False
        command = token.lower()
        if command == "q":
            return "quit"
        if command == "b":
            if progress.position == 0:
                message = "This is the first item."
                continue
            progress.position -= 1
        elif at_end:
            if command != "":
                message = "Press Enter to finish, b to go back or q to quit."
                continue
            return "finish"
        elif command == "s":
            took()
            progress.answers[step.column] = None
            progress.position += 1
        elif command == "":
            if step.column not in progress.answers:
                message = f"Answer {_step_range(step)}, or press s to skip."
                continue
            took()
            progress.position += 1
        else:
            value = _parse_step(token, step)
            if value is None:
                message = _invalid(token, step)
                continue
            took()
            progress.answers[step.column] = value
            progress.position += 1
        progress.save(q.item_ids)


def _resume_hint(progress: _Progress, n_items: int) -> str:
    done = len(progress.answers)
    return (
        f"Progress saved to {progress.path} ({done} of {n_items} items answered or skipped).\n"
        f"Resume with: repprofile assess --resume {shlex.quote(str(progress.path))}\n"
    )


def _say(text: str, stream: TextIO) -> None:
    """Write a closing message; the terminal may be gone (SIGHUP)."""
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass


def _cmd_assess(args: argparse.Namespace) -> int:
    from repprofile._formats.norms import load_norms
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._formats.role import load_role

    role: Role | None = None
    if args.resume:
        progress = _read_progress(Path(args.resume))
        if args.candidate is not None and args.candidate != progress.candidate_id:
            raise UsageError(
                f"{args.resume} is the session of candidate {progress.candidate_id!r}, "
                f"not {args.candidate!r}; leave out --candidate to resume it"
            )
        for key in ("questionnaire", "role", "norms", "sjt_key"):
            if getattr(args, key):
                setattr(progress, key, _source(getattr(args, key)))
        if args.sjt_method:
            progress.sjt_method = args.sjt_method
        if args.show_results is not None:
            progress.show_results = args.show_results
        q = load_questionnaire(progress.questionnaire)
        _check_progress_fits(progress, q)
        out = Path(args.out) if args.out else progress.path.parent
    else:
        if args.questionnaire:
            q = load_questionnaire(args.questionnaire)
        elif args.role:
            role = load_role(args.role)
            q = load_questionnaire(role.questionnaire)
        else:
            q = load_questionnaire("rep-types")
        cid = args.candidate
        if cid is None:
            cid = datetime.now().strftime("candidate-%Y%m%d-%H%M%S")
        if not cid or cid != cid.strip() or not cid.isprintable():
            raise UsageError(
                f"--candidate must be a printable id without surrounding spaces, got {cid!r}"
            )
        out = Path(args.out) if args.out else Path()
        path = out / f"{_safe_name(cid)}.progress.json"
        for existing in (path, out / f"{_safe_name(cid)}.json"):
            if existing.exists():
                raise UsageError(
                    f"{existing} already exists: candidate {cid!r} has an assessment there. "
                    f"Resume it with: repprofile assess --resume {shlex.quote(str(path))}, "
                    "or choose another --candidate or --out."
                )
        progress = _Progress(
            path=path,
            questionnaire=_source(args.questionnaire) if args.questionnaire else q.id,
            questionnaire_id=q.id,
            questionnaire_version=q.version,
            candidate_id=cid,
            role=_source(args.role) if args.role else None,
            norms=_source(args.norms) if args.norms else None,
            started=_now(),
            show_results=bool(args.show_results),
            sjt_method=args.sjt_method,
            sjt_key=_source(args.sjt_key) if args.sjt_key else None,
        )
    # everything is checked before the first question, never after the last
    if progress.role:
        role = load_role(progress.role, q)
    norms = load_norms(progress.norms) if progress.norms else None
    if norms is not None:
        norms.check_for(q)
    if q.has_sjt and (progress.sjt_method or progress.sjt_key):
        from repprofile._analysis.scoring import _sjt_key
        from repprofile._analysis.sjt import resolve_method

        resolve_method(q, progress.sjt_method, _sjt_key(progress.sjt_key))

    try:
        progress.save(q.item_ids)
    except OSError as exc:
        raise UsageError(f"cannot write {progress.path}: {exc.strerror or exc}") from None

    with _stop_on_signals():
        try:
            outcome = "finish" if progress.completed else _ask(progress, q)
            if outcome == "finish":
                return _finish(progress, q, role, norms, out)
        except KeyboardInterrupt:
            return _paused(progress, q, EXIT_SIGINT, "Interrupted")
        except _Stopped as stop:
            return _paused(progress, q, stop.code, stop.why.capitalize())
        return _paused(progress, q, EXIT_PAUSED, "Paused")


def _ask(progress: _Progress, q: Questionnaire) -> str:
    fd = _terminal_fd(sys.stdin)
    if fd is None:
        screen = _Screen(q, sys.stdout, redraw=False)
        screen.write(screen.intro())
        return _interact(progress, q, _LineInput(sys.stdin), screen, eof_finishes=True)
    screen = _Screen(q, sys.stdout, redraw=sys.stdout.isatty())
    with _cbreak(fd):
        return _interact(
            progress,
            q,
            _KeyInput(fd, screen.write),
            screen,
            eof_finishes=False,
            clock=time.monotonic,
        )


def _paused(progress: _Progress, q: Questionnaire, code: int, what: str) -> int:
    """Save once more (a signal may have cut a save short) and say how to resume."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits
    try:
        progress.save(q.item_ids)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    _say("\n", sys.stdout)
    _say(f"{what}. " + _resume_hint(progress, len(q.item_ids)), sys.stderr)
    return code


# --------------------------------------------------------------------------- result


def _thank_you(q: Questionnaire, progress: _Progress) -> str:
    """The closing screen of a candidate-facing run: no scores, fit or flags."""
    done = sum(1 for c in q.item_ids if progress.answers.get(c) is not None)
    what = "answers" if q.has_sjt else "statements"
    return (
        f"Thank you. You have finished {q.title}: {done} of {len(q.item_ids)} {what} "
        "answered.\nYour answers are saved. You can close this window now.\n\n"
    )


def _finish(
    progress: _Progress,
    q: Questionnaire,
    role: Role | None,
    norms: NormTable | None,
    out: Path,
) -> int:
    def run() -> int:
        from repprofile._analysis.scoring import score
        from repprofile._io import write_atomic
        from repprofile._rendering.text import assessment_text

        answers = {item_id: progress.answers.get(item_id) for item_id in q.item_ids}
        record: dict[str, Any] = {"candidate_id": progress.candidate_id, "answers": answers}
        if progress.item_seconds:
            record["item_seconds"] = {
                i: progress.item_seconds[i] for i in q.item_ids if i in progress.item_seconds
            }
        result = score(
            q,
            [record],
            norms=norms,
            sjt_method=cast("SjtMethod | None", progress.sjt_method),
            sjt_key=progress.sjt_key,
        )
        if not result.scored[0]:  # pragma: no cover - answers are checked as typed
            for e in result.errors:
                _say(f"repprofile: error: {e.message}\n", sys.stderr)
            return EXIT_USAGE
        doc = result.to_dict()
        # the raw answers, so this file is an answers file for every command
        doc["answers"] = [record]
        fitted = None
        if role is not None:
            from repprofile._analysis.fit import fit

            fitted = fit(result, role)
            row = fitted._fit_scores(0)  # the fit fields, without the candidate's id
            summary = fitted.role_summary()
            assert fitted.provenance.role is not None
            summary["sha256"] = fitted.provenance.role.sha256
            doc["fit"] = {"role": summary, **row}
        name = _safe_name(progress.candidate_id)
        json_path = out / f"{name}.json"
        text = json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
        write_atomic(json_path, text.encode("utf-8"))
        written = [str(json_path)]
        chart_note = None
        competencies = sum(s.kind == "skill" and not s.total for s in q.scales)
        if int(q.trait_mask.sum()) >= 3 or competencies >= 3:
            from matplotlib.figure import Figure

            from repprofile._rendering.charts import radar_chart, save_figure

            scales: Any = "traits" if int(q.trait_mask.sum()) >= 3 else "skills"
            ax = radar_chart(result, progress.candidate_id, role=role, scales=scales)
            fig = ax.get_figure(root=True)
            assert isinstance(fig, Figure)
            written.append(str(save_figure(fig, out / f"{name}.png")))
        else:
            chart_note = "No radar chart: it needs a questionnaire with at least 3 trait scales" + (
                " or 3 competencies (skill scales)." if q.has_sjt else "."
            )
        if progress.completed is None:
            progress.completed = _now()
        progress.save(q.item_ids)
        if progress.show_results:
            warn_if_simulated(norms)
            text = assessment_text(result, fitted)
            if chart_note:
                text += chart_note + "\n"
        else:
            text = _thank_you(q, progress)
        text += "Results written to " + " and ".join(written) + ".\n"
        _say(("\n" if not sys.stdout.isatty() else _CLEAR) + text, sys.stdout)
        return EXIT_OK

    return run_capturing_warnings(run)
