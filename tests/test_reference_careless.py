"""Careless-responding indices against R careless 1.2.2 on the real bfi data.

Reference values: tests/reference/careless_bfi*.csv, made by make_reference.R with the
careless 1.2.2 definitions re-implemented in careless_definitions.R (see the README
section "Careless responding indices"): the 25 raw, unkeyed items A1..O5 of all 2800
rows (508 missing answers). A missing value is an empty field (NaN here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import repprofile
from repprofile._formats.norms import QualityReference
from repprofile.stats import (
    even_odd,
    irv,
    longstring,
    mahalanobis_d2,
    pairwise_moments,
    psychsyn,
    synonym_pairs,
)

from .conftest import read_matrix, read_table

Array = NDArray[np.float64]
TOL = 1e-9


@pytest.fixture(scope="module")
def careless() -> tuple[list[str], list[str], Array]:
    """(columns, candidate ids, values) of careless_bfi.csv."""
    return read_matrix("careless_bfi.csv")


@pytest.fixture(scope="module")
def raw(careless: tuple[list[str], list[str], Array], bfi_answers: repprofile.AnswerSet) -> Array:
    """The 25 raw bfi answers, rows in the order of careless_bfi.csv."""
    _, ids, _ = careless
    row_of = {cid: i for i, cid in enumerate(bfi_answers.candidate_ids())}
    x = np.asarray(bfi_answers.values, dtype=np.float64)[[row_of[c] for c in ids]]
    assert x.shape == (2800, 25)
    assert int(np.isnan(x).sum()) == 508  # README: 508 missing answers
    return x


@pytest.fixture(scope="module")
def bfi_unkeyed(bfi: repprofile.Questionnaire) -> repprofile.Questionnaire:
    """bfi.yaml with every item keyed +1: careless works on the raw answers."""
    data: dict[str, Any] = bfi.model_dump()
    for item in data["items"]:
        item["keyed"] = 1
    return repprofile.Questionnaire.model_validate(data)


def column(careless: tuple[list[str], list[str], Array], name: str) -> Array:
    cols, _, values = careless
    out: Array = values[:, cols.index(name)]
    return out


def test_fixture_layout(careless: tuple[list[str], list[str], Array]) -> None:
    cols, ids, values = careless
    assert cols == ["longstring", "longstring_avg", "irv", "mahad", "evenodd", "psychsyn"]
    assert len(ids) == len(set(ids)) == 2800
    # README: evenodd is NA for 12 rows; psychsyn at critval 0.60 is NA for every row.
    assert int(np.isnan(values[:, cols.index("evenodd")]).sum()) == 12
    assert np.isnan(values[:, cols.index("psychsyn")]).all()
    # First row of careless_bfi.csv (61617): longstring 3, avg 1.4705882352941178 = 25/17.
    assert ids[0] == "61617"
    assert values[0, 0] == 3.0
    assert values[0, 1] == pytest.approx(25 / 17, abs=1e-15)


def test_longstring_matches_careless(
    careless: tuple[list[str], list[str], Array], raw: Array
) -> None:
    longest, mean_run = longstring(raw)
    np.testing.assert_allclose(longest, column(careless, "longstring"), rtol=0, atol=TOL)
    np.testing.assert_allclose(mean_run, column(careless, "longstring_avg"), rtol=0, atol=TOL)
    # Hand check of row 61617: 2,4,3,4,4,2,3,3,4,4,3,3,3,4,4,3,4,2,2,3,3,6,3,4,3 has
    # runs 1,1,1,2,1,2,2,3,2,1,1,2,2,1,1,1,1 -> 17 runs, longest 3, mean 25/17.
    assert longest[0] == 3.0
    assert mean_run[0] == pytest.approx(25 / 17, rel=1e-15)


def test_irv_matches_careless(careless: tuple[list[str], list[str], Array], raw: Array) -> None:
    got = irv(raw)
    expected = column(careless, "irv")
    assert not np.isnan(expected).any()  # every bfi row has >= 2 answers
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    # Row 61617 by hand: sum 83, sum of squares 295 -> var = (295 - 83^2/25)/24 = 0.81.
    assert got[0] == pytest.approx(0.9, abs=1e-14)


@pytest.mark.parametrize("source", ["pairwise_moments", "from_sample"])
def test_mahalanobis_d2_matches_careless_mahad(
    careless: tuple[list[str], list[str], Array],
    raw: Array,
    bfi_unkeyed: repprofile.Questionnaire,
    source: str,
) -> None:
    if source == "pairwise_moments":
        moments = pairwise_moments([raw.copy()], 25, np.full(25, 3.5))
        means, cov = moments.means(), moments.cov()
    else:
        ref = QualityReference.from_sample(bfi_unkeyed, raw, 0.60)
        assert ref is not None
        assert ref.items == list(bfi_unkeyed.item_ids)
        assert ref.n == 2800
        means, cov = np.asarray(ref.means), np.asarray(ref.cov)
    # careless::mahad centres by the column means over answered values and uses R's
    # cov(x, use = "pairwise"); with no missing answer in a column pair that is np.cov.
    complete = ~np.isnan(raw).any(axis=1)
    np.testing.assert_allclose(means[0], np.nanmean(raw[:, 0]), rtol=1e-13)
    np.testing.assert_allclose(cov[0, 0], np.var(raw[~np.isnan(raw[:, 0]), 0], ddof=1), rtol=1e-12)
    assert complete.sum() == 2436
    d2, p = mahalanobis_d2(raw, means, cov)
    np.testing.assert_allclose(d2, column(careless, "mahad"), rtol=0, atol=TOL)
    # p: upper chi-square tail with 25 df (careless' flag cut-off qchisq(conf, ncol(x))).
    from scipy.stats import chi2

    np.testing.assert_allclose(p, chi2.sf(column(careless, "mahad"), 25), rtol=1e-9, atol=0)


def test_even_odd_is_minus_careless_evenodd(
    careless: tuple[list[str], list[str], Array],
    raw: Array,
    bfi: repprofile.Questionnaire,
) -> None:
    # bfi layout: 5 contiguous blocks of 5 items (A, C, E, N, O), as careless' factors.
    scale_index = np.repeat(np.arange(5), 5).astype(np.intp)
    assert np.array_equal(bfi.item_scale_index, scale_index)
    got = even_odd(raw, scale_index, np.ones(25))
    expected = -column(careless, "evenodd")  # careless >= 1.2.0: higher = more careless
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    # Row 61617 by hand: odd (1st, 3rd, 5th) / even (2nd, 4th) means per block are
    # A (3, 4), C (3, 3.5), E (10/3, 3.5), N (8/3, 3), O (3, 5): Pearson r = 0.2331262...
    # and 2r/(1+r) = 0.3781060 = -(careless' -0.37810599056384409).
    assert got[0] == pytest.approx(0.37810599056384409, abs=1e-12)


def test_even_odd_nan_exactly_where_fewer_than_two_factors(raw: Array) -> None:
    _, ids, usable = read_matrix("careless_bfi_evenodd_diag.csv")
    assert len(ids) == 2800
    got = even_odd(raw, np.repeat(np.arange(5), 5).astype(np.intp), np.ones(25))
    # A row with fewer than 2 factors whose halves both have an answer has no r.
    assert np.isnan(got[usable[:, 0] < 2]).all()


def _careless_pairs(critval: str) -> list[tuple[str, str]]:
    _, rows = read_table("careless_bfi_psychsyn_pairs.csv")
    return [(r[1], r[2]) for r in rows if r[0] == critval]


def test_synonym_pairs_match_careless(raw: Array, bfi: repprofile.Questionnaire) -> None:
    cor = pairwise_moments([raw.copy()], 25, np.full(25, 3.5)).cor()
    ids = bfi.item_ids
    for critval, n_expected in (("0.40", 13), ("0.60", 1)):
        pairs = synonym_pairs(cor, float(critval))
        got = [(ids[a], ids[b]) for a, b in pairs]
        expected = _careless_pairs(critval)
        assert len(expected) == n_expected  # README: 13 pairs at 0.40, N2-N1 at 0.60
        assert got == expected
    # The recorded r of each pair is R's cor(x, use = "pairwise").
    _, rows = read_table("careless_bfi_psychsyn_pairs.csv")
    pos = {iid: i for i, iid in enumerate(ids)}
    for _, a, b, r in rows:
        assert cor[pos[a], pos[b]] == pytest.approx(float(r), abs=1e-12)


def test_psychsyn_matches_careless_noresample(raw: Array, bfi: repprofile.Questionnaire) -> None:
    header, rows = read_table("careless_bfi_psychsyn.csv")
    assert header[:4] == ["candidate_id", "critval", "n_pairs", "psychsyn_noresample"]
    sel = [r for r in rows if r[1] == "0.40"]
    assert len(sel) == 2800
    _, ids, _ = read_matrix("careless_bfi.csv")
    order = {cid: i for i, cid in enumerate(ids)}
    x = raw[[order[r[0]] for r in sel]]
    cor = pairwise_moments([raw.copy()], 25, np.full(25, 3.5)).cor()
    pairs = synonym_pairs(cor, 0.40)
    got = psychsyn(x, pairs)
    expected = np.array([float(r[3]) if r[3] else np.nan for r in sel])
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    # n_pairs: pairs with both items answered; careless needs more than 2.
    answered = (~np.isnan(x[:, pairs[:, 0]]) & ~np.isnan(x[:, pairs[:, 1]])).sum(axis=1)
    assert answered.tolist() == [int(r[2]) for r in sel]
    assert np.isnan(got[answered < 3]).all()
    assert int((answered < 3).sum()) == 4  # 4 rows answered only 2 of the 13 pairs


def test_psychsyn_at_060_is_all_nan(
    careless: tuple[list[str], list[str], Array], raw: Array
) -> None:
    cor = pairwise_moments([raw.copy()], 25, np.full(25, 3.5)).cor()
    pairs = synonym_pairs(cor, 0.60)
    assert pairs.tolist() == [[16, 15]]  # N2 (column 16), N1 (column 15)
    got = psychsyn(raw, pairs)
    assert np.isnan(got).all()
    assert np.isnan(column(careless, "psychsyn")).all()


def test_psychsyn_unavailable_through_score_at_060(
    bfi: repprofile.Questionnaire, bfi_answers: repprofile.AnswerSet
) -> None:
    result = repprofile.score(bfi, bfi_answers)
    qr = result.quality
    # One synonym pair (N2-N1) at the default critval 0.60: psychsyn needs 3.
    assert qr.unavailable == {
        "psychsyn": (
            "the reference sample has 1 item pair(s) correlating above 0.6; at least 3 are needed"
        )
    }
    assert np.isnan(qr.psychsyn).all()
    assert qr.reference_source is not None
    assert qr.reference_source.startswith("this batch (")
    assert np.isfinite(qr.mahalanobis_d2).all()
    profile = result.profiles()[0]
    assert profile.quality is not None
    assert profile.quality.indices["psychsyn"] is None
    assert profile.quality.unavailable["psychsyn"].startswith("the reference sample has 1 item")


def test_psychsyn_through_score_at_040_uses_thirteen_pairs(
    bfi_unkeyed: repprofile.Questionnaire, bfi_answers: repprofile.AnswerSet, raw: Array
) -> None:
    # With every bfi row as reference (nothing flagged: longstring and IRV limits set out
    # of reach), critval 0.40 reproduces careless' psychsyn_noresample per candidate.
    answers = repprofile.AnswerSet(bfi_unkeyed, bfi_answers.values, bfi_answers.ids)
    result = repprofile.score(
        bfi_unkeyed,
        answers,
        quality={"psychsyn_critval": 0.40, "longstring_max": 25, "irv_min": -1.0},
    )
    qr = result.quality
    assert qr.reference_source == (
        "this batch (2800 candidates not flagged by longstring, IRV, attention or response time)"
    )
    _, rows = read_table("careless_bfi_psychsyn.csv")
    expected = {r[0]: (float(r[3]) if r[3] else np.nan) for r in rows if r[1] == "0.40"}
    ids = result.candidate_ids
    exp = np.array([expected[c] for c in ids])
    np.testing.assert_allclose(qr.psychsyn, exp, rtol=0, atol=TOL)
    _, cids, values = read_matrix("careless_bfi.csv")
    mahad = dict(zip(cids, values[:, 3].tolist(), strict=True))
    np.testing.assert_allclose(qr.mahalanobis_d2, [mahad[c] for c in ids], rtol=0, atol=TOL)
