"""Role fit (repprofile._analysis.fit): composite, fit, error, hurdles, similarity, rank.

Hand computations use the questionnaire TINY: three trait scales a, b, c of two items
each (b2 reverse-keyed) on a 1-5 answer scale, a validity scale ``imp`` and an attention
check ``att`` (expected answer 3). With two items a scale mean moves in steps of 0.5 and
its POMP ``100 (mean - 1) / 4`` in steps of 12.5.

The role has weights {a: 2, b: -1, c: 0}, so ``sum w^2 = 5`` and the normalised weights are
``a_a = 2/sqrt(5) = 0.894427191``, ``a_b = -1/sqrt(5) = -0.447213595``, ``a_c = 0``.
Without norms ``z = (pomp - 50) / 25``; the composite is ``C = sum a_s z_s`` and the fit
``100 / (1 + exp(-1.702 C))``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import repprofile
from repprofile import FitResult, NormTable, Role, ScaleNorm, build_norms, fit, fit_many, rank
from repprofile._analysis.fit import Ranking, fit_to_composite
from repprofile._formats.files import bundled_dir

# Hand-made norm samples, far below the recommended size on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:The norm sample has")

SCRIPT = Path(sys.executable).parent / "repprofile"
SQRT5 = math.sqrt(5.0)
A_A, A_B = 2.0 / SQRT5, -1.0 / SQRT5  # 0.894427191, -0.447213595
Z90 = 1.6448536269514722  # z_crit of the default 90% interval

TINY_HEAD = """\
id: tiny
version: "1.0"
title: Tiny
response_scale: {min: 1, max: 5}
"""
TINY_ITEMS = """\
items:
  - {id: a1, text: A1, scale: a}
  - {id: a2, text: A2, scale: a}
  - {id: b1, text: B1, scale: b}
  - {id: b2, text: B2, scale: b, keyed: -1}
  - {id: c1, text: C1, scale: c}
  - {id: c2, text: C2, scale: c}
  - {id: i1, text: I1, scale: imp}
  - {id: i2, text: I2, scale: imp}
  - {id: att, text: Answer 3, kind: attention_check, expected: [3]}
# only the attention check (and the impression scale) may flag a candidate
quality: {longstring_max: 100, irv_min: 0.0, even_odd_min: -2.0}
"""
TINY_PLAIN = (
    TINY_HEAD
    + """\
scales:
  - {id: a, name: Alpha}
  - {id: b, name: Beta}
  - {id: c, name: Gamma}
  - {id: imp, name: Impression, kind: validity}
"""
    + TINY_ITEMS
)
# Stated reliabilities and SDs of the scale means (no norms):
# SEM(mean) = sd sqrt(1 - r): a 0.8 * 0.4 = 0.32, b 0.6 * 0.5 = 0.30, c 1.0 * 0.6 = 0.60
# SEM(pomp) = SEM(mean) * 100 / (5 - 1): a 8.0, b 7.5, c 15.0
# SEM(z) = SEM(pomp) / 25: a 0.32, b 0.30, c 0.60
TINY_REL = (
    TINY_HEAD
    + """\
scales:
  - {id: a, name: Alpha, reliability: 0.84, sd: 0.8}
  - {id: b, name: Beta, reliability: 0.75, sd: 0.6}
  - {id: c, name: Gamma, reliability: 0.64, sd: 1.0}
  - {id: imp, name: Impression, kind: validity}
