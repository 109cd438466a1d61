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
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
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
from repprofile._util import canonical_sha256
from repprofile._validation import validate_params

__all__ = [
    "QUALITY_RULES",
    "Item",
    "QualityRule",
    "QualitySettings",
    "Questionnaire",
    "ResponseScale",
    "Scale",
    "list_questionnaires",
    "load_questionnaire",
]

_SCALE_ID = r"^[a-z0-9_]+$"
_QUESTIONNAIRE_ID = r"^[a-z0-9-]+$"
_ITEM_ID = r"^[A-Za-z0-9_.-]+$"


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
    kind: Literal["trait", "validity"] = Field(
        default="trait",
        description="trait scales make the profile; validity scales check the answers.",
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
    """One statement the candidate rates, in presentation order."""

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
    QualityRule(  # one per validity (impression management) scale
        "{scale}_pomp",
        "impression_pomp_max",
        "at_or_above",
        "{scale} score {v} (POMP) at or above {t}: describes implausibly perfect conduct; "
        "other scores may be inflated",
    ),
)


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
    """A questionnaire: its answer scale, its scales and its items in presentation order."""

    id: Annotated[str, Field(pattern=_QUESTIONNAIRE_ID, description="Questionnaire id.")]
    version: str = Field(description='Version string, e.g. "1.0.0" (quote it in YAML).')
    title: str
    description: str | None = None
    instructions: str | None = None
    response_scale: ResponseScale
    scales: list[Scale] = Field(min_length=1)
    items: list[Item] = Field(min_length=2)
    references: list[str] = Field(default_factory=list)
    quality: QualitySettings = Field(
        default_factory=lambda: QualitySettings(),
        description="Response-quality flag thresholds for this questionnaire (optional).",
    )

    @model_validator(mode="after")
    def _check_structure(self) -> Questionnaire:
        problems = list(_repeated_ids("scales", "scale", [s.id for s in self.scales]).values())
        repeated_items = _repeated_ids("items", "item", [item.id for item in self.items])
        counts = dict.fromkeys((s.id for s in self.scales), 0)
        for i, item in enumerate(self.items):
            if i in repeated_items:
                problems.append(repeated_items[i])
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
            else:
                counts[item.scale] += 1
        for i, scale in enumerate(self.scales):
            n = counts.get(scale.id, 0)
            if n < 2:
                problems.append(
                    f"scales[{i}]: scale {scale.id!r} has {n} item(s); expected at least 2"
                )
            elif scale.min_answered is not None and scale.min_answered > n:
                problems.append(
                    f"scales[{i}].min_answered: {scale.min_answered} is more than the "
                    f"scale's {n} items; expected at most {n}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ----- derived, read-only views used by the scoring engine -----

    @functools.cached_property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in presentation order (the column order of answer arrays)."""
        return tuple(item.id for item in self.items)

    @functools.cached_property
    def scale_ids(self) -> tuple[str, ...]:
        """Scale ids in file order (the column order of score arrays)."""
        return tuple(scale.id for scale in self.scales)

    @functools.cached_property
    def trait_mask(self) -> NDArray[np.bool_]:
        """Boolean mask over :attr:`scale_ids`: True for trait scales."""
        mask = np.array([s.kind == "trait" for s in self.scales], dtype=bool)
        mask.flags.writeable = False
        return mask

    @functools.cached_property
    def item_scale_index(self) -> NDArray[np.intp]:
        """For each item, the column of its scale in :attr:`scale_ids` (-1: no scale)."""
        pos = {sid: j for j, sid in enumerate(self.scale_ids)}
        idx = np.array(
            [pos[item.scale] if item.scale is not None else -1 for item in self.items],
            dtype=np.intp,
        )
        idx.flags.writeable = False
        return idx

    @functools.cached_property
    def keys(self) -> NDArray[np.float64]:
        """Signed key matrix (items x scales): +1, -1 for reverse-keyed, 0 elsewhere.

        The same layout as the ``keys`` matrix of R psych's ``make.keys``.
        """
        k = np.zeros((len(self.items), len(self.scales)), dtype=np.float64)
        scored = self.item_scale_index >= 0
        k[np.flatnonzero(scored), self.item_scale_index[scored]] = [
            it.keyed for it in self.items if it.scale is not None
        ]
        k.flags.writeable = False
        return k

    @functools.cached_property
    def item_signs(self) -> NDArray[np.float64]:
        """Per item: -1 if reverse-keyed, else +1 (items on no scale: +1)."""
        signs = self.keys.sum(axis=1)
        out = np.where(signs == 0, 1.0, signs)
        out.flags.writeable = False
        return out

    @functools.cached_property
    def items_per_scale(self) -> NDArray[np.int64]:
        """Per scale (in :attr:`scale_ids` order), how many items it has."""
        out: NDArray[np.int64] = np.abs(self.keys).sum(axis=0).astype(np.int64)
        out.flags.writeable = False
        return out

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
        accepted = [self.items[i].expected or [] for i in self.check_items]
        out = np.full((len(accepted), max((len(a) for a in accepted), default=1)), np.nan)
        for r, values in enumerate(accepted):
            out[r, : len(values)] = values
        out.flags.writeable = False
        return out

    @functools.cached_property
    def check_items(self) -> tuple[int, ...]:
        """Positions of the attention_check and infrequency items."""
        return tuple(i for i, it in enumerate(self.items) if it.kind != "scored")

    @functools.cached_property
    def min_answered(self) -> NDArray[np.int64]:
        """Per scale, the fewest answered items that give a score (default ceil(n/2))."""
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
        """SHA-256 of the canonical JSON of the parsed questionnaire (for provenance)."""
        return canonical_sha256(self.model_dump(mode="json"))


# --------------------------------------------------------------------------- files


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _parse(data: Any, source: str) -> Questionnaire:
    return validate_document(
        Questionnaire,
        data,
        source,
        "a questionnaire file must be a mapping with id, version, title, response_scale, "
        "scales and items",
    )


@functools.lru_cache(maxsize=64)
def _load_bundled(path: Path) -> Questionnaire:
    return _parse(read_yaml(path), path.name)


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
        return _parse(read_yaml(source.path), source.name)
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
