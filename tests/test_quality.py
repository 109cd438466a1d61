"""Response quality: hand-worked index values, flags, thresholds and reference samples.

Every expected number is worked out by hand in a comment, or recomputed here with
plain Python / numpy from its textbook definition (never with repprofile's own code).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from numpy.typing import NDArray
from scipy.stats import chi2

import repprofile
from repprofile import NormTable, QualitySettings, build_norms
from repprofile._analysis.simulate import simulate_answers
from repprofile._formats.norms import QualityReference
from repprofile.stats import even_odd, irv, longstring, mahalanobis_d2, mahalanobis_p, psychsyn

Array = NDArray[np.float64]
NAN = math.nan

# The default reason of an unavailable sample-based index (QualityResult).
NEEDS_REFERENCE = (
    "needs a reference sample: a batch of at least 30 candidates, "
    "or a norm table built with this version of repprofile"
)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def rep() -> repprofile.Questionnaire:
    q = repprofile.load_questionnaire("rep-types")
    assert q.version == "1.1.0"
    return q


def sim(q: repprofile.Questionnaire, n: int, *, seed: int) -> Array:
    """Simulated answers (float64) of n candidates."""
    x, _ = simulate_answers(q, n, seed=seed)
    return np.asarray(x, dtype=np.float64)


def runs(row: list[float]) -> list[int]:
    """Run lengths of identical consecutive answers; a missing answer is its own run."""
    out: list[int] = []
    prev: float | None = None
    for v in row:
        if out and prev is not None and not math.isnan(v) and v == prev:
            out[-1] += 1
        else:
            out.append(1)
        prev = None if math.isnan(v) else v
    return out


def answers_sd(row: list[float]) -> float:
    """Sample SD (n - 1) of the answered values."""
    vals = [v for v in row if not math.isnan(v)]
    return statistics.stdev(vals) if len(vals) >= 2 else NAN


def clean_by_hand(x: Array, longstring_max: int, irv_min: float) -> NDArray[np.bool_]:
    """Rows no sample-free index flags, computed with the plain helpers above."""
    return np.array(
        [
            max(runs(r)) <= longstring_max and answers_sd(r) >= irv_min
            for r in x.astype(np.float64).tolist()
        ]
    )


LEVELS = {  # keyed answer of a perfectly consistent candidate, per scale
    "accommodator": 2,
    "competitor": 4,
    "controller": 3,
    "empathizer": 5,
    "hard_worker": 1,
    "innovator": 4,
    "rock": 2,
    "impression": 2,
}


def consistent(
    q: repprofile.Questionnaire, levels: dict[str, int] | None = None
) -> dict[str, float]:
    """A candidate who gives every item of a scale the same keyed answer (1-5 scale),
    reverse-keyed items as 6 - level, and every check item its first expected answer."""
    lv = LEVELS if levels is None else levels
    out: dict[str, float] = {}
    for item in q.likert_items:
        if item.scale is None:
            assert item.expected is not None
            out[item.id] = float(item.expected[0])
        else:
            level = lv[item.scale]
            out[item.id] = float(level if item.keyed == 1 else 6 - level)
    return out


def one(
    q: repprofile.Questionnaire | str | Path,
    answers: dict[str, float],
    quality: dict[str, Any] | QualitySettings | None = None,
    **extra: Any,
) -> tuple[repprofile.ScoreResult, repprofile.Profile]:
    """Score one candidate ("c1") given as a record; return the result and its profile."""
    questionnaire = (
        q if isinstance(q, repprofile.Questionnaire) else repprofile.load_questionnaire(q)
    )
    result = repprofile.score(
        questionnaire, [{"candidate_id": "c1", "answers": answers, **extra}], quality=quality
    )
    assert result.errors == []
    (profile,) = result.profiles()
    assert profile.quality is not None
    return result, profile


def flag_summary(profile: repprofile.Profile) -> list[tuple[str, float | None, float]]:
    assert profile.quality is not None
    return [(f.index, f.value, f.threshold) for f in profile.quality.flags]


def records(
    q: repprofile.Questionnaire, x: Array, prefix: str, seconds: float | None = None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, row in enumerate(x.tolist()):
        rec: dict[str, Any] = {
            "candidate_id": f"{prefix}{i}",
            "answers": {
                iid: (None if math.isnan(v) else v) for iid, v in zip(q.item_ids, row, strict=True)
            },
        }
        if seconds is not None:
            rec["seconds"] = seconds
        out.append(rec)
    return out


def mini(quality: dict[str, Any] | None = None) -> dict[str, Any]:
    """A small questionnaire: 3 trait scales and a validity scale of 2 items, then an
    attention check (expected 2) and an infrequency item (expected 1 or 2)."""
    items: list[dict[str, Any]] = [
        {"id": f"{s}{k}", "text": f"{s} {k}", "scale": s} for s in "abc" for k in (1, 2)
    ]
    items += [{"id": f"i{k}", "text": f"imp {k}", "scale": "imp"} for k in (1, 2)]
    items += [
        {"id": "chk", "text": "Answer 2.", "kind": "attention_check", "expected": [2]},
        {"id": "inf", "text": "I never slept.", "kind": "infrequency", "expected": [1, 2]},
    ]
    data: dict[str, Any] = {
        "id": "mini",
        "version": "1.0.0",
        "title": "Mini",
        "response_scale": {"min": 1, "max": 5},
        "scales": [
            {"id": "a", "name": "A"},
            {"id": "b", "name": "B"},
            {"id": "c", "name": "C"},
            {"id": "imp", "name": "Impression", "kind": "validity"},
        ],
        "items": items,
    }
    if quality is not None:
        data["quality"] = quality
    return data


MINI_IDS = ["a1", "a2", "b1", "b2", "c1", "c2", "i1", "i2", "chk", "inf"]
# even-odd 0: odd halves (a1, b1, c1, i1) = 1,3,1,3; even halves (a2, b2, c2, i2) =
# 1,1,3,3; deviations (-1,1,-1,1) and (-1,-1,1,1) have sum of products 0 -> r = 0,
# 2r/(1+r) = 0. Longest run 3 (c2, i1, i2), impression pomp 50, checks passed.
MINI_EO_ZERO = dict(zip(MINI_IDS, [1.0, 1, 3, 1, 1, 3, 3, 3, 2, 1], strict=True))
# even-odd 2/3: odd = 1,2,3,2, even = 1,3,2,2 (both mean 2); deviations (-1,0,1,0) and
# (-1,1,0,0): sum of products 1, sums of squares 2 and 2 -> r = 1/2, 2r/(1+r) = 2/3.
MINI_EO_TWO_THIRDS = dict(zip(MINI_IDS, [1.0, 1, 2, 3, 3, 2, 2, 2, 2, 1], strict=True))


def write_mini(tmp_path: Path, quality: dict[str, Any] | None) -> Path:
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(mini(quality)), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- longstring


def test_longstring_runs_with_a_missing_answer() -> None:
    # [1,1,1,2,2,NaN,2]: runs 3 (1s), 2 (2s), 1 (NaN), 1 (2) -> longest 3, mean 7/4.
    # [5,5,5,5]: one run of 4. [1,2,1,2]: four runs of 1.
    # [3,NaN,3]: NaN breaks the run -> runs 1,1,1 (R's rle never joins around NA).
    x = np.array(
        [
            [1, 1, 1, 2, 2, NAN, 2],
            [5, 5, 5, 5, NAN, NAN, NAN],
            [1, 2, 1, 2, 1, 2, 1],
            [3, NAN, 3, 4, 4, 4, 4],
        ]
    )
    longest, mean_run = longstring(x)
    # Row 2: 5,5,5,5 then three NaN runs -> runs 4,1,1,1: longest 4, mean 7/4.
    # Row 3: seven runs of 1. Row 4: runs 1,1,1,4 -> longest 4, mean 7/4.
    assert longest.tolist() == [3.0, 4.0, 1.0, 4.0]
    assert mean_run.tolist() == [7 / 4, 7 / 4, 1.0, 7 / 4]
    for r, (lg, mr) in zip(x.tolist(), zip(longest, mean_run, strict=True), strict=True):
        assert lg == max(runs(r))
        assert mr == len(r) / len(runs(r))


def test_longstring_all_missing_row_counts_each_missing_answer_as_a_run() -> None:
    # rle(c(NA, NA, NA, NA)) has lengths 1,1,1,1: longest 1, mean 4/4 = 1.
    longest, mean_run = longstring(np.full((1, 4), NAN))
    assert longest.tolist() == [1.0]
    assert mean_run.tolist() == [1.0]


def test_longstring_of_no_rows_or_no_items_is_empty_or_nan() -> None:
    longest, mean_run = longstring(np.empty((0, 5)))
    assert longest.shape == mean_run.shape == (0,)
    longest, mean_run = longstring(np.empty((2, 0)))
    assert np.isnan(longest).all()
    assert np.isnan(mean_run).all()


# --------------------------------------------------------------------------- irv


def test_irv_hand_values_and_fewer_than_two_answers() -> None:
    x = np.array(
        [
            [1, 3, NAN, NAN],  # mean 2, squares 1 + 1, /1 -> sqrt(2)
            [1, 2, 3, 4],  # mean 2.5, squares 2.25+0.25+0.25+2.25 = 5, /3 -> sqrt(5/3)
            [4, 4, 4, 4],  # no variation -> 0
            [3, NAN, NAN, NAN],  # one answer -> NaN
            [NAN, NAN, NAN, NAN],  # no answer -> NaN
        ]
    )
    got = irv(x)
    np.testing.assert_allclose(got[:3], [math.sqrt(2), math.sqrt(5 / 3), 0.0], rtol=1e-15)
    assert np.isnan(got[3:]).all()


# --------------------------------------------------------------------------- mahalanobis


def test_mahalanobis_d2_hand_values() -> None:
    means = np.array([0.0, 0.0])
    cov = np.array([[1.0, 0.0], [0.0, 4.0]])
    x = np.array([[1.0, 2.0], [1.0, NAN], [NAN, NAN]])
    d2, p = mahalanobis_d2(x, means, cov)
    # [1, 2]: 1^2/1 + 2^2/4 = 2; chi-square sf with 2 df is exp(-x/2) -> exp(-1).
    # [1, NaN]: the missing deviation counts as 0 -> 1; p = exp(-1/2). No answer: NaN.
    assert d2[:2].tolist() == [2.0, 1.0]
    np.testing.assert_allclose(p[:2], [math.exp(-1.0), math.exp(-0.5)], rtol=1e-12)
    assert np.isnan(d2[2])
    assert np.isnan(p[2])
    # Correlated: S = [[1, .5], [.5, 1]], S^-1 = [[1, -.5], [-.5, 1]] / 0.75;
    # d = [1, 1] -> (1 - .5 - .5 + 1) / 0.75 = 4/3.
    d2c, _ = mahalanobis_d2(np.array([[1.0, 1.0]]), means, np.array([[1.0, 0.5], [0.5, 1.0]]))
    assert d2c[0] == pytest.approx(4 / 3, rel=1e-14)


def test_mahalanobis_p_closed_forms_for_two_variables() -> None:
    # p = 2 variables, reference n = 7.
    # norms: D^2 n(n-p)/((n^2-1)p) = D^2 * 35/96 ~ F(2, 5), whose survival function is
    # (1 + 2f/5)^(-5/2). D^2 = 48/7 -> f = 48/7 * 35/96 = 2.5 -> (1 + 1)^(-2.5).
    assert mahalanobis_p([48 / 7], 2, 7, "norms")[0] == pytest.approx(2**-2.5, rel=1e-12)
    # batch: D^2 n/(n-1)^2 = D^2 * 7/36 ~ Beta(1, 2), survival (1 - u)^2.
    # D^2 = 18/7 -> u = 0.5 -> 0.25; D^2 at its bound (n-1)^2/n = 36/7 -> u = 1 -> 0.
    np.testing.assert_allclose(
        mahalanobis_p(np.array([18 / 7, 36 / 7, 0.0]), 2, 7, "batch"), [0.25, 0.0, 1.0], atol=1e-14
    )
    # chisq: exp(-D^2 / 2) with 2 df, n unused.
    assert mahalanobis_p([2.0], 2, None, "chisq")[0] == pytest.approx(math.exp(-1.0), rel=1e-12)


def test_mahalanobis_p_against_scipy_distributions() -> None:
    from scipy.stats import beta, f

    d2 = np.array([[40.0, 77.0], [120.0, NAN]])
    p, n = 77, 200
    # Hotelling's T^2 for a new observation (Tracy, Young & Mason 1992), written out.
    fstat = d2 * n * (n - p) / ((n**2 - 1) * p)
    np.testing.assert_allclose(mahalanobis_p(d2, p, n, "norms"), f.sf(fstat, p, n - p), rtol=1e-10)
    # A member of the reference sample (Gnanadesikan & Kettenring 1972), written out.
    u = d2 * n / (n - 1) ** 2
    np.testing.assert_allclose(
        mahalanobis_p(d2, p, n, "batch"), beta.sf(u, p / 2, (n - p - 1) / 2), rtol=1e-10
    )
    np.testing.assert_allclose(mahalanobis_p(d2, p, n, "chisq"), chi2.sf(d2, p), rtol=1e-10)
    assert mahalanobis_p(d2, p, n, "norms").shape == (2, 2)
    assert np.isnan(mahalanobis_p(d2, p, n, "batch")[1, 1])
    # A new observation is farther out by chance than chi-square allows: its p is larger
    # (chi-square flags too often); a member of the sample is nearer (chi-square too few).
    assert mahalanobis_p([120.0], p, n, "norms")[0] > chi2.sf(120.0, p) * 10
    assert mahalanobis_p([120.0], p, n, "batch")[0] < chi2.sf(120.0, p)


def test_mahalanobis_p_refuses_too_small_a_reference() -> None:
    with pytest.raises(ValueError, match="more than 77 people for 77 variables, got n = 77"):
        mahalanobis_p([1.0], 77, 77, "norms")
    with pytest.raises(ValueError, match="more than 78 people for 77 variables, got n = 78"):
        mahalanobis_p([1.0], 77, 78, "batch")
    with pytest.raises(ValueError, match="got n = None"):
        mahalanobis_p([1.0], 3, None, "norms")
    with pytest.raises(ValueError, match="expected reference 'norms', 'batch' or 'chisq'"):
        mahalanobis_p([1.0], 3, 10, "beta")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- even-odd


def test_even_odd_consistent_respondent_is_one() -> None:
    # Three scales of 2 items: odd (1st) halves 1,3,5 = even (2nd) halves -> r = 1.
    scale_index = np.array([0, 0, 1, 1, 2, 2], dtype=np.intp)
    got = even_odd(np.array([[1.0, 1, 3, 3, 5, 5]]), scale_index, np.ones(6))
    assert got[0] == pytest.approx(1.0, abs=1e-15)


def test_even_odd_spearman_brown_and_lower_bound() -> None:
    scale_index = np.array([0, 0, 1, 1, 2, 2], dtype=np.intp)
    x = np.array(
        [
            # odd 1,2,3; even 1,3,2: r = 1/2 (see MINI_EO_TWO_THIRDS) -> 2(.5)/1.5 = 2/3
            [1.0, 1, 2, 3, 3, 2],
            # odd 1,2,3; even 2,3,1: deviations (-1,0,1), (0,1,-1): r = -1/2,
            # 2r/(1+r) = -1/0.5 = -2 -> bounded at -1
            [1.0, 2, 2, 3, 3, 1],
            # odd 1,2,3; even 3,2,1: r = -1 -> 2r/(1+r) = -inf -> bounded at -1
            [1.0, 3, 2, 2, 3, 1],
            # all halves 3: no variance -> NaN
            [3.0, 3, 3, 3, 3, 3],
            # only scale 0 has both halves -> fewer than 2 scales -> NaN
            [1.0, 2, 3, NAN, NAN, 4],
        ]
    )
    got = even_odd(x, scale_index, np.ones(6))
    assert got[0] == pytest.approx(2 / 3, rel=1e-14)
    assert got[1:3].tolist() == [-1.0, -1.0]
    assert np.isnan(got[3:]).all()


def test_even_odd_uses_the_keys_signs() -> None:
    # Each scale's 2nd item reverse keyed. Raw [1,5,3,3,5,1]: unkeyed, odd 1,3,5 and
    # even 5,3,1 -> r = -1 -> -1. Keyed (x * sign): even -5,-3,-1 -> r = +1 -> 1.
    scale_index = np.array([0, 0, 1, 1, 2, 2], dtype=np.intp)
    x = np.array([[1.0, 5, 3, 3, 5, 1]])
    assert even_odd(x, scale_index, np.ones(6))[0] == -1.0
    signs = np.array([1.0, -1, 1, -1, 1, -1])
    assert even_odd(x, scale_index, signs)[0] == pytest.approx(1.0, abs=1e-15)


EVEN_ODD_KEYING_BUG = (
    "BUG: even_odd keys answers as x * sign (3 -> -3) instead of reversing them "
    "(min + max - x), so a half mean mixes +x and -x and depends on where each scale's "
    "reverse-keyed items sit: consistent or straight-lined answers get wrong values"
)


def test_even_odd_of_a_consistent_rep_types_candidate_is_one(
    rep: repprofile.Questionnaire,
) -> None:
    # Every scale's keyed answers equal its level, so keyed odd and even half means
    # are the 8 levels (2,4,3,5,1,4,2,2) on both sides -> r = 1 -> 1.0, though 23
    # reverse-keyed items make the raw answers disagree within scales.
    _, profile = one(rep, consistent(rep))
    assert profile.quality is not None
    assert profile.quality.indices["even_odd"] == pytest.approx(1.0, abs=1e-12)


def test_even_odd_of_a_straight_liner_is_undefined(rep: repprofile.Questionnaire) -> None:
    # 80 answers of 3: reverse keying gives 6 - 3 = 3, so every half mean is 3; with no
    # variance the correlation is undefined (null) and even-odd flags nothing.
    _, profile = one(rep, dict.fromkeys(rep.item_ids, 3.0))
    assert profile.quality is not None
    assert profile.quality.indices["even_odd"] is None
    assert "even_odd" not in [f.index for f in profile.quality.flags]


# --------------------------------------------------------------------------- psychsyn


def test_psychsyn_needs_three_answered_pairs() -> None:
    pairs = np.array([[1, 0], [3, 2], [5, 4], [7, 6]], dtype=np.intp)
    x = np.array(
        [
            # first items (cols 1,3,5) = 1,2,5, second (cols 0,2,4) = 1,3,5; pair 4 missing.
            # means 8/3 and 3: Sab = 8, Saa = 26/3, Sbb = 8 -> r = sqrt(8*3/26) = sqrt(12/13)
            [1.0, 1, 3, 2, 5, 5, NAN, NAN],
            # only 2 pairs answered (col 4 missing, col 7 missing) -> NaN
            [1.0, 1, 3, 2, NAN, 5, 4, NAN],
            # 4 pairs, identical within pairs: (1,1),(3,3),(5,5),(2,2) -> r = 1
            [1.0, 1, 3, 3, 5, 5, 2, 2],
            # no variance on one side -> NaN
            [1.0, 4, 3, 4, 5, 4, 2, 4],
        ]
    )
    got = psychsyn(x, pairs)
    assert got[0] == pytest.approx(math.sqrt(12 / 13), rel=1e-14)
    assert np.isnan(got[1])
    assert got[2] == pytest.approx(1.0, abs=1e-15)
    assert np.isnan(got[3])
    # No pairs at all: NaN for every row.
    assert np.isnan(psychsyn(x, np.empty((0, 2), dtype=np.intp))).all()


# --------------------------------------------------------------------------- check items


def test_consistent_candidate_has_no_flags_and_hand_scores(rep: repprofile.Questionnaire) -> None:
    answers = consistent(rep)
    row = [answers[i] for i in rep.item_ids]
    result, profile = one(rep, answers)
    assert profile.quality is not None
    idx = profile.quality.indices
    assert idx["longstring"] == max(runs(row))
    assert idx["longstring_avg"] == pytest.approx(80 / len(runs(row)), rel=1e-14)
    assert idx["irv"] == pytest.approx(answers_sd(row), rel=1e-12)
    assert idx["attention_failures"] == 0.0
    assert idx["seconds_per_item"] is None  # no time given
    assert idx["impression_pomp"] == 25.0  # keyed mean 2: 100 (2 - 1) / 4
    assert profile.quality.flags == []
    assert profile.quality.valid is True
    for sid, level in LEVELS.items():
        assert profile.scales[sid].mean == level
        assert profile.scales[sid].pomp == 25.0 * (level - 1)
    assert result.n_answered[0].tolist() == [10] * 7 + [7]


def test_check_items_are_scored_on_no_scale(rep: repprofile.Questionnaire) -> None:
    base = consistent(rep)
    other = {**base, "att01": 5.0, "att02": 1.0, "inf01": 4.0}
    missing = {k: v for k, v in base.items() if k not in ("att01", "att02", "inf01")}
    results = [repprofile.score(rep, a) for a in (base, other, missing)]
    for r in results[1:]:
        assert np.array_equal(r.raw, results[0].raw)
        assert np.array_equal(r.pomp, results[0].pomp)
        assert np.array_equal(r.n_answered, results[0].n_answered)
    # 10 items per trait scale, 7 impression items: check items count nowhere.
    assert results[2].n_answered[0].tolist() == [10] * 7 + [7]
    assert rep.item_scale_index[[23, 52, 75]].tolist() == [-1, -1, -1]
    assert [rep.item_ids[i] for i in rep.check_items] == ["att01", "inf01", "att02"]


@pytest.mark.parametrize(
    ("change", "failures"),
    [
        ({}, 0),
        ({"att01": 3.0}, 1),  # expected [2]
        ({"att02": 4.0}, 1),  # expected [5]
        ({"inf01": 2.0}, 0),  # expected [1, 2]: 2 passes
        ({"inf01": 3.0}, 1),
        ({"att01": 1.0, "att02": 4.0, "inf01": 5.0}, 3),
        ({"att01": None}, 0),  # a skipped check item is not a failure
        ({"att01": None, "att02": None, "inf01": None}, 0),
        ({"att01": None, "inf01": 4.0}, 1),
    ],
)
def test_attention_failures_count_answered_wrong_answers(
    rep: repprofile.Questionnaire, change: dict[str, float | None], failures: int
) -> None:
    answers: dict[str, Any] = {**consistent(rep), **change}
    _, profile = one(rep, answers)
    assert profile.quality is not None
    assert profile.quality.indices["attention_failures"] == float(failures)
    if failures == 0:
        assert profile.quality.flags == []
        assert profile.quality.valid is True
    else:
        (flag,) = profile.quality.flags
        assert (flag.index, flag.value, flag.threshold) == (
            "attention_failures",
            float(failures),
            0.0,
        )
        assert flag.reason == (
            f"failed {failures} attention/infrequency item(s): answers may not have been read"
        )
        assert profile.quality.valid is False
    # Flagged or not, the candidate is scored.
    assert profile.scales["empathizer"].mean == 5.0


def test_attention_failures_max_is_the_allowance(rep: repprofile.Questionnaire) -> None:
    one_wrong = {**consistent(rep), "att01": 4.0}
    two_wrong = {**one_wrong, "att02": 1.0}
    _, p1 = one(rep, one_wrong, quality={"attention_failures_max": 1})
    assert flag_summary(p1) == []
    _, p2 = one(rep, two_wrong, quality={"attention_failures_max": 1})
    assert flag_summary(p2) == [("attention_failures", 2.0, 1.0)]


# --------------------------------------------------------------------------- response time


@pytest.mark.parametrize(
    ("extra", "per_item", "flagged"),
    [
        ({"seconds": 100}, 100 / 80, True),  # 1.25 s per item < 2.0
        ({"seconds": 160}, 2.0, False),  # exactly 2.0 is not below 2.0
        ({"seconds": 200.0}, 2.5, False),
        ({"item_seconds": {"acc01": 50, "cmp01": 30.5}}, 80.5 / 80, True),  # summed
        ({"item_seconds": {"acc01": 100, "cmp01": 100, "ctl01": 40}}, 3.0, False),
    ],
)
def test_seconds_per_item_from_records(
    rep: repprofile.Questionnaire, extra: dict[str, Any], per_item: float, flagged: bool
) -> None:
    _, profile = one(rep, consistent(rep), **extra)
    assert profile.quality is not None
    assert profile.quality.indices["seconds_per_item"] == pytest.approx(per_item, rel=1e-14)
    if flagged:
        (flag,) = profile.quality.flags
        assert flag.index == "seconds_per_item"
        assert flag.threshold == 2.0
        assert flag.value == pytest.approx(per_item, rel=1e-14)
        assert flag.reason == (
            f"{per_item:.3g} seconds per item, under 2.0: too fast to read the items"
        )
        assert profile.quality.valid is False
    else:
        assert profile.quality.flags == []


def test_seconds_per_item_divides_by_answered_items(rep: repprofile.Questionnaire) -> None:
    answers = consistent(rep)
    skipped = [i for i in rep.item_ids if i.endswith(("09", "10"))]  # 2 per trait scale
    assert len(skipped) == 14
    for i in skipped:
        answers[i] = NAN
    # 80 - 14 = 66 answered; 99 s / 66 = 1.5 s per item.
    _, profile = one(rep, answers, seconds=99)
    assert profile.quality is not None
    assert profile.quality.indices["seconds_per_item"] == 1.5
    assert flag_summary(profile) == [("seconds_per_item", 1.5, 2.0)]


def test_seconds_threshold_is_configurable(rep: repprofile.Questionnaire) -> None:
    # 200 s / 80 = 2.5 s per item: fine at 2.0, too fast at 3.0.
    _, profile = one(rep, consistent(rep), quality={"seconds_per_item_min": 3.0}, seconds=200)
    assert flag_summary(profile) == [("seconds_per_item", 2.5, 3.0)]
    assert profile.quality is not None
    assert "under 3.0" in profile.quality.flags[0].reason


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"seconds": -5}, "'seconds' must be a non-negative number, got -5 instead"),
        ({"seconds": "fast"}, "'seconds' must be a non-negative number, got 'fast' instead"),
        ({"seconds": True}, "'seconds' must be a non-negative number, got True instead"),
        ({"seconds": math.inf}, "'seconds' must be a non-negative number, got inf instead"),
        ({"item_seconds": {"acc01": -1}}, "'item_seconds' must hold non-negative numbers"),
        ({"item_seconds": {"acc01": "x"}}, "'item_seconds' must hold non-negative numbers"),
        ({"item_seconds": [3, 4]}, "'item_seconds' must map item ids to seconds, got list"),
    ],
)
def test_bad_seconds_reject_only_that_candidate(
    rep: repprofile.Questionnaire, extra: dict[str, Any], message: str
) -> None:
    good = {"candidate_id": "ok", "answers": consistent(rep), "seconds": 400}
    bad = {"candidate_id": "bad", "answers": consistent(rep), **extra}
    result = repprofile.score(rep, [good, bad])
    assert result.scored.tolist() == [True, False]
    (error,) = result.errors
    assert error.candidate_id == "bad"
    assert error.message.startswith(message)
    (profile,) = result.profiles()
    assert profile.candidate_id == "ok"
    assert profile.quality is not None
    assert profile.quality.indices["seconds_per_item"] == 5.0  # 400 / 80


def test_seconds_column_of_a_csv_file(rep: repprofile.Questionnaire, tmp_path: Path) -> None:
    answers = consistent(rep)
    path = tmp_path / "answers.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["candidate_id", *rep.item_ids, "seconds"])
        for cid, sec in [("fast", "100"), ("slow", "200"), ("unknown", ""), ("neg", "-3")]:
            w.writerow([cid, *(str(int(answers[i])) for i in rep.item_ids), sec])
        w.writerow(["text", *(str(int(answers[i])) for i in rep.item_ids), "abc"])
    result = repprofile.score(rep, path)
    assert result.scored.tolist() == [True, True, True, False, False]
    assert [(e.candidate_id, e.message) for e in result.errors] == [
        ("neg", "answers.csv row 5: 'seconds' must be a non-negative number, got '-3' instead"),
        ("text", "answers.csv row 6: 'seconds' must be a non-negative number, got 'abc' instead"),
    ]
    by_id = {p.candidate_id: p for p in result.profiles()}
    assert set(by_id) == {"fast", "slow", "unknown"}
    fast, slow, unknown = by_id["fast"].quality, by_id["slow"].quality, by_id["unknown"].quality
    assert fast is not None
    assert slow is not None
    assert unknown is not None
    assert fast.indices["seconds_per_item"] == 1.25  # 100 / 80
    assert [(f.index, f.threshold) for f in fast.flags] == [("seconds_per_item", 2.0)]
    assert slow.indices["seconds_per_item"] == 2.5  # 200 / 80
    assert slow.flags == []
    assert unknown.indices["seconds_per_item"] is None
    assert unknown.flags == []


# --------------------------------------------------------------------------- impression


def test_impression_management_flag_at_and_above_the_threshold(
    rep: repprofile.Questionnaire,
) -> None:
    # Keyed level 4 on all 7 impression items: pomp 100 (4 - 1) / 4 = 75 -> flagged.
    high = consistent(rep, {**LEVELS, "impression": 4})
    _, profile = one(rep, high)
    assert profile.scales["impression"].pomp == 75.0
    assert flag_summary(profile) == [("impression_pomp", 75.0, 75.0)]
    assert profile.quality is not None
    assert profile.quality.valid is False
    assert profile.quality.flags[0].reason.startswith(
        "impression score 75 (POMP) at or above 75.0: describes implausibly perfect conduct"
    )
    # Still scored and typed: the validity scale never becomes a type.
    assert profile.scales["empathizer"].mean == 5.0
    assert profile.primary_type == "empathizer"
    # One impression item a keyed 3 instead: (6*4 + 3)/7 = 27/7; pomp
    # 100 (27/7 - 1)/4 = 500/7 = 71.43 < 75 -> not flagged.
    below = {**high, "imp01": 3.0}  # imp01 is positively keyed
    _, profile = one(rep, below)
    assert profile.scales["impression"].pomp == pytest.approx(500 / 7, rel=1e-14)
    assert flag_summary(profile) == []
    # ... unless the threshold is lowered for this call.
    _, profile = one(rep, below, quality={"impression_pomp_max": 70})
    ((index, value, threshold),) = flag_summary(profile)
    assert (index, threshold) == ("impression_pomp", 70.0)
    assert value == pytest.approx(500 / 7, rel=1e-14)


def test_impression_index_needs_a_score(rep: repprofile.Questionnaire) -> None:
    # 4 of 7 items needed (ceil(7/2)); with 3 answered the pomp is null, never flagged.
    answers = consistent(rep, {**LEVELS, "impression": 5})
    for i in ("imp01", "imp02", "imp03", "imp04"):
        answers[i] = NAN
    _, profile = one(rep, answers)
    assert profile.scales["impression"].pomp is None
    assert profile.quality is not None
    assert profile.quality.indices["impression_pomp"] is None
    assert flag_summary(profile) == []


# --------------------------------------------------------------------------- thresholds


def test_even_odd_threshold_per_call(tmp_path: Path) -> None:
    q = repprofile.Questionnaire.model_validate(mini())
    _, profile = one(q, MINI_EO_ZERO)
    assert profile.quality is not None
    assert profile.quality.indices["even_odd"] == 0.0
    assert profile.quality.indices["longstring"] == 3.0
    assert profile.quality.indices["imp_pomp"] == 50.0
    assert flag_summary(profile) == []  # 0 is not below the default 0.0
    _, profile = one(q, MINI_EO_ZERO, quality={"even_odd_min": 0.5})
    assert flag_summary(profile) == [("even_odd", 0.0, 0.5)]
    assert profile.quality is not None
    assert profile.quality.valid is False
    assert "even-odd consistency 0, below 0.5" in profile.quality.flags[0].reason
    # A flagged candidate is still scored.
    assert [profile.scales[s].mean for s in ("a", "b", "c", "imp")] == [1.0, 2.0, 2.0, 3.0]


def test_even_odd_two_thirds_through_score() -> None:
    q = repprofile.Questionnaire.model_validate(mini())
    _, profile = one(q, MINI_EO_TWO_THIRDS)
    assert profile.quality is not None
    assert profile.quality.indices["even_odd"] == pytest.approx(2 / 3, rel=1e-14)


def test_threshold_in_the_questionnaire_file_and_per_call_wins(tmp_path: Path) -> None:
    path = write_mini(tmp_path, {"even_odd_min": 0.7})
    q = repprofile.load_questionnaire(path)
    assert q.quality.even_odd_min == 0.7
    # 2/3 < 0.7 -> flagged by the file's threshold.
    _, profile = one(path, MINI_EO_TWO_THIRDS)
    ((index, value, threshold),) = flag_summary(profile)
    assert (index, threshold) == ("even_odd", 0.7)
    assert value == pytest.approx(2 / 3, rel=1e-14)
    # The call's threshold wins over the file's.
    _, profile = one(path, MINI_EO_TWO_THIRDS, quality={"even_odd_min": 0.6})
    assert flag_summary(profile) == []
    _, profile = one(path, MINI_EO_ZERO, quality=QualitySettings())
    assert flag_summary(profile) == []  # default 0.0 passed explicitly: 0 is not below


def test_unknown_threshold_in_questionnaire_file_is_refused(tmp_path: Path) -> None:
    path = write_mini(tmp_path, {"even_odd_mn": 0.7})
    with pytest.raises(repprofile.QuestionnaireError, match=r"quality\.even_odd_mn"):
        repprofile.load_questionnaire(path)


def test_per_call_threshold_keeps_the_files_other_thresholds(tmp_path: Path) -> None:
    path = write_mini(tmp_path, {"even_odd_min": 0.7, "seconds_per_item_min": 5.0})
    # 40 s / 10 answered items = 4 s per item: below the file's 5.0.
    _, profile = one(path, MINI_EO_TWO_THIRDS, quality={"even_odd_min": 0.6}, seconds=40)
    assert flag_summary(profile) == [("seconds_per_item", 4.0, 5.0)]


def test_unknown_per_call_threshold_is_an_input_error(rep: repprofile.Questionnaire) -> None:
    with pytest.raises(repprofile.InputError, match="quality"):
        repprofile.score(rep, consistent(rep), quality={"even_odd_mn": 0.5})


# --------------------------------------------------------------------------- reference


def hand_d2(x: Array, means: Array, cov: Array) -> Array:
    """d' S^-1 d per row, missing deviations 0 (Meade & Craig 2012; careless::mahad)."""
    d = np.nan_to_num(x - means, nan=0.0)
    out: Array = np.einsum("ij,ij->i", d, np.linalg.solve(cov, d.T).T)
    return out


