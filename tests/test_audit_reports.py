"""Audit reports (issue 14 item 5): the Markdown and HTML carry the same figures as the JSON.

Hand-built case: sex A, 6 of 10 selected, scale scores 1..5 twice (mean 3); sex B, 2 of 10
selected, scores 0..4 twice (mean 2). Both SDs are sqrt(20/9) = 1.4907.

- rates 0.6 and 0.2; impact ratio of B = 0.2 / 0.6 = 0.333, flagged;
- to 4/5 for B: ceil(0.8 x 0.6 x 10 - 2) = ceil(2.8) = 3;
- z: pooled 8/20 = 0.4, SE = sqrt(0.4 x 0.6 x (1/10 + 1/10)) = 0.21909,
  z = (0.2 - 0.6) / 0.21909 = -1.826;
- Cohen's d of B against A: (2 - 3) / 1.4907 = -0.6708, SE = sqrt(20/100 + 0.45/40)
  = 0.45962, 95% CI -0.6708 -+ 1.95996 x 0.45962 = [-1.572, 0.230].
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest

import repprofile
from repprofile._rendering.audit import to_html, to_markdown


def records() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(10):
        rows.append({"sex": "A", "selected": int(i < 6), "grit": 1 + i % 5})
    for i in range(10):
        rows.append({"sex": "B", "selected": int(i < 2), "grit": i % 5})
    return rows


@pytest.fixture(scope="module")
def result() -> repprofile.AuditResult:
    return repprofile.audit(records(), groups=["sex"], selected="selected", scales=["grit"])


def fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def md_tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table as rows of cells (header first, separator dropped)."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def html_tables(text: str) -> list[list[list[str]]]:
    out = []
    for table in re.findall(r"<table>(.*?)</table>", text, re.DOTALL):
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.DOTALL)
        out.append(
            [
                [
                    html_lib.unescape(re.sub(r"<[^>]+>", "", c))
                    for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.DOTALL)
                ]
                for row in rows
            ]
        )
    return out


def test_hand_worked_figures(result: repprofile.AuditResult) -> None:
    rows = {r.category: r for r in result.tables[0].rows}
    assert rows["B"].rate == pytest.approx(0.2)
    assert rows["B"].impact_ratio == pytest.approx(1 / 3)
    assert rows["B"].selections_to_four_fifths == 3
    assert rows["B"].z == pytest.approx(-0.4 / 0.219089, abs=1e-4)
    es = {r.category: r for r in result.effect_sizes[0].rows}
    assert es["B"].d == pytest.approx(-0.67082, abs=1e-4)
    assert es["B"].d_ci_low == pytest.approx(-1.5716, abs=1e-3)
    assert es["B"].d_ci_high == pytest.approx(0.2300, abs=1e-3)


def expected_rows(result: repprofile.AuditResult) -> tuple[dict[str, list[str]], ...]:
    rates = {
        r.category: [
            r.category, str(r.n), f"{r.share:.1%}", str(r.selected), fmt(r.rate),
            fmt(r.impact_ratio), fmt(r.z, 2), fmt(r.p_value, 4), fmt(r.fisher_p, 4),
            "-" if r.selections_to_four_fifths is None else str(r.selections_to_four_fifths),
        ]
        for r in result.tables[0].rows
    }  # fmt: skip
    effects = {
        r.category: [
            r.category, str(r.n), fmt(r.mean), fmt(r.sd), fmt(r.d, 2), fmt(r.d_ci_low, 2),
            fmt(r.d_ci_high, 2),
        ]
        for r in result.effect_sizes[0].rows
    }  # fmt: skip
    return rates, effects


RATE_COLUMNS = ["category", "n", "share", "selected", "rate", "impact ratio", "z", "p",
                "Fisher p", "to 4/5"]  # fmt: skip
EFFECT_COLUMNS = ["category", "n", "mean", "SD", "Cohen's d", "95% CI low", "95% CI high"]


def check(tables: list[list[list[str]]], result: repprofile.AuditResult) -> None:
    rates, effects = expected_rows(result)
    assert len(tables) == 2
    for table, columns, expected in ((tables[0], RATE_COLUMNS, rates),
                                     (tables[1], EFFECT_COLUMNS, effects)):  # fmt: skip
        header = table[0]
        got = {row[0]: [row[header.index(c)] for c in columns] for row in table[1:]}
        assert got == expected
    # the hand-worked figures, as printed
    assert rates["B"][5:] == ["0.333", "-1.83", rates["B"][7], rates["B"][8], "3"]
    assert effects["B"][4:] == ["-0.67", "-1.57", "0.23"]
    assert effects["A"][4:] == ["-", "-", "-"]  # the reference itself


def test_markdown_has_the_json_figures_and_effect_sizes(result: repprofile.AuditResult) -> None:
    text = to_markdown(result)
    check(md_tables(text), result)
    assert "Reference: A." in text
    assert "To 4/5: how many more selections" in text


def test_html_has_the_json_figures_effect_sizes_and_to_four_fifths(
    result: repprofile.AuditResult,
) -> None:
    text = to_html(result)
    check(html_tables(text), result)
    assert '<th title="more selections needed to reach four-fifths">to 4/5</th>' in text
    assert "To 4/5: how many more selections" in text
    assert "Effect sizes: grit by sex" in text


# --------------------------------------------------------------------------- chart


def chart_records() -> list[dict[str, Any]]:
    """Three groups: A 6/10, B 5/10 (ratio 0.83), 'Prefer not to answer' 0/10 (ratio 0)."""
    rows: list[dict[str, Any]] = []
    for cat, sel in (("A", 6), ("B", 5), ("Prefer not to answer", 0)):
        rows += [{"sex": cat, "selected": int(i < sel)} for i in range(10)]
    return rows


def test_chart_shows_zero_ratios_values_and_the_labelled_line() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from repprofile._rendering.audit import _chart_figure

    res = repprofile.audit(chart_records(), groups=["sex"], selected="selected")
    fig = _chart_figure(res)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted([" four-fifths (0.8)", "1.00", "0.83", "0.00"])
    # the zero-ratio category has a visible marker at x = 0
    (markers,) = ax.collections
    assert markers.get_offsets().tolist() == [[0.0, 0.0]]
    # the 0.8 line
    (line,) = ax.lines
    assert list(line.get_xdata()) == [0.8, 0.8]
    # nothing is cut off: every label lies inside the figure
    renderer = canvas.get_renderer()
    fig_box = fig.bbox
    for artist in [ax.xaxis.label, *ax.get_yticklabels(), *ax.texts]:
        box = artist.get_window_extent(renderer)
        assert box.x0 >= fig_box.x0 - 0.5, artist
        assert box.x1 <= fig_box.x1 + 0.5, artist
        assert box.y0 >= fig_box.y0 - 0.5, artist
        assert box.y1 <= fig_box.y1 + 0.5, artist


GALLERY = Path(__file__).parent.parent / "docs" / "gallery" / "audit-chart.png"


def gallery_result() -> repprofile.AuditResult:
    rows: list[dict[str, Any]] = []
    for sex, race, n, sel in (
        ("F", "Black or African American", 12, 3),
        ("F", "White", 14, 8),
        ("M", "Black or African American", 10, 0),
        ("M", "White", 14, 9),
    ):
        rows += [{"sex": sex, "race": race, "selected": int(i < sel)} for i in range(n)]
    return repprofile.audit(rows, groups=["sex", "race"], selected="selected")


if __name__ == "__main__":  # python tests/test_audit_reports.py: rewrite the gallery image
    from repprofile._rendering.audit import to_png

    GALLERY.parent.mkdir(parents=True, exist_ok=True)
    GALLERY.write_bytes(to_png(gallery_result()))
    print(GALLERY)
