"""Black-box tests of issue 19's repprofile.dask and repprofile.spark (docs/scale.md).

Written from the issue and the user docs only: outputs are compared with the CLI's
``score --format csv`` and with single-machine ``repprofile.score`` / ``build_norms`` /
``reliability`` on the same rows split into uneven partitions.
"""

from __future__ import annotations

import csv
import io
import math
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import repprofile

pd = pytest.importorskip("pandas")

N = 3000
SIZES = [1, 0, 17, 1200, 300, 210]  # the rest goes in a last partition
REL_TOL = 1e-12

pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::UserWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:distributed.*"),
    pytest.mark.filterwarnings("ignore::UserWarning:distributed.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:dask.*"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _answers(qid: str, n: int, seed: int = 19, missing: float = 0.02) -> Any:
    """A wide answers table of n candidates with some careless ones and missing answers."""
    q = repprofile.load_questionnaire(qid)
    rng = np.random.default_rng(seed)
    cols: list[str] = list(_sjt_columns(q)) if q.has_sjt else list(q.item_ids)
    lo, hi = 1, 5
    scale = q.response_scale
    if scale is not None:
        lo, hi = int(scale.min), int(scale.max)
    if q.has_sjt:
        lo, hi = 1, 6
    latent = rng.normal(size=(n, 40))
    data = np.empty((n, len(cols)))
    items: dict[str, Any] = {i.id: i for i in q.items}
    for j, col in enumerate(cols):
        item: Any = items.get(col)
        sign = getattr(item, "keyed", 1) or 1
        f = latent[:, j % 40]
        x = (lo + hi) / 2 + sign * 1.0 * f + rng.normal(scale=0.8, size=n)
        data[:, j] = np.clip(np.rint(x), lo, hi)
        kind = getattr(item, "kind", "")
        if kind == "attention_check":
            data[:, j] = item.expected[0]
        elif kind == "infrequency":
            data[:, j] = 1
    careless = rng.random(n) < 0.05
    data[careless] = rng.integers(lo, hi + 1, size=(careless.sum(), len(cols)))
    data[rng.random(data.shape) < missing] = np.nan
    df = pd.DataFrame(data, columns=cols)
    df.insert(0, "candidate_id", [f"A{i:06d}" for i in range(n)])
    return df


def _sjt_columns(q: Any) -> Any:
    cols = []
    for item in q.items:
        if getattr(item, "kind", "") == "sjt":
            cols += [f"{item.id}.{o.id}" for o in item.options]
        else:
            cols.append(item.id)
    return cols


def _split(df: Any, sizes: Any = SIZES) -> Any:
    parts, start = [], 0
    for s in sizes:
        parts.append(df.iloc[start : start + s])
        start += s
    parts.append(df.iloc[start:])
    return parts


def _cli_csv(df: Any, tmp_path: Any, *args: str) -> Any:
    path = tmp_path / "answers.csv"
    df.to_csv(path, index=False)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "repprofile",
            "score",
            "--format",
            "csv",
            "--quiet",
            *args,
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    return list(csv.reader(io.StringIO(out.stdout)))


def _same_float(a: Any, b: Any) -> Any:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _compare_with_cli(result: Any, rows: Any) -> Any:
    """result: pandas frame from dask/spark; rows: CLI CSV rows (header first)."""
    header, body = rows[0], rows[1:]
    assert list(result.columns) == header
    assert len(result) == len(body)
    by_id = {r[0]: r for r in body}
    for rec in result.itertuples(index=False):
        cid = str(rec[0])
        ref = by_id[cid]
        for name, value, text in zip(header, rec, ref, strict=True):
            if name in ("candidate_id",):
                assert str(value) == text
            elif name in ("primary_type", "secondary_type", "quality_flags"):
                got = "" if value is None or value is pd.NA or value != value else str(value)
                assert got == text, (cid, name)
            elif name == "quality_valid":
                assert str(bool(value)).lower() == text, (cid, name)
            else:
                if text == "":
                    assert value is None or math.isnan(value), (cid, name)
                else:
                    assert abs(float(value) - float(text)) <= 5.01e-5 * max(1, abs(float(text))), (
                        cid,
                        name,
                        value,
                        text,
                    )


def _compare_with_single(result: Any, single: Any) -> Any:
    """Scores bit for bit against single-machine repprofile.score."""
    ids = list(single.candidate_ids)
    scored = np.asarray(single.scored, dtype=bool)
    kept = [i for i, ok in zip(ids, scored, strict=True) if ok]
    assert [str(x) for x in result["candidate_id"]] == [str(x) for x in kept]
    for j, sid in enumerate(single.scale_ids):
        got = result[f"{sid}_mean"].to_numpy(dtype=float)
        exp = np.asarray(single.mean)[scored, j]
        assert np.array_equal(got, exp, equal_nan=True), sid
        got = result[f"{sid}_pomp"].to_numpy(dtype=float)
        exp = np.asarray(single.pomp)[scored, j]
        assert np.array_equal(got, exp, equal_nan=True), sid


def _same_norms(a: Any, b: Any) -> Any:
    assert set(a.scales) == set(b.scales)
    for s in a.scales:
        x, y = a.scales[s], b.scales[s]
        assert x.n == y.n, s
        assert list(x.values) == list(y.values) or np.allclose(
            x.values, y.values, rtol=0, atol=REL_TOL
        )
        assert list(x.counts) == list(y.counts), s
        for f in ("mean", "sd", "alpha", "omega_total"):
            u, v = getattr(x, f), getattr(y, f)
            if u is None or v is None:
                assert u is v, (s, f)
            else:
                assert abs(u - v) <= REL_TOL, (s, f, u, v)


def _same_reliability(a: Any, b: Any) -> Any:
    assert set(a.scales) == set(b.scales)
    for s in a.scales:
        x, y = a.scales[s], b.scales[s]
        assert x.n_obs == y.n_obs, s
        assert x.n_items == y.n_items, s
        for f in ("alpha", "std_alpha", "g6", "average_r", "omega_total", "alpha_se"):
            u, v = getattr(x, f), getattr(y, f)
            if u is None or v is None or (isinstance(u, float) and math.isnan(u)):
                assert (u is None and v is None) or (math.isnan(u) and math.isnan(v)), (s, f)
            else:
                assert abs(u - v) <= REL_TOL, (s, f, u, v)


@pytest.fixture(scope="module")
def data() -> Any:
    return _answers("rep-types", N)


# ---------------------------------------------------------------- lazy imports


def test_lazy_imports() -> None:
    code = (
        "import sys, repprofile.dask, repprofile.spark\n"
        "assert 'dask' not in sys.modules, 'dask'\n"
        "assert 'pyspark' not in sys.modules, 'pyspark'\n"
        "assert 'distributed' not in sys.modules\n"
        "for m in (repprofile.dask, repprofile.spark):\n"
        "    for f in ('score', 'errors', 'build_norms', 'reliability', 'quality_reference'):\n"
        "        assert callable(getattr(m, f))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------------ dask

dd = None


@pytest.fixture(scope="module")
def client() -> Any:
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    cl = distributed.Client(cluster)
    yield cl
    cl.close()
    cluster.close()


def _ddf(parts: Any) -> Any:
    import dask
    import dask.dataframe as ddm

    meta = parts[0].iloc[:0]
    api: Any = dask  # dask.delayed is untyped and not re-exported
    delayed = api.delayed
    return ddm.from_delayed([delayed(p) for p in parts], meta=meta, verify_meta=False)


@pytest.fixture(scope="module")
def dask_scores(client: Any, data: Any) -> Any:
    import repprofile.dask as rdask

    ddf = _ddf(_split(data))
    assert ddf.npartitions == len(SIZES) + 1
    return rdask.score("rep-types", ddf, norms="rep-types-simulated").compute()


def test_dask_partitions_as_built(client: Any, data: Any) -> None:
    ddf = _ddf(_split(data))
    sizes = ddf.map_partitions(len).compute().tolist()
    assert sizes[: len(SIZES)] == SIZES


def test_dask_score_columns_and_values_equal_cli(
    dask_scores: Any, data: Any, tmp_path: Any
) -> None:
    rows = _cli_csv(data, tmp_path, "--norms", "rep-types-simulated")
    _compare_with_cli(dask_scores, rows)


def test_dask_score_bit_identical_to_single(dask_scores: Any, data: Any) -> None:
    single = repprofile.score("rep-types", data, norms="rep-types-simulated")
    _compare_with_single(dask_scores, single)
    for sid in single.scale_ids:
        assert f"{sid}_t" in dask_scores.columns
        assert f"{sid}_percentile" in dask_scores.columns


def test_dask_score_dtypes(dask_scores: Any) -> None:
    assert dask_scores["quality_valid"].dtype == bool
    assert dask_scores["controller_mean"].dtype == np.float64
    assert isinstance(dask_scores["primary_type"].dtype, pd.StringDtype)


def test_dask_meta_matches_computed(client: Any, data: Any) -> None:
    import repprofile.dask as rdask

    lazy = rdask.score("rep-types", _ddf(_split(data.iloc[:300], [1, 0, 17])))
    got = lazy.compute()
    assert list(lazy._meta.columns) == list(got.columns)
    assert dict(lazy._meta.dtypes) == dict(got.dtypes)


def test_dask_build_norms_and_reliability(client: Any, data: Any) -> None:
    import repprofile.dask as rdask

    ddf = _ddf(_split(data))
    kw: dict[str, Any] = {"description": "t", "created": "2026-12-04", "simulated": True}
    _same_norms(
        rdask.build_norms("rep-types", ddf, **kw), repprofile.build_norms("rep-types", data, **kw)
    )
    _same_reliability(
        rdask.reliability("rep-types", ddf), repprofile.reliability("rep-types", data)
    )


def test_dask_int_columns_extra_columns(client: Any) -> None:
    import repprofile.dask as rdask

    small = _answers("rep-types", 400, seed=3, missing=0.0)
    items = [c for c in small.columns if c != "candidate_id"]
    ints = small.copy()
    ints[items] = ints[items].astype("int64")
    ints["department"] = "sales"  # unknown column
    got = rdask.score("rep-types", _ddf(_split(ints, [1, 0, 50]))).compute()
    single = repprofile.score("rep-types", small)
    _compare_with_single(got, single)


def test_dask_none_as_missing(client: Any) -> None:
    import repprofile.dask as rdask

    small = _answers("rep-types", 400, seed=3, missing=0.0)
    withnone = small.astype(object)
    withnone.iloc[5, 3] = None
    withnone.iloc[7, 10] = None
    nan = small.copy()
    nan.iloc[5, 3] = np.nan
    nan.iloc[7, 10] = np.nan
    got = rdask.score("rep-types", _ddf(_split(withnone, [1, 0, 50]))).compute()
    _compare_with_single(got, repprofile.score("rep-types", nan))


def test_dask_integer_candidate_ids(client: Any, tmp_path: Any) -> None:
    import repprofile.dask as rdask

    small = _answers("rep-types", 300, seed=5)
    small["candidate_id"] = np.arange(1000, 1300, dtype="int64")
    got = rdask.score("rep-types", _ddf(_split(small, [1, 0, 50]))).compute()
    single = repprofile.score("rep-types", small)
    _compare_with_single(got, single)
    _compare_with_cli(got, _cli_csv(small, tmp_path))


def test_dask_below_reference_min(client: Any, tmp_path: Any) -> None:
    import repprofile.dask as rdask

    small = _answers("rep-types", 12, seed=7)
    ddf = _ddf(_split(small, [1, 0, 4]))
    assert rdask.quality_reference("rep-types", ddf) is None
    got = rdask.score("rep-types", ddf).compute()
    _compare_with_single(got, repprofile.score("rep-types", small))
    _compare_with_cli(got, _cli_csv(small, tmp_path))


def test_dask_norms_as_path_and_object(client: Any, data: Any, tmp_path: Any) -> None:
    import repprofile.dask as rdask

    part = data.iloc[:500]
    norms = repprofile.build_norms("rep-types", data, description="x", created="2026-12-04")
    path = tmp_path / "norms.json"
    path.write_text(norms.to_json(), encoding="utf-8")
    ddf = _ddf(_split(part, [1, 0, 17]))
    a = rdask.score("rep-types", ddf, norms=norms).compute()
    b = rdask.score("rep-types", ddf, norms=str(path)).compute()
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    single = repprofile.score("rep-types", part, norms=norms)
    _compare_with_single(a, single)
    _compare_with_cli(a, _cli_csv(part, tmp_path, "--norms", str(path)))


def _bad_table() -> Any:
    small = _answers("rep-types", 200, seed=11)
    small.iloc[3, 5] = 9.0  # out of range
    small.iloc[60, 8] = 2.5  # fractional
    small.loc[150, "candidate_id"] = small.loc[2, "candidate_id"]  # repeated id
    return small


def test_dask_errors_and_repeated_ids(client: Any, tmp_path: Any) -> None:
    import repprofile.dask as rdask

    small = _bad_table()
    ddf = _ddf(_split(small, [1, 0, 17, 100]))  # ids 2 and 150 in different partitions
    got = rdask.score("rep-types", ddf).compute()
    single = repprofile.score("rep-types", small)
    _compare_with_single(got, single)
    err = rdask.errors("rep-types", ddf).compute()
    assert list(err.columns) == ["candidate_id", "item", "value", "problem"]
    bad = {str(e.candidate_id) for e in single.errors}
    assert set(err["candidate_id"].astype(str)) == bad
    dup = small.loc[2, "candidate_id"]
    assert (err["candidate_id"] == dup).sum() == 1
    assert "2 times" in err.loc[err["candidate_id"] == dup, "problem"].iloc[0]
    assert dup not in set(got["candidate_id"])


def test_dask_sjt(client: Any, tmp_path: Any) -> None:
    import repprofile.dask as rdask

    sjt = _answers("service-recovery", 400, seed=13)
    ddf = _ddf(_split(sjt, [1, 0, 17]))
    got = rdask.score("service-recovery", ddf).compute()
    single = repprofile.score("service-recovery", sjt)
    _compare_with_single(got, single)
    _compare_with_cli(got, _cli_csv(sjt, tmp_path, "-q", "service-recovery"))
    with pytest.raises(repprofile.InputError, match=r"(?i)not supported"):
        rdask.build_norms("service-recovery", ddf, description="x")
    with pytest.raises(repprofile.InputError, match=r"(?i)not supported"):
        rdask.reliability("service-recovery", ddf)


# ----------------------------------------------------------------------- spark


@pytest.fixture(scope="module")
def spark() -> Any:
    pytest.importorskip("pyspark")
    if not os.path.exists("/usr/bin/java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[2]")
        .appName("issue19-blackbox")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield s
    s.stop()


def _sdf(spark: Any, parts: Any, int_items: Any = False) -> Any:
    from pyspark.sql import types as st

    cols = list(parts[0].columns)
    fields = []
    for c in cols:
        if c == "candidate_id":
            fields.append(st.StructField(c, st.StringType()))
        elif pd.api.types.is_numeric_dtype(parts[0][c]) or parts[0][c].dtype == object:
            fields.append(st.StructField(c, st.LongType() if int_items else st.DoubleType()))
        else:
            fields.append(st.StructField(c, st.StringType()))
    schema = st.StructType(fields)
    out = None
    for p in parts:
        rows = [
            tuple(None if (isinstance(v, float) and math.isnan(v)) else v for v in r)
            for r in p.itertuples(index=False)
        ]
        rows = [
            tuple(
                (int(v) if int_items and isinstance(v, float) else v) if i else str(v)
                for i, v in enumerate(r)
            )
            for r in rows
        ]
        one = (
            spark.createDataFrame(rows, schema).coalesce(1)
            if rows
            else spark.createDataFrame([], schema).coalesce(1)
        )
        out = one if out is None else out.union(one)
    return out


@pytest.fixture(scope="module")
def spark_scores(spark: Any, data: Any) -> Any:
    import repprofile.spark as rspark

    sdf = _sdf(spark, _split(data))
    return rspark.score("rep-types", sdf, norms="rep-types-simulated").toPandas()


def test_spark_score_equals_cli(spark_scores: Any, data: Any, tmp_path: Any) -> None:
    _compare_with_cli(spark_scores, _cli_csv(data, tmp_path, "--norms", "rep-types-simulated"))


def test_spark_score_bit_identical_to_single(spark_scores: Any, data: Any) -> None:
    _compare_with_single(
        spark_scores, repprofile.score("rep-types", data, norms="rep-types-simulated")
    )


def test_spark_schema(spark: Any, data: Any) -> None:
    import repprofile.spark as rspark

    sdf = _sdf(spark, _split(data.iloc[:100], [1, 0, 17]))
    out = rspark.score("rep-types", sdf)
    types = dict(out.dtypes)
    assert types["candidate_id"] == "string"
    assert types["controller_mean"] == "double"
    assert types["quality_valid"] == "boolean"
    assert types["quality_flags"] == "string"


def test_spark_build_norms_and_reliability(spark: Any, data: Any) -> None:
    import repprofile.spark as rspark

    sdf = _sdf(spark, _split(data))
    kw: dict[str, Any] = {"description": "t", "created": "2026-12-04", "simulated": True}
    _same_norms(
        rspark.build_norms("rep-types", sdf, **kw), repprofile.build_norms("rep-types", data, **kw)
    )
    _same_reliability(
        rspark.reliability("rep-types", sdf), repprofile.reliability("rep-types", data)
    )


def test_spark_quality_reference_matches_dask(spark: Any, client: Any, data: Any) -> None:
    import repprofile.dask as rdask
    import repprofile.spark as rspark

    a = rspark.quality_reference("rep-types", _sdf(spark, _split(data)))
    b = rdask.quality_reference("rep-types", _ddf(_split(data)))
    assert a is not None
    assert b is not None
    assert a == b


def test_spark_null_and_nan_missing_integer_items(spark: Any) -> None:
    from pyspark.sql import functions as sf

    import repprofile.spark as rspark

    small = _answers("rep-types", 300, seed=17, missing=0.03)
    single = repprofile.score("rep-types", small)
    # nulls (from None)
    got = rspark.score("rep-types", _sdf(spark, _split(small, [1, 0, 40]))).toPandas()
    _compare_with_single(got, single)
    # NaN instead of null
    sdf = _sdf(spark, _split(small, [1, 0, 40]))
    items = [c for c in small.columns if c != "candidate_id"]
    sdf = sdf.select(
        "candidate_id", *[sf.coalesce(sf.col(c), sf.lit(float("nan"))).alias(c) for c in items]
    )
    got = rspark.score("rep-types", sdf).toPandas()
    _compare_with_single(got, single)
    # integer columns (nulls for missing)
    got = rspark.score(
        "rep-types", _sdf(spark, _split(small, [1, 0, 40]), int_items=True)
    ).toPandas()
    _compare_with_single(got, single)


def test_spark_extra_column_and_below_reference_min(spark: Any, tmp_path: Any) -> None:
    from pyspark.sql import functions as sf

    import repprofile.spark as rspark

    small = _answers("rep-types", 12, seed=23)
    sdf = _sdf(spark, _split(small, [1, 0, 4])).withColumn("department", sf.lit("sales"))
    # the "columns ... ignored" warning is emitted in the Python workers
    assert rspark.quality_reference("rep-types", sdf) is None
    got = rspark.score("rep-types", sdf).toPandas()
    _compare_with_single(got, repprofile.score("rep-types", small))
    _compare_with_cli(got, _cli_csv(small, tmp_path))


def test_spark_norms_as_path_and_object(spark: Any, data: Any, tmp_path: Any) -> None:
    import repprofile.spark as rspark

    part = data.iloc[:300]
    norms = repprofile.build_norms("rep-types", data, description="x", created="2026-12-04")
    path = tmp_path / "norms.json"
    path.write_text(norms.to_json(), encoding="utf-8")
    sdf = _sdf(spark, _split(part, [1, 0, 17]))
    a = rspark.score("rep-types", sdf, norms=norms).toPandas()
    b = rspark.score("rep-types", sdf, norms=str(path)).toPandas()
    pd.testing.assert_frame_equal(a, b)
    _compare_with_single(a, repprofile.score("rep-types", part, norms=norms))


def test_spark_errors_and_repeated_ids(spark: Any) -> None:
    import repprofile.spark as rspark

    small = _bad_table()
    sdf = _sdf(spark, _split(small, [1, 0, 17, 100]))
    single = repprofile.score("rep-types", small)
    got = rspark.score("rep-types", sdf).toPandas()
    _compare_with_single(got, single)
    err = rspark.errors("rep-types", sdf).toPandas()
    assert list(err.columns) == ["candidate_id", "item", "value", "problem"]
    assert set(err["candidate_id"]) == {str(e.candidate_id) for e in single.errors}
    dup = small.loc[2, "candidate_id"]
    assert (err["candidate_id"] == dup).sum() == 1


def test_spark_sjt(spark: Any, tmp_path: Any) -> None:
    import repprofile.spark as rspark

    sjt = _answers("service-recovery", 300, seed=29)
    sdf = _sdf(spark, _split(sjt, [1, 0, 17]))
    got = rspark.score("service-recovery", sdf).toPandas()
    _compare_with_single(got, repprofile.score("service-recovery", sjt))
    _compare_with_cli(got, _cli_csv(sjt, tmp_path, "-q", "service-recovery"))
    with pytest.raises(repprofile.InputError, match=r"(?i)not supported"):
        rspark.build_norms("service-recovery", sdf, description="x")


def test_docs_norm_table_save(tmp_path: Any) -> None:
    """docs/scale.md: write a norm table out with to_json and load it back."""
    norms = repprofile.load_norms("rep-types-simulated")
    (tmp_path / "n.json").write_text(norms.to_json())
    assert repprofile.load_norms(tmp_path / "n.json").n == norms.n
