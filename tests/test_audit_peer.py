"""repprofile.audit against the PyPI peer package aedt-audit 0.3.0 (issue 8).

Data: tests/reference/audit/pool.csv, a simulated applicant pool made by
:func:`simulate_pool` (seeded; 2,000 candidates; no real person). Reference values:
tests/reference/audit/aedt_audit_results.json, made from pool.csv by
tests/reference/audit/make_aedt_reference.py with aedt-audit 0.3.0
(``aedt_audit.ll144_summary(..., significance=True)``, i.e. ``selection_rates`` /
``scoring_rates`` -> ``four_fifths`` -> ``significance``). The fixture keeps the
comparison independent of the installed aedt-audit; :func:`test_fixture_matches_live_aedt_audit`
recomputes it with the installed package.

Conventions mapped before comparing (they are naming/bookkeeping, not definitions):

* **Unknown categories.** aedt-audit only knows a *missing* value as unknown (it is
  relabelled ``"unknown"`` and kept out of the benchmark, not out of the table). A
  literal ``"Unknown"`` or ``"Decline to state"`` would be rated as a category of its
  own, and ``"Unknown"`` (capital U) would even be eligible as the benchmark. So the
  reference script first turns every value repprofile treats as unknown (blank,
  ``unknown`` in any case, and the values passed as ``unknown=``) into a missing value.
  aedt-audit's ``"unknown"`` rows (and its intersectional rows with an unknown part,
  such as ``("unknown", "Asian")``) are then compared with ``AuditResult.unknown``
  instead of with rows: repprofile leaves them out of the tables.
* **Intersectional categories.** aedt-audit keeps one column per group (``sex``,
  ``race``); repprofile names the category ``"Female / Asian"``, in the order of
  ``groups``. Categories are matched by that name, never by row order.
* **Count column.** aedt-audit names the count ``above_median`` in scoring mode;
  repprofile always calls it ``selected``.
* **Small categories.** aedt-audit always flags categories under 2% (``excluded``) and
  keeps them out of the benchmark; that is repprofile's ``exclude_small=True``.
  repprofile's default ``exclude_small=False`` is aedt-audit with
  ``min_category_share=0``. Both pairs are compared.

Real differences of definition (compared as such, see :func:`test_documented_differences`):

* ``share``: aedt-audit divides by *all* candidates, unknowns included; repprofile by
  the candidates whose category is known in that table. The 2% cut therefore uses
  different denominators (same exclusions on this pool: the small category is ~1.2%).
* Excluded (small) categories: aedt-audit still gives them an impact ratio, z and
  ``selections_to_four_fifths`` "for transparency"; repprofile gives ``None``.
* The benchmark row itself: aedt-audit reports ``z_score = 0``, ``p_value = 1``;
  repprofile ``None`` (it is not compared with itself).
* ``small_sample``: aedt-audit flags a *comparison* of fewer than 30 people in the
  category and the benchmark together (``n + n_benchmark < 30``); repprofile flags a
  *category* of fewer than 30 (``n < 30``).
* The four-fifths flag at a ratio of exactly 0.8: repprofile decides in integers
  (``5 s n_ref < 4 s_ref n``); aedt-audit's ``adverse_impact_eeoc`` is the float
  ``impact_ratio < 0.8``. With 3 of 5 against 3 of 4 the float ratio is
  0.7999999999999999, so aedt-audit flags it and repprofile does not (aedt-audit's own
  ``selections_to_four_fifths`` is integer-exact and says 0). Not reached on the pool;
  see :func:`test_exact_four_fifths_flag_differs`.
* Ties for the highest rate: repprofile's reference is the first such category in
  sorted order, aedt-audit's significance benchmark the one with the largest ``n``.
  Impact ratios are the same either way; z and p could differ (no tie on the pool).
* Category text: repprofile strips surrounding spaces (``" Female"`` is ``"Female"``),
  aedt-audit does not (the pool has no such values).
* The scoring median: both take the median of every candidate's score, unknown
  demographics included, and count a candidate only when *strictly above* it (ties at
  the median are not counted). No difference; the pool has ties at the median, so a
  ``>=`` would show. aedt-audit refuses missing scores/outcomes, repprofile drops
  them (the pool has none).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import repprofile

AUDIT_REFERENCE = Path(__file__).parent / "reference" / "audit"
POOL_CSV = AUDIT_REFERENCE / "pool.csv"
AEDT_JSON = AUDIT_REFERENCE / "aedt_audit_results.json"

SEED = 1442021
N_CANDIDATES = 2000
GROUPS = ("sex", "race")
UNKNOWN_VALUES = ("Decline to state",)  # passed as audit(..., unknown=...)
SMALL_RACE = "Native Hawaiian or Pacific Islander"
TOL = 1e-12

# Category probabilities; "" is a blank field. Sex and race are drawn independently.
SEX_P = {"Female": 0.46, "Male": 0.46, "": 0.035, "Unknown": 0.04, "UNKNOWN": 0.005}
RACE_P = {
    "White": 0.40,
    "Hispanic or Latino": 0.24,
    "Black or African American": 0.18,
    "Asian": 0.155,
    SMALL_RACE: 0.01,  # under 2%: LL144's small-category allowance applies
    "Decline to state": 0.01,
    "": 0.005,
}
# P(selected) = sex rate x race multiplier (unknown sex 0.33, unknown race x0.9).
SELECT_SEX = {"Female": 0.30, "Male": 0.36}
SELECT_RACE = {
    "White": 1.0,
    "Hispanic or Latino": 0.8,
    "Black or African American": 0.7,
    "Asian": 0.95,
    SMALL_RACE: 1.6,
}
# Score = N(60 + sex shift + race shift, 12), rounded to 0.5 (ties), clipped to 0..100.
SCORE_SEX = {"Female": -2.0, "Male": 0.0}
SCORE_RACE = {
    "White": 2.0,
    "Hispanic or Latino": -2.0,
    "Black or African American": -4.0,
    "Asian": 1.0,
    SMALL_RACE: 8.0,
}

Record = dict[str, str | int | float]
POOL_COLUMNS = ("candidate_id", "sex", "race", "selected", "score")

# Small samples are the point of these cases: the small-reference warning (issue 14) is
# tested in tests/test_audit_reports.py.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:.*\(highest rate\) has n = \d+, under 30:repprofile.RepprofileWarning"
)


def simulate_pool(seed: int = SEED, n: int = N_CANDIDATES) -> list[Record]:
    """A simulated applicant pool: candidate_id, sex, race, selected (0/1), score."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(list(SEX_P), size=n, p=list(SEX_P.values()))
    race = rng.choice(list(RACE_P), size=n, p=list(RACE_P.values()))
    p_select = np.array(
        [SELECT_SEX.get(s, 0.33) * SELECT_RACE.get(r, 0.9) for s, r in zip(sex, race, strict=True)]
    )
    selected = rng.random(n) < p_select
    mean = 60.0 + np.array(
        [SCORE_SEX.get(s, -1.0) + SCORE_RACE.get(r, 0.0) for s, r in zip(sex, race, strict=True)]
    )
    score = np.clip(np.round(rng.normal(mean, 12.0) * 2.0) / 2.0, 0.0, 100.0)
    return [
        {
            "candidate_id": f"C{i + 1:04d}",
            "sex": str(sex[i]),
            "race": str(race[i]),
            "selected": int(selected[i]),
            "score": float(score[i]),
        }
        for i in range(n)
    ]


