"""Intraclass correlations against R psych 2.2.9 ``ICC()`` and rwg worked by hand.

The reference values come from tests/reference/icc/make_icc.R (its printed output is
icc_R_output.txt beside it); R is not needed to run these tests.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from repprofile.stats import ICC_TYPES, icc, rwg

REF = Path(__file__).parent / "reference" / "icc"
FIELDS = ("icc", "f", "df1", "df2", "p", "lower", "upper")


def _ratings(name: str) -> np.ndarray:
    with (REF / f"{name}_ratings.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    return np.array(rows, dtype=float)


def _psych(name: str, suffix: str = "_psych") -> dict[str, dict[str, float]]:
    with (REF / f"{name}{suffix}.csv").open(encoding="utf-8") as fh:
        return {r["type"].strip(): {f: float(r[f]) for f in FIELDS} for r in csv.DictReader(fh)}


@pytest.mark.parametrize(
    ("name", "suffix", "tol"),
    [
        ("shrout_fleiss", "_psych", 1e-9),  # ICC(x, lmer = FALSE): the same ANOVA, to 1e-9
        ("rater_effect", "_psych", 1e-9),
        # psych's default lmer = TRUE: REML variance components, equal on a complete
        # matrix up to lme4's optimiser tolerance (differences up to 4e-5 here, on F)
        ("shrout_fleiss", "_psych_lmer", 1e-4),
        ("rater_effect", "_psych_lmer", 1e-4),
    ],
)
def test_icc_equals_psych(name: str, suffix: str, tol: float) -> None:
    ref = _psych(name, suffix)
    table = icc(_ratings(name))
    assert tuple(table.rows) == ICC_TYPES == tuple(ref)
    for t in ICC_TYPES:
        for f in FIELDS:
            got = getattr(table.rows[t], f)
            assert got == pytest.approx(ref[t][f], abs=tol, rel=0), (name, t, f)
    assert table.level == 0.95


def test_icc_shrout_fleiss_published_values() -> None:
    # Shrout & Fleiss (1979), Table 4: ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71,
    # ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91; Table 3 mean squares.
    t = icc(_ratings("shrout_fleiss"))
    assert [round(t.rows[k].icc, 2) for k in ICC_TYPES] == [0.17, 0.29, 0.71, 0.44, 0.62, 0.91]
    assert (round(t.msb, 2), round(t.msw, 2), round(t.msj, 2), round(t.mse, 2)) == (
        11.24,
        6.26,
        32.49,
        1.02,
    )


def test_rater_effect_lowers_absolute_agreement_only() -> None:
    x = _ratings("rater_effect")
    t = icc(x)
    # ICC3 (consistency) ignores the rater's +1.5 elevation, ICC1/ICC2 (absolute) do not.
    assert t.rows["ICC3"].icc > t.rows["ICC2"].icc + 0.1
    without = icc(x[:, :4])
    shifted = x[:, :4].copy()
    shifted[:, 0] += 1.5
    assert icc(shifted).rows["ICC3"].icc == pytest.approx(without.rows["ICC3"].icc, abs=1e-12)


def test_icc_refuses_incomplete_or_tiny_matrices() -> None:
    with pytest.raises(ValueError, match="complete matrix"):
        icc(np.array([[1, 2], [3, math.nan]]))
    with pytest.raises(ValueError, match="n, k >= 2"):
        icc([[1, 2, 3]])


def test_rwg_single_option_by_hand() -> None:
    # Ratings 4, 5, 5, 6 on a 1-6 scale: s^2 = (1 + 0 + 0 + 1) / 3 * ... mean 5,
    # deviations -1, 0, 0, 1 -> s^2 = 2/3; sigma_EU^2 = (36 - 1)/12 = 35/12;
    # rwg = 1 - (2/3)/(35/12) = 1 - 8/35 = 27/35.
    assert rwg([4, 5, 5, 6], 6) == pytest.approx(27 / 35, abs=1e-15)


def test_rwg_j_by_hand() -> None:
    # Two options; option a: 4, 5, 5, 6 (s^2 = 2/3), option b: 1, 1, 3, 3 (mean 2,
    # s^2 = 4/3); mean s^2 = 1; ratio = 1/(35/12) = 12/35; J = 2:
    # rwg(J) = 2 (23/35) / (2 (23/35) + 12/35) = 46/58.
    x = np.array([[4, 1], [5, 1], [5, 3], [6, 3]], dtype=float)
    assert rwg(x, 6) == pytest.approx(46 / 58, abs=1e-15)
    # A missing rating leaves that option's variance on the other three (4, 5, 6: s^2 = 1).
    x[1, 0] = math.nan
    # mean s^2 = (1 + 4/3)/2 = 7/6; ratio = (7/6)(12/35) = 2/5; rwg = 2(3/5)/(2(3/5) + 2/5) = 3/4
    assert rwg(x, 6) == pytest.approx(0.75, abs=1e-15)


def test_rwg_total_agreement_and_worse_than_random() -> None:
    assert rwg([[3, 5], [3, 5], [3, 5]], 6) == 1.0
    # 1, 6, 1, 6: s^2 = 25/3 > 35/12: more spread than random responding -> 0
    assert rwg([1, 6, 1, 6], 6) == 0.0
    assert math.isnan(rwg(np.array([[4], [math.nan]]), 6))
