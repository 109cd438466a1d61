"""Issue 16 item 6 (analysis side): response quality, reliability, multitrait-multimethod,
norms and fit for questionnaires with situational judgment (SJT) items."""

from __future__ import annotations

import csv
import math
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


# --------------------------------------------------------------------------- reliability

# mini-rate keys: s1 (6, 4, 1), s2 (2, 5), s3 (3, 6, 1) on 1..6; the worst squared
# distances per option sum to 25 + 9 + 25 = 59 (s1), 16 + 16 = 32 (s2), 9 + 25 + 25 = 59 (s3)
_RATINGS = {
    "c1": ((6, 4, 1), (2, 5), (3, 6, 1)),  # the key: 1, 1, 1
    "c2": ((5, 4, 2), (3, 4), (4, 5, 2)),  # d = 2, 2, 3
    "c3": ((1, 1, 1), (6, 1), (1, 1, 6)),  # d = 34, 32, 54
    "c4": ((4, 4, 4), (3, 3), (3, 3, 3)),  # d = 13, 5, 13
    "c5": ((6, 3, 2), (1, 6), None),  # d = 2, 2, s3 unanswered
}
_SCEN = {
    "c1": (1.0, 1.0, 1.0),
    "c2": (57 / 59, 30 / 32, 56 / 59),
    "c3": (25 / 59, 0.0, 5 / 59),
    "c4": (46 / 59, 27 / 32, 46 / 59),
    "c5": (57 / 59, 30 / 32, math.nan),
}


def _mini_answers() -> list[dict[str, Any]]:
    out = []
    for cid, scen in _RATINGS.items():
        answers: dict[str, Any] = {}
        for sid, ratings, options in zip(
            ("s1", "s2", "s3"), scen, ("abc", "ab", "abc"), strict=True
        ):
            if ratings is not None:
                answers[sid] = dict(zip(options, ratings, strict=True))
        out.append({"candidate_id": cid, "answers": answers})
    return out


def test_scenario_scores_by_hand() -> None:
    from repprofile._analysis.reliability import scenario_scores

    r = repprofile.score(_mini(), _mini_answers())
    got, what = scenario_scores(r)
    assert "distance" in what
    np.testing.assert_allclose(got, np.array(list(_SCEN.values())), rtol=1e-15, atol=0)


def test_skill_scale_alpha_and_split_half_by_hand() -> None:
    rel = repprofile.reliability(_mini(), _mini_answers())
    s = np.array(list(_SCEN.values()))
    # calm = s1, s2 (all five answered): alpha = 2 (1 - (v1 + v2) / var(s1 + s2))
    v = np.cov(s[:, 0], s[:, 1], ddof=1)
    alpha = 2 * (1 - (v[0, 0] + v[1, 1]) / v.sum())
    calm = rel.scales["calm"]
    assert calm.alpha == pytest.approx(alpha, rel=1e-12)
    assert calm.n_items == 2
    # split-half of calm: s1 against s2, Spearman-Brown 2r / (1 + r)
    r12 = np.corrcoef(s[:, 0], s[:, 1])[0, 1]
    assert calm.split_half_r == pytest.approx(r12, rel=1e-12)
    assert calm.split_half_spearman_brown == pytest.approx(2 * r12 / (1 + r12), rel=1e-12)
    assert calm.split_half_n == 5
    # total = s1, s2, s3: odd half = mean(s1, s3) (c5: s1 alone), even half = s2
    odd = np.array([np.nanmean(row[[0, 2]]) for row in s])
    r_t = np.corrcoef(odd, s[:, 1])[0, 1]
    total = rel.scales["total"]
    assert total.split_half_r == pytest.approx(r_t, rel=1e-12)
    assert total.split_half_spearman_brown == pytest.approx(2 * r_t / (1 + r_t), rel=1e-12)
    assert "heterogeneous" in (total.caveat or "")
    assert list(total.items) == ["s1", "s2", "s3"]
    assert total.items["s3"].n == 4
    # the scale's mean is the mean of the candidates' pomp (0..100)
    pomp = repprofile.score(_mini(), _mini_answers()).pomp[:, 0]
    assert calm.mean == pytest.approx(float(np.mean(pomp)), rel=1e-12)
    # split-half and caveat reach the JSON and the text
    doc = rel.model_dump(mode="json")
    assert doc["scales"]["calm"]["split_half_spearman_brown"] == calm.split_half_spearman_brown
    from repprofile._rendering.text import reliability_text

    text = reliability_text(rel)
    assert "Odd-even scenario split-half" in text
    assert "heterogeneous" in text


