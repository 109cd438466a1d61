"""Adverse-impact audit (issue 8): every figure below is worked by hand in the comments.

The running example is the issue's: 48 of 80 candidates of group A selected and 12 of 40
of group B. Rates 48/80 = 0.60 and 12/40 = 0.30; impact ratio of B = 0.30 / 0.60 = 0.50,
below four-fifths (29 CFR 1607.4(D)), so B is flagged.

The command-line tests run every command once, concurrently, in the module fixture
``cli`` (each process imports numpy, scipy and matplotlib), then check the outputs.
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

import repprofile

SCRIPT = Path(sys.executable).parent / "repprofile"

Record = dict[str, Any]
Doc = dict[str, Any]

# Small samples are the point of these cases: the small-reference warning (issue 14) is
# tested in tests/test_audit_reports.py.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:.*\(highest rate\) has n = \d+, under 30:repprofile.RepprofileWarning"
)


# --------------------------------------------------------------------------- helpers


def cohort(groups: Mapping[str, str], n: int, selected: int, **extra: Any) -> list[Record]:
    """``n`` candidates with the given group values, the first ``selected`` of them selected."""
    return [{**groups, "selected": int(i < selected), **extra} for i in range(n)]


def numbered(rows: Sequence[Record]) -> list[Record]:
    """The rows with candidate ids c1, c2, ... in front."""
    return [{"candidate_id": f"c{i}", **row} for i, row in enumerate(rows, start=1)]


def issue_records(b_selected: int = 12) -> list[Record]:
    """The issue's example: A 48 of 80 selected, B ``b_selected`` of 40."""
    return numbered(cohort({"sex": "A"}, 80, 48) + cohort({"sex": "B"}, 40, b_selected))


def write_csv(path: Path, rows: Sequence[Record]) -> Path:
    fields = list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def as_doc(result: repprofile.AuditResult) -> Doc:
    """The result as its JSON contract (through real JSON, as the CLI writes it)."""
    doc: Doc = json.loads(result.model_dump_json())
    return doc


def table(doc: Doc, *groups: str) -> dict[str, Doc]:
    """The rows of the table of ``groups``, by category."""
    matches = [t for t in doc["tables"] if t["groups"] == list(groups)]
    assert len(matches) == 1, [t["groups"] for t in doc["tables"]]
    return {row["category"]: row for row in matches[0]["rows"]}


def run_audit(data: Any, **kwargs: Any) -> Doc:
    return as_doc(repprofile.audit(data, **kwargs))


# --------------------------------------------------------------------------- the issue's example


