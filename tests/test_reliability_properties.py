"""Properties of the reliability statistics and of the measurement error they give.

Answers come from a one-factor model: for n respondents (40-200) and k items (3-8),
``x = clip(rint(3 + 1.2 (lambda f + sqrt(1 - lambda^2) e)), 1, 5)`` with loadings lambda
in [0.5, 0.9], f and e standard normal, reverse-keyed items stored as ``6 - x`` (so the
keyed data follow the factor) and a few answers missing (NaN). The reference alpha is
psych's pairwise formula computed independently with pandas' pairwise ``cov``.

Loadings start at 0.5: with loadings near 0.2 and n = 40 a sample's items can correlate
negatively, which crashes ``reliability`` (a bug, pinned by
``test_negatively_correlated_items_do_not_crash``), so such samples are kept out of the
property tests.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import repprofile
from repprofile._analysis.normed import NormedScores

N_EXAMPLES = 40


def one_scale(
    keyed: list[int],
    order: list[int] | None = None,
    reliability: float | None = None,
    sd: float | None = None,
) -> repprofile.Questionnaire:
    """One scale "s" of items i0..i{k-1}; ``order`` permutes their presentation order."""
    k = len(keyed)
    idx = list(range(k)) if order is None else order
    scale: dict[str, object] = {"id": "s", "name": "S"}
    if reliability is not None:
        scale["reliability"] = reliability
    if sd is not None:
        scale["sd"] = sd
    return repprofile.Questionnaire.model_validate(
        {
            "id": "one",
            "version": "1",
            "title": "One",
            "response_scale": {"min": 1, "max": 5},
            "scales": [scale],
            "items": [
                {"id": f"i{j}", "text": f"I{j}", "scale": "s", "keyed": keyed[j]} for j in idx
            ],
        }
    )


@dataclass(frozen=True)
class Sample:
    keyed: list[int]
    x: NDArray[np.float64]  # raw answers, columns i0..i{k-1}
    seed: int

    @property
    def keyed_x(self) -> NDArray[np.float64]:
        signs = np.array(self.keyed)
        out: NDArray[np.float64] = np.where(signs < 0, 6.0 - self.x, self.x)
        return out


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    n = draw(st.integers(40, 200))
    k = draw(st.integers(3, 8))
    keyed = draw(st.lists(st.sampled_from([1, -1]), min_size=k, max_size=k))
    missing = draw(st.sampled_from([0.0, 0.02, 0.05]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.5, 0.9, size=k)
    f = rng.standard_normal(n)
    e = rng.standard_normal((n, k))
    latent = f[:, None] * lam + e * np.sqrt(1.0 - lam * lam)
    x = np.clip(np.rint(3.0 + 1.2 * latent), 1.0, 5.0)
    x = np.where(np.array(keyed) < 0, 6.0 - x, x)
    x[rng.random((n, k)) < missing] = np.nan
    return Sample(keyed, x, seed)


def reference_alpha(keyed_x: NDArray[np.float64]) -> float:
    """psych alpha(use = "pairwise"): k/(k-1) (1 - tr C / 1'C1), C the pairwise covariance."""
    pd = pytest.importorskip("pandas")
    c = pd.DataFrame(keyed_x).cov().to_numpy()  # pairwise-complete, n - 1
    k = c.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(c) / c.sum()))


def scale_rel(q: repprofile.Questionnaire, x: NDArray[np.float64]) -> repprofile.ScaleReliability:
    return repprofile.reliability(q, x).scales["s"]


def usable(s: Sample) -> bool:
    """Every item varies (zero-variance items are dropped by design, tested below)."""
    return bool((np.nanvar(s.x, axis=0) > 0).all())


# --------------------------------------------------------------------------- alpha


@settings(deadline=None, max_examples=N_EXAMPLES)
@given(s=samples())
def test_alpha_matches_pairwise_reference_and_bounds(s: Sample) -> None:
    assume(usable(s))
    rel = scale_rel(one_scale(s.keyed), s.x)
    assert rel.alpha is not None
    assert rel.std_alpha is not None
    assert rel.g6 is not None
    assert rel.n_items == len(s.keyed)
    assert rel.n_obs == s.x.shape[0]
    assert rel.alpha == pytest.approx(reference_alpha(s.keyed_x), rel=1e-10, abs=1e-12)
    assert rel.alpha <= 1.0
    assert rel.std_alpha <= 1.0
    assert rel.g6 <= 1.0
    # Feldt (1965): [1 - (1 - a) F_{.975}, 1 - (1 - a) F_{.025}], df n - 1, (n - 1)(k - 1)
    from scipy import stats

    n, k = s.x.shape
    d1, d2 = n - 1, (n - 1) * (k - 1)
    assert rel.alpha_ci is not None
    lo, hi = rel.alpha_ci
    assert lo <= rel.alpha <= hi
    assert lo == pytest.approx(1 - (1 - rel.alpha) * stats.f.ppf(0.975, d1, d2), rel=1e-9)
    assert hi == pytest.approx(1 - (1 - rel.alpha) * stats.f.ppf(0.025, d1, d2), rel=1e-9)


