"""Norm tables: building them from a hand-made sample, applying them, measurement error.

Every expected number below is worked out by hand from the tiny questionnaire TINY and
the norm sample X_NORM (the arithmetic is in the comments); the library is never used to
compute an expected value.

TINY: answers 1-5; scale ``warm`` = w1, w2 (reverse-keyed: counts as 6 - x), w3; scale
``firm`` = f1, f2, f3. Keyed item values of the norm sample (rows r1..r8):

    warm keyed (w1, 6-w2, w3)  sum  mean     firm (f1, f2, f3)  sum  mean
    r1  1 1 1                    3  1        1 2 1                4  4/3
    r2  2 2 2                    6  2        2 1 2                5  5/3
    r3  2 3 2                    7  7/3      3 2 2                7  7/3
    r4  3 3 3                    9  3        2 3 3                8  8/3
    r5  3 3 3                    9  3        3 3 2                8  8/3
    r6  4 3 4                   11  11/3     4 3 3               10  10/3
    r7  4 4 4                   12  4        3 4 4               11  11/3
    r8  5 5 5                   15  5        4 4 5               13  13/3

warm: mean of the means = 72 / 24 = 3; deviations -2, -1, -2/3, 0, 0, 2/3, 1, 2, squares
sum to 4+1+4/9+0+0+4/9+1+4 = 98/9, variance (n-1) = 98/63 = 14/9, SD = sqrt(14)/3.
Item variances (n-1): w1 1,2,2,3,3,4,4,5 (mean 3, SS 12) -> 12/7; keyed w2
1,2,3,3,3,3,4,5 (SS 10) -> 10/7; w3 = w1 -> 12/7; sum of items: SS of 3,6,7,9,9,11,12,15
about 9 is 36+9+4+0+0+4+9+36 = 98 -> 14. alpha = 3/2 (1 - (34/7)/14) = 3/2 * 64/98 = 48/49.
SEM = SD sqrt(1 - alpha) = sqrt(14)/3 * 1/7 = sqrt(14)/21.

firm: mean = 66 / 24 = 2.75; sums 4,5,7,8,8,10,11,13 about 8.25 have SS
18.0625+10.5625+1.5625+0.0625+0.0625+3.0625+7.5625+22.5625 = 63.5, so the mean score has
variance 63.5/7/9 = 127/126, SD = sqrt(127/126). Items: f1 1,2,3,2,3,4,3,4 SS 7.5; f2
2,1,2,3,3,3,4,4 SS 7.5; f3 1,2,2,3,2,3,4,5 SS 11.5 (all about 2.75). alpha = 3/2 (1 -
26.5/63.5) = 55.5/63.5 = 111/127. SEM = sqrt(127/126) sqrt(16/127) = 4/sqrt(126).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import repprofile
from repprofile import NormTable, build_norms, load_norms
from repprofile._input.answers import RepprofileWarning
from repprofile.stats import percentile_rank, stanine, sten, t_score

SCRIPT = Path(sys.executable).parent / "repprofile"

# The hand samples here are far below the recommended norm sample size on purpose; the
# warning itself is tested in test_build_norms_warns_below_the_recommended_minimum.
pytestmark = pytest.mark.filterwarnings("ignore:The norm sample has")

TINY_DICT: dict[str, Any] = {
    "id": "tiny",
    "version": "1.0",
    "title": "Tiny",
    "response_scale": {"min": 1, "max": 5},
    "scales": [{"id": "warm", "name": "Warm"}, {"id": "firm", "name": "Firm"}],
    "items": [
        {"id": "w1", "text": "W1", "scale": "warm"},
        {"id": "w2", "text": "W2", "scale": "warm", "keyed": -1},
        {"id": "w3", "text": "W3", "scale": "warm"},
        {"id": "f1", "text": "F1", "scale": "firm"},
        {"id": "f2", "text": "F2", "scale": "firm"},
        {"id": "f3", "text": "F3", "scale": "firm"},
    ],
}
TINY = repprofile.Questionnaire.model_validate(TINY_DICT)
ITEMS = ("w1", "w2", "w3", "f1", "f2", "f3")

# Raw answers (w2 as given, i.e. 6 - its keyed value in the module docstring table).
X_NORM: NDArray[np.float64] = np.array(
    [
        [1, 5, 1, 1, 2, 1],
        [2, 4, 2, 2, 1, 2],
        [2, 3, 2, 3, 2, 2],
        [3, 3, 3, 2, 3, 3],
        [3, 3, 3, 3, 3, 2],
        [4, 3, 4, 4, 3, 3],
        [4, 2, 4, 3, 4, 4],
        [5, 1, 5, 4, 4, 5],
    ],
    dtype=np.float64,
)

MEAN_WARM = 3.0
SD_WARM = math.sqrt(14.0) / 3.0  # 1.2472191...
ALPHA_WARM = 48.0 / 49.0  # 0.9795918...
SEM_WARM = math.sqrt(14.0) / 21.0  # SD * sqrt(1/49) = 0.1781741...
MEAN_FIRM = 2.75
SD_FIRM = math.sqrt(127.0 / 126.0)  # 1.0039604...
ALPHA_FIRM = 111.0 / 127.0  # 0.8740157...
SEM_FIRM = 4.0 / math.sqrt(126.0)  # 0.3563483...

Z90 = 1.6448536269514722  # standard normal quantile 0.95
Z95 = 1.959963984540054  # standard normal quantile 0.975

# Candidates to apply the norms to (raw answers; keyed warm values in brackets):
#   A  warm [3,3,3] mean 3  (equals a norm value with count 2)  firm 3,3,3 mean 3
#   B  warm [5,5,5] mean 5  (= the norm maximum, count 1)       firm 1,1,1 mean 1 (below all)
#   C  warm [1,1,1] mean 1  (= the norm minimum, count 1)       firm 5,5,5 mean 5 (above all)
#   D  warm [5,5,5] mean 5                                      firm 3,3,3 mean 3
#   E  warm [4,4,4] mean 4                                      firm 3,3,3 mean 3
Y_APPLY: NDArray[np.float64] = np.array(
    [
        [3, 3, 3, 3, 3, 3],
        [5, 1, 5, 1, 1, 1],
        [1, 5, 1, 5, 5, 5],
        [5, 1, 5, 3, 3, 3],
        [4, 2, 4, 3, 3, 3],
    ],
    dtype=np.float64,
)
IDS = ("A", "B", "C", "D", "E")


def approx(v: float) -> Any:
    return pytest.approx(v, rel=1e-12, abs=1e-12)


@pytest.fixture(scope="module")
def table() -> NormTable:
    return build_norms(TINY, X_NORM, description="hand sample", created="2026-01-02")


def scales_of(result: repprofile.ScoreResult, cid: str) -> dict[str, dict[str, Any]]:
    for p in result.to_dict()["profiles"]:
        if p["candidate_id"] == cid:
            out: dict[str, dict[str, Any]] = p["scales"]
            return out
    raise AssertionError(f"no profile {cid}")


def profile_of(result: repprofile.ScoreResult, cid: str) -> dict[str, Any]:
    for p in result.to_dict()["profiles"]:
        if p["candidate_id"] == cid:
            out: dict[str, Any] = p
            return out
    raise AssertionError(f"no profile {cid}")


def tiny_with(**scale_updates: dict[str, Any]) -> repprofile.Questionnaire:
    """TINY with some scale fields set (e.g. warm={"reliability": 0.8, "sd": 0.5})."""
    d = copy.deepcopy(TINY_DICT)
    for s in d["scales"]:
        s.update(scale_updates.get(s["id"], {}))
    return repprofile.Questionnaire.model_validate(d)


# --------------------------------------------------------------------------- build


def test_build_norms_statistics(table: NormTable) -> None:
    assert table.questionnaire_id == "tiny"
    assert table.questionnaire_version == "1.0"
    assert table.description == "hand sample"
    assert table.created == "2026-01-02"
    assert table.simulated is False
    assert table.n == 8
    assert table.format == "repprofile-norms/1"
    assert list(table.scales) == ["warm", "firm"]

    warm = table.scales["warm"]
    assert warm.n == 8
    assert warm.mean == approx(MEAN_WARM)  # 72 / 24
    assert warm.sd == approx(SD_WARM)  # sqrt(14/9), n - 1 denominator
    assert warm.sd != approx(math.sqrt(98 / 9 / 8))  # not the n-denominator SD 1.1667
    assert warm.alpha == approx(ALPHA_WARM)  # 48/49
    # distinct means ascending; 3 twice (r4, r5)
    assert warm.values == [1.0, 2.0, 7 / 3, 3.0, 11 / 3, 4.0, 5.0]
    assert warm.counts == [1, 1, 1, 2, 1, 1, 1]

    firm = table.scales["firm"]
    assert firm.n == 8
    assert firm.mean == approx(MEAN_FIRM)  # 66 / 24
    assert firm.sd == approx(SD_FIRM)  # sqrt(63.5 / 63)
    assert firm.alpha == approx(ALPHA_FIRM)  # 111/127
    assert firm.values == [4 / 3, 5 / 3, 7 / 3, 8 / 3, 10 / 3, 11 / 3, 13 / 3]
    assert firm.counts == [1, 1, 1, 2, 1, 1, 1]  # 8/3 twice (r4, r5)
    assert firm.omega_total is not None
    assert 0.0 < firm.omega_total <= 1.0


def test_build_norms_is_deterministic_and_takes_a_date(table: NormTable) -> None:
    again = build_norms(TINY, X_NORM, description="hand sample", created="2026-01-02")
    assert again.to_json() == table.to_json()
    as_date = build_norms(TINY, X_NORM, description="hand sample", created=dt.date(2026, 1, 2))
    assert as_date.to_json() == table.to_json()
    # the JSON round-trips through load_norms unchanged
    assert load_norms(json.loads(table.to_json())).to_json() == table.to_json()


def test_build_norms_simulated_flag() -> None:
    sim = build_norms(TINY, X_NORM, description="sim", created="2026-01-02", simulated=True)
    assert sim.simulated is True
    assert json.loads(sim.to_json())["simulated"] is True


def test_build_norms_refuses_identical_scores() -> None:
    # every candidate answers 3 to every warm item: warm mean 3 for all, SD 0 (z would
    # divide by 0). The constant items also draw reliability's zero-variance warning.
    same = X_NORM.copy()
    same[:, 0:3] = 3.0
    with (
        pytest.warns(RepprofileWarning) as caught,
        pytest.raises(repprofile.InputError, match="'warm' has 8 scored candidates with identical"),
    ):
        build_norms(TINY, same, description="flat", created="2026-01-02")
    assert any("w1, w2, w3 have zero variance" in str(w.message) for w in caught)


def test_build_norms_refuses_identical_scores_from_varying_items() -> None:
    # keyed w1 + keyed w2 + w3 = 9 in every row, so every warm mean is 3, yet each item
    # varies: w1 3,2,4,1,5,3,2,4; w3 3,3,3,3,3,3,4,2; keyed w2 = 9 - w1 - w3
    same = X_NORM.copy()
    w1 = np.array([3, 2, 4, 1, 5, 3, 2, 4], dtype=np.float64)
    w3 = np.array([3, 3, 3, 3, 3, 3, 4, 2], dtype=np.float64)
    same[:, 0], same[:, 2] = w1, w3
    same[:, 1] = 6 - (9 - w1 - w3)
    with pytest.raises(repprofile.InputError, match="identical"):
        build_norms(TINY, same, description="flat", created="2026-01-02")


# --------------------------------------------------------------------------- arithmetic


def test_standard_score_helpers_on_exact_halves_and_clipping() -> None:
    z = np.array([-3.0, -0.25, 0.0, 0.25, 0.5, 1.25, 3.0])
    # T = 50 + 10 z
    np.testing.assert_array_equal(t_score(z), [20.0, 47.5, 50.0, 52.5, 55.0, 62.5, 80.0])
    # sten floor(2z) + 6: -6+6=0 -> 1, floor(-0.5)=-1 -> 5, 6, floor(0.5)=0 -> 6,
    # 1 -> 7, floor(2.5)=2 -> 8, 6+6=12 -> 10
    np.testing.assert_array_equal(sten(z), [1.0, 5.0, 6.0, 6.0, 7.0, 8.0, 10.0])
    # stanine round(2z + 5), halves up: -1 -> 1, 4.5 -> 5, 5, 5.5 -> 6, 6, 7.5 -> 8, 11 -> 9
    np.testing.assert_array_equal(stanine(z), [1.0, 5.0, 5.0, 6.0, 6.0, 8.0, 9.0])
    # mid-point percentile in the sample {1, 2, 2, 4}: below/equal counts
    values = np.array([1.0, 2.0, 4.0])
    counts = np.array([1.0, 2.0, 1.0])
    x = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 9.0, np.nan])
    # 0.5: 0 -> 0; 1: (0 + 1/2)/4 = 12.5; 2: (1 + 2/2)/4 = 50; 3: 3/4 = 75;
    # 4: (3 + 1/2)/4 = 87.5; 9: 4/4 = 100; NaN stays NaN
    np.testing.assert_array_equal(
        percentile_rank(x, values, counts), [0.0, 12.5, 50.0, 75.0, 87.5, 100.0, np.nan]
    )


# --------------------------------------------------------------------------- apply

# Hand values for A, B, C (z = (mean - norm mean) / norm SD):
#   A warm z = 0                           T 50     sten 6  stanine round(5)=5
#   A firm z = 0.25/1.00396 = 0.249014     T 52.49  sten floor(0.498)+6 = 6
#                                                   stanine floor(0.498+5.5) = 5
#   B warm z = 2/1.24722 = 1.603567        T 66.04  sten floor(3.207)+6 = 9, stanine 8
#   B firm z = -1.75/1.00396 = -1.743097   T 32.57  sten floor(-3.486)+6 = 2, stanine 2
#   C warm z = -1.603567                   T 33.96  sten floor(-3.207)+6 = 2,
#                                                   stanine floor(2.293) = 2
#   C firm z = 2.25/1.00396 = 2.241124     T 72.41  sten floor(4.482)+6 = 10, stanine 9
# Percentiles (norm warm: 1,2,7/3,3,3,11/3,4,5; firm: 4/3,5/3,7/3,8/3,8/3,10/3,11/3,13/3):
#   A warm 3: 3 below, 2 equal -> 100 (3 + 1)/8 = 50;  A firm 3: 5 below -> 62.5
#   B warm 5: 7 below, 1 equal -> 93.75;               B firm 1: none below -> 0
#   C warm 1: 0 below, 1 equal -> 6.25;                C firm 5: all 8 below -> 100
EXPECTED: dict[tuple[str, str], dict[str, float]] = {
    ("A", "warm"): {
        "mean": 3.0,
        "z": 0.0,
        "t": 50.0,
        "percentile": 50.0,
        "sten": 6,
        "stanine": 5,
    },
    ("A", "firm"): {
        "mean": 3.0,
        "z": 0.25 / SD_FIRM,
        "t": 50 + 10 * 0.25 / SD_FIRM,
        "percentile": 62.5,
        "sten": 6,
        "stanine": 5,
    },
    ("B", "warm"): {
        "mean": 5.0,
        "z": 2 / SD_WARM,
        "t": 50 + 10 * 2 / SD_WARM,
        "percentile": 93.75,
        "sten": 9,
        "stanine": 8,
    },
    ("B", "firm"): {
        "mean": 1.0,
        "z": -1.75 / SD_FIRM,
        "t": 50 - 10 * 1.75 / SD_FIRM,
        "percentile": 0.0,
        "sten": 2,
        "stanine": 2,
    },
    ("C", "warm"): {
        "mean": 1.0,
        "z": -2 / SD_WARM,
        "t": 50 - 10 * 2 / SD_WARM,
        "percentile": 6.25,
        "sten": 2,
        "stanine": 2,
    },
    ("C", "firm"): {
        "mean": 5.0,
        "z": 2.25 / SD_FIRM,
        "t": 50 + 10 * 2.25 / SD_FIRM,
        "percentile": 100.0,
        "sten": 10,
        "stanine": 9,
    },
}


def test_standard_scores_by_hand(table: NormTable) -> None:
    # spot-check the decimals quoted in the comments, so a typo in them cannot hide
    assert abs(0.25 / SD_FIRM - 0.249014) < 1e-6
    assert abs(2 / SD_WARM - 1.603567) < 1e-6
    assert abs(2.25 / SD_FIRM - 2.241124) < 1e-6
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=table)
    nd = result.normed
    for (cid, sid), exp in EXPECTED.items():
        got = scales_of(result, cid)[sid]
        row, col = IDS.index(cid), TINY.scale_ids.index(sid)
        for field, value in exp.items():
            assert got[field] == approx(value), (cid, sid, field)
            if field == "mean":
                assert result.mean[row, col] == approx(value)
            else:
                assert getattr(nd, field)[row, col] == approx(value), (cid, sid, field)
        assert isinstance(got["sten"], int)
        assert isinstance(got["stanine"], int)


# Measurement error at 90%: half-width warm Z90 * sqrt(14)/21 = 0.293070,
# firm Z90 * 4/sqrt(126) = 0.586141.
#   A warm [2.706930, 3.293070]: low has 1,2,7/3 below -> 37.5; high 5 below -> 62.5
#         T: 50 -/+ 10 Z90 sqrt(1 - 48/49) = 50 -/+ 10 * 1.644854/7 = 47.650209, 52.349791
#   A firm [2.413859, 3.586141]: low 3 below (7/3 = 2.333 < 2.414) -> 37.5;
#         high 6 below (10/3 = 3.333 < 3.586) -> 75
#   B warm [4.706930, 5.293070]: 7 below -> 87.5; 8 below -> 100
#   B firm [0.413859, 1.586141]: 0 -> 0; 4/3 below -> 12.5
#   C firm [4.413859, 5.586141]: 100, 100
def ci_expected(mean: float, sid: str, z_crit: float) -> dict[str, float]:
    sd, sem, norm_mean = (
        (SD_WARM, SEM_WARM, MEAN_WARM) if sid == "warm" else (SD_FIRM, SEM_FIRM, MEAN_FIRM)
    )
    low, high = mean - z_crit * sem, mean + z_crit * sem
    return {
        "sem": sem,
        "ci_low": low,
        "ci_high": high,
        "t_ci_low": 50 + 10 * (low - norm_mean) / sd,
        "t_ci_high": 50 + 10 * (high - norm_mean) / sd,
    }


CI_PERCENTILES_90 = {
    ("A", "warm"): (37.5, 62.5),
    ("A", "firm"): (37.5, 75.0),
    ("B", "warm"): (87.5, 100.0),
    ("B", "firm"): (0.0, 12.5),
    ("C", "firm"): (100.0, 100.0),
}


def test_measurement_error_at_90_percent(table: NormTable) -> None:
    assert abs(Z90 * SEM_WARM - 0.293070) < 1e-6
    assert abs(Z90 * SEM_FIRM - 0.586141) < 1e-6
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=table)
    assert result.provenance.ci_level == 0.90
    nd = result.normed
    assert nd.z_crit == approx(Z90)
    np.testing.assert_allclose(nd.sem, [SEM_WARM, SEM_FIRM], rtol=1e-12)
    for (cid, sid), (p_low, p_high) in CI_PERCENTILES_90.items():
        got = scales_of(result, cid)[sid]
        row, col = IDS.index(cid), TINY.scale_ids.index(sid)
        exp = ci_expected(EXPECTED[(cid, sid)]["mean"], sid, Z90)
        for field, value in exp.items():
            assert got[field] == approx(value), (cid, sid, field)
            arr = nd.sem[col] if field == "sem" else getattr(nd, field)[row, col]
            assert arr == approx(value), (cid, sid, field)
        assert got["percentile_ci_low"] == p_low
        assert got["percentile_ci_high"] == p_high
        assert nd.percentile_ci_low[row, col] == p_low
        assert nd.percentile_ci_high[row, col] == p_high
    # the T interval of A warm, from the comment: 50 -/+ 10 * Z90 / 7
    a_warm = scales_of(result, "A")["warm"]
    assert a_warm["t_ci_low"] == pytest.approx(47.650209, abs=1e-6)
    assert a_warm["t_ci_high"] == pytest.approx(52.349791, abs=1e-6)


def test_measurement_error_at_95_percent(table: NormTable) -> None:
    # half-widths: warm Z95 sqrt(14)/21 = 0.349215, firm Z95 4/sqrt(126) = 0.698430
    # A warm [2.650785, 3.349215]: 37.5 / 62.5;  A firm [2.301570, 3.698430]: 2 below
    # (7/3 = 2.333 is now inside) -> 25, 7 below (11/3 = 3.667 < 3.698) -> 87.5
    assert abs(Z95 * SEM_FIRM - 0.698430) < 1e-6
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=table, ci=0.95)
    assert result.provenance.ci_level == 0.95
    assert result.normed.z_crit == approx(Z95)
    for sid, (p_low, p_high) in {"warm": (37.5, 62.5), "firm": (25.0, 87.5)}.items():
        got = scales_of(result, "A")[sid]
        for field, value in ci_expected(3.0, sid, Z95).items():
            assert got[field] == approx(value), (sid, field)
        assert (got["percentile_ci_low"], got["percentile_ci_high"]) == (p_low, p_high)
    assert scales_of(result, "A")["warm"]["t_ci_low"] == pytest.approx(
        50 - 10 * Z95 / 7, abs=1e-12
    )  # 47.200051


def test_sem_from_omega_total(table: NormTable) -> None:
    omega = {sid: table.scales[sid].omega_total for sid in ("warm", "firm")}
    assert omega["warm"] is not None
    assert omega["firm"] is not None
    # omega differs from alpha here, so the choice is visible in the SEM
    assert abs(omega["firm"] - ALPHA_FIRM) > 1e-4
    result = repprofile.score(
        TINY, Y_APPLY, candidate_ids=IDS, norms=table, reliability="omega_total"
    )
    for sid, sd in (("warm", SD_WARM), ("firm", SD_FIRM)):
        r = omega[sid]
        assert r is not None
        sem = sd * math.sqrt(1 - r)
        got = scales_of(result, "A")[sid]
        assert got["sem"] == approx(sem)
        assert got["ci_low"] == approx(3.0 - Z90 * sem)
        assert got["ci_high"] == approx(3.0 + Z90 * sem)
    assert result.normed.reliability_source == ["norm table (omega_total)"] * 2


def test_without_norms_or_reliability_everything_is_null() -> None:
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS)
    assert result.provenance.norms is None
    for cid in IDS:
        p = profile_of(result, cid)
        assert p["type_clarity"] is None
        assert p["types"] is None
        for sid in ("warm", "firm"):
            got = p["scales"][sid]
            assert got["mean"] is not None
            for field in (
                "z",
                "t",
                "percentile",
                "sten",
                "stanine",
                "sem",
                "ci_low",
                "ci_high",
                "t_ci_low",
                "t_ci_high",
                "percentile_ci_low",
                "percentile_ci_high",
            ):
                assert got[field] is None, (cid, sid, field)
    assert np.isnan(result.normed.z).all()
    assert np.isnan(result.normed.sem).all()
    assert "NaN" not in result.to_json()


def test_questionnaire_reliability_without_norms() -> None:
    q = tiny_with(warm={"reliability": 0.8, "sd": 0.5})
    result = repprofile.score(q, Y_APPLY, candidate_ids=IDS)
    # sem = 0.5 sqrt(1 - 0.8) = 0.5 * 0.4472136 = 0.2236068; 90% half-width 0.367800
    sem = 0.5 * math.sqrt(0.2)
    assert sem == pytest.approx(0.2236068, abs=1e-7)
    a = scales_of(result, "A")
    assert a["warm"]["sem"] == approx(sem)
    assert a["warm"]["ci_low"] == approx(3.0 - Z90 * sem)  # 2.632200
    assert a["warm"]["ci_high"] == approx(3.0 + Z90 * sem)  # 3.367800
    assert a["warm"]["ci_low"] == pytest.approx(2.632200, abs=1e-6)
    for field in ("z", "t", "percentile", "sten", "stanine", "t_ci_low", "percentile_ci_low"):
        assert a["warm"][field] is None, field
    # firm states neither: nothing guessed
    for field in ("sem", "ci_low", "ci_high", "z", "t"):
        assert a["firm"][field] is None, field
    assert result.normed.reliability_source == ["questionnaire file", None]


def test_norm_table_reliability_and_sd_take_precedence(table: NormTable) -> None:
    # same id and version as TINY, so the table applies; its alpha and SD win
    q = tiny_with(warm={"reliability": 0.8, "sd": 0.5})
    result = repprofile.score(q, Y_APPLY, candidate_ids=IDS, norms=table)
    assert scales_of(result, "A")["warm"]["sem"] == approx(SEM_WARM)
    assert result.normed.reliability_source[0] == "norm table (alpha)"


def test_score_loads_norms_from_a_path(table: NormTable, tmp_path: Path) -> None:
    path = tmp_path / "norms.json"
    path.write_text(table.to_json(), encoding="utf-8")
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=path)
    assert scales_of(result, "B")["warm"]["percentile"] == 93.75


# --------------------------------------------------------------------------- refusals


def test_norms_of_another_version_are_refused(table: NormTable) -> None:
    other = table.model_copy(update={"questionnaire_version": "9.9.9"})
    with pytest.raises(repprofile.InputError) as info:
        repprofile.score(TINY, Y_APPLY, norms=other)
    msg = str(info.value)
    assert "9.9.9" in msg
    assert "1.0" in msg
    # and the other way round: a questionnaire of another version, the original table
    q2 = repprofile.Questionnaire.model_validate({**TINY_DICT, "version": "2.0"})
    with pytest.raises(repprofile.InputError) as info2:
        repprofile.score(q2, Y_APPLY, norms=table)
    assert "2.0" in str(info2.value)
    assert "1.0" in str(info2.value)


def test_norms_of_another_questionnaire_are_refused(table: NormTable) -> None:
    other = table.model_copy(update={"questionnaire_id": "other"})
    with pytest.raises(repprofile.InputError, match="other"):
        repprofile.score(TINY, Y_APPLY, norms=other)


def test_norm_table_missing_a_scale_is_refused(table: NormTable) -> None:
    partial = table.model_copy(update={"scales": {"warm": table.scales["warm"]}})
    with pytest.raises(repprofile.InputError, match="firm"):
        repprofile.score(TINY, Y_APPLY, norms=partial)


def test_load_norms_malformed_file(tmp_path: Path, table: NormTable) -> None:
    bad = tmp_path / "broken-norms.json"
    bad.write_text('{"format": "repprofile-norms/1", ', encoding="utf-8")
    with pytest.raises(repprofile.InputError) as info:
        load_norms(bad)
    assert "broken-norms.json" in str(info.value)
    # valid JSON, but not a norm table (a scale's sd missing)
    data = json.loads(table.to_json())
    del data["scales"]["firm"]["sd"]
    wrong = tmp_path / "wrong-norms.json"
    wrong.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(repprofile.InputError) as info2:
        load_norms(wrong)
    assert "wrong-norms.json" in str(info2.value)
    assert "scales.firm.sd" in str(info2.value)
    with pytest.raises(repprofile.InputError, match=re.escape("absent-norms.json")):
        load_norms(tmp_path / "absent-norms.json")
    # through score, too
    with pytest.raises(repprofile.InputError, match=re.escape("broken-norms.json")):
        repprofile.score(TINY, Y_APPLY, norms=bad)


# --------------------------------------------------------------------------- type clarity

# With alpha 48/49 and 111/127: SE_diff = sqrt(1/49 + 16/127) = sqrt(0.0204082 + 0.1259843)
# = 0.3826126; at 90% the threshold is Z90 * 0.3826126 = 0.629342.
#   D: warm pomp 100 > firm pomp 50 -> primary warm. z 2/SD_WARM - 0.25/SD_FIRM
#      = 1.603567 - 0.249014 = 1.354554 > 0.629 -> clear
#   E: warm pomp 75 > 50 -> primary warm. z 1/SD_WARM - 0.25/SD_FIRM
#      = 0.801784 - 0.249014 = 0.552770 < 0.629 -> mixed, types [warm, firm]
#   A: pomps tie at 50 -> primary warm (listed first); z 0 - 0.249 < 0 -> mixed
#   B: warm 100, firm 0: 1.603567 + 1.743097 = 3.346664 -> clear
#   C: firm 100 > warm 0 -> primary firm: 2.241124 + 1.603567 = 3.844692 -> clear


def test_type_clarity(table: NormTable) -> None:
    threshold = Z90 * math.sqrt((1 - ALPHA_WARM) + (1 - ALPHA_FIRM))
    assert threshold == pytest.approx(0.629342, abs=1e-6)
    assert abs(2 / SD_WARM - 0.25 / SD_FIRM - 1.354554) < 1e-6
    assert abs(1 / SD_WARM - 0.25 / SD_FIRM - 0.552770) < 1e-6
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=table)
    expected = {
        # A answers 3 throughout: both POMPs 50, a tie, so no type (not the first scale)
        "A": (None, None, None, None),
        "B": ("warm", "firm", "clear", None),
        "C": ("firm", "warm", "clear", None),
        "D": ("warm", "firm", "clear", None),
        "E": ("warm", "firm", "mixed", ["warm", "firm"]),
    }
    for cid, (first, second, clarity, types) in expected.items():
        p = profile_of(result, cid)
        assert (p["primary_type"], p["secondary_type"]) == (first, second), cid
        assert p["type_clarity"] == clarity, cid
        assert p["types"] == types, cid


def test_type_clarity_of_a_single_profile(table: NormTable) -> None:
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=table)
    # D is row 3: clear (1.354554 > 0.629342, see above); row 0 (A) is tied
    assert result.profile("D").type_clarity == "clear"
    assert result.profile("D").types is None


def test_type_clarity_with_a_rejected_candidate(table: NormTable) -> None:
    # "bad" answers 9 to w1 (outside 1-5) and is rejected; D and A as in test_type_clarity
    y = np.vstack([[9, 3, 3, 3, 3, 3], Y_APPLY[3], Y_APPLY[0]])
    result = repprofile.score(TINY, y, candidate_ids=["bad", "D", "A"], norms=table)
    got = {p["candidate_id"]: p["type_clarity"] for p in result.to_dict()["profiles"]}
    assert got == {"D": "clear", "A": None}  # A: tied POMPs, no type, so no clarity


def test_type_clarity_null_without_norms() -> None:
    # even with questionnaire reliabilities there are no z scores without norms
    q = tiny_with(warm={"reliability": 0.9, "sd": 1.0}, firm={"reliability": 0.9, "sd": 1.0})
    for questionnaire in (TINY, q):
        result = repprofile.score(questionnaire, Y_APPLY, candidate_ids=IDS)
        for cid in IDS:
            p = profile_of(result, cid)
            assert p["type_clarity"] is None
            assert p["types"] is None


# --------------------------------------------------------------------------- provenance


def test_provenance_names_the_norm_table(table: NormTable) -> None:
    result = repprofile.score(TINY, Y_APPLY, candidate_ids=IDS, norms=table)
    prov = result.to_dict()["provenance"]["norms"]
    # SHA-256 of the table's canonical JSON (sorted keys), recomputed from its file text
    canonical = json.dumps(json.loads(table.to_json()), sort_keys=True)
    assert prov == {
        "description": "hand sample",
        "created": "2026-01-02",
        "n": 8,
        "simulated": False,
        "sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    }
    sim = build_norms(TINY, X_NORM, description="simulated pool", simulated=True)
    prov_sim = repprofile.score(TINY, Y_APPLY, norms=sim).provenance.norms
    assert prov_sim is not None
    assert prov_sim.simulated is True
    assert prov_sim.description == "simulated pool"
    assert prov_sim.sha256 != prov["sha256"]


# --------------------------------------------------------------------------- CLI


def _csv(rows: NDArray[np.float64], ids: tuple[str, ...] | None = None) -> str:
    lines = ["candidate_id," + ",".join(ITEMS)]
    for i, row in enumerate(rows):
        cid = ids[i] if ids else f"n{i + 1}"
        lines.append(cid + "," + ",".join(str(int(v)) for v in row))
    return "\n".join(lines) + "\n"


CLI_COMMANDS: dict[str, tuple[str, ...]] = {
    "build": (
        "norms",
        "build",
        "norm.csv",
        "-q",
        "tiny.yaml",
        "-o",
        "built.json",
        "--description",
        "d",
        "--date",
        "2026-01-02",
    ),
    "score": ("score", "apply.csv", "-q", "tiny.yaml", "--norms", "norms.json", "--format", "json"),
    "simulated": ("score", "apply.csv", "-q", "tiny.yaml", "--norms", "sim.json"),
    "ci95": ("score", "apply.csv", "-q", "tiny.yaml", "--norms", "norms.json", "--ci", "95"),
    "ci2": ("score", "apply.csv", "-q", "tiny.yaml", "--norms", "norms.json", "--ci", "2"),
    "ci150": ("score", "apply.csv", "-q", "tiny.yaml", "--ci", "150"),
}


@pytest.fixture(scope="module")
def cli(
    tmp_path_factory: pytest.TempPathFactory, table: NormTable
) -> Iterator[tuple[Path, dict[str, subprocess.CompletedProcess[str]]]]:
    work = tmp_path_factory.mktemp("norms-cli")
    (work / "tiny.yaml").write_text(json.dumps(TINY_DICT), encoding="utf-8")  # JSON is YAML
    (work / "norm.csv").write_text(_csv(X_NORM), encoding="utf-8")
    (work / "apply.csv").write_text(_csv(Y_APPLY, IDS), encoding="utf-8")
    (work / "norms.json").write_text(table.to_json(), encoding="utf-8")
    sim = build_norms(TINY, X_NORM, description="sim pool", created="2026-01-02", simulated=True)
    (work / "sim.json").write_text(sim.to_json(), encoding="utf-8")

    def run(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], cwd=work, capture_output=True, text=True, timeout=120
        )

    with ThreadPoolExecutor(max_workers=len(CLI_COMMANDS)) as pool:
        futures = {name: pool.submit(run, args) for name, args in CLI_COMMANDS.items()}
        yield work, {name: f.result() for name, f in futures.items()}


def test_cli_norms_build_matches_build_norms(
    cli: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    work, out = cli
    proc = out["build"]
    assert proc.returncode == 0, proc.stderr
    expected = build_norms(TINY, X_NORM, description="d", created="2026-01-02")
    text = (work / "built.json").read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(expected.to_json())
    assert text == expected.to_json() + "\n"
    assert "8 candidates" in proc.stderr
    assert (
        "repprofile: warning: The norm sample has 8 scored candidates, below the "
        "recommended minimum of 100 (max(100, 3 x 6 scored items))"
    ) in proc.stderr
    assert (
        "repprofile: quality index mahalanobis_d2: NOT supported (the covariance of 6 "
        "items from n = 6 people is singular: D^2 needs more people than items (n > 6))"
    ) in proc.stderr
    assert (
        "repprofile: quality index psychsyn: supported (10 item pairs correlate above 0.6)"
    ) in proc.stderr


@pytest.mark.filterwarnings("error")
def test_build_norms_warns_below_the_recommended_minimum() -> None:
    # TINY has 6 scored items: minimum max(100, 3 * 6) = 100; the sample has 8. Two of
    # them are flagged by longstring/IRV, leaving 6 for the covariance of 6 items: singular.
    with pytest.warns(RepprofileWarning) as caught:
        build_norms(TINY, X_NORM, description="d", created="2026-01-02")
    (w,) = caught
    assert str(w.message) == (
        "The norm sample has 8 scored candidates, below the recommended minimum of 100 "
        "(max(100, 3 x 6 scored items)): the norm table holds the covariance of the 6 "
        "items that Mahalanobis D^2 of new candidates is measured against, and a "
        "covariance of p items needs n well above p; with fewer, D^2 is unstable (here "
        "it is undefined: more than 6 candidates not flagged by longstring, IRV, "
        "attention or response time are needed). Scale norms from a small sample are "
        "imprecise too. See docs/response-quality.md."
    )


@pytest.mark.filterwarnings("error")
def test_build_norms_minimum_is_three_per_item() -> None:
    from repprofile._analysis.simulate import simulate_answers

    q = repprofile.load_questionnaire("rep-types")  # 77 scored items: 3 x 77 = 231
    x, _ = simulate_answers(q, 231, seed=4)
    table = build_norms(q, x, description="d", created="2026-01-02")  # no warning
    assert table.n == 231
    with pytest.warns(RepprofileWarning, match=r"has 230 scored .* minimum of 231"):
        small = build_norms(q, x[:230], description="d", created="2026-01-02")
    ref = table.quality_reference
    assert ref is not None
    assert ref.n == 231  # nobody flagged by longstring, IRV, attention or time
    assert table.quality_support()["mahalanobis_d2"] == (
        True,
        "n = 231 > 77 items, p from Hotelling's F(77, 154)",
    )
    assert small.quality_support()["mahalanobis_d2"] == (
        True,
        "n = 230 > 77 items, p from Hotelling's F(77, 153); but below the recommended "
        "minimum of 231 (max(100, 3 x 77 items)): the covariance is poorly estimated, so "
        "D^2 depends on who happened to be in the sample and the flag loses power as n "
        "nears the number of items",
    )


def test_quality_support_says_why_not() -> None:
    table = build_norms(TINY, X_NORM, description="d", created="2026-01-02")
    support = table.quality_support()
    assert set(support) == {
        "longstring",
        "irv",
        "even_odd",
        "attention_failures",
        "seconds_per_item",
        "mahalanobis_d2",
        "psychsyn",
    }
    assert support["irv"] == (True, "needs no reference sample")
    assert support["mahalanobis_d2"] == (
        False,
        "the covariance of 6 items from n = 6 people is singular: D^2 needs more people "
        "than items (n > 6)",
    )
    assert support["psychsyn"] == (True, "10 item pairs correlate above 0.6")
    data = table.model_dump()
    old = NormTable.model_validate({**data, "quality_reference": None})
    why = "the table has no quality_reference (built by an older repprofile or edited)"
    assert old.quality_support()["mahalanobis_d2"] == (False, why)
    assert old.quality_support()["psychsyn"] == (False, why)
    ref = dict(data["quality_reference"], synonym_pairs=[["w3", "w1"], ["f1", "w1"]])
    two = NormTable.model_validate({**data, "quality_reference": ref})
    assert two.quality_support()["psychsyn"] == (
        False,
        "2 item pair(s) correlate above 0.6 in the norm sample; at least 3 are needed",
    )


def test_cli_score_with_norms(
    cli: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    _, out = cli
    proc = out["score"]
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED" not in proc.stderr
    data = json.loads(proc.stdout)
    by_id = {p["candidate_id"]: p for p in data["profiles"]}
    for (cid, sid), exp in EXPECTED.items():
        got = by_id[cid]["scales"][sid]
        assert got["t"] == approx(exp["t"]), (cid, sid)
        assert got["percentile"] == exp["percentile"], (cid, sid)
    assert by_id["A"]["scales"]["warm"]["ci_low"] == approx(3.0 - Z90 * SEM_WARM)
    assert data["provenance"]["norms"]["description"] == "hand sample"
    assert data["provenance"]["norms"]["simulated"] is False
    assert data["provenance"]["ci_level"] == 0.9


def test_cli_warns_about_simulated_norms(
    cli: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    _, out = cli
    proc = out["simulated"]
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED" in proc.stderr
    assert "sim pool" in proc.stderr
    assert json.loads(proc.stdout)["provenance"]["norms"]["simulated"] is True


def test_cli_ci_as_percent(
    cli: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    _, out = cli
    proc = out["ci95"]
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["provenance"]["ci_level"] == 0.95
    a_firm = next(p for p in data["profiles"] if p["candidate_id"] == "A")["scales"]["firm"]
    assert a_firm["ci_low"] == approx(3.0 - Z95 * SEM_FIRM)  # 2.301570
    assert a_firm["percentile_ci_low"] == 25.0


def test_cli_ci_out_of_range_exits_2(
    cli: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    _, out = cli
    proc = out["ci150"]
    assert proc.returncode == 2
    assert "--ci" in proc.stderr
    assert proc.stdout == ""


def test_cli_ci_2_exits_2(
    cli: tuple[Path, dict[str, subprocess.CompletedProcess[str]]],
) -> None:
    _, out = cli
    proc = out["ci2"]
    assert proc.returncode == 2, proc.stdout[:300]
    assert "--ci" in proc.stderr