def hotelling_p(d2: Array, p: int, n: int) -> Array:
    """Hotelling's T^2 p of a new observation: D^2 n(n-p)/((n^2-1)p) ~ F(p, n-p)."""
    from scipy.stats import f

    out: Array = f.sf(d2 * n * (n - p) / ((n * n - 1) * p), p, n - p)
    return out


def member_p(d2: Array, p: int, n: int) -> Array:
    """p of a member of the reference sample: D^2 n/(n-1)^2 ~ Beta(p/2, (n-p-1)/2)."""
    from scipy.stats import beta

    out: Array = beta.sf(d2 * n / (n - 1) ** 2, p / 2, (n - p - 1) / 2)
    return out


def test_single_candidate_without_norms_gets_null_sample_indices(
    rep: repprofile.Questionnaire,
) -> None:
    result, profile = one(rep, consistent(rep))
    assert profile.quality is not None
    idx = profile.quality.indices
    assert idx["mahalanobis_d2"] is None
    assert idx["mahalanobis_p"] is None
    assert idx["psychsyn"] is None
    assert profile.quality.unavailable == {
        "mahalanobis_d2": NEEDS_REFERENCE,
        "psychsyn": NEEDS_REFERENCE,
    }
    assert profile.quality.reference is None
    assert profile.quality.valid is True
    assert profile.scales["controller"].mean == 3.0
    assert result.quality.reference_source is None