def write_pool_csv(records: list[Record], path: Path) -> None:
    """Plain CSV, ``\\n`` line ends; a blank category is an empty field."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=POOL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


def is_unknown(value: str) -> bool:
    """repprofile's notion of an unknown category, applied to pool.csv's text values."""
    text = value.strip()
    return not text or text.lower() == "unknown" or text in UNKNOWN_VALUES


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- aedt-audit


def _num(value: Any) -> float | None:
    out = float(value)
    return None if math.isnan(out) else out


def aedt_run(frame: Any, *, outcome: str, min_category_share: float) -> dict[str, Any]:
    """One aedt-audit summary (three tables) as JSON-ready rows, in repprofile's layout."""
    import aedt_audit

    kwargs: dict[str, Any] = (
        {"outcome": "selected"} if outcome == "selected" else {"score": "score"}
    )
    summary = aedt_audit.ll144_summary(
        frame,
        sex="sex",
        race="race",
        min_category_share=min_category_share,
        significance=True,
        **kwargs,
    )
    count = "selected" if outcome == "selected" else "above_median"
    tables: list[dict[str, Any]] = []
    for name, groups in (
        ("sex", ["sex"]),
        ("race_ethnicity", ["race"]),
        ("intersectional", ["sex", "race"]),
    ):
        rows: list[dict[str, Any]] = []
        for rec in summary.tables[name].to_dict(orient="records"):
            parts = [str(rec[g]) for g in groups]
            rows.append(
                {
                    "category": " / ".join(parts),
                    "known": aedt_audit.UNKNOWN not in parts,
                    "n": int(rec["n"]),
                    count: int(rec[count]),
                    "rate": float(rec["rate"]),
                    "share": float(rec["share"]),
                    "excluded": bool(rec["excluded"]),
                    "impact_ratio": _num(rec["impact_ratio"]),
                    "adverse_impact_eeoc": bool(rec["adverse_impact_eeoc"]),
                    "z_score": _num(rec["z_score"]),
                    "p_value": _num(rec["p_value"]),
                    "significant_2sd": bool(rec["significant_2sd"]),
                    "small_sample": bool(rec["small_sample"]),
                    "selections_to_four_fifths": int(rec["selections_to_four_fifths"]),
                }
            )
        tables.append({"aedt_table": name, "groups": groups, "rows": rows})
    return {
        "outcome": outcome,
        "min_category_share": min_category_share,
        "sample_median": summary.sample_median,
        "tables": tables,
    }


