"""Provenance: where a result came from (questionnaire, norm table, role, library
version), enough to reproduce it. Every result document carries one."""

from __future__ import annotations

from typing import cast

from pydantic import BaseModel, ConfigDict, Field

from repprofile._formats.results import ProvenanceDict

__all__ = ["NormsProvenance", "Provenance", "RoleProvenance", "provenance_json"]


class Provenance(BaseModel):
    """Where a result came from: enough to reproduce it."""

    model_config = ConfigDict(frozen=True)

    questionnaire_id: str
    questionnaire_version: str
    questionnaire_sha256: str
    repprofile_version: str
    norms: NormsProvenance | None = None
    ci_level: float | None = None
    role: RoleProvenance | None = None
    sjt_method: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="How the SJT items were scored (absent: no SJT items).",
    )
    sjt_key_sha256: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="SHA-256 of the SME key used (absent: the questionnaire file keys).",
    )
    sjt_key_draft: bool | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="True when the SJT was scored with a draft key, to replace with an SME key.",
    )


class RoleProvenance(BaseModel):
    """Which role file produced a fit."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    sha256: str


class NormsProvenance(BaseModel):
    """Which norm table standardized the scores."""

    model_config = ConfigDict(frozen=True)

    description: str
    created: str
    n: int
    simulated: bool
    sha256: str


def provenance_json(provenance: Provenance) -> ProvenanceDict:
    """The provenance as it appears in a result document (JSON types). The SJT fields
    appear only when the questionnaire has SJT items."""
    return cast(ProvenanceDict, provenance.model_dump(mode="json"))
