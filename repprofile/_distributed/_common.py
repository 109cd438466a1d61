"""What Dask and Spark share: the per-partition functions and the output columns.

A partition is a pandas DataFrame of the wide answers table: a ``candidate_id`` column
and one column per item (NaN or None: missing), as :func:`repprofile.score` reads a
DataFrame. Every function here is a plain function of one partition and picklable
arguments, so either engine ships it to its workers unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, Literal

import numpy as np

from repprofile._analysis.partial import (
    PARTS,
    PartialStats,
    merge_partials,
    partial_stats,
    quality_reference_from_partials,
    score_part,
)
from repprofile._analysis.scoring import ScoreResult, _options
from repprofile._formats.norms import NormTable, QualityReference, ReliabilityChoice
from repprofile._formats.questionnaire import (
    SJT_METHODS,
    QualitySettings,
    Questionnaire,
    SjtMethod,
    load_questionnaire,
)
from repprofile._input.answers import frame_candidate_id
from repprofile._validation import (
    NO_CHECK,
    Interval,
    StrOptions,
    validate_params,
)

__all__ = [
    "ERROR_COLUMNS",
    "ScoreOptions",
    "empty_frame",
    "errors_partition",
    "output_columns",
    "partial_partition",
    "partition_ids",
    "prepare",
    "reference_from_blobs",
    "repeated",
    "repeated_errors",
    "result_frame",
    "score_partition",
    "stats_from_blobs",
    "without_repeated",
]

Kind = Literal["string", "float64", "bool"]
ERROR_COLUMNS: tuple[tuple[str, Kind], ...] = (
    ("candidate_id", "string"),
    ("item", "string"),
    ("value", "string"),
    ("problem", "string"),
)


@dataclass(frozen=True)
class ScoreOptions:
    """The options of a distributed ``score``, resolved once on the client (picklable)."""

    norms: NormTable | None = None
    ci: float = 0.90
    reliability: ReliabilityChoice = "alpha"
    quality: QualitySettings | None = None
    sjt_method: SjtMethod | None = None
    sjt_key: Any = None


@validate_params(
    {
        "questionnaire": [str, Path, Questionnaire],
        "norms": [str, Path, NormTable, None],
        "ci": [Interval(Real, 0, 1, closed="neither")],
        "reliability": [StrOptions("alpha", "omega_total")],
        "quality": [QualitySettings, dict, None],
        "sjt_method": [StrOptions(*SJT_METHODS), None],
        "sjt_key": [NO_CHECK],
    },
    caller="score",
)
def prepare(
    questionnaire: str | Path | Questionnaire,
    norms: str | Path | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> tuple[Questionnaire, ScoreOptions]:
    """The questionnaire and options, loaded and checked on the client before any
    partition is read, so a bad option fails at once rather than on every worker."""
    q = load_questionnaire(questionnaire)
    table, settings, key = _options(q, norms, quality, sjt_method, sjt_key)
    return q, ScoreOptions(table, float(ci), reliability, settings, sjt_method, key)


def output_columns(questionnaire: Questionnaire, *, norms: bool) -> list[tuple[str, Kind]]:
    """The columns of a distributed ``score``: those of ``repprofile score --format csv``,
    in its order, with their types. Floats are full precision (the CSV text rounds
    them); ``primary_type``/``secondary_type`` are None when undetermined;
    ``quality_flags`` joins the flagging indices with ";" ("" when none)."""
    cols: list[tuple[str, Kind]] = [("candidate_id", "string")]
    for sid in questionnaire.scale_ids:
        cols += [(f"{sid}_mean", "float64"), (f"{sid}_pomp", "float64")]
        if norms:
            cols += [(f"{sid}_t", "float64"), (f"{sid}_percentile", "float64")]
    return [
        *cols,
        ("primary_type", "string"),
        ("secondary_type", "string"),
        ("quality_valid", "bool"),
        ("quality_flags", "string"),
    ]


def empty_frame(columns: Sequence[tuple[str, Kind]], string: Any = object) -> Any:
    """An empty pandas DataFrame with these columns and dtypes (``string`` columns of
    the dtype given: object by default)."""
    import pandas as pd

    dtype = {"string": string, "float64": np.float64, "bool": bool}
    return pd.DataFrame({name: pd.Series([], dtype=dtype[kind]) for name, kind in columns})


def partition_ids(pdf: Any) -> Any:
    """The candidate ids of one partition as ``score`` reads them (text stripped; whole
    numbers as digits), rows without an id left out: a pandas Series of str, which the
    engine counts across partitions to find the ids that repeat (:func:`repeated`)."""
    import pandas as pd

    col = pdf["candidate_id"].tolist() if "candidate_id" in pdf.columns else []
    ids = [cid for cid in map(frame_candidate_id, col) if cid is not None]
    return pd.Series(ids, dtype=object, name="candidate_id")


def repeated(counts: Mapping[Any, Any]) -> dict[str, int]:
    """The ids counted more than once across the whole table (id -> count), from the
    engine's count of :func:`partition_ids`: every row of such an id is rejected, as
    ``score`` rejects them in one table (an HR system maps results by id)."""
    return {str(cid): int(n) for cid, n in sorted(counts.items()) if int(n) > 1}


def without_repeated(pdf: Any, repeats: Mapping[str, int] | None) -> Any:
    """The partition less the rows whose id repeats in the whole table."""
    if not repeats or len(pdf) == 0 or "candidate_id" not in pdf.columns:
        return pdf
    keep = [frame_candidate_id(v) not in repeats for v in pdf["candidate_id"].tolist()]
    return pdf[np.asarray(keep, dtype=bool)]


def repeated_errors(repeats: Mapping[str, int]) -> Any:
    """One problem per repeated id (rows in :data:`ERROR_COLUMNS`)."""
    import pandas as pd

    rows = [
        (
            cid,
            None,
            json.dumps(cid),
            f"candidate id {cid!r} appears {n} times in the table; expected each candidate "
            "id once. None of them was scored.",
        )
        for cid, n in repeats.items()
    ]
    return pd.DataFrame(rows, columns=[name for name, _ in ERROR_COLUMNS], dtype=object)


def result_frame(result: ScoreResult) -> Any:
    """The scored rows of a result as a pandas DataFrame of :func:`output_columns`,
    the rows and values ``repprofile score --format csv`` writes (before rounding)."""
    import pandas as pd

    q = result.questionnaire
    norms = result.norms is not None
    rows = np.flatnonzero(result.scored)
    ids = result.candidate_ids
    data: dict[str, Any] = {"candidate_id": [ids[i] for i in rows.tolist()]}
    mean, pomp = result.mean[rows], result.pomp[rows]
    t = pct = None
    if norms:
        t, pct = result.normed.t[rows], result.normed.percentile[rows]
    for j, sid in enumerate(q.scale_ids):
        data[f"{sid}_mean"] = mean[:, j]
        data[f"{sid}_pomp"] = pomp[:, j]
        if t is not None and pct is not None:
            data[f"{sid}_t"] = t[:, j]
            data[f"{sid}_percentile"] = pct[:, j]
    data["primary_type"] = result.primary_type[rows]
    data["secondary_type"] = result.secondary_type[rows]
    qr = result.quality
    data["quality_valid"] = np.asarray(qr.valid[rows], dtype=bool)
    flags = np.full(rows.size, "", dtype=object)
    for name, hit in qr.flag_matrix().items():  # the order the CSV lists them in
        h = hit[rows]
        if h.any():
            flags[h] = np.where(flags[h] == "", name, flags[h] + ";" + name)
    data["quality_flags"] = flags
    columns = output_columns(q, norms=norms)
    out = pd.DataFrame(data, columns=[name for name, _ in columns])
    strings = [name for name, kind in columns if kind == "string"]
    return out.astype(dict.fromkeys(strings, object))  # as empty_frame: no str dtype


def score_partition(
    pdf: Any,
    *,
    questionnaire: Questionnaire,
    options: ScoreOptions,
    batch_reference: QualityReference | None,
    repeats: Mapping[str, int] | None = None,
) -> Any:
    """Scores of one partition (pandas DataFrame) as :func:`result_frame`, with the
    whole table's quality reference sample (see :func:`score_part`); rows whose id
    repeats in the whole table (``repeats``) are rejected, so left out."""
    pdf = without_repeated(pdf, repeats)
    if len(pdf) == 0:
        return empty_frame(output_columns(questionnaire, norms=options.norms is not None))
    result = score_part(
        questionnaire,
        pdf,
        batch_reference=batch_reference,
        norms=options.norms,
        ci=options.ci,
        reliability=options.reliability,
        quality=options.quality,
        sjt_method=options.sjt_method,
        sjt_key=options.sjt_key,
    )
    return result_frame(result)


def errors_partition(
    pdf: Any,
    *,
    questionnaire: Questionnaire,
    options: ScoreOptions,
    repeats: Mapping[str, int] | None = None,
) -> Any:
    """The rejected candidates' problems in one partition: one row per problem, with
    the candidate, the item (None: the whole row), the value as JSON and the message.
    Row numbers in messages count from the partition's first row. Ids that repeat in
    the whole table are left to :func:`repeated_errors` (one problem per id)."""
    import pandas as pd

    pdf = without_repeated(pdf, repeats)
    if len(pdf) == 0:
        return empty_frame(ERROR_COLUMNS)
    result = score_part(
        questionnaire,
        pdf,
        batch_reference=None,
        norms=None,
        sjt_method=options.sjt_method,
        sjt_key=options.sjt_key,
    )
    return pd.DataFrame(
        {
            "candidate_id": [e.candidate_id for e in result.errors],
            "item": [e.item_id for e in result.errors],
            "value": [None if e.value is None else json.dumps(e.value) for e in result.errors],
            "problem": [e.message for e in result.errors],
        },
        columns=[name for name, _ in ERROR_COLUMNS],
    ).astype(object)


def partial_partition(
    pdf: Any,
    *,
    questionnaire: Questionnaire,
    options: ScoreOptions,
    parts: Sequence[str] = PARTS,
    repeats: Mapping[str, int] | None = None,
) -> bytes:
    """The mergeable statistics of one partition (:class:`PartialStats` as bytes),
    without the rows whose id repeats in the whole table (they are rejected)."""
    return partial_stats(
        questionnaire,
        without_repeated(pdf, repeats),
        quality=options.quality,
        sjt_method=options.sjt_method,
        sjt_key=options.sjt_key,
        parts=parts,
    ).to_bytes()


def stats_from_blobs(blobs: Iterable[bytes]) -> PartialStats:
    """Merge the partitions' statistics, in the order given."""
    return merge_partials(PartialStats.from_bytes(b) for b in blobs)


def reference_from_blobs(
    questionnaire: Questionnaire, options: ScoreOptions, blobs: Iterable[bytes]
) -> QualityReference | None:
    """The whole table's quality reference sample from its partitions' statistics
    (None for a table without rows)."""
    blobs = list(blobs)
    if not blobs:
        return None
    return quality_reference_from_partials(
        questionnaire, stats_from_blobs(blobs), quality=options.quality
    )