@settings(deadline=None, max_examples=N_EXAMPLES)
@given(s=samples(), data=st.data())
def test_alpha_invariant_under_permutations(s: Sample, data: st.DataObject) -> None:
    assume(usable(s))
    n, k = s.x.shape
    base = scale_rel(one_scale(s.keyed), s.x)
    assert base.alpha is not None
    rows = data.draw(st.permutations(range(n)), label="rows")
    by_rows = scale_rel(one_scale(s.keyed), s.x[rows])
    assert by_rows.alpha == pytest.approx(base.alpha, abs=1e-12, rel=0)
    # items in another presentation order: the array's columns follow the questionnaire
    order = data.draw(st.permutations(range(k)), label="items")
    by_items = scale_rel(one_scale(s.keyed, order=order), np.ascontiguousarray(s.x[:, order]))
    assert by_items.alpha == pytest.approx(base.alpha, abs=1e-12, rel=0)
    assert by_items.std_alpha == pytest.approx(base.std_alpha, abs=1e-12, rel=0)


@settings(deadline=None, max_examples=N_EXAMPLES)
@given(s=samples(), data=st.data())
def test_reverse_keying_data_and_key_leaves_alpha_unchanged(s: Sample, data: st.DataObject) -> None:
    assume(usable(s))
    k = s.x.shape[1]
    j = data.draw(st.integers(0, k - 1), label="item")
    base = scale_rel(one_scale(s.keyed), s.x)
    flipped_keys = list(s.keyed)
    flipped_keys[j] = -flipped_keys[j]
    flipped_x = s.x.copy()
    flipped_x[:, j] = 6.0 - flipped_x[:, j]  # NaN stays NaN
    other = scale_rel(one_scale(flipped_keys), flipped_x)
    assert base.alpha is not None
    assert other.alpha == pytest.approx(base.alpha, abs=1e-12, rel=0)
    assert other.items[f"i{j}"].keyed == flipped_keys[j]


def test_alpha_does_not_depend_on_memory_order() -> None:
    # One NaN (row 6, i0); all items keyed +. Pairwise (co)variances by hand:
    # i0 (rows 1-5) 1,2,3,4,5: var 10/4 = 2.5; i1 2,3,3,5,4,2: sum 19, sum sq 67,
    # SS 67 - 361/6 = 41/6, var 41/30; i2 3,3,4,4,5,2: sum 21, sum sq 79, SS 5.5, var 1.1;
    # cov(i1, i2) = (71 - 19*21/6)/5 = 4.5/5 = 0.9; on rows 1-5 (i0 mean 3):
    # cov(i0, i1) = (-2*2 - 1*3 + 0 + 1*5 + 2*4)/4 = 1.5, cov(i0, i2) = (-6-3+0+4+10)/4 = 1.25.
    # tr C = 2.5 + 41/30 + 1.1 = 149/30; 1'C1 = 149/30 + 2 (1.5 + 1.25 + 0.9) = 368/30;
    # alpha = 3/2 (1 - 149/368) = 657/736 = 0.892663
    x = np.array([[1, 2, 3], [2, 3, 3], [3, 3, 4], [4, 5, 4], [5, 4, 5], [np.nan, 2, 2]])
    q = one_scale([1, 1, 1])
    expected = 657 / 736
    assert reference_alpha(x) == pytest.approx(expected, rel=1e-12)
    assert scale_rel(q, x).alpha == pytest.approx(expected, rel=1e-12)
    fortran = np.asfortranarray(x)
    assert scale_rel(q, fortran).alpha == pytest.approx(expected, rel=1e-12)


