"""What an applicant tracking system receives of a completed assessment, built from the
stored result document (``{"score": /v1/score document, "fit": /v1/fit document}``):

* :func:`ats_result`: the ATS-neutral result block of the ``invitation.completed`` event
  (``ats_result``), modelled on what unified ATS APIs accept for an assessment result;
* :func:`greenhouse_fields`: ``partner_score`` and the flat ``metadata`` of Greenhouse's
  ``test_status``.

Scores sent to an ATS are on 0-100 scales: the role fit (``fit``) and each scale's POMP
(percent of maximum possible: ``100 * (mean - min) / (max - min)`` of the response
scale; Cohen, Cohen, Aiken & West 1999). Both are rounded to one decimal for display
there; the full-precision values stay in the event's ``result``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from repprofile._formats.questionnaire import Questionnaire

__all__ = ["DECIMALS", "ats_result", "fit_score", "greenhouse_fields", "scale_scores"]

DECIMALS = 1
"""Decimals of the scores sent to an ATS."""


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


def _profile(doc: dict[str, Any]) -> dict[str, Any]:
    """The one candidate profile of a stored result document."""
    profiles = doc["score"]["profiles"]
    if len(profiles) != 1:
        raise ValueError(f"expected one scored profile in the result, found {len(profiles)}")
    profile: dict[str, Any] = profiles[0]
    return profile


def fit_score(doc: dict[str, Any], role: str | None = None) -> float | None:
    """The fit (0-100) for ``role`` (default: the first role of the result), rounded to
    :data:`DECIMALS`; None without a role or when the fit could not be computed."""
    fit = doc.get("fit")
    if not fit or not fit.get("candidates"):
        return None
    fits = fit["candidates"][0]["fits"]
    for entry in fits:
        if role is None or entry["role"] == role:
            return _round(entry["fit"])
    return None


def scale_scores(
    q: Questionnaire, doc: dict[str, Any], kinds: tuple[str, ...] = ("trait", "skill")
) -> list[tuple[str, str, str, float]]:
    """``(scale id, name, kind, POMP rounded)`` of every scored scale of these kinds, in
    the questionnaire's order (the seven types, then the SJT competencies); a scale not
    scored (too few answers) is left out."""
    scales = _profile(doc)["scales"]
    out: list[tuple[str, str, str, float]] = []
    for scale in q.scales:
        entry = scales.get(scale.id)
        if scale.kind in kinds and entry is not None and entry.get("pomp") is not None:
            out.append((scale.id, scale.name, scale.kind, float(round(entry["pomp"], DECIMALS))))
    return out


def ats_result(
    q: Questionnaire,
    doc: dict[str, Any],
    completed_at: dt.datetime,
    result_url: str | None,
) -> dict[str, Any]:
    """The ATS-neutral result block::

        {"status": "COMPLETED", "completed_at": ISO 8601 UTC, "score": fit or null,
         "max_score": 100, "result_url": signed report link,
         "attributes": [{"type": "SUB_RESULT", "id": scale id, "label": scale name,
                         "score": {"value": POMP, "max": 100}}, ...]}

    ``score`` is the fit for the invitation's first role (null when it names none);
    ``attributes`` are the type scales, then the SJT competencies."""
    return {
        "status": "COMPLETED",
        "completed_at": completed_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "score": fit_score(doc),
        "max_score": 100,
        "result_url": result_url,
        "attributes": [
            {"type": "SUB_RESULT", "id": sid, "label": name, "score": {"value": v, "max": 100}}
            for sid, name, _, v in scale_scores(q, doc)
        ],
    }


def greenhouse_fields(
    q: Questionnaire, doc: dict[str, Any], role: str | None
) -> tuple[float | None, dict[str, str | float | bool]]:
    """``(partner_score, metadata)`` of Greenhouse's ``test_status``: the fit for
    ``role`` and a flat object of primitives, in this order: ``Primary type``,
    ``Secondary type`` (names; left out when undetermined), ``Response quality``
    (``valid`` or ``flagged``), ``Quality flags`` (the flagged indices, comma-separated;
    only when flagged), ``<type> (0-100)`` for each type scale and ``SJT <competency>
    (0-100)`` for each SJT competency (POMP), ``Questionnaire`` (id and version)."""
    profile = _profile(doc)
    names = {s.id: s.name for s in q.scales}
    meta: dict[str, str | float | bool] = {}
    for key, field in (("Primary type", "primary_type"), ("Secondary type", "secondary_type")):
        if profile.get(field):
            meta[key] = names.get(profile[field], profile[field])
    quality = profile.get("quality") or {}
    valid = bool(quality.get("valid", True))
    meta["Response quality"] = "valid" if valid else "flagged"
    if not valid:
        meta["Quality flags"] = ", ".join(f["index"] for f in quality.get("flags", []))
    for _, name, kind, value in scale_scores(q, doc):
        meta[f"SJT {name} (0-100)" if kind == "skill" else f"{name} (0-100)"] = value
    meta["Questionnaire"] = f"{q.id} {q.version}"
    return fit_score(doc, role), meta