def test_issue_example_rates_impact_ratio_and_flag() -> None:
    doc = run_audit(issue_records(), groups=["sex"], selected="selected")
    assert doc["outcome"] == "selected"
    assert {"outcome", "tables", "unknown", "provenance"} <= set(doc)
    rows = table(doc, "sex")
    assert list(rows) == ["A", "B"]
    a, b = rows["A"], rows["B"]
    assert (a["n"], a["selected"], b["n"], b["selected"]) == (80, 48, 40, 12)
    # share = n / 120 known candidates
    assert a["share"] == pytest.approx(2 / 3, rel=1e-12)
    assert b["share"] == pytest.approx(1 / 3, rel=1e-12)
    assert a["rate"] == pytest.approx(0.60, rel=1e-12)
    assert b["rate"] == pytest.approx(0.30, rel=1e-12)
    # the highest rate is A's: its own ratio is 1, B's is 0.30 / 0.60 = 0.50
    assert a["impact_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert b["impact_ratio"] == pytest.approx(0.50, rel=1e-12)
    assert (a["adverse_impact"], b["adverse_impact"]) == (False, True)
    assert (a["excluded"], b["excluded"]) == (False, False)
    assert (a["small_sample"], b["small_sample"]) == (False, False)  # 80 and 40 >= 30
    assert doc["unknown"] == {"sex": 0}
    assert repprofile.audit(issue_records(), groups=["sex"], selected="selected").adverse_impact


def test_issue_example_z_test_and_fisher_against_scipy() -> None:
    rows = table(run_audit(issue_records(), groups=["sex"], selected="selected"), "sex")
    a, b = rows["A"], rows["B"]
    # the highest-rate category is not tested against itself
    assert (a["z"], a["p_value"], a["fisher_p"]) == (None, None, None)
    # pooled p = (48 + 12) / (80 + 40) = 0.5; SE^2 = 0.5 * 0.5 * (1/80 + 1/40) = 0.009375
    # z = (0.30 - 0.60) / SE, so z^2 = 0.09 / 0.009375 = 9.6; B is below A: z < 0
    pooled = (48 + 12) / (80 + 40)
    se = math.sqrt(pooled * (1 - pooled) * (1 / 80 + 1 / 40))
    z = (12 / 40 - 48 / 80) / se
    assert z == pytest.approx(-math.sqrt(9.6), rel=1e-12)
    assert b["z"] == pytest.approx(z, rel=1e-9)
    # two-sided p = 2 * (1 - Phi(|z|)) = 2 * sf(sqrt(9.6)) ~ 0.00195
    p = 2 * float(stats.norm.sf(abs(z)))
    assert p == pytest.approx(0.001946, abs=1e-6)
    assert b["p_value"] == pytest.approx(p, rel=1e-9)
    # Fisher's exact test, two-sided, on [[selected, not selected]] of B and of A
    fisher = float(stats.fisher_exact([[12, 40 - 12], [48, 80 - 48]]).pvalue)
    assert b["fisher_p"] == pytest.approx(fisher, rel=1e-9)
    assert 0 < b["fisher_p"] < 0.01


def test_selections_to_four_fifths_are_the_selections_that_clear_the_flag() -> None:
    rows = table(run_audit(issue_records(), groups=["sex"], selected="selected"), "sex")
    # B: ceil(0.8 * 0.6 * 40 - 12) = ceil(19.2 - 12) = ceil(7.2) = 8
    assert rows["B"]["selections_to_four_fifths"] == 8
    # A: max(0, ceil(0.8 * 0.6 * 80 - 48)) = max(0, ceil(38.4 - 48)) = 0
    assert rows["A"]["selections_to_four_fifths"] == 0
    # 8 more: 20/40 = 0.5, ratio 0.5 / 0.6 = 0.833 >= 0.8, no longer flagged ...
    eight = table(run_audit(issue_records(12 + 8), groups=["sex"], selected="selected"), "sex")
    assert eight["B"]["impact_ratio"] == pytest.approx(0.5 / 0.6, rel=1e-12)
    assert eight["B"]["adverse_impact"] is False
    assert eight["B"]["selections_to_four_fifths"] == 0
    # ... 7 more are not enough: 19/40 = 0.475, ratio 0.475 / 0.6 = 0.7917 < 0.8
    seven = table(run_audit(issue_records(12 + 7), groups=["sex"], selected="selected"), "sex")
    assert seven["B"]["impact_ratio"] == pytest.approx(0.475 / 0.6, rel=1e-12)
    assert seven["B"]["adverse_impact"] is True
    # ceil(19.2 - 19) = ceil(0.2) = 1
    assert seven["B"]["selections_to_four_fifths"] == 1


def test_exactly_four_fifths_is_not_adverse_impact() -> None:
    # A 30 of 40 (0.75), B 24 of 40 (0.60): ratio 24/30 = 4/5 exactly. The rule flags a
    # rate "less than four-fifths" (29 CFR 1607.4(D)), so B is not flagged and needs no
    # more selections: ceil(0.8 * 0.75 * 40 - 24) = ceil(24 - 24) = 0. (In floating point
    # 0.6 / 0.75 is 0.7999999999999999, so a naive float comparison would flag B.)
    rows = numbered(cohort({"sex": "A"}, 40, 30) + cohort({"sex": "B"}, 40, 24))
    b = table(run_audit(rows, groups=["sex"], selected="selected"), "sex")["B"]
    assert b["impact_ratio"] == pytest.approx(0.8, rel=1e-12)
    assert b["adverse_impact"] is False
    assert b["selections_to_four_fifths"] == 0
    assert not repprofile.audit(rows, groups=["sex"], selected="selected").adverse_impact


def test_csv_records_and_dataframe_give_the_same_audit(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    records = issue_records()
    path = write_csv(tmp_path / "issue.csv", records)
    from_records = run_audit(records, groups=["sex"], selected="selected")
    from_csv = run_audit(path, groups=["sex"], selected="selected")
    from_str = run_audit(str(path), groups=["sex"], selected="selected")
    from_frame = run_audit(pd.DataFrame(records), groups=["sex"], selected="selected")
    assert table(from_records, "sex")["B"]["impact_ratio"] == pytest.approx(0.5, rel=1e-12)
    for other in (from_csv, from_str, from_frame):
        assert other["tables"] == from_records["tables"]
        assert other["unknown"] == from_records["unknown"]


# --------------------------------------------------------------------------- scoring mode


def score_records() -> list[Record]:
    # A: 1 5 5 7 8 9; B: 2 3 5 5 5 6. All 12 sorted: 1 2 3 5 5 | 5 5 | 5 6 7 8 9, so the
    # median is (5 + 5) / 2 = 5 and five candidates sit exactly on it.
    # Strictly above 5: A 7 8 9 -> 3 of 6 = 0.5; B 6 -> 1 of 6 = 1/6; ratio (1/6)/(1/2) = 1/3.
    # Counting ties (>= 5) would give A 5/6, B 4/6 and a ratio of 0.8: not flagged.
    scores = {"A": [1, 5, 5, 7, 8, 9], "B": [2, 3, 5, 5, 5, 6]}
    return numbered([{"sex": g, "fit": s} for g, values in scores.items() for s in values])


def test_scoring_rate_counts_scores_above_the_median_not_at_it() -> None:
    result = repprofile.audit(score_records(), groups=["sex"], score="fit")
    doc = as_doc(result)
    assert doc["outcome"] == "score"
    assert doc["median_score"] == 5.0
    rows = table(doc, "sex")
    assert (rows["A"]["selected"], rows["B"]["selected"]) == (3, 1)
    assert rows["A"]["rate"] == pytest.approx(0.5, rel=1e-12)
    assert rows["B"]["rate"] == pytest.approx(1 / 6, rel=1e-12)
    assert rows["B"]["impact_ratio"] == pytest.approx(1 / 3, rel=1e-12)
    assert rows["B"]["adverse_impact"] is True
    assert result.adverse_impact
    # the tests compare the same 2x2 table: B 1 of 6 above, A 3 of 6 above
    fisher = float(stats.fisher_exact([[1, 5], [3, 3]]).pvalue)
    assert rows["B"]["fisher_p"] == pytest.approx(fisher, rel=1e-9)


def test_scoring_rate_with_an_odd_sample_whose_median_is_a_score() -> None:
    # one more A at 5: 13 scores, the 7th of 1 2 3 5 5 5 [5] 5 5 6 7 8 9 is 5, now six
    # candidates on the median; above it still A 3 of 7 and B 1 of 6.
    rows = [*score_records(), {"candidate_id": "c13", "sex": "A", "fit": 5}]
    doc = run_audit(rows, groups=["sex"], score="fit")
    assert doc["median_score"] == 5.0
    by = table(doc, "sex")
    assert (by["A"]["n"], by["A"]["selected"], by["B"]["selected"]) == (7, 3, 1)
    # (1/6) / (3/7) = 7/18
    assert by["B"]["impact_ratio"] == pytest.approx(7 / 18, rel=1e-12)


# --------------------------------------------------------------------------- unknown categories


def unknown_records() -> list[Record]:
    # sex: F 10 (6 selected), M 10 (3 selected), and 6 unknown that are mostly selected, so
    # that counting them would change every figure: "" 2 (2 sel), "Unknown" 1 (1 sel),
    # "UNKNOWN" 1 (1 sel), "declined" 2 (0 sel; unknown only when given with `unknown`).
    sexes = (
        cohort({"sex": "F"}, 10, 6)
        + cohort({"sex": "M"}, 10, 3)
        + cohort({"sex": ""}, 2, 2)
        + cohort({"sex": "Unknown"}, 1, 1)
        + cohort({"sex": "UNKNOWN"}, 1, 1)
        + cohort({"sex": "declined"}, 2, 0)
    )
    # race: unknown for three candidates ("unknown", "", "declined"), X or Y for the rest
    races = ["unknown", "", "declined"] + ["X", "Y"] * 11 + ["X"]
    return numbered([{**row, "race": race} for row, race in zip(sexes, races, strict=True)])


def test_unknown_categories_are_excluded_and_counted_per_column() -> None:
    doc = run_audit(
        unknown_records(), groups=["sex", "race"], selected="selected", unknown=["declined"]
    )
    # blank, "Unknown", "UNKNOWN" and "declined": 2 + 1 + 1 + 2 = 6 for sex; 3 for race
    assert doc["unknown"] == {"sex": 6, "race": 3}
    sex = table(doc, "sex")
    assert list(sex) == ["F", "M"]
    # shares over the 20 candidates with a known sex, not the 26 of the file
    assert (sex["F"]["share"], sex["M"]["share"]) == (0.5, 0.5)
    # the unknowns' high rate (4 of 6) is not the maximum: F 0.6 is, M 0.3 / 0.6 = 0.5
    assert sex["F"]["rate"] == pytest.approx(0.6, rel=1e-12)
    assert sex["F"]["impact_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert sex["M"]["impact_ratio"] == pytest.approx(0.5, rel=1e-12)
    race = table(doc, "race")
    assert set(race) == {"X", "Y"}
    assert sum(r["n"] for r in race.values()) == 26 - 3
    assert sum(r["share"] for r in race.values()) == pytest.approx(1.0, rel=1e-12)
    # the intersection keeps only candidates known on both columns
    both = table(doc, "sex", "race")
    assert all("/" in c and "declined" not in c and "nknown" not in c for c in both)


def test_a_value_is_a_category_unless_declared_unknown() -> None:
    doc = run_audit(unknown_records(), groups=["sex"], selected="selected")
    # without unknown=["declined"]: "", "Unknown", "UNKNOWN" only -> 4
    assert doc["unknown"] == {"sex": 4}
    sex = table(doc, "sex")
    assert set(sex) == {"F", "M", "declined"}
    # 22 known: declined 2/22, 0 of 2 selected, ratio 0 / 0.6 = 0
    assert sex["declined"]["share"] == pytest.approx(2 / 22, rel=1e-12)
    assert sex["declined"]["impact_ratio"] == 0.0
    assert sex["declined"]["adverse_impact"] is True


def test_unknown_handling_is_the_same_from_a_csv_file_and_a_dataframe(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    path = write_csv(tmp_path / "unknown.csv", unknown_records())
    # a blank CSV cell is read as "" from the file and as NaN by pandas: both unknown
    from_csv = run_audit(path, groups=["sex", "race"], selected="selected", unknown=["declined"])
    frame = pd.read_csv(path)
    from_frame = run_audit(frame, groups=["sex", "race"], selected="selected", unknown=["declined"])
    assert from_csv["unknown"] == from_frame["unknown"] == {"sex": 6, "race": 3}
    assert from_csv["tables"] == from_frame["tables"]


# --------------------------------------------------------------------------- small categories


def small_records(a: tuple[int, int], b: tuple[int, int], c: tuple[int, int]) -> list[Record]:
    return numbered(cohort({"g": "A"}, *a) + cohort({"g": "B"}, *b) + cohort({"g": "C"}, *c))


def test_exclude_small_leaves_a_category_under_two_percent_out_of_the_ratios() -> None:
    # A 21 of 35 (0.6), B 12 of 24 (0.5), C 1 of 1 (1.0); C is 1/60 = 1.7% of the sample
    records = small_records((35, 21), (24, 12), (1, 1))
    kept = run_audit(records, groups=["g"], selected="selected")
    assert kept["exclude_small"] is False
    rows = table(kept, "g")
    # C kept: it has the highest rate, A 0.6 / 1.0 = 0.6 and B 0.5 / 1.0 = 0.5 are flagged
    assert rows["C"]["impact_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert rows["A"]["impact_ratio"] == pytest.approx(0.6, rel=1e-12)
    assert rows["B"]["impact_ratio"] == pytest.approx(0.5, rel=1e-12)
    assert (rows["A"]["adverse_impact"], rows["B"]["adverse_impact"]) == (True, True)
    # A: ceil(0.8 * 1.0 * 35 - 21) = ceil(28 - 21) = 7
    assert rows["A"]["selections_to_four_fifths"] == 7

    result = repprofile.audit(records, groups=["g"], selected="selected", exclude_small=True)
    doc = as_doc(result)
    assert doc["exclude_small"] is True  # the choice is recorded
    rows = table(doc, "g")
    c = rows["C"]
    # still reported with its n, share and rate, but out of the impact ratios
    assert (c["n"], c["selected"], c["rate"], c["excluded"]) == (1, 1, 1.0, True)
    assert c["share"] == pytest.approx(1 / 60, rel=1e-12)
    assert c["impact_ratio"] is None
    assert c["adverse_impact"] is False
    assert c["z"] is None
    # not the maximum any more: A's 0.6 is; B 0.5 / 0.6 = 0.833 >= 0.8, not flagged
    assert rows["A"]["impact_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert rows["B"]["impact_ratio"] == pytest.approx(0.5 / 0.6, rel=1e-12)
    assert rows["B"]["adverse_impact"] is False
    # B: max(0, ceil(0.8 * 0.6 * 24 - 12)) = max(0, ceil(11.52 - 12)) = 0
    assert rows["B"]["selections_to_four_fifths"] == 0
    assert (rows["A"]["excluded"], rows["B"]["excluded"]) == (False, False)
    assert not result.adverse_impact


def test_exclude_small_keeps_a_category_of_exactly_two_percent() -> None:
    # C is 1 of 50 = 2%: not "under 2%", so it stays in and is the highest rate (1.0)
    records = small_records((30, 18), (19, 9), (1, 1))
    rows = table(run_audit(records, groups=["g"], selected="selected", exclude_small=True), "g")
    assert rows["C"]["share"] == pytest.approx(0.02, rel=1e-12)
    assert rows["C"]["excluded"] is False
    assert rows["C"]["impact_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert rows["A"]["impact_ratio"] == pytest.approx(0.6, rel=1e-12)  # 18/30 / 1.0


# --------------------------------------------------------------------------- intersections, small n


def intersection_records() -> list[Record]:
    # (sex, race, band) cohorts: F/X 2 of 3, F/Y 1 of 2, M/X 1 of 4, M/Y 1 of 1, and one F
    # selected with an unknown race (in the sex table, not in those with race)
    rows = (
        cohort({"sex": "F", "race": "X", "band": "young"}, 3, 2)
        + cohort({"sex": "F", "race": "Y", "band": "old"}, 2, 1)
        + cohort({"sex": "M", "race": "X", "band": "young"}, 4, 1)
        + cohort({"sex": "M", "race": "Y", "band": "old"}, 1, 1)
        + cohort({"sex": "F", "race": "", "band": "old"}, 1, 1)
    )
    return numbered(rows)


def test_intersectional_tables_for_every_pair_of_columns() -> None:
    doc = run_audit(intersection_records(), groups=["sex", "race", "band"], selected="selected")
    groups = [t["groups"] for t in doc["tables"]]
    assert sorted(map(tuple, groups)) == sorted(
        [
            ("sex",),
            ("race",),
            ("band",),
            ("sex", "race"),
            ("sex", "band"),
            ("race", "band"),
        ]
    )
    both = table(doc, "sex", "race")
    assert set(both) == {"F / X", "F / Y", "M / X", "M / Y"}
    assert {c: r["n"] for c, r in both.items()} == {"F / X": 3, "F / Y": 2, "M / X": 4, "M / Y": 1}
    # 10 candidates known on both: F / X share 3/10
    assert both["F / X"]["share"] == pytest.approx(0.3, rel=1e-12)
    # M / Y has the highest rate (1/1): ratios 2/3, 1/2, 1/4 of it
    assert both["M / Y"]["impact_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert both["F / X"]["impact_ratio"] == pytest.approx(2 / 3, rel=1e-12)
    assert both["F / Y"]["impact_ratio"] == pytest.approx(1 / 2, rel=1e-12)
    assert both["M / X"]["impact_ratio"] == pytest.approx(1 / 4, rel=1e-12)
    assert set(table(doc, "race", "band")) == {"X / young", "Y / old"}
    # single columns: F 4 of 6 (2 + 1 + 1), M 2 of 5; race X 3 of 7, Y 2 of 3
    sex = table(doc, "sex")
    assert (sex["F"]["n"], sex["F"]["selected"]) == (6, 4)
    assert (sex["M"]["n"], sex["M"]["selected"]) == (5, 2)
    assert sex["M"]["impact_ratio"] == pytest.approx((2 / 5) / (4 / 6), rel=1e-12)  # 0.6
    race = table(doc, "race")
    assert race["X"]["impact_ratio"] == pytest.approx((3 / 7) / (2 / 3), rel=1e-12)  # 9/14
    assert doc["unknown"] == {"sex": 0, "race": 1, "band": 0}


def test_small_sample_flag_is_n_under_30() -> None:
    # A 15 of 30, B 10 of 29: only B is a small sample
    records = numbered(cohort({"g": "A"}, 30, 15) + cohort({"g": "B"}, 29, 10))
    rows = table(run_audit(records, groups=["g"], selected="selected"), "g")
    assert (rows["A"]["small_sample"], rows["B"]["small_sample"]) == (False, True)
    # every intersection cell of the small example above is a small sample too
    doc = run_audit(intersection_records(), groups=["sex", "race"], selected="selected")
    assert all(r["small_sample"] for r in table(doc, "sex", "race").values())


# --------------------------------------------------------------------------- effect sizes


def effect_records() -> list[Record]:
    # A: 3 of 5 selected (0.6, the highest rate), empathy 3 3 5 7 7: mean 5,
    #    squared deviations 4 4 0 4 4 = 16, variance 16 / 4 = 4
    # B: 1 of 3 selected, empathy 3 10 11: mean 8, squared deviations 25 4 9 = 38, var 19
    a = [{"g": "A", "selected": int(i < 3), "empathy": v} for i, v in enumerate([3, 3, 5, 7, 7])]
    b = [{"g": "B", "selected": int(i < 1), "empathy": v} for i, v in enumerate([3, 10, 11])]
    return numbered(a + b)


def test_cohens_d_with_pooled_sd_and_its_interval() -> None:
    doc = run_audit(effect_records(), groups=["g"], selected="selected", scales=["empathy"])
    tables = [t for t in doc["effect_sizes"] if t["groups"] == ["g"] and t["scale"] == "empathy"]
    assert len(tables) == 1
    assert tables[0]["reference"] == "A"
    rows = {r["category"]: r for r in tables[0]["rows"]}
    a, b = rows["A"], rows["B"]
    assert (a["n"], a["mean"], b["n"], b["mean"]) == (5, 5.0, 3, 8.0)
    assert a["sd"] == pytest.approx(2.0, rel=1e-12)
    assert b["sd"] == pytest.approx(math.sqrt(19), rel=1e-12)
    assert a["d"] is None  # the reference against itself
    # pooled variance (16 + 38) / (5 + 3 - 2) = 9, SD 3; d = (8 - 5) / 3 = 1.0
    # (the unpooled average SD sqrt((4 + 19) / 2) = 3.39 would give 0.885)
    assert b["d"] == pytest.approx(1.0, rel=1e-12)
    # Hedges & Olkin (1985): var(d) = (n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2))
    #                              = 8/15 + 1/16 = 143/240; 95% interval d -/+ 1.96 SE
    se = math.sqrt(143 / 240)  # 0.7719
    zc = float(stats.norm.ppf(0.975))
    assert b["d_ci_low"] == pytest.approx(1.0 - zc * se, rel=1e-9)  # -0.513
    assert b["d_ci_high"] == pytest.approx(1.0 + zc * se, rel=1e-9)  # 2.513


# --------------------------------------------------------------------------- input errors


def test_audit_needs_exactly_one_outcome_and_existing_columns() -> None:
    records = issue_records()
    with pytest.raises(repprofile.InputError, match="exactly one outcome"):
        repprofile.audit(records, groups=["sex"])
    with pytest.raises(repprofile.InputError, match="exactly one outcome"):
        repprofile.audit(records, groups=["sex"], selected="selected", score="selected")
    with pytest.raises(repprofile.InputError, match="'nosuch'"):
        repprofile.audit(records, groups=["nosuch"], selected="selected")
    with pytest.raises(repprofile.InputError, match="'nosuch'"):
        repprofile.audit(records, groups=["sex"], selected="nosuch")
    bad = [{**records[0], "selected": 2}, *records[1:]]
    with pytest.raises(repprofile.InputError, match="0 or 1"):
        repprofile.audit(bad, groups=["sex"], selected="selected")


# --------------------------------------------------------------------------- separation


@pytest.mark.parametrize("name", ["score", "fit", "fit_many", "rank", "calibrate"])
def test_scoring_and_fit_functions_take_no_demographic_data(name: str) -> None:
    function: Callable[..., Any] = getattr(repprofile, name)
    params = inspect.signature(function).parameters
    words = ("group", "demograph", "sex", "gender", "race", "ethnic", "protected")
    assert not [p for p in params if any(w in p.lower() for w in words)]
    # no **kwargs through which demographic data could slip in either
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert "groups" in inspect.signature(repprofile.audit).parameters


# --------------------------------------------------------------------------- command line


def fine_records() -> list[Record]:
    return issue_records(20)  # B 20 of 40: ratio 0.5 / 0.6 = 0.833, not flagged


def cli_files() -> dict[str, list[Record]]:
    return {
        "issue.csv": issue_records(),
        "fine.csv": fine_records(),
        "small.csv": small_records((35, 21), (24, 12), (1, 1)),
        "scores.csv": score_records(),
        "unknown.csv": unknown_records(),
        "effect.csv": effect_records(),
        "bad01.csv": [{**issue_records()[0], "selected": "yes"}, *issue_records()[1:]],
    }


ISSUE = ("audit", "issue.csv", "--group", "sex", "--selected", "selected")
FAIL = "--fail-on-adverse-impact"
COMMANDS: dict[str, tuple[str, ...]] = {
    "json": ISSUE,
    "json-file": (*ISSUE, "--format", "json", "-o", "out/audit.json"),
    "md": (*ISSUE, "--format", "md"),
    "html": (*ISSUE, "--format", "html", "-o", "audit.html"),
    "flagged": (*ISSUE, FAIL),
    "not-flagged": ("audit", "fine.csv", "--group", "sex", "--selected", "selected", FAIL),
    "small-kept": ("audit", "small.csv", "--group", "g", "--selected", "selected", FAIL),
    "small-excluded": (
        *("audit", "small.csv", "--group", "g", "--selected", "selected", FAIL),
        "--exclude-small",
    ),
    "small-md": (
        *("audit", "small.csv", "--group", "g", "--selected", "selected"),
        *("--exclude-small", "--format", "md"),
    ),
    "score": ("audit", "scores.csv", "--group", "sex", "--score", "fit", FAIL),
    "unknown": (
        *("audit", "unknown.csv", "--group", "sex", "--group", "race"),
        *("--selected", "selected", "--unknown", "declined"),
    ),
    "scale": (
        *("audit", "effect.csv", "--group", "g", "--selected", "selected"),
        *("--scale", "empathy"),
    ),
    "no-outcome": ("audit", "issue.csv", "--group", "sex"),
    "two-outcomes": (*ISSUE, "--score", "selected"),
    "no-group": ("audit", "issue.csv", "--selected", "selected"),
    "unknown-group": ("audit", "issue.csv", "--group", "nosuch", "--selected", "selected"),
    "unknown-outcome": ("audit", "issue.csv", "--group", "sex", "--selected", "nosuch"),
    "not-01": ("audit", "bad01.csv", "--group", "sex", "--selected", "selected"),
    "absent-file": ("audit", "absent.csv", "--group", "sex", "--selected", "selected"),
    "bad-format": (*ISSUE, "--format", "xml"),
}

Results = dict[str, subprocess.CompletedProcess[str]]


def run(args: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit-cli")
    for name, rows in cli_files().items():
        write_csv(folder / name, rows)
    return folder


@pytest.fixture(scope="module")
def cli(workdir: Path) -> Results:
    assert SCRIPT.is_file(), f"console script not installed at {SCRIPT}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, args, workdir) for name, args in COMMANDS.items()}
        return {name: future.result() for name, future in futures.items()}


def check_issue_doc(doc: Doc) -> None:
    rows = table(doc, "sex")
    assert rows["B"]["impact_ratio"] == pytest.approx(0.5, rel=1e-12)
    assert rows["B"]["adverse_impact"] is True
    assert rows["B"]["selections_to_four_fifths"] == 8
    assert rows["B"]["z"] == pytest.approx(-math.sqrt(9.6), rel=1e-9)


def test_cli_json_is_the_library_result(cli: Results, workdir: Path) -> None:
    proc = cli["json"]
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    check_issue_doc(doc)
    library = repprofile.audit(workdir / "issue.csv", groups=["sex"], selected="selected")
    assert doc == as_doc(library)
    # without --fail-on-adverse-impact a flag does not change the exit status
    written = cli["json-file"]
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert json.loads((workdir / "out" / "audit.json").read_text(encoding="utf-8")) == doc


def markdown_rows(text: str) -> list[dict[str, str]]:
    """Every Markdown table row below a header row, as header -> cell."""
    out: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            out.append(dict(zip(header, cells, strict=True)))
    return out


def test_cli_markdown_has_a_table_of_the_categories(cli: Results) -> None:
    proc = cli["md"]
    assert proc.returncode == 0, proc.stderr
    rows = {r["category"]: r for r in markdown_rows(proc.stdout)}
    assert set(rows) == {"A", "B"}
    assert (rows["A"]["n"], rows["A"]["selected"]) == ("80", "48")
    assert (rows["B"]["n"], rows["B"]["selected"]) == ("40", "12")
    assert rows["B"]["impact ratio"] == "0.500"
    assert rows["A"]["impact ratio"] == "1.000"
    assert "not a legal conclusion" in proc.stdout
    small = {r["category"]: r for r in markdown_rows(cli["small-md"].stdout)}
    assert small["C"]["impact ratio"] == "-"
    assert "excluded" in small["C"]["flag"]
    assert "2%" in cli["small-md"].stdout  # the recorded choice


def svg_chart(html: str) -> str:
    start, end = html.find("<svg"), html.find("</svg>")
    assert 0 <= start < end, "no inline SVG"
    return html[start : end + len("</svg>")]


def test_cli_html_is_self_contained_with_a_bar_chart_and_the_line(
    cli: Results, workdir: Path
) -> None:
    proc = cli["html"]
    assert proc.returncode == 0, proc.stderr
    html = (workdir / "audit.html").read_text(encoding="utf-8")
    assert html.lstrip().startswith("<!DOCTYPE html>")
    # self-contained: nothing is loaded from elsewhere (in-document "#id" references only)
    assert not re.search(r"<(img|script|link|iframe|object|embed)\b", html, re.IGNORECASE)
    refs = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", html, re.IGNORECASE)
    assert all(ref.startswith("#") for ref in refs), refs
    assert "url(http" not in html
    assert "@import" not in html
    assert "<td>B</td>" in html
    assert "<td>0.500</td>" in html
    svg = svg_chart(html)
    # matplotlib writes each tick label as a comment in its tick group: the x of 0, 0.8, 1
    ticks = {
        label: float(x)
        for x, label in re.findall(
            r'<g id="xtick_\d+">.*?<use [^>]*\bx="([-\d.]+)".*?<!-- ([^ ]+) -->', svg, re.DOTALL
        )
    }
    assert {"0.0", "0.8", "1.0"} <= set(ticks), ticks
    # the dashed vertical line sits at 0.8
    dashed = re.findall(r'<path d="M ([-\d.]+) [-\d.]+\s+L ([-\d.]+) [^"]*"[^>]*dasharray', svg)
    assert len(dashed) == 1, dashed
    assert float(dashed[0][0]) == pytest.approx(ticks["0.8"], abs=0.01)
    assert float(dashed[0][1]) == pytest.approx(ticks["0.8"], abs=0.01)
    # one bar per category from 0 to its impact ratio: A 1.0, B 0.5
    bars = re.findall(
        r'<path d="M ([-\d.]+) [-\d.]+\s+L ([-\d.]+) [-\d.]+\s+L [^"]*z\s*"'
        r' clip-path="[^"]*" style="fill: #(?!ffffff)',
        svg,
    )
    unit = ticks["1.0"] - ticks["0.0"]
    lengths = sorted((float(x1) - float(x0)) / unit for x0, x1 in bars)
    assert lengths == pytest.approx([0.5, 1.0], abs=1e-3)
    assert all(float(x0) == pytest.approx(ticks["0.0"], abs=0.01) for x0, _ in bars)


def test_cli_fail_on_adverse_impact_exits_3_only_when_flagged(cli: Results) -> None:
    flagged = cli["flagged"]
    assert flagged.returncode == 3, flagged.stderr
    check_issue_doc(json.loads(flagged.stdout))  # the report is still written
    assert "adverse impact" in flagged.stderr
    not_flagged = cli["not-flagged"]
    assert not_flagged.returncode == 0, not_flagged.stderr
    rows = table(json.loads(not_flagged.stdout), "sex")
    assert rows["B"]["adverse_impact"] is False
    # the small category C (1 of 60) makes A and B adverse unless it is excluded
    assert cli["small-kept"].returncode == 3
    excluded = cli["small-excluded"]
    assert excluded.returncode == 0, excluded.stderr
    doc = json.loads(excluded.stdout)
    assert doc["exclude_small"] is True
    assert table(doc, "g")["C"]["impact_ratio"] is None
    # scoring mode: B's scoring rate is a third of A's (score_records)
    score = cli["score"]
    assert score.returncode == 3, score.stderr
    doc = json.loads(score.stdout)
    assert doc["outcome"] == "score"
    assert table(doc, "sex")["B"]["impact_ratio"] == pytest.approx(1 / 3, rel=1e-12)


def test_cli_unknown_values_and_scales(cli: Results) -> None:
    proc = cli["unknown"]
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["unknown"] == {"sex": 6, "race": 3}
    assert set(table(doc, "sex")) == {"F", "M"}
    scale = cli["scale"]
    assert scale.returncode == 0, scale.stderr
    (effects,) = [t for t in json.loads(scale.stdout)["effect_sizes"] if t["groups"] == ["g"]]
    b = next(r for r in effects["rows"] if r["category"] == "B")
    assert b["d"] == pytest.approx(1.0, rel=1e-12)  # test_cohens_d_with_pooled_sd...


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no-outcome", "one of the arguments --selected --score is required"),
        ("two-outcomes", "not allowed with argument"),
        ("no-group", "--group"),
        ("unknown-group", "'nosuch'"),
        ("unknown-outcome", "'nosuch'"),
        ("not-01", "'yes'"),
        ("absent-file", "absent.csv"),
        ("bad-format", "invalid choice: 'xml'"),
    ],
)
def test_cli_usage_errors_exit_2(cli: Results, name: str, message: str) -> None:
    proc = cli[name]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
