"""Questionnaire file format: pydantic models, YAML loading and the bundled files.

The field names of :class:`Questionnaire` are a public contract (see
``docs/questionnaire-format.md``). A questionnaire file is YAML (JSON is valid YAML),
read with a safe loader that also rejects duplicate mapping keys, and parsed into
frozen pydantic models, so a loaded questionnaire cannot change under a result that
refers to it.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    FiniteFloat,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from repprofile._errors import QuestionnaireError
from repprofile._formats.files import (
    CachedModel,
    _construct_mapping,
    _UniqueKeyLoader,
    bundled_dir,
    bundled_files,
    find_source,
    read_yaml,
    validate_document,
)
from repprofile._util import canonical_sha256, read_only
from repprofile._validation import validate_params

__all__ = [
    "QUALITY_RULES",
    "REP_TYPE_IDS",
    "SJT_METHODS",
    "Item",
    "QualityRule",
    "QualitySettings",
    "Questionnaire",
    "ResponseScale",
    "Scale",
    "SjtItem",
    "SjtOption",
    "SjtSettings",
    "list_questionnaires",
    "load_questionnaire",
]

_SCALE_ID = r"^[a-z0-9_]+$"
_QUESTIONNAIRE_ID = r"^[a-z0-9-]+$"
_ITEM_ID = r"^[A-Za-z0-9_.-]+$"
_OPTION_ID = r"^[A-Za-z0-9_-]+$"

# The seven rep types of Dixon, Ponomareff, Turner and DeLisi (2017): the ids an SJT
# option's ``type`` may name when the questionnaire has no trait scales of its own.
REP_TYPE_IDS: tuple[str, ...] = (
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
)

SjtMethod = Literal[
    "distance",
    "absolute",
    "standardized",
    "correlation",
    "most_least",
    "best",
    "mode",
    "proportion",
]
SJT_METHODS: tuple[str, ...] = get_args(SjtMethod)


class _Model(CachedModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseScale(_Model):
    """The answer scale shared by every item, e.g. 1 (strongly disagree) to 5."""

    min: StrictInt = Field(description="Lowest possible answer.")
    max: StrictInt = Field(description="Highest possible answer; must be greater than min.")
    labels: dict[int, str] = Field(
        default_factory=dict, description="Optional labels of some or all answer values."
    )
    integers: bool = Field(
        default=True,
        description="Answers must be whole numbers (default). Set false for slider answers.",
    )

    @model_validator(mode="after")
    def _check(self) -> ResponseScale:
        if self.min >= self.max:
            raise ValueError(
                f"min must be less than max, got min={self.min} and max={self.max} instead"
            )
        outside = sorted(k for k in self.labels if not self.min <= k <= self.max)
        if outside:
            raise ValueError(
                f"labels must be for answers from {self.min} to {self.max}, "
                f"got labels for {outside} instead"
            )
        return self

    def describe(self) -> str:
        """Plain-English statement of what an answer must be, for error messages."""
        kind = "a whole number" if self.integers else "a number"
        return f"{kind} from {self.min} to {self.max}"


class Scale(_Model):
    """A scale scored from a set of items."""

    id: Annotated[str, Field(pattern=_SCALE_ID, description="Scale id, [a-z0-9_]+.")]
    name: str = Field(description="Human-readable name, e.g. 'Controller'.")
    kind: Literal["trait", "validity", "skill"] = Field(
        default="trait",
        description=(
            "trait scales make the profile; validity scales check the answers; skill "
            "scales are scored from situational judgment (SJT) scenarios."
        ),
    )
    total: bool = Field(
        default=False,
        description="A skill scale scored from every SJT scenario (e.g. service_recovery).",
    )
    description: str | None = None
    min_answered: int | None = Field(
        default=None,
        ge=1,
        description="Fewest answered items for a score; default half the items, rounded up.",
    )
    reliability: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description=(
            "Reliability the questionnaire's authors report (e.g. alpha in their sample); "
            "used for measurement error when no norm table gives one."
        ),
    )
    sd: float | None = Field(
        default=None,
        gt=0,
        description="SD of the scale mean score in the authors' reference sample (for the SEM).",
    )


class Item(_Model):
    """One statement the candidate rates on the response scale (a Likert item)."""

    id: Annotated[str, Field(pattern=_ITEM_ID, description="Item id, unique in the file.")]
    text: str
    kind: Literal["scored", "attention_check", "infrequency"] = Field(
        default="scored",
        description=(
            "scored items count on their scale; attention_check (an instructed answer) and "
            "infrequency (a statement nearly everyone answers the same way) items check "
            "the candidate's attention and are scored on no scale."
        ),
    )
    scale: str | None = Field(
        default=None, description="Id of the scale the item is scored on (scored items)."
    )
    expected: list[StrictInt] | None = Field(
        default=None,
        description="Attention and infrequency items: the answers that pass the check.",
    )
    keyed: Literal[1, -1] = Field(
        default=1, description="1 for positively keyed, -1 for reverse-keyed items."
    )

    @model_validator(mode="after")
    def _check_kind(self) -> Item:
        if self.kind == "scored":
            if self.scale is None:
                raise ValueError("a scored item needs 'scale', the id of its scale")
            if self.expected is not None:
                raise ValueError(
                    "'expected' is for attention_check and infrequency items; remove it or set kind"
                )
        else:
            if self.scale is not None:
                raise ValueError(f"a {self.kind} item is scored on no scale; remove 'scale'")
            if not self.expected:
                raise ValueError(
                    f"a {self.kind} item needs 'expected', the list of answers that pass"
                )
        return self

    @field_validator("keyed", mode="before")
    @classmethod
    def _keyed_is_an_integer(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"keyed must be 1 or -1, got {value!r} instead")
        return value


class SjtOption(_Model):
    """One possible response to an SJT scenario."""

    id: Annotated[str, Field(pattern=_OPTION_ID, description="Option id, unique in its item.")]
    text: str
    type: str | None = Field(
        default=None, description="The rep type (trait scale id) the response expresses."
    )
    key: FiniteFloat | None = Field(
        default=None,
        description="Keyed effectiveness on the SJT rating scale (a draft or SME mean).",
    )


class SjtItem(_Model):
    """A situational judgment scenario: a stem and 2 to 8 responses to judge."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", description="Item id (no dots).")]
    kind: Literal["sjt"]
    scenario: str = Field(description="The situation (the stem).")
    options: list[SjtOption] = Field(min_length=2, max_length=8)
    competencies: list[str] = Field(
        min_length=1, description="Ids of the skill scales the scenario measures."
    )
    response_format: Literal["rate", "most_least", "best"] = Field(
        default="rate",
        description=(
            "rate: every option rated on the rating scale; most_least: the most and the "
            "least effective option picked; best: one option picked."
        ),
    )

    @property
    def text(self) -> str:
        """The scenario (so an SJT item reads like any item where only text is needed)."""
        return self.scenario

    @property
    def columns(self) -> tuple[str, ...]:
        """The answer columns of this item: ``ITEM.OPTION`` per option for ``rate``,
        ``ITEM.most`` and ``ITEM.least``, or ``ITEM.best``."""
        if self.response_format == "rate":
            return tuple(f"{self.id}.{o.id}" for o in self.options)
        if self.response_format == "most_least":
            return (f"{self.id}.most", f"{self.id}.least")
        return (f"{self.id}.best",)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    @model_validator(mode="after")
    def _check(self) -> SjtItem:
        problems = list(_repeated_ids("options", "option", [o.id for o in self.options]).values())
        if self.response_format != "rate":
            clash = [o.id for o in self.options if o.id in ("most", "least", "best")]
            if clash:
                problems.append(
                    f"options: option id(s) {clash} clash with the answer columns; "
                    "expected ids other than most, least and best"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SjtSettings(_Model):
    """How a questionnaire's SJT items are scored and rated."""

    method: SjtMethod = Field(
        default="standardized", description="Default scoring method (docs/sjt.md)."
    )
    response_scale: ResponseScale | None = Field(
        default=None,
        description="Rating scale of 'rate' items (default: the questionnaire's response_scale).",
    )
    key_draft: bool = Field(
        default=False,
        description="The keyed values are a draft, to be replaced with an SME key.",
    )
    key_note: str | None = Field(default=None, description="What the key is and where it is from.")


def _item_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "sjt" if kind == "sjt" else "likert"


AnyItem = Annotated[
    Annotated[Item, Tag("likert")] | Annotated[SjtItem, Tag("sjt")],
    Discriminator(_item_tag),
]


@dataclass(frozen=True)
class QualityRule:
    """When a response-quality index flags a candidate, and how the flag says why.

    ``setting`` is the :class:`QualitySettings` field holding the threshold; ``flags``
    the values that are flagged, relative to it; ``reason`` the plain-English reason, a
    :meth:`str.format` template of ``v`` (the value, formatted), ``t`` (the threshold)
    and ``scale`` (for the validity scales); ``values`` the index compared when it is
    not ``index`` itself (Mahalanobis D^2 is flagged by its p-value).
    """

    index: str
    setting: str
    flags: Literal["above", "below", "at_or_above"]
    reason: str
    values: str | None = None


# Every flag, in the order flags are listed. The thresholds themselves have one home:
# the defaults of QualitySettings (docs/response-quality.md is checked against them).
QUALITY_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        "longstring",
        "longstring_max",
        "above",
        "gave the same answer {v} times in a row (more than {t:.0f}): possible straight-lining",
    ),
    QualityRule(
        "irv",
        "irv_min",
        "below",
        "answers barely vary (SD {v}, below {t:.3g}): possible straight-lining",
    ),
    QualityRule(
        "mahalanobis_d2",
        "mahalanobis_p",
        "below",
        "the answer pattern is very unusual for the reference sample (p = {v} < {t}): "
        "possible random or patterned responding",
        values="mahalanobis_p",
    ),
    QualityRule(
        "even_odd",
        "even_odd_min",
        "below",
        "answers to items of the same scale disagree (even-odd consistency {v}, below {t}): "
        "possible random responding",
    ),
    QualityRule(
        "psychsyn",
        "psychsyn_min",
        "below",
        "items most people answer alike were answered differently (r = {v}, below {t}): "
        "possible random responding",
    ),
    QualityRule(
        "attention_failures",
        "attention_failures_max",
        "above",
        "failed {v} attention/infrequency item(s): answers may not have been read",
    ),
    QualityRule(
        "seconds_per_item",
        "seconds_per_item_min",
        "below",
        "{v} seconds per item, under {t}: too fast to read the items",
    ),
    QualityRule(
        "sjt_straightline",
        "sjt_straightline_max",
        "above",
        "gave every option the same rating in a share {v} of the rated scenarios (more than "
        "{t:.3g}): possible straight-lining of the situational judgment test",
    ),
    QualityRule(
        "seconds_per_scenario",
        "seconds_per_scenario_min",
        "below",
        "{v} seconds per scenario, under {t}: too fast to read the scenarios",
    ),
    QualityRule(
        "seconds_per_option",
        "seconds_per_option_min",
        "below",
        "{v} seconds per rated option, under {t}: too fast to read the options",
    ),
    QualityRule(  # one per validity (impression management) scale
        "{scale}_pomp",
        "impression_pomp_max",
        "at_or_above",
        "{scale} score {v} (POMP) at or above {t}: describes implausibly perfect conduct; "
        "other scores may be inflated",
    ),
)


