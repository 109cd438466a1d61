"""Answers input: every accepted form is turned into one :class:`AnswerSet`.

An :class:`AnswerSet` is a 2-D float array in the questionnaire's item order (NaN for a
missing answer, never 0), the candidate ids, and the problems found while reading, each
naming the candidate, the item, the value and what was expected. A problem rejects that
candidate only; the others are still scored.

Accepted forms (see :func:`as_answer_set`):

* a mapping ``item_id -> value`` (one candidate);
* a sequence of ``{"candidate_id": ..., "answers": {item_id: value}}`` records;
* a 2-D numpy array in the questionnaire's item order, with optional ids;
* a pandas DataFrame (``candidate_id`` column or the index, one column per item id);
* files: CSV wide format (``,`` ``;`` or tab separated, any encoding), .xlsx and JSON
  records (:func:`read_answers`; opening and decoding in :mod:`repprofile._input.files`).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from repprofile._errors import InputError
from repprofile._formats.mapping import label_key
from repprofile._formats.questionnaire import Questionnaire
from repprofile._input.files import Table, decimal_comma_number, parse_csv, read_table, read_text
from repprofile._input.problems import (
    DUPLICATES,
    MAX_ERRORS_PER_CANDIDATE,
    cap_problems,
    keep_duplicates,
    more_message,
)
from repprofile._util import clip, json_loads
from repprofile._validation import StrOptions, parameter_error, validate_params

__all__ = [
    "MAX_ERRORS_PER_CANDIDATE",
    "NO_ANSWERS",
    "AnswerSet",
    "CandidateError",
    "RepprofileWarning",
    "answers_csv",
    "as_answer_set",
    "frame_candidate_id",
    "read_answers",
]

JSONScalar = str | int | float | bool | None


class RepprofileWarning(UserWarning):
    """Something in the input was ignored or assumed; the result is still usable."""


class CandidateError(BaseModel):
    """One problem with one candidate's answers. The candidate is not scored."""

    model_config = ConfigDict(frozen=True)

    candidate_id: str | None
    item_id: str | None
    value: JSONScalar
    message: str


@dataclass(frozen=True, eq=False)
class AnswerSet:
    """Answers of a batch of candidates in a questionnaire's item order.

    Attributes
    ----------
    questionnaire : Questionnaire
    values : ndarray, shape (n_candidates, n_items)
        Float answers; NaN marks a missing answer. Rows of rejected candidates may hold
        anything and are never scored.
    ids : tuple of str or None
        Candidate ids; ``None`` means positional ids ``"1"``, ``"2"``, ... (built only
        when asked for, so a million-row array pays nothing for them).
    errors : list of CandidateError
        Problems found while reading; each names a rejected candidate.
    rejected : ndarray of bool, shape (n_candidates,)
        True for candidates rejected while reading.
    seconds : ndarray of float, shape (n_candidates,), optional
        Time each candidate took to answer, in seconds (NaN: unknown), for the
        response-time quality check.
    """

    questionnaire: Questionnaire
    values: NDArray[np.floating[Any]]
    ids: tuple[str, ...] | None = None
    errors: list[CandidateError] = field(default_factory=list)
    rejected: NDArray[np.bool_] | None = None
    seconds: NDArray[np.float64] | None = None

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    def candidate_ids(self) -> tuple[str, ...]:
        if self.ids is not None:
            return self.ids
        return tuple(str(i) for i in range(1, self.n + 1))

    def candidate_id(self, row: int) -> str:
        return self.ids[row] if self.ids is not None else str(row + 1)


# --------------------------------------------------------------------------- helpers


def _expected(q: Questionnaire) -> str:
    return q.response_scale.describe() + ", or blank/null for a missing answer"


NO_ANSWERS = "no answers given; expected at least one item answer"
"""Why a record with an empty ``answers`` object is rejected (a candidate with only some
answers missing is scored as usual)."""


def _more_problems(candidate_id: str | None, n: int) -> CandidateError:
    return CandidateError(
        candidate_id=candidate_id, item_id=None, value=None, message=more_message(n)
    )


