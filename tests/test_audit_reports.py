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
import json
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
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
    with pytest.warns(repprofile.RepprofileWarning, match=r"'A' \(highest rate\) has n = 10"):
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
    assert "Reference: A (highest rate)." in text
    assert "- sex: the reference category 'A' (highest rate) has n = 10, under 30" in text
    assert "To 4/5: how many more selections" in text


def test_html_has_the_json_figures_effect_sizes_and_to_four_fifths(
    result: repprofile.AuditResult,
) -> None:
    text = to_html(result)
    check(html_tables(text), result)
    assert '<th title="more selections needed to reach four-fifths">to 4/5</th>' in text
    assert "To 4/5: how many more selections" in text
    assert "Effect sizes: grit by sex" in text
    assert "<p>Reference: A (highest rate).</p>" in text
    assert "<li>sex: the reference category &#x27;A&#x27; (highest rate) has n = 10" in text


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

    res = repprofile.audit(chart_records(), groups=["sex"], selected="selected", reference="A")
    fig = _chart_figure(res)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted([" four-fifths (0.8)", "1.00", "0.83", "0.00"])
    # the zero-ratio category has a visible marker at x = 0
    (markers,) = ax.collections
    assert np.asarray(markers.get_offsets()).tolist() == [[0.0, 0.0]]
    # the 0.8 line
    (line,) = ax.lines
    assert np.asarray(line.get_xdata()).tolist() == [0.8, 0.8]
    # nothing is cut off: every label lies inside the figure
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", repprofile.RepprofileWarning)  # small references
        return repprofile.audit(rows, groups=["sex", "race"], selected="selected")


if __name__ == "__main__":  # python tests/test_audit_reports.py: rewrite the gallery image
    from repprofile._rendering.audit import to_png

    GALLERY.parent.mkdir(parents=True, exist_ok=True)
    GALLERY.write_bytes(to_png(gallery_result()))
    print(GALLERY)


# --------------------------------------------------------------------------- reference


def issue_pool() -> list[dict[str, Any]]:
    """The issue's case: A 20 of 40 selected (0.5), B 12 of 40 (0.3), and 4 'Prefer not to
    say', all selected (1.0). With the highest rate as reference, 'Prefer not to say' would
    be the reference and A (0.5) and B (0.3) both flagged."""
    rows: list[dict[str, Any]] = []
    for cat, n, sel in (("A", 40, 20), ("B", 40, 12), ("Prefer not to say", 4, 4)):
        rows += [
            {"candidate_id": f"{cat[0]}{i}", "sex": cat, "selected": int(i < sel)} for i in range(n)
        ]
    return rows


def ratios(res: repprofile.AuditResult, table: int = 0) -> dict[str, float | None]:
    return {r.category: r.impact_ratio for r in res.tables[table].rows}


def test_a_non_answer_is_never_the_automatic_reference() -> None:
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        res = repprofile.audit(issue_pool(), groups=["sex"], selected="selected")
    t = res.tables[0]
    assert (t.reference, t.reference_source) == ("A", "highest rate")
    assert ratios(res) == pytest.approx({"A": 1.0, "B": 0.6, "Prefer not to say": 2.0})
    assert [r.category for r in t.rows if r.adverse_impact] == ["B"]
    (message,) = [str(w.message) for w in caught]
    assert message == (
        "sex: category 'Prefer not to say' (n = 4) looks like a non-answer and is not used "
        "as the reference although its rate (1.000) is the highest; the reference is 'A'; "
        "choose the reference with --reference CATEGORY (reference= in Python), or leave it "
        "out with --unknown 'Prefer not to say'"
    )
    assert res.warnings == [message]


def test_a_small_automatic_reference_is_warned_about() -> None:
    rows = [{"g": "A", "selected": int(i < 6)} for i in range(10)]
    rows += [{"g": "B", "selected": int(i < 12)} for i in range(40)]
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        res = repprofile.audit(rows, groups=["g"], selected="selected")
    assert res.tables[0].reference == "A"  # 0.6 > 0.3
    assert [str(w.message) for w in caught] == [
        "g: the reference category 'A' (highest rate) has n = 10, under 30: its rate is "
        "unstable and every impact ratio depends on it; choose the reference with "
        "--reference CATEGORY (reference= in Python)"
    ]


