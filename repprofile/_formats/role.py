"""Role files: fit weights, knock-out minimums and target profiles for a job role.

The field names of :class:`Role` are a public contract (docs/roles.md). A role names
the questionnaire it applies to; every scale it mentions must be a trait scale of that
questionnaire.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    FiniteFloat,
    model_validator,
)

from repprofile._errors import QuestionnaireError
from repprofile._formats.files import (
    CachedModel,
    bundled_dir,
    bundled_files,
    find_source,
    read_yaml,
    validate_document,
)
from repprofile._formats.limits import (
    MAX_LIST_ENTRIES,
    DescriptionText,
    IdText,
    NameText,
    RationaleText,
    ReferenceText,
    SlugText,
)
from repprofile._formats.questionnaire import Questionnaire, load_questionnaire
from repprofile._util import canonical_sha256
from repprofile._validation import validate_params

__all__ = ["Role", "list_roles", "load_role"]

MAX_WEIGHT = 1e6
# scale kinds a role may weigh, set a hurdle on or target: the self-report traits and the
# skill scales (competencies) of a situational judgment test
_WEIGHABLE = ("trait", "skill")


class Role(CachedModel):
    """A job role: how each scale weighs in the fit, hurdles and an ideal profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[SlugText, Field(description="Role id.")]
    name: NameText
    description: DescriptionText
    questionnaire: IdText = Field(description="Id of the questionnaire the role applies to.")
    weights: dict[IdText, FiniteFloat] = Field(
        max_length=MAX_LIST_ENTRIES,
        description="Scale id -> weight in the fit composite (may be negative).",
    )
    minimums: dict[IdText, FiniteFloat] = Field(
        default_factory=dict,
        max_length=MAX_LIST_ENTRIES,
        description="Scale id -> minimum POMP score (knock-out hurdle), reported separately.",
    )
    target: dict[IdText, FiniteFloat] = Field(
        default_factory=dict,
        max_length=MAX_LIST_ENTRIES,
        description="Scale id -> ideal POMP score, for profile similarity.",
    )
    rationale: RationaleText = Field(
        description="Why these weights: evidence, and how they were made."
    )
    references: list[ReferenceText] = Field(default_factory=list, max_length=MAX_LIST_ENTRIES)

    @model_validator(mode="after")
    def _check(self) -> Role:
        problems = []
        if not any(w != 0 for w in self.weights.values()):
            problems.append("weights: at least one weight must be non-zero")
        for sid, w in self.weights.items():
            if abs(w) > MAX_WEIGHT:  # weights are relative; beyond this they overflow
                problems.append(f"weights.{sid}: a weight from -1e6 to 1e6 is expected, got {w}")
        for field in ("minimums", "target"):
            for sid, v in getattr(self, field).items():
                if not 0 <= v <= 100:
                    problems.append(
                        f"{field}.{sid}: a POMP score from 0 to 100 is expected, got {v}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def check_against(self, q: Questionnaire, source: str = "role") -> None:
        """Refuse a role that names scales its questionnaire lacks (or validity scales):
        roles weigh trait and skill scales."""
        if q.id != self.questionnaire:
            raise QuestionnaireError(
                f"{source}: role {self.id!r} applies to questionnaire {self.questionnaire!r}, "
                f"not {q.id!r}"
            )
        kinds = {s.id: s.kind for s in q.scales}
        problems = []
        for field in ("weights", "minimums", "target"):
            for sid in getattr(self, field):
                if sid not in kinds:
                    problems.append(
                        f"{field}.{sid}: questionnaire {q.id!r} has no scale {sid!r}; expected "
                        f"one of {[s for s, k in kinds.items() if k in _WEIGHABLE]}"
                    )
                elif kinds[sid] not in _WEIGHABLE:
                    problems.append(
                        f"{field}.{sid}: {sid!r} is a {kinds[sid]} scale; roles weigh trait "
                        "and skill scales only"
                    )
        if problems:
            raise QuestionnaireError("\n".join(f"{source}: {p}" for p in problems))

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the parsed role (for provenance)."""
        return canonical_sha256(self.model_dump(mode="json"))


def _parse(data: Any, source: str, questionnaire: Questionnaire | None) -> Role:
    role = validate_document(
        Role,
        data,
        source,
        "a role file must be a mapping with id, name, description, questionnaire, weights "
        "and rationale",
    )
    q = questionnaire if questionnaire is not None else load_questionnaire(role.questionnaire)
    role.check_against(q, source)
    return role


def _roles_dir() -> Path:
    return bundled_dir() / "roles"


@functools.lru_cache(maxsize=64)
def _load_bundled(path: Path) -> Role:
    return _parse(read_yaml(path), path.name, None)


def list_roles() -> list[Role]:
    """The bundled roles, sorted by id."""
    return sorted(
        (_load_bundled(p) for p in bundled_files(_roles_dir()).values()), key=lambda r: r.id
    )


@validate_params({"id_or_path": [str, os.PathLike, Role], "questionnaire": [Questionnaire, None]})
def load_role(id_or_path: str | Path | Role, questionnaire: Questionnaire | None = None) -> Role:
    """Load a bundled role by id, or a role file by path, and check it against its
    questionnaire (a bundled one by id, or the one given).

    Raises
    ------
    QuestionnaireError
        Unknown id, a file that breaks the format, or a role naming a scale that its
        questionnaire lacks (the message names the file and the field).
    """
    if isinstance(id_or_path, Role):
        if questionnaire is not None:
            id_or_path.check_against(questionnaire)
        return id_or_path
    bundled = bundled_files(_roles_dir())
    source = find_source(id_or_path, bundled)
    if source is not None and source.bundled:
        role = _load_bundled(source.path)
        if questionnaire is not None:
            role.check_against(questionnaire, source.name)
        return role
    if source is not None:
        return _parse(read_yaml(source.path), source.name, questionnaire)
    text = str(id_or_path)
    raise QuestionnaireError(
        f"The 'role' parameter must be a bundled role id or a role file path, got {text!r} "
        f"instead. Bundled roles: {', '.join(sorted(bundled)) or '(none)'}."
    )
