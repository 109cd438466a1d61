"""SME key files of situational judgment tests (``format: repprofile-sjt-key``).

A key file holds, per SJT option, the subject-matter experts' mean effectiveness rating
(the consensus key), their SD, how many rated it and how many gave each rating value
(for the ``mode`` and ``proportion`` scoring methods). :func:`repprofile.build_sjt_key`
writes one; ``score(..., sjt_key=)`` and ``--sjt-key`` read one. The field names are a
public contract (docs/sjt.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import ConfigDict, Field, FiniteFloat, NonNegativeInt, StrictInt, model_validator

from repprofile._errors import QuestionnaireError
from repprofile._formats.files import CachedModel, read_yaml, validate_document
from repprofile._formats.limits import MAX_DESCRIPTION_LENGTH, IdText, ShortText
from repprofile._util import canonical_sha256
from repprofile._validation import validate_params

__all__ = ["KEY_FORMAT", "OptionKey", "RatingScale", "SjtKey", "load_sjt_key"]

KEY_FORMAT = "repprofile-sjt-key"


class _SjtQuestionnaire(Protocol):
    """What a key needs of a questionnaire: its SJT items (``.id``, ``.options`` with
    ``.id``), in item then option order."""

    @property
    def sjt_items(self) -> Any: ...


class RatingScale(CachedModel):
    """The rating scale the experts used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: StrictInt
    max: StrictInt

    @model_validator(mode="after")
    def _check(self) -> RatingScale:
        if self.min >= self.max:
            raise ValueError(f"min must be less than max, got min={self.min} and max={self.max}")
        if self.max - self.min > 100:
            raise ValueError(f"a rating scale of at most 101 values is expected, got {self}")
        return self


class OptionKey(CachedModel):
    """One option's SME statistics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: FiniteFloat = Field(description="Mean SME rating: the keyed effectiveness.")
    sd: FiniteFloat | None = Field(description="SD of the SME ratings (n - 1); null if n < 2.")
    n: NonNegativeInt = Field(description="Experts who rated the option.")
    counts: dict[int, NonNegativeInt] = Field(
        description="Rating value -> number of experts who gave it (JSON: string keys)."
    )


class SjtKey(CachedModel):
    """A situational-judgment key built from subject-matter experts' ratings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["repprofile-sjt-key"]
    format_version: Literal[1]
    questionnaire: IdText
    questionnaire_version: ShortText
    source: str = Field(max_length=MAX_DESCRIPTION_LENGTH, description="Where the key came from.")
    n_experts: NonNegativeInt
    rating_scale: RatingScale
    options: dict[IdText, dict[IdText, OptionKey]] = Field(
        description="Item id -> option id -> the option's SME statistics."
    )

    @model_validator(mode="after")
    def _check(self) -> SjtKey:
        lo, hi = self.rating_scale.min, self.rating_scale.max
        problems = []
        for item, opts in self.options.items():
            for oid, o in opts.items():
                where = f"options.{item}.{oid}"
                if o.n < 1:
                    problems.append(f"{where}.n: at least one expert is expected, got {o.n}")
                if o.n > self.n_experts:
                    problems.append(
                        f"{where}.n: at most n_experts ({self.n_experts}) is expected, got {o.n}"
                    )
                if not lo <= o.mean <= hi:
                    problems.append(
                        f"{where}.mean: a value from {lo} to {hi} is expected, got {o.mean}"
                    )
                if o.sd is not None and o.sd < 0:
                    problems.append(f"{where}.sd: a non-negative SD is expected, got {o.sd}")
                outside = sorted(v for v in o.counts if not lo <= v <= hi)
                if outside:
                    problems.append(
                        f"{where}.counts: rating values from {lo} to {hi} are expected, got "
                        f"{outside}"
                    )
                if sum(o.counts.values()) != o.n:
                    problems.append(
                        f"{where}.counts: counts summing to n ({o.n}) are expected, got "
                        f"{sum(o.counts.values())}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the key (for provenance)."""
        return canonical_sha256(self.model_dump(mode="json"))

    def _order(self, q: _SjtQuestionnaire) -> list[tuple[str, str]]:
        return [(str(it.id), str(o.id)) for it in q.sjt_items for o in it.options]

    def check_for(self, q: _SjtQuestionnaire, source: str = "SJT key") -> None:
        """Refuse a key whose options are not exactly those of ``q``'s SJT items, or
        whose rating scale differs from ``q``'s SJT rating scale.

        Raises
        ------
        QuestionnaireError
            Naming every missing and extra option (``ITEM.OPTION``).
        """
        wanted = self._order(q)
        have = [(i, o) for i, opts in self.options.items() for o in opts]
        missing = [f"{i}.{o}" for i, o in wanted if o not in self.options.get(i, {})]
        known = set(wanted)
        extra = [f"{i}.{o}" for i, o in have if (i, o) not in known]
        problems = []
        if missing:
            problems.append(f"options missing from the key: {', '.join(missing)}")
        if extra:
            problems.append(
                f"options in the key that questionnaire {getattr(q, 'id', '?')!r} lacks: "
                f"{', '.join(extra)}"
            )
        scale = getattr(q, "sjt_response_scale", None)
        if scale is not None and (scale.min, scale.max) != (
            self.rating_scale.min,
            self.rating_scale.max,
        ):
            problems.append(
                f"rating_scale: the questionnaire's SJT rating scale {scale.min}-{scale.max} is "
                f"expected, got {self.rating_scale.min}-{self.rating_scale.max}"
            )
        if problems:
            raise QuestionnaireError("\n".join(f"{source}: {p}" for p in problems))

    def means(self, q: _SjtQuestionnaire) -> NDArray[np.float64]:
        """The keyed (mean SME) rating of every option of ``q``'s SJT items, in item then
        option order."""
        self.check_for(q)
        return np.array([self.options[i][o].mean for i, o in self._order(q)], dtype=np.float64)

    def counts(self, q: _SjtQuestionnaire) -> NDArray[np.float64]:
        """SME counts, shape (n_options, max - min + 1): column v - min counts the experts
        who rated the option v; rows in item then option order."""
        self.check_for(q)
        lo, hi = self.rating_scale.min, self.rating_scale.max
        order = self._order(q)
        out = np.zeros((len(order), hi - lo + 1), dtype=np.float64)
        for r, (i, o) in enumerate(order):
            for v, c in self.options[i][o].counts.items():
                out[r, v - lo] = c
        return out


@validate_params({"path_or_mapping": [str, os.PathLike, Mapping, SjtKey]})
def load_sjt_key(path_or_mapping: str | Path | Mapping[str, Any] | SjtKey) -> SjtKey:
    """Read an SME key file (YAML or JSON), or check a parsed mapping, as an :class:`SjtKey`.

    Raises
    ------
    QuestionnaireError
        A file that cannot be read or breaks the format (the message names the file and
        the field).
    """
    if isinstance(path_or_mapping, SjtKey):
        return path_or_mapping
    if isinstance(path_or_mapping, Mapping):
        data: Any = path_or_mapping
        source = "SJT key"
    else:
        path = Path(path_or_mapping)
        data = read_yaml(path)
        source = str(path)
    return validate_document(
        SjtKey,
        data,
        source,
        f"an SJT key file must be a mapping with format: {KEY_FORMAT}, format_version, "
        "questionnaire, questionnaire_version, source, n_experts, rating_scale and options",
    )
