"""Candidate reports: content, question choice, determinism, HTML self-containment, CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import repprofile
from repprofile import candidate_report, fit, write_report
from repprofile._formats.files import bundled_dir
from repprofile._rendering.report import (
    FOOTER,
    choose_questions,
    load_question_bank,
    render_html,
    render_pdf,
)

SAMPLE = bundled_dir() / "samples" / "rep-types-simulated.csv"
NORMS = bundled_dir() / "norms" / "rep-types-simulated.json"
CLI = Path(sys.executable).parent / "repprofile"


@pytest.fixture(scope="module")
def scores() -> repprofile.ScoreResult:
    return repprofile.score("rep-types", SAMPLE, norms=NORMS)


def test_question_bank_is_data_with_every_theme() -> None:
    bank = load_question_bank()
    themes = {q.theme for q in bank.questions}
    assert themes == {
        "taking ownership",
        "validating frustration",
        "telling the plan",
        "listening with intention",
        "apologising sincerely",
        "taking action",
        "de-escalation",
    }
    assert len({q.id for q in bank.questions}) == len(bank.questions)


def test_questions_come_from_the_weakest_areas(scores: repprofile.ScoreResult) -> None:
    role = repprofile.load_role("escalations")
    f = fit(scores, role)
    row = scores.candidate_ids.index("SIMULATED-10")
    contrib = dict(zip(f.scale_ids, f.contributions[row], strict=True))
    positive = [s for s in f.scale_ids if role.weights[s] > 0]
    weakest = min(positive, key=lambda s: contrib[s])
    chosen = choose_questions(f, row, load_question_bank())
    assert 3 <= len(chosen) <= 5
    # the first question probes the role's weakest positively weighted scale
    assert weakest in chosen[0].scales
    # deterministic
    assert choose_questions(f, row, load_question_bank()) == chosen


def test_report_model_content(scores: repprofile.ScoreResult) -> None:
    role = repprofile.load_role("escalations")
    rep = candidate_report(scores, "SIMULATED-10", role, date="2026-11-22")
    f = fit(scores, role)
    row = scores.candidate_ids.index("SIMULATED-10")
    assert rep.candidate_id == "SIMULATED-10"
    assert rep.date == "2026-11-22"
    assert rep.questionnaire.endswith("(rep-types 1.1.0)")
    assert rep.norms_simulated is True
    assert rep.fit == pytest.approx(float(f.fit[row]))
    assert rep.fit_ci is not None
    assert rep.fit_ci[0] == pytest.approx(float(f.ci_low[row]))
    assert rep.fit_ci[1] == pytest.approx(float(f.ci_high[row]))
    assert [line.scale for line in rep.scales] == [
        "accommodator", "competitor", "controller", "empathizer", "hard_worker", "innovator",
        "rock",
    ]  # fmt: skip
    controller = rep.scales[2]
    j = scores.scale_ids.index("controller")
    assert controller.pomp == pytest.approx(float(scores.pomp[row, j]))
    assert controller.percentile == pytest.approx(float(scores.normed.percentile[row, j]))
    assert controller.interval_metric == "percentile"
    assert rep.footer == FOOTER
    assert "supports, and does not replace" in rep.footer


def test_pdf_is_deterministic_and_one_page(scores: repprofile.ScoreResult) -> None:
    role = repprofile.load_role("escalations")
    rep = candidate_report(scores, "SIMULATED-03", role, date="2026-11-22")
    first = render_pdf(rep, scores, role)
    assert first == render_pdf(rep, scores, role)
    assert first.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", first)) == 1  # one page
    assert b"CreationDate" not in first


def test_html_is_self_contained(scores: repprofile.ScoreResult) -> None:
    role = repprofile.load_role("retention")
    rep = candidate_report(scores, "SIMULATED-05", role, date="2026-11-22")
    page = render_html(rep, scores, role)
    assert page.count("<svg") == 1
    assert "SIMULATED-05" in page
    assert "SIMULATED" in page
    # nothing loaded from elsewhere: no src= or stylesheet links, no script
    assert not re.search(r"\ssrc=|<link|<script", page)
    for q in rep.questions:
        assert q.text.replace("'", "&#x27;").replace('"', "&quot;") in page


def test_write_report_by_extension(scores: repprofile.ScoreResult, tmp_path: Path) -> None:
    pdf = write_report(scores, "SIMULATED-01", "escalations", tmp_path / "a.pdf", date="2026-11-22")
    html = write_report(scores, "SIMULATED-01", "escalations", tmp_path / "a.html")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match=r"must end in \.pdf or \.html"):
        write_report(scores, "SIMULATED-01", "escalations", tmp_path / "a.docx")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_cli_report_and_chart(tmp_path: Path) -> None:
    one = subprocess.run(
        [str(CLI), "report", str(SAMPLE), "--candidate", "SIMULATED-02", "--role", "escalations",
         "--norms", str(NORMS), "--date", "2026-11-22", "-o", str(tmp_path / "r.pdf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert "SIMULATED" in one.stderr  # the simulated norm table is announced
    every = subprocess.run(
        [str(CLI), "report", str(SAMPLE), "--all", "--role", "retention", "--format", "html",
         "-o", str(tmp_path / "all")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert every.returncode == 0, every.stderr
    assert len(list((tmp_path / "all").glob("*.html"))) == 12
    assert "[#" not in every.stderr  # no progress bar when stderr is not a terminal
    chart = subprocess.run(
        [str(CLI), "chart", str(SAMPLE), "--candidate", "SIMULATED-01", "--compare",
         "SIMULATED-02,SIMULATED-03", "--role", "escalations", "-o", str(tmp_path / "c.svg")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert chart.returncode == 0, chart.stderr
    svg = (tmp_path / "c.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    bad = subprocess.run(
        [str(CLI), "chart", str(SAMPLE), "--candidate", "nobody", "-o", str(tmp_path / "x.png")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "no candidate 'nobody'" in bad.stderr
