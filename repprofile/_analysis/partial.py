"""Mergeable statistics of a batch of answers, for a table split into partitions.

Norms, reliability and the response-quality reference sample are functions of sums over
candidates: the pairwise moment sums of :mod:`repprofile.stats._moments` (``N``, ``A``,
``B``, ``Q``, taken about the response scale's midpoint, a constant), the counts of each
answer per item, and the count of each distinct scale mean. Sums over the rows of
separate partitions add, so each partition is reduced to a :class:`PartialStats`
(kilobytes, whatever its size), the partials are merged, and the statistics are finished
once from the merged sums (Chan, Golub & LeVeque 1983 give the same decomposition for
centred moments). With whole-number answers and a whole or half-integer midpoint every
item sum is an integer below 2**53, so those merge exactly; the sums that involve scale
means (fractions) differ from one pass over all rows only in the last bits of their
rounding, far below 1e-12 of the statistics.

Scoring is per candidate, except the response-quality reference sample, which is the
whole batch's clean candidates: :func:`score_part` scores one partition with the
reference of the whole table (:func:`quality_reference_from_partials`), so every row
gets exactly the scores and flags that scoring the whole table at once gives it.

References
----------
Chan, T. F., Golub, G. H., & LeVeque, R. J. (1983). Algorithms for computing the sample
variance: analysis and recommendations. *The American Statistician*, 37(3), 242-247.
https://doi.org/10.1080/00031305.1983.10483115
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from repprofile._analysis.norms import scale_norm, warn_small_sample
from repprofile._analysis.quality import QualityResult
from repprofile._analysis.reliability import (
    ReliabilityResult,
    _Batch,
    _FrequencyCounter,
    _moment_sums,
    _reliability_from_sums,
)
from repprofile._analysis.scoring import (
    ScoreResult,
    _options,
    _quality_settings,
    _score,
    _sjt_key,
    score_provenance,
)
from repprofile._analysis.sjt import resolve_method
from repprofile._errors import InputError
from repprofile._formats.norms import (
    NormTable,
    QualityReference,
    ReliabilityChoice,
    ScaleNorm,
)
from repprofile._formats.questionnaire import QualitySettings, Questionnaire, load_questionnaire
from repprofile._input.answers import as_answer_set
from repprofile._version import __version__
from repprofile.stats import PairwiseMoments

__all__ = [
    "PARTS",
    "PartialStats",
    "check_mergeable",
    "merge_partials",
    "norms_from_partials",
    "partial_stats",
    "quality_reference_from_partials",
    "reliability_from_partials",
    "score_part",
]

Part = Literal["norms", "reliability", "quality"]
PARTS: tuple[Part, ...] = ("norms", "reliability", "quality")
_FORMAT = "repprofile-partial-1"


@dataclass(frozen=True)
class PartialStats:
    """Mergeable sufficient statistics of one partition of an answers table.

    ``rel`` and ``freq_counts`` (reliability, norms): pairwise moment sums of
    [answers | scale means] and the answer counts over the scored rows; ``values`` and
    ``counts`` (norms): per scale, its distinct finite mean scores and how many had
    each; ``ref`` (quality, norms): pairwise moment sums of the scored items over the
    ``n_clean`` clean candidates (scored, not flagged by longstring, IRV, attention
    checks or response time) with the quality settings named by ``settings``.
    """

    questionnaire_sha256: str
    parts: tuple[str, ...]
    settings: str  # canonical JSON of the quality settings the clean rows were found with
    n_rows: int
    n_scored: int
    rel: PairwiseMoments | None = None
    freq_counts: NDArray[np.float64] | None = None
    values: tuple[NDArray[np.float64], ...] | None = None
    counts: tuple[NDArray[np.int64], ...] | None = None
    n_clean: int = 0
    ref: PairwiseMoments | None = None

    def merge(self, other: PartialStats) -> PartialStats:
        """The statistics of both partitions together (sums add; distinct values are
        united with their counts added). Associative; exact for whole-number answers."""
        if (self.questionnaire_sha256, self.parts, self.settings) != (
            other.questionnaire_sha256,
            other.parts,
            other.settings,
        ):
            raise ValueError(
                "partial statistics to merge must come from the same questionnaire, parts "
                "and quality settings"
            )
        values = counts = None
        if self.values is not None and other.values is not None:
            assert self.counts is not None
            assert other.counts is not None
            merged = [
                _merge_counts(v1, c1, v2, c2)
                for v1, c1, v2, c2 in zip(
                    self.values, self.counts, other.values, other.counts, strict=True
                )
            ]
            values = tuple(v for v, _ in merged)
            counts = tuple(c for _, c in merged)
        return PartialStats(
            questionnaire_sha256=self.questionnaire_sha256,
            parts=self.parts,
            settings=self.settings,
            n_rows=self.n_rows + other.n_rows,
            n_scored=self.n_scored + other.n_scored,
            rel=_add(self.rel, other.rel),
            freq_counts=(
                self.freq_counts + other.freq_counts
                if self.freq_counts is not None and other.freq_counts is not None
                else None
            ),
            values=values,
            counts=counts,
            n_clean=self.n_clean + other.n_clean,
            ref=_add(self.ref, other.ref),
        )

    __add__ = merge

    def to_bytes(self) -> bytes:
        """The statistics as an ``.npz`` archive (no pickle), for moving between
        processes (a Dask worker, a Spark executor) and :meth:`from_bytes`."""
        arrays: dict[str, NDArray[Any]] = {}
        for name in ("rel", "ref"):
            m: PairwiseMoments | None = getattr(self, name)
            if m is not None:
                for field in ("centre", "N", "A", "B", "Q"):
                    arrays[f"{name}_{field}"] = getattr(m, field)
        if self.freq_counts is not None:
            arrays["freq_counts"] = self.freq_counts
        if self.values is not None and self.counts is not None:
            for j, (v, c) in enumerate(zip(self.values, self.counts, strict=True)):
                arrays[f"values_{j}"] = v
                arrays[f"counts_{j}"] = c
        meta = {
            "format": _FORMAT,
            "questionnaire_sha256": self.questionnaire_sha256,
            "parts": list(self.parts),
            "settings": self.settings,
            "n_rows": self.n_rows,
            "n_scored": self.n_scored,
            "n_clean": self.n_clean,
            "rel_rows": self.rel.n_rows if self.rel is not None else None,
            "ref_rows": self.ref.n_rows if self.ref is not None else None,
            "n_scales": len(self.values) if self.values is not None else None,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PartialStats:
        """The statistics :meth:`to_bytes` wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"not repprofile partial statistics ({_FORMAT})")

        def moments(name: str) -> PairwiseMoments | None:
            if f"{name}_N" not in arrays:
                return None
            return PairwiseMoments(
                int(meta[f"{name}_rows"]),
                *(arrays[f"{name}_{field}"] for field in ("centre", "N", "A", "B", "Q")),
            )

        n_scales = meta["n_scales"]
        return cls(
            questionnaire_sha256=meta["questionnaire_sha256"],
            parts=tuple(meta["parts"]),
            settings=meta["settings"],
            n_rows=int(meta["n_rows"]),
            n_scored=int(meta["n_scored"]),
            rel=moments("rel"),
            freq_counts=arrays.get("freq_counts"),
            values=(
                tuple(arrays[f"values_{j}"] for j in range(n_scales))
                if n_scales is not None
                else None
            ),
            counts=(
                tuple(arrays[f"counts_{j}"] for j in range(n_scales))
                if n_scales is not None
                else None
            ),
            n_clean=int(meta["n_clean"]),
            ref=moments("ref"),
        )