def test_no_warning_for_a_reference_of_30_or_more() -> None:
    rows = [{"g": "A", "selected": int(i < 15)} for i in range(30)]
    rows += [{"g": "B", "selected": int(i < 8)} for i in range(40)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = repprofile.audit(rows, groups=["g"], selected="selected")
    assert caught == []
    assert res.warnings == []
    assert res.tables[0].reference == "A"


def test_a_given_reference_is_used_without_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = repprofile.audit(issue_pool(), groups=["sex"], selected="selected", reference="B")
    assert caught == []
    t = res.tables[0]
    assert (t.reference, t.reference_source) == ("B", "given")
    # 0.5 / 0.3 and 1.0 / 0.3
    assert ratios(res) == pytest.approx({"A": 5 / 3, "B": 1.0, "Prefer not to say": 10 / 3})
    assert not any(r.adverse_impact for r in t.rows)
    assert "Reference: B (chosen by you)." in to_markdown(res)


def test_references_for_several_columns_and_the_automatic_intersection() -> None:
    rows: list[dict[str, Any]] = []
    for sex, race, n, sel in (("F", "X", 30, 15), ("F", "Y", 30, 9), ("M", "X", 30, 12),
                              ("M", "Y", 30, 6)):  # fmt: skip
        rows += [{"sex": sex, "race": race, "selected": int(i < sel)} for i in range(n)]
    res = repprofile.audit(rows, groups=["sex", "race"], selected="selected", reference=["M", "Y"])
    refs = [(t.groups, t.reference, t.reference_source) for t in res.tables]
    assert refs == [
        (["sex"], "M", "given"),
        (["race"], "Y", "given"),
        (["sex", "race"], "F / X", "highest rate"),  # 15/30 is the highest
    ]
    assert ratios(res, 0) == pytest.approx({"F": 24 / 18, "M": 1.0})  # 24/60 over 18/60
    assert ratios(res, 1) == pytest.approx({"X": 27 / 15, "Y": 1.0})


def test_an_unknown_reference_is_an_error_listing_the_categories() -> None:
    with pytest.raises(repprofile.InputError) as err:
        repprofile.audit(issue_pool(), groups=["sex"], selected="selected", reference="C")
    assert str(err.value) == (
        "reference category 'C' is not a category of the audited columns; categories "
        "present: sex: 'A', 'B', 'Prefer not to say' (intersections are written 'x / y')"
    )
    with pytest.raises(repprofile.InputError, match="The 'reference' parameter of audit"):
        repprofile.audit(issue_pool(), groups=["sex"], selected="selected", reference=42)  # type: ignore[arg-type]


def test_only_non_answers_give_no_reference() -> None:
    rows = [{"g": "Declined", "selected": int(i < 3)} for i in range(10)]
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        res = repprofile.audit(rows, groups=["g"], selected="selected")
    assert res.tables[0].reference is None
    assert ratios(res) == {"Declined": None}
    messages = [str(w.message) for w in caught]
    assert messages == [
        "g: every category ('Declined') looks like a non-answer, so none is used as the "
        "reference and no impact ratio is computed; choose the reference with --reference "
        "CATEGORY (reference= in Python)"
    ]


def test_two_non_answers_are_not_each_called_the_highest() -> None:
    rows = [{"g": "declined", "selected": int(i % 2 == 0)} for i in range(20)]
    rows += [{"g": "n/a", "selected": int(i % 4 == 0)} for i in range(20)]
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        res = repprofile.audit(rows, groups=["g"], selected="selected")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "every category ('declined', 'n/a') looks like a non-answer" in messages[0]
    assert "is the highest" not in messages[0]
    assert res.tables[0].reference is None


def test_a_reference_without_selections_is_warned_about() -> None:
    rows = [{"g": "A", "selected": int(i % 2 == 0)} for i in range(40)]
    rows += [{"g": "B", "selected": 0} for i in range(40)]
    with pytest.warns(repprofile.RepprofileWarning, match="reference category 'B' has no"):
        res = repprofile.audit(rows, groups=["g"], selected="selected", reference="B")
    assert ratios(res) == {"A": None, "B": None}


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("Prefer not to say", True),
        ("PREFER NOT TO ANSWER", True),
        ("I'd rather not say", True),
        ("Declined", True),
        ("Declined to state", True),
        ("Not disclosed", True),
        ("Undisclosed", True),
        ("N/A", True),
        ("na", True),
        ("", True),
        ("Other/unspecified", True),
        ("Not specified", True),
        ("No answer", True),
        ("F / Prefer not to say", True),
        ("Female", False),
        ("Other", False),
        ("Two or more races", False),
        ("Native Hawaiian or Other Pacific Islander", False),
        ("Non-binary", False),
        ("F / White", False),
    ],
)
def test_looks_like_non_answer(category: str, expected: bool) -> None:
    from repprofile._analysis.audit import looks_like_non_answer

    assert looks_like_non_answer(category) is expected


