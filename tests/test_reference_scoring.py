"""Scores against R psych 2.2.9 scoreItems on the real bfi data (tests/reference).

Reference values: ``scoreItems(keys, items, impute = "none", min = 1, max = 6)``,
means (``$scores``) and ``totals = TRUE`` sums; see tests/reference/make_reference.R.
"""

from __future__ import annotations

import numpy as np
import pytest

import repprofile

from .conftest import read_matrix


@pytest.mark.parametrize("subset", ["all", "complete"])
@pytest.mark.parametrize(
    ("metric", "stem"), [("mean", "scoreitems_mean"), ("raw", "scoreitems_total")]
)
def test_scores_match_r_scoreitems(
    bfi: repprofile.Questionnaire,
    bfi_answers: repprofile.AnswerSet,
    subset: str,
    metric: str,
    stem: str,
) -> None:
    scales, ids, expected = read_matrix(f"{stem}_{subset}.csv")
    result = repprofile.score(bfi, bfi_answers)
    assert result.scored.all()
    assert list(result.scale_ids) == scales
    row_of = {cid: i for i, cid in enumerate(result.candidate_ids)}
    rows = [row_of[c] for c in ids]
    got = getattr(result, metric)[rows]
    assert got.shape == expected.shape == (2800 if subset == "all" else 2436, 5)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_bfi_missing_answers_are_counted(
    bfi: repprofile.Questionnaire, bfi_answers: repprofile.AnswerSet
) -> None:
    # bfi has 508 missing answers in 364 rows (tests/reference/README.md).
    assert int(np.isnan(bfi_answers.values).sum()) == 508
    result = repprofile.score(bfi, bfi_answers)
    assert int((5 - result.n_answered).sum()) == 508
    assert int((result.n_answered < 5).any(axis=1).sum()) == 364


def test_float32_input_gives_the_same_scores(
    bfi: repprofile.Questionnaire, bfi_answers: repprofile.AnswerSet
) -> None:
    exact = repprofile.score(bfi, bfi_answers)
    single = repprofile.score(
        bfi, bfi_answers.values.astype(np.float32), candidate_ids=exact.candidate_ids
    )
    # Whole-number answers: float32 sums are exact, so raw is bit-identical.
    assert np.array_equal(single.raw, exact.raw, equal_nan=True)
    assert np.array_equal(single.n_answered, exact.n_answered)
