"""Reports never mislead (issue 14 item 3): tied types, the caution banner, honest
explanation words and a disclaimer that matches what is shown."""

from __future__ import annotations

import json

import numpy as np
import pytest

import repprofile
from repprofile import candidate_report
from repprofile._formats.files import bundled_dir
from repprofile._rendering.caution import banner_text, caution_reasons
from repprofile._rendering.report import FOOTER, FOOTER_NO_INTERVALS, render_html, to_html
from repprofile._rendering.text import assessment_text, profile_table

NORMS = bundled_dir() / "norms" / "rep-types-simulated.json"
SAMPLE = bundled_dir() / "samples" / "rep-types-simulated.csv"


def _records() -> list[dict[str, object]]:
    """A straight-liner (every answer 3), a random responder and three others."""
    q = repprofile.load_questionnaire("rep-types")
    rng = np.random.default_rng(7)
    out: list[dict[str, object]] = [
        {"candidate_id": "flat", "answers": dict.fromkeys((it.id for it in q.likert_items), 3)},
        {
            "candidate_id": "mixed",
            "answers": {it.id: int(rng.integers(1, 6)) for it in q.likert_items},
        },
    ]
    for i in range(3):
        answers = {it.id: int(rng.integers(2, 5)) for it in q.likert_items}
        out.append({"candidate_id": f"c{i}", "answers": answers})
    return out


@pytest.fixture(scope="module")
def scores() -> repprofile.ScoreResult:
    return repprofile.score("rep-types", _records(), norms=NORMS)


def test_straight_liner_has_no_primary_type(scores: repprofile.ScoreResult) -> None:
    flat = scores.profile("flat")
    # every answer 3: every trait scale's POMP is 50, so all tie
    trait = [s for s in scores.scale_ids if s != "impression"]
    assert {flat.scales[s].pomp for s in trait} == {50.0}
    assert flat.type_tied is True
    assert (flat.primary_type, flat.secondary_type) == (None, None)
    row = scores.candidate_ids.index("flat")
    assert bool(scores.type_tied[row]) is True
    assert scores.primary_type[row] is None
    doc = json.loads(scores.to_json())
    got = {p["candidate_id"]: p for p in doc["profiles"]}
    assert got["flat"]["type_tied"] is True
    assert got["flat"]["primary_type"] is None
    # a candidate whose top two POMPs differ keeps a type
    other = next(p for p in scores.profiles() if not p.type_tied)
    pomps = sorted((other.scales[s].pomp or 0.0 for s in trait), reverse=True)
    assert pomps[0] > pomps[1]
    assert other.primary_type is not None
    assert got[other.candidate_id]["type_tied"] is False


def test_tied_type_is_shown_as_undetermined(scores: repprofile.ScoreResult) -> None:
    table = profile_table(scores)
    flat_line = next(line for line in table.splitlines() if line.startswith("flat"))
    assert "undetermined (tied)" in flat_line
    one = repprofile.score("rep-types", _records()[:1], norms=NORMS)
    assert "Primary type: undetermined (tied); secondary type: undetermined (tied)." in (
        assessment_text(one, None)
    )
    rep = candidate_report(scores, "flat", "escalations", date="2026-12-04")
    assert rep.type_tied is True
    assert json.loads(rep.model_dump_json())["type_tied"] is True
    page = to_html(rep, "<svg></svg>")
    assert "Primary type: undetermined (tied); secondary: undetermined (tied)" in page
    assert "Accommodator" not in page.split("Type and fit")[1].split("Response quality")[0]


BANNER = "These results may not describe the candidate: "
FOLLOW_UP = "Do not use them for a decision without a follow-up."


def test_caution_reasons_decide_the_banner() -> None:
    assert caution_reasons(quality_valid=True, quality_flags=[], type_tied=False) == []
    assert banner_text([]) == ""
    two = caution_reasons(quality_valid=False, quality_flags=["a", "b"], type_tied=False)
    assert two == ["response quality is flagged (2 flags, listed under Response quality)"]
    tied = caution_reasons(quality_valid=True, quality_flags=[], type_tied=True)
    assert tied == ["the highest scale scores tie, so no type is determined"]
    both = caution_reasons(quality_valid=False, quality_flags=["a"], type_tied=True)
    assert banner_text(both) == (
        BANNER + "response quality is flagged (1 flag, listed under Response quality); "
        "the highest scale scores tie, so no type is determined. " + FOLLOW_UP
    )


def test_html_banner_above_chart_type_and_fit(scores: repprofile.ScoreResult) -> None:
    role = repprofile.load_role("escalations")
    rep = candidate_report(scores, "flat", role, date="2026-12-04")
    assert len(rep.caution) == 2
    page = render_html(rep, scores, role)
    at = page.index(BANNER)
    assert at < page.index("<svg") < page.index("Type and fit")
    assert FOLLOW_UP in page
    # the greyed chart: the candidate's line is drawn in grey, not in the Okabe-Ito blue
    svg = page[page.index("<svg") :]
    assert "#9a9a9a" in svg
    assert "#0072b2" not in svg.lower()
    normal = repprofile.score("rep-types", SAMPLE, norms=NORMS)
    ok = candidate_report(normal, "SIMULATED-03", role, date="2026-12-04")
    assert ok.caution == []
    ok_page = render_html(ok, normal, role)
    assert BANNER not in ok_page
    assert "#0072b2" in ok_page.lower()


