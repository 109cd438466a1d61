"""Mergeable partial statistics (repprofile._analysis.partial): norms, reliability and
the quality reference of a table split into uneven partitions equal those of the whole
table at once (issue 19), and the per-partition scores equal the whole table's."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import repprofile
from repprofile._analysis import partial as pt
from repprofile._analysis.simulate import simulate_answers
from repprofile._distributed import _common as cm
from repprofile._errors import InputError
from repprofile._formats.norms import QualityReference

CUTS = [0, 0, 1, 18, 1200, 1201, 4000]  # uneven: empty, 1 row, 17, ..., the rest


def _table(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    q = repprofile.load_questionnaire("rep-types")
    x, _ = simulate_answers(q, n, seed=seed, missing=0.03, dtype=np.float64)
    x[5, 3] = 9.0  # out of range: candidate rejected
    x[1200, 2] = 2.5  # fractional: rejected (the 1-row partition)
    x[40, :] = 3.0  # a straight-liner: flagged by longstring, out of the clean sample
    rng = np.random.default_rng(seed)
    x[100:110] = rng.choice([1.0, 5.0], size=(10, x.shape[1]))  # extreme random: large D^2
    df = pd.DataFrame(x, columns=list(q.item_ids))
    df.insert(0, "candidate_id", [f"cand-{i:05d}" for i in range(n)])
    return df


def _parts(df: pd.DataFrame, cuts: list[int] = CUTS) -> list[pd.DataFrame]:
    return [df.iloc[a:b] for a, b in itertools.pairwise(cuts)]


def _max_diff(a: Any, b: Any, path: str = "") -> float:
    """Largest absolute difference between two JSON documents whose non-float parts
    are equal (asserted)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        return max([_max_diff(a[k], b[k], f"{path}.{k}") for k in a] or [0.0])
    if isinstance(a, list):
        assert len(a) == len(b), path
        return max([_max_diff(x, y, f"{path}[]") for x, y in zip(a, b, strict=True)] or [0.0])
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return 0.0
        return abs(a - b)
    assert a == b, (path, a, b)
    return 0.0


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def stats(table: pd.DataFrame) -> pt.PartialStats:
    blobs = [pt.partial_stats("rep-types", p).to_bytes() for p in _parts(table)]
    return pt.merge_partials(pt.PartialStats.from_bytes(b) for b in blobs)


def test_counts(stats: pt.PartialStats) -> None:
    assert stats.n_rows == 4000
    assert stats.n_scored == 3998  # two rejected
    assert stats.parts == ("norms", "reliability", "quality")


def test_reliability_equals_single_machine(table: pd.DataFrame, stats: pt.PartialStats) -> None:
    whole = repprofile.reliability("rep-types", table)
    merged = pt.reliability_from_partials("rep-types", stats)
    assert merged.n_obs == whole.n_obs == 3998
    assert _max_diff(whole.model_dump(mode="json"), merged.model_dump(mode="json")) < 1e-12


def test_norms_equal_single_machine(table: pd.DataFrame, stats: pt.PartialStats) -> None:
    whole = repprofile.build_norms("rep-types", table, description="pool", created="2026-12-01")
    merged = pt.norms_from_partials("rep-types", stats, description="pool", created="2026-12-01")
    dw, dm = whole.model_dump(mode="json"), merged.model_dump(mode="json")
    assert _max_diff(dw, dm) < 1e-12
    for sid, sn in whole.scales.items():  # the score distribution is exact
        assert merged.scales[sid].values == sn.values
        assert merged.scales[sid].counts == sn.counts
    assert merged.quality_reference == whole.quality_reference  # integer sums: exact


def test_quality_reference_is_the_whole_batch(table: pd.DataFrame, stats: pt.PartialStats) -> None:
    whole = repprofile.score("rep-types", table)
    ref = pt.quality_reference_from_partials("rep-types", stats)
    assert ref is not None
    clean = whole.quality.clean
    # less the two rejected, the straight-liner and the ten extreme answerers (high IRV)
    assert ref.n == int(clean.sum()) == 3987
    q = repprofile.load_questionnaire("rep-types")
    expect = QualityReference.from_sample(
        q, whole.answers.values, q.quality.psychsyn_critval, clean
    )
    assert ref == expect  # bit for bit: whole-number answers make every sum exact
    assert whole.quality.reference_source == (
        "this batch (3987 candidates not flagged by longstring, IRV, attention or response time)"
    )


