"""Property tests of the scoring engine against a plain, loop-based reference.

Questionnaires are built programmatically (1-4 scales of 2-6 items, random keys, a
response scale from ``min`` in [-3, 2] to ``max = min + 1..6``, items in a shuffled
presentation order); answers are whole numbers inside the scale with NaN for missing,
as float32 and float64 arrays. Every property is checked against
:func:`reference_scores`, which shares no code with the engine: it loops over rows and
scales, reverse-keys with ``min + max - x`` and uses ``nansum`` and a count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

import repprofile
import repprofile._analysis.scoring as scoring_module

FLOATS = (np.float32, np.float64)
Cell = tuple[int, int]  # (row, column) of an answer array
RTOL = 1e-12

# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Reference:
    raw: NDArray[np.float64]
    mean: NDArray[np.float64]
    pomp: NDArray[np.float64]
    n_answered: NDArray[np.int64]


def reference_scores(q: repprofile.Questionnaire, answers: NDArray[Any]) -> Reference:
    """Scores computed the slow, obvious way from the questionnaire's declared fields."""
    lo = float(q.response_scale.min)
    hi = float(q.response_scale.max)
    data = np.asarray(answers, dtype=np.float64)
    n = data.shape[0]
    n_scales = len(q.scales)
    raw = np.full((n, n_scales), np.nan)
    mean = np.full((n, n_scales), np.nan)
    pomp = np.full((n, n_scales), np.nan)
    n_answered = np.zeros((n, n_scales), dtype=np.int64)
    columns = [[j for j, it in enumerate(q.likert_items) if it.scale == sc.id] for sc in q.scales]
    keyed = [np.array([q.likert_items[j].keyed for j in cols]) for cols in columns]
    need = [
        sc.min_answered if sc.min_answered is not None else math.ceil(len(cols) / 2)
        for sc, cols in zip(q.scales, columns, strict=True)
    ]
    for i in range(n):
        for t in range(n_scales):
            x = data[i, columns[t]]
            x = np.where(keyed[t] == -1, lo + hi - x, x)
            count = int(np.count_nonzero(~np.isnan(x)))
            n_answered[i, t] = count
            if count < need[t]:
                continue
            total = float(np.nansum(x))
            raw[i, t] = total
            mean[i, t] = total / count
            pomp[i, t] = 100.0 * (total / count - lo) / (hi - lo)
    return Reference(raw, mean, pomp, n_answered)


def assert_matches_reference(
    result: repprofile.ScoreResult, ref: Reference, rows: NDArray[np.bool_] | None = None
) -> None:
    """raw and n_answered exactly, mean and pomp to 1e-12 relative (on ``rows``)."""
    sel = np.ones(len(result), dtype=bool) if rows is None else rows
    assert result.raw.dtype == np.float64
    assert result.n_answered.dtype == np.int32
    assert np.array_equal(result.raw[sel], ref.raw[sel], equal_nan=True)
    assert np.array_equal(result.n_answered[sel], ref.n_answered[sel])
    np.testing.assert_allclose(result.mean[sel], ref.mean[sel], rtol=RTOL, atol=0)
    np.testing.assert_allclose(result.pomp[sel], ref.pomp[sel], rtol=RTOL, atol=0)


