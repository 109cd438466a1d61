"""SJT scoring: every method hand-worked on constructed candidates (issue 16).

The questionnaire ``tests/data/sjt/mini-rate.yaml`` has three ``rate`` scenarios on a
1-6 scale, keys s1 = (6, 4, 1), s2 = (2, 5), s3 = (3, 6, 1); ``calm`` scores s1 and
s2 (five options), ``own`` s2 and s3 (five options), ``total`` all eight options.
Per option the worst squared distance max((k-1)^2, (6-k)^2) is 25, 9, 25 | 16, 16 |
9, 25, 25 and the worst absolute distance 5, 3, 5 | 4, 4 | 3, 5, 5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import repprofile as rp
from repprofile._errors import InputError
from repprofile._formats.questionnaire import SjtMethod

DATA = Path(__file__).parent / "data" / "sjt"
MINI = DATA / "mini-rate.yaml"
KEY: list[float] = [6, 4, 1, 2, 5, 3, 6, 1]
PERFECT = KEY
REVERSED = [7 - k for k in KEY]  # 1, 3, 6, 5, 2, 4, 1, 6
FLAT: list[float] = [3.0] * 8
MIXED: list[float] = [5, 5, 2, 3, 4, 4, 5, 2]
CALM = [0, 1, 2, 3, 4]
OWN = [3, 4, 5, 6, 7]


def _score(rows: Sequence[Sequence[float]], method: SjtMethod) -> rp.ScoreResult:
    return rp.score(str(MINI), np.array(rows, dtype=float), sjt_method=method)


def _col(result: rp.ScoreResult, scale: str) -> int:
    return result.scale_ids.index(scale)


def test_columns_and_counts() -> None:
    q = rp.load_questionnaire(str(MINI))
    assert q.item_ids == ("s1.a", "s1.b", "s1.c", "s2.a", "s2.b", "s3.a", "s3.b", "s3.c")
    assert q.items_per_scale.tolist() == [2, 2, 3]  # scenarios per skill scale
    assert q.min_answered.tolist() == [1, 1, 2]


def test_distance_by_hand() -> None:
    r = _score([PERFECT, REVERSED, FLAT, MIXED], "distance")
    c = _col(r, "calm")
    # reversed, calm: (5^2 + 1 + 5^2) + (3^2 + 3^2) = 69 over 25 + 9 + 25 + 16 + 16 = 91
    # flat, calm: 9 + 1 + 4 + 1 + 4 = 19; mixed, calm: 1 + 1 + 1 + 1 + 1 = 5
    assert r.pomp[:, c] == pytest.approx(
        [100.0, 100 * (1 - 69 / 91), 100 * (1 - 19 / 91), 100 * (1 - 5 / 91)]
    )
    assert r.raw[:, c].tolist() == [0.0, 69.0, 19.0, 5.0]
    t = _col(r, "total")
    # mixed, total: squared distances 1,1,1,1,1,1,1,1 = 8 over 25+9+25+16+16+9+25+25 = 150
    assert r.pomp[3, t] == pytest.approx(100 * (1 - 8 / 150))
    assert r.n_answered[:, t].tolist() == [3, 3, 3, 3]


def test_absolute_by_hand() -> None:
    r = _score([PERFECT, REVERSED, FLAT], "absolute")
    o = _col(r, "own")
    # own = s2 (2, 5) + s3 (3, 6, 1); worst 4 + 4 + 3 + 5 + 5 = 21
    # reversed: |5-2| + |2-5| + |4-3| + |1-6| + |6-1| = 3 + 3 + 1 + 5 + 5 = 17
    # flat: 1 + 2 + 0 + 3 + 2 = 8
    assert r.pomp[:, o] == pytest.approx([100.0, 100 * (1 - 17 / 21), 100 * (1 - 8 / 21)])
    assert r.raw[:, o].tolist() == [0.0, 17.0, 8.0]


def test_standardized_total_is_the_correlation_identity() -> None:
    r = _score([PERFECT, REVERSED, MIXED], "standardized")
    t = _col(r, "total")
    # mixed vs key: deviations from 3.75 and 3.5; sum dx dk = 17, sum dx^2 = 11.5,
    # sum dk^2 = 30, so r_pk = 17 / sqrt(345)
    r_pk = 17 / math.sqrt(11.5 * 30)
    assert r.pomp[:, t] == pytest.approx([100.0, 0.0, 100 * (1 + r_pk) / 2], abs=1e-9)
    # raw is the squared distance of the z profiles: 2 n (1 - r) with n = 8
    assert r.raw[2, t] == pytest.approx(2 * 8 * (1 - r_pk), abs=1e-12)


def test_flat_candidate_gets_null_with_reason() -> None:
    methods: tuple[SjtMethod, ...] = ("standardized", "correlation")
    for method in methods:
        r = _score([FLAT], method)
        assert np.isnan(r.pomp[0]).all()
        p = r.to_dict()["profiles"][0]
        for sid in ("calm", "own", "total"):
            assert p["scales"][sid]["pomp"] is None
            assert "no variance" in p["scales"][sid]["reason"]


def test_correlation_per_scale_by_hand() -> None:
    r = _score([MIXED], "correlation")
    c = _col(r, "calm")
    # calm: x = 5, 5, 2, 3, 4; k = 6, 4, 1, 2, 5; means 3.8 and 3.6
    x = np.array([5, 5, 2, 3, 4.0])
    k = np.array([6, 4, 1, 2, 5.0])
    dx, dk = x - 3.8, k - 3.6
    r_calm = (dx @ dk) / math.sqrt((dx @ dx) * (dk @ dk))
    assert r.raw[0, c] == pytest.approx(r_calm, abs=1e-12)
    assert r.pomp[0, c] == pytest.approx(100 * (1 + r_calm) / 2, abs=1e-12)


def test_missing_options_and_min_answered() -> None:
    row = [6, 4, 1, np.nan, np.nan, 3, 6, 1]  # s2 unanswered
    r = _score([row], "distance")
    assert r.n_answered[0].tolist() == [1, 1, 2]
    assert r.pomp[0].tolist() == [100.0, 100.0, 100.0]
    empty = [np.nan] * 8
    r = _score([empty], "distance")
    assert np.isnan(r.pomp[0]).all()
    assert (
        "only 0 of 2 scenarios answered" in r.to_dict()["profiles"][0]["scales"]["calm"]["reason"]
    )


def test_bad_rating_rejects_only_its_candidate() -> None:
    r = _score([PERFECT, [7, 4, 1, 2, 5, 3, 6, 1], MIXED], "distance")
    assert r.scored.tolist() == [True, False, True]
    (err,) = r.errors
    assert err.candidate_id == "2"
    assert err.item_id == "s1.a"
    assert err.value == 7
    assert "option 'a'" in err.message
    assert "from 1 to 6" in err.message


def test_nested_json_answers() -> None:
    records = [
        {
            "candidate_id": "ana",
            "answers": {
                "s1": {"a": 6, "b": 4, "c": 1},
                "s2": {"a": 2, "b": 5},
                "s3.a": 3,
                "s3.b": 6,
            },
        },
        {"candidate_id": "bo", "answers": {"s1": {"a": 6, "x": 2}}},
        {"candidate_id": "cy", "answers": {"s1": 4}},
    ]
    r = rp.score(str(MINI), records, sjt_method="distance")
    assert r.scored.tolist() == [True, False, False]
    assert r.pomp[0].tolist() == [100.0, 100.0, 100.0]
    msgs = {e.candidate_id: e.message for e in r.errors}
    assert "no answer 'x'" in msgs["bo"]
    assert "['a', 'b', 'c']" in msgs["bo"]
    assert "is a scenario" in msgs["cy"]


def test_method_must_fit_the_format() -> None:
    with pytest.raises(InputError, match="most_least"):
        _score([PERFECT], "most_least")
    with pytest.raises(InputError, match="SME key"):
        _score([PERFECT], "mode")


def test_default_method_and_provenance() -> None:
    r = rp.score(str(MINI), np.array([MIXED], dtype=float))
    assert r.provenance.sjt_method == "distance"  # the file's sjt.method
    doc = r.to_dict()
    assert doc["provenance"]["sjt_method"] == "distance"
    assert doc["provenance"]["sjt_key_draft"] is False
    rep = rp.score("rep-types", {"ctl01": 5, "ctl02": 4}).to_dict()
    assert "sjt_method" not in rep["provenance"]  # Likert-only documents are unchanged


def test_most_least_by_hand(tmp_path: Path) -> None:
    # keyed most/least: m1 a/c, m2 b/a
    r = rp.score(str(DATA / "mini-most-least.yaml"), str(DATA / "mini-most-least.csv"))
    t = r.scale_ids.index("total")
    # x: +2 +2 = 4 over n = 2: 100 (4 + 4) / 8 = 100; y: -2 -2: 0
    # w: m1 has no least (unanswered); m2 most c (0) least a (+1): 100 (1 + 2) / 4 = 75
    assert r.pomp[:, t].tolist()[:2] == [100.0, 0.0]
    assert r.pomp[3, t] == 75.0
    assert r.n_answered[3, t] == 1
    assert not r.scored[2]  # most == least, and an unknown option id
    assert {e.item_id for e in r.errors} == {"m1.least", "m2.least"}


def test_best_by_hand() -> None:
    q = rp.load_questionnaire(str(DATA / "mini-best.yaml"))
    r = rp.score(q, [{"candidate_id": "a", "answers": {"b1": {"best": "a"}, "b2": {"best": "a"}}}])
    # keyed best: b1 a, b2 b -> 1 of 2
    assert r.pomp[0, r.scale_ids.index("total")] == 50.0
    assert r.raw[0, r.scale_ids.index("total")] == 1.0


def test_type_preference_rate() -> None:
    r = _score([MIXED], "distance")
    pref = r.sjt_type_preference
    assert pref is not None
    # z of MIXED over all eight ratings: mean 3.75, population SD sqrt(11.5 / 8)
    z = (np.array(MIXED, dtype=float) - 3.75) / math.sqrt(11.5 / 8)
    # rock options: s1.a, s2.b, s3.c
    assert pref[0, r.sjt_type_ids.index("rock")] == pytest.approx((z[0] + z[4] + z[7]) / 3)
    assert pref[0, r.sjt_type_ids.index("controller")] == pytest.approx((z[1] + z[5]) / 2)
    assert np.isnan(pref[0, r.sjt_type_ids.index("innovator")])  # no innovator options


def test_likert_scores_unchanged_in_a_mixed_questionnaire(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        'id: mixed\nversion: "1"\ntitle: Mixed\ninclude: [rep-types, ' + str(MINI) + "]\n"
    )
    q = rp.load_questionnaire(str(mixed))
    assert q.included == ["rep-types 1.1.0", "sjt-mini 0.1.0"]
    rng = np.random.default_rng(1)
    alone = rp.load_questionnaire("rep-types")
    likert = rng.integers(1, 6, size=(40, len(alone.item_ids))).astype(float)
    sjt = rng.integers(1, 7, size=(40, 8)).astype(float)
    both = rp.score(q, np.hstack([likert, sjt]))
    ref = rp.score(alone, likert)
    cols = [both.scale_ids.index(s) for s in ref.scale_ids]
    assert np.array_equal(both.pomp[:, cols], ref.pomp, equal_nan=True)
    assert np.array_equal(both.raw[:, cols], ref.raw, equal_nan=True)
    assert list(both.primary_type) == list(ref.primary_type)


def test_include_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    twice = tmp_path / "twice.yaml"
    twice.write_text('id: twice\nversion: "1"\ntitle: T\ninclude: [' + f"{MINI}, {MINI}]\n")
    with pytest.raises(
        rp.QuestionnaireError, match=r"defined in both .*mini-rate.yaml and .*mini-rate.yaml"
    ):
        rp.load_questionnaire(str(twice))


def _bundled_answers(n: int, seed: int) -> tuple[rp.Questionnaire, np.ndarray]:
    """Ratings of the bundled test with missing options, whole missing scenarios,
    flat candidates, one out-of-scale and one fractional rating."""
    q = rp.load_questionnaire("service-recovery")
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 7, size=(n, len(q.item_ids))).astype(np.float64)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[:7] = 4.0  # flat
    x[7:20, :15] = np.nan  # scenarios sr01-sr03 unanswered
    x[20] = np.nan
    x[21, 3] = 7.0
    x[22, 8] = 2.5
    return q, x


@pytest.mark.parametrize("method", ["distance", "absolute", "standardized", "correlation"])
def test_float32_and_float64_give_identical_scores_and_leave_the_input(method: str) -> None:
    q, x64 = _bundled_answers(4500, 16)  # more rows than one block
    x32 = x64.astype(np.float32)
    before64, before32 = x64.copy(), x32.copy()
    r64 = rp.score(q, x64, sjt_method=method)  # type: ignore[arg-type]
    r32 = rp.score(q, x32, sjt_method=method)  # type: ignore[arg-type]
    assert np.array_equal(x64, before64, equal_nan=True)
    assert np.array_equal(x32, before32, equal_nan=True)
    assert np.array_equal(r64.pomp, r32.pomp, equal_nan=True)
    assert np.array_equal(r64.raw, r32.raw, equal_nan=True)
    assert np.array_equal(r64.n_answered, r32.n_answered)
    assert r64.scored.tolist() == r32.scored.tolist()
    assert np.flatnonzero(~r64.scored).tolist() == [21, 22]
    assert np.isnan(r64.pomp[20]).all()


def _reference(x: np.ndarray, q: rp.Questionnaire, method: str) -> np.ndarray:
    """pomp per candidate and scale from the formulas of docs/sjt.md, one candidate
    at a time over the answered options (independent of the vectorised engine)."""
    key = np.array([o.key for it in q.sjt_items for o in it.options], dtype=float)
    scen = np.repeat(np.arange(len(q.sjt_items)), [len(it.options) for it in q.sjt_items])
    lo, hi = 1.0, 6.0
    out = np.full((x.shape[0], len(q.scale_ids)), np.nan)
    for i, row in enumerate(x):
        ok = ~np.isnan(row)
        zr = (row - row[ok].mean()) / row[ok].std()
        zk = (key - key[ok].mean()) / key[ok].std()
        for j, sid in enumerate(q.scale_ids):
            scale = q.scales[j]
            member = np.array([scale.total or sid in q.sjt_items[t].competencies for t in scen])
            a = ok & member
            r, k = row[a], key[a]
            if method == "distance":
                worst = np.maximum((k - lo) ** 2, (hi - k) ** 2).sum()
                out[i, j] = 100 * (1 - ((r - k) ** 2).sum() / worst)
            elif method == "absolute":
                out[i, j] = 100 * (1 - np.abs(r - k).sum() / np.maximum(k - lo, hi - k).sum())
            elif method == "standardized":
                d = ((zr[a] - zk[a]) ** 2).sum()
                out[i, j] = min(100.0, max(0.0, 100 * (1 - d / (4 * a.sum()))))
            else:
                out[i, j] = 100 * (1 + np.corrcoef(r, k)[0, 1]) / 2
    return out


@pytest.mark.parametrize("method", ["distance", "absolute", "standardized", "correlation"])
def test_missing_options_match_a_per_candidate_reference(method: str) -> None:
    q, x = _bundled_answers(60, 3)
    rows = np.arange(23, 60)  # candidates with varied ratings and scattered missing options
    r = rp.score(q, x[rows], sjt_method=method)  # type: ignore[arg-type]
    assert np.isnan(x[rows]).any()
    np.testing.assert_allclose(r.pomp, _reference(x[rows], q, method), rtol=0, atol=1e-9)
