"""CSV numbers are rounded to a documented precision (issue 14, item 6; docs/scoring.md,
"Precision"); JSON keeps every bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repprofile._util import CSV_DECIMALS, csv_number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (63.888888888888886, "63.8889"),  # POMP 575/9
        (2.5, "2.5"),
        (50.0, "50.0"),
        (100.0, "100.0"),
        (-0.6, "-0.6"),
        (-0.00001, "0.0"),  # rounds to -0.0, written 0.0
        (39.98812345, "39.9881"),
        (1e-5, "0.0"),
    ],
)
def test_csv_number(value: float | None, text: str) -> None:
    assert CSV_DECIMALS == 4
    assert csv_number(value) == text


def test_the_documented_precision_is_the_one_used() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "scoring.md").read_text("utf-8")
    assert f"rounded to **{CSV_DECIMALS} decimal places**" in doc


def test_score_json_keeps_full_precision_and_csv_rounds(tmp_path: Path) -> None:
    import repprofile

    q = repprofile.load_questionnaire("rep-types")
    answers = {item: 3 for item in q.item_ids}
    answers["imp01"] = 4  # impression management has 7 items: POMP 100 * (22/7 - 1) / 4
    result = repprofile.score(q, answers)
    doc = json.loads(result.to_json())
    from repprofile._rendering.text import scores_csv

    rows = scores_csv(result).splitlines()
    header = rows[0].split(",")
    cells = dict(zip(header, rows[1].split(","), strict=False))
    for sid in result.scale_ids:
        full = doc["profiles"][0]["scales"][sid]["pomp"]
        assert cells[f"{sid}_pomp"] == repr(round(full, 4))
    assert doc["profiles"][0]["scales"]["impression"]["pomp"] == 100 * (22 / 7 - 1) / 4
    assert cells["impression_pomp"] == "53.5714"
