"""The "Service recovery judgement" section of a candidate report (SJT items).

For a questionnaire with situational judgment (SJT) items the report shows the
candidate's competency (skill scale) scores and, for the two weakest competencies, one
scenario each as an interview probe: the scenario, the response the candidate judged
best (rated highest in ``rate``, picked as most effective in ``most_least``, picked in
``best``), the keyed best response (highest keyed effectiveness; the SME key's when the
answers were scored with one) and what to ask. The scenario shown for a competency is
the one where the candidate's choice is furthest from the key (largest keyed
effectiveness between the keyed best and the candidate's choice; a missed keyed best
first in the pick formats), a scenario not already shown for the other competency
when there is one.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from repprofile._analysis.scoring import ScoreResult
from repprofile._analysis.sjt import sjt_layout
from repprofile._formats.questionnaire import SjtItem
from repprofile._util import finite_or_none

__all__ = [
    "N_PROBES",
    "JudgementProbe",
    "JudgementSection",
    "SkillLine",
    "judgement_section",
]

N_PROBES = 2
"""How many of the weakest competencies get an interview probe."""


class SkillLine(BaseModel):
    """One competency (skill scale) score of the judgement section."""

    model_config = ConfigDict(frozen=True)

    scale: str
    name: str
    pomp: float | None
    n_answered: int = Field(description="Scenarios answered.")
    n_scenarios: int
    total: bool = False


class JudgementProbe(BaseModel):
    """An interview probe for a weak competency, from one scenario."""

    model_config = ConfigDict(frozen=True)

    competency: str
    competency_name: str
    item: str
    scenario: str
    chosen_option: str | None = Field(
        description="The option the candidate rated highest or picked (None: unanswered)."
    )
    chosen_text: str | None
    keyed_option: str
    keyed_text: str
    ask: str


class JudgementSection(BaseModel):
    """The report's "Service recovery judgement" section."""

    model_config = ConfigDict(frozen=True)

    title: str = "Service recovery judgement"
    method: str
    response_format: str
    key_draft: bool
    key_note: str | None
    skills: list[SkillLine]
    probes: list[JudgementProbe]


def _ask(item: SjtItem, chosen: str | None, keyed: str, fmt: str) -> str:
    """The probe's question (the scenario is shown above it)."""
    verb = {"rate": "rated highest", "most_least": "picked as most effective"}.get(
        fmt, "picked as best"
    )
    if chosen is None:
        return (
            "Ask: what would you do first in this situation, and why? The candidate did "
            "not answer this scenario."
        )
    if chosen == keyed:
        return (
            f"Ask: what would you do first in this situation, and why? The candidate {verb} "
            "the keyed best response here; listen for whether they can say why it works."
        )
    return (
        f"Ask: what would you do first in this situation, and why? The candidate {verb} "
        f'"{chosen}"; ask what the customer would feel and do next, and whether "{keyed}" '
        "would work better."
    )


def judgement_section(scores: ScoreResult, row: int) -> JudgementSection | None:
    """The judgement section of the candidate in ``row`` (None without SJT items)."""
    q = scores.questionnaire
    if not q.has_sjt or scores.sjt is None:
        return None
    layout = sjt_layout(q, scores.sjt_key)
    items = q.sjt_items
    values = np.asarray(scores.answers.values[row], dtype=np.float64)
    fmt = layout.response_format
    chosen: list[int | None] = []  # per scenario: 0-based option the candidate judged best
    keyed: list[int] = []  # per scenario: 0-based keyed best option
    gap: list[float] = []  # keyed effectiveness lost by the candidate's choice
    if fmt == "rate":
        assert layout.key is not None
        ratings = values[layout.columns]
        for t in range(len(items)):
            opts = np.flatnonzero(layout.option_scenario == t)
            k = layout.key[opts]
            r = ratings[opts]
            best = int(np.nanargmax(k))
            pick = None if np.isnan(r).all() else int(np.nanargmax(r))
            keyed.append(best)
            chosen.append(pick)
            gap.append(math.inf if pick is None else float(k[best] - k[pick]))
    else:
        assert layout.keyed_most is not None
        per = 2 if fmt == "most_least" else 1
        picks = values[layout.columns][::per]  # the most / best column of each scenario
        for t in range(len(items)):
            best = int(layout.keyed_most[t]) - 1
            pick = None if np.isnan(picks[t]) else int(picks[t]) - 1
            keyed.append(best)
            chosen.append(pick)
            gap.append(math.inf if pick is None else float(pick != best))
    membership = q.scenario_membership
    skills: list[SkillLine] = []
    for j, s in enumerate(q.scales):
        if s.kind != "skill":
            continue
        skills.append(
            SkillLine(
                scale=s.id,
                name=s.name,
                pomp=finite_or_none(scores.pomp[row, j]),
                n_answered=int(scores.n_answered[row, j]),
                n_scenarios=int(membership[j].sum()),
                total=s.total,
            )
        )
    weakest = sorted(
        (line for line in skills if not line.total and line.pomp is not None),
        key=lambda line: line.pomp if line.pomp is not None else math.inf,
    )[:N_PROBES]
    probes: list[JudgementProbe] = []
    used: set[int] = set()
    for line in weakest:
        j = q.scale_ids.index(line.scale)
        scen = [int(t) for t in np.flatnonzero(membership[j])]
        fresh = [t for t in scen if t not in used] or scen
        t = max(fresh, key=lambda t: (gap[t], -t))  # furthest from the key, first on ties
        used.add(t)
        item = items[t]
        pick = chosen[t]
        chosen_text = None if pick is None else item.options[pick].text
        keyed_text = item.options[keyed[t]].text
        probes.append(
            JudgementProbe(
                competency=line.scale,
                competency_name=line.name,
                item=item.id,
                scenario=item.scenario,
                chosen_option=None if pick is None else item.options[pick].id,
                chosen_text=chosen_text,
                keyed_option=item.options[keyed[t]].id,
                keyed_text=keyed_text,
                ask=_ask(item, chosen_text, keyed_text, fmt),
            )
        )
    prov = scores.provenance
    return JudgementSection(
        method=scores.sjt.method,
        response_format=fmt,
        key_draft=bool(prov.sjt_key_draft),
        key_note=q.sjt.key_note if q.sjt is not None and scores.sjt_key is None else None,
        skills=skills,
        probes=probes,
    )