def _json_value(value: Any) -> JSONScalar:
    """A rejected value as it is reported: JSON scalars as they are (long text clipped),
    anything else as its clipped repr."""
    if isinstance(value, str):
        return clip(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return f"an integer of {value.bit_length()} bits"  # str() of it may be refused
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else str(f)
    if isinstance(value, np.integer):
        return int(value)
    return clip(repr(value))


def _coerce_number(value: Any) -> float | None:
    """A JSON/Python answer value as float, NaN for missing; None if it is not a number."""
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            f = float(value)
        except OverflowError:  # an integer beyond float range: out of any scale
            return math.inf if value > 0 else -math.inf
        return None if math.isnan(f) and not isinstance(value, float | np.floating) else f
    return None


def _check_ids(
    ids: Sequence[str],
    errors: list[CandidateError],
    rejected: NDArray[np.bool_],
    no_id: frozenset[int] = frozenset(),
    noun: str = "records",
    numbers: Sequence[int] | None = None,
    hint: str = "",
) -> None:
    """Reject every row whose id is repeated (an HR system maps results by id).

    Rows in ``no_id`` carry a placeholder id (the real one was missing): they are
    already rejected and never count as duplicates. ``hint`` ends each message: the
    file readers pass :data:`DUPLICATES_HINT` (how to choose a row); the HTTP API, which
    has no such option, passes none.
    """
    first: dict[str, int] = {}
    dups: dict[str, list[int]] = {}
    for row, cid in enumerate(ids):
        if row in no_id:
            continue
        if cid in first:
            dups.setdefault(cid, [first[cid]]).append(row)
        else:
            first[cid] = row
    for cid, rows in dups.items():
        listed = ", ".join(str(numbers[r] if numbers is not None else r + 1) for r in rows)
        for r in rows:
            rejected[r] = True
        errors.append(
            CandidateError(
                candidate_id=cid,
                item_id=None,
                value=cid,
                message=(
                    f"candidate id {cid!r} appears {len(rows)} times ({noun} {listed}); "
                    f"expected each candidate id once. None of them was scored.{hint}"
                ),
            )
        )


DUPLICATES_HINT = (
    " If the candidate submitted more than once, read one of the rows with --duplicates "
    "first or last (duplicates= in Python)."
)


def _candidate_id(raw: Any) -> str | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | np.integer):
        return str(int(raw))
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def frame_candidate_id(raw: Any) -> str | None:
    """A DataFrame cell's candidate id (None: no id): text stripped, whole numbers (also
    as floats, as pandas holds a column of integers with a gap) as their digits."""
    cid = _candidate_id(raw)
    if cid is None and isinstance(raw, float | np.floating) and float(raw).is_integer():
        cid = str(int(raw))
    return cid


# --------------------------------------------------------------------------- records