@pytest.mark.parametrize("norms", [None, "rep-types-simulated"])
def test_score_partitions_equal_the_whole(table: pd.DataFrame, norms: str | None) -> None:
    q, options = cm.prepare("rep-types", norms=norms)
    parts = _parts(table)
    blobs = [
        cm.partial_partition(p, questionnaire=q, options=options, parts=("quality",)) for p in parts
    ]
    ref = cm.reference_from_blobs(q, options, blobs)
    got = pd.concat(
        [
            cm.score_partition(p, questionnaire=q, options=options, batch_reference=ref)
            for p in parts
        ],
        ignore_index=True,
    )
    whole = repprofile.score("rep-types", table, norms=norms)
    assert list(got.columns) == whole.csv_header()
    assert [t for _, t in cm.output_columns(q, norms=norms is not None)].count("float64") == (
        32 if norms else 16  # 8 scales: 7 types and a validity scale
    )
    expect = cm.result_frame(whole)
    pd.testing.assert_frame_equal(got, expect, check_exact=True)  # bit for bit
    assert len(got) == 3998
    assert "longstring" in got.set_index("candidate_id").loc["cand-00040", "quality_flags"]
    # the batch-reference flags (Mahalanobis D^2) are there and the same
    assert (
        got["quality_flags"].str.contains("mahalanobis_d2").sum()
        == (expect["quality_flags"].str.contains("mahalanobis_d2").sum())
        > 0
    )


def test_errors_partition_names_candidate_and_item(table: pd.DataFrame) -> None:
    q, options = cm.prepare("rep-types")
    errs = pd.concat(
        [cm.errors_partition(p, questionnaire=q, options=options) for p in _parts(table)],
        ignore_index=True,
    )
    assert errs["candidate_id"].tolist() == ["cand-00005", "cand-01200"]
    assert errs["item"].tolist() == [q.item_ids[3], q.item_ids[2]]
    assert errs["value"].tolist() == ["9", "2.5"]
    assert "outside the response scale" in errs["problem"][0]


def test_merge_is_exact_in_any_order(table: pd.DataFrame) -> None:
    parts = [pt.partial_stats("rep-types", p, parts=("quality",)) for p in _parts(table)]
    forward = pt.merge_partials(parts)
    backward = pt.merge_partials(reversed(parts))
    assert forward.ref is not None
    assert backward.ref is not None
    for name in ("N", "A", "B", "Q"):
        np.testing.assert_array_equal(getattr(forward.ref, name), getattr(backward.ref, name))


def test_round_trip_bytes(stats: pt.PartialStats) -> None:
    again = pt.PartialStats.from_bytes(stats.to_bytes())
    assert again.n_rows == stats.n_rows
    assert again.n_clean == stats.n_clean
    assert stats.values is not None
    assert again.values is not None
    assert all(np.array_equal(a, b) for a, b in zip(stats.values, again.values, strict=True))
    with pytest.raises(ValueError, match="partial statistics"):
        pt.PartialStats.from_bytes(_fake_npz())


def _fake_npz() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    return buf.getvalue()


def test_refusals(table: pd.DataFrame, stats: pt.PartialStats) -> None:
    with pytest.raises(InputError, match="not supported yet for questionnaires with situational"):
        pt.partial_stats("service-recovery", table.iloc[:0], parts=("reliability",))
    with pytest.raises(ValueError, match="other quality settings"):
        pt.quality_reference_from_partials("rep-types", stats, quality={"irv_min": 0.5})
    other = pt.partial_stats(
        "rep-types", table.iloc[:50], quality={"irv_min": 0.5}, parts=("quality",)
    )
    mine = pt.partial_stats("rep-types", table.iloc[:50], parts=("quality",))
    with pytest.raises(ValueError, match="same questionnaire, parts and quality settings"):
        mine.merge(other)
    with pytest.raises(ValueError, match="non-empty subset"):
        pt.partial_stats("rep-types", table.iloc[:5], parts=("means",))


def test_small_batch_has_no_reference(table: pd.DataFrame) -> None:
    """Below reference_min clean candidates, the batch is no reference (as score)."""
    stats = pt.partial_stats("rep-types", table.iloc[:30], parts=("quality",))
    assert pt.quality_reference_from_partials("rep-types", stats) is None
    whole = repprofile.score("rep-types", table.iloc[:30])
    assert whole.quality.reference_source is None


def test_pandas_na_answers_are_missing(table: pd.DataFrame) -> None:
    """pd.NA (nullable integer columns, pyarrow strings, as Dask hands partitions over)
    is a missing answer, like NaN and None."""
    plain = table.iloc[:300].copy()
    items = [c for c in plain.columns if c != "candidate_id"]
    nullable = plain.copy()
    nullable[items] = nullable[items].astype("Int64")  # NaN becomes pd.NA
    as_text = plain.copy()
    as_text[items[:3]] = as_text[items[:3]].astype(object).where(as_text[items[:3]].notna(), pd.NA)
    expected = repprofile.score("rep-types", plain)
    for frame in (nullable, as_text):
        got = repprofile.score("rep-types", frame)
        np.testing.assert_array_equal(got.scored, expected.scored)
        np.testing.assert_array_equal(got.mean, expected.mean)
