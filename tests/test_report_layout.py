"""The PDF report never sets text over text (issue 14 item 3): read back from the PDF.

Every text run's position comes from pypdf's ``visitor_text`` (the current
transformation matrix times the text matrix); runs on the same baseline at the same
origin are one line. A line's box is [x, x + width] x [baseline - 0.24 size,
baseline + 0.76 size] (DejaVu Sans: descent 0.236 em, ascent 0.760 em) with a width
of 0.5 em per character, an underestimate for DejaVu Sans (average advance about
0.55-0.6 em), so that a reported overlap is a real one.
"""

from __future__ import annotations

import io
import itertools

import pypdf
import pytest

import repprofile
from repprofile._formats.files import bundled_dir
from repprofile._rendering.report import candidate_report, render_pdf

from .test_report_caution import NORMS, _records

SAMPLE = bundled_dir() / "samples" / "rep-types-simulated.csv"

Box = tuple[float, float, float, float, str]  # x0, y0, x1, y1, text


def _lines(page: pypdf.PageObject) -> list[Box]:
    runs: dict[tuple[float, float], list[tuple[float, str, float]]] = {}

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        if not text.strip():
            return
        # origin of the line (cm) and the run's offset along it (tm), in points
        key = (round(cm[4] + tm[5] * cm[2], 2), round(cm[5] + tm[5] * cm[3], 2))
        runs.setdefault(key, []).append((tm[4] * cm[0], text, size))

    page.extract_text(visitor_text=visit)
    boxes = []
    for (x, y), parts in runs.items():
        size = max(s for _, _, s in parts)
        end = max(off + 0.5 * s * len(t.rstrip()) for off, t, s in parts)
        text = "".join(t for _, t, _ in sorted(parts, key=lambda p: p[0]))
        boxes.append((x, y - 0.24 * size, x + end, y + 0.76 * size, text))
    return boxes


def _overlaps(boxes: list[Box]) -> list[tuple[str, str]]:
    out = []
    for a, b in itertools.combinations(boxes, 2):
        dx = min(a[2], b[2]) - max(a[0], b[0])
        dy = min(a[3], b[3]) - max(a[1], b[1])
        if dx > 0.5 and dy > 0.5:  # more than half a point both ways
            out.append((a[4][:40], b[4][:40]))
    return out


def _pages(scores: repprofile.ScoreResult, cid: str) -> list[pypdf.PageObject]:
    role = repprofile.load_role("escalations")
    rep = candidate_report(scores, cid, role, date="2026-12-04")
    return list(pypdf.PdfReader(io.BytesIO(render_pdf(rep, scores, role))).pages)


@pytest.fixture(scope="module")
def flagged() -> repprofile.ScoreResult:
    return repprofile.score("rep-types", _records(), norms=NORMS)


def test_the_box_check_finds_an_overlap() -> None:
    # two 8 pt lines 5 pt apart overlap; 14 pt apart (1.75 x 8) they do not
    a: Box = (50.0, 100.0 - 1.92, 200.0, 100.0 + 6.08, "a")
    assert _overlaps([a, (60.0, 95.0 - 1.92, 120.0, 95.0 + 6.08, "b")]) == [("a", "b")]
    assert _overlaps([a, (60.0, 86.0 - 1.92, 120.0, 86.0 + 6.08, "b")]) == []


@pytest.mark.parametrize("cid", ["flat", "mixed"])
def test_a_flagged_candidate_flows_to_a_second_page(
    flagged: repprofile.ScoreResult, cid: str
) -> None:
    assert not flagged.profile(cid).quality.valid  # type: ignore[union-attr]
    pages = _pages(flagged, cid)
    # banner + three flags + four questions do not fit above the footer of one A4 page
    assert len(pages) >= 2
    texts = [p.extract_text() for p in pages]
    assert "These results may not describe the candidate" in texts[0]
    assert "(continued)" in texts[1]
    assert "4. " in "".join(texts)  # the last question is there, on some page
    for page in pages:
        boxes = _lines(page)
        assert len(boxes) > 5
        assert _overlaps(boxes) == []
        # nothing but the footer and provenance below the footer's top (0.075 x 842 pt)
        footer_top = 0.075 * 11.69 * 72
        low = [b[4] for b in boxes if b[3] > footer_top + 1 and b[1] < footer_top - 1]
        assert low == []


def test_a_normal_candidate_is_one_page_without_overlaps() -> None:
    scores = repprofile.score("rep-types", SAMPLE, norms=NORMS)
    assert scores.profile("SIMULATED-03").quality.valid  # type: ignore[union-attr]
    [page] = _pages(scores, "SIMULATED-03")
    boxes = _lines(page)
    assert _overlaps(boxes) == []
    assert "These results may not describe" not in page.extract_text()