def test_batch_is_the_reference_sample(rep: repprofile.Questionnaire) -> None:
    x = sim(rep, 120, seed=7)
    assert clean_by_hand(x, 40, 0.5).all()  # nobody flagged by longstring or IRV
    result = repprofile.score(rep, x)
    qr = result.quality
    assert qr.reference_source == (
        "this batch (120 candidates not flagged by longstring, IRV, attention or response time)"
    )
    assert qr.unavailable == {}
    # Complete data: pairwise moments are the ordinary ones (np.mean, np.cov).
    cols = [i for i in range(80) if rep.item_scale_index[i] >= 0]
    assert len(cols) == 77
    sub = x[:, cols]
    d2 = hand_d2(sub, sub.mean(axis=0), np.cov(sub, rowvar=False))
    np.testing.assert_allclose(qr.mahalanobis_d2, d2, rtol=1e-9)
    # Every candidate is part of the mean and covariance: Beta(77/2, (120-77-1)/2).
    np.testing.assert_allclose(qr.mahalanobis_p, member_p(d2, 77, 120), rtol=1e-8)
    assert qr.mahalanobis_reference == "batch"
    assert qr.mahalanobis_distribution == (
        "Beta(38.5, 21), D^2 of a member of its own reference sample of n = 120 "
        "(Gnanadesikan & Kettenring 1972)"
    )
    # Synonyms: scored-item pairs with r > 0.60, later item first, column by column.
    r: Array = np.asarray(np.corrcoef(sub, rowvar=False))
    pairs = [(a, b) for b in range(77) for a in range(b + 1, 77) if r[a, b] > 0.60]
    assert len(pairs) >= 3
    pa = sub[:, [a for a, _ in pairs]]
    pb = sub[:, [b for _, b in pairs]]
    expected = [np.corrcoef(pa[i], pb[i])[0, 1] for i in range(120)]
    np.testing.assert_allclose(qr.psychsyn, expected, rtol=1e-9)
    profile = result.profiles()[0]
    assert profile.quality is not None
    assert profile.quality.reference == qr.reference_source
    assert profile.quality.indices["mahalanobis_d2"] == pytest.approx(d2[0], rel=1e-9)
    assert result.profile("1") == profile


