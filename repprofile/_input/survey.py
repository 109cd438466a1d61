"""Survey-tool exports in.

Reading a survey tool's CSV export
==================================

Google Forms, Microsoft Forms, Typeform, SurveyMonkey and Qualtrics export one row per
respondent and one column per question, headed by the question text (or a question
name). A *mapping file* (YAML) says which column is which; :func:`read_survey` reads
the export with it into an :class:`~repprofile.AnswerSet`, exactly as
:func:`~repprofile.read_answers` reads the wide CSV format. On the command line::

    repprofile score responses.csv -q rep-types --mapping google-forms.yaml
    repprofile score export.csv -q rep-types --mapping qualtrics.yaml --from qualtrics

The mapping file::

    questionnaire: rep-types          # the id of the questionnaire the survey asks
    format: generic                   # generic (default), surveymonkey or qualtrics
    candidate_id: Email Address       # the column that identifies the candidate
    items:                            # COLUMN HEADER: item id, one per question
      "I offer a refund when a customer is unhappy with a product.": acc01
      "I check how my numbers compare with those of other reps.": cmp01
    labels:                           # answer label: number (default: the
      Strongly disagree: 1            # questionnaire's response_scale labels)
      Disagree: 2
      Neither agree nor disagree: 3
      Agree: 4
      Strongly agree: 5
    ignore: [Timestamp]               # columns that are not answers
    seconds: Duration                 # optional: total answering time in seconds, or
    started: Start time               # optional: two timestamp columns; the seconds
    submitted: Completion time        #   are submitted - started
    time_format: "%d/%m/%Y %H:%M:%S"  # optional: strptime format of those timestamps

Fields:

``questionnaire`` (required)
    Id of the questionnaire (``id:`` in its file). Reading with another questionnaire
    is an error, so a mapping is never applied to the wrong survey.
``format``
    Layout of the export: ``generic`` (one header row: Google Forms, Microsoft Forms
    saved as CSV, Typeform), ``surveymonkey`` (two header rows) or ``qualtrics`` (three
    header rows). ``--from`` on the command line overrides it.
``candidate_id``
    Header of the column holding a unique candidate id, e.g. ``Email Address`` (Google
    Forms), ``Email`` (Microsoft Forms), ``Respondent ID`` (SurveyMonkey). Required,
    except for Qualtrics, where it defaults to ``ResponseId``.
``items`` (required)
    Column header -> item id. Headers are compared with runs of white space collapsed,
    so a question text that wraps in the export still matches. Every mapped column must
    be in the export.
``labels``
    Answer label -> number, compared ignoring case and extra white space. Cells holding
    a plain number are accepted as well. Default: the questionnaire's
    ``response_scale.labels``.
``grids``
    SJT grid questions: question text -> SJT item id. Google Forms and Microsoft Forms
    export a grid as one column per row, headed ``Question [Row]``; each row is an
    option (its text or id: a rating column ``ITEM.OPTION``) or, for most/least/best
    items, ``Most effective`` / ``Least effective`` / ``Best`` (cells: an option's text
    or id). A grid whose question is the scenario's own text is found without listing
    it. Single SJT columns go in ``items`` as ``ITEM.OPTION`` (or ``ITEM.most`` ...).
``sjt_labels``
    Label -> number of the SJT rating scale (default: its labels; for a questionnaire
    of SJT items only, ``labels`` when given).
``ignore``
    Headers of columns that are not answers (timestamps, names, notes). Listed columns
    that are not in the export are fine.
``seconds``, or ``started`` and ``submitted``
    The total answering time for the response-time quality check: a column of seconds,
    or the difference of two timestamp columns. Timestamps may be ISO 8601
    (``2024-03-05 09:14:02``, ``2024-03-05T09:14:02Z``) or month-first as US exports
    write them (``3/5/2024 9:14:02``, ``03/05/2024 09:14:02 AM``, ``3/5/24 9:14``); set
    ``time_format`` for anything else, e.g. day-first dates.

Every column of the export must be accounted for: a column that is neither the id, an
item, a time column nor ignored is an error (:class:`~repprofile.InputError`) that lists
the columns and how to fix the mapping, so a question is never dropped unnoticed. So is
a mapped column the export does not have. A cell that is neither a known label nor a
number rejects that candidate with a :class:`~repprofile.CandidateError` naming the row,
the column, the value and the expected labels; the other candidates are still read.
Blank cells are missing answers. The export may be separated by ``,``, ``;`` or tabs
and be an .xlsx workbook; see :mod:`repprofile._input.files` for encodings.

Tool specifics
--------------

* **Google Forms** (Responses > Download responses (.csv)): ``Timestamp``, ``Email
  Address`` (when collected), then one column per question headed by its full text;
  a grid question gives ``Question [Row]`` columns. There is no start time.
* **Microsoft Forms** (Open results in Excel, then save as *CSV UTF-8*): ``ID``,
  ``Start time``, ``Completion time``, ``Email``, ``Name`` then the questions.
* **Typeform** (Results > Download > CSV): ``#`` and the questions, then ``Start Date
  (UTC)``, ``Submit Date (UTC)`` or ``Submitted At``, ``Network ID``, ``Token``...
* **SurveyMonkey** (``format: surveymonkey``): row 1 holds the question texts, row 2
  ``Response`` for a single question or the row labels of a matrix (grid) question.
  A matrix column is named by its row label (``I stay calm under pressure.``) or, when
  two matrices share a row label, by ``QUESTION - ROW LABEL``; any other column by its
  row-1 header (``Respondent ID``, ``Start Date``...).
* **Qualtrics** (``format: qualtrics``; Data & Analysis > Export > CSV, with choice
  text or numeric values): row 1 holds question names (``Q1``, ``Q2_1``), row 2 the
  question texts and row 3 ImportIds (``{"ImportId":"QID2_1"}``). A column may be
  named by any of them (in that order of precedence). ``ResponseId`` is the candidate
  id and ``Duration (in seconds)`` the seconds unless the mapping says otherwise;
  Qualtrics' own metadata columns (StartDate, IPAddress, Progress, Finished,
  RecipientEmail, LocationLatitude, Q_RecaptchaScore, ...) are ignored without being
  listed. Embedded-data columns must be listed like any other column.

Answer templates (blank answer files and printable forms) are written by
:mod:`repprofile._input.templates`.

Only the standard library and the exception types are imported at module level (the
CLI takes the export formats from here at start-up); numpy and pydantic are imported
by the functions that need them. The command-line options that use this module
(``--mapping`` and ``--from``) live in :mod:`repprofile.cli`.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from repprofile._errors import InputError

if TYPE_CHECKING:
    from repprofile._formats.questionnaire import Questionnaire, ResponseScale, SjtItem
    from repprofile._input.answers import AnswerSet, CandidateError

from repprofile._formats.mapping import EXPORT_FORMATS, SurveyMapping, label_key, load_mapping, norm

__all__ = ["read_survey"]


# --------------------------------------------------------------------------- mapping file


@dataclass(frozen=True)
class _Labels:
    """Label lookup tables (label key -> number): of the Likert answers and of the SJT
    option ratings."""

    likert: dict[str, float]
    sjt: dict[str, float]


def _label_problems(
    name: str, labels: Mapping[str, float], rs: ResponseScale, what: str
) -> list[str]:
    return [
        f"{name}: {label!r} is {number:g}; expected {rs.describe()} ({what})"
        for label, number in labels.items()
        if not rs.min <= number <= rs.max or (rs.integers and not float(number).is_integer())
    ]


def _check_against(m: SurveyMapping, q: Questionnaire, source: str) -> _Labels:
    """Check a mapping against the questionnaire; returns the label lookup tables."""
    problems: list[str] = []
    if m.questionnaire != q.id:
        problems.append(
            f"the mapping is for questionnaire {m.questionnaire!r}, but the answers are being "
            f"read for {q.id!r}; pass -q with the mapping's questionnaire or fix 'questionnaire'"
        )
    known = set(q.item_ids)
    unknown = [(c, i) for c, i in m.items.items() if i not in known]
    if unknown:
        listed = ", ".join(f"{c!r}: {i!r}" for c, i in unknown)
        sjt_hint = (
            " (an SJT item by its answer columns: ITEM.OPTION, ITEM.most, ITEM.least, "
            "ITEM.best; or the item id under 'grids')"
            if q.has_sjt
            else ""
        )
        problems.append(
            f"items: {listed} name no item of {q.id!r} {q.version}; expected item ids such as "
            f"{', '.join(q.item_ids[:4])}{sjt_hint}"
        )
    not_sjt = [(g, i) for g, i in m.grids.items() if i not in q.sjt_item_index]
    if not_sjt:
        listed = ", ".join(f"{g!r}: {i!r}" for g, i in not_sjt)
        problems.append(
            f"grids: {listed} name no SJT item of {q.id!r} {q.version}; expected the id of "
            f"a scenario, such as {', '.join(list(q.sjt_item_index)[:3]) or '(none)'}"
        )
    rs = q.response_scale
    labels = (
        dict(m.labels) if m.labels else {text: float(v) for v, text in sorted(rs.labels.items())}
    )
    problems += _label_problems("labels", labels, rs, f"the response scale of {q.id!r}")
    srs = q.sjt_response_scale
    if srs is None:
        sjt_labels: dict[str, float] = {}
        if m.sjt_labels:
            problems.append(f"sjt_labels: {q.id!r} has no SJT items; expected no sjt_labels")
    elif m.sjt_labels:
        sjt_labels = dict(m.sjt_labels)
    elif m.labels and not q.likert_items:
        sjt_labels = dict(m.labels)  # an SJT-only questionnaire: its labels are the ratings'
    else:
        sjt_labels = {text: float(v) for v, text in sorted(srs.labels.items())}
    if srs is not None:
        problems += _label_problems(
            "sjt_labels" if m.sjt_labels else "labels",
            sjt_labels,
            srs,
            f"the SJT rating scale of {q.id!r}",
        )
    if problems:
        raise InputError("\n".join(f"{source}: {p}" for p in problems))
    return _Labels(
        {label_key(k): float(v) for k, v in labels.items()},
        {label_key(k): float(v) for k, v in sjt_labels.items()},
    )


# --------------------------------------------------------------------------- export layout


@dataclass(frozen=True)
class _Column:
    index: int
    display: str
    names: tuple[str, ...]  # names a mapping may use, in order of precedence
    import_id: str | None = None

    @property
    def letter(self) -> str:
        n, out = self.index + 1, ""
        while n:
            n, rem = divmod(n - 1, 26)
            out = chr(ord("A") + rem) + out
        return out

    def where(self) -> str:
        return f"column {self.letter} ({self.display})"


_SM_SINGLE = {"", "response", "open-ended response"}

# ImportIds of the metadata columns Qualtrics adds to every export.
_QUALTRICS_META = frozenset(
    {
        "startDate",
        "endDate",
        "status",
        "ipAddress",
        "progress",
        "duration",
        "finished",
        "recordedDate",
        "_recordId",
        "recipientLastName",
        "recipientFirstName",
        "recipientEmail",
        "externalDataReference",
        "locationLatitude",
        "locationLongitude",
        "distributionChannel",
        "userLanguage",
    }
)


def _header_rows(kind: str) -> int:
    return {"generic": 1, "surveymonkey": 2, "qualtrics": 3}[kind]


def _columns(kind: str, head: list[list[str]], width: int, source: str) -> list[_Column]:
    rows = [(r + [""] * width)[:width] for r in head]
    cols: list[_Column] = []
    if kind == "generic":
        for i, h in enumerate(rows[0]):
            name = norm(h)
            cols.append(_Column(i, repr(name) if name else "no header", (name,)))
        return cols
    if kind == "surveymonkey":
        question = ""
        for i, (h1, h2) in enumerate(zip(rows[0], rows[1], strict=True)):
            r1, r2 = norm(h1), norm(h2)
            if r1:
                question = r1
            if r2.casefold() in _SM_SINGLE:
                name = r1 or question
                cols.append(_Column(i, repr(name) if name else "no header", (name,)))
            else:
                full = f"{question} - {r2}" if question else r2
                cols.append(_Column(i, f"row 2: {r2!r}", (full, r2)))
        return cols
    for i, (h1, h2, h3) in enumerate(zip(*rows, strict=True)):
        import_id: str | None = None
        text = h3.strip()
        if text:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, Mapping) or not isinstance(parsed.get("ImportId"), str):
                raise InputError(
                    f"{source}: row 3, column {_Column(i, '', ()).letter} is {text[:40]!r}; a "
                    'Qualtrics CSV export has ImportIds such as {"ImportId":"QID1"} in row 3. '
                    "Export again as CSV (not the legacy format), or read it with --from generic."
                )
            import_id = parsed["ImportId"]
        r1, r2 = norm(h1), norm(h2)
        shown = repr(r1) if r1 else "no header"
        if r2 and r2 != r1:
            shown += f", {('...' + r2[-97:]) if len(r2) > 100 else r2!r}"
        cols.append(_Column(i, shown, (r1, import_id or "", r2), import_id))
    return cols


class _Lookup:
    """Find an export column by a name the mapping uses, tier by tier."""

    def __init__(self, columns: Sequence[_Column]) -> None:
        self.tiers: list[dict[str, list[_Column]]] = []
        for t in range(max((len(c.names) for c in columns), default=0)):
            tier: dict[str, list[_Column]] = {}
            for c in columns:
                if t < len(c.names) and c.names[t]:
                    tier.setdefault(c.names[t], []).append(c)
            self.tiers.append(tier)

    def find(self, name: str) -> list[_Column]:
        key = norm(name)
        for tier in self.tiers:
            if key in tier:
                return tier[key]
        return []


@dataclass
class _Layout:
    id_col: _Column
    items: list[tuple[int, _Column]]  # (item position in the questionnaire, column)
    seconds: _Column | None = None
    started: _Column | None = None
    submitted: _Column | None = None


class _Claims:
    """Export columns claimed by the names a mapping uses, each column once; the names
    not found and the other problems are collected for one message."""

    def __init__(self, columns: list[_Column], kind: str) -> None:
        self.lookup = _Lookup(columns)
        self.kind = kind
        self.claimed: dict[int, str] = {}
        self.missing: list[str] = []
        self.problems: list[str] = []

    def claim_column(self, col: _Column, role: str) -> bool:
        """Claim a column found otherwise (a grid row); False if it is already claimed."""
        if col.index in self.claimed:
            self.problems.append(
                f"{role} is {col.where()}, which is already {self.claimed[col.index]}; "
                "expected each column in one place"
            )
            return False
        self.claimed[col.index] = role
        return True

    def claim(self, name: str | None, role: str, required: bool = True) -> _Column | None:
        if name is None:
            return None
        found = self.lookup.find(name)
        if not found:
            if required:
                self.missing.append(f"{role} {name!r}")
            return None
        if len(found) > 1:
            where = ", ".join(f"column {c.letter}" for c in found)
            self.problems.append(
                f"{role} {name!r} matches {len(found)} columns ({where}); expected one. "
                + (
                    "Name a matrix column as 'QUESTION - ROW LABEL'."
                    if self.kind == "surveymonkey"
                    else "Give the questions different texts in the survey tool."
                    if self.kind == "generic"
                    else "Name it by its question name (Q1_2) or ImportId (QID1_2)."
                )
            )
            return None
        col = found[0]
        if col.index in self.claimed:
            self.problems.append(
                f"{role} {name!r} is {col.where()}, which is already {self.claimed[col.index]}; "
                "expected each column in one place"
            )
            return None
        self.claimed[col.index] = f"{role} {name!r}"
        return col


def _resolve(
    m: SurveyMapping,
    kind: str,
    q: Questionnaire,
    columns: list[_Column],
    data: list[list[str]],
    source: str,
    mapping_name: str,
) -> _Layout:
    claims = _Claims(columns, kind)
    cid_name = m.candidate_id
    if cid_name is None and kind == "qualtrics":
        cid_name = "ResponseId"
    if cid_name is None:
        raise InputError(
            f"{mapping_name}: candidate_id: required field is missing; expected the header of "
            "the column that identifies the candidate, e.g. 'Email Address' or 'Respondent ID'"
        )
    id_col = claims.claim(cid_name, "candidate_id")
    pos = {item_id: j for j, item_id in enumerate(q.item_ids)}
    items: list[tuple[int, _Column]] = []
    for column, item_id in m.items.items():
        col = claims.claim(column, f"item {item_id!r}:")
        if col is not None:
            items.append((pos[item_id], col))
    if kind == "generic":
        items += _grid_columns(m, q, columns, claims, pos)
    if not items and not claims.missing:
        raise InputError(
            f"{mapping_name}: items: no column is mapped to an item of {q.id!r}; expected "
            "'COLUMN HEADER: item_id' entries"
            + (
                ", 'grids' entries, or grid columns headed 'Scenario text [Option text]'"
                if q.has_sjt
                else ""
            )
        )
    layout_seconds = claims.claim(m.seconds, "seconds")
    if m.seconds is None and m.started is None and kind == "qualtrics":
        layout_seconds = claims.claim("Duration (in seconds)", "seconds", required=False)
    started = claims.claim(m.started, "started")
    submitted = claims.claim(m.submitted, "submitted")
    for name in m.ignore:
        claims.claim(name, "ignored", required=False)
    problems = _layout_problems(claims, kind, q, columns, data)
    if problems:
        raise InputError(
            f"{source} does not match the mapping {mapping_name}:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    assert id_col is not None  # otherwise 'missing' raised above
    return _Layout(id_col, items, layout_seconds, started, submitted)


_CHOICE_ROWS = {
    "most": "most",
    "most effective": "most",
    "least": "least",
    "least effective": "least",
    "best": "best",
    "best response": "best",
    "most effective response": "most",
    "least effective response": "least",
}


def _grid_rows(item: SjtItem) -> dict[str, str]:
    """Row label key -> answer column of a grid question asking SJT item ``item``: an
    option's text or id for 'rate', 'Most (effective)' / 'Least (effective)' / 'Best'
    for the choice formats."""
    if item.response_format == "rate":
        out = {label_key(o.id): f"{item.id}.{o.id}" for o in item.options}
        out.update({label_key(o.text): f"{item.id}.{o.id}" for o in item.options})
        return out
    return {
        k: f"{item.id}.{v}" for k, v in _CHOICE_ROWS.items() if f"{item.id}.{v}" in item.columns
    }


def _grid_columns(
    m: SurveyMapping,
    q: Questionnaire,
    columns: list[_Column],
    claims: _Claims,
    pos: Mapping[str, int],
) -> list[tuple[int, _Column]]:
    """The answer columns of grid questions: Google Forms and Microsoft Forms export a
    grid as one column per row, headed ``Question [Row]``. A grid is named in 'grids'
    (question text -> SJT item id); an SJT item the mapping does not name is found by
    its own scenario text, when the export has columns ``SCENARIO [Option text]``."""
    explicit = set(m.items.values())
    named = set(m.grids.values())
    grids: list[tuple[str, SjtItem, bool]] = [
        (norm(question), q.sjt_item_index[item_id], True) for question, item_id in m.grids.items()
    ]
    for item in q.sjt_items:
        if item.id not in named and not any(c in explicit for c in item.columns):
            grids.append((norm(item.scenario), item, False))
    out: list[tuple[int, _Column]] = []
    for question, item, required in grids:
        prefix = question + " ["
        found = [c for c in columns if c.names[0].startswith(prefix) and c.names[0].endswith("]")]
        if not found:
            if required:
                claims.missing.append(
                    f"grid {question[:60]!r} ({item.id}: columns 'QUESTION [ROW]')"
                )
            continue
        rows = _grid_rows(item)
        for col in found:
            row = col.names[0][len(prefix) : -1]
            column_id = rows.get(label_key(row))
            if column_id is None:
                expected = (
                    "the text or id of one of its options"
                    if item.response_format == "rate"
                    else "'Most effective' or 'Least effective'"
                    if item.response_format == "most_least"
                    else "'Best'"
                )
                claims.problems.append(
                    f"{col.where()}: grid row {row[:60]!r} of SJT item {item.id!r} is no "
                    f"answer of it; expected {expected}"
                )
                continue
            if claims.claim_column(col, f"grid {item.id!r} row {row[:40]!r} ({column_id})"):
                out.append((pos[column_id], col))
    return out


def _layout_problems(
    claims: _Claims, kind: str, q: Questionnaire, columns: list[_Column], data: list[list[str]]
) -> list[str]:
    """Everything wrong with the claims: mapped columns the export lacks first, then the
    claims' own problems, then the export's columns no name claimed."""
    problems = list(claims.problems)
    if claims.missing:
        spare = [c for c in columns if c.index not in claims.claimed and c.names[0]]
        hint = "; ".join(f"{c.letter}: {c.display}" for c in spare[:12])
        problems.insert(
            0,
            f"the mapping names column(s) the export does not have: {', '.join(claims.missing)}. "
            f"Check the spelling and the export layout ({kind}; see --from)."
            + (f" Columns the mapping does not use yet: {hint}" if hint else ""),
        )
    unmapped: list[_Column] = []
    for c in columns:
        if c.index in claims.claimed or (kind == "qualtrics" and _is_qualtrics_meta(c)):
            continue
        if not c.names[0] and all(
            not (r[c.index].strip() if c.index < len(r) else "") for r in data
        ):
            continue  # a trailing empty column some spreadsheets add
        unmapped.append(c)
    if unmapped:
        listed = "; ".join(c.where() for c in unmapped)
        header_row = {"generic": "row 1", "surveymonkey": "rows 1-2", "qualtrics": "rows 1-3"}
        problems.append(
            f"{len(unmapped)} column(s) of the export are not in the mapping "
            f"(header {header_row[kind]}): {listed}. Add each question of {q.id!r} to "
            "'items' (COLUMN HEADER: item_id) and every other column to 'ignore', so that "
            "no answer is dropped unnoticed."
        )
    return problems


def _is_qualtrics_meta(c: _Column) -> bool:
    return c.import_id is not None and (
        c.import_id in _QUALTRICS_META or c.import_id.startswith("Q_")
    )


def _detect_other_layout(kind: str, records: list[list[str]], source: str) -> None:
    """A Qualtrics or SurveyMonkey export read as generic: say how to read it."""
    if kind != "generic" or len(records) < 2:
        return
    if len(records) >= 3 and any(c.strip().startswith('{"ImportId"') for c in records[2]):
        raise InputError(
            f"{source} looks like a Qualtrics export (ImportIds in row 3); read it with "
            "--from qualtrics or 'format: qualtrics' in the mapping"
        )
    second = [norm(c).casefold() for c in records[1]]
    if second and not second[0] and any(c in ("response", "open-ended response") for c in second):
        raise InputError(
            f"{source} looks like a SurveyMonkey export (a second header row with "
            "'Response'); read it with --from surveymonkey or 'format: surveymonkey' in the "
            "mapping"
        )


# --------------------------------------------------------------------------- timestamps

_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%Y/%m/%d %I:%M:%S %p",
    "%Y/%m/%d %H:%M:%S",
)


def _parse_time(text: str, fmt: str | None) -> datetime | None:
    if fmt is not None:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for f in _TIME_FORMATS:
        try:
            return datetime.strptime(text, f)
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------- reading


def _read_export(
    path: str | Path, kind: str, encoding: str | None = None
) -> tuple[list[list[str]], str, int, bool]:
    """The export's records, its name for messages, its number of header rows and
    whether a decimal comma is a number, once the header rows are what an export of
    this ``kind`` has. CSV (any delimiter and encoding :mod:`~repprofile._input.files`
    reads) or an .xlsx workbook."""
    from repprofile._errors import InputError
    from repprofile._input.files import read_table

    table = read_table(path, "survey export file", encoding)
    records, source = table.rows, table.source
    n_head = _header_rows(kind)
    if len(records) < n_head:
        raise InputError(
            f"{source}: expected {n_head} header row(s) ({kind} export), got {len(records)} row(s)"
        )
    _detect_other_layout(kind, records, source)
    if kind == "surveymonkey" and records[1] and records[1][0].strip():
        raise InputError(
            f"{source}: row 2 starts with {records[1][0].strip()!r}; a SurveyMonkey export has "
            "a second header row there (blank under Respondent ID, then 'Response' or the row "
            "labels of matrix questions). Read a one-header-row export with --from generic."
        )
    return records, source, n_head, table.decimal_comma


def _check_surveymonkey_id(second_row: list[str], id_col: _Column, source: str) -> None:
    """A SurveyMonkey export's second header row is blank under the candidate id."""
    from repprofile._errors import InputError

    cell = second_row[id_col.index] if id_col.index < len(second_row) else ""
    if cell.strip():
        raise InputError(
            f"{source}: row 2 holds {cell.strip()!r} under the candidate id; a SurveyMonkey "
            "export has a second header row there. Read a one-header-row export with "
            "--from generic."
        )