"""
    + TINY_ITEMS
)
SEM_Z = {"a": 0.32, "b": 0.30, "c": 0.60}
# SE_C = sqrt(a_a^2 0.32^2 + a_b^2 0.30^2 + 0 * 0.60^2) = sqrt(0.8 * 0.1024 + 0.2 * 0.09)
#      = sqrt(0.08192 + 0.018) = sqrt(0.09992) = 0.316101
SE_C = math.sqrt(0.09992)

ROLE = Role(
    id="tiny-role",
    name="Tiny role",
    description="For the tests.",
    questionnaire="tiny",
    weights={"a": 2.0, "b": -1.0, "c": 0.0},
    target={"a": 75.0, "b": 25.0, "c": 50.0},
    rationale="Hand-computable.",
)


def known(v: float | None) -> float:
    """A number of a result document that must not be null."""
    assert v is not None
    return v


def logistic_fit(c: float) -> float:
    return 100.0 / (1.0 + math.exp(-1.702 * c))


def phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def cand(
    cid: str,
    a: tuple[float | None, float | None] = (3, 3),
    b: tuple[float | None, float | None] = (3, 3),
    c: tuple[float | None, float | None] = (3, 3),
    att: float = 3,
    imp: tuple[int, int] = (1, 1),
) -> dict[str, Any]:
    """A TINY record from keyed values (b2 is reverse-keyed: the answer given is 6 - value)."""
    return {
        "candidate_id": cid,
        "answers": {
            "a1": a[0],
            "a2": a[1],
            "b1": b[0],
            "b2": None if b[1] is None else 6 - b[1],
            "c1": c[0],
            "c2": c[1],
            "i1": imp[0],
            "i2": imp[1],
            "att": att,
        },
    }


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny")
    (d / "plain.yaml").write_text(TINY_PLAIN, encoding="utf-8")
    (d / "rel.yaml").write_text(TINY_REL, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def plain(tiny_dir: Path) -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(tiny_dir / "plain.yaml")


@pytest.fixture(scope="module")
def rel(tiny_dir: Path) -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(tiny_dir / "rel.yaml")


# hi:  a (5, 4) mean 4.5 pomp 87.5 z 1.5; b (2, 2) pomp 25 z -1; c pomp 50 z 0
#      C = 0.894427191 * 1.5 + (-0.447213595)(-1) = 1.341640786 + 0.447213595 = 4/sqrt(5)
#        = 1.788854382; fit = 100 / (1 + exp(-1.702 * 1.788854382)) = 100 / (1 + exp(-3.04463))
#        = 100 / 1.0476139 = 95.4550128
# mid: every scale mean 3, pomp 50, z 0: C = 0, fit 50
# lo:  a (1, 2) pomp 12.5 z -1.5; b (4, 4) pomp 75 z 1: C = -4/sqrt(5), fit = 100 - 95.455 = 4.545
# bonly: a 3 (z 0), b (1, 1) pomp 0 z -2: C = (-0.447213595)(-2) = 0.894427191
THREE = [
    cand("hi", a=(5, 4), b=(2, 2)),
    cand("mid"),
    cand("lo", a=(1, 2), b=(4, 4), c=(5, 1)),
]
C_HI = 4.0 / SQRT5
FIT_HI = 95.45501281373694


def test_hand_fit_constant() -> None:
    # the constant above, from the formula: exp(-1.702 * 4 / sqrt(5)) = exp(-3.044630) = 0.0476139
    assert logistic_fit(C_HI) == pytest.approx(FIT_HI, abs=1e-9)
    assert math.exp(-1.702 * C_HI) == pytest.approx(0.0476139, abs=1e-7)


# --------------------------------------------------------------------------- without norms


def test_composite_fit_and_contributions_without_norms(plain: repprofile.Questionnaire) -> None:
    scores = repprofile.score(plain, THREE)
    result = fit(scores, ROLE)
    np.testing.assert_allclose(
        scores.pomp[:, :3], [[87.5, 25.0, 50.0], [50.0, 50.0, 50.0], [12.5, 75.0, 50.0]]
    )
    assert result.scale_ids == ["a", "b", "c"]
    # contributions a_s z_s: hi (1.341640786, 0.447213595, 0); mid 0; lo the negatives
    np.testing.assert_allclose(
        result.contributions,
        [[1.5 * A_A, -1.0 * A_B, 0.0], [0.0, 0.0, 0.0], [-1.5 * A_A, 1.0 * A_B, 0.0]],
        atol=1e-12,
    )
    np.testing.assert_allclose(result.contributions[0], [1.3416407865, 0.4472135955, 0.0])
    np.testing.assert_allclose(result.composite, [C_HI, 0.0, -C_HI], atol=1e-12)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.composite, atol=1e-12)
    # fit(lo) = 100 - fit(hi) by the symmetry of the logistic
    np.testing.assert_allclose(result.fit, [FIT_HI, 50.0, 100.0 - FIT_HI], atol=1e-9)
    # a zero weight gives +0.0, not -0.0, even for a high c (lo has c z = 0 but c varies)
    assert all(math.copysign(1.0, v) == 1.0 for v in result.contributions[:, 2])


def test_extreme_profile_without_norms(plain: repprofile.Questionnaire) -> None:
    # a (5, 5) pomp 100 z 2, b (1, 1) pomp 0 z -2: C = 2 * 0.894427 + 2 * 0.447214 = 6/sqrt(5)
    # = 2.683282; fit = 100 / (1 + exp(-4.566945)) = 100 / 1.0103896 = 98.971719
    scores = repprofile.score(
        plain, [cand("top", a=(5, 5), b=(1, 1)), cand("bottom", (1, 1), (5, 5))]
    )
    result = fit(scores, ROLE)
    np.testing.assert_allclose(result.composite, [6 / SQRT5, -6 / SQRT5], atol=1e-12)
    assert result.fit[0] == pytest.approx(98.971719, abs=1e-6)
    assert result.fit[1] == pytest.approx(100 - 98.971719, abs=1e-6)


def test_no_reliabilities_means_no_standard_error(plain: repprofile.Questionnaire) -> None:
    result = fit(repprofile.score(plain, THREE), ROLE)
    assert math.isnan(result.composite_se)
    assert np.isnan(result.fit_se).all()
    assert np.isnan(result.ci_low).all()
    assert np.isnan(result.ci_high).all()
    assert np.isnan(result.p_above_cut).all()
    assert not result.near_cut.any()  # an unknown interval contains nothing
    row = result.row(0)
    for key in ("fit_se", "ci_low", "ci_high", "p_above_cut"):
        assert row[key] is None, key  # NaN -> None in the JSON shape
    assert row["near_cut"] is False
    assert row["fit"] == pytest.approx(FIT_HI, abs=1e-9)
    json.dumps(row, allow_nan=False)  # no NaN left in the JSON shape


def test_reliability_without_sd_gives_no_standard_error(tmp_path: Path) -> None:
    text = TINY_REL.replace(", sd: 0.8", "")  # scale a: a reliability but no SD
    path = tmp_path / "nosd.yaml"
    path.write_text(text, encoding="utf-8")
    q = repprofile.load_questionnaire(path)
    result = fit(repprofile.score(q, THREE), ROLE)
    # SE_C needs every weighted scale's SEM; a's is unknown
    assert math.isnan(result.composite_se)
    assert result.row(0)["fit_se"] is None


def test_zero_weight_scale_without_sd_does_not_hide_the_error(tmp_path: Path) -> None:
    path = tmp_path / "nosd_c.yaml"
    path.write_text(TINY_REL.replace(", sd: 1.0", ""), encoding="utf-8")  # c: weight 0
    result = fit(repprofile.score(repprofile.load_questionnaire(path), THREE), ROLE)
    assert result.composite_se == pytest.approx(SE_C, abs=1e-12)


def test_missing_score_on_a_zero_weight_scale_still_fits(
    plain: repprofile.Questionnaire,
) -> None:
    # like hi, but both c items skipped: c has weight 0, so C is still 4/sqrt(5)
    scores = repprofile.score(plain, [cand("hi-no-c", a=(5, 4), b=(2, 2), c=(None, None))])
    assert math.isnan(scores.pomp[0, 2])
    result = fit(scores, ROLE)
    assert result.composite[0] == pytest.approx(C_HI, abs=1e-12)
    assert result.fit[0] == pytest.approx(FIT_HI, abs=1e-9)


# --------------------------------------------------------------------------- measurement error


def test_measurement_error_from_stated_reliability_and_sd(rel: repprofile.Questionnaire) -> None:
    scores = repprofile.score(rel, THREE)
    nd = scores.normed
    # SEM(mean) = sd sqrt(1 - r): 0.32, 0.30, 0.60 (see TINY_REL)
    np.testing.assert_allclose(nd.sem[:3], [0.32, 0.30, 0.60], atol=1e-12)
    result = fit(scores, ROLE)
    assert result.composite_se == pytest.approx(0.3161012496, abs=1e-9)
    # the same from the formula with SEM(z) = SEM(pomp) / 25
    sem_pomp = {
        s: sd * math.sqrt(1 - r) * 100 / (5 - 1)
        for s, r, sd in (("a", 0.84, 0.8), ("b", 0.75, 0.6), ("c", 0.64, 1.0))
    }
    assert sem_pomp == pytest.approx({"a": 8.0, "b": 7.5, "c": 15.0})
    se = math.sqrt(sum(a**2 * (sem_pomp[s] / 25) ** 2 for s, a in (("a", A_A), ("b", A_B))))
    assert result.composite_se == pytest.approx(se, abs=1e-12)

    # hi: C = 1.788854, C -/+ 1.644854 * 0.316101 = 1.788854 -/+ 0.519943
    #     = 1.268911 .. 2.308797 -> 100 logistic(1.702 x) = 89.6571 .. 98.0727
    assert result.ci_low[0] == pytest.approx(89.6571, abs=1e-4)
    assert result.ci_high[0] == pytest.approx(98.0727, abs=1e-4)
    for row, c in enumerate([C_HI, 0.0, -C_HI]):
        p = logistic_fit(c) / 100
        assert result.ci_low[row] == pytest.approx(logistic_fit(c - Z90 * SE_C), abs=1e-10)
        assert result.ci_high[row] == pytest.approx(logistic_fit(c + Z90 * SE_C), abs=1e-10)
        # delta method: 100 * 1.702 p (1 - p) SE_C
        assert result.fit_se[row] == pytest.approx(100 * 1.702 * p * (1 - p) * SE_C, abs=1e-10)
        assert result.ci_low[row] < result.fit[row] < result.ci_high[row]
    # mid: p = 0.5: 100 * 1.702 * 0.25 * 0.316101 = 13.45011
    assert result.fit_se[1] == pytest.approx(13.45011, abs=1e-5)
    # hi: p = 0.954550, p (1 - p) = 0.043385; 170.2 * 0.043385 * 0.316101 = 2.33409
    assert result.fit_se[0] == pytest.approx(2.33409, abs=1e-5)
    # cut 50: C_cut = 0, P = Phi(C / SE_C): hi Phi(5.659) ~ 1, mid 0.5, lo ~ 0
    np.testing.assert_allclose(
        result.p_above_cut, [phi(C_HI / SE_C), 0.5, phi(-C_HI / SE_C)], atol=1e-12
    )
    # the interval of mid (29.2 .. 70.8) contains 50; hi's and lo's do not
    assert result.near_cut.tolist() == [False, True, False]


def test_p_above_cut_and_near_cut_for_a_cut_of_90(rel: repprofile.Questionnaire) -> None:
    result = fit(repprofile.score(rel, THREE), ROLE, cut=90.0)
    # C_cut = logit(0.9) / 1.702 = 2.1972246 / 1.702 = 1.2909663
    c_cut = math.log(0.9 / 0.1) / 1.702
    assert c_cut == pytest.approx(1.2909663, abs=1e-7)
    assert fit_to_composite(90.0) == pytest.approx(c_cut, abs=1e-12)
    # hi: (1.788854 - 1.290966) / 0.316101 = 1.575091; Phi(1.575091) = 0.942384
    assert result.p_above_cut[0] == pytest.approx(phi((C_HI - c_cut) / SE_C), abs=1e-12)
    assert result.p_above_cut[0] == pytest.approx(0.94238, abs=1e-5)
    # mid: (0 - 1.290966) / 0.316101 = -4.084 -> 2.2e-5
    assert result.p_above_cut[1] == pytest.approx(phi(-c_cut / SE_C), rel=1e-9)
    # hi's interval 89.66 .. 98.07 contains 90; mid's 29.2 .. 70.8 does not
    assert result.near_cut.tolist() == [True, False, False]
    assert result.role_summary()["cut"] == 90.0


def test_interval_level_follows_score_ci(rel: repprofile.Questionnaire) -> None:
    result = fit(repprofile.score(rel, THREE, ci=0.95), ROLE)
    z95 = 1.959963984540054
    # hi: 1.788854 -/+ 1.959964 * 0.316101 = 1.169296 .. 2.408412
    assert result.ci_low[0] == pytest.approx(logistic_fit(C_HI - z95 * SE_C), abs=1e-10)
    assert result.ci_high[0] == pytest.approx(logistic_fit(C_HI + z95 * SE_C), abs=1e-10)
    assert result.role_summary()["ci_level"] == 0.95


@pytest.mark.parametrize("cut", [0.0, 100.0, -5.0])
def test_a_cut_outside_0_100_is_refused(rel: repprofile.Questionnaire, cut: float) -> None:
    # refused by fit() itself, as an InputError naming the parameter
    with pytest.raises(repprofile.InputError, match="'cut' parameter of fit must be between 0"):
        fit(repprofile.score(rel, THREE), ROLE, cut=cut)


# --------------------------------------------------------------------------- with norms

# Norm sample (keyed values), four people:
#          a        b        c        imp
#   n1   (1, 1)   (1, 1)   (1, 2)   (1, 2)
#   n2   (2, 3)   (2, 2)   (2, 1)   (2, 1)
#   n3   (4, 3)   (4, 3)   (4, 5)   (3, 3)
#   n4   (5, 5)   (5, 4)   (5, 4)   (2, 2)
# a: items x = 1 2 4 5 (SS 10), y = 1 3 3 5 (SS 8), totals 2 5 7 10 (mean 6, SS 34):
#    alpha = 2 (1 - 18/34) = 16/17; means 1 2.5 3.5 5: mean 3, SD sqrt(8.5 / 3) = 1.683251
# b: x = 1 2 4 5 (SS 10), y = 1 2 3 4 (SS 5), totals 2 4 7 9 (mean 5.5, SS 29):
#    alpha = 2 (1 - 15/29) = 28/29; means 1 2 3.5 4.5: mean 2.75, SD sqrt(7.25 / 3) = 1.554563
# c: x = 1 2 4 5 (SS 10), y = 2 1 5 4 (SS 10), totals 3 3 9 9 (SS 36):
#    alpha = 2 (1 - 20/36) = 8/9; means 1.5 1.5 4.5 4.5: mean 3, SD sqrt(9 / 3) = sqrt(3)
NORM_SAMPLE = [
    cand("n1", a=(1, 1), b=(1, 1), c=(1, 2), imp=(1, 2)),
    cand("n2", a=(2, 3), b=(2, 2), c=(2, 1), imp=(2, 1)),
    cand("n3", a=(4, 3), b=(4, 3), c=(4, 5), imp=(3, 3)),
    cand("n4", a=(5, 5), b=(5, 4), c=(5, 4), imp=(2, 2)),
]


@pytest.fixture(scope="module")
def norms(rel: repprofile.Questionnaire) -> NormTable:
    return build_norms(rel, NORM_SAMPLE, description="four hand-made people", created="2026-01-01")


def test_norm_table_matches_the_hand_computation(norms: NormTable) -> None:
    a, b, c = norms.scales["a"], norms.scales["b"], norms.scales["c"]
    assert (a.mean, b.mean, c.mean) == pytest.approx((3.0, 2.75, 3.0))
    assert (a.sd, b.sd, c.sd) == pytest.approx(
        (math.sqrt(8.5 / 3), math.sqrt(7.25 / 3), math.sqrt(3.0))
    )
    assert (a.alpha, b.alpha, c.alpha) == pytest.approx((16 / 17, 28 / 29, 8 / 9))


def test_fit_with_norms(rel: repprofile.Questionnaire, norms: NormTable) -> None:
    scores = repprofile.score(rel, THREE, norms=norms)
    result = fit(scores, ROLE)
    # hi: a mean 4.5 -> z = 1.5 / 1.683251 = 0.891133; b mean 2 -> z = -0.75 / 1.554563
    #     = -0.482452; c mean 3 -> z 0
    #     C = 0.894427 * 0.891133 + 0.447214 * 0.482452 = 0.797052 + 0.215759 = 1.012811
    za = 1.5 / math.sqrt(8.5 / 3)
    zb = -0.75 / math.sqrt(7.25 / 3)
    assert za == pytest.approx(0.891133, abs=1e-6)
    assert zb == pytest.approx(-0.482451, abs=1e-6)
    c_hi = A_A * za + A_B * zb
    assert c_hi == pytest.approx(1.012811, abs=1e-6)
    np.testing.assert_allclose(result.contributions[0], [A_A * za, A_B * zb, 0.0], atol=1e-12)
    # mid: a z 0, b z 0.25 / 1.554563 = 0.160817 -> C = -0.447214 * 0.160817 = -0.071919
    zb_mid = 0.25 / math.sqrt(7.25 / 3)
    assert result.composite[1] == pytest.approx(A_B * zb_mid, abs=1e-12)
    assert result.composite[0] == pytest.approx(c_hi, abs=1e-12)
    assert result.fit[0] == pytest.approx(logistic_fit(c_hi), abs=1e-10)
    # SEM in z = sqrt(1 - alpha) of the norm table, not the questionnaire's stated 0.84/0.75:
    # SE_C = sqrt(0.8 (1/17) + 0.2 (1/29)) = sqrt(0.0470588 + 0.0068966) = 0.232283
    se = math.sqrt(0.8 * (1 / 17) + 0.2 * (1 / 29))
    assert se == pytest.approx(0.232283, abs=1e-6)
    assert result.composite_se == pytest.approx(se, abs=1e-12)
    assert result.ci_low[0] == pytest.approx(logistic_fit(c_hi - Z90 * se), abs=1e-10)
    assert result.ci_high[0] == pytest.approx(logistic_fit(c_hi + Z90 * se), abs=1e-10)
    p = result.fit[0] / 100
    assert result.fit_se[0] == pytest.approx(100 * 1.702 * p * (1 - p) * se, abs=1e-10)
    assert result.p_above_cut[0] == pytest.approx(phi(c_hi / se), abs=1e-12)
    # provenance names the norm table
    assert result.provenance.norms is not None
    assert result.provenance.norms.description == "four hand-made people"


# --------------------------------------------------------------------------- hurdles


HURDLE_ROLE = ROLE.model_copy(update={"id": "hurdle", "minimums": {"a": 62.5}})


def test_minimums_above_at_below_and_missing(plain: repprofile.Questionnaire) -> None:
    scores = repprofile.score(
        plain,
        [
            cand("above", a=(4, 4)),  # pomp 75
            cand("at", a=(4, 3)),  # mean 3.5, pomp 62.5: at the minimum meets it
            cand("below", a=(3, 3)),  # pomp 50
            cand("missing", a=(None, None)),  # no a score: fails the hurdle
        ],
    )
    np.testing.assert_allclose(scores.pomp[:3, 0], [75.0, 62.5, 50.0])
    assert math.isnan(scores.pomp[3, 0])
    result = fit(scores, HURDLE_ROLE)
    assert result.meets_minimums.tolist() == [True, True, False, False]
    assert [result.failed_minimums(r) for r in range(4)] == [[], [], ["a"], ["a"]]
    # the hurdle is reported, not folded into the fit: same fits as without minimums
    plain_fit = fit(scores, ROLE)
    np.testing.assert_array_equal(result.fit[:3], plain_fit.fit[:3])
    # at: z_a = 12.5 / 25 = 0.5, C = 0.894427 * 0.5 = 0.447214
    assert result.composite[1] == pytest.approx(0.5 * A_A, abs=1e-12)
    # missing: no composite, no fit; the explanation says why
    assert math.isnan(result.composite[3])
    row = result.row(3)
    assert row["fit"] is None
    assert row["composite"] is None
    assert row["meets_minimums"] is False
    assert row["failed_minimums"] == ["a"]
    assert row["explanation"] == "no fit: no score on Alpha"


def test_minimum_of_60(plain: repprofile.Questionnaire) -> None:
    # with two items on 1-5 POMP moves in steps of 12.5, so no score is exactly 60
    # (the at-the-minimum case is above, with 62.5)
    role = ROLE.model_copy(update={"id": "m60", "minimums": {"a": 60.0}})
    scores = repprofile.score(plain, [cand("p62", a=(4, 3)), cand("p50", a=(3, 3))])
    result = fit(scores, role)
    assert result.meets_minimums.tolist() == [True, False]  # 62.5 >= 60; 50 < 60
    assert [result.failed_minimums(r) for r in range(2)] == [[], ["a"]]


def test_several_minimums_list_every_failure_in_role_order(
    plain: repprofile.Questionnaire,
) -> None:
    role = ROLE.model_copy(update={"id": "two", "minimums": {"b": 50.0, "a": 62.5}})
    scores = repprofile.score(
        plain,
        [
            cand("both", a=(3, 3), b=(2, 2)),  # a 50 < 62.5, b 25 < 50
            cand("b-only", a=(5, 5), b=(1, 2)),  # a 100, b 12.5 < 50
            cand("none", a=(5, 5), b=(3, 3)),  # a 100, b 50 (= minimum)
        ],
    )
    result = fit(scores, role)
    assert [result.failed_minimums(r) for r in range(3)] == [["b", "a"], ["b"], []]
    assert result.meets_minimums.tolist() == [False, False, True]


def test_no_minimums_everyone_meets(plain: repprofile.Questionnaire) -> None:
    result = fit(repprofile.score(plain, THREE), ROLE)
    assert result.meets_minimums.tolist() == [True, True, True]
    assert result.failed_minimums(2) == []


# --------------------------------------------------------------------------- similarity


def test_similarity_to_the_target(plain: repprofile.Questionnaire) -> None:
    result = fit(repprofile.score(plain, THREE), ROLE)
    # target a 75, b 25, c 50
    # hi  pomp (87.5, 25, 50): diffs (12.5, 0, 0), RMS = sqrt(156.25 / 3) = 7.216878
    # mid pomp (50, 50, 50): diffs (-25, 25, 0), RMS = sqrt(1250 / 3) = 20.412415
    # lo  pomp (12.5, 75, 50): diffs (-62.5, 50, 0), RMS = sqrt(6406.25 / 3) = 46.210569
    np.testing.assert_allclose(result.similarity, [92.783122, 79.587585, 53.789431], atol=1e-6)
    np.testing.assert_allclose(
        result.similarity,
        [
            100 - math.sqrt(156.25 / 3),
            100 - math.sqrt(1250 / 3),
            100 - math.sqrt(6406.25 / 3),
        ],
        atol=1e-12,
    )


def test_similarity_over_the_target_scales_only(plain: repprofile.Questionnaire) -> None:
    role = ROLE.model_copy(update={"id": "t", "target": {"b": 0.0}})
    result = fit(repprofile.score(plain, THREE), role)
    # b pomp 25, 50, 75 against 0: RMS of one difference is its size
    np.testing.assert_allclose(result.similarity, [75.0, 50.0, 25.0], atol=1e-12)


def test_no_target_no_similarity(plain: repprofile.Questionnaire) -> None:
    role = ROLE.model_copy(update={"id": "nt", "target": {}})
    result = fit(repprofile.score(plain, THREE), role)
    assert np.isnan(result.similarity).all()
    assert result.row(0)["similarity"] is None


# --------------------------------------------------------------------------- explanation


def test_explanation_names_the_strongest_scales(plain: repprofile.Questionnaire) -> None:
    scores = repprofile.score(
        plain, [*THREE, cand("bonly", b=(1, 1)), cand("aonly", a=(4, 4), b=(3, 3))]
    )
    result = fit(scores, ROLE)
    # No norms: never "high" or "low". Role target a 75, b 25. hi: contributions
    # a 1.342 > b 0.447, both raise it; a pomp 87.5 is 12.5 from its target (< 25)
    assert result.explanation(0) == "Alpha (POMP 88) and Beta (POMP 25) raise the fit"
    assert result.explanation(1) == "no scale moves the fit far from the middle"
    # lo: a pomp 12.5 is 62.5 below 75, b pomp 75 is 50 above 25
    assert result.explanation(2) == (
        "Alpha below the role's target (POMP 12 vs 75) and "
        "Beta above the role's target (POMP 75 vs 25) lower the fit"
    )
    # bonly: only b moves it, +0.894 (pomp 0 on a negative weight: 25 below its target)
    assert result.explanation(3) == "Beta below the role's target (POMP 0 vs 25) raises the fit"
    # aonly: z_a = 1, contribution 0.894; pomp 75 is on its target
    assert result.explanation(4) == "Alpha (POMP 75) raises the fit"
    assert result.row(0)["explanation"] == result.explanation(0)


# --------------------------------------------------------------------------- rank


RANK_BATCH = [
    cand("r-lo", a=(2, 2)),  # z_a -1: C = -0.894427
    cand("r-top", a=(5, 5)),  # z_a 2: C = 1.788854
    cand("r-tie1", a=(4, 4), c=(1, 1)),  # z_a 1: C = 0.894427 (c has weight 0)
    cand("r-flag", a=(5, 4), att=4),  # C = 1.341641, fails the attention check
    cand("r-bad", a=(5, 9)),  # 9 is outside 1-5: rejected
    cand("r-tie2", a=(4, 4), c=(5, 5)),  # C = 0.894427, the same as r-tie1
    cand("r-none", a=(None, None)),  # no a score, no fit: last
]


@pytest.fixture(scope="module")
def ranked(rel: repprofile.Questionnaire) -> FitResult:
    role = ROLE.model_copy(update={"id": "rank-role", "minimums": {"a": 62.5}})
    return fit(repprofile.score(rel, RANK_BATCH), role)


def test_rank_orders_by_composite_best_first(ranked: FitResult) -> None:
    doc = rank(ranked)
    ids = [e["candidate_id"] for e in doc["ranking"]]
    # r-top 1.789 > r-flag 1.342 > r-tie1 = r-tie2 0.894 (input order) > r-lo -0.894 > r-none
    assert ids == ["r-top", "r-flag", "r-tie1", "r-tie2", "r-lo", "r-none"]
    assert [e["rank"] for e in doc["ranking"]] == [1, 2, 3, 4, 5, 6]
    comps = [known(e["composite"]) for e in doc["ranking"][:5]]
    np.testing.assert_allclose(comps, [2 * A_A, 1.5 * A_A, A_A, A_A, -A_A], atol=1e-12)
    assert doc["ranking"][2]["composite"] == doc["ranking"][3]["composite"]  # an exact tie
    fits = [known(e["fit"]) for e in doc["ranking"][:5]]
    assert fits == sorted(fits, reverse=True)
    assert doc["ranking"][5]["fit"] is None


def test_rank_leaves_out_rejected_and_marks_flagged(ranked: FitResult) -> None:
    doc = rank(ranked)
    ids = [e["candidate_id"] for e in doc["ranking"]]
    assert "r-bad" not in ids
    assert not ranked.scores.scored[4]
    valid = {e["candidate_id"]: e["quality_valid"] for e in doc["ranking"]}
    assert valid == {
        "r-top": True,
        "r-flag": False,
        "r-tie1": True,
        "r-tie2": True,
        "r-lo": True,
        "r-none": True,
    }
    excluded = rank(ranked, exclude_flagged=True)
    assert [e["candidate_id"] for e in excluded["ranking"]] == [
        "r-top",
        "r-tie1",
        "r-tie2",
        "r-lo",
        "r-none",
    ]
    assert [e["rank"] for e in excluded["ranking"]] == [1, 2, 3, 4, 5]


def test_rank_top_k(ranked: FitResult) -> None:
    doc = rank(ranked, top=2)
    assert [(e["rank"], e["candidate_id"]) for e in doc["ranking"]] == [
        (1, "r-top"),
        (2, "r-flag"),
    ]
    assert len(rank(ranked, top=100)["ranking"]) == 6
    with pytest.raises(repprofile.InputError, match="'top' parameter of rank"):
        rank(ranked, top=0)
    top_excl = rank(ranked, top=2, exclude_flagged=True)
    assert [e["candidate_id"] for e in top_excl["ranking"]] == ["r-top", "r-tie1"]


def test_rank_json_contract(ranked: FitResult) -> None:
    doc = rank(ranked)
    assert set(doc) == {"role", "ranking", "provenance", "errors"}
    assert [(e["candidate_id"], e["item_id"], e["value"]) for e in doc["errors"]] == [
        ("r-bad", "a2", 9)
    ]
    assert Ranking.model_validate(doc).model_dump(mode="json") == doc  # the declared shape
    required = {
        "candidate_id",
        "rank",
        "fit",
        "fit_se",
        "ci_low",
        "ci_high",
        "meets_minimums",
        "failed_minimums",
        "contributions",
        "quality_valid",
    }
    for entry in doc["ranking"]:
        assert required <= set(entry)
    text = json.dumps(doc, allow_nan=False)  # strict JSON, no NaN
    assert json.loads(text) == doc
    top = doc["ranking"][0]
    # r-top: a (5, 5) z 2, C = 1.788854 -> fit 95.4550; SE_C 0.316101 (stated reliabilities)
    assert top["fit"] == pytest.approx(FIT_HI, abs=1e-9)
    assert top["ci_low"] == pytest.approx(89.6571, abs=1e-4)
    assert top["ci_high"] == pytest.approx(98.0727, abs=1e-4)
    assert top["fit_se"] == pytest.approx(2.33409, abs=1e-5)
    assert top["contributions"] == pytest.approx({"a": 2 * A_A, "b": 0.0, "c": 0.0})
    assert top["meets_minimums"] is True
    assert top["failed_minimums"] == []
    lo = doc["ranking"][4]
    assert lo["candidate_id"] == "r-lo"
    assert lo["meets_minimums"] is False
    assert lo["failed_minimums"] == ["a"]
    prov_role = rank(ranked)["provenance"]["role"]
    assert prov_role is not None
    assert doc["role"] == {
        "id": "rank-role",
        "name": "Tiny role",
        "questionnaire": "tiny",
        "weights": {"a": 2.0, "b": -1.0, "c": 0.0},
        "minimums": {"a": 62.5},
        "cut": 50.0,
        "ci_level": 0.9,
        "sha256": prov_role["sha256"],
    }


def test_rank_provenance_names_the_role(ranked: FitResult) -> None:
    prov = rank(ranked)["provenance"]
    assert prov["questionnaire_id"] == "tiny"
    assert prov["ci_level"] == 0.9
    role = ranked.role
    assert prov["role"] is not None
    assert set(prov["role"]) == {"id", "name", "sha256"}
    assert prov["role"]["id"] == "rank-role"
    assert prov["role"]["name"] == "Tiny role"
    # sha256 of the role's canonical JSON (sorted keys)
    expected = hashlib.sha256(
        json.dumps(role.model_dump(mode="json"), sort_keys=True).encode("utf-8")
    ).hexdigest()
    assert prov["role"]["sha256"] == expected
    other = role.model_copy(update={"weights": {"a": 2.0, "b": -1.0, "c": 0.5}})
    other_prov = rank(fit(ranked.scores, other))["provenance"]
    assert other_prov["role"] is not None
    assert other_prov["role"]["sha256"] != expected  # a changed weight changes the hash


def test_fit_refuses_a_role_for_another_questionnaire(plain: repprofile.Questionnaire) -> None:
    with pytest.raises(repprofile.QuestionnaireError, match="applies to questionnaire"):
        fit(repprofile.score(plain, THREE), "escalations")


def test_fit_many_and_role_by_id() -> None:
    q = repprofile.load_questionnaire("rep-types")
    answers = rep_answers({"controller": 5, "rock": 1})
    fits = fit_many(repprofile.score(q, [answers]), ["escalations", "complex-support"])
    assert [f.role.id for f in fits] == ["escalations", "complex-support"]
    # escalations: z controller 2, rock -2, others as REP_BASE: accommodator 2 -> z -1,
    # competitor 4 -> 1, empathizer 3 -> 0, hard_worker 5 -> 2, innovator 1 -> -2
    # C = (0.35*2 + 0.5*(-2) + 0.3*0 + 0.15*2 + 0.05*(-1) + 0*(-2) - 0.1*1) / sqrt(0.4975)
    #   = (0.7 - 1.0 + 0.3 - 0.05 - 0.1) / 0.705337 = -0.15 / 0.705337 = -0.212664
    assert fits[0].composite[0] == pytest.approx(-0.15 / math.sqrt(0.4975), abs=1e-12)
    # complex-support: controller .5, rock .3, hard_worker .2, empathizer .15, innovator .1
    # sum w^2 = 0.25 + 0.09 + 0.04 + 0.0225 + 0.01 = 0.4125
    # C = (1.0 - 0.6 + 0.4 + 0 - 0.2) / sqrt(0.4125) = 0.6 / 0.642262 = 0.934199
    assert fits[1].composite[0] == pytest.approx(0.6 / math.sqrt(0.4125), abs=1e-12)


# --------------------------------------------------------------------------- monotonicity


def extreme_table(sd: float) -> NormTable:
    """A hand-written norm table for TINY: every scale mean 3 (imp 1) with the given SD."""

    def scale(mean: float, s: float) -> ScaleNorm:
        return ScaleNorm(
            n=10, mean=mean, sd=s, alpha=0.9, values=[mean - s, mean + s], counts=[5, 5]
        )

    return NormTable(
        questionnaire_id="tiny",
        questionnaire_version="1.0",
        description="hand-written",
        created="2026-01-01",
        n=10,
        repprofile_version=repprofile.__version__,
        scales={"a": scale(3, sd), "b": scale(3, sd), "c": scale(3, 1.0), "imp": scale(1, 1.0)},
    )


def every_profile() -> list[dict[str, Any]]:
    """Every a and b mean (1, 1.5, ..., 5) crossed: 9 x 9 = 81 candidates."""
    pairs = [(i, i) for i in range(1, 6)] + [(i, i + 1) for i in range(1, 5)]
    return [cand(f"p{x}{y}{u}{v}", a=(x, y), b=(u, v)) for x, y in pairs for u, v in pairs]


def assert_fit_order_is_composite_order(result: FitResult) -> None:
    order = np.argsort(result.composite, kind="stable")
    c = result.composite[order]
    f = result.fit[order]
    distinct = np.diff(c) > 1e-9
    # strictly increasing where the composites differ (ties differ by rounding only)
    assert distinct.sum() > 10
    assert (np.diff(f)[distinct] > 0).all()
    np.testing.assert_allclose(np.diff(f)[~distinct], 0.0, atol=1e-9)
    assert (result.fit > 0).all()
    assert (result.fit < 100).all()


def test_fit_is_strictly_increasing_without_norms(plain: repprofile.Questionnaire) -> None:
    profiles = every_profile()
    result = fit(repprofile.score(plain, profiles), ROLE)
    # composites range over -6/sqrt(5) .. 6/sqrt(5) = -2.683 .. 2.683
    assert result.composite.max() == pytest.approx(6 / SQRT5)
    assert result.composite.min() == pytest.approx(-6 / SQRT5)
    assert_fit_order_is_composite_order(result)


def test_fit_is_strictly_increasing_for_extreme_norm_scores(
    plain: repprofile.Questionnaire,
) -> None:
    # norm SD 0.2: z = (mean - 3) / 0.2 runs from -10 to 10; C up to (20 + 10) / sqrt(5)
    # = 13.416; fit = 100 / (1 + exp(-22.834)) = 100 - 1.2e-8: still below 100
    result = fit(repprofile.score(plain, every_profile(), norms=extreme_table(0.2)), ROLE)
    assert result.composite.max() == pytest.approx(30 / SQRT5)
    assert_fit_order_is_composite_order(result)
    assert known(rank(result)["ranking"][0]["fit"]) < 100.0


def test_saturated_fits_still_rank_by_composite(plain: repprofile.Questionnaire) -> None:
    # norm SD 0.1: a (5, 5) z 20, b (1, 1) z -20: C = 60 / sqrt(5) = 26.83;
    # a (5, 5), b (1, 2) z -15: C = 55 / sqrt(5) = 24.60. Beyond C ~ 21 the float64 fit
    # is exactly 100 (documented in fit's Notes); the ranking uses the composite.
    scores = repprofile.score(
        plain,
        [cand("y", a=(5, 5), b=(1, 2)), cand("x", a=(5, 5), b=(1, 1))],
        norms=extreme_table(0.1),
    )
    result = fit(scores, ROLE)
    assert result.composite[1] == pytest.approx(60 / 5**0.5)
    assert result.composite[0] == pytest.approx(55 / 5**0.5)
    assert (result.fit == 100.0).all()
    assert [e["candidate_id"] for e in rank(result)["ranking"]] == ["x", "y"]


# --------------------------------------------------------------------------- CLI

# rep-types: every trait scale has ten items, some reverse-keyed. A candidate is given a
# keyed value v per scale: each scored item is answered v (keyed +1) or 6 - v (keyed -1),
# so the scale mean is v and pomp 25 (v - 1). The impression scale gets keyed value 1
# (pomp 0, no flag); the attention and infrequency items get an expected answer.
REP_BASE = {"accommodator": 2, "competitor": 4, "empathizer": 3, "hard_worker": 5, "innovator": 1}


def rep_answers(values: dict[str, int], cid: str = "1", **override: int) -> dict[str, Any]:
    q = repprofile.load_questionnaire("rep-types")
    v = {**REP_BASE, "impression": 1, **values}
    answers: dict[str, int] = {}
    for item in q.likert_items:
        if item.scale is None:
            answers[item.id] = (item.expected or [0])[0]
        else:
            answers[item.id] = v[item.scale] if item.keyed == 1 else 6 - v[item.scale]
    answers.update(override)
    return {"candidate_id": cid, "answers": answers}


# role "cr": weights controller 3, rock 4: sum w^2 = 25, a = 0.6, 0.8
# keyed (controller, rock) -> z = v - 3 -> C = 0.6 z_ctl + 0.8 z_rock
CLI_CANDIDATES = [
    ("p3", {"controller": 4, "rock": 2}),  # C = 0.6 - 0.8 = -0.2; rock pomp 25 < 50
    ("p1", {"controller": 5, "rock": 4}),  # C = 1.2 + 0.8 = 2.0
    ("p4", {"controller": 1, "rock": 3}),  # C = -1.2; rock pomp 50 = minimum: meets
    ("p2", {"controller": 2, "rock": 5}),  # C = -0.6 + 1.6 = 1.0
]
CR_ROLE = """\
id: cr
name: "Controller and rock"
description: "For the tests."
questionnaire: "rep-types"
weights: {controller: 3, rock: 4}
minimums: {rock: 50}
rationale: "Hand-computable."
"""
C_ROLE = CR_ROLE.replace("id: cr", "id: ctl").replace("{controller: 3, rock: 4}", "{controller: 1}")
R_ROLE = CR_ROLE.replace("id: cr", "id: rck").replace("{controller: 3, rock: 4}", "{rock: 1}")
# The questionnaire file passed with -q: rep-types with a stated reliability 0.75 and SD
# 0.8 for controller and rock: SEM(mean) = 0.8 * 0.5 = 0.4, SEM(pomp) = 10, SEM(z) = 0.4;
# SE_C = sqrt(0.36 * 0.16 + 0.64 * 0.16) = 0.4
SE_CR = 0.4


def run_cli(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    d = tmp_path_factory.mktemp("cli")
    q = repprofile.load_questionnaire("rep-types")
    data = yaml.safe_load((bundled_dir() / "rep-types.yaml").read_text(encoding="utf-8"))
    for scale in data["scales"]:
        if scale["id"] in ("controller", "rock"):
            scale["reliability"] = 0.75
            scale["sd"] = 0.8
    (d / "q.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (d / "cr.yaml").write_text(CR_ROLE, encoding="utf-8")
    (d / "ctl.yaml").write_text(C_ROLE, encoding="utf-8")
    (d / "rck.yaml").write_text(R_ROLE, encoding="utf-8")
    records = [rep_answers(v, cid) for cid, v in CLI_CANDIDATES]
    records.append(rep_answers({"controller": 3, "rock": 3}, "flag", att01=4))  # C = 0
    records.append(rep_answers({"controller": 5, "rock": 4}, "bad", ctl01=7))  # rejected
    rows = [[r["candidate_id"], *[r["answers"][i] for i in q.item_ids]] for r in records]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["candidate_id", *q.item_ids])
    writer.writerows(rows)
    (d / "all.csv").write_text(buf.getvalue(), encoding="utf-8")
    (d / "good.csv").write_text(
        "\n".join(buf.getvalue().splitlines()[:-1]) + "\n", encoding="utf-8"
    )
    tiny = d / "tiny.yaml"
    tiny.write_text(TINY_REL, encoding="utf-8")
    (d / "tiny-role.yaml").write_text(
        yaml.safe_dump(ROLE.model_dump(mode="json")), encoding="utf-8"
    )
    (d / "tiny.json").write_text(json.dumps(THREE), encoding="utf-8")
    commands = {
        "json": ["rank", "good.csv", "--role", "cr.yaml", "-q", "q.yaml", "--format", "json"],
        "json_all": ["rank", "all.csv", "--role", "cr.yaml", "-q", "q.yaml"],
        "json_top": ["rank", "good.csv", "--role", "cr.yaml", "-q", "q.yaml", "--top", "2"],
        "json_excl": ["rank", "good.csv", "--role", "cr.yaml", "-q", "q.yaml", "--exclude-flagged"],
        "csv": [
            "rank",
            "good.csv",
            "--role",
            "cr.yaml",
            "-q",
            "q.yaml",
            "--format",
            "csv",
            "--top",
            "2",
        ],
        "text": [
            "rank",
            "good.csv",
            "--role",
            "cr.yaml",
            "-q",
            "q.yaml",
            "--format",
            "text",
            "--top",
            "2",
        ],
        "fit": ["fit", "all.csv", "--role", "ctl.yaml", "--role", "rck.yaml"],
        "fit_good": ["fit", "good.csv", "--role", "ctl.yaml", "--role", "rck.yaml"],
        "rank_two_roles": ["rank", "good.csv", "--role", "ctl.yaml", "--role", "rck.yaml"],
        "tiny": ["rank", "tiny.json", "--role", "tiny-role.yaml", "-q", "tiny.yaml"],
        "cut100": ["rank", "good.csv", "--role", "cr.yaml", "--cut", "100"],
        "top_negative": ["rank", "good.csv", "--role", "cr.yaml", "--top", "-1"],
    }
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = {k: pool.submit(run_cli, v, d) for k, v in commands.items()}
        return {k: f.result() for k, f in futures.items()}


def cli_expected(c: float) -> dict[str, float]:
    p = logistic_fit(c) / 100
    return {
        "fit": 100 * p,
        "fit_se": 100 * 1.702 * p * (1 - p) * SE_CR,
        "ci_low": logistic_fit(c - Z90 * SE_CR),
        "ci_high": logistic_fit(c + Z90 * SE_CR),
    }


def test_cli_rank_json(cli: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = cli["json"]
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    # the CLI adds the rejected candidates' errors to the rank() document
    assert set(doc) == {"role", "ranking", "provenance", "errors"}
    assert doc["errors"] == []
    ranking = doc["ranking"]
    # p1 2.0 > p2 1.0 > flag 0.0 > p3 -0.2 > p4 -1.2
    assert [e["candidate_id"] for e in ranking] == ["p1", "p2", "flag", "p3", "p4"]
    assert [e["rank"] for e in ranking] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(
        [e["composite"] for e in ranking], [2.0, 1.0, 0.0, -0.2, -1.2], atol=1e-12
    )
    # p1: fit = 100 / (1 + exp(-3.404)) = 100 / 1.0332400 = 96.7829;
    # C -/+ 1.644854 * 0.4 = 1.342059 .. 2.657941 -> 100 logistic(1.702 x) = 90.7559 .. 98.9269
    p1 = ranking[0]
    assert p1["fit"] == pytest.approx(96.7829, abs=1e-4)
    assert p1["ci_low"] == pytest.approx(90.7559, abs=1e-4)
    assert p1["ci_high"] == pytest.approx(98.9269, abs=1e-4)
    for entry in ranking:
        expected = cli_expected(entry["composite"])
        for key, value in expected.items():
            assert entry[key] == pytest.approx(value, abs=1e-9), (entry["candidate_id"], key)
    # contributions: p1 0.6 * 2 = 1.2, 0.8 * 1 = 0.8
    assert p1["contributions"] == pytest.approx({"controller": 1.2, "rock": 0.8})
    hurdles = {e["candidate_id"]: (e["meets_minimums"], e["failed_minimums"]) for e in ranking}
    assert hurdles == {
        "p1": (True, []),
        "p2": (True, []),
        "flag": (True, []),
        "p3": (False, ["rock"]),
        "p4": (True, []),  # rock pomp 50 at the minimum 50
    }
    valid = {e["candidate_id"]: e["quality_valid"] for e in ranking}
    assert valid == {"p1": True, "p2": True, "flag": False, "p3": True, "p4": True}
    assert doc["provenance"]["role"]["id"] == "cr"
    assert doc["role"]["weights"] == {"controller": 3.0, "rock": 4.0}


def test_cli_rank_rejected_candidate_exit_1(
    cli: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    proc = cli["json_all"]
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert "bad" not in [e["candidate_id"] for e in doc["ranking"]]
    assert len(doc["ranking"]) == 5
    assert [e["candidate_id"] for e in doc["errors"]] == ["bad"]
    assert doc["errors"][0]["item_id"] == "ctl01"


def test_cli_rank_top_and_exclude_flagged(cli: dict[str, subprocess.CompletedProcess[str]]) -> None:
    top = json.loads(cli["json_top"].stdout)
    assert cli["json_top"].returncode == 0
    assert [(e["rank"], e["candidate_id"]) for e in top["ranking"]] == [(1, "p1"), (2, "p2")]
    excl = json.loads(cli["json_excl"].stdout)
    assert [e["candidate_id"] for e in excl["ranking"]] == ["p1", "p2", "p3", "p4"]
    assert [e["rank"] for e in excl["ranking"]] == [1, 2, 3, 4]


def test_cli_rank_csv(cli: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = cli["csv"]
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == [
        "rank",
        "candidate_id",
        "fit",
        "fit_se",
        "ci_low",
        "ci_high",
        "meets_minimums",
        "failed_minimums",
        "quality_valid",
        "contribution_controller",
        "contribution_rock",
    ]
    assert len(rows) == 3  # header and the top 2
    assert rows[1][:2] == ["1", "p1"]
    assert rows[2][:2] == ["2", "p2"]
    for row, c in ((rows[1], 2.0), (rows[2], 1.0)):
        expected = cli_expected(c)
        # CSV numbers are rounded to 4 places (docs/scoring.md, Precision)
        assert row[2] == repr(round(expected["fit"], 4))
        assert row[3] == repr(round(expected["fit_se"], 4))
        assert row[4] == repr(round(expected["ci_low"], 4))
        assert row[5] == repr(round(expected["ci_high"], 4))
        assert row[6:9] == ["true", "", "true"]
    # p2: controller z -1 -> -0.6, rock z 2 -> 1.6
    assert float(rows[2][9]) == pytest.approx(-0.6)
    assert float(rows[2][10]) == pytest.approx(1.6)


def test_cli_rank_text(cli: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = cli["text"]
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Ranking for Controller and rock (cr), fit 0-100, cut 50"
    assert lines[1] == ""
    assert lines[2].split()[:3] == ["RANK", "CANDIDATE", "FIT"]
    # p1: fit 96.8, CI 90.76 .. 98.93 -> "91-99", P(fit > 50) = Phi(2.0 / 0.4) = 1.00
    p1 = lines[3].split()
    assert p1[:6] == ["1", "p1", "96.8", "91-99", "1.00", "ok"]
    assert p1[6] == "ok"
    # the strongest positive scale named first; no norms and no target: no "high"
    assert lines[3].endswith("Controller (POMP 100) and Rock (POMP 75) raise the fit")
    # p2: C = 1.0: fit = 100 / (1 + exp(-1.702)) = 84.58; C -/+ 0.657941 = 0.342059 ..
    # 1.657941 -> 64.16 .. 94.38; P = Phi(1.0 / 0.4) = Phi(2.5) = 0.9938
    p2 = lines[4].split()
    assert p2[:5] == ["2", "p2", "84.6", "64-94", "0.99"]
    assert lines[4].split("ok", 1)[1].strip().startswith("ok")
    assert lines[4].endswith("Rock (POMP 100) raises the fit; Controller (POMP 25) lowers it")
    assert len(lines) == 5


def test_cli_fit_best_role(cli: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = cli["fit"]
    assert proc.returncode == 1  # "bad" is rejected
    doc = json.loads(proc.stdout)
    assert [r["id"] for r in doc["roles"]] == ["ctl", "rck"]
    best = {c["candidate_id"]: c["best_role"] for c in doc["candidates"]}
    # composites (ctl = z_controller, rck = z_rock): p3 (1, -1) -> ctl; p1 (2, 1) -> ctl;
    # p4 (-2, 0) -> rck; p2 (-1, 2) -> rck; flag (0, 0): a tie, the first role
    assert best == {"p3": "ctl", "p1": "ctl", "p4": "rck", "p2": "rck", "flag": "ctl"}
    assert [e["candidate_id"] for e in doc["errors"]] == ["bad"]
    p1 = next(c for c in doc["candidates"] if c["candidate_id"] == "p1")
    assert [f["role"] for f in p1["fits"]] == ["ctl", "rck"]
    # ctl: C = z = 2 -> fit = 100 / (1 + exp(-3.404)) = 96.7829;
    # rck: C = 1 -> 100 / (1 + exp(-1.702)) = 100 / 1.1823185 = 84.5796
    assert p1["fits"][0]["fit"] == pytest.approx(logistic_fit(2.0), abs=1e-9)
    assert p1["fits"][1]["fit"] == pytest.approx(logistic_fit(1.0), abs=1e-9)
    assert p1["fits"][1]["fit"] == pytest.approx(84.5796, abs=1e-4)
    # rck has a rock minimum of 50 too: p3 rock pomp 25 fails it under both roles
    p3 = next(c for c in doc["candidates"] if c["candidate_id"] == "p3")
    assert [f["failed_minimums"] for f in p3["fits"]] == [["rock"], ["rock"]]
    assert cli["fit_good"].returncode == 0


def test_cli_rank_takes_one_role(cli: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = cli["rank_two_roles"]
    assert proc.returncode == 2
    assert "rank takes one --role" in proc.stderr


def test_cli_rank_with_an_own_questionnaire(
    cli: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    proc = cli["tiny"]
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [e["candidate_id"] for e in doc["ranking"]] == ["hi", "mid", "lo"]
    assert doc["ranking"][0]["fit"] == pytest.approx(FIT_HI, abs=1e-9)


def test_cli_rank_cut_outside_0_100_is_a_usage_error(
    cli: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    proc = cli["cut100"]
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "between 0 and 100" in proc.stderr


def test_negative_top_is_refused(
    ranked: FitResult, cli: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    proc = cli["top_negative"]
    assert proc.returncode == 2, (
        f"exit {proc.returncode}: {len(json.loads(proc.stdout)['ranking'])} ranked"
    )
    with pytest.raises(ValueError, match="top"):
        rank(ranked, top=-1)