@dataclass
class _Records:
    """What :func:`_from_records` gathers, one entry per record."""

    rows: list[list[float]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    errors: list[CandidateError] = field(default_factory=list)
    bad: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    no_id: set[int] = field(default_factory=set)

    def add(self, cid: str, row: list[float], rejected: bool, took: float) -> None:
        self.ids.append(cid)
        self.rows.append(row)
        self.bad.append(rejected)
        self.seconds.append(took)


def _from_records(
    q: Questionnaire,
    records: Iterable[Any],
    source: str,
    numbers: Sequence[int] | None = None,
    duplicate_hint: str = "",
) -> AnswerSet:
    """Records as an AnswerSet; ``numbers``: the record number each is named by in
    messages (default 1, 2, ...; records left out by ``duplicates=`` keep theirs);
    ``duplicate_hint`` ends a repeated id's message (:func:`_check_ids`)."""
    col = {item_id: j for j, item_id in enumerate(q.item_ids)}
    out = _Records()
    expected = _expected(q)
    for i, rec in enumerate(records):
        number = numbers[i] if numbers is not None else i + 1
        if isinstance(rec, Mapping):
            _add_record(out, q, col, expected, i, rec, source, number)
            continue
        out.no_id.add(i)
        out.errors.append(
            CandidateError(
                candidate_id=None,
                item_id=None,
                value=_json_value(rec) if not isinstance(rec, list | dict) else None,
                message=(
                    f"{source} record {number} must be an object "
                    '{"candidate_id": ..., "answers": {...}}, '
                    f"got {type(rec).__name__} instead"
                ),
            )
        )
        out.add(f"#{number}", [math.nan] * len(col), True, math.nan)
    values = np.array(out.rows, dtype=np.float64).reshape(len(out.rows), len(col))
    rejected_arr = np.array(out.bad, dtype=bool)
    _check_ids(out.ids, out.errors, rejected_arr, frozenset(out.no_id), hint=duplicate_hint)
    took_arr = np.array(out.seconds, dtype=np.float64)
    return AnswerSet(
        q,
        values,
        tuple(out.ids),
        cap_problems(out.errors),
        rejected_arr,
        None if np.isnan(took_arr).all() else took_arr,
    )


def _add_record(
    out: _Records,
    q: Questionnaire,
    col: Mapping[str, int],
    expected: str,
    i: int,
    rec: Mapping[str, Any],
    source: str,
    number: int,
) -> None:
    """One ``{"candidate_id", "answers"}`` record: its row, and its problems in order
    (id, answering time, unknown fields, answers)."""
    label = f"record {number}"
    errors = out.errors
    cid_or_none = _candidate_id(rec.get("candidate_id"))
    rejected = False
    if cid_or_none is None:
        cid = f"#{number}"
        out.no_id.add(i)
        errors.append(
            CandidateError(
                candidate_id=None,
                item_id=None,
                value=_json_value(rec.get("candidate_id")),
                message=(
                    f"{source} {label} needs a non-empty string 'candidate_id', got "
                    f"{rec.get('candidate_id')!r} instead"
                ),
            )
        )
        rejected = True
    else:
        cid = cid_or_none
    answers = rec.get("answers")
    extra = sorted(set(rec) - {"candidate_id", "answers", "seconds", "item_seconds"})
    took, problem = _record_seconds(rec)
    if problem:
        errors.append(
            CandidateError(candidate_id=cid_or_none, item_id=None, value=None, message=problem)
        )
        rejected = True
    if extra:
        errors.append(
            CandidateError(
                candidate_id=cid_or_none,
                item_id=None,
                value=None,
                message=(
                    f"{label} has unknown field(s) {extra}; expected 'candidate_id', "
                    "'answers' and optionally 'seconds' or 'item_seconds'"
                ),
            )
        )
        rejected = True
    if not isinstance(answers, Mapping):
        errors.append(
            CandidateError(
                candidate_id=cid_or_none,
                item_id=None,
                value=None,
                message=(
                    f"{label} needs 'answers', an object of item id -> answer, got "
                    f"{type(answers).__name__} instead"
                ),
            )
        )
        rejected = True
        answers = {}
    elif not answers:
        errors.append(
            CandidateError(
                candidate_id=cid_or_none,
                item_id=None,
                value=None,
                message=NO_ANSWERS,
            )
        )
        rejected = True
    row = [math.nan] * len(col)
    if _record_answers(row, answers, col, q, cid_or_none, expected, errors):
        rejected = True
    out.add(cid, row, rejected, took)


def _record_answers(
    row: list[float],
    answers: Mapping[Any, Any],
    col: Mapping[str, int],
    q: Questionnaire,
    cid: str | None,
    expected: str,
    errors: list[CandidateError],
) -> bool:
    """Fill ``row`` from one record's answers; True when some answer is unusable
    (each listed in ``errors``, at most ``MAX_ERRORS_PER_CANDIDATE``, the rest counted)."""
    rejected = False
    listed = 0  # answer problems of this record reported so far
    unlisted = 0
    pairs: Iterable[tuple[Any, Any]] = answers.items()
    choice_columns: Mapping[str, Mapping[str, int]] = {}
    if q.has_sjt:
        pairs = _flatten_sjt(q, answers)
        choice_columns = q.choice_columns
    for item_id, value in pairs:
        j = col.get(item_id)
        kind = type(value)
        if (
            j is not None
            and (kind is float or (kind is int and -(2**53) <= value <= 2**53))
            and item_id not in choice_columns  # a choice is an option id, never a number
        ):
            row[j] = value  # the common case: a plain number
            continue
        j = col.get(str(item_id))
        choices = choice_columns.get(str(item_id))
        if choices is not None and j is not None:
            pick = _choice(choices, value)
            if pick is not None:
                row[j] = pick
                continue
        else:
            number = _coerce_number(value) if j is not None else None
            if j is not None and number is not None:
                row[j] = number
                continue
        rejected = True
        if listed == MAX_ERRORS_PER_CANDIDATE:  # enough to fix the record by
            unlisted += 1
            continue
        listed += 1
        if choices is not None:
            errors.append(
                CandidateError(
                    candidate_id=cid,
                    item_id=str(item_id),
                    value=_json_value(value),
                    message=_not_an_option(q, str(item_id), value),
                )
            )
        elif isinstance(item_id, _SjtProblem):
            errors.append(
                CandidateError(
                    candidate_id=cid,
                    item_id=item_id.column,
                    value=_json_value(value),
                    message=item_id.message,
                )
            )
        elif j is None:
            errors.append(
                CandidateError(
                    candidate_id=cid,
                    item_id=str(item_id),
                    value=_json_value(value),
                    message=(
                        f"{clip(repr(item_id))} is not an item of questionnaire {q.id!r} "
                        f"{q.version}; check the questionnaire and the item ids"
                    ),
                )
            )
        else:
            errors.append(
                CandidateError(
                    candidate_id=cid,
                    item_id=str(item_id),
                    value=_json_value(value),
                    message=f"answer {clip(repr(value))} is not a number; expected {expected}",
                )
            )
    if unlisted:
        errors.append(_more_problems(cid, unlisted))
    return rejected


class _SjtProblem(str):
    """A nested SJT answer key that names no answer column (the message says why)."""

    column: str
    message: str

    def __new__(cls, column: str, message: str) -> _SjtProblem:
        out = super().__new__(cls, "\0" + column)  # never an answer column
        out.column = column
        out.message = message
        return out


def _flatten_sjt(q: Questionnaire, answers: Mapping[Any, Any]) -> Iterator[tuple[Any, Any]]:
    """Answers with nested SJT answers ``{"ITEM": {"OPTION": 4}}`` or ``{"ITEM": {"most":
    "b", "least": "d"}}`` as flat ``ITEM.OPTION`` / ``ITEM.most`` pairs."""
    items = q.sjt_item_index
    for key, value in answers.items():
        item = items.get(key) if isinstance(key, str) else None
        if item is None:
            yield key, value
            continue
        if not isinstance(value, Mapping):
            expected = (
                "an object of option id -> rating"
                if item.response_format == "rate"
                else "an object with "
                + (
                    "'most' and 'least' option ids"
                    if item.response_format == "most_least"
                    else "the 'best' option id"
                )
            )
            yield _SjtProblem(key, f"item {key!r} is a scenario; expected {expected}"), value
            continue
        columns = set(item.columns)
        for sub, v in value.items():
            column = f"{key}.{sub}"
            if column in columns:
                yield column, v
                continue
            if item.response_format == "rate":
                expected = f"one of the option ids {list(item.option_ids)}"
            else:
                expected = " and ".join(repr(c.split(".", 1)[1]) for c in item.columns)
            yield (
                _SjtProblem(
                    column, f"item {key!r} has no answer {str(sub)!r}; expected {expected}"
                ),
                v,
            )


def _choice(choices: Mapping[str, int], value: Any) -> float | None:
    """A most/least/best answer as the option's position (NaN: missing; None: not an
    option id)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, str):
        position = choices.get(value.strip())
        return float(position) if position is not None else None
    return None


def _not_an_option(q: Questionnaire, column: str, value: Any) -> str:
    """Why a most/least/best answer is unusable."""
    item_id, which = column.split(".", 1)
    ids = list(q.choice_columns[column])
    return (
        f"item {item_id!r}: {which} answer {clip(repr(value))} is not an option id; "
        f"expected one of {ids}, or blank/null for a missing answer"
    )


def _record_seconds(rec: Mapping[str, Any]) -> tuple[float, str | None]:
    """Total answering time of a record: 'seconds', or the sum of 'item_seconds'."""
    total = rec.get("seconds")
    per_item = rec.get("item_seconds")
    if total is not None:
        number = _coerce_number(total)
        if number is None or not math.isfinite(number) or number < 0:
            return math.nan, f"'seconds' must be a non-negative number, got {total!r} instead"
        return number, None
    if per_item is not None:
        if not isinstance(per_item, Mapping):
            return math.nan, (
                f"'item_seconds' must map item ids to seconds, got {type(per_item).__name__}"
            )
        times = [_coerce_number(v) for v in per_item.values()]
        if any(t is None or not math.isfinite(t) or t < 0 for t in times):
            return math.nan, "'item_seconds' must hold non-negative numbers of seconds"
        return float(sum(t for t in times if t is not None)), None
    return math.nan, None


# --------------------------------------------------------------------------- tables


def _from_table(
    q: Questionnaire,
    header: Sequence[str],
    ids: Sequence[str],
    cells: NDArray[Any],
    source: str,
    row_offset: int,
    row_numbers: Sequence[int] | None = None,
    no_id: frozenset[int] = frozenset(),
    letters: Sequence[str] | None = None,
    decimal_comma: bool = False,
    duplicate_hint: str = "",
) -> AnswerSet:
    """Build an AnswerSet from string or numeric cells of a wide table.

    ``cells`` holds every column but the id column, in ``header`` order (``letters``:
    their spreadsheet column letters). Blank strings (and None/NaN in numeric tables)
    are missing answers; a response label of the questionnaire (``Agree``, compared
    ignoring case and spacing) is its number; any other non-number rejects the
    candidate with one error naming the row, the column, the item and how many of the
    candidate's answers are like it.
    """
    header = [h.strip() for h in header]
    pos = {h: j for j, h in enumerate(header)}
    ignored = [h for h in header if h not in set(q.item_ids) and h != "seconds"]
    if ignored:
        warnings.warn(
            f"{source}: columns that are not items of {q.id!r} were ignored: "
            + ", ".join(repr(h) for h in ignored),
            RepprofileWarning,
            stacklevel=3,
        )
    absent = [i for i in q.item_ids if i not in pos]
    if len(absent) == len(q.item_ids):
        raise InputError(
            f"{source}: no column is an item of questionnaire {q.id!r} {q.version}; expected "
            f"columns named by item ids such as {', '.join(q.item_ids[:3])}"
        )
    if absent:
        warnings.warn(
            f"{source}: no column for item(s) {', '.join(absent)}; their answers are missing",
            RepprofileWarning,
            stacklevel=3,
        )
    n = len(ids)
    values = np.full((n, len(q.item_ids)), np.nan, dtype=np.float64)
    errors: list[CandidateError] = []
    rejected = np.zeros(n, dtype=bool)
    present = [(j, pos[item]) for j, item in enumerate(q.item_ids) if item in pos]
    qcols = [j for j, _ in present]
    tcols = [c for _, c in present]
    sub = cells[:, tcols] if n else np.empty((0, len(tcols)), dtype=object)
    if sub.dtype.kind in "fiu":
        values[:, qcols] = sub
    else:
        text, converted, badcells = _text_numbers(sub, decimal_comma)
        _read_labels(q, text, converted, badcells)
        if q.has_sjt:
            _read_choices(q, text, converted, badcells, [q.item_ids[j] for j in qcols])
        values[:, qcols] = converted
        for r in np.flatnonzero(badcells.any(axis=1)).tolist():
            rejected[r] = True
            cols = np.flatnonzero(badcells[r]).tolist()
            c = cols[0]
            rowno = row_numbers[r] if row_numbers is not None else r + row_offset
            where = (
                f"column {letters[tcols[c]]} ({header[tcols[c]]!r})"
                if letters
                else (f"column {header[tcols[c]]!r}")
            )
            errors.append(
                CandidateError(
                    candidate_id=None if r in no_id else ids[r],
                    item_id=q.item_ids[qcols[c]],
                    value=str(text[r, c]),
                    message=f"{source} row {rowno}, {where}: "
                    + (
                        _not_an_option(q, q.item_ids[qcols[c]], str(text[r, c]))
                        if q.item_ids[qcols[c]] in q.choice_columns
                        else _not_a_number(q, str(text[r, c]), [q.item_ids[qcols[k]] for k in cols])
                    ),
                )
            )
    numbers = row_numbers if row_numbers is not None else [r + row_offset for r in range(len(ids))]
    took = _table_seconds(cells, pos, ids, numbers, no_id, rejected, errors, source)
    _check_ids(ids, errors, rejected, no_id, noun="rows", numbers=numbers, hint=duplicate_hint)
    if no_id:
        rejected[sorted(no_id)] = True
    return AnswerSet(q, values, tuple(ids), errors, rejected, took)


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column: 0 -> A, 26 -> AA."""
    n, out = index + 1, ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def _label_numbers(q: Questionnaire) -> dict[str, float]:
    """The questionnaire's response labels (compared ignoring case and spacing) -> number."""
    return {label_key(text): float(v) for v, text in q.response_scale.labels.items()}


def _read_labels(
    q: Questionnaire,
    text: NDArray[np.str_],
    converted: NDArray[np.float64],
    badcells: NDArray[np.bool_],
) -> None:
    """Cells holding a response label of ``q`` become its number (in place)."""
    if not badcells.any():
        return
    labels = _label_numbers(q)
    if not labels:
        return
    rows, cols = np.nonzero(badcells)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        number = labels.get(label_key(str(text[r, c])))
        if number is not None:
            converted[r, c] = number
            badcells[r, c] = False


def _read_choices(
    q: Questionnaire,
    text: NDArray[np.str_],
    converted: NDArray[np.float64],
    badcells: NDArray[np.bool_],
    columns: Sequence[str],
) -> None:
    """Cells of most/least/best columns hold option ids: each becomes the option's
    position, and anything else is a bad cell (in place; a number is not an id)."""
    for c, column in enumerate(columns):
        choices = q.choice_columns.get(column)
        if choices is None:
            continue
        cells = np.char.strip(text[:, c])
        blank = (cells == "") | (cells == "None") | (cells == "nan")
        picked = np.array([choices.get(t, 0) for t in cells.tolist()], dtype=np.float64)
        converted[:, c] = np.where(blank, np.nan, np.where(picked > 0, picked, np.nan))
        badcells[:, c] = ~blank & (picked == 0)


def _not_a_number(q: Questionnaire, value: str, items: Sequence[str]) -> str:
    """The message for a candidate whose answers ``items`` are neither numbers nor
    response labels (``value``: the first of them, of item ``items[0]``)."""
    labels = list(q.response_scale.labels.values())
    message = f"answer {clip(repr(value))} to item {items[0]!r} is not a number"
    if labels:
        message += " or a response label"
    message += f"; expected {_expected(q)}"
    if labels:
        shown = ", ".join(repr(t) for t in labels)
        message += f" (labels {shown})"
    if len(items) > 1:
        more = ", ".join(items[1:6]) + (" ..." if len(items) > 6 else "")
        message += f". {len(items) - 1} more answer(s) of this candidate are not numbers: {more}"
    if any(ch.isalpha() for ch in value) and value.strip().casefold() not in ("nan", "inf"):
        message += (
            ". If the file holds a survey tool's answer labels, read it with --mapping FILE "
            "(a mapping of its columns and labels; see docs/answers-input.md)"
        )
    return message


def _text_numbers(
    sub: NDArray[Any], decimal_comma: bool = False
) -> tuple[NDArray[np.str_], NDArray[np.float64], NDArray[np.bool_]]:
    """Text (or object) cells as numbers: their text, the numbers (NaN for a blank), and
    which cells are not numbers. In a CSV file only an empty field is blank; in other
    tables None and NaN are too. ``decimal_comma``: ``3,5`` is 3.5."""
    text = sub.astype(str)
    stripped = np.char.strip(text)
    if decimal_comma and stripped.size:
        comma = np.char.find(stripped, ",") >= 0  # only these cells are looked at again
        if comma.any():  # "3,5" -> "3.5" keeps the length, so it fits the array's width
            stripped[comma] = [decimal_comma_number(t) for t in stripped[comma].tolist()]
    blank = (stripped == "") | (stripped == "None") | (stripped == "nan")
    if sub.dtype.kind == "U":  # from a CSV file: only an empty field is missing
        blank = stripped == ""
    filled = np.where(blank, "nan", stripped)
    try:
        converted = filled.astype(np.float64)
        badcells = np.isnan(converted) & ~blank
    except ValueError:
        converted = np.full(filled.shape, np.nan)
        badcells = np.zeros(filled.shape, dtype=bool)
        for (r, c), s in np.ndenumerate(filled):
            try:
                converted[r, c] = float(s)
            except ValueError:
                badcells[r, c] = True
        badcells |= np.isnan(converted) & ~blank
    return text, converted, badcells


def _table_seconds(
    cells: NDArray[Any],
    pos: Mapping[str, int],
    ids: Sequence[str],
    numbers: Sequence[int],
    no_id: frozenset[int],
    rejected: NDArray[np.bool_],
    errors: list[CandidateError],
    source: str,
) -> NDArray[np.float64] | None:
    """The optional 'seconds' column (total answering time); blank = unknown."""
    if "seconds" not in pos:
        return None
    n = len(ids)
    took = np.full(n, np.nan)
    for r, cell in enumerate(cells[:, pos["seconds"]].tolist() if n else []):
        text_cell = "" if cell is None else str(cell).strip()
        if text_cell in ("", "nan"):
            continue
        try:
            took[r] = float(text_cell)
        except ValueError:
            took[r] = math.nan
        if not (math.isfinite(took[r]) and took[r] >= 0):
            rejected[r] = True
            errors.append(
                CandidateError(
                    candidate_id=None if r in no_id else ids[r],
                    item_id=None,
                    value=text_cell,
                    message=(
                        f"{source} row {numbers[r]}: 'seconds' must be a non-negative "
                        f"number, got {text_cell!r} instead"
                    ),
                )
            )
    return took


def csv_header(
    reader: Iterator[list[str]], source: str, delimiter: str = ","
) -> tuple[list[str], int]:
    """Read and check the header of a CSV answers file; returns it and the id column."""
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{source}: the CSV file is empty; expected a header row") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if "candidate_id" not in header:
        shown = {",": "commas", ";": "semicolons", "\t": "tabs", "": "cells"}[delimiter]
        raise InputError(
            f"{source}: the CSV header has no 'candidate_id' column, got columns "
            f"{header[:5]}{' ...' if len(header) > 5 else ''} instead (separated by {shown}). "
            "Add a first column named candidate_id with one unique id per candidate, or, if "
            "the file is a survey tool's export, read it with --mapping FILE."
        )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(
            f"{source}: the CSV header repeats column(s) {', '.join(map(repr, repeated))}; "
            "expected each column once, so that no answer is silently dropped."
        )
    return header, header.index("candidate_id")


def csv_chunk(
    q: Questionnaire,
    header: list[str],
    id_col: int,
    numbered_rows: Iterable[tuple[int, list[str]]],
    source: str,
    *,
    warn: bool = True,
    decimal_comma: bool = False,
    duplicate_hint: str = "",
) -> AnswerSet:
    """Rows of a CSV answers file (with their line numbers) as an AnswerSet.

    ``decimal_comma``: ``3,5`` is the number 3.5 (a file separated by ``;`` or tabs);
    ``duplicate_hint`` ends a repeated id's message (:func:`_check_ids`).
    """
    width = len(header)
    rows: list[list[str]] = []
    ids: list[str] = []
    ragged: list[tuple[int, str, int]] = []
    linenos: list[int] = []  # the row number of each kept row (blank rows are skipped)
    empty_ids: list[int] = []
    for lineno, row in numbered_rows:
        if not row or all(not c.strip() for c in row):
            continue
        cid = row[id_col].strip() if id_col < len(row) else ""
        if not cid:
            empty_ids.append(len(ids))
            cid = f"#{lineno}"
        linenos.append(lineno)
        if len(row) != width:
            ragged.append((len(ids), cid, len(row)))
            row = (row + [""] * width)[:width]
        ids.append(cid)
        rows.append(row[:id_col] + row[id_col + 1 :])
    other = header[:id_col] + header[id_col + 1 :]
    cells = np.array(rows, dtype=str).reshape(len(rows), len(other))
    with warnings.catch_warnings():
        if not warn:
            warnings.simplefilter("ignore", RepprofileWarning)
        answers = _from_table(
            q,
            other,
            ids,
            cells,
            source,
            row_offset=2,
            row_numbers=linenos,
            no_id=frozenset(empty_ids),
            letters=[column_letter(i) for i in range(width) if i != id_col],
            decimal_comma=decimal_comma,
            duplicate_hint=duplicate_hint,
        )
    for row_index, cid, got in ragged:
        answers.rejected[row_index] = True  # type: ignore[index]
        answers.errors.append(
            CandidateError(
                candidate_id=None if row_index in empty_ids else cid,
                item_id=None,
                value=None,
                message=(
                    f"{source} row {linenos[row_index]} has {got} fields; the header has {width}. "
                    "Check for unquoted commas."
                ),
            )
        )
    for row_index in empty_ids:  # not ids starting with "#": a real id may do that
        answers.rejected[row_index] = True  # type: ignore[index]
        answers.errors.append(
            CandidateError(
                candidate_id=None,
                item_id=None,
                value=None,
                message=f"{source} row {linenos[row_index]} has an empty candidate_id",
            )
        )
    answers.errors[:] = cap_problems(answers.errors)
    return answers


def _csv_number(v: float) -> str:
    if math.isnan(v):
        return ""
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def answers_csv(answers: AnswerSet) -> tuple[str, int]:
    """The candidates of ``answers`` who were not rejected, as a wide answers CSV.

    The header is ``candidate_id``, the item ids in item order and, when the answers
    carry answering times, ``seconds``; a missing answer is an empty cell, a whole
    number is written without a decimal point and any other number as Python's
    shortest round-trip ``repr``, so :func:`read_answers` reads back the same values.
    Returns the text and how many rows it holds.
    """
    import csv
    import io

    q = answers.questionnaire
    keep = np.ones(answers.n, dtype=bool) if answers.rejected is None else ~answers.rejected
    timed = answers.seconds is not None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["candidate_id", *q.item_ids, *(["seconds"] if timed else [])])
    for r in np.flatnonzero(keep).tolist():
        row = [_csv_number(float(v)) for v in answers.values[r]]
        if answers.seconds is not None:
            row.append(_csv_number(float(answers.seconds[r])))
        w.writerow([answers.candidate_id(r), *row])
    return buf.getvalue(), int(keep.sum())