@dataclass
class _RowReader:
    """Reads the answer rows of an export, one candidate each, with a resolved layout;
    every problem becomes a :class:`CandidateError` in :attr:`errors`."""

    q: Questionnaire
    m: SurveyMapping
    layout: _Layout
    labels: _Labels
    source: str
    width: int
    mapping_name: str
    decimal_comma: bool = False
    errors: list[CandidateError] = field(default_factory=list)

    @functools.cached_property
    def expected(self) -> str:
        """What a Likert answer cell may hold, for messages."""
        rs = self.q.response_scale
        shown = ", ".join(repr(k) for k in (self.m.labels or dict.fromkeys(rs.labels.values())))
        return (
            f"one of the labels {shown}, " if shown else ""
        ) + f"{rs.describe()}, or a blank cell for a missing answer"

    @functools.cached_property
    def sjt_expected(self) -> str:
        """What an SJT rating cell may hold, for messages."""
        rs = self.q.sjt_response_scale
        assert rs is not None
        shown = ", ".join(repr(k) for k in self._sjt_label_texts)
        return (
            f"one of the labels {shown}, " if shown else ""
        ) + f"{rs.describe()}, or a blank cell for a missing answer"

    @functools.cached_property
    def _sjt_label_texts(self) -> list[str]:
        rs = self.q.sjt_response_scale
        if self.m.sjt_labels:
            return list(self.m.sjt_labels)
        if self.m.labels and not self.q.likert_items:
            return list(self.m.labels)
        return list(rs.labels.values()) if rs is not None else []

    @functools.cached_property
    def sjt_rate_columns(self) -> frozenset[int]:
        """Positions of the SJT rating columns (ITEM.OPTION)."""
        return frozenset(
            int(c) for c in self.q.sjt_columns if self.q.item_ids[c] not in self.q.choice_columns
        )

    @functools.cached_property
    def choices(self) -> dict[int, dict[str, float]]:
        """Position of each most/least/best column -> cell text key -> the chosen option's
        1-based position (by option id or option text)."""
        out: dict[int, dict[str, float]] = {}
        for c in self.q.sjt_columns:
            column = self.q.item_ids[c]
            if column not in self.q.choice_columns:
                continue
            item = self.q.sjt_item_index[column.split(".", 1)[0]]
            table = {label_key(o.text): float(k + 1) for k, o in enumerate(item.options)}
            table.update({label_key(o.id): float(k + 1) for k, o in enumerate(item.options)})
            out[int(c)] = table
        return out

    def _error(
        self,
        candidate_id: str | None,
        message: str,
        item_id: str | None = None,
        value: str | None = None,
    ) -> None:
        from repprofile._input.answers import CandidateError

        self.errors.append(
            CandidateError(candidate_id=candidate_id, item_id=item_id, value=value, message=message)
        )

    def row(self, raw: list[str], rowno: int) -> tuple[str | None, str, list[float], float, bool]:
        """One candidate: (its id or None, the id to list it by, its answers in item
        order, its seconds, whether it is rejected)."""
        n_errors = len(self.errors)
        row = (raw + [""] * self.width)[: self.width]
        cid: str | None = row[self.layout.id_col.index].strip()
        if not cid:
            cid = None
            self._error(
                None,
                f"{self.source} row {rowno}: {self.layout.id_col.where()} is empty; expected "
                "the candidate id",
            )
        if len(raw) != self.width:
            self._error(
                cid,
                f"{self.source} row {rowno} has {len(raw)} fields; the header has {self.width}. "
                "Check for unquoted commas or a cut-off row.",
            )
        values = self._answers(row, rowno, cid)
        seconds, problem = _row_seconds(row, self.layout, self.m.time_format)
        if problem is not None:
            self._error(cid, f"{self.source} row {rowno}, {problem[0]}", value=problem[1])
        shown = cid if cid is not None else f"#{rowno}"
        return cid, shown, values, seconds, len(self.errors) > n_errors

    def _answers(self, row: list[str], rowno: int, cid: str | None) -> list[float]:
        """The row's answers in item order (NaN: missing or not understood)."""
        values = [math.nan] * len(self.q.item_ids)
        for j, col in self.layout.items:
            text = norm(row[col.index])
            if not text:
                continue
            choice = self.choices.get(j)
            if choice is not None:
                position = choice.get(text.casefold())
                if position is None:
                    column = self.q.item_ids[j]
                    item_id, which = column.split(".", 1)
                    item = self.q.sjt_item_index[item_id]
                    self._error(
                        cid,
                        f"{self.source} row {rowno}, {col.where()}: {which} answer {text!r} to "
                        f"SJT item {item_id!r} is not one of its options; expected an option "
                        f"id {list(item.option_ids)} or an option's text, or a blank cell for "
                        "a missing answer",
                        item_id=column,
                        value=text,
                    )
                    continue
                values[j] = position
                continue
            rating = j in self.sjt_rate_columns
            number = self._number(text, self.labels.sjt if rating else self.labels.likert)
            if number is None:
                item_id = self.q.item_ids[j]
                if rating:
                    scenario, option = item_id.split(".", 1)
                    what = f"rating {text!r} of option {option!r} of SJT item {scenario!r}"
                    expected, field_ = self.sjt_expected, "sjt_labels"
                else:
                    what = f"answer {text!r} to item {item_id!r}"
                    expected, field_ = self.expected, "labels"
                self._error(
                    cid,
                    f"{self.source} row {rowno}, {col.where()}: {what} is not a known label; "
                    f"expected {expected}. If it is an answer label of the survey, add it to "
                    f"{field_!r} in {self.mapping_name}.",
                    item_id=item_id,
                    value=text,
                )
                continue
            values[j] = number
        return values

    def _number(self, text: str, labels: Mapping[str, float]) -> float | None:
        """A cell's answer: a known label's number, else a finite number, else None."""
        number = labels.get(text.casefold())
        if number is not None:
            return number
        if self.decimal_comma:
            from repprofile._input.files import decimal_comma_number

            text = decimal_comma_number(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None


def read_survey(
    path: str | Path,
    questionnaire: Questionnaire,
    mapping_path: str | Path,
    kind: str | None = None,
    *,
    encoding: str | None = None,
    duplicates: str = "reject",
) -> AnswerSet:
    """Read a survey tool's export with a mapping file (see the module docs).

    The reader behind :func:`repprofile.read_survey` (``_input/survey_public.py``), which
    checks the parameters and documents them, the return value and the errors; this
    module stays light to import for the CLI's start-up.
    """
    import numpy as np

    from repprofile._input.answers import (
        DUPLICATES_HINT,
        AnswerSet,
        RepprofileWarning,
        _check_ids,
        keep_rows,
    )
    from repprofile._input.problems import cap_problems

    q = questionnaire
    mapping_name = Path(mapping_path).name
    m = load_mapping(mapping_path)
    layout_kind = kind if kind is not None else m.format
    if layout_kind not in EXPORT_FORMATS:
        raise InputError(
            f"The export format must be one of {', '.join(EXPORT_FORMATS)}, got "
            f"{layout_kind!r} instead"
        )
    labels = _check_against(m, q, mapping_name)
    records, source, n_head, decimal_comma = _read_export(path, layout_kind, encoding)
    width = len(records[0])
    data = records[n_head:]
    columns = _columns(layout_kind, records[:n_head], width, source)
    layout = _resolve(m, layout_kind, q, columns, data, source, mapping_name)
    if layout_kind == "surveymonkey":
        _check_surveymonkey_id(records[1], layout.id_col, source)
    mapped_items = {j for j, _ in layout.items}
    absent = [i for j, i in enumerate(q.item_ids) if j not in mapped_items]
    if absent:
        warnings.warn(
            f"{mapping_name}: no column for item(s) {', '.join(absent)}; their answers are missing",
            RepprofileWarning,
            stacklevel=2,
        )
    reader = _RowReader(q, m, layout, labels, source, width, mapping_name, decimal_comma)
    numbered = [
        (n_head + k + 1, raw)
        for k, raw in enumerate(data)
        if raw and not all(not c.strip() for c in raw)
    ]
    numbered = keep_rows(numbered, layout.id_col.index, duplicates, source)
    ids: list[str] = []
    numbers: list[int] = []
    rows: list[list[float]] = []
    took: list[float] = []
    bad: list[bool] = []
    no_id: set[int] = set()
    for rowno, raw in numbered:
        cid, shown, values, seconds, rejected = reader.row(raw, rowno)
        if cid is None:
            no_id.add(len(ids))
        ids.append(shown)
        numbers.append(rowno)
        rows.append(values)
        took.append(seconds)
        bad.append(rejected)
    value_arr = np.array(rows, dtype=np.float64).reshape(len(rows), len(q.item_ids))
    rejected_arr = np.array(bad, dtype=bool)
    errors = reader.errors
    _check_ids(
        ids,
        errors,
        rejected_arr,
        frozenset(no_id),
        noun="rows",
        numbers=numbers,
        hint=DUPLICATES_HINT,
    )
    errors = cap_problems(errors)
    timed = layout.seconds is not None or layout.started is not None
    seconds_arr = np.array(took, dtype=np.float64) if timed else None
    return AnswerSet(q, value_arr, tuple(ids), errors, rejected_arr, seconds_arr)


def _row_seconds(
    row: list[str], layout: _Layout, time_format: str | None
) -> tuple[float, tuple[str, str] | None]:
    """Answering time of one row: (seconds, None) or (NaN, (where and what, value))."""
    if layout.seconds is not None:
        text = row[layout.seconds.index].strip()
        if not text:
            return math.nan, None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value, None
        return math.nan, (
            f"{layout.seconds.where()}: {text!r} is not a number of seconds; expected a "
            "non-negative number",
            text,
        )
    if layout.started is None or layout.submitted is None:
        return math.nan, None
    cols = (layout.started, layout.submitted)
    texts = [row[c.index].strip() for c in cols]
    if not all(texts):
        return math.nan, None
    times: list[datetime] = []
    for c, text in zip(cols, texts, strict=True):
        t = _parse_time(text, time_format)
        if t is None:
            want = (
                f"the time_format {time_format!r}"
                if time_format
                else "an ISO 8601 or month-first (3/5/2024 9:14:02) timestamp; set "
                "'time_format' in the mapping for another layout"
            )
            return math.nan, (f"{c.where()}: {text!r} is not a timestamp; expected {want}", text)
        times.append(t)
    try:
        seconds = (times[1] - times[0]).total_seconds()
    except TypeError:
        return math.nan, (
            f"{cols[0].where()} and {cols[1].where()}: one timestamp has a time zone and the "
            "other not; expected both alike",
            texts[1],
        )
    if seconds < 0:
        return math.nan, (
            f"{cols[1].where()}: submitted {texts[1]!r} is before started {texts[0]!r}; "
            "expected the submission after the start (check day/month order and time_format)",
            texts[1],
        )
    return seconds, None
