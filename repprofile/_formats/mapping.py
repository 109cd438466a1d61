"""The survey mapping file: which column of a survey tool's export is which item, the
candidate id, the timing columns, and which answer label is which number (see
:mod:`repprofile._input.survey` for the export reader and docs/answers-input.md for the
format). Only the standard library is imported at module level: the command line reads
:data:`EXPORT_FORMATS` from here while it builds its parser."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from repprofile._errors import InputError, QuestionnaireError

__all__ = ["EXPORT_FORMATS", "ExportFormat", "SurveyMapping", "label_key", "load_mapping", "norm"]


ExportFormat = Literal["generic", "surveymonkey", "qualtrics"]


EXPORT_FORMATS: tuple[str, ...] = ("generic", "surveymonkey", "qualtrics")


def norm(text: str) -> str:
    """A header or label with a leading BOM dropped and white-space runs collapsed."""
    return " ".join(text.lstrip("\ufeff").split())


def label_key(text: str) -> str:
    return norm(text).casefold()


@dataclass(frozen=True)
class SurveyMapping:
    """A mapping file: which column of a survey-tool export is which (see module docs)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    questionnaire: str
    items: dict[str, str] = field(default_factory=dict)
    candidate_id: str | None = None
    format: ExportFormat = "generic"
    labels: dict[str, float] = field(default_factory=dict)
    grids: dict[str, str] = field(default_factory=dict)
    sjt_labels: dict[str, float] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    seconds: str | None = None
    started: str | None = None
    submitted: str | None = None
    time_format: str | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.questionnaire.strip():
            problems.append("questionnaire: expected the questionnaire id, got an empty string")
        if not self.items and not self.grids:
            problems.append(
                "items: expected at least one 'COLUMN HEADER: item_id' entry (or a 'grids' "
                "entry, 'QUESTION TEXT: sjt_item_id'), got none"
            )
        by_item: dict[str, list[str]] = {}
        for column, item_id in self.items.items():
            by_item.setdefault(item_id, []).append(column)
        for item_id, columns in by_item.items():
            if len(columns) > 1:
                problems.append(
                    f"items: item {item_id!r} is mapped from {len(columns)} columns "
                    f"({', '.join(map(repr, columns))}); expected each item from one column"
                )
        grid_items: dict[str, list[str]] = {}
        for question, item_id in self.grids.items():
            grid_items.setdefault(item_id, []).append(question)
            if any(c == item_id or c.startswith(item_id + ".") for c in by_item):
                problems.append(
                    f"grids: item {item_id!r} is a grid ({question!r}) and also in 'items'; "
                    "expected it in one place"
                )
        for item_id, questions in grid_items.items():
            if len(questions) > 1:
                problems.append(
                    f"grids: item {item_id!r} is mapped from {len(questions)} grid questions "
                    f"({', '.join(map(repr, questions))}); expected one"
                )
        for name in ("labels", "sjt_labels"):
            seen_labels: dict[str, str] = {}
            for label, number in getattr(self, name).items():
                key = label_key(label)
                if not key:
                    problems.append(f"{name}: a label is empty; expected the answer text")
                elif key in seen_labels:
                    problems.append(
                        f"{name}: {seen_labels[key]!r} and {label!r} differ only in case or "
                        "spaces; expected each label once"
                    )
                seen_labels.setdefault(key, label)
                if not math.isfinite(number):
                    problems.append(f"{name}.{label}: expected a finite number, got {number!r}")
        if self.seconds is not None and (self.started is not None or self.submitted is not None):
            problems.append(
                "seconds: give either 'seconds' (a column of seconds) or 'started' and "
                "'submitted' (timestamp columns), not both"
            )
        if (self.started is None) != (self.submitted is None):
            problems.append(
                "started/submitted: expected both timestamp columns (the seconds are "
                "submitted - started), got only one"
            )
        if self.time_format is not None and "%" not in self.time_format:
            problems.append(
                f"time_format: expected a strptime format such as '%d/%m/%Y %H:%M:%S', "
                f"got {self.time_format!r}"
            )
        roles: dict[str, str] = {}
        named = [(f"items[{c!r}]", c) for c in self.items] + [
            (f"ignore[{c!r}]", c) for c in self.ignore
        ]
        for role in ("candidate_id", "seconds", "started", "submitted"):
            value = getattr(self, role)
            if value is not None:
                named.append((role, value))
        for role, column in named:
            key = norm(column)
            if key in roles:
                problems.append(
                    f"{role}: column {column!r} is also named by {roles[key]}; expected each "
                    "column in one place"
                )
            roles.setdefault(key, role)
        if problems:
            raise ValueError("; ".join(problems))


_MAPPING_FIELDS = (
    "questionnaire",
    "format",
    "candidate_id",
    "items",
    "grids",
    "labels",
    "sjt_labels",
    "ignore",
    "seconds",
    "started",
    "submitted",
    "time_format",
)


def load_mapping(path: str | Path) -> SurveyMapping:
    """Read and validate a mapping file (YAML or JSON); InputError names every problem."""
    from pydantic import TypeAdapter, ValidationError

    from repprofile._formats.files import format_validation_error, read_yaml

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such mapping file")
    try:
        data = read_yaml(p)
    except QuestionnaireError as exc:
        raise InputError(str(exc)) from None
    if not isinstance(data, Mapping):
        raise InputError(
            f"{p}: a mapping file must be a mapping with questionnaire, candidate_id, items "
            f"and labels, got {type(data).__name__} instead"
        )
    if "items" not in data and "grids" not in data:
        raise InputError(
            f"{p}: items: required field is missing; expected 'COLUMN HEADER: item_id' "
            "entries (or 'grids', 'QUESTION TEXT: sjt_item_id', for SJT grid questions)"
        )
    for name, example in (("labels", "Strongly agree: 5"), ("sjt_labels", "Very effective: 6")):
        labels = data.get(name)
        if isinstance(labels, Mapping):
            bad = [
                k
                for k, v in labels.items()
                if isinstance(v, bool) or not isinstance(v, int | float)
            ]
            if bad:
                raise InputError(
                    f"{p}: {name}: expected answer label -> number, e.g. '{example}', "
                    f"got {', '.join(f'{k!r}: {labels[k]!r}' for k in bad)} instead"
                )
    try:
        return TypeAdapter(SurveyMapping).validate_python(dict(data))
    except ValidationError as exc:
        raise InputError(format_validation_error(str(p), exc, _MAPPING_FIELDS)) from None