def aedt_reference(pool_csv: Path = POOL_CSV) -> dict[str, Any]:
    """aedt-audit's selection-rate and scoring-rate tables for pool.csv.

    Unknown categories are turned into missing values first: the only unknown
    aedt-audit recognises (see the module docstring).
    """
    import aedt_audit
    import pandas as pd

    frame = pd.read_csv(
        pool_csv, dtype={"candidate_id": str, "sex": str, "race": str}, keep_default_na=False
    )
    for col in GROUPS:
        frame[col] = [None if is_unknown(v) else v for v in frame[col]]
    runs = [
        aedt_run(frame, outcome=outcome, min_category_share=share)
        for outcome in ("selected", "score")
        for share in (aedt_audit.DEFAULT_MIN_CATEGORY_SHARE, 0.0)
    ]
    return {
        "provenance": {
            "made_by": "tests/reference/audit/make_aedt_reference.py",
            "aedt_audit": aedt_audit.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "pool_csv_sha256": sha256(pool_csv),
            "calls": "aedt_audit.ll144_summary(frame, sex='sex', race='race', "
            "outcome='selected' | score='score', min_category_share=0.02 | 0.0, "
            "significance=True)",
            "unknown_mapping": "blank, 'unknown' in any case and "
            f"{list(UNKNOWN_VALUES)!r} set to missing before the call",
        },
        "runs": runs,
    }


# --------------------------------------------------------------------------- helpers


def load_reference() -> dict[str, Any]:
    with AEDT_JSON.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def reference_run(outcome: str, exclude_small: bool) -> dict[str, Any]:
    share = 0.02 if exclude_small else 0.0
    for run in load_reference()["runs"]:
        if run["outcome"] == outcome and run["min_category_share"] == share:
            found: dict[str, Any] = run
            return found
    raise AssertionError(f"no aedt-audit run for {outcome=} {share=}")


