"""Scoring, norms, reliability and the response-quality reference on a Dask DataFrame.

The public functions are re-exported by :mod:`repprofile.dask`; dask is imported only
when one of them is called. The per-partition work is the engine-free code of
:mod:`repprofile._distributed._common` (shared with Spark):

* ``score`` / ``errors``: ``ddf.map_partitions`` of :func:`score_partition` /
  :func:`errors_partition` with a declared ``meta`` (an empty pandas frame of the output
  columns and dtypes), so no partition is computed to guess the schema.
* the statistics: one :func:`partial_partition` task per partition (``ddf.to_delayed()``
  + ``dask.delayed``), each returning the partition's :class:`PartialStats` as bytes;
  the client merges them in partition order (:func:`stats_from_blobs`) and derives the
  result from the merged sums. The item sums of whole-number answers are integers,
  exact in float64, so they do not depend on how the rows were partitioned; sums that
  involve scale means differ from one pass over all rows in the last bits only (norms
  and reliability equal the single-machine results to 1e-12).

Why ``to_delayed`` rather than ``map_partitions`` returning one-row frames of bytes
(which also works): the result is a plain tuple of bytes in partition order, with no
schema to declare for a binary column and no DataFrame to concatenate on the client.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
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
    empty_frame,
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

_INSTALL = "pip install 'repprofile[dask]'"


def _require_dask() -> None:
    """Import dask.dataframe and pandas, or raise an ImportError that says how to
    install them."""
    try:
        import dask.dataframe  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"repprofile.dask needs dask[dataframe] and pandas ({exc}): {_INSTALL}"
        ) from None


def _meta(columns: Sequence[tuple[str, Kind]]) -> Any:
    """An empty pandas DataFrame with the declared output columns and dtypes: strings
    as pandas' nullable string dtype backed by pyarrow (null: ``<NA>``), the same under
    pandas 2 and 3 and what dask turns object columns into anyway."""
    import pandas as pd

    return empty_frame(columns, string=pd.StringDtype("pyarrow"))


def _declared(frame: Any, meta: Any) -> Any:
    """A partition's output in exactly the declared columns and dtypes, so that every
    partition matches ``meta`` (strings: None becomes <NA>; values are unchanged)."""
    out = frame[list(meta.columns)].astype(dict(meta.dtypes))
    return out.reset_index(drop=True)


def _score_part(pdf: Any, meta: Any, **kwargs: Any) -> Any:
    """:func:`score_partition` in the declared schema."""
    return _declared(score_partition(pdf, **kwargs), meta)


def _errors_part(pdf: Any, meta: Any, **kwargs: Any) -> Any:
    """:func:`errors_partition` in the declared schema."""
    return _declared(errors_partition(pdf, **kwargs), meta)


def _repeats(ddf: Any) -> dict[str, int]:
    """The ids that repeat across the whole table (id -> count), counted on the workers
    (only the repeated ones reach the client)."""
    import pandas as pd

    ids = ddf.map_partitions(partition_ids, meta=pd.Series([], dtype=object, name="candidate_id"))
    counts = ids.value_counts()
    return repeated(counts[counts > 1].compute().to_dict())


def _blobs(
    ddf: Any, q: Questionnaire, options: ScoreOptions, parts: Sequence[str]
) -> tuple[dict[str, int], tuple[bytes, ...]]:
    """The ids that repeat in the whole table, and the partial statistics of every
    partition without them (:class:`PartialStats` as bytes), computed on the workers,
    one task per partition, returned in partition order. The rows of a repeated id are
    rejected, so they leave every statistic."""
    import dask

    api: Any = dask  # dask.delayed and dask.compute are untyped
    part_fn = api.delayed(partial_partition, pure=True)

    def tasks(repeats: dict[str, int] | None) -> list[Any]:
        return [
            part_fn(p, questionnaire=q, options=options, parts=tuple(parts), repeats=repeats)
            for p in ddf.to_delayed()
        ]

    # first the ids (a column, cheap to read from Parquet), then the statistics: dask
    # refuses to compute expressions and delayed tasks together
    repeats = _repeats(ddf)
    blobs: tuple[bytes, ...] = api.compute(*tasks(repeats or None))
    return repeats, blobs


def score(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> Any:
    """Score a Dask DataFrame of answers; see :func:`repprofile.dask.score`."""
    _require_dask()
    q, options = prepare(questionnaire, norms, ci, reliability, quality, sjt_method, sjt_key)
    # pass 1: the batch's own quality reference (the one single-machine score of the
    # whole table uses), from the merged partials of every partition
    repeats, blobs = _blobs(ddf, q, options, ("quality",))
    batch_reference = reference_from_blobs(q, options, blobs)
    meta = _meta(output_columns(q, norms=options.norms is not None))
    return ddf.map_partitions(
        _score_part,
        meta,
        questionnaire=q,
        options=options,
        batch_reference=batch_reference,
        repeats=repeats,
        meta=meta,
        clear_divisions=True,
    )


def errors(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> Any:
    """The rejected candidates' problems; see :func:`repprofile.dask.errors`."""
    _require_dask()
    q, options = prepare(questionnaire, norms, ci, reliability, quality, sjt_method, sjt_key)
    import dask.dataframe

    dd: Any = dask.dataframe  # untyped
    repeats = _repeats(ddf)
    meta = _meta(ERROR_COLUMNS)
    found = ddf.map_partitions(
        _errors_part,
        meta,
        questionnaire=q,
        options=options,
        repeats=repeats,
        meta=meta,
        clear_divisions=True,
    )
    if not repeats:
        return found
    return dd.concat([found, dd.from_pandas(_declared(repeated_errors(repeats), meta), 1)])


def build_norms(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> NormTable:
    """A norm table from every partition; see :func:`repprofile.dask.build_norms`."""
    _require_dask()
    q, options = prepare(questionnaire, sjt_method=sjt_method, sjt_key=sjt_key)
    check_mergeable(q, "build_norms")  # before any partition is read
    stats = stats_from_blobs(_blobs(ddf, q, options, PARTS)[1])
    return norms_from_partials(
        q, stats, description=description, created=created, simulated=simulated
    )


def reliability(
    questionnaire: str | Questionnaire, ddf: Any, *, ci: float = 0.95
) -> ReliabilityResult:
    """Reliability from every partition; see :func:`repprofile.dask.reliability`."""
    _require_dask()
    q, options = prepare(questionnaire)
    check_mergeable(q, "reliability")  # before any partition is read
    stats = stats_from_blobs(_blobs(ddf, q, options, ("reliability",))[1])
    return reliability_from_partials(q, stats, ci=ci)


def quality_reference(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    quality: QualitySettings | dict[str, Any] | None = None,
) -> QualityReference | None:
    """The batch quality reference; see :func:`repprofile.dask.quality_reference`."""
    _require_dask()
    q, options = prepare(questionnaire, quality=quality)
    return reference_from_blobs(q, options, _blobs(ddf, q, options, ("quality",))[1])