def keep_rows(
    numbered: list[tuple[int, list[str]]], id_col: int, duplicates: str, source: str
) -> list[tuple[int, list[str]]]:
    """The rows of a table (with their row numbers) to read under ``duplicates``
    (:func:`~repprofile._input.problems.keep_duplicates`; ``id_col``: the id's column),
    with a warning naming the rows left out. Called by the reader that the public
    function called (the warning points at the user's call)."""
    if duplicates == "reject":
        return numbered
    ids = [row[id_col].strip() if id_col < len(row) else None for _, row in numbered]
    keep, message = keep_duplicates(ids, duplicates, [n for n, _ in numbered])
    if message is None:
        return numbered
    warnings.warn(f"{source}: {message}", RepprofileWarning, stacklevel=5)
    return [numbered[i] for i in keep]


def _read_rows(q: Questionnaire, table: Table, duplicates: str = "reject") -> AnswerSet:
    rows = iter(table.rows)
    header, id_col = csv_header(rows, table.source, table.delimiter)
    numbered = keep_rows(list(enumerate(rows, start=2)), id_col, duplicates, table.source)
    return csv_chunk(
        q,
        header,
        id_col,
        numbered,
        table.source,
        decimal_comma=table.decimal_comma,
        duplicate_hint=DUPLICATES_HINT,
    )