def run_repprofile(outcome: str, exclude_small: bool) -> dict[str, Any]:
    kwargs: dict[str, str] = (
        {"selected": "selected"} if outcome == "selected" else {"score": "score"}
    )
    result = repprofile.audit(
        POOL_CSV, groups=list(GROUPS), unknown=UNKNOWN_VALUES, exclude_small=exclude_small, **kwargs
    )
    dumped: dict[str, Any] = result.model_dump(mode="json")
    return dumped


def table_for(tables: list[dict[str, Any]], groups: list[str]) -> dict[str, Any]:
    matches = [t for t in tables if t["groups"] == groups]
    assert len(matches) == 1, f"expected one table for {groups}, got {len(matches)}"
    return matches[0]


def by_category(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {r["category"]: r for r in rows}
    assert len(out) == len(rows), "duplicate category names"
    return out


def aedt_benchmark(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """aedt-audit's benchmark: highest rate among known, non-excluded rows; ties -> larger n."""
    eligible = [r for r in rows.values() if r["known"] and not r["excluded"]]
    top = max(r["rate"] for r in eligible)
    best = max((r for r in eligible if r["rate"] == top), key=lambda r: r["n"])
    name: str = best["category"]
    return name


CASES = [
    pytest.param("selected", False, id="selection-rate"),
    pytest.param("selected", True, id="selection-rate-exclude-small"),
    pytest.param("score", False, id="scoring-rate"),
    pytest.param("score", True, id="scoring-rate-exclude-small"),
]


# --------------------------------------------------------------------------- tests


def test_pool_fixture_is_what_the_reference_was_made_from() -> None:
    assert sha256(POOL_CSV) == load_reference()["provenance"]["pool_csv_sha256"]
    with POOL_CSV.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == N_CANDIDATES
    assert tuple(rows[0]) == POOL_COLUMNS
    sexes = {r["sex"] for r in rows}
    assert {"Female", "Male", "", "Unknown"} <= sexes
    races = [r["race"] for r in rows]
    assert 0 < races.count(SMALL_RACE) < 0.02 * len(rows)
    # Ties at the median: "strictly above" and "at or above" give different rates.
    scores = np.array([float(r["score"]) for r in rows])
    median = float(np.median(scores))
    assert int((scores == median).sum()) > 0
    assert {r["selected"] for r in rows} == {"0", "1"}


def test_fixture_matches_live_aedt_audit() -> None:
    pytest.importorskip("aedt_audit")
    live = json.loads(json.dumps(aedt_reference(), allow_nan=False))
    stored = load_reference()
    assert live["runs"] == stored["runs"]
    assert live["provenance"]["aedt_audit"] == stored["provenance"]["aedt_audit"]


@pytest.mark.parametrize(("outcome", "exclude_small"), CASES)
def test_rates_and_impact_ratios_match_aedt_audit(outcome: str, exclude_small: bool) -> None:
    ours = run_repprofile(outcome, exclude_small)
    ref = reference_run(outcome, exclude_small)
    count = "selected" if outcome == "selected" else "above_median"
    assert ours["outcome"] == outcome
    assert len(ours["tables"]) == len(ref["tables"]) == 3
    if outcome == "score":
        assert ours["median_score"] == ref["sample_median"]
    compared = 0
    for ref_table in ref["tables"]:
        table = table_for(ours["tables"], ref_table["groups"])
        mine = by_category(table["rows"])
        theirs = {r["category"]: r for r in ref_table["rows"] if r["known"]}
        assert set(mine) == set(theirs), ref_table["groups"]
        assert table["reference"] == aedt_benchmark(theirs)
        for name, want in theirs.items():
            got = mine[name]
            where = f"{ref_table['groups']} {name}"
            assert got["n"] == want["n"], where
            assert got["selected"] == want[count], where
            assert abs(got["rate"] - want["rate"]) <= TOL, where
            assert got["excluded"] == want["excluded"], where
            if want["excluded"]:
                # aedt-audit still rates excluded categories; repprofile does not.
                assert got["impact_ratio"] is None, where
                continue
            assert got["impact_ratio"] is not None, where
            assert abs(got["impact_ratio"] - want["impact_ratio"]) <= TOL, where
            assert got["adverse_impact"] == want["adverse_impact_eeoc"], where
            assert got["selections_to_four_fifths"] == want["selections_to_four_fifths"], where
            if name == table["reference"]:
                assert got["z"] is None, where
                assert (want["z_score"], want["p_value"]) == (0.0, 1.0), where
            else:
                assert abs(got["z"] - want["z_score"]) <= TOL, where
                assert abs(got["p_value"] - want["p_value"]) <= TOL, where
            compared += 1
    # 2 sexes + 5 races + 10 intersections; 3 of them under 2% when excluded.
    assert compared == (14 if exclude_small else 17)


@pytest.mark.parametrize(("outcome", "exclude_small"), CASES)
def test_unknown_counts_match_aedt_audit(outcome: str, exclude_small: bool) -> None:
    ours = run_repprofile(outcome, exclude_small)
    ref = reference_run(outcome, exclude_small)
    for ref_table in ref["tables"]:
        groups = ref_table["groups"]
        unknown_n = sum(r["n"] for r in ref_table["rows"] if not r["known"])
        known_n = sum(r["n"] for r in ref_table["rows"] if r["known"])
        assert unknown_n + known_n == N_CANDIDATES
        table = table_for(ours["tables"], groups)
        assert sum(r["n"] for r in table["rows"]) == known_n, groups
        if len(groups) == 1:
            assert ours["unknown"][groups[0]] == unknown_n, groups


def test_documented_differences() -> None:
    """The definitional differences named in the module docstring, as they show here."""
    ours = run_repprofile("selected", exclude_small=False)
    ref = reference_run("selected", exclude_small=False)
    for ref_table in ref["tables"]:
        table = table_for(ours["tables"], ref_table["groups"])
        mine = by_category(table["rows"])
        theirs = {r["category"]: r for r in ref_table["rows"] if r["known"]}
        known_n = sum(r["n"] for r in theirs.values())
        bench_n = theirs[aedt_benchmark(theirs)]["n"]
        for name, want in theirs.items():
            got = mine[name]
            # share: aedt-audit over all candidates, repprofile over known ones.
            assert abs(want["share"] - want["n"] / N_CANDIDATES) <= TOL
            assert abs(got["share"] - want["n"] / known_n) <= TOL
            # small_sample: aedt-audit n + n_benchmark < 30, repprofile n < 30.
            assert want["small_sample"] == (want["n"] + bench_n < 30)
            assert got["small_sample"] == (got["n"] < 30)
    race = by_category(table_for(ours["tables"], ["race"])["rows"])
    aedt_race = {r["category"]: r for r in table_for(ref["tables"], ["race"])["rows"]}
    assert race[SMALL_RACE]["small_sample"]
    assert not aedt_race[SMALL_RACE]["small_sample"]


def test_exact_four_fifths_flag_differs() -> None:
    """3 of 5 against 3 of 4 is exactly 4/5: flagged by aedt-audit's float test only."""
    aedt_audit = pytest.importorskip("aedt_audit")
    pd = pytest.importorskip("pandas")
    records: list[Record] = [
        {"candidate_id": f"E{i}", "sex": sex, "selected": int(i < hits)}
        for sex, n, hits in (("Female", 5, 3), ("Male", 4, 3))
        for i in range(n)
    ]
    ours = repprofile.audit(records, groups=["sex"], selected="selected").model_dump(mode="json")
    mine = by_category(ours["tables"][0]["rows"])["Female"]
    rates = aedt_audit.selection_rates(
        pd.DataFrame(records), by=["sex"], outcome="selected", min_category_share=0.0
    )
    theirs = aedt_audit.significance(aedt_audit.four_fifths(rates, by=["sex"]), by=["sex"])
    female = theirs[theirs["sex"] == "Female"].iloc[0]
    assert mine["impact_ratio"] == float(female["impact_ratio"]) == 0.6 / 0.75 < 0.8
    assert bool(female["adverse_impact_eeoc"])
    assert not mine["adverse_impact"]
    assert mine["selections_to_four_fifths"] == int(female["selections_to_four_fifths"]) == 0
