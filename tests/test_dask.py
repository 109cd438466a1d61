"""repprofile.dask on a dask.distributed LocalCluster (3 worker processes): scores equal
single-machine ``repprofile.score`` of the whole table bit for bit, norms, reliability
and the quality reference to 1e-12, on data split into uneven partitions."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import repprofile
from repprofile._formats.questionnaire import load_questionnaire

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

import repprofile.dask as rdask  # noqa: E402
from repprofile._distributed._common import output_columns  # noqa: E402
from tests._distributed_data import (  # noqa: E402
    CREATED,
    QUALITY,
    Q,
    answers_table,
    assert_close,
    expected_frame,
    rejected_rows,
    uneven_sizes,
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Three single-threaded worker processes, closed after the module."""
    with (
        distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def partitioned(c: Any, frame: Any, sizes: list[int]) -> Any:
    """``frame`` as a Dask DataFrame of partitions of the given sizes, scattered to the
    workers (dd.from_pandas would cut even partitions)."""
    bounds = np.cumsum([0, *sizes])
    pieces = [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    futures = c.scatter(pieces)
    ddf = dd.from_delayed(futures, meta=frame.iloc[:0], verify_meta=False)
    assert ddf.npartitions == len(sizes)
    return ddf


def assert_same_scores(got: Any, expected: Any, columns: Sequence[tuple[str, str]]) -> None:
    """Columns, dtypes and every value equal; floats bit for bit (NaN where NaN)."""
    assert list(got.columns) == [name for name, _ in columns]
    kinds = {"string": "string", "float64": "float64", "bool": "bool"}
    assert [str(got[name].dtype) for name, _ in columns] == [kinds[k] for _, k in columns]
    assert [type(got[name].dtype).__name__ for name, k in columns if k == "string"] == [
        "StringDtype"
    ] * sum(k == "string" for _, k in columns)
    got = got.reset_index(drop=True)
    assert len(got) == len(expected)
    for name, kind in columns:
        if kind == "float64":
            a = got[name].to_numpy(dtype=np.float64)
            b = expected[name].to_numpy(dtype=np.float64)
            assert a.tobytes() == b.tobytes(), name
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


# --------------------------------------------------------------------------- data sets


N = 3_000


@pytest.fixture(scope="module")
def table() -> Any:
    return answers_table(N)


@pytest.fixture(scope="module")
def ddf(client: Any, table: Any) -> Any:
    return partitioned(client, table, uneven_sizes(N))


@pytest.fixture(scope="module")
def norms(table: Any) -> repprofile.NormTable:
    return repprofile.build_norms(Q, table, description="simulated test", created=CREATED)


# --------------------------------------------------------------------------- tests


def test_import_does_not_import_dask() -> None:
    code = (
        "import sys, repprofile, repprofile.dask; "
        "print(sorted(m for m in ('dask', 'distributed', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_data_has_rejected_rows_and_uneven_partitions(ddf: Any, table: Any) -> None:
    sizes = [int(s) for s in ddf.map_partitions(len).compute()]
    assert sizes == uneven_sizes(N)
    result = repprofile.score(Q, table)
    assert np.flatnonzero(~result.scored).tolist() == rejected_rows(N)


def test_score_equals_single_machine_bit_for_bit(ddf: Any, table: Any) -> None:
    expected = repprofile.score(Q, table, quality=QUALITY)
    # the batch is its own quality reference: the flags that need it are in play
    assert expected.quality.mahalanobis_reference == "batch"
    got = rdask.score(Q, ddf, quality=QUALITY)
    columns = output_columns(Q, norms=False)
    assert [(n, str(t)) for n, t in got.dtypes.items()] == [
        (n, "string" if k == "string" else k) for n, k in columns
    ]  # the declared meta, before computing
    frame = got.compute()
    assert_same_scores(frame, expected_frame(expected), columns)
    flags = ";".join(frame["quality_flags"].tolist())
    assert "mahalanobis_d2" in flags
    assert "psychsyn" in flags


def test_score_with_norms_equals_single_machine(
    ddf: Any, table: Any, norms: repprofile.NormTable
) -> None:
    expected = repprofile.score(Q, table, norms=norms)
    got = rdask.score(Q, ddf, norms=norms).compute()
    assert_same_scores(got, expected_frame(expected), output_columns(Q, norms=True))
    flags = ";".join(got["quality_flags"].tolist())
    assert "mahalanobis_d2" in flags
    assert "longstring" in flags
    assert got[[c for c in got.columns if c.endswith("_percentile")]].notna().all().all()


def test_errors_lists_the_rejected_rows(ddf: Any, table: Any) -> None:
    got = rdask.errors(Q, ddf).compute()
    assert list(got.columns) == ["candidate_id", "item", "value", "problem"]
    ids = [f"c{i:07d}" for i in rejected_rows(N)]
    assert sorted(set(got["candidate_id"])) == ids
    items = dict(zip(got["candidate_id"], got["item"], strict=True))
    assert items[f"c{5:07d}"] == Q.item_ids[3]
    assert items[f"c{20:07d}"] == Q.item_ids[10]
    assert got["problem"].str.len().min() > 0


def test_ids_repeated_across_partitions_are_rejected(client: Any, table: Any) -> None:
    """An id on two rows in different partitions (and one repeated within a partition)
    rejects every such row, as single-machine score of the whole table does."""
    frame = table.iloc[:600].copy()
    ids = frame["candidate_id"].tolist()
    ids[550] = ids[3]  # partition 0 (rows 0-99) and the last partition
    ids[560] = f" {ids[3]} "  # the same id once stripped: three rows in all
    ids[40] = ids[41]  # twice within one partition
    frame["candidate_id"] = ids
    ddf = partitioned(client, frame, [100, 0, 250, 250])
    expected = repprofile.score(Q, frame, quality=QUALITY)
    assert int((~expected.scored).sum()) == 5 + sum(r < 600 for r in rejected_rows(N))
    got = rdask.score(Q, ddf, quality=QUALITY).compute()
    assert_same_scores(got, expected_frame(expected), output_columns(Q, norms=False))
    assert ids[3] not in set(got["candidate_id"])
    errs = rdask.errors(Q, ddf).compute()
    repeats = errs[errs["problem"].str.contains("appears")]
    assert sorted(repeats["candidate_id"]) == sorted([ids[3], ids[41]])
    assert "appears 3 times" in repeats.set_index("candidate_id").loc[ids[3], "problem"]
    whole = repprofile.reliability(Q, frame)
    assert rdask.reliability(Q, ddf).n_obs == whole.n_obs


def test_build_norms_equals_single_machine(ddf: Any, norms: repprofile.NormTable) -> None:
    got = rdask.build_norms(Q, ddf, description="simulated test", created=CREATED)
    assert_close(got.model_dump(), norms.model_dump())
    for sid in Q.scale_ids:  # distinct values and counts exactly
        assert got.scales[sid].values == norms.scales[sid].values
        assert got.scales[sid].counts == norms.scales[sid].counts


def test_reliability_equals_single_machine(ddf: Any, table: Any) -> None:
    expected = repprofile.reliability(Q, table)
    got = rdask.reliability(Q, ddf)
    assert_close(got.model_dump(), expected.model_dump())


def test_quality_reference_equals_the_batch_reference(ddf: Any, table: Any) -> None:
    from repprofile._formats.norms import QualityReference

    single = repprofile.score(Q, table, quality=QUALITY)
    qr = single.quality
    expected = QualityReference.from_sample(
        Q, single.answers.values, qr.settings.psychsyn_critval, qr.clean
    )
    got = rdask.quality_reference(Q, ddf, quality=QUALITY)
    assert got is not None
    assert len(got.synonym_pairs) >= 3
    assert expected is not None
    assert_close(got.model_dump(), expected.model_dump())


def test_small_batch_has_no_reference(client: Any, table: Any) -> None:
    small = partitioned(client, table.iloc[:25], [1, 7, 17])  # below reference_min (30)
    assert rdask.quality_reference(Q, small) is None


M = 1_000_000


@pytest.mark.slow
def test_one_million_rows_uneven_partitions(client: Any) -> None:
    """1,000,000 rows in partitions of 1, 0, 17, 400,000, ... rows: scores bit for bit,
    norms and reliability to 1e-12 (76-95 s on the 3-worker LocalCluster of a shared 2-core
    machine, single-machine references included)."""
    table = answers_table(M)
    ddf = partitioned(client, table, uneven_sizes(M))
    expected = repprofile.score(Q, table, quality=QUALITY)
    assert expected.quality.mahalanobis_reference == "batch"
    got = rdask.score(Q, ddf, quality=QUALITY).compute()
    assert_same_scores(got, expected_frame(expected), output_columns(Q, norms=False))
    del got
    single_norms = repprofile.build_norms(Q, table, description="1M", created=CREATED)
    assert_close(
        rdask.build_norms(Q, ddf, description="1M", created=CREATED).model_dump(),
        single_norms.model_dump(),
    )
    assert_close(
        rdask.reliability(Q, ddf).model_dump(), repprofile.reliability(Q, table).model_dump()
    )


def test_missing_dask_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['dask.dataframe'] = None\n"
        "import repprofile.dask\n"
        "try:\n"
        "    repprofile.dask.reliability('rep-types', None)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'repprofile[dask]'" in out


def test_sjt_norms_and_reliability_are_refused(client: Any) -> None:
    q = load_questionnaire("service-recovery")
    frame = pd.DataFrame({"candidate_id": ["a", "b"]} | {i: [1.0, 2.0] for i in q.item_ids})
    ddf = partitioned(client, frame, [1, 1])
    with pytest.raises(repprofile.InputError, match="not supported yet"):
        rdask.build_norms(q, ddf, description="x")
    with pytest.raises(repprofile.InputError, match="not supported yet"):
        rdask.reliability(q, ddf)
