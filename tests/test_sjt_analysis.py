"""Issue 16 item 6 (analysis side): response quality, reliability, multitrait-multimethod,
norms and fit for questionnaires with situational judgment (SJT) items."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import repprofile

DATA = Path(__file__).parent / "data" / "sjt"
BATCH = Path(__file__).parent / "reference" / "bitwise" / "batch600.csv"


def _mini() -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(DATA / "mini-rate.yaml")


def _mixed() -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(DATA / "mixed-rate.yaml")


def _batch_rows() -> list[dict[str, Any]]:
    """The 600-candidate rep-types batch as answer records (missing answers left out)."""
    with BATCH.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        {
            "candidate_id": row["candidate_id"],
            "answers": {k: int(v) for k, v in row.items() if k != "candidate_id" and v != ""},
        }
        for row in rows
    ]


def _sjt_ratings(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1, 7, size=(n, 8)).astype(float)


# --------------------------------------------------------------------------- quality


def test_sjt_only_quality_indices_by_hand() -> None:
    q = _mini()
    answers = [
        {  # s2 and s3 straight-lined, s1 not: 2 of 3 rated scenarios
            "candidate_id": "flat",
            "answers": {
                "s1": {"a": 6, "b": 4, "c": 1},
                "s2": {"a": 3, "b": 3},
                "s3": {"a": 2, "b": 2, "c": 2},
            },
            "seconds": 40,
        },
        {  # s3 unanswered, s2 one option only (not counted): 0 of 1
            "candidate_id": "partial",
            "answers": {"s1": {"a": 5, "b": 4, "c": 2}, "s2": {"a": 2}},
            "seconds": 12,
        },
        {
            "candidate_id": "untimed",
            "answers": {"s1": {"a": 5, "b": 5, "c": 5}, "s2": {"a": 2, "b": 5}},
        },
    ]
    r = repprofile.score(q, answers)
    p = {x["candidate_id"]: x["quality"] for x in r.to_dict()["profiles"]}
    flat = p["flat"]["indices"]
    assert flat["sjt_straightline"] == pytest.approx(2 / 3)
    assert flat["seconds_per_scenario"] == pytest.approx(40 / 3)
    assert flat["seconds_per_option"] == pytest.approx(40 / 8)
    assert [f["index"] for f in p["flat"]["flags"]] == ["sjt_straightline"]
    part = p["partial"]["indices"]
    assert part["sjt_straightline"] == 0.0
    assert part["seconds_per_scenario"] == pytest.approx(12 / 2)  # below 10: flagged
    assert part["seconds_per_option"] == pytest.approx(12 / 4)
    assert [f["index"] for f in p["partial"]["flags"]] == ["seconds_per_scenario"]
    un = p["untimed"]["indices"]
    assert un["sjt_straightline"] == 0.5  # exactly the threshold: not flagged (above flags)
    assert un["seconds_per_scenario"] is None
    assert p["untimed"]["valid"] is True
    # the Likert indices are null with a reason
    for name in ("longstring", "irv", "even_odd", "mahalanobis_d2", "psychsyn", "seconds_per_item"):
        assert flat[name] is None
        assert "Likert" in p["flat"]["unavailable"][name]


def test_sjt_quality_thresholds_per_call() -> None:
    q = _mini()
    answers = [
        {
            "candidate_id": "x",
            "answers": {"s1": {"a": 6, "b": 4, "c": 1}, "s2": {"a": 2, "b": 5}},
            "seconds": 30,
        }
    ]
    r = repprofile.score(
        q, answers, quality={"seconds_per_scenario_min": 20.0, "seconds_per_option_min": 7.0}
    )
    (prof,) = r.to_dict()["profiles"]
    assert [(f["index"], f["value"], f["threshold"]) for f in prof["quality"]["flags"]] == [
        ("seconds_per_scenario", 15.0, 20.0),
        ("seconds_per_option", 6.0, 7.0),
    ]


def test_most_least_has_no_straightline_index() -> None:
    q = repprofile.load_questionnaire(DATA / "mini-most-least.yaml")
    r = repprofile.score(q, DATA / "mini-most-least.csv")
    qr = r.quality
    assert "rate format" in qr.unavailable["sjt_straightline"]
    assert np.isnan(qr.sjt_straightline).all()


def test_likert_quality_identical_alone_and_with_an_sjt() -> None:
    """rep-types indices and flags of 600 candidates are the same inside a questionnaire
    that adds an SJT (the SJT columns hold random ratings)."""
    rows = _batch_rows()
    rep = repprofile.load_questionnaire("rep-types")
    mixed = _mixed()
    sjt_cols = mixed.item_ids[len(rep.item_ids) :]
    ratings = _sjt_ratings(len(rows), 16)
    mixed_rows = [
        {
            "candidate_id": row["candidate_id"],
            "answers": row["answers"] | dict(zip(sjt_cols, ratings[i].tolist(), strict=True)),
        }
        for i, row in enumerate(rows)
    ]
    alone = repprofile.score(rep, rows)
    both = repprofile.score(mixed, mixed_rows)
    assert int(alone.scored.sum()) == int(both.scored.sum()) == 600
    qa, qb = alone.quality, both.quality
    assert np.isfinite(qa.mahalanobis_d2).all()  # the batch is its own reference
    for name in (
        "longstring",
        "longstring_avg",
        "irv",
        "even_odd",
        "mahalanobis_d2",
        "mahalanobis_p",
        "psychsyn",
        "attention_failures",
    ):
        np.testing.assert_array_equal(getattr(qa, name), getattr(qb, name), err_msg=name)
    assert qa.reference_source == qb.reference_source
    fa, fb = qa.flag_matrix(), qb.flag_matrix()
    for name, hits in fa.items():
        if name not in ("sjt_straightline", "seconds_per_scenario", "seconds_per_option"):
            np.testing.assert_array_equal(hits, fb[name], err_msg=name)
    assert not fa["sjt_straightline"].any()  # rep-types alone never gets an SJT flag
    # the SJT straight-lining index from the generated ratings, counted directly
    groups = [(0, 3), (3, 5), (5, 8)]
    share = np.array([np.mean([len(set(r[a:b])) == 1 for a, b in groups]) for r in ratings])
    np.testing.assert_array_equal(qb.sjt_straightline, share)
    # and it is not in the rep-types output at all
    assert "sjt_straightline" not in alone.to_dict()["profiles"][0]["quality"]["indices"]