def assert_identical(a: repprofile.ScoreResult, b: repprofile.ScoreResult) -> None:
    """Bit-identical score arrays (NaN in the same places)."""
    assert a.scale_ids == b.scale_ids
    for name in ("raw", "mean", "pomp", "n_answered", "scored"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def error_cells(result: repprofile.ScoreResult) -> Counter[tuple[str | None, str | None]]:
    return Counter((e.candidate_id, e.item_id) for e in result.errors)


# --------------------------------------------------------------------------- strategies


def build(spec: dict[str, Any]) -> repprofile.Questionnaire:
    return repprofile.Questionnaire.model_validate(spec)


def make_spec(
    lo: int,
    hi: int,
    scales: list[dict[str, Any]],
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": "prop-test",
        "version": "1.0.0",
        "title": "Property test questionnaire",
        "response_scale": {"min": lo, "max": hi},
        "scales": scales,
        "items": items,
    }


@st.composite
def questionnaire_specs(draw: st.DrawFn) -> dict[str, Any]:
    lo = draw(st.integers(-3, 2))
    hi = lo + draw(st.integers(1, 6))
    scales: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for s in range(draw(st.integers(1, 4))):
        sid = f"s{s}"
        n_items = draw(st.integers(2, 6))
        scale: dict[str, Any] = {"id": sid, "name": f"Scale {s}"}
        if draw(st.booleans()):
            scale["kind"] = draw(st.sampled_from(["trait", "validity"]))
        if draw(st.integers(0, 3)) == 0:  # mostly the default ceil(n/2)
            scale["min_answered"] = draw(st.integers(1, n_items))
        scales.append(scale)
        for j in range(n_items):
            items.append(
                {
                    "id": f"{sid}.i{j}",
                    "text": f"Statement {j} of scale {s}",
                    "scale": sid,
                    "keyed": draw(st.sampled_from([1, -1])),
                }
            )
    return make_spec(lo, hi, scales, draw(st.permutations(items)))


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    q: repprofile.Questionnaire
    answers: NDArray[np.float64]  # whole numbers in the scale, NaN for missing


@st.composite
def cases(draw: st.DrawFn, max_rows: int = 25) -> Case:
    spec = draw(questionnaire_specs())
    q = build(spec)
    lo, hi = q.response_scale.min, q.response_scale.max
    n = draw(st.integers(1, max_rows))
    shape = (n, len(q.likert_items))
    answers = draw(hnp.arrays(np.float64, shape, elements=st.integers(lo, hi).map(float)))
    missing = draw(st.sampled_from(["none", "sparse", "dense"]))
    if missing == "sparse":  # a few missing answers, as in real data
        cells = st.tuples(st.integers(0, n - 1), st.integers(0, shape[1] - 1))
        for r, c in draw(st.lists(cells, min_size=1, max_size=4)):
            answers[r, c] = np.nan
    elif missing == "dense":
        answers[draw(hnp.arrays(np.bool_, shape))] = np.nan
    return Case(spec, q, answers)


def bad_values(lo: int, hi: int) -> st.SearchStrategy[float]:
    """Answers that must reject their row: out of range, fractional, infinite."""
    return st.one_of(
        st.integers(1, 4).map(lambda d: float(lo - d)),
        st.integers(1, 4).map(lambda d: float(hi + d)),
        st.tuples(st.integers(lo, hi - 1), st.sampled_from([0.25, 0.5, 0.75])).map(
            lambda t: t[0] + t[1]
        ),
        st.sampled_from([lo - 0.5, hi + 0.5, hi + 0.25, 1e6, -1e6]),
        st.sampled_from([math.inf, -math.inf]),
    )


@st.composite
def bad_cells(draw: st.DrawFn, n_rows: int, n_cols: int, lo: int, hi: int) -> dict[Cell, float]:
    cells = st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_cols - 1))
    return draw(st.dictionaries(cells, bad_values(lo, hi), min_size=1, max_size=6))


def with_bad_cells(answers: NDArray[np.float64], bad: dict[Cell, float]) -> NDArray[np.float64]:
    dirty = answers.copy()
    for (r, c), v in bad.items():
        dirty[r, c] = v
    return dirty


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(case=cases(), dtype=st.sampled_from(FLOATS))
def test_scores_equal_the_reference(case: Case, dtype: type[np.floating[Any]]) -> None:
    result = repprofile.score(case.q, case.answers.astype(dtype))
    assert result.scale_ids == tuple(s["id"] for s in case.spec["scales"])
    assert result.raw.shape == (case.answers.shape[0], len(case.spec["scales"]))
    assert result.scored.all()
    assert result.errors == []
    assert_matches_reference(result, reference_scores(case.q, case.answers))


@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_float32_and_float64_give_identical_scores(case: Case) -> None:
    single = repprofile.score(case.q, case.answers.astype(np.float32))
    double = repprofile.score(case.q, case.answers.astype(np.float64))
    assert_identical(single, double)