def test_text_report_banner(scores: repprofile.ScoreResult) -> None:
    one = repprofile.score("rep-types", _records()[:1], norms=NORMS)
    text = assessment_text(one, None)
    assert text.index("CAUTION: " + BANNER) < text.index("Primary type")
    normal = repprofile.score("rep-types", SAMPLE, norms=NORMS)
    first = normal.profiles()[0]  # the profile assessment_text shows
    assert first.quality is not None
    assert first.quality.valid
    assert not first.type_tied
    assert "CAUTION" not in assessment_text(normal, None)


# --------------------------------------------------------------------------- explanation words

CTL_ROLE = repprofile.Role(
    id="ctl",
    name="Controller only",
    description="For the tests.",
    questionnaire="rep-types",
    weights={"controller": 1.0},
    rationale="Hand-computable.",
)


def _controller_at(values: list[int]) -> dict[str, object]:
    """Every item answered 3, the controller items with the keyed ``values`` (a
    reverse-keyed item is answered 6 - value)."""
    q = repprofile.load_questionnaire("rep-types")
    answers: dict[str, int] = {}
    ctl = iter(values)
    for it in q.likert_items:
        v = next(ctl) if it.scale == "controller" else 3
        answers[it.id] = v if it.keyed != -1 else 6 - v
    return {"candidate_id": "x", "answers": answers}


def test_pomp_55_without_norms_is_not_high() -> None:
    # keyed mean (8 x 3 + 2 x 4) / 10 = 3.2 -> POMP 100 (3.2 - 1) / 4 = 55; z = 5 / 25 = 0.2
    scores = repprofile.score("rep-types", [_controller_at([3] * 8 + [4, 4])])
    assert scores.profile("x").scales["controller"].pomp == pytest.approx(55.0)
    text = repprofile.fit(scores, CTL_ROLE).explanation(0)
    assert text == "Controller (POMP 55) raises the fit"
    assert "high" not in text
    # a role target of 50: 5 points from it (< 25), still neutral
    near = CTL_ROLE.model_copy(update={"id": "ctl-t", "target": {"controller": 50.0}})
    assert repprofile.fit(scores, near).explanation(0) == "Controller (POMP 55) raises the fit"
    # a target of 25: 30 points above it, said so with both numbers
    low_target = CTL_ROLE.model_copy(update={"id": "ctl-l", "target": {"controller": 25.0}})
    assert repprofile.fit(scores, low_target).explanation(0) == (
        "Controller above the role's target (POMP 55 vs 25) raises the fit"
    )


def test_high_only_at_one_sd_from_the_norm_mean() -> None:
    table = json.loads(NORMS.read_text(encoding="utf-8"))
    norm = table["scales"]["controller"]
    # the table's description, cut at its first clause and 48 characters (a word boundary)
    desc = "SIMULATED norm sample of 5,000..."
    assert table["description"].startswith("SIMULATED norm sample of 5,000 computer-generated ")
    # mean 3.2: z = (3.2 - 3.03099) / 0.93175 = 0.18 < 1: no "high", the percentile instead
    near = repprofile.score("rep-types", [_controller_at([3] * 8 + [4, 4])], norms=NORMS)
    z = (3.2 - norm["mean"]) / norm["sd"]
    assert z == pytest.approx(0.1814, abs=1e-3)
    pct = near.normed.percentile[0, near.scale_ids.index("controller")]
    assert repprofile.fit(near, CTL_ROLE).explanation(0) == (
        f"Controller (percentile {pct:.0f}) raises the fit"
    )
    # mean 4.2: z = (4.2 - 3.03099) / 0.93175 = 1.2547 >= 1: "high", the norm named
    high = repprofile.score("rep-types", [_controller_at([4] * 8 + [5, 5])], norms=NORMS)
    assert (4.2 - norm["mean"]) / norm["sd"] == pytest.approx(1.2547, abs=1e-3)
    assert repprofile.fit(high, CTL_ROLE).explanation(0) == (
        f"high Controller raises the fit (high and low relative to the norm {desc!r})"
    )
    # mean 1.9: z = (1.9 - 3.03099) / 0.93175 = -1.2138: "low", and it lowers the fit
    low = repprofile.score("rep-types", [_controller_at([2] * 9 + [1])], norms=NORMS)
    assert repprofile.fit(low, CTL_ROLE).explanation(0) == (
        f"low Controller lowers the fit (high and low relative to the norm {desc!r})"
    )


# --------------------------------------------------------------------------- disclaimer


def test_disclaimer_matches_the_intervals_shown() -> None:
    role = repprofile.load_role("escalations")
    # with norms: every scale has a percentile interval and the fit has one
    normed = repprofile.score("rep-types", SAMPLE, norms=NORMS)
    rep = candidate_report(normed, "SIMULATED-03", role, date="2026-12-04")
    assert rep.fit_ci is not None
    assert all(line.interval is not None for line in rep.scales)
    assert rep.footer == FOOTER
    assert "(see the intervals)" in rep.footer
    # no norms and no reliabilities: no interval anywhere, and the footer says so
    plain = repprofile.score("rep-types", SAMPLE)
    bare = candidate_report(plain, "SIMULATED-03", role, date="2026-12-04")
    assert bare.fit_ci is None
    assert all(line.interval is None for line in bare.scales)
    assert bare.footer == FOOTER_NO_INTERVALS
    assert "see the intervals" not in bare.footer
    assert "no intervals are shown" in bare.footer
    page = render_html(bare, plain, role)
    assert "see the intervals" not in page
    assert "no intervals are shown" in page
