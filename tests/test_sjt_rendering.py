"""Text, report and chart output of skill (SJT) scales (issue 16).

tests/data/sjt/mini-mixed.yaml includes rep-types and mini-rate.yaml and marks the SJT
key as a draft; mini-mixed.csv has three candidates whose SJT ratings are those of
tests/test_sjt_scoring.py: ana = MIXED, ben a poor judge, cleo = the key itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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


# --------------------------------------------------------------------------- report


def _report(result: rp.ScoreResult, cid: str, role: str = ROLE) -> Any:
    from repprofile._rendering.report import candidate_report

    return candidate_report(result, cid, role, date="2026-12-04")


def test_judgement_section_by_hand(result: rp.ScoreResult) -> None:
    section = _report(result, "ben").judgement
    assert section is not None
    assert section.title == "Service recovery judgement"
    assert section.method == "distance"
    assert section.key_draft is True
    # ben rated 2,5,5 | 5,3 | 4,2,5; calm (s1 + s2): squared distances 16+1+16 | 9+4 = 46
    # over 91; ownership (s2 + s3): 9+4 | 1+16+16 = 46 over 91
    skills = {s.scale: s for s in section.skills}
    assert skills["calm"].pomp == pytest.approx(100 * (1 - 46 / 91))
    assert skills["own"].pomp == pytest.approx(100 * (1 - 46 / 91))
    assert (skills["total"].n_answered, skills["total"].n_scenarios) == (3, 3)
    # both weak; calm's scenario is s2 (ben's top rating A keyed 2, the keyed best B 5:
    # 3 points lost, against 2 in s1); ownership then takes s3 (C keyed 1, best B 6)
    probes = [(p.competency, p.item, p.chosen_option, p.keyed_option) for p in section.probes]
    assert probes == [("calm", "s2", "a", "b"), ("own", "s3", "c", "b")]
    assert section.probes[1].ask.startswith("Ask: ")
    assert '"C"' in section.probes[1].ask


def test_judgement_of_the_keyed_candidate(result: rp.ScoreResult) -> None:
    section = _report(result, "cleo").judgement
    assert section is not None
    assert all(p.chosen_option == p.keyed_option for p in section.probes)
    assert "the keyed best response" in section.probes[0].ask


def test_no_judgement_without_sjt() -> None:
    from repprofile.cli._demo import demo_sample_path

    r = rp.score("rep-types", demo_sample_path())
    assert _report(r, r.candidate_ids[0], "escalations").judgement is None


def test_most_least_probe_uses_the_most_pick() -> None:
    r = rp.score(str(DATA / "mini-most-least.yaml"), str(DATA / "mini-most-least.csv"))
    from repprofile._rendering.judgement import judgement_section

    row = r.candidate_ids.index("y")
    section = judgement_section(r, row)
    assert section is not None
    # y picked c (keyed 1) as most in m1 and a (keyed 2) in m2; keyed best a and b
    (probe,) = section.probes  # one competency besides the total
    assert (probe.item, probe.chosen_option, probe.keyed_option) == ("m1", "c", "a")


def test_html_and_pdf_reports_show_the_section(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from repprofile._rendering.report import write_report

    result = rp.score(MIXED, ANSWERS)
    html_path = write_report(result, "ben", ROLE, tmp_path / "ben.html", date="2026-12-04")
    page = html_path.read_text(encoding="utf-8")
    assert "<h2>Service recovery judgement</h2>" in page
    assert f"CAUTION: {DRAFT_KEY}." in page
    assert "Keyed best: B" in page
    assert "SJT method distance" in page
    pdf_path = write_report(result, "ben", ROLE, tmp_path / "ben.pdf", date="2026-12-04")
    text = " ".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "Service recovery judgement" in text
    assert "draft key" in text
    assert "Keyed best: B" in text


# --------------------------------------------------------------------------- charts

THREE = str(DATA / "mini-three.yaml")
THREE_ANSWERS = str(DATA / "mini-three.csv")


def test_skill_radar_has_one_spoke_per_competency() -> None:
    from repprofile._rendering.charts import radar_chart

    r = rp.score(THREE, THREE_ANSWERS)
    ax = radar_chart(r, "bob", scales="skills")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Calm", "Ownership", "Telling the\nplan"]  # no total spoke
    # bob, calm (s1 + s2): squared distances 9 + 4 + 9 + 9 = 31 over 25 + 16 + 25 + 25
    line = ax.get_lines()[0]
    radii = np.asarray(line.get_ydata(), dtype=float)
    assert radii[0] == pytest.approx(100 * (1 - 31 / 91))
    assert "judgement (SJT) competencies" in ax.texts[0].get_text()


def test_trait_radar_never_shows_skills(result: rp.ScoreResult) -> None:
    from repprofile._rendering.charts import radar_chart

    ax = radar_chart(result, "ben")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "Calm" not in labels
    assert len(labels) == 7  # the seven rep types
    with pytest.raises(rp.InputError, match="at least 3 skill scales"):
        radar_chart(result, "ben", scales="skills")  # two competencies only


def test_chart_command_draws_the_skill_radar(tmp_path: Path) -> None:
    from repprofile.cli._main import main

    out = tmp_path / "skills.png"
    argv = ["chart", THREE_ANSWERS, "-q", THREE, "--candidate", "bob", "--scales", "skills"]
    assert main([*argv, "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pdf_judgement_section_does_not_overlap(result: rp.ScoreResult) -> None:
    import io

    import pypdf

    from repprofile._rendering.report import render_pdf

    from .test_report_layout import _lines, _overlaps

    role = rp.load_role(ROLE, result.questionnaire)
    for cid in result.candidate_ids:
        rep = _report(result, cid)
        pages = pypdf.PdfReader(io.BytesIO(render_pdf(rep, result, role))).pages
        text = "".join(p.extract_text() for p in pages)
        assert "Service recovery judgement" in text
        assert "Interview probes (weakest competencies)" in text
        footer_top = 0.075 * 11.69 * 72
        for page in pages:
            boxes = _lines(page)
            assert _overlaps(boxes) == []
            low = [b[4] for b in boxes if b[3] > footer_top + 1 and b[1] < footer_top - 1]
            assert low == []