def _add(a: PairwiseMoments | None, b: PairwiseMoments | None) -> PairwiseMoments | None:
    return a.merge(b) if a is not None and b is not None else None


def _merge_counts(
    v1: NDArray[np.float64], c1: NDArray[np.int64], v2: NDArray[np.float64], c2: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Two (distinct values, counts) tables as one, values ascending."""
    values, inverse = np.unique(np.concatenate([v1, v2]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([c1, c2]), minlength=values.size)
    return values, np.rint(counts).astype(np.int64)


def _settings_key(settings: QualitySettings) -> str:
    return json.dumps(settings.model_dump(mode="json"), sort_keys=True)


def _check_parts(parts: Sequence[str]) -> tuple[Part, ...]:
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {list(parts)!r}")
    return tuple(p for p in PARTS if p in parts)  # canonical order


def check_mergeable(q: Questionnaire, what: str) -> None:
    """Refuse (InputError) ``what`` ("build_norms" or "reliability") across partitions
    for a questionnaire with SJT items: not supported yet."""
    if q.has_sjt:
        raise InputError(
            f"{what} across partitions is not supported yet for questionnaires with "
            f"situational judgment (SJT) items ({q.id!r} {q.version} has them): collect "
            f"the answers on one machine and use repprofile.{what} instead."
        )


def partial_stats(
    questionnaire: str | Questionnaire,
    answers: Any,
    *,
    candidate_ids: Sequence[str] | None = None,
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: str | None = None,
    sjt_key: Any = None,
    parts: Sequence[str] = PARTS,
) -> PartialStats:
    """Reduce one partition of answers to mergeable statistics.

    Parameters
    ----------
    questionnaire, answers, candidate_ids
        As for :func:`repprofile.score` (a partition: a pandas DataFrame with a
        ``candidate_id`` column, say). Rejected candidates are left out, as there.
    quality
        The quality settings that decide the clean candidates of the reference sample
        (as for ``score``); a norm table's reference always uses the questionnaire's.
    parts : subset of ("norms", "reliability", "quality")
        What the statistics are for; "norms" needs all three kinds of sums.
    sjt_method, sjt_key
        As for ``score``: an SJT answer that cannot be scored rejects its candidate,
        which then leaves the reference sample too.
    """
    q = load_questionnaire(questionnaire)
    use = _check_parts(parts)
    if "norms" in use or "reliability" in use:
        check_mergeable(q, "build_norms" if "norms" in use else "reliability")
    settings = _quality_settings(q, quality if "norms" not in use else None)
    key = _sjt_key(sjt_key)
    if q.has_sjt:
        resolve_method(q, sjt_method, key)
    result = _score(
        as_answer_set(q, answers, candidate_ids, caller="partial_stats"),
        sjt_method=sjt_method,
        sjt_key=key,
    )
    n_scored = int(result.scored.sum())
    rel = freq = None
    values = counts = None
    if "norms" in use or "reliability" in use:
        batch = _Batch.likert(result)
        assert batch is not None  # no SJT items: the Likert part is the whole result
        rel, counter = _moment_sums(batch)
        freq = counter.counts
    if "norms" in use:
        means = result.mean
        pairs = []
        for j in range(len(q.scale_ids)):
            m = means[:, j]
            pairs.append(np.unique(m[np.isfinite(m)], return_counts=True))
        values = tuple(np.asarray(v, dtype=np.float64) for v, _ in pairs)
        counts = tuple(np.asarray(c, dtype=np.int64) for _, c in pairs)
    n_clean, ref = 0, None
    lq = q.likert_view
    if ("quality" in use or "norms" in use) and lq is not None:
        clean = QualityResult(
            q,
            result.answers.values,
            result.scored,
            result.pomp,
            result.answers.seconds,
            settings,
            None,
            None,  # no reference: only the sample-free indices that decide `clean`
        ).clean
        values_l = result.answers.values
        if q.has_sjt:
            values_l = np.ascontiguousarray(values_l[:, q.likert_columns])
        ref = QualityReference.sample_moments(lq, values_l, clean)
        n_clean = int(clean.sum())
    return PartialStats(
        questionnaire_sha256=q.fingerprint,
        parts=use,
        settings=_settings_key(settings),
        n_rows=result.answers.n,
        n_scored=n_scored,
        rel=rel,
        freq_counts=freq,
        values=values,
        counts=counts,
        n_clean=n_clean,
        ref=ref,
    )


def merge_partials(parts: Iterable[PartialStats]) -> PartialStats:
    """Merge the statistics of every partition, in the order given (left to right)."""
    it = iter(parts)
    try:
        total = next(it)
    except StopIteration:
        raise ValueError("merge_partials needs the statistics of at least one partition") from None
    for p in it:
        total = total.merge(p)
    return total


def _check(q: Questionnaire, stats: PartialStats, part: Part) -> None:
    if stats.questionnaire_sha256 != q.fingerprint:
        raise ValueError(f"these partial statistics are not of questionnaire {q.id!r} {q.version}")
    if part not in stats.parts and "norms" not in stats.parts:
        raise ValueError(
            f"these partial statistics were taken for {list(stats.parts)}, not {part!r}"
        )


def _counter(q: Questionnaire, stats: PartialStats) -> _FrequencyCounter:
    counter = _FrequencyCounter(q)
    assert stats.freq_counts is not None
    counter.counts = stats.freq_counts.copy()
    counter.rows = stats.n_scored
    return counter


def reliability_from_partials(
    questionnaire: str | Questionnaire, stats: PartialStats, *, ci: float = 0.95
) -> ReliabilityResult:
    """:func:`repprofile.reliability` of all the partitions' rows, from their merged
    statistics (the same formulas and sources; they are documented there)."""
    q = load_questionnaire(questionnaire)
    check_mergeable(q, "reliability")
    _check(q, stats, "reliability")
    assert stats.rel is not None
    return _reliability_from_sums(
        q, stats.rel, _counter(q, stats), stats.n_scored, ci, score_provenance(q)
    )


def quality_reference_from_partials(
    questionnaire: str | Questionnaire,
    stats: PartialStats,
    *,
    quality: QualitySettings | dict[str, Any] | None = None,
) -> QualityReference | None:
    """The response-quality reference sample of all the partitions' rows: what
    :func:`repprofile.score` uses when the batch is its own reference (pairwise means
    and covariances of the scored items over the clean candidates, and the psychsyn
    pairs, as :meth:`QualityReference.from_sample`). None when the batch has fewer
    than ``reference_min`` clean candidates or an item pair never answered together
    (then, as in ``score``, a norm table's reference is used)."""
    q = load_questionnaire(questionnaire)
    _check(q, stats, "quality")
    lq = q.likert_view
    settings = _quality_settings(q, quality)
    if stats.settings != _settings_key(settings):
        raise ValueError("the partial statistics were taken with other quality settings")
    if lq is None or stats.ref is None:
        return None
    st = settings.resolved(lq)
    if stats.n_clean < st.reference_min:
        return None
    return QualityReference.from_moments(lq, stats.ref, st.psychsyn_critval, stats.n_clean)


def norms_from_partials(
    questionnaire: str | Questionnaire,
    stats: PartialStats,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
) -> NormTable:
    """:func:`repprofile.build_norms` of all the partitions' rows, from their merged
    statistics. Per scale: n, mean and SD (n - 1) of the mean score, from the distinct
    scores and their counts (``mean = sum(c v) / n``, ``sd^2 = sum(c (v - mean)^2) /
    (n - 1)``); the reliabilities as :func:`reliability_from_partials`; the quality
    reference of the clean candidates as :func:`quality_reference_from_partials`."""
    q = load_questionnaire(questionnaire)
    check_mergeable(q, "build_norms")
    _check(q, stats, "norms")
    if "norms" not in stats.parts:
        raise ValueError("these partial statistics were not taken with parts=('norms', ...)")
    assert stats.values is not None
    assert stats.counts is not None
    assert stats.rel is not None
    rel = _reliability_from_sums(
        q, stats.rel, _counter(q, stats), stats.n_scored, 0.95, score_provenance(q)
    )
    scales: dict[str, ScaleNorm] = {}
    for j, sid in enumerate(q.scale_ids):
        v, c = stats.values[j], stats.counts[j]
        n = max(int(c.sum()), 2)  # fewer than 2: refused by scale_norm
        mean = float(np.dot(c, v) / n)
        sd = math.sqrt(float(np.dot(c, (v - mean) ** 2)) / (n - 1))
        scales[sid] = scale_norm(sid, v, c, mean, sd, rel.scales[sid])
    reference = (
        QualityReference.from_moments(q, stats.ref, q.quality.psychsyn_critval, stats.n_clean)
        if stats.ref is not None
        else None
    )
    warn_small_sample(q, stats.n_scored, reference, stacklevel=2)
    if created is None:
        created = _dt.date.today()
    return NormTable(
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        description=description,
        created=created.isoformat() if isinstance(created, _dt.date) else str(created),
        n=stats.n_scored,
        simulated=simulated,
        repprofile_version=__version__,
        scales=scales,
        quality_reference=reference,
    )


def score_part(
    questionnaire: str | Questionnaire,
    answers: Any,
    *,
    batch_reference: QualityReference | None,
    candidate_ids: Sequence[str] | None = None,
    norms: NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: str | None = None,
    sjt_key: Any = None,
) -> ScoreResult:
    """:func:`repprofile.score` of one partition of a larger table, whose quality
    reference sample (:func:`quality_reference_from_partials` of the whole table; None
    when it has none) stands in for the partition's own: each row gets the scores and
    flags that scoring the whole table at once gives it."""
    q = load_questionnaire(questionnaire)
    table, settings, key = _options(q, norms, quality, sjt_method, sjt_key)
    result = _score(
        as_answer_set(q, answers, candidate_ids), table, ci, reliability, settings, sjt_method, key
    )
    result._batch_reference = batch_reference
    return result