def _assess_progress_records(
    q: Questionnaire, data: Mapping[str, Any], source: str
) -> list[dict[str, Any]]:
    """The one record of a ``repprofile assess`` progress file (docs/answers-input.md).

    An unfinished assessment is read with its unanswered items missing, and a warning
    says how many items were answered.
    """
    qid = data.get("questionnaire_id")
    if qid != q.id:
        raise InputError(
            f"{source}: this assessment progress file is of questionnaire {qid!r}, "
            f"not {q.id!r}; pass -q {qid} (questionnaire= in Python)"
        )
    answers = data.get("answers")
    if not isinstance(answers, Mapping):
        raise InputError(f"{source}: the progress file has no 'answers' object")
    if not data.get("completed"):
        given = sum(1 for i in q.item_ids if answers.get(i) is not None)
        warnings.warn(
            f"{source}: the assessment of {data.get('candidate_id')!r} is not finished "
            f"({given} of {len(q.item_ids)} items answered); the others are read as missing",
            RepprofileWarning,
            stacklevel=2,
        )
    record = {"candidate_id": data.get("candidate_id"), "answers": dict(answers)}
    if data.get("item_seconds"):
        record["item_seconds"] = data["item_seconds"]
    return [record]


def _read_json(q: Questionnaire, text: str, source: str, duplicates: str = "reject") -> AnswerSet:
    try:
        data = json_loads(text)
    except ValueError as exc:  # json.JSONDecodeError, NonFiniteJSONError
        raise InputError(f"{source}: not valid JSON: {exc}") from None
    if isinstance(data, Mapping) and "candidates" in data:
        data = data["candidates"]
    elif isinstance(data, Mapping) and data.get("format") == "repprofile-assess-progress":
        data = _assess_progress_records(q, data, source)
    elif isinstance(data, Mapping) and "profiles" in data and "answers" in data:
        data = data["answers"]  # the results file `repprofile assess` writes
    if not isinstance(data, list):
        raise InputError(
            f"{source}: JSON answers must be a list of "
            '{"candidate_id": ..., "answers": {...}} objects, got '
            f"{type(data).__name__} instead"
        )
    if duplicates != "reject":
        ids = [
            _candidate_id(rec.get("candidate_id")) if isinstance(rec, Mapping) else None
            for rec in data
        ]
        keep, message = keep_duplicates(ids, duplicates, range(1, len(data) + 1), "record")
        if message is not None:
            warnings.warn(f"{source}: {message}", RepprofileWarning, stacklevel=4)
            numbers = [i + 1 for i in keep]
            return _from_records(q, [data[i] for i in keep], source, numbers, DUPLICATES_HINT)
    return _from_records(q, data, source, duplicate_hint=DUPLICATES_HINT)