# --------------------------------------------------------------------------- join


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def join_files(tmp_path: Path) -> tuple[Path, Path]:
    """Scores of c1..c40 (c1..c20 sex F, 10 selected; c21..c40 M, 15 selected) and a
    demographics file with c2..c40 and x1, x2: c1 has no demographics, x1 and x2 no
    scores."""
    scores = write_csv(
        tmp_path / "scores.csv",
        ["id", "selected"],
        [[f"c{i}", int(i <= 10 or 21 <= i <= 35)] for i in range(1, 41)],
    )
    demo = write_csv(
        tmp_path / "demo.csv",
        ["id", "sex"],
        [[f"c{i}", "F" if i <= 20 else "M"] for i in range(2, 41)] + [["x1", "F"], ["x2", "M"]],
    )
    return scores, demo


JOIN_WARNINGS = [
    "join on 'id': 1 of 40 candidates in the scores have no row in the joined table "
    "(their categories are unknown): c1",
    "join on 'id': 2 of 41 rows of the joined table match no candidate in the scores "
    "(not used): x1, x2",
]


def test_join_adds_demographics_by_id_and_reports_unmatched_ids(
    join_files: tuple[Path, Path],
) -> None:
    scores, demo = join_files
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        res = repprofile.audit(
            scores, groups=["sex"], selected="selected", join=demo, id_column="id"
        )
    small = (
        "sex: the reference category 'M' (highest rate) has n = 20, under 30: its rate is "
        "unstable and every impact ratio depends on it; choose the reference with "
        "--reference CATEGORY (reference= in Python)"
    )
    assert [str(w.message) for w in caught] == [*JOIN_WARNINGS, small]
    assert res.warnings == [*JOIN_WARNINGS, small]
    assert res.unknown == {"sex": 1}  # c1
    rows = {r.category: (r.n, r.selected) for r in res.tables[0].rows}
    assert rows == {"F": (19, 9), "M": (20, 15)}  # c2..c20: c2..c10 selected


def test_join_shows_the_first_five_unmatched_ids_and_the_count() -> None:
    scores = [{"candidate_id": f"s{i}", "selected": i % 2} for i in range(8)]
    demo = [{"candidate_id": f"s{i}", "sex": "AB"[i % 2]} for i in range(40, 80)]
    demo += [{"candidate_id": "s0", "sex": "A"}]
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        repprofile.audit(scores, groups=["sex"], selected="selected", join=demo)
    assert str(caught[0].message) == (
        "join on 'candidate_id': 7 of 8 candidates in the scores have no row in the joined "
        "table (their categories are unknown): s1, s2, s3, s4, s5 and 2 more"
    )
    assert str(caught[1].message).startswith(
        "join on 'candidate_id': 40 of 41 rows of the joined table match no candidate in the "
        "scores (not used): s40, s41, s42, s43, s44 and 35 more"
    )


def test_join_errors_name_the_problem() -> None:
    scores = [{"candidate_id": "a", "selected": 1}]
    with pytest.raises(repprofile.InputError) as err:
        repprofile.audit(
            scores, groups=["sex"], selected="selected", join=[{"id": "a", "sex": "F"}]
        )
    assert str(err.value) == (
        "the joined table has no id column 'candidate_id' (set it with --id-column / "
        "id_column=); columns: id, sex"
    )
    twice = [{"candidate_id": "a", "sex": "F"}, {"candidate_id": "a", "sex": "M"}]
    with pytest.raises(repprofile.InputError) as err:
        repprofile.audit(scores, groups=["sex"], selected="selected", join=twice)
    assert str(err.value) == (
        "the joined table has candidate 'a' twice (rows 1 and 2); keep one row per candidate"
    )


# --------------------------------------------------------------------------- command line

SCRIPT = Path(sys.executable).parent / "repprofile"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "audit", *map(str, args)], capture_output=True, text=True, check=False
    )


def test_cli_join_reference_and_warnings(join_files: tuple[Path, Path]) -> None:
    scores, demo = join_files
    with ThreadPoolExecutor(max_workers=2) as pool:
        joined_f, bad = pool.map(
            lambda extra: run(scores, "--join", demo, "--id-column", "id", "--group", "sex",
                              "--selected", "selected", *extra),
            [["--reference", "F"], ["--reference", "X"]],
        )  # fmt: skip
    assert joined_f.returncode == 0, joined_f.stderr
    doc = json.loads(joined_f.stdout)
    table = doc["tables"][0]
    assert (table["reference"], table["reference_source"]) == ("F", "given")
    # rates F 9/19, M 15/20: M's ratio 0.75 / (9/19) = 1.583
    assert {r["category"]: r["impact_ratio"] for r in table["rows"]} == pytest.approx(
        {"F": 1.0, "M": 0.75 * 19 / 9}
    )
    assert joined_f.stderr.splitlines() == [f"repprofile: warning: {w}" for w in JOIN_WARNINGS]
    assert bad.returncode == 2
    assert "reference category 'X' is not a category of the audited columns; categories " \
        "present: sex: 'F', 'M'" in bad.stderr  # fmt: skip