def test_profile_by_id_uses_the_whole_batch_as_reference(rep: repprofile.Questionnaire) -> None:
    x = sim(rep, 120, seed=7)
    profile = repprofile.score(rep, x).profile("5")  # nothing computed before
    assert profile.quality is not None
    assert profile.quality.reference == (
        "this batch (120 candidates not flagged by longstring, IRV, attention or response time)"
    )
    cols = [i for i in range(80) if rep.item_scale_index[i] >= 0]
    sub = x[:, cols]
    d2 = hand_d2(sub, sub.mean(axis=0), np.cov(sub, rowvar=False))
    assert profile.quality.indices["mahalanobis_d2"] == pytest.approx(d2[4], rel=1e-9)


def test_reference_min_boundary() -> None:
    q = repprofile.Questionnaire.model_validate(mini())
    x = sim(q, 200, seed=3)
    x = x[clean_by_hand(x, 5, 0.5)]  # longstring_max ceil(10/2) = 5, irv_min 4/8
    assert x.shape[0] >= 30
    few = repprofile.score(q, x[:29]).quality
    assert few.reference_source is None
    assert few.unavailable == {"mahalanobis_d2": NEEDS_REFERENCE, "psychsyn": NEEDS_REFERENCE}
    assert np.isnan(few.mahalanobis_d2).all()
    enough = repprofile.score(q, x[:30]).quality
    assert enough.reference_source is not None
    assert enough.reference_source.startswith("this batch (30 candidates not flagged")
    sub = x[:30, :8]
    d2 = hand_d2(sub, sub.mean(axis=0), np.cov(sub, rowvar=False))
    np.testing.assert_allclose(enough.mahalanobis_d2, d2, rtol=1e-9)
    # reference_min is a threshold too: 29 is enough when asked for.
    lowered = repprofile.score(q, x[:29], quality={"reference_min": 29}).quality
    assert lowered.reference_source is not None
    assert lowered.reference_source.startswith("this batch (29 candidates")


