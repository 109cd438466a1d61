"""``ScoreResult.to_pandas(metric=...)``: z, T and percentile against the values worked
out from each profile's own fields (T = 50 + 10 z; percentile as the profile says)."""

from __future__ import annotations

import math

import pytest

import repprofile

pd = pytest.importorskip("pandas")

# rep-types controller items ctl01 (+), ctl02 (+), ctl03 (-), ctl04 (+), ctl05 (+)
RECORDS = [
    {"candidate_id": "r1", "answers": {"ctl01": 5, "ctl02": 4, "ctl03": 2, "ctl04": 3, "ctl05": 5}},
    {"candidate_id": "r2", "answers": {"ctl01": 2, "ctl02": 3, "ctl03": 4, "ctl04": 2, "ctl05": 1}},
]


@pytest.fixture(scope="module")
def normed() -> repprofile.ScoreResult:
    return repprofile.score("rep-types", RECORDS, norms="rep-types-simulated")


def test_t_is_50_plus_10_z_from_the_norm_table(normed: repprofile.ScoreResult) -> None:
    table = repprofile.load_norms("rep-types-simulated").scales["controller"]
    t = normed.to_pandas(metric="t")
    z = normed.to_pandas(metric="z")
    assert list(t.index) == ["r1", "r2"]
    assert t.index.name == "candidate_id"
    # r1: (5 + 4 + (6-2) + 3 + 5) / 5 = 4.2; r2: (2 + 3 + (6-4) + 2 + 1) / 5 = 2.0
    for cid, mean in (("r1", 4.2), ("r2", 2.0)):
        z_hand = (mean - table.mean) / table.sd
        assert z.loc[cid, "controller"] == pytest.approx(z_hand, abs=1e-12)
        assert t.loc[cid, "controller"] == pytest.approx(50.0 + 10.0 * z_hand, abs=1e-12)
        assert t.loc[cid, "controller"] == pytest.approx(
            normed.profile(cid).scales["controller"].t, abs=1e-12
        )
    assert math.isnan(t.loc["r1", "rock"])  # no rock answers: no score, NaN


def test_percentile_is_the_profiles_own_percentile(normed: repprofile.ScoreResult) -> None:
    pct = normed.to_pandas(metric="percentile")
    for cid in ("r1", "r2"):
        expected = normed.profile(cid).scales["controller"].percentile
        assert expected is not None
        assert pct.loc[cid, "controller"] == pytest.approx(expected, abs=0.005)
    assert pct.loc["r1", "controller"] > 50.0 > pct.loc["r2", "controller"]


def test_pomp_and_the_default_are_unchanged(normed: repprofile.ScoreResult) -> None:
    assert normed.to_pandas(metric="pomp").loc["r1", "controller"] == pytest.approx(80.0)
    assert normed.to_pandas().loc["r1", "controller"] == pytest.approx(4.2)  # mean


@pytest.mark.parametrize("metric", ["z", "t", "percentile"])
def test_normed_metrics_without_norms_say_what_is_needed(metric: str) -> None:
    plain = repprofile.score("rep-types", RECORDS)
    with pytest.raises(ValueError, match=rf"to_pandas\(metric='{metric}'\) needs a norm table"):
        plain.to_pandas(metric=metric)  # type: ignore[arg-type]