_SJT_QUALITY_FIELDS = ("sjt_straightline_max", "seconds_per_scenario_min", "seconds_per_option_min")


class QualitySettings(BaseModel):
    """Flag thresholds. Defaults, with their sources, are in docs/response-quality.md.

    Set them per questionnaire (``quality:`` in its file) or per call.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    longstring_max: int | None = Field(
        default=None,
        description="Flag a run of identical answers longer than this (default: half the items).",
    )
    irv_min: float | None = Field(
        default=None,
        description="Flag an answer SD below this (default: 1/8 of the scale range, 0.5 on 1-5).",
    )
    mahalanobis_p: float = Field(
        default=0.001,
        gt=0,
        lt=1,
        description=(
            "Flag when the p of D^2 is below this (Hotelling's F against a norm table, "
            "Beta when the batch is its own reference)."
        ),
    )
    even_odd_min: float = Field(default=0.0, description="Flag even-odd consistency below this.")
    psychsyn_critval: float = Field(
        default=0.60, gt=0, lt=1, description="Item pairs correlating above this are synonyms."
    )
    psychsyn_min: float = Field(default=-0.3, description="Flag a synonym correlation below this.")
    seconds_per_item_min: float = Field(
        default=2.0, ge=0, description="Flag fewer seconds per answered item than this."
    )
    attention_failures_max: int = Field(
        default=0, ge=0, description="Flag more failed attention/infrequency items than this."
    )
    impression_pomp_max: float = Field(
        default=75.0,
        description="Flag a validity (impression management) scale at or above this POMP.",
    )
    sjt_straightline_max: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description=(
            "SJT: flag when the share of rated scenarios whose options all got the same "
            "rating is above this."
        ),
    )
    seconds_per_scenario_min: float = Field(
        default=10.0, ge=0, description="SJT: flag fewer seconds per answered scenario than this."
    )
    seconds_per_option_min: float = Field(
        default=2.0, ge=0, description="SJT: flag fewer seconds per rated option than this."
    )
    reference_min: int = Field(
        default=30,
        ge=3,
        description="Smallest batch used as the reference sample for sample-based indices.",
    )

    def resolved(self, q: Questionnaire) -> QualitySettings:
        """Fill the defaults that depend on the questionnaire."""
        rs = q.response_scale
        return self.model_copy(
            update={
                "longstring_max": (
                    self.longstring_max
                    if self.longstring_max is not None
                    else math.ceil(len(q.items) / 2)
                ),
                "irv_min": self.irv_min if self.irv_min is not None else (rs.max - rs.min) / 8,
            }
        )


def _repeated_ids(field: str, noun: str, ids: list[str]) -> dict[int, str]:
    """Per position of an id already used, the problem to report (by position)."""
    first: dict[str, int] = {}
    out: dict[int, str] = {}
    for i, x in enumerate(ids):
        if x in first:
            out[i] = (
                f"{field}[{i}].id: duplicate {noun} id {x!r} "
                f"(already used by {field}[{first[x]}]); expected unique ids"
            )
        first.setdefault(x, i)
    return out


class Questionnaire(_Model):
    """A questionnaire: its answer scale, its scales and its items in presentation order.

    Items are Likert items (:class:`Item`) and, optionally, situational judgment
    scenarios (:class:`SjtItem`, ``kind: sjt``) scored on ``skill`` scales.
    """

    id: Annotated[str, Field(pattern=_QUESTIONNAIRE_ID, description="Questionnaire id.")]
    version: str = Field(description='Version string, e.g. "1.0.0" (quote it in YAML).')
    title: str
    description: str | None = None
    instructions: str | None = None
    response_scale: ResponseScale
    scales: list[Scale] = Field(min_length=1)
    items: list[AnyItem] = Field(min_length=2)
    references: list[str] = Field(default_factory=list)
    quality: QualitySettings = Field(
        default_factory=lambda: QualitySettings(),
        description="Response-quality flag thresholds for this questionnaire (optional).",
    )
    sjt: SjtSettings | None = Field(
        default=None, description="Scoring settings of the SJT items (optional)."
    )
    included: list[str] = Field(
        default_factory=list,
        description="The questionnaires this one includes, as 'id version' (set on loading).",
    )

    @model_validator(mode="after")
    def _check_structure(self) -> Questionnaire:
        problems = list(_repeated_ids("scales", "scale", [s.id for s in self.scales]).values())
        repeated_items = _repeated_ids("items", "item", [item.id for item in self.items])
        kinds = {s.id: s.kind for s in self.scales}
        counts = dict.fromkeys((s.id for s in self.scales), 0)
        totals = [s.id for s in self.scales if s.total]
        trait_ids = [s.id for s in self.scales if s.kind == "trait"]
        type_ids = trait_ids or list(REP_TYPE_IDS)
        n_sjt = 0
        for i, item in enumerate(self.items):
            if i in repeated_items:
                problems.append(repeated_items[i])
            if isinstance(item, SjtItem):
                n_sjt += 1
                problems += self._sjt_problems(i, item, kinds, type_ids)
                for c in item.competencies:
                    if kinds.get(c) == "skill":
                        counts[c] += 1
                continue
            if item.expected is not None:
                rs = self.response_scale
                outside = [v for v in item.expected if not rs.min <= v <= rs.max]
                if outside:
                    problems.append(
                        f"items[{i}].expected: {outside} are outside the response scale; "
                        f"expected answers from {rs.min} to {rs.max}"
                    )
            if item.scale is None:
                continue
            if item.scale not in counts:
                problems.append(
                    f"items[{i}].scale: item {item.id!r} names scale {item.scale!r}, "
                    f"which is not defined; expected one of {sorted(counts)}"
                )
            elif kinds[item.scale] == "skill":
                problems.append(
                    f"items[{i}].scale: {item.scale!r} is a skill scale, scored from SJT "
                    "scenarios; expected a trait or validity scale"
                )
            else:
                counts[item.scale] += 1
        for t in totals:
            counts[t] = n_sjt
        columns = [c for item in self.items for c in _columns(item)]
        seen: set[str] = set()
        for c in columns:
            if c in seen:
                problems.append(
                    f"items: answer column {c!r} is used twice (an item id clashes with an "
                    "SJT item's ITEM.OPTION column); expected unique columns"
                )
            seen.add(c)
        for i, scale in enumerate(self.scales):
            n = counts.get(scale.id, 0)
            noun = "scenario(s)" if scale.kind == "skill" else "item(s)"
            if scale.total and scale.kind != "skill":
                problems.append(f"scales[{i}].total: only a skill scale can be a total")
            if n < 2:
                problems.append(
                    f"scales[{i}]: scale {scale.id!r} has {n} {noun}; expected at least 2"
                )
            elif scale.min_answered is not None and scale.min_answered > n:
                problems.append(
                    f"scales[{i}].min_answered: {scale.min_answered} is more than the "
                    f"scale's {n} {noun.removesuffix('(s)') + 's'}; expected at most {n}"
                )
        formats = sorted({it.response_format for it in self.items if isinstance(it, SjtItem)})
        if len(formats) > 1:
            problems.append(
                f"items: the SJT items mix response formats {formats}; expected one "
                "response_format for all SJT items of a questionnaire (the scoring methods "
                "differ per format)"
            )
        if self.sjt is not None and self.sjt.response_scale is not None and not n_sjt:
            problems.append("sjt.response_scale: the questionnaire has no SJT items")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _sjt_problems(
        self, i: int, item: SjtItem, kinds: Mapping[str, str], type_ids: list[str]
    ) -> list[str]:
        out = []
        for c in item.competencies:
            if kinds.get(c) != "skill":
                totals = {sc.id for sc in self.scales if sc.total}
                skills = sorted(k for k, v in kinds.items() if v == "skill" and k not in totals)
                out.append(
                    f"items[{i}].competencies: item {item.id!r} names {c!r}, which is not a "
                    f"skill scale; expected one of {skills}"
                )
            elif any(s.total for s in self.scales if s.id == c):
                out.append(
                    f"items[{i}].competencies: {c!r} is the total scale, which scores every "
                    "scenario; list only the competencies"
                )
        rs = self.sjt_scale_of_file
        for j, opt in enumerate(item.options):
            if opt.type is not None and opt.type not in type_ids:
                out.append(
                    f"items[{i}].options[{j}].type: {opt.type!r} is not a rep type; expected "
                    f"one of {type_ids}"
                )
            if opt.key is not None and not rs.min <= opt.key <= rs.max:
                out.append(
                    f"items[{i}].options[{j}].key: {opt.key} is outside the rating scale; "
                    f"expected a number from {rs.min} to {rs.max}"
                )
        return out

    @property
    def sjt_scale_of_file(self) -> ResponseScale:
        """The rating scale of 'rate' SJT items (``sjt.response_scale`` or the file's)."""
        if self.sjt is not None and self.sjt.response_scale is not None:
            return self.sjt.response_scale
        return self.response_scale

    # ----- derived, read-only views used by the scoring engine -----

    @functools.cached_property
    def item_ids(self) -> tuple[str, ...]:
        """Answer columns in presentation order (the column order of answer arrays):
        a Likert item's id, or an SJT item's ``ITEM.OPTION`` / ``ITEM.most`` and
        ``ITEM.least`` / ``ITEM.best`` columns (docs/sjt.md)."""
        return tuple(c for item in self.items for c in _columns(item))

    @functools.cached_property
    def scale_ids(self) -> tuple[str, ...]:
        """Scale ids in file order (the column order of score arrays)."""
        return tuple(scale.id for scale in self.scales)

    @functools.cached_property
    def sjt_items(self) -> tuple[SjtItem, ...]:
        """The SJT scenarios, in presentation order."""
        return tuple(it for it in self.items if isinstance(it, SjtItem))

    @functools.cached_property
    def likert_items(self) -> tuple[Item, ...]:
        """The Likert items (scored and check items), in presentation order."""
        return tuple(it for it in self.items if isinstance(it, Item))

    @functools.cached_property
    def has_sjt(self) -> bool:
        """True when the questionnaire has SJT items."""
        return bool(self.sjt_items)

    @functools.cached_property
    def _sjt_column_mask(self) -> NDArray[np.bool_]:
        return np.array([isinstance(it, SjtItem) for it in self._column_items], dtype=bool)

    @functools.cached_property
    def likert_columns(self) -> NDArray[np.intp]:
        """Positions of the Likert items' columns in :attr:`item_ids`."""
        return read_only(np.flatnonzero(~self._sjt_column_mask).astype(np.intp))

    @functools.cached_property
    def sjt_columns(self) -> NDArray[np.intp]:
        """Positions of the SJT items' columns in :attr:`item_ids`."""
        return read_only(np.flatnonzero(self._sjt_column_mask).astype(np.intp))

    @functools.cached_property
    def _column_items(self) -> tuple[Item | SjtItem, ...]:
        return tuple(item for item in self.items for _ in _columns(item))

    def column_item(self, column: int) -> Item | SjtItem:
        """The item an answer column belongs to."""
        return self._column_items[column]

    @functools.cached_property
    def choice_columns(self) -> dict[str, dict[str, int]]:
        """The ``ITEM.most`` / ``ITEM.least`` / ``ITEM.best`` answer columns: column id ->
        option id -> the option's 1-based position (the number an answer array holds)."""
        return {
            c: {o.id: n for n, o in enumerate(it.options, start=1)}
            for it in self.sjt_items
            if it.response_format != "rate"
            for c in it.columns
        }

    @functools.cached_property
    def sjt_item_index(self) -> dict[str, SjtItem]:
        """SJT item id -> the item (for nested answers ``{"ITEM": {"OPTION": 4}}``)."""
        return {it.id: it for it in self.sjt_items}

    @functools.cached_property
    def skill_mask(self) -> NDArray[np.bool_]:
        """Boolean mask over :attr:`scale_ids`: True for skill (SJT) scales."""
        return read_only(np.array([s.kind == "skill" for s in self.scales], dtype=bool))

    @functools.cached_property
    def sjt_response_scale(self) -> ResponseScale | None:
        """The rating scale of the SJT items (None without SJT items)."""
        return self.sjt_scale_of_file if self.has_sjt else None

    @functools.cached_property
    def sjt_method(self) -> SjtMethod:
        """The questionnaire's default SJT scoring method."""
        return self.sjt.method if self.sjt is not None else "standardized"

    @functools.cached_property
    def likert_view(self) -> Questionnaire | None:
        """This questionnaire restricted to its Likert items and non-skill scales (itself
        when it has no SJT items; None when it has no Likert items). The Likert engine,
        quality indices and reliability run on it, so a mixed questionnaire's Likert
        scales score exactly as they would alone."""
        if not self.has_sjt:
            return self
        if not self.likert_items:
            return None
        return Questionnaire.model_construct(
            **{
                **{k: getattr(self, k) for k in type(self).model_fields},
                "items": list(self.likert_items),
                "scales": [s for s in self.scales if s.kind != "skill"],
                "sjt": None,
            }
        )

    @functools.cached_property
    def likert_scales(self) -> NDArray[np.intp]:
        """Positions of the non-skill scales in :attr:`scale_ids`."""
        return read_only(np.flatnonzero(~self.skill_mask).astype(np.intp))

    @functools.cached_property
    def trait_mask(self) -> NDArray[np.bool_]:
        """Boolean mask over :attr:`scale_ids`: True for trait scales."""
        mask = np.array([s.kind == "trait" for s in self.scales], dtype=bool)
        mask.flags.writeable = False
        return mask

    @functools.cached_property
    def item_scale_index(self) -> NDArray[np.intp]:
        """For each answer column, the column of its scale in :attr:`scale_ids` (-1: no
        scale; SJT columns are scored by the SJT engine)."""
        pos = {sid: j for j, sid in enumerate(self.scale_ids)}
        idx = np.array(
            [
                pos[item.scale] if isinstance(item, Item) and item.scale is not None else -1
                for item in self._column_items
            ],
            dtype=np.intp,
        )
        idx.flags.writeable = False
        return idx

    @functools.cached_property
    def keys(self) -> NDArray[np.float64]:
        """Signed key matrix (answer columns x scales): +1, -1 for reverse-keyed, 0
        elsewhere (SJT columns are 0).

        The same layout as the ``keys`` matrix of R psych's ``make.keys``.
        """
        k = np.zeros((len(self.item_ids), len(self.scales)), dtype=np.float64)
        scored = self.item_scale_index >= 0
        k[np.flatnonzero(scored), self.item_scale_index[scored]] = [
            it.keyed for it in self._column_items if isinstance(it, Item) and it.scale is not None
        ]
        k.flags.writeable = False
        return k

    @functools.cached_property
    def item_signs(self) -> NDArray[np.float64]:
        """Per answer column: -1 if reverse-keyed, else +1 (columns on no scale: +1)."""
        signs = self.keys.sum(axis=1)
        out = np.where(signs == 0, 1.0, signs)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def items_per_scale(self) -> NDArray[np.int64]:
        """Per scale (in :attr:`scale_ids` order), how many items it has (for a skill
        scale: how many scenarios)."""
        out: NDArray[np.int64] = np.abs(self.keys).sum(axis=0).astype(np.int64)
        if self.has_sjt:
            out += self.scenario_membership.sum(axis=1).astype(np.int64)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def scenario_membership(self) -> NDArray[np.bool_]:
        """(scales x SJT scenarios): True where a skill scale scores the scenario."""
        m = np.zeros((len(self.scales), len(self.sjt_items)), dtype=bool)
        pos = {sid: j for j, sid in enumerate(self.scale_ids)}
        for t, item in enumerate(self.sjt_items):
            for c in item.competencies:
                m[pos[c], t] = True
        for j, s in enumerate(self.scales):
            if s.total:
                m[j, :] = True
        return read_only(m)

    @functools.cached_property
    def reversed_per_scale(self) -> NDArray[np.int64]:
        """Per scale, how many of its items are reverse-keyed."""
        out: NDArray[np.int64] = (self.keys < 0).sum(axis=0).astype(np.int64)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def check_expected(self) -> NDArray[np.float64]:
        """Accepted answers of each check item (rows in :attr:`check_items` order), padded
        with NaN, which never matches an answer."""
        accepted = [_expected_of(self._column_items[i]) for i in self.check_items]
        out = np.full((len(accepted), max((len(a) for a in accepted), default=1)), np.nan)
        for r, values in enumerate(accepted):
            out[r, : len(values)] = values
        out.flags.writeable = False
        return out

    @functools.cached_property
    def check_items(self) -> tuple[int, ...]:
        """Column positions of the attention_check and infrequency items."""
        return tuple(
            i
            for i, it in enumerate(self._column_items)
            if isinstance(it, Item) and it.kind != "scored"
        )

    @functools.cached_property
    def min_answered(self) -> NDArray[np.int64]:
        """Per scale, the fewest answered items (scenarios for a skill scale) that give a
        score (default ceil(n/2))."""
        out = np.array(
            [
                s.min_answered if s.min_answered is not None else -(-int(n) // 2)
                for s, n in zip(self.scales, self.items_per_scale, strict=True)
            ],
            dtype=np.int64,
        )
        out.flags.writeable = False
        return out

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the parsed questionnaire (for provenance).

        Fields added for SJTs are left out while they hold their defaults, so a Likert
        questionnaire keeps the fingerprint it had before they existed."""
        doc = self.model_dump(mode="json")
        if doc["sjt"] is None:
            del doc["sjt"]
        if not doc["included"]:
            del doc["included"]
        for scale in doc["scales"]:
            if not scale["total"]:
                del scale["total"]
        defaults = QualitySettings().model_dump(mode="json")
        for name in _SJT_QUALITY_FIELDS:  # the SJT quality thresholds, likewise
            if doc["quality"][name] == defaults[name]:
                del doc["quality"][name]
        return canonical_sha256(doc)


def _columns(item: Item | SjtItem) -> tuple[str, ...]:
    return item.columns if isinstance(item, SjtItem) else (item.id,)


def _expected_of(item: Item | SjtItem) -> list[int]:
    return (item.expected or []) if isinstance(item, Item) else []


# --------------------------------------------------------------------------- files


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


_EXPECTED = (
    "a questionnaire file must be a mapping with id, version, title, response_scale, "
    "scales and items"
)
_MAX_INCLUDE_DEPTH = 8


def _parse(data: Any, source: str, base: Path | None = None, depth: int = 0) -> Questionnaire:
    if isinstance(data, dict) and "include" in data:
        data = _compose(data, source, base, depth)
    return validate_document(Questionnaire, data, source, _EXPECTED)


def _included(entry: Any, source: str, base: Path | None, depth: int) -> tuple[Questionnaire, str]:
    """One ``include:`` entry: a bundled id, or a path relative to the including file."""
    if not isinstance(entry, str) or not entry:
        raise QuestionnaireError(
            f"{source}: include: expected bundled questionnaire ids or file paths, "
            f"got {entry!r} instead"
        )
    if depth >= _MAX_INCLUDE_DEPTH:
        raise QuestionnaireError(
            f"{source}: include: {entry!r} is included {depth} levels deep; expected no "
            "include cycle"
        )
    bundled = _bundled_files()
    looks_like_path = entry.lower().endswith((".yaml", ".yml", ".json")) or any(
        c in entry for c in "/\\"
    )
    if not looks_like_path and entry in bundled:
        path = bundled[entry]
        return _parse(read_yaml(path), path.name, path.parent, depth + 1), path.name
    path = Path(entry) if base is None or Path(entry).is_absolute() else base / entry
    if not path.is_file():
        raise QuestionnaireError(
            f"{source}: include: {entry!r} is neither a bundled questionnaire "
            f"({', '.join(sorted(bundled))}) nor a file (looked for {path})"
        )
    return _parse(read_yaml(path), str(path), path.parent, depth + 1), str(path)


def _compose(data: dict[str, Any], source: str, base: Path | None, depth: int) -> dict[str, Any]:
    """The document with its ``include:`` resolved: the included questionnaires' scales
    and items first (in include order), then its own; ids must stay unique."""
    entries = data["include"]
    if not isinstance(entries, list) or not entries:
        raise QuestionnaireError(
            f"{source}: include: expected a list of bundled ids or file paths, "
            f"got {entries!r} instead"
        )
    out = {k: v for k, v in data.items() if k != "include"}
    scales: list[Any] = []
    items: list[Any] = []
    owner: dict[tuple[str, str], str] = {}  # ("scale"|"item", id) -> file
    included: list[str] = []
    sjt: dict[str, Any] | None = None
    for entry in entries:
        sub, name = _included(entry, source, base, depth)
        included.append(f"{sub.id} {sub.version}")
        dumped = sub.model_dump(mode="json", exclude_defaults=False)
        for kind, key in (("scale", "scales"), ("item", "items")):
            for thing in dumped[key]:
                where = owner.get((kind, thing["id"]))
                if where is not None:
                    raise QuestionnaireError(
                        f"{source}: include: {kind} id {thing['id']!r} is defined in both "
                        f"{where} and {name}; expected unique {kind} ids"
                    )
                owner[(kind, thing["id"])] = name
        scales += dumped["scales"]
        items += dumped["items"]
        if sub.likert_items and "response_scale" not in out:
            out["response_scale"] = dumped["response_scale"]
            out.setdefault("quality", dumped["quality"])
        if sub.has_sjt and sjt is None:
            sjt = dict(dumped["sjt"] or {})
            sjt["response_scale"] = sub.sjt_scale_of_file.model_dump(mode="json")
    for kind, key in (("scale", "scales"), ("item", "items")):
        for thing in out.get(key) or []:
            tid = str(thing.get("id")) if isinstance(thing, dict) else ""
            if (kind, tid) in owner:
                raise QuestionnaireError(
                    f"{source}: {key}: {kind} id {tid!r} is also defined in "
                    f"{owner[(kind, tid)]}; expected unique {kind} ids"
                )
    out["scales"] = scales + list(out.get("scales") or [])
    out["items"] = items + list(out.get("items") or [])
    if sjt is not None:
        own = out.get("sjt")
        out["sjt"] = {**sjt, **own} if isinstance(own, dict) else sjt
    if "response_scale" not in out and sjt is not None:
        out["response_scale"] = sjt["response_scale"]
    out["included"] = included
    return out


@functools.lru_cache(maxsize=64)
def _load_bundled(path: Path) -> Questionnaire:
    return _parse(read_yaml(path), path.name, path.parent)


def _bundled_files() -> dict[str, Path]:
    return bundled_files(bundled_dir())


def list_questionnaires() -> list[Questionnaire]:
    """The bundled questionnaires, sorted by id."""
    return [_load_bundled(p) for p in _bundled_files().values()]


@validate_params({"id_or_path": [str, os.PathLike, Questionnaire]})
def load_questionnaire(id_or_path: str | Path | Questionnaire) -> Questionnaire:
    """Load a bundled questionnaire by id, or a questionnaire file by path.

    Parameters
    ----------
    id_or_path : str, pathlib.Path or Questionnaire
        A bundled id such as ``"rep-types"``, or the path of a YAML/JSON file in the
        questionnaire format. A :class:`Questionnaire` is returned unchanged.

    Returns
    -------
    Questionnaire

    Raises
    ------
    QuestionnaireError
        The id is unknown, or the file breaks the format (the message names the file,
        the field path and what was expected).

    Examples
    --------
    >>> import repprofile
    >>> q = repprofile.load_questionnaire("rep-types")
    >>> q.scale_ids[:3]
    ('accommodator', 'competitor', 'controller')
    """
    if isinstance(id_or_path, Questionnaire):
        return id_or_path
    bundled = _bundled_files()
    source = find_source(id_or_path, bundled)
    if source is not None:
        if source.bundled:
            return _load_bundled(source.path)
        return _parse(read_yaml(source.path), source.name, source.path.parent)
    text = str(id_or_path)
    path = Path(text)
    looks_like_id = path.suffix.lower() not in (".yaml", ".yml", ".json") and not any(
        c in text for c in "/\\"
    )
    if looks_like_id:
        raise QuestionnaireError(
            f"The 'questionnaire' parameter must be a bundled questionnaire id or a file path, "
            f"got {text!r} instead. Bundled ids: {', '.join(sorted(bundled))}."
        )
    raise QuestionnaireError(f"{text}: no such questionnaire file")