def test_batch_of_forty_gives_sample_based_indices(rep: repprofile.Questionnaire) -> None:
    # 40 candidates are enough for correlations (psychsyn pairs) but not for the
    # covariance of rep-types' 77 scored items (rank <= 39), so D^2 is undefined from the
    # batch: it is unavailable with that reason, or taken from a norm table.
    x = sim(rep, 40, seed=8)
    assert clean_by_hand(x, 40, 0.5).all()
    qr = repprofile.score(rep, x).quality
    assert qr.reference_source is not None
    assert qr.reference_source.startswith("this batch (40 candidates")
    assert np.isnan(qr.mahalanobis_d2).all()
    assert "too small for the covariance of 77 items" in qr.unavailable["mahalanobis_d2"]
    table = build_norms(rep, sim(rep, 400, seed=9), description="sim", created="2026-01-02")
    ref = table.quality_reference
    assert ref is not None
    assert ref.full_rank
    with_norms = repprofile.score(rep, x, norms=table).quality
    assert with_norms.reference_source is not None
    assert with_norms.reference_source.endswith("; Mahalanobis D^2 from the norm table")
    cols = [rep.item_ids.index(i) for i in ref.items]
    d = x[:, cols] - np.asarray(ref.means)
    expected = np.einsum("ij,jk,ik->i", d, np.linalg.inv(np.asarray(ref.cov)), d)
    np.testing.assert_allclose(with_norms.mahalanobis_d2, expected, rtol=1e-9)


