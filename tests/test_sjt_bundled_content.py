"""The bundled SJT content (issue 16, item 5), checked on the raw YAML.

These checks read the files with a plain YAML parser, independent of the questionnaire
loader, so they state what the content itself promises: the service-recovery test's
shape (scenarios, options, competencies, rep-type tags, a draft key with one clearly best
option per scenario), the rep-hiring composition and the SJT versions of the roles.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
QDIR = ROOT / "questionnaires"
REP_TYPES = {
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
}
COMPETENCIES = [
    "ownership",
    "validation",
    "plan",
    "listening",
    "empathy",
    "apology",
    "action",
    "de_escalation",
]
# role id -> the competencies the role needs most (issue 16, item 5): the two largest
# skill weights of the role, in either order
SJT_ROLES = {
    "escalations-sjt": {"de_escalation", "ownership"},
    "retention-sjt": {"validation", "action"},
    "complex-support-sjt": {"plan", "ownership"},
    "general-frontline-sjt": {"service_recovery"},
    "back-office-quality-sjt": {"plan", "action"},
    "cx-improvement-sjt": {"listening", "action"},
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sr() -> dict[str, Any]:
    data = load(QDIR / "service-recovery.yaml")
    assert isinstance(data, dict)
    return data


def test_service_recovery_header(sr: dict[str, Any]) -> None:
    assert sr["id"] == "service-recovery"
    assert sr["version"] == "1.0.0"
    assert sr["response_scale"]["min"] == 1
    assert sr["response_scale"]["max"] == 6
    labels = sr["response_scale"]["labels"]
    assert sorted(labels) == [1, 2, 3, 4, 5, 6]
    assert labels[1] == "Very ineffective"
    assert labels[6] == "Very effective"
    assert sr["sjt"]["method"] == "standardized"
    assert sr["sjt"]["key_draft"] is True
    note = sr["sjt"]["key_note"]
    assert "draft" in note.lower()
    assert "docs/sjt.md" in note
    assert "SME" in note
    assert "not a validated instrument" in sr["description"]
    assert "rate how effective each response" in sr["instructions"].lower()
    assert "minutes" in sr["instructions"]


def test_service_recovery_scales(sr: dict[str, Any]) -> None:
    scales = sr["scales"]
    assert [s["id"] for s in scales] == [*COMPETENCIES, "service_recovery"]
    assert all(s["kind"] == "skill" for s in scales)
    assert [s["id"] for s in scales if s.get("total")] == ["service_recovery"]
    assert all(s.get("description") for s in scales)


def test_service_recovery_scenarios(sr: dict[str, Any]) -> None:
    items = sr["items"]
    assert 16 <= len(items) <= 18
    ids = [it["id"] for it in items]
    assert len(set(ids)) == len(ids)
    coverage: collections.Counter[str] = collections.Counter()
    type_count: collections.Counter[str] = collections.Counter()
    best_types: collections.Counter[str] = collections.Counter()
    for it in items:
        assert it["kind"] == "sjt", it["id"]
        assert it["response_format"] == "rate", it["id"]
        assert it["scenario"].strip()
        comps = it["competencies"]
        assert 1 <= len(comps) <= 3, it["id"]
        assert len(set(comps)) == len(comps), it["id"]
        assert set(comps) <= set(COMPETENCIES), it["id"]  # never the total
        coverage.update(comps)
        options = it["options"]
        assert 4 <= len(options) <= 5, it["id"]
        oids = [o["id"] for o in options]
        assert len(set(oids)) == len(oids), it["id"]
        for o in options:
            assert o["type"] in REP_TYPES, (it["id"], o["id"])
            assert isinstance(o["key"], (int, float)), (it["id"], o)
            assert 1 <= o["key"] <= 6, (it["id"], o)
            assert o["text"].strip()
        type_count.update(o["type"] for o in options)
        keys = sorted((o["key"] for o in options), reverse=True)
        assert keys[0] - keys[1] >= 0.5, it["id"]  # one clearly best option
        best_types[max(options, key=lambda o: o["key"])["type"]] += 1
    # every competency is measured by at least two scenarios
    assert all(coverage[c] >= 2 for c in COMPETENCIES), coverage
    # every rep type appears several times across the test
    assert set(type_count) == REP_TYPES, type_count
    assert min(type_count.values()) >= 5, type_count
    # the keyed best is not always the same type
    assert len(best_types) >= 5, best_types


def options_of(sr: dict[str, Any], item: str) -> dict[str, dict[str, Any]]:
    (it,) = [i for i in sr["items"] if i["id"] == item]
    return {o["id"]: o for o in it["options"]}


def best_of(sr: dict[str, Any], item: str) -> dict[str, Any]:
    return max(options_of(sr, item).values(), key=lambda o: o["key"])


def test_required_situations_are_keyed_as_the_issue_says(sr: dict[str, Any]) -> None:
    # the Accommodator's temptation (sr07, refund beyond policy): the unconditional
    # refund is not the keyed best
    refund = options_of(sr, "sr07")["a"]
    assert refund["type"] == "accommodator"
    assert "full refund" in refund["text"]
    assert best_of(sr, "sr07")["id"] != "a"
    # the Controller's temptation (sr08, a customer wrong on the facts): correcting them
    # bluntly is not the keyed best
    blunt = options_of(sr, "sr08")["a"]
    assert blunt["type"] == "controller"
    assert "mistaken" in blunt["text"]
    assert best_of(sr, "sr08")["id"] != "a"
    assert blunt["key"] <= 2.5
    scenarios = {i["id"]: i["scenario"] for i in sr["items"]}
    assert "chatbot" in scenarios["sr01"]  # self-service and bot: two failures
    assert "demand to speak to your manager" in scenarios["sr02"]
    assert "warehouse" in scenarios["sr03"]  # another department's failure
    assert "apology" in next(i for i in sr["items"] if i["id"] == "sr03")["competencies"]
    assert "cannot be done during the call" in scenarios["sr04"]  # research first: the plan
    assert "social" in scenarios["sr05"]
    assert "third time" in scenarios["sr06"]


def test_rep_hiring_includes_both_and_has_no_items() -> None:
    data = load(QDIR / "rep-hiring.yaml")
    assert data["id"] == "rep-hiring"
    assert data["version"] == "1.0.0"
    assert data["include"] == ["rep-types", "service-recovery"]
    assert "items" not in data
    assert "scales" not in data
    assert data["title"]
    assert data["description"]
    assert data["instructions"]


@pytest.mark.parametrize("role_id", sorted(SJT_ROLES))
def test_sjt_roles_weight_the_competencies_the_role_needs(role_id: str) -> None:
    data = load(QDIR / "roles" / f"{role_id}.yaml")
    assert data["id"] == role_id
    assert data["questionnaire"] == "rep-hiring"
    skills = {*COMPETENCIES, "service_recovery"}
    weights = data["weights"]
    assert set(weights) <= REP_TYPES | skills
    skill_weights = {k: v for k, v in weights.items() if k in skills}
    assert skill_weights
    assert all(v > 0 for v in skill_weights.values())
    top = sorted(skill_weights, key=lambda k: -skill_weights[k])[: len(SJT_ROLES[role_id])]
    assert set(top) == SJT_ROLES[role_id]
    # the trait part is the rep-types role's own weights, unchanged
    base = load(QDIR / "roles" / f"{role_id.removesuffix('-sjt')}.yaml")
    assert {k: v for k, v in weights.items() if k in REP_TYPES} == base["weights"]
    assert "calibrate" in data["rationale"]
    assert "judgement" in data["rationale"]
    assert set(data.get("minimums", {})) <= REP_TYPES | skills
    assert set(data.get("target", {})) <= REP_TYPES | skills
