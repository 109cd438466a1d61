"""Scoring, norms, reliability and the response-quality reference on a Dask DataFrame.

The public functions are re-exported by :mod:`repprofile.dask`; dask is imported only
when one of them is called. The per-partition work is the engine-free code of
:mod:`repprofile._distributed._common` (shared with Spark):

* ``score`` / ``errors``: ``ddf.map_partitions`` of :func:`score_partition` /
  :func:`errors_partition` with a declared ``meta`` (an empty pandas frame of the output
  columns and dtypes), so no partition is computed to guess the schema.
* the statistics: one :func:`partial_partition` task per partition (``ddf.to_delayed()``
  + ``dask.delayed``), each returning the partition's :class:`PartialStats` as bytes;
  the client merges them in partition order (:func:`merge_partials`) and derives the
  result from the merged moments. Sums of products of whole-number answers are exact in
  float64, so the merged statistics do not depend on how the rows were partitioned.

Why ``to_delayed`` rather than ``map_partitions`` returning one-row frames of bytes:
the result is a plain list in partition order with no DataFrame ``meta`` to declare for
a binary column (dask may convert object columns to strings), and nothing is
concatenated on the way.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from repprofile._analysis.partial import (
    PartialStats,
    merge_partials,
    norms_from_partials,
    quality_reference_from_partials,
    reliability_from_partials,
)
from repprofile._analysis.reliability import ReliabilityResult
from repprofile._distributed._common import (
    errors_partition,
    output_columns,
    partial_partition,
    prepare,
    score_partition,
)
from repprofile._formats.norms import NormTable, QualityReference
from repprofile._formats.questionnaire import Questionnaire, QualitySettings

__all__ = ["build_norms", "errors", "quality_reference", "reliability", "score"]

_INSTALL = "pip install 'repprofile[dask]'"
# pandas dtype of each output kind: strings are pandas' nullable string dtype backed by
# pyarrow (a null type is <NA>), the same under pandas 2 and 3
_ERROR_COLUMNS = (("candidate_id", "string"), ("item", "string"), ("problem", "string"))


def _require_dask() -> Any:
    """``dask.dataframe`` (and pandas), or an ImportError that says how to install them."""
    try:
        import dask.dataframe as dd
        import pandas  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"repprofile.dask needs dask[dataframe] and pandas ({exc}): {_INSTALL}"
        ) from None
    return dd


def _dtype(kind: str) -> Any:
    """The pandas dtype of an output column kind (``string``, ``float64`` or ``bool``)."""
    import pandas as pd

    if kind == "string":
        return pd.StringDtype("pyarrow")
    if kind in ("float64", "bool"):
        return kind
    raise ValueError(f"unknown output column kind {kind!r}; expected string, float64 or bool")


def _meta(columns: Sequence[tuple[str, str]]) -> Any:
    """An empty pandas DataFrame with the declared output columns and dtypes."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series([], dtype=_dtype(kind)) for name, kind in columns})


def _declared(frame: Any, meta: Any) -> Any:
    """A partition's output in exactly the declared columns and dtypes (a no-op when it
    already is), so every partition matches ``meta``."""
    out = frame[list(meta.columns)]
    if list(out.dtypes) != list(meta.dtypes):
        out = out.astype(dict(meta.dtypes))
    return out.reset_index(drop=True)


def _score_part(pdf: Any, meta: Any, **kwargs: Any) -> Any:
    """:func:`score_partition` in the declared schema."""
    return _declared(score_partition(pdf, **kwargs), meta)


def _errors_part(pdf: Any, meta: Any, **kwargs: Any) -> Any:
    """:func:`errors_partition` in the declared schema."""
    return _declared(errors_partition(pdf, **kwargs), meta)


def _merged(
    ddf: Any, q: Questionnaire, options: Any, parts: tuple[str, ...]
) -> PartialStats:
    """The partial statistics of every partition, computed on the workers and merged on
    the client in partition order."""
    import dask

    part_fn = dask.delayed(partial_partition, pure=True)
    tasks = [
        part_fn(p, questionnaire=q, options=options, parts=parts) for p in ddf.to_delayed()
    ]
    blobs: tuple[bytes, ...] = dask.compute(*tasks)
    return merge_partials(PartialStats.from_bytes(b) for b in blobs)


def _options(
    ci: float = 0.90,
    reliability: str = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: str | None = None,
    sjt_key: Any = None,
) -> dict[str, Any]:
    """The scoring options, as :func:`prepare` takes them."""
    return {
        "ci": ci,
        "reliability": reliability,
        "quality": quality,
        "sjt_method": sjt_method,
        "sjt_key": sjt_key,
    }


def score(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: str = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: str | None = None,
    sjt_key: Any = None,
) -> Any:
    """Score a Dask DataFrame of answers; see :func:`repprofile.dask.score`."""
    _require_dask()
    q, table, options = prepare(
        questionnaire, norms, _options(ci, reliability, quality, sjt_method, sjt_key)
    )
    # pass 1: the batch's own quality reference (as single-machine score of the whole
    # table uses), from the merged partials of every partition
    stats = _merged(ddf, q, options, ("quality",))
    batch_reference = quality_reference_from_partials(q, stats, quality=options["quality"])
    meta = _meta(output_columns(q, norms=table is not None))
    return ddf.map_partitions(
        _score_part,
        meta,
        questionnaire=q,
        norms=table,
        options=options,
        batch_reference=batch_reference,
        meta=meta,
        clear_divisions=True,
    )


def errors(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: str = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: str | None = None,
    sjt_key: Any = None,
) -> Any:
    """The rejected candidates' problems; see :func:`repprofile.dask.errors`."""
    _require_dask()
    q, _table, options = prepare(
        questionnaire, norms, _options(ci, reliability, quality, sjt_method, sjt_key)
    )
    meta = _meta(_ERROR_COLUMNS)
    return ddf.map_partitions(
        _errors_part, meta, questionnaire=q, options=options, meta=meta, clear_divisions=True
    )


def build_norms(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
    sjt_method: str | None = None,
    sjt_key: Any = None,
) -> NormTable:
    """A norm table from every partition; see :func:`repprofile.dask.build_norms`."""
    _require_dask()
    q, _table, options = prepare(
        questionnaire, None, _options(sjt_method=sjt_method, sjt_key=sjt_key)
    )
    stats = _merged(ddf, q, options, ("norms", "reliability", "quality"))
    return norms_from_partials(
        q, stats, description=description, created=created, simulated=simulated
    )


def reliability(
    questionnaire: str | Questionnaire, ddf: Any, *, ci: float = 0.95
) -> ReliabilityResult:
    """Reliability from every partition; see :func:`repprofile.dask.reliability`."""
    _require_dask()
    q, _table, options = prepare(questionnaire, None, _options())
    stats = _merged(ddf, q, options, ("reliability",))
    return reliability_from_partials(q, stats, ci=ci)


def quality_reference(
    questionnaire: str | Questionnaire,
    ddf: Any,
    *,
    quality: QualitySettings | dict[str, Any] | None = None,
) -> QualityReference | None:
    """The batch quality reference; see :func:`repprofile.dask.quality_reference`."""
    _require_dask()
    q, _table, options = prepare(questionnaire, None, _options(quality=quality))
    stats = _merged(ddf, q, options, ("quality",))
    return quality_reference_from_partials(q, stats, quality=options["quality"])