def test_split_half_spearman_brown_small_case() -> None:
    from repprofile._analysis.reliability import split_half

    # halves (1, 2, 3, 4) and (1, 3, 2, 4): r = 0.8, r_sb = 1.6 / 1.8
    scores = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0], [4.0, 4.0]])
    r, r_sb, n = split_half(scores)
    assert r == pytest.approx(0.8, rel=1e-15)
    assert r_sb == pytest.approx(1.6 / 1.8, rel=1e-15)
    assert n == 4


def test_likert_reliability_identical_alone_and_with_an_sjt() -> None:
    rows = _batch_rows()[:200]
    rep = repprofile.load_questionnaire("rep-types")
    mixed = _mixed()
    sjt_cols = mixed.item_ids[len(rep.item_ids) :]
    ratings = _sjt_ratings(len(rows), 7)
    mixed_rows = [
        {
            "candidate_id": row["candidate_id"],
            "answers": row["answers"] | dict(zip(sjt_cols, ratings[i].tolist(), strict=True)),
        }
        for i, row in enumerate(rows)
    ]
    alone = repprofile.reliability(rep, rows).model_dump(mode="json")
    both = repprofile.reliability(mixed, mixed_rows).model_dump(mode="json")
    for sid in rep.scale_ids:
        assert both["scales"][sid] == alone["scales"][sid], sid
        assert "split_half_r" not in alone["scales"][sid]
    k = len(rep.scale_ids)
    assert [row[:k] for row in both["scale_correlations"][:k]] == alone["scale_correlations"]
    assert "mtmm" not in alone
    assert both["mtmm"]["types"] == ["accommodator", "controller", "empathizer", "rock"]


# --------------------------------------------------------------------------- MTMM


def test_mtmm_hand_case() -> None:
    q = repprofile.load_questionnaire(DATA / "mini-mtmm.yaml")
    # (r1, r2, c1, c2) self-report; SJT ratings of (s1.a rock, s1.b controller,
    # s2.a controller, s2.b rock). z within person (population SD):
    # (6,1,1,6) -> rock +1, controller -1; (4,3,4,3) -> 0, 0; (6,6,1,1) -> 0, 0
    data = {
        "A": ((5, 5, 1, 1), (6, 1, 1, 6)),  # rock pomp 100, controller 0; SJT +1, -1
        "B": ((1, 1, 5, 5), (1, 6, 6, 1)),  # 0, 100; -1, +1
        "C": ((3, 3, 3, 3), (4, 3, 4, 3)),  # 50, 50; 0, 0
        "D": ((4, 4, 2, 2), (6, 6, 1, 1)),  # 75, 25; 0, 0
        "E": ((2, 3, 4, 5), (5, 2, 2, 5)),  # 37.5, 87.5; +1, -1
    }
    answers = [
        {"candidate_id": cid, "answers": dict(zip(q.item_ids, [*lik, *sjt], strict=True))}
        for cid, (lik, sjt) in data.items()
    ]
    result = repprofile.score(q, answers)
    rel = repprofile.reliability(q, result)
    m = rel.mtmm
    assert m is not None
    assert m.types == ["controller", "rock"]  # in rep-type order
    # rock: x = (100, 0, 50, 75, 37.5), y = (1, -1, 0, 0, 1): Sxy = 85, Sxx = 5750, Syy = 2.8
    r_rock = 85 / math.sqrt(5750 * 2.8)
    # controller: x = (0, 100, 50, 25, 87.5), y = -(rock's y): Sxy = 65, Sxx = 7000, Syy = 2.8
    r_ctl = 65 / math.sqrt(7000 * 2.8)
    assert m.convergent["rock"] == pytest.approx(r_rock, rel=1e-12)
    assert m.convergent["controller"] == pytest.approx(r_ctl, rel=1e-12)
    assert m.r[0][1] == pytest.approx(-r_ctl, rel=1e-12)  # controller self x rock SJT
    assert m.r[1][0] == pytest.approx(-r_rock, rel=1e-12)  # rock self x controller SJT
    assert m.n == [[5, 5], [5, 5]]
    assert m.exceeds_heterotrait == {"controller": True, "rock": True}
    doc = rel.model_dump(mode="json")
    assert doc["mtmm"]["convergent"]["rock"] == m.convergent["rock"]
    from repprofile._rendering.text import reliability_text

    assert "Multitrait-multimethod" in reliability_text(rel)


