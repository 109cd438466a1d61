"""Text, report and chart output of skill (SJT) scales (issue 16).

tests/data/sjt/mini-mixed.yaml includes rep-types and mini-rate.yaml and marks the SJT
key as a draft; mini-mixed.csv has three candidates whose SJT ratings are those of
tests/test_sjt_scoring.py: ana = MIXED, ben a poor judge, cleo = the key itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import repprofile as rp
from repprofile._rendering.text import (
    DRAFT_KEY,
    assessment_text,
    profile_table,
    provenance_line,
)

DATA = Path(__file__).parent / "data" / "sjt"
MIXED = str(DATA / "mini-mixed.yaml")
ANSWERS = str(DATA / "mini-mixed.csv")
ROLE = str(DATA / "mini-mixed-role.yaml")


@pytest.fixture(scope="module")
def result() -> rp.ScoreResult:
    return rp.score(MIXED, ANSWERS)


def test_provenance_line_names_the_method_and_the_draft_key(result: rp.ScoreResult) -> None:
    line = provenance_line(result.provenance.model_dump(mode="json"))
    assert "; SJT method distance, key of the questionnaire (CAUTION: draft key: " in line
    assert DRAFT_KEY == "draft key: replace with your SME key"
    plain = rp.score(str(DATA / "mini-rate.yaml"), [[6, 4, 1, 2, 5, 3, 6, 1]])
    line = provenance_line(plain.provenance.model_dump(mode="json"))
    assert "SJT method distance" in line
    assert "draft" not in line
    rep = rp.score("rep-types", [[3.0] * 80])
    assert "SJT" not in provenance_line(rep.provenance.model_dump(mode="json"))


def test_profile_table_shows_the_skill_scales(result: rp.ScoreResult) -> None:
    table = profile_table(result)
    header = table.splitlines()[0].split()
    assert header[header.index("Rock") + 1 : header.index("Rock") + 4] == [
        "Calm",
        "Ownership",
        "Total",
    ]
    cleo = next(r for r in table.splitlines() if r.startswith("cleo")).split()
    # cleo rated every option at its key: 100 on every skill scale
    assert cleo[8:11] == ["100", "100", "100"]


def test_assessment_text_shows_skills_and_scenarios_answered(result: rp.ScoreResult) -> None:
    text = assessment_text(result, None)  # the first candidate, ana
    assert "Calm (skill)" in text
    assert "Ownership (skill)" in text
    assert "ANSWERED counts scenarios answered" in text
    assert f"CAUTION: SJT {DRAFT_KEY}" in text
    row = next(r for r in text.splitlines() if r.startswith("Total (skill)"))
    assert "3/3" in row  # three scenarios in the total
