"""Scoring, norms, reliability and the response-quality reference on a Spark DataFrame.

The public functions are re-exported by :mod:`repprofile.spark`; pyspark is imported
only when one of them is called. The per-partition work is the engine-free code of
:mod:`repprofile._distributed._common` (shared with Dask), run with ``mapInPandas``:

* ``score`` / ``errors``: ``sdf.mapInPandas(fn, schema)`` with the schema declared from
  :func:`output_columns` / :data:`ERROR_COLUMNS`. Spark hands a partition to ``fn`` as
  Arrow batches (``spark.sql.execution.arrow.maxRecordsPerBatch`` rows each); scores are
  per row once the whole table's quality reference and repeated ids are known, so each
  batch is scored on its own.
* the statistics: ``mapInPandas`` yields one row per partition, its partition id and
  its :class:`PartialStats` as bytes (the partials of its batches merged); the driver
  collects them and merges them in partition order.
* repeated ids: the ids, as ``score`` reads them, counted with ``groupBy``; only the
  repeated ones reach the driver.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from repprofile._analysis.partial import (
    PARTS,
    check_mergeable,
    norms_from_partials,
    reliability_from_partials,
)
from repprofile._analysis.reliability import ReliabilityResult
from repprofile._distributed._common import (
    ERROR_COLUMNS,
    Kind,
    ScoreOptions,
    errors_partition,
    output_columns,
    partial_partition,
    partition_ids,
    prepare,
    reference_from_blobs,
    repeated,
    repeated_errors,
    score_partition,
    stats_from_blobs,
)
from repprofile._formats.norms import NormTable, QualityReference, ReliabilityChoice
from repprofile._formats.questionnaire import QualitySettings, Questionnaire, SjtMethod

__all__ = ["build_norms", "errors", "quality_reference", "reliability", "score"]

_INSTALL = "pip install 'repprofile[spark]'"


def _require_spark() -> None:
    """Import pyspark, pandas and pyarrow, or raise an ImportError that says how to
    install them (Spark also needs a Java runtime, 17 or newer)."""
    try:
        import pandas  # noqa: F401
        import pyarrow  # type: ignore[import-untyped]  # noqa: F401
        import pyspark.sql  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"repprofile.spark needs pyspark, pandas and pyarrow ({exc}): {_INSTALL}"
        ) from None


def schema(columns: Sequence[tuple[str, Kind]]) -> Any:
    """The Spark schema of output columns: string, double, boolean; all nullable."""
    from pyspark.sql import types as spark_types

    spark_type = {
        "string": spark_types.StringType(),
        "float64": spark_types.DoubleType(),
        "bool": spark_types.BooleanType(),
    }
    return spark_types.StructType(
        [spark_types.StructField(name, spark_type[kind], True) for name, kind in columns]
    )


def _repeats(sdf: Any, names: list[str]) -> dict[str, int]:
    """The ids that repeat across the whole table (id -> count)."""

    def ids(batches: Iterator[Any]) -> Iterator[Any]:
        for pdf in batches:
            yield partition_ids(_named(pdf, ["candidate_id"])).to_frame()

    counts = (
        sdf.select(f"c{names.index('candidate_id')}")
        .mapInPandas(ids, "candidate_id string")
        .groupBy("candidate_id")
        .count()
        .filter("count > 1")
        .collect()
    )
    return repeated({row["candidate_id"]: row["count"] for row in counts})


def _blobs(
    sdf: Any,
    names: list[str],
    q: Questionnaire,
    options: ScoreOptions,
    parts: Sequence[str],
    repeats: Mapping[str, int],
) -> list[bytes]:
    """Every partition's partial statistics (bytes), in partition order."""
    import pandas as pd

    parts = tuple(parts)
    rep = dict(repeats) or None

    def partial(batches: Iterator[Any]) -> Iterator[Any]:
        from pyspark import TaskContext

        from repprofile._analysis.partial import PartialStats, merge_partials

        found = [
            PartialStats.from_bytes(
                partial_partition(pdf, questionnaire=q, options=options, parts=parts, repeats=rep)
            )
            for pdf in _chunks(batches, names)
        ]
        if found:
            ctx = TaskContext.get()
            pid = ctx.partitionId() if ctx is not None else 0
            blob = merge_partials(found).to_bytes()
            yield pd.DataFrame({"partition": [pid], "stats": [blob]})

    rows = sdf.mapInPandas(partial, "partition int, stats binary").collect()
    return [bytes(r["stats"]) for r in sorted(rows, key=lambda r: r["partition"])]