@validate_params(
    {
        "path": [str, os.PathLike],
        "questionnaire": [Questionnaire],
        "encoding": [str, None],
        "duplicates": [StrOptions(*DUPLICATES)],
    }
)
def read_answers(
    path: str | Path,
    questionnaire: Questionnaire,
    *,
    encoding: str | None = None,
    duplicates: str = "reject",
) -> AnswerSet:
    """Read an answers file: CSV wide format, an .xlsx workbook or JSON records (``-``
    reads stdin).

    The format follows the file extension (``.csv``, ``.xlsx``, ``.json``); without one,
    content starting with ``[`` or ``{`` is JSON and anything else CSV. A CSV file may
    be separated by ``,``, ``;`` or tabs (sniffed from the header; with ``;`` or tabs
    ``3,5`` is the number 3.5), and its cells may hold the questionnaire's response
    labels (``Agree``) instead of numbers. ``.xlsx`` (first sheet) needs the optional
    ``openpyxl`` package (``pip install 'repprofile[xlsx]'``).

    Parameters
    ----------
    path : str or Path
        The file, or ``-`` for stdin.
    questionnaire : Questionnaire
    encoding : str, optional
        The text encoding, e.g. ``"cp1252"`` for a file Windows Excel saved as plain
        CSV. Default: UTF-8 with or without a byte-order mark, or UTF-16 with one.
    duplicates : {"reject", "first", "last"}, default "reject"
        A candidate id on several rows (a candidate who submitted twice): ``"reject"``
        rejects every such row with an error, so nobody gets a result that may be
        another submission's; ``"first"`` reads the first row and ``"last"`` the last
        one (the resubmission), with a :class:`RepprofileWarning` naming each repeated
        id, its rows and the one kept.
    """
    if str(path) != "-" and Path(path).suffix.lower() == ".xlsx":
        table = read_table(path, "answers file", encoding)
        return _read_rows(questionnaire, table, duplicates)
    text, source, suffix = read_text(path, "answers file", encoding)
    is_json = suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{"))
    if is_json:
        return _read_json(questionnaire, text, source, duplicates)
    return _read_rows(questionnaire, parse_csv(text, source), duplicates)


# --------------------------------------------------------------------------- dispatch


def _is_dataframe(obj: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


def as_answer_set(
    questionnaire: Questionnaire,
    answers: Any,
    candidate_ids: Sequence[str] | None = None,
    *,
    caller: str = "score",
) -> AnswerSet:
    """Turn any accepted answers form into an :class:`AnswerSet` (see module docs).

    ``caller`` is the public function whose ``answers`` (and ``candidate_ids``) these
    are, named by the error messages.
    """
    q = questionnaire
    if isinstance(answers, AnswerSet):
        if answers.questionnaire.fingerprint != q.fingerprint:
            raise parameter_error(
                caller,
                "answers",
                f"must be answers to questionnaire {q.id!r} {q.version}",
                answers,
                got=(f"answers to {answers.questionnaire.id!r} {answers.questionnaire.version}"),
            )
        return answers
    if isinstance(answers, str | Path):
        return read_answers(answers, q)
    if _is_dataframe(answers):
        df = answers
        if "candidate_id" in df.columns:
            raw_ids = df["candidate_id"].tolist()
            df = df.drop(columns=["candidate_id"])
        else:
            raw_ids = df.index.tolist()
        ids = []
        no_id: set[int] = set()
        for i, v in enumerate(raw_ids):
            cid = frame_candidate_id(v)
            if cid is None:
                no_id.add(i)
                cid = f"#{i + 1}"
            ids.append(cid)
        header = [str(c) for c in df.columns]
        numeric = all(dt.kind in "fiu" for dt in df.dtypes)  # bool: an error, as in JSON
        if numeric:  # nullable integer columns hold pd.NA: missing, as NaN
            cells = df.to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # pd.NA, NaN and None (e.g. a pyarrow string column) are all missing
            cells = df.to_numpy(dtype=object)
            cells[df.isna().to_numpy()] = None
        answers_set = _from_table(
            q, header, ids, cells, "DataFrame", row_offset=1, no_id=frozenset(no_id)
        )
        for i in sorted(no_id):
            answers_set.errors.append(
                CandidateError(
                    candidate_id=None,
                    item_id=None,
                    value=_json_value(raw_ids[i]),
                    message=f"DataFrame row {i + 1} has no candidate id (got {raw_ids[i]!r})",
                )
            )
        answers_set.errors[:] = cap_problems(answers_set.errors)
        return answers_set
    if isinstance(answers, np.ndarray):
        return _from_array(q, answers, candidate_ids, caller)
    if isinstance(answers, Mapping):
        if "answers" in answers and "candidate_id" in answers:
            return _from_records(q, [answers], "answers")
        cid = candidate_ids[0] if candidate_ids else "1"
        return _from_records(q, [{"candidate_id": cid, "answers": answers}], "answers")
    if isinstance(answers, Sequence | Iterable) and not isinstance(answers, bytes):
        return _from_records(q, list(answers), "answers")
    raise parameter_error(
        caller,
        "answers",
        "must be a mapping of item id to answer, a list of "
        '{"candidate_id", "answers"} records, a 2-D numpy array, a pandas DataFrame or a '
        "file path",
        answers,
        got=type(answers).__name__,
    )


def _from_array(
    q: Questionnaire, arr: NDArray[Any], candidate_ids: Sequence[str] | None, caller: str
) -> AnswerSet:
    if arr.ndim != 2 or arr.shape[1] != len(q.item_ids):
        raise parameter_error(
            caller,
            "answers",
            f"must be a 2-D array with one column per item of {q.id!r} "
            f"({len(q.item_ids)} columns, in the questionnaire's item order)",
            arr,
            got=f"an array of shape {arr.shape}",
        )
    if arr.dtype.kind == "f":
        # C order (a copy only of Fortran-ordered or strided arrays): row sums of
        # fractions round by memory order, and the same answers give the same scores
        values = np.ascontiguousarray(arr)
    elif arr.dtype.kind in "iu":
        values = arr.astype(np.float64)
    else:
        raise parameter_error(
            caller,
            "answers",
            "must be a numeric array",
            arr,
            got=f"dtype {arr.dtype}",
            hint="Convert it with answers.astype(float), NaN for missing.",
        )
    ids: tuple[str, ...] | None = None
    errors: list[CandidateError] = []
    rejected = np.zeros(arr.shape[0], dtype=bool)
    if candidate_ids is not None:
        ids = tuple(str(c) for c in candidate_ids)
        if len(ids) != arr.shape[0]:
            raise parameter_error(
                caller,
                "candidate_ids",
                f"must have one id per row ({arr.shape[0]})",
                ids,
                got=str(len(ids)),
            )
        _check_ids(ids, errors, rejected)
    return AnswerSet(q, values, ids, errors, rejected)