STRAIGHT_KINDS = ["all_threes", "threes_passing_checks", "attention", "speed"]


def flagged_rows(rep: repprofile.Questionnaire, kind: str) -> tuple[Array, float | None]:
    """40 candidates that a sample-free index flags, and their seconds."""
    if kind == "all_threes":
        return np.full((40, 80), 3.0), None
    if kind == "threes_passing_checks":
        x = np.full((40, 80), 3.0)
        x[:, list(rep.check_items)] = [2.0, 1.0, 5.0]  # att01, inf01, att02
        return x, None
    y = sim(rep, 40, seed=12)
    if kind == "attention":
        y[:, rep.item_ids.index("att01")] = 4.0  # expected [2]
        return y, None
    return y, 40.0  # 40 s for 80 answers: 0.5 s per item


@pytest.mark.parametrize("kind", STRAIGHT_KINDS)
def test_flagged_candidates_are_left_out_of_the_reference(
    rep: repprofile.Questionnaire, kind: str
) -> None:
    base = sim(rep, 100, seed=11)
    assert clean_by_hand(base, 40, 0.5).all()
    bad, seconds = flagged_rows(rep, kind)
    batch = records(rep, base, "ok") + records(rep, bad, "x", seconds)
    alone = repprofile.score(rep, base).quality
    mixed_result = repprofile.score(rep, batch)
    mixed = mixed_result.quality
    assert mixed.reference_source == (
        "this batch (100 candidates not flagged by longstring, IRV, attention or response time)"
    )
    # The attentive candidates' values are those of a reference built from them alone.
    np.testing.assert_allclose(mixed.mahalanobis_d2[:100], alone.mahalanobis_d2, rtol=1e-10)
    np.testing.assert_allclose(mixed.psychsyn[:100], alone.psychsyn, rtol=1e-10, atol=1e-15)
    ref = QualityReference.from_sample(rep, base, 0.60)
    assert ref is not None
    assert ref.n == 100
    cols = [rep.item_ids.index(i) for i in ref.items]
    d2, _ = mahalanobis_d2(base[:, cols], np.asarray(ref.means), np.asarray(ref.cov))
    np.testing.assert_allclose(mixed.mahalanobis_d2[:100], d2, rtol=1e-10)
    sub = base[:, cols]
    np.testing.assert_allclose(ref.means, sub.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(ref.cov, np.cov(sub, rowvar=False), rtol=1e-10, atol=1e-13)
    # Every added candidate is flagged (valid False) and still scored.
    assert not mixed.valid[100:].any()
    assert mixed_result.scored.all()


def test_straight_liners_indices_by_hand(rep: repprofile.Questionnaire) -> None:
    base = sim(rep, 100, seed=11)
    bad, _ = flagged_rows(rep, "threes_passing_checks")
    qr = repprofile.score(rep, np.vstack([base, bad])).quality
    # 3s with att01 = 2 (item 24), inf01 = 1 (item 53), att02 = 5 (item 76): runs
    # 23, 1, 28, 1, 22, 1, 4 -> longest 28 (not above 40, not flagged).
    assert qr.longstring[100] == 28.0
    assert qr.longstring_avg[100] == pytest.approx(80 / 7, rel=1e-14)
    # IRV: sum 77*3 + 2 + 1 + 5 = 239, sum of squares 693 + 4 + 1 + 25 = 723,
    # var = (723 - 239^2/80)/79 = 8.9875/79 -> SD 0.3373 < 0.5.
    assert qr.irv[100] == pytest.approx(math.sqrt(8.9875 / 79), rel=1e-12)
    assert qr.attention_failures[100] == 0.0
    flags = qr.flag_matrix()
    assert flags["irv"][100:].all()
    assert not flags["longstring"][100:].any()


def test_reference_from_a_norm_table(rep: repprofile.Questionnaire, tmp_path: Path) -> None:
    sample = sim(rep, 300, seed=21)
    table = build_norms(
        rep, sample, description="simulated test sample", created="2024-01-01", simulated=True
    )
    ref = table.quality_reference
    assert ref is not None
    assert ref.n == 300
    assert ref.critval == 0.60
    cols = [rep.item_ids.index(i) for i in ref.items]
    assert len(cols) == 77
    sub = sample[:, cols]
    np.testing.assert_allclose(ref.means, sub.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(ref.cov, np.cov(sub, rowvar=False), rtol=1e-10, atol=1e-13)
    r: Array = np.asarray(np.corrcoef(sub, rowvar=False))
    pairs = [(a, b) for b in range(77) for a in range(b + 1, 77) if r[a, b] > 0.60]
    assert ref.synonym_pairs == [(ref.items[a], ref.items[b]) for a, b in pairs]

    one_x = sim(rep, 2, seed=99)
    one_x[1, cols[:5]] = NAN  # a candidate with 5 missing answers
    path = tmp_path / "norms.json"
    path.write_text(table.to_json(), encoding="utf-8")
    for norms in (table, path):
        result = repprofile.score(rep, one_x, norms=norms)
        qr = result.quality
        assert qr.reference_source == "the norm table"
        assert qr.unavailable == {}
        x1 = one_x[:, cols]
        d2 = hand_d2(x1, np.asarray(ref.means), np.asarray(ref.cov))
        np.testing.assert_allclose(qr.mahalanobis_d2, d2, rtol=1e-10)
        # A new candidate against the norm sample of 300: Hotelling's F(77, 223).
        np.testing.assert_allclose(qr.mahalanobis_p, hotelling_p(d2, 77, 300), rtol=1e-8)
        assert qr.mahalanobis_reference == "norms"
        assert qr.mahalanobis_distribution == (
            "F(77, 223), Hotelling's T^2 for a new observation against a mean and "
            "covariance from n = 300 (Tracy, Young & Mason 1992)"
        )
        pa = x1[:, [a for a, _ in pairs]]
        pb = x1[:, [b for _, b in pairs]]
        for i in range(2):
            ok = ~np.isnan(pa[i]) & ~np.isnan(pb[i])
            assert qr.psychsyn[i] == pytest.approx(
                np.corrcoef(pa[i][ok], pb[i][ok])[0, 1], rel=1e-10
            )
        profile = result.profiles()[0]
        assert profile.quality is not None
        assert profile.quality.reference == "the norm table"
        assert profile.quality.indices["mahalanobis_d2"] == pytest.approx(d2[0], rel=1e-10)


def test_a_random_responder_against_norms_says_which_distribution(
    rep: repprofile.Questionnaire,
) -> None:
    sample = sim(rep, 300, seed=21)
    table = build_norms(rep, sample, description="sim", created="2024-01-01", simulated=True)
    rng = np.random.default_rng(5)
    x = sim(rep, 3, seed=31)
    x[2] = rng.integers(1, 6, size=80)  # uniformly random answers
    result = repprofile.score(rep, x, norms=table)
    qr = result.quality
    ref = table.quality_reference
    assert ref is not None
    cols = [rep.item_ids.index(i) for i in ref.items]
    d2 = hand_d2(x[:, cols], np.asarray(ref.means), np.asarray(ref.cov))
    p = hotelling_p(d2, 77, 300)
    np.testing.assert_allclose(qr.mahalanobis_p, p, rtol=1e-8)
    assert p[2] < 0.001  # the random responder is flagged ...
    (flag,) = [f for f in qr.flags(2) if f.index == "mahalanobis_d2"]
    assert flag.reason.endswith(
        "[p from F(77, 223), Hotelling's T^2 for a new observation against a mean and "
        "covariance from n = 300 (Tracy, Young & Mason 1992)]"
    )
    doc = json.loads(result.to_json())
    quality = doc["profiles"][2]["quality"]
    assert quality["mahalanobis_reference"] == "norms"
    assert quality["mahalanobis_distribution"].startswith("F(77, 223), Hotelling's T^2")
    from repprofile._analysis.scoring import quality_document
    from repprofile._rendering.text import quality_json, quality_text

    assert quality_document(result)["mahalanobis_reference"] == "norms"
    assert json.loads(quality_json(result))["mahalanobis_reference"] == "norms"
    text = quality_text(result)
    assert "Mahalanobis p against the norm table: F(77, 223), Hotelling's T^2" in text
    assert "[p from F(77, 223)" in text


@pytest.mark.filterwarnings("ignore:The norm sample has 100")
def test_a_large_batch_uses_itself_not_the_norm_table(rep: repprofile.Questionnaire) -> None:
    sample = sim(rep, 100, seed=21)
    table = build_norms(rep, sample, description="sim", created="2024-01-01", simulated=True)
    batch = sim(rep, 90, seed=22)
    assert clean_by_hand(batch, 40, 0.5).all()
    qr = repprofile.score(rep, batch, norms=table).quality
    assert qr.reference_source is not None
    assert qr.reference_source.startswith("this batch (90 candidates")
    cols = [i for i in range(80) if rep.item_scale_index[i] >= 0]
    sub = batch[:, cols]
    np.testing.assert_allclose(
        qr.mahalanobis_d2, hand_d2(sub, sub.mean(axis=0), np.cov(sub, rowvar=False)), rtol=1e-9
    )


@pytest.mark.filterwarnings("ignore:The norm sample has 100")
def test_norm_table_without_quality_reference_leaves_indices_unavailable(
    rep: repprofile.Questionnaire,
) -> None:
    sample = sim(rep, 100, seed=21)
    table = build_norms(rep, sample, description="sim", created="2024-01-01", simulated=True)
    assert table.quality_reference is not None
    old = NormTable.model_validate({**table.model_dump(), "quality_reference": None})
    result = repprofile.score(rep, consistent(rep), norms=old)
    qr = result.quality
    assert qr.reference_source is None
    assert qr.unavailable == {"mahalanobis_d2": NEEDS_REFERENCE, "psychsyn": NEEDS_REFERENCE}
    assert np.isnan(qr.mahalanobis_d2).all()
    # The norm table still standardizes the scores.
    (profile,) = result.profiles()
    assert profile.scales["controller"].z is not None


# --------------------------------------------------------------------------- JSON


def test_profile_json_quality_block(rep: repprofile.Questionnaire) -> None:
    base = sim(rep, 100, seed=11)
    threes = np.full((1, 80), 3.0)
    # even_odd_min -2: even-odd never flags here (its value for a straight-liner is wrong,
    # see test_even_odd_of_a_straight_liner_is_undefined).
    result = repprofile.score(
        rep,
        np.vstack([base, threes]),
        candidate_ids=[*(f"c{i}" for i in range(100)), "flat"],
        quality={"even_odd_min": -2.0},
    )
    data = json.loads(result.to_json())
    by_id = {p["candidate_id"]: p for p in data["profiles"]}
    flat = by_id["flat"]["quality"]
    assert set(flat) == {
        "indices",
        "flags",
        "valid",
        "reference",
        "unavailable",
        "mahalanobis_reference",
        "mahalanobis_distribution",
    }
    assert set(flat["indices"]) == {
        "longstring",
        "longstring_avg",
        "irv",
        "mahalanobis_d2",
        "mahalanobis_p",
        "even_odd",
        "psychsyn",
        "attention_failures",
        "seconds_per_item",
        "impression_pomp",
    }
    idx = flat["indices"]
    # 80 answers of 3: one run of 80, SD 0; att01, inf01, att02 all failed; every scale
    # mean 3 -> pomp 50; no variance in the synonym pairs -> null.
    assert idx["longstring"] == 80.0
    assert idx["longstring_avg"] == 80.0
    assert idx["irv"] == 0.0
    assert idx["attention_failures"] == 3.0
    assert idx["impression_pomp"] == 50.0
    assert idx["psychsyn"] is None
    assert idx["seconds_per_item"] is None
    # Mahalanobis against the 100 clean candidates (the flat one is excluded).
    cols = [i for i in range(80) if rep.item_scale_index[i] >= 0]
    sub = base[:, cols]
    d2 = float(hand_d2(threes[:, cols], sub.mean(axis=0), np.cov(sub, rowvar=False))[0])
    # The flat candidate is not in the reference sample of 100: a new observation.
    p = float(hotelling_p(np.array([d2]), 77, 100)[0])
    assert idx["mahalanobis_d2"] == pytest.approx(d2, rel=1e-9)
    assert idx["mahalanobis_p"] == pytest.approx(p, rel=1e-7)
    expected = [
        {
            "index": "longstring",
            "value": 80.0,
            "threshold": 40.0,
            "reason": (
                "gave the same answer 80 times in a row (more than 40): possible straight-lining"
            ),
        },
        {
            "index": "irv",
            "value": 0.0,
            "threshold": 0.5,
            "reason": "answers barely vary (SD 0, below 0.5): possible straight-lining",
        },
    ]
    if p < 0.001:
        expected.append({"index": "mahalanobis_d2", "value": p, "threshold": 0.001, "reason": ""})
    expected.append(
        {
            "index": "attention_failures",
            "value": 3.0,
            "threshold": 0.0,
            "reason": "failed 3 attention/infrequency item(s): answers may not have been read",
        }
    )
    assert [f["index"] for f in flat["flags"]] == [e["index"] for e in expected]
    for got, exp in zip(flat["flags"], expected, strict=True):
        assert set(got) == {"index", "value", "threshold", "reason"}
        assert got["value"] == pytest.approx(exp["value"], rel=1e-7)
        assert got["threshold"] == exp["threshold"]
        if exp["reason"]:
            assert got["reason"] == exp["reason"]
    assert flat["valid"] is False
    assert flat["reference"] == (
        "this batch (100 candidates not flagged by longstring, IRV, attention or response time)"
    )
    assert flat["unavailable"] == {}
    # Still scored.
    assert by_id["flat"]["scales"]["rock"]["mean"] == 3.0
    assert by_id["flat"]["scales"]["rock"]["pomp"] == 50.0


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("value", [math.inf, 1e300])
def test_rejected_out_of_scale_answer_does_not_warn(
    rep: repprofile.Questionnaire, value: float
) -> None:
    base = sim(rep, 100, seed=11)
    recs = records(rep, base, "c")
    recs[0]["answers"]["acc01"] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = repprofile.score(rep, recs)
        assert result.scored.tolist() == [False] + [True] * 99
        profiles = result.profiles()
    assert len(profiles) == 99