def _plain(sdf: Any) -> tuple[Any, list[str]]:
    """The table with its columns renamed by position (``c0``, ``c1``, ...) and the
    real names, which each partition function puts back: Spark reads a dot in a column
    name as a struct field, and SJT option ids (``sr01.a``) have dots."""
    names = list(sdf.columns)
    if "candidate_id" not in names:
        raise ValueError(
            "The answers DataFrame must have a 'candidate_id' column and one column per "
            f"item id; got columns {names[:8]}"
        )
    return sdf.toDF(*(f"c{i}" for i in range(len(names)))), names


def _named(pdf: Any, names: list[str]) -> Any:
    """A partition batch with the table's real column names."""
    pdf.columns = names
    return pdf


_CHUNK_ROWS = 100_000


def _chunks(batches: Iterator[Any], names: list[str]) -> Iterator[Any]:
    """A partition's Arrow batches (10,000 rows each by default) gathered into frames of
    about :data:`_CHUNK_ROWS` rows, with the real column names: each call into the
    library has a fixed cost, which small batches pay many times over."""
    import pandas as pd

    held: list[Any] = []
    rows = 0
    for pdf in batches:
        held.append(pdf)
        rows += len(pdf)
        if rows >= _CHUNK_ROWS:
            yield _named(pd.concat(held, ignore_index=True) if len(held) > 1 else held[0], names)
            held, rows = [], 0
    if held:
        yield _named(pd.concat(held, ignore_index=True) if len(held) > 1 else held[0], names)


def score(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> Any:
    """Score a Spark DataFrame of answers; see :func:`repprofile.spark.score`."""
    _require_spark()
    q, options = prepare(questionnaire, norms, ci, reliability, quality, sjt_method, sjt_key)
    sdf, names = _plain(sdf)
    repeats = _repeats(sdf, names)
    batch_reference = reference_from_blobs(
        q, options, _blobs(sdf, names, q, options, ("quality",), repeats)
    )
    rep = repeats or None

    def scores(batches: Iterator[Any]) -> Iterator[Any]:
        for pdf in _chunks(batches, names):
            yield score_partition(
                pdf,
                questionnaire=q,
                options=options,
                batch_reference=batch_reference,
                repeats=rep,
            )

    return sdf.mapInPandas(scores, schema(output_columns(q, norms=options.norms is not None)))


def errors(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> Any:
    """The rejected candidates' problems; see :func:`repprofile.spark.errors`."""
    _require_spark()
    q, options = prepare(questionnaire, norms, ci, reliability, quality, sjt_method, sjt_key)
    sdf, names = _plain(sdf)
    repeats = _repeats(sdf, names)
    rep = repeats or None

    def found(batches: Iterator[Any]) -> Iterator[Any]:
        for pdf in _chunks(batches, names):
            yield errors_partition(pdf, questionnaire=q, options=options, repeats=rep)

    out = sdf.mapInPandas(found, schema(ERROR_COLUMNS))
    if not repeats:
        return out
    extra = repeated_errors(repeats)
    return out.unionByName(sdf.sparkSession.createDataFrame(extra, schema(ERROR_COLUMNS)))


def build_norms(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> NormTable:
    """A norm table from every partition; see :func:`repprofile.spark.build_norms`."""
    _require_spark()
    q, options = prepare(questionnaire, sjt_method=sjt_method, sjt_key=sjt_key)
    check_mergeable(q, "build_norms")
    sdf, names = _plain(sdf)
    stats = stats_from_blobs(_blobs(sdf, names, q, options, PARTS, _repeats(sdf, names)))
    return norms_from_partials(
        q, stats, description=description, created=created, simulated=simulated
    )


def reliability(
    questionnaire: str | Questionnaire, sdf: Any, *, ci: float = 0.95
) -> ReliabilityResult:
    """Reliability from every partition; see :func:`repprofile.spark.reliability`."""
    _require_spark()
    q, options = prepare(questionnaire)
    check_mergeable(q, "reliability")
    sdf, names = _plain(sdf)
    repeats = _repeats(sdf, names)
    stats = stats_from_blobs(_blobs(sdf, names, q, options, ("reliability",), repeats))
    return reliability_from_partials(q, stats, ci=ci)


def quality_reference(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    quality: QualitySettings | dict[str, Any] | None = None,
) -> QualityReference | None:
    """The batch quality reference; see :func:`repprofile.spark.quality_reference`."""
    _require_spark()
    q, options = prepare(questionnaire, quality=quality)
    sdf, names = _plain(sdf)
    blobs = _blobs(sdf, names, q, options, ("quality",), _repeats(sdf, names))
    return reference_from_blobs(q, options, blobs)