def test_mtmm_pairwise_complete() -> None:
    from repprofile._analysis.reliability import pairwise_pearson

    x = np.array([[1.0], [2.0], [3.0], [np.nan], [5.0]])
    y = np.array([[2.0, 1.0], [1.0, np.nan], [4.0, 3.0], [3.0, 4.0], [5.0, 5.0]])
    r, n = pairwise_pearson(x, y)
    assert n.tolist() == [[4, 3]]
    assert r[0, 0] == pytest.approx(np.corrcoef([1, 2, 3, 5], [2, 1, 4, 5])[0, 1], rel=1e-12)
    assert r[0, 1] == pytest.approx(np.corrcoef([1, 3, 5], [1, 3, 5])[0, 1], rel=1e-12)


def test_no_mtmm_without_trait_scales() -> None:
    rel = repprofile.reliability(_mini(), _mini_answers())
    assert rel.mtmm is None
    assert "mtmm" not in rel.model_dump(mode="json")


# --------------------------------------------------------------------------- norms, fit


def test_norms_build_with_skill_scales() -> None:
    q = _mini()
    with pytest.warns(repprofile.RepprofileWarning):  # a small norm sample
        table = repprofile.build_norms(q, _mini_answers(), description="test", created="2026-01-01")
    # calm pomp (distance over s1 + s2, worst 59 + 32 = 91): 100 (1 - d / 91)
    calm = 100 * (1 - np.array([0, 4, 66, 18, 4]) / 91)
    assert table.scales["calm"].mean == pytest.approx(calm.mean(), rel=1e-12)
    assert table.scales["calm"].sd == pytest.approx(calm.std(ddof=1), rel=1e-12)
    assert table.quality_reference is None  # no Likert items: nothing to refer D^2 to
    scored = repprofile.score(q, _mini_answers()[:1], norms=table)
    z = scored.to_dict()["profiles"][0]["scales"]["calm"]["z"]
    assert z == pytest.approx((100 - calm.mean()) / calm.std(ddof=1), rel=1e-12)


def test_fit_with_a_role_weighting_skill_scales() -> None:
    q = _mini()
    role = repprofile.load_role(DATA / "mini-rate-role.yaml", questionnaire=q)
    result = repprofile.score(q, _mini_answers()[:4])
    fits = repprofile.fit(result, role)
    # c3: calm pomp 100 (1 - 66/91) = 2500/91, own (s2 + s3, worst 32 + 59 = 91):
    # 100 (1 - 86/91) = 500/91; without norms z = (pomp - 50) / 25; the weights
    # (0.6, 0.8) already have unit length, so C = 0.6 z_calm + 0.8 z_own
    z_calm, z_own = (2500 / 91 - 50) / 25, (500 / 91 - 50) / 25
    c = 0.6 * z_calm + 0.8 * z_own
    assert fits.composite[2] == pytest.approx(c, rel=1e-12)
    assert fits.fit[2] == pytest.approx(100 / (1 + math.exp(-1.702 * c)), rel=1e-12)
    # own 500/91 = 5.5 is below the role's minimum of 40; c2's 100 (1 - 5/91) is not
    assert not fits.meets_minimums[2]
    assert fits.meets_minimums[1]
    # c1 answered exactly as keyed: pomp 100 on both, z = 2, C = 0.6 * 2 + 0.8 * 2
    assert fits.composite[0] == pytest.approx(2.8, rel=1e-12)
    ranking = repprofile.rank(fits)
    assert [r["candidate_id"] for r in ranking["ranking"]] == ["c1", "c2", "c4", "c3"]
    assert ranking["ranking"][3]["failed_minimums"] == ["own"]


def test_quality_text_shows_the_sjt_indices() -> None:
    from repprofile._rendering.text import quality_text

    r = repprofile.score(_mini(), _mini_answers())
    text = quality_text(r)
    assert "SJT_STRAIGHTLINE" in text
    # c4 rated every option of every scenario alike: share 1.00, flagged
    line = next(x for x in text.splitlines() if x.startswith("c4 "))
    assert "1.00" in line
    assert "sjt_straightline" in line
    assert "longstring: not computed: needs Likert items" in text
    rep = quality_text(repprofile.score("rep-types", [{"candidate_id": "x", "answers": {}}]))
    assert "SJT_STRAIGHTLINE" not in rep