@settings(max_examples=60, deadline=None)
@given(case=cases(), dtype=st.sampled_from(FLOATS))
def test_scoring_is_deterministic(case: Case, dtype: type[np.floating[Any]]) -> None:
    answers = case.answers.astype(dtype)
    first = repprofile.score(case.q, answers)
    second = repprofile.score(case.q, answers)
    assert_identical(first, second)
    assert first.errors == second.errors
    # and the caller's array is left as it was
    assert answers.dtype == dtype
    assert np.array_equal(answers, case.answers.astype(dtype), equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(case=cases(), data=st.data())
def test_reordering_candidates_permutes_rows_only(case: Case, data: st.DataObject) -> None:
    n = case.answers.shape[0]
    lo, hi = case.q.response_scale.min, case.q.response_scale.max
    bad = data.draw(st.one_of(st.just({}), bad_cells(n, len(case.q.likert_items), lo, hi)))
    answers = with_bad_cells(case.answers, bad)
    perm = np.array(data.draw(st.permutations(range(n))), dtype=np.intp)
    ids = [f"cand-{i}" for i in range(n)]
    base = repprofile.score(case.q, answers, candidate_ids=ids)
    moved = repprofile.score(case.q, answers[perm], candidate_ids=[ids[p] for p in perm])
    for name in ("raw", "mean", "pomp", "n_answered", "scored"):
        x, y = getattr(base, name), getattr(moved, name)
        assert np.array_equal(y, x[perm], equal_nan=x.dtype.kind == "f"), name
    assert moved.candidate_ids == tuple(ids[p] for p in perm)
    assert Counter(e.model_dump_json() for e in moved.errors) == Counter(
        e.model_dump_json() for e in base.errors
    )


@settings(max_examples=100, deadline=None)
@given(case=cases(), data=st.data(), dtype=st.sampled_from(FLOATS))
def test_reordering_items_consistently_changes_nothing(
    case: Case, data: st.DataObject, dtype: type[np.floating[Any]]
) -> None:
    k = len(case.q.likert_items)
    perm = data.draw(st.permutations(range(k)))
    spec = {**case.spec, "items": [case.spec["items"][p] for p in perm]}
    moved = repprofile.score(build(spec), case.answers[:, perm].astype(dtype))
    base = repprofile.score(case.q, case.answers.astype(dtype))
    assert_identical(moved, base)


@settings(max_examples=100, deadline=None)
@given(case=cases(), data=st.data(), dtype=st.sampled_from(FLOATS))
def test_reversing_a_key_twice_is_identity(
    case: Case, data: st.DataObject, dtype: type[np.floating[Any]]
) -> None:
    # Flip the key of some items and reverse their answers: x -> min + max - x.
    # Scoring reverses them back, so every score is unchanged.
    lo, hi = case.q.response_scale.min, case.q.response_scale.max
    k = len(case.q.likert_items)
    flip = data.draw(st.sets(st.integers(0, k - 1), min_size=1))
    items = [
        {**it, "keyed": -it["keyed"]} if j in flip else it
        for j, it in enumerate(case.spec["items"])
    ]
    answers = case.answers.copy()
    cols = sorted(flip)
    answers[:, cols] = lo + hi - answers[:, cols]  # NaN stays NaN
    flipped = repprofile.score(build({**case.spec, "items": items}), answers.astype(dtype))
    base = repprofile.score(case.q, case.answers.astype(dtype))
    assert_identical(flipped, base)


@settings(max_examples=100, deadline=None)
@given(case=cases(), dtype=st.sampled_from(FLOATS))
def test_pomp_and_mean_stay_inside_their_ranges(case: Case, dtype: type[np.floating[Any]]) -> None:
    result = repprofile.score(case.q, case.answers.astype(dtype))
    lo, hi = case.q.response_scale.min, case.q.response_scale.max
    pomp = result.pomp[~np.isnan(result.pomp)]
    mean = result.mean[~np.isnan(result.mean)]
    assert ((pomp >= 0.0) & (pomp <= 100.0)).all()
    assert ((mean >= lo) & (mean <= hi)).all()
    # scored means and pomps are NaN together, and exactly where raw is NaN
    assert np.array_equal(np.isnan(result.raw), np.isnan(result.pomp))
    assert np.array_equal(np.isnan(result.raw), np.isnan(result.mean))


@settings(max_examples=100, deadline=None)
@given(case=cases(), dtype=st.sampled_from(FLOATS))
def test_too_few_answered_items_give_nan(case: Case, dtype: type[np.floating[Any]]) -> None:
    result = repprofile.score(case.q, case.answers.astype(dtype))
    for t, sc in enumerate(case.q.scales):
        cols = [j for j, it in enumerate(case.q.likert_items) if it.scale == sc.id]
        need = sc.min_answered if sc.min_answered is not None else math.ceil(len(cols) / 2)
        answered = (~np.isnan(case.answers[:, cols])).sum(axis=1)
        short = answered < need
        for metric in (result.raw, result.mean, result.pomp):
            assert np.isnan(metric[short, t]).all()
            assert not np.isnan(metric[~short, t]).any()
        assert np.array_equal(result.n_answered[:, t], answered)


@settings(max_examples=200, deadline=None)
@given(case=cases(), data=st.data(), dtype=st.sampled_from(FLOATS))
def test_a_bad_answer_rejects_exactly_its_row(
    case: Case, data: st.DataObject, dtype: type[np.floating[Any]]
) -> None:
    n, k = case.answers.shape
    lo, hi = case.q.response_scale.min, case.q.response_scale.max
    bad = data.draw(bad_cells(n, k, lo, hi))
    dirty = with_bad_cells(case.answers, bad).astype(dtype)
    clean = repprofile.score(case.q, case.answers.astype(dtype))
    result = repprofile.score(case.q, dirty)
    check_rejection(case.q, result, clean, bad)


def check_rejection(
    q: repprofile.Questionnaire,
    result: repprofile.ScoreResult,
    clean: repprofile.ScoreResult,
    bad: dict[Cell, float],
) -> None:
    """Rows with a bad cell are rejected with one error per cell; other rows unchanged."""
    bad_rows = np.zeros(len(result), dtype=bool)
    bad_rows[[r for r, _ in bad]] = True
    assert np.array_equal(result.scored, ~bad_rows)
    expected = Counter((str(r + 1), q.likert_items[c].id) for r, c in bad)
    assert error_cells(result) == expected
    for e in result.errors:
        assert e.candidate_id is not None
        assert e.item_id is not None
        assert e.message.startswith("answer ")
    for name in ("raw", "mean", "pomp"):
        got = getattr(result, name)
        assert np.isnan(got[bad_rows]).all(), name
        assert np.array_equal(got[~bad_rows], getattr(clean, name)[~bad_rows], equal_nan=True)
    assert np.array_equal(result.n_answered[~bad_rows], clean.n_answered[~bad_rows])


# --------------------------------------------------------------------------- blocks


def block_rows(n_items: int, dtype: type[np.floating[Any]]) -> int:
    """Rows per block of the kernel for this width and dtype (mirrors _score_kernel)."""
    block_bytes = int(getattr(scoring_module, "_BLOCK_BYTES", 1 << 19))
    return max(256, block_bytes // (n_items * np.dtype(dtype).itemsize))


@contextmanager
def smallest_blocks() -> Iterator[None]:
    """Make the kernel use its smallest blocks (256 rows), if the knob still exists."""
    if hasattr(scoring_module, "_BLOCK_BYTES"):
        with mock.patch.object(scoring_module, "_BLOCK_BYTES", 1):
            yield
    else:  # pragma: no cover - the engine no longer blocks this way
        yield


def random_answers(
    rng: np.random.Generator, n: int, k: int, lo: int, hi: int, p_missing: float
) -> NDArray[np.float64]:
    answers = rng.integers(lo, hi + 1, size=(n, k)).astype(np.float64)
    answers[rng.random((n, k)) < p_missing] = np.nan
    return answers


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    spec=questionnaire_specs(),
    n=st.integers(257, 800),
    seed=st.integers(0, 2**32 - 1),
    p_missing=st.sampled_from([0.0, 0.02, 0.3, 0.9]),
    dtype=st.sampled_from(FLOATS),
    data=st.data(),
)
def test_many_small_blocks_agree_with_the_reference(
    spec: dict[str, Any],
    n: int,
    seed: int,
    p_missing: float,
    dtype: type[np.floating[Any]],
    data: st.DataObject,
) -> None:
    q = build(spec)
    lo, hi = q.response_scale.min, q.response_scale.max
    k = len(q.likert_items)
    answers = random_answers(np.random.default_rng(seed), n, k, lo, hi, p_missing)
    # bad cells near the 256-row block boundaries, in the last block and anywhere
    near = [0, 255, 256, 511, 512, 767, 768, n - 1]
    rows = st.one_of(st.sampled_from([r for r in near if r < n]), st.integers(0, n - 1))
    bad = data.draw(
        st.dictionaries(
            st.tuples(rows, st.integers(0, k - 1)), bad_values(lo, hi), min_size=0, max_size=8
        )
    )
    dirty = with_bad_cells(answers, bad).astype(dtype)
    with smallest_blocks():
        clean = repprofile.score(q, answers.astype(dtype))
        result = repprofile.score(q, dirty)
    assert_matches_reference(clean, reference_scores(q, answers))
    check_rejection(q, result, clean, bad)


def wide_questionnaire(n_scales: int, per_scale: int, lo: int, hi: int) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    scales = [{"id": f"w{s}", "name": f"Wide {s}"} for s in range(n_scales)]
    items = [
        {
            "id": f"w{s}_{j:02d}",
            "text": f"Statement {j}",
            "scale": f"w{s}",
            "keyed": int(rng.choice([1, -1])),
        }
        for s in range(n_scales)
        for j in range(per_scale)
    ]
    order = rng.permutation(len(items))
    return make_spec(lo, hi, scales, [items[i] for i in order])


@pytest.fixture(scope="module")
def large_case() -> tuple[repprofile.Questionnaire, NDArray[np.float64], Reference]:
    q = build(wide_questionnaire(n_scales=5, per_scale=12, lo=-2, hi=4))
    rng = np.random.default_rng(20240601)
    answers = random_answers(rng, 5000, len(q.likert_items), -2, 4, p_missing=0.05)
    answers[123] = np.nan  # a candidate who answered nothing
    answers[4999, :] = np.nan  # the last candidate too, in the last block
    answers[4000, :40] = np.nan  # most of a row missing
    return q, answers, reference_scores(q, answers)


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_array_over_several_blocks_agrees_with_the_reference(
    large_case: tuple[repprofile.Questionnaire, NDArray[np.float64], Reference],
    dtype: type[np.floating[Any]],
) -> None:
    q, answers, ref = large_case
    n, k = answers.shape
    block = block_rows(k, dtype)
    assert block < n, "the case must span several blocks"
    result = repprofile.score(q, answers.astype(dtype))
    assert result.scored.all()
    assert_matches_reference(result, ref)
    # bit-identical between dtypes and runs
    assert_identical(result, repprofile.score(q, answers.astype(np.float64)))
    assert_identical(result, repprofile.score(q, answers.astype(dtype)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_array_bad_cells_at_block_edges_reject_only_their_rows(
    large_case: tuple[repprofile.Questionnaire, NDArray[np.float64], Reference],
    dtype: type[np.floating[Any]],
) -> None:
    q, answers, ref = large_case
    n, k = answers.shape
    lo, hi = q.response_scale.min, q.response_scale.max
    block = block_rows(k, dtype)
    last_start = (n - 1) // block * block
    bad: dict[Cell, float] = {
        (block - 1, k - 1): hi + 1.0,  # last cell of the first block
        (block, 0): lo - 1.0,  # first cell of the second block
        (block, 1): 0.5,  # and a fractional one beside it
        (last_start, 3): math.inf,  # first row of the last block
        (n - 1, k - 1): 2.5,  # the very last cell (its row is otherwise all missing)
        (n - 2, 0): -math.inf,
        (n - 3, k // 2): hi + 0.5,
    }
    dirty = with_bad_cells(answers, bad).astype(dtype)
    clean = repprofile.score(q, answers.astype(dtype))
    result = repprofile.score(q, dirty)
    check_rejection(q, result, clean, bad)
    good = result.scored
    assert_matches_reference(result, ref, rows=good)
    assert int(good.sum()) == n - len({r for r, _ in bad})