def test_negatively_correlated_items_do_not_crash() -> None:
    # i0 1,2,3,4,5; i1 1,3,4,5,2; i2 4,3,5,1,2 (each a permutation of 1..5: var 2.5).
    # Deviations from 3: i0 -2,-1,0,1,2; i1 -2,0,1,2,-1; i2 1,0,2,-2,-1.
    # cov01 = (4+0+0+2-2)/4 = 1; cov02 = (-2+0+0-2-2)/4 = -1.5; cov12 = (-2+0+2-4+1)/4 = -0.75
    # 1'C1 = 7.5 + 2 (1 - 1.5 - 0.75) = 5; alpha = 3/2 (1 - 7.5/5) = -0.75 (psych reports
    # a negative alpha and suggests reversing items; it does not stop)
    x = np.array([[1, 1, 4], [2, 3, 3], [3, 4, 5], [4, 5, 1], [5, 2, 2]], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", repprofile.RepprofileWarning)
        rel = scale_rel(one_scale([1, 1, 1]), x)
    assert rel.alpha == pytest.approx(-0.75, rel=1e-12)


# --------------------------------------------------------------------------- SEM


@settings(deadline=None, max_examples=50)
@given(
    r1=st.floats(0.01, 0.98),
    gap=st.floats(0.001, 0.5),
    sd=st.floats(0.05, 3.0),
    level=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
)
def test_sem_shrinks_as_reliability_grows(r1: float, gap: float, sd: float, level: float) -> None:
    r2 = min(r1 + gap, 0.99)
    assume(r2 > r1)
    answers = {"i0": 4, "i1": 2, "i2": 5}  # keyed (+, -, +): 4, 6-2=4, 5 -> mean 13/3
    z_crit = NormalDist().inv_cdf(0.5 + level / 2.0)
    got = []
    for r in (r1, r2):
        q = one_scale([1, -1, 1], reliability=r, sd=sd)
        result = repprofile.score(q, answers, ci=level)
        sc = result.to_dict()["profiles"][0]["scales"]["s"]
        sem = sd * math.sqrt(1.0 - r)
        assert sc["mean"] == pytest.approx(13 / 3, rel=1e-15)
        assert sc["sem"] == sem  # the same IEEE operations: exact
        assert result.normed.sem[0] == sem
        assert sc["ci_low"] == pytest.approx(13 / 3 - z_crit * sem, rel=1e-9)
        assert sc["ci_high"] == pytest.approx(13 / 3 + z_crit * sem, rel=1e-9)
        assert sc["z"] is None
        assert sc["t_ci_low"] is None
        # the same from NormedScores directly
        nd = NormedScores(np.array([[13 / 3]]), q, None, level, "alpha")
        assert nd.sem[0] == sem
        got.append((sc["sem"], sc["ci_high"] - sc["ci_low"]))
    (sem1, width1), (sem2, width2) = got
    assert sem1 > sem2
    assert width1 > width2


# --------------------------------------------------------------------------- zero variance

ZV_ITEMS = [
    ("a", "four", 1),
    ("b", "four", 1),
    ("flat_c", "four", 1),
    ("d", "four", 1),
    ("p", "pair", 1),
    ("flat_q", "pair", 1),
]
ZV = repprofile.Questionnaire.model_validate(
    {
        "id": "zv",
        "version": "1",
        "title": "Zero variance",
        "response_scale": {"min": 1, "max": 5},
        "scales": [{"id": "four", "name": "Four"}, {"id": "pair", "name": "Pair"}],
        "items": [{"id": i, "text": i, "scale": s, "keyed": kk} for i, s, kk in ZV_ITEMS],
    }
)
# columns a, b, flat_c, d, p, flat_q
ZV_X: NDArray[np.float64] = np.array(
    [
        [1, 1, 3, 2, 1, 3],
        [2, 3, 3, 2, 2, 3],
        [3, 3, 3, 3, 3, 3],
        [4, 3, 3, 4, 4, 3],
        [5, 5, 3, 4, 5, 3],
    ],
    dtype=np.float64,
)


def test_zero_variance_item_is_left_out_with_a_warning() -> None:
    with pytest.warns(repprofile.RepprofileWarning) as caught:
        rel = repprofile.reliability(ZV, ZV_X)
    messages = [str(w.message) for w in caught]
    assert any("'four'" in m and "flat_c" in m for m in messages), messages
    assert any("'pair'" in m and "flat_q" in m for m in messages), messages
    assert any("'pair'" in m and "fewer than two usable items" in m for m in messages)

    four = rel.scales["four"]
    assert four.n_items == 3
    assert four.excluded_items == ["flat_c"]
    # On a, b, d (all means 3): SS a 4+1+0+1+4 = 10 -> var 2.5; b 4+0+0+0+4 = 8 -> 2;
    # d 1+1+0+1+1 = 4 -> 1; sums 4, 7, 9, 11, 14 (mean 9): SS 25+4+0+4+25 = 58 -> 14.5.
    # alpha = 3/2 (1 - 5.5/14.5) = 13.5/14.5 = 27/29
    assert four.alpha == pytest.approx(27 / 29, rel=1e-12)
    # without a: b, d have cov (-2*-1 + 2*1)/4 = 1, total var 2 + 1 + 2*1 = 5,
    # alpha = 2 (1 - 3/5) = 0.8
    assert four.items["a"].alpha_if_dropped == pytest.approx(0.8, rel=1e-12)
    assert four.items["flat_c"].alpha_if_dropped is None
    assert four.items["flat_c"].sd == 0.0
    # Feldt interval around 27/29 with n = 5, k = 3 (df 4, 8)
    from scipy import stats

    assert four.alpha_ci is not None
    lo, hi = four.alpha_ci
    assert lo <= 27 / 29 <= hi
    assert lo == pytest.approx(1 - (2 / 29) * stats.f.ppf(0.975, 4, 8), rel=1e-9)
    assert hi == pytest.approx(1 - (2 / 29) * stats.f.ppf(0.025, 4, 8), rel=1e-9)

    pair = rel.scales["pair"]
    assert pair.n_items == 1
    assert pair.excluded_items == ["flat_q"]
    for field in ("alpha", "std_alpha", "g6", "omega_total", "alpha_se", "alpha_ci"):
        assert getattr(pair, field) is None, field
    text = rel.to_json()
    assert "NaN" not in text
    assert json.loads(text)["scales"]["pair"]["alpha"] is None
