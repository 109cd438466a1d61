"""The vectorised scoring engine.

Per candidate and scale (Notes of :func:`score` give the formulas):

* reverse keying ``x' = min + max - x`` with the questionnaire's declared response
  scale, never the data's observed range;
* ``raw``: sum of the answered keyed items;
* ``mean``: mean of the answered keyed items;
* ``pomp``: percent of maximum possible, ``100 * (mean - min) / (max - min)``
  (Cohen, Cohen, Aiken & West 1999);
* ``n_answered``.

The kernel reads the answer array once from memory, in row blocks that stay in cache,
one thread per core. With whole-number answers a missing answer becomes a large
sentinel value, so one matrix product with the signed key matrix gives every scale sum
and, recovered from the same sums, every count of missing answers
(:func:`_score_kernel`). Otherwise, per block one ``rint`` pass finds missing and
fractional answers together (NaN != NaN), the few such cells are located sparsely and
zeroed, one product gives the sums and ``bincount`` over the missing cells' coordinates
counts them per scale.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from repprofile._analysis.normed import NormedScores
from repprofile._analysis.quality import SJT_QUALITY_SETTINGS, QualityFlag, QualityResult
from repprofile._analysis.sjt import REASONS as _SJT_REASONS
from repprofile._analysis.sjt import (
    SjtKey,
    SjtScores,
    resolve_method,
    score_sjt,
    type_preference,
)
from repprofile._errors import InputError
from repprofile._formats.norms import (
    NormTable,
    QualityReference,
    ReliabilityChoice,
    load_norms,
)
from repprofile._formats.provenance import NormsProvenance, Provenance, provenance_json
from repprofile._formats.questionnaire import (
    REP_TYPE_IDS,
    SJT_METHODS,
    QualitySettings,
    Questionnaire,
    SjtMethod,
    load_questionnaire,
)
from repprofile._formats.results import (
    CandidateErrorDict,
    ProfileDict,
    QualityDocumentDict,
    ScaleScoreDict,
)
from repprofile._input.answers import (
    MAX_ERRORS_PER_CANDIDATE,
    AnswerSet,
    CandidateError,
    _more_problems,
    as_answer_set,
)
from repprofile._input.problems import cap_problems
from repprofile._util import csv_number, finite_or_none, in_threads
from repprofile._validation import (
    NO_CHECK,
    Interval,
    SequenceOf,
    StrOptions,
    candidate_row,
    validate_params,
)
from repprofile._version import __version__

__all__ = ["Profile", "ScaleScore", "ScoreResult", "quality_document", "score"]

_BLOCK_BYTES = 1 << 20  # rows per block: one block of answers is about this many bytes


class ScaleScore(BaseModel):
    """One scale's score for one candidate. Scores are null when too few items were answered."""

    model_config = ConfigDict(frozen=True)

    raw: float | None
    mean: float | None
    pomp: float | None
    n_answered: int
    reason: str | None = None
    z: float | None = None
    t: float | None = None
    percentile: float | None = None
    sten: int | None = None
    stanine: int | None = None
    sem: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    t_ci_low: float | None = None
    t_ci_high: float | None = None
    percentile_ci_low: float | None = None
    percentile_ci_high: float | None = None


class Profile(BaseModel):
    """One candidate's scores on every scale, and their primary and secondary type."""

    model_config = ConfigDict(frozen=True)

    candidate_id: str
    scales: dict[str, ScaleScore]
    primary_type: str | None
    secondary_type: str | None
    type_clarity: Literal["clear", "mixed"] | None = None
    types: list[str] | None = None
    type_tied: bool = Field(
        default=False,
        description=(
            "True when the highest trait scores tie (e.g. every answer the same): the "
            "primary and secondary types are then undetermined (null), not the first scale."
        ),
    )
    sjt_type_preference: dict[str, float | None] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # present for questionnaires with SJT items only
        description=(
            "Rep-type preferences shown in the situational judgment test (questionnaires "
            "with SJT items only): per rep type, the mean within-person z of the ratings "
            "given to its options, or most-minus-least picks."
        ),
    )
    quality: QualityVerdict | None = None


class QualityVerdict(BaseModel):
    """Response quality of one candidate: indices, flags and a verdict.

    A flagged candidate is still scored; the decision is left to the user.
    """

    model_config = ConfigDict(frozen=True)

    indices: dict[str, float | None]
    flags: list[QualityFlag]
    valid: bool
    reference: str | None = None
    unavailable: dict[str, str] = {}
    mahalanobis_reference: Literal["norms", "batch"] | None = Field(
        default=None,
        description=(
            "What the p of Mahalanobis D^2 is computed against: 'norms' (a new candidate "
            "against the norm table: Hotelling's F) or 'batch' (the batch is its own "
            "reference: Beta); null when D^2 is unavailable."
        ),
    )
    mahalanobis_distribution: str | None = Field(
        default=None, description="The distribution of the p of D^2, with its source."
    )


@dataclass(frozen=True)
class _Kernel:
    raw: NDArray[np.float64]
    n_answered: NDArray[np.int32]
    bad_rows: NDArray[np.intp]
    bad_cols: NDArray[np.intp]
    # n_answered < min_answered per cell, when the kernel scored the whole questionnaire
    short: NDArray[np.bool_] | None = None


def _sentinel(
    k: int, lo: float, hi: float, per_scale: int, dtype: np.dtype[Any]
) -> tuple[float, float] | None:
    """The values ``(M, B)`` that stand for a missing answer in the one-product kernel
    (``M`` on a forward-keyed item, ``M * B`` on a reverse-keyed one), or None when no
    such values keep every sum exact (then the kernel counts missing answers apart).

    ``M`` is a power of two above twice the largest possible keyed sum and ``B`` one
    above the most items on one scale, so that a scale sum ``P = K.x + M (f - B r)``
    (f, r: missing forward and reverse-keyed items) splits uniquely: ``t = rint(P / M) =
    f - B r`` with ``0 <= f < B``, so ``f = t mod B`` and ``r = (f - t) / B``. Every
    partial sum is a whole number of magnitude at most ``k * M * B``, which must stay
    within the dtype's exact integers (2**24 for float32, 2**53 for float64).
    """
    amax = max(abs(lo), abs(hi))
    m = 2.0 ** math.ceil(math.log2(2 * k * amax + 2))
    b = 2.0 ** math.ceil(math.log2(per_scale + 1))
    exact = 2.0 ** (24 if dtype == np.float32 else 53)
    return (m, b) if k * m * b <= exact else None


def _score_kernel(values: NDArray[np.floating[Any]], q: Questionnaire) -> _Kernel:
    """Sums of keyed answers and answered counts per scale, plus cells out of scale.

    The rows are cut into fixed blocks; each block is read once from memory and then
    worked on in cache. Exactness: for whole-number answers every
    partial sum is an integer far below 2**24, so float32 input gives exact sums.

    Fast path (whole-number response scales, float32/float64 answers): a missing
    answer becomes a sentinel (:func:`_sentinel`): ``M`` on a forward-keyed item,
    ``M B`` on a reverse-keyed one (``fmin`` of the block with a block of sentinels:
    NaN -> sentinel, answers unchanged), and one product with the signed keys ``K``
    gives ``P = K.x + M (f - B r)`` per scale, f and r the missing forward and
    reverse-keyed items: ``t = rint(P / M) = f - B r``, ``-r = floor(t / B)``, ``f = t
    + B r`` and ``K.x = P - M t``, all exact (powers of two, whole numbers), so no pass
    locates the missing cells and the product has as many columns as there are scales.
    A block is checked by reductions (``rint(c) == c`` everywhere, min >= a, NaN-ignoring
    max <= b); a block with any fractional or out-of-range answer is scored again by the
    exact path below, which finds those cells, so the results are those of the exact path
    bit for bit. ``n_answered < min_answered`` is computed here too, block by block.

    Exact path: per block one ``rint`` pass finds missing and fractional answers
    together (NaN != NaN), the few such cells are located sparsely, the block's NaNs are
    zeroed and one product with the signed keys gives the sums; missing answers are
    counted per scale with ``bincount`` over their coordinates.
    """
    lo, hi = q.response_scale.min, q.response_scale.max
    n, k = values.shape
    s = len(q.scale_ids)
    dtype = values.dtype if values.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    keys = q.keys if dtype == np.float64 else q.keys.astype(dtype)
    reversed_w = np.asarray(q.item_signs < 0, dtype=np.float64)
    n_items = q.items_per_scale
    n_reversed = q.reversed_per_scale
    scale_of = q.item_scale_index
    raw = np.empty((n, s), dtype=np.float64)
    n_answered = np.empty((n, s), dtype=np.int32)
    short = np.empty((n, s), dtype=bool)  # n_answered < min_answered, block by block
    min_answered = q.min_answered
    block = max(256, _BLOCK_BYTES // max(1, k * dtype.itemsize))
    integers = q.response_scale.integers
    unscored_items = bool((scale_of < 0).any())
    per_scale = int(n_items.max()) if s else 0
    sentinel = (
        _sentinel(k, lo, hi, per_scale, dtype) if integers and values.dtype == dtype and k else None
    )
    big, base = sentinel or (0.0, 0.0)
    # per answer column, what a missing answer becomes: M, or M * B on reverse-keyed items
    missing_as = np.where(q.keys.min(axis=1, initial=0.0) < 0, big * base, big).astype(dtype)
    mid = ((lo + hi) * n_reversed).astype(dtype)
    n_items_f = n_items.astype(dtype)

    bad: list[NDArray[np.intp]] = []  # flat indices (row * k + col) of bad cells

    def work(starts: Iterable[int]) -> None:
        """Score the blocks that begin at ``starts`` (own buffers: one thread each)."""
        buf = np.empty((min(block, n), k), dtype=dtype)
        neq = np.empty((min(block, n), k), dtype=bool)
        sums = np.empty((min(block, n), s), dtype=dtype)
        rows = min(block, n) if sentinel is not None else 0
        rbuf = np.empty((rows, k), dtype=dtype)
        # flat (rows * s) work arrays: numpy is slow on broadcasts over 7-wide rows
        t, f, neg_r, w = np.empty((4, rows * s), dtype=dtype)
        mid_rows = np.tile(mid, rows)
        items_rows = np.tile(n_items_f, rows)
        least_rows = np.tile(min_answered.astype(dtype), rows)
        # tiled to the block: fmin of two same-shaped arrays is several times faster
        # than fmin against a broadcast row or a scalar
        missing_rows = np.tile(missing_as, (rows, 1))
        flat_b = buf.reshape(-1)

        def sentinel_block(start: int, stop: int) -> bool:
            """The fast path for one block; False (nothing written) if a cell is bad."""
            m = stop - start
            ms = m * s
            chunk = values[start:stop]
            c, r, e = buf[:m], rbuf[:m], neq[:m]
            np.fmin(chunk, missing_rows[:m], out=c)  # NaN -> M or M B; valid answers stay
            np.rint(c, out=r)
            np.not_equal(r, c, out=e)
            if e.any() or c.min() < lo or np.fmax.reduce(chunk, axis=None) > hi:
                return False  # a fractional or out-of-range answer: the exact path finds it
            p = sums[:m].reshape(-1)
            np.matmul(c, keys, out=sums[:m])  # P = K.x + M (f - B r), exact
            tt, nr, ff, ww = t[:ms], neg_r[:ms], f[:ms], w[:ms]
            np.multiply(p, 1.0 / big, out=tt)  # exact: M is a power of two
            np.rint(tt, out=tt)  # f - B r
            np.multiply(tt, 1.0 / base, out=nr)
            np.floor(nr, out=nr)  # -r, as 0 <= f < B
            np.multiply(nr, -base, out=ff)
            np.add(ff, tt, out=ff)  # f
            np.multiply(tt, -big, out=tt)
            np.add(tt, p, out=tt)  # K.x = P - M (f - B r)
            np.multiply(nr, lo + hi, out=ww)
            np.add(tt, ww, out=tt)  # K.x - (a + b) r
            np.add(tt, mid_rows[:ms], out=raw[start:stop].reshape(-1))  # + (a + b) n_rev
            np.subtract(items_rows[:ms], ff, out=ww)
            np.add(ww, nr, out=ww)  # n - f - r
            n_answered[start:stop].reshape(-1)[:] = ww
            np.less(ww, least_rows[:ms], out=short[start:stop].reshape(-1))
            return True

        def exact_block(start: int, stop: int) -> None:
            """The exact path for one block (see the docstring)."""
            m = stop - start
            chunk = values[start:stop]
            b = buf[:m]
            e = neq[:m]
            if integers:
                np.rint(chunk, out=b, casting="unsafe")
                np.not_equal(b, chunk, out=e)  # True where missing (NaN) or fractional
            else:
                np.copyto(b, chunk, casting="unsafe")
                np.isnan(b, out=e)
            flat = np.flatnonzero(e)  # sparse: 1-D indices are far cheaper than 2-D nonzero
            if flat.size:
                flat_b[flat] = lo  # missing or fractional: neutral for the range check
            if b.max() > hi or b.min() < lo:  # rare: find the answers out of range
                out = np.flatnonzero((b > hi) | (b < lo))
                bad.append(out + start * k)
                flat_b[out] = lo  # the row is rejected; keep inf out of the product
            if flat.size:
                rr, cc = np.divmod(flat, k)
                missing = np.isnan(chunk[rr, cc])
                if not missing.all():
                    bad.append(flat[~missing] + start * k)
                flat_b[flat] = 0.0
                mr, mc = rr[missing], cc[missing]
                if unscored_items:  # missing answers to check items count on no scale
                    on_scale = scale_of[mc] >= 0
                    mr, mc = mr[on_scale], mc[on_scale]
                cell = mr * s + scale_of[mc]
                miss = np.bincount(cell, minlength=m * s).reshape(m, s)
                miss_rev = np.asarray(
                    np.bincount(cell, weights=reversed_w[mc], minlength=m * s), dtype=np.float64
                ).reshape(m, s)
                raw_add = (lo + hi) * (n_reversed - miss_rev)
            else:
                miss = np.zeros((m, s), dtype=np.intp)
                raw_add = np.broadcast_to((lo + hi) * n_reversed, (m, s))
            np.matmul(b, keys, out=sums[:m])
            np.add(sums[:m], raw_add, out=raw[start:stop])
            np.subtract(n_items, miss, out=n_answered[start:stop], casting="unsafe")
            np.less(n_answered[start:stop], min_answered, out=short[start:stop])

        for start in starts:
            stop = min(n, start + block)
            if sentinel is None or not sentinel_block(start, stop):
                exact_block(start, stop)

    in_threads(work, range(0, n, block))
    if bad:
        cells = np.unique(np.concatenate(bad))  # sorted; a cell both fractional and
        br, bc = np.divmod(cells, k)  # out of range is reported once
    else:
        br = bc = np.empty(0, dtype=np.intp)
    return _Kernel(raw, n_answered, br, bc, short)


def score_provenance(
    q: Questionnaire,
    norms: NormTable | None = None,
    ci: float = 0.90,
    sjt_method: str | None = None,
    sjt_key_sha256: str | None = None,
) -> Provenance:
    """The provenance of scores: questionnaire, norm table, interval level and, with
    SJT items scored, the method and key (and whether that key is the draft)."""
    return Provenance(
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        questionnaire_sha256=q.fingerprint,
        repprofile_version=__version__,
        norms=(
            NormsProvenance(
                description=norms.description,
                created=norms.created,
                n=norms.n,
                simulated=norms.simulated,
                sha256=norms.fingerprint(),
            )
            if norms is not None
            else None
        ),
        ci_level=ci,
        sjt_method=sjt_method,
        sjt_key_sha256=sjt_key_sha256,
        sjt_key_draft=(
            (q.sjt.key_draft if q.sjt is not None else False) if sjt_key_sha256 is None else False
        )
        if sjt_method is not None
        else None,
    )


def _nan_to_none(arr: NDArray[Any], as_int: bool = False) -> list[Any]:
    """``arr.tolist()`` (1-D or 2-D) with NaN and infinities as None (JSON has neither;
    and numbers as int if ``as_int``)."""
    if arr.dtype.kind != "f":
        out: list[Any] = arr.tolist()
        return out
    mask = ~np.isfinite(arr)
    if not mask.any():
        plain: list[Any] = (arr.astype(np.int64) if as_int else arr).tolist()
        return plain
    if mask.all():
        if arr.ndim == 2:
            return [[None] * arr.shape[1] for _ in range(arr.shape[0])]
        return [None] * arr.shape[0]
    obj = np.where(mask, 0, arr).astype(np.int64 if as_int else np.float64).astype(object)
    obj[mask] = None
    return obj.tolist()  # type: ignore[no-any-return]


class ScoreResult:
    """Scores of a batch of candidates, held as numpy arrays.

    Arrays have one row per input candidate (rejected candidates included, with NaN
    scores, so rows line up with the input) and one column per scale in
    :attr:`scale_ids` order. Per-candidate pydantic models and JSON are built only on
    demand (:meth:`profiles`, :meth:`to_dict`, :meth:`to_json`).

    Attributes
    ----------
    questionnaire : Questionnaire
    scale_ids : tuple of str
    raw, mean, pomp : ndarray of float64, shape (n, n_scales)
        NaN where the candidate was rejected or answered too few items of the scale.
    n_answered : ndarray of int32, shape (n, n_scales)
    scored : ndarray of bool, shape (n,)
        False for rejected candidates (their problems are in :attr:`errors`).
    errors : list of CandidateError
    answers : AnswerSet
        The validated answers, in the questionnaire's item order.
    provenance : Provenance
    """

    def __init__(
        self,
        answers: AnswerSet,
        raw: NDArray[np.float64],
        n_answered: NDArray[np.int32],
        scored: NDArray[np.bool_],
        errors: list[CandidateError],
        norms: NormTable | None = None,
        ci: float = 0.90,
        reliability: ReliabilityChoice = "alpha",
        quality: QualitySettings | None = None,
        sjt: SjtScores | None = None,
        sjt_key_sha256: str | None = None,
        sjt_key: SjtKey | None = None,
        short: NDArray[np.bool_] | None = None,
    ) -> None:
        """``short``: ``n_answered < q.min_answered`` when already known (the scoring
        kernel computes it block by block); it is taken over, not copied."""
        q = answers.questionnaire
        self.sjt_key = sjt_key  # the SME key the SJT was scored with (None: the options')
        self.questionnaire = q
        self.answers = answers
        self.scale_ids = q.scale_ids
        self.sjt = sjt
        all_skill = sjt is not None and bool(q.skill_mask.all())
        if sjt is not None and all_skill:  # an SJT alone: its arrays are the scores
            raw, n_answered = sjt.raw, sjt.n_answered
        elif sjt is not None:
            skill = np.flatnonzero(q.skill_mask)
            raw = raw.copy()
            raw[:, skill] = sjt.raw
            n_answered = n_answered.copy()
            n_answered[:, skill] = sjt.n_answered
        if short is None or sjt is not None:
            short = n_answered < q.min_answered
        if sjt is not None:
            sjt_null = np.isnan(sjt.pomp)
            sjt_null |= sjt.reason != 0
            if all_skill:
                short |= sjt_null
            else:
                short[:, np.flatnonzero(q.skill_mask)] |= sjt_null
        if not scored.all():
            short[~scored] = True
        self._all_skill = all_skill
        self._short = short
        self._sums = raw  # every answered item counted, whatever min_answered says
        self.n_answered = n_answered
        self.scored = scored
        self.errors = errors
        if norms is not None:
            norms.check_for(q)
        self.norms = norms
        self._ci = ci
        self._reliability_choice: ReliabilityChoice = reliability
        self._quality_settings = quality if quality is not None else q.quality
        # "own": the quality reference sample is this batch's; else that of the larger
        # batch these rows are part of (repprofile._analysis.partial.score_part)
        self._batch_reference: QualityReference | Literal["own"] | None = "own"
        self.provenance = score_provenance(
            q, norms, ci, sjt.method if sjt is not None else None, sjt_key_sha256
        )

    @functools.cached_property
    def raw(self) -> NDArray[np.float64]:
        """Sum of the answered keyed items; NaN below ``min_answered`` or when rejected."""
        out: NDArray[np.float64] = np.where(self._short, np.nan, self._sums)
        return out

    @functools.cached_property
    def mean(self) -> NDArray[np.float64]:
        """Mean of the answered keyed items, ``raw / n_answered`` (computed on first use)."""
        if self._all_skill:  # every scale a skill scale: its score is its 0-100 pomp
            return self.pomp.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out: NDArray[np.float64] = self.raw / self.n_answered
        if self.sjt is not None:  # a skill scale's score is its 0-100 pomp
            skill = np.flatnonzero(self.questionnaire.skill_mask)
            out[:, skill] = self.pomp[:, skill]
        return out

    @functools.cached_property
    def pomp(self) -> NDArray[np.float64]:
        """Percent of maximum possible, ``100 (raw - a n) / (n (b - a))`` (on first use).

        Written on the raw sum, it is exact for whole-number answers, unlike rescaling
        the rounded mean.
        """
        if self.sjt is not None and self._all_skill:  # skill scales: the SJT's 0-100 score
            sjt_pomp: NDArray[np.float64] = np.where(self._short, np.nan, self.sjt.pomp)
            return sjt_pomp
        lo, hi = self.questionnaire.response_scale.min, self.questionnaire.response_scale.max
        with np.errstate(invalid="ignore", divide="ignore"):
            out: NDArray[np.float64] = (
                (self.raw - lo * self.n_answered) * 100.0 / (self.n_answered * (hi - lo))
            )
        if self.sjt is not None:  # skill scales: the SJT method's 0-100 score
            skill = np.flatnonzero(self.questionnaire.skill_mask)
            out[:, skill] = np.where(self._short[:, skill], np.nan, self.sjt.pomp)
        return out

    @functools.cached_property
    def normed(self) -> NormedScores:
        """Standard scores (z, T, percentile, sten, stanine; with norms) and measurement
        error (sem and confidence intervals; when reliabilities are known), per row and
        scale. Arrays are NaN where unavailable: never guessed."""
        return NormedScores(
            self.mean, self.questionnaire, self.norms, self._ci, self._reliability_choice
        )

    @functools.cached_property
    def quality(self) -> QualityResult:
        """Response-quality indices and flags per row (computed on first use).

        Sample-based indices use this batch as reference sample when it has at least
        ``reference_min`` scored candidates, else the norm table's, else they are null.
        """
        q = self.questionnaire
        norm_ref = self.norms.quality_reference if self.norms is not None else None
        return QualityResult(
            q,
            self.answers.values,
            self.scored,
            self.pomp,
            self.answers.seconds,
            self._quality_settings,
            norm_ref,
            self._batch_reference,
        )

    def __len__(self) -> int:
        return int(self.scored.shape[0])

    def __repr__(self) -> str:
        return (
            f"<ScoreResult {self.questionnaire.id} {self.questionnaire.version}: "
            f"{int(self.scored.sum())} scored, {len(self) - int(self.scored.sum())} rejected>"
        )

    @functools.cached_property
    def candidate_ids(self) -> tuple[str, ...]:
        """Candidate ids, one per row (positional ``"1"``, ``"2"``, ... when none given)."""
        return self.answers.candidate_ids()

    @functools.cached_property
    def _type_ranking(self) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """Column indices of the primary and secondary trait scale per row (-1: none,
        also where the two highest tie), and which rows tie."""
        trait = np.flatnonzero(self.questionnaire.trait_mask)
        if trait.size == 0:  # a questionnaire of validity scales only has no types
            return np.full((len(self), 2), -1, dtype=np.intp), np.zeros(len(self), dtype=bool)
        p = self.pomp[:, trait]
        filled = np.where(np.isnan(p), -np.inf, p)
        first = np.argmax(filled, axis=1)
        rows = np.arange(p.shape[0])
        top = filled[rows, first]
        valid_first = np.isfinite(top)
        filled[rows, first] = -np.inf
        second = np.argmax(filled, axis=1)
        valid_second = np.isfinite(filled[rows, second])
        out = np.stack([trait[first], trait[second]], axis=1)
        out[~valid_first, 0] = -1
        out[~valid_second, 1] = -1
        # the two highest equal (within 1e-9 POMP points): no arbitrary first scale
        with np.errstate(invalid="ignore"):
            tied = valid_second & (np.abs(top - filled[rows, second]) <= 1e-9)
        out[tied] = -1
        return out, tied

    @property
    def _type_order(self) -> NDArray[np.intp]:
        return self._type_ranking[0]

    @property
    def type_tied(self) -> NDArray[np.bool_]:
        """Per row: the highest trait POMPs tie, so no primary type is determined
        (a straight-liner ties on every scale); ``primary_type`` is then None."""
        return self._type_ranking[1]

    @property
    def primary_type(self) -> NDArray[np.object_]:
        """Scale id of the highest trait pomp per row (None when no trait scale scored)."""
        return self._type_names(0)

    @property
    def secondary_type(self) -> NDArray[np.object_]:
        """Scale id of the second-highest trait pomp per row (None when fewer than two)."""
        return self._type_names(1)

    def _type_names(self, which: int) -> NDArray[np.object_]:
        names = np.array([*self.scale_ids, None], dtype=object)
        return names[self._type_order[:, which]]  # -1 picks the trailing None

    def _reasons(self, row: int) -> list[str | None]:
        q = self.questionnaire
        out: list[str | None] = []
        n_items = q.items_per_scale
        skill = q.skill_mask
        codes = self._sjt_reason_row(row)
        for j in range(len(self.scale_ids)):
            got = int(self.n_answered[row, j])
            need = int(q.min_answered[j])
            noun = "scenarios" if skill[j] else "items"
            if got < need:
                out.append(
                    f"only {got} of {n_items[j]} {noun} answered; at least {need} needed "
                    "for a score"
                )
            elif codes.get(j):
                assert self.sjt is not None
                out.append(_SJT_REASONS[codes[j]].format(method=self.sjt.method))
            else:
                out.append(None)
        return out

    def _sjt_reason_row(self, row: int) -> dict[int, int]:
        """Scale column -> SJT null-reason code (0: none) of one row."""
        if self.sjt is None:
            return {}
        skill = np.flatnonzero(self.questionnaire.skill_mask).tolist()
        return dict(zip(skill, self.sjt.reason[row].tolist(), strict=True))

    @functools.cached_property
    def sjt_type_ids(self) -> tuple[str, ...]:
        """The rep types of :attr:`sjt_type_preference`'s columns."""
        return REP_TYPE_IDS

    @functools.cached_property
    def sjt_type_preference(self) -> NDArray[np.float64] | None:
        """Rep-type preferences shown in the SJT, shape (n, 7) in :attr:`sjt_type_ids`
        order: the mean within-person z of the ratings given to each type's options
        (``rate``), or most-minus-least picks (``most_least``; best picks for ``best``).
        NaN for rejected candidates and types without options; None without SJT items."""
        if self.sjt is None:
            return None
        out = type_preference(self.answers.values, self.questionnaire)
        out[~self.scored] = np.nan
        return out

    def _rows(self, only: Sequence[int] | None = None) -> Iterator[ProfileDict]:
        """Per scored candidate (or the scored ones of ``only``), a dict in the JSON
        contract shape, built column-wise. Batch statistics (quality reference, norms)
        always come from the whole batch."""
        rows = np.flatnonzero(self.scored)
        if only is not None:
            rows = rows[np.isin(rows, np.asarray(only, dtype=np.intp))]
        if rows.size == 0:
            return
        ids = self.candidate_ids
        # Row-major lists (one conversion per field, not per scale): [row][scale].
        raw = _nan_to_none(self.raw[rows])
        mean = _nan_to_none(self.mean[rows])
        pomp = _nan_to_none(self.pomp[rows])
        n_ans = self.n_answered[rows].tolist()
        order = self._type_order[rows]
        tied = self.type_tied[rows].tolist()
        names: list[str | None] = [*self.scale_ids, None]
        nd = self.normed
        nothing = [[None] * len(self.scale_ids)] * rows.size  # read-only rows of nulls
        no_sem = not np.isfinite(nd.sem).any()
        extra = {
            name: (
                nothing  # known to be all NaN: skip the conversion
                if (not nd.has_norms and name not in ("ci_low", "ci_high"))
                or (no_sem and name in ("ci_low", "ci_high"))
                else _nan_to_none(getattr(nd, name)[rows], as_int=name in ("sten", "stanine"))
            )
            for name in _NORMED_FIELDS
        }
        sem = [finite_or_none(v) for v in nd.sem]
        clarity = nd.clarity(order[:, 0], order[:, 1], rows)
        qr = self.quality
        flag_matrix = qr.flag_matrix()
        valid = qr.valid
        short: NDArray[np.bool_] = np.asarray(self._short[rows].any(axis=1))
        fields = ("raw", "mean", "pomp", "n_answered", "reason", "sem", *_NORMED_FIELDS)
        extras = [extra[name] for name in _NORMED_FIELDS]
        no_reasons = [None] * len(self.scale_ids)
        scale_ids = self.scale_ids
        pref = self.sjt_type_preference
        prefs = (
            [dict(zip(self.sjt_type_ids, v, strict=True)) for v in _nan_to_none(pref[rows])]
            if pref is not None
            else None
        )
        for i, row in enumerate(rows.tolist()):
            reasons = self._reasons(row) if short[i] else no_reasons
            sems = [e if m is not None else None for e, m in zip(sem, mean[i], strict=True)]
            columns = zip(
                raw[i],
                mean[i],
                pomp[i],
                n_ans[i],
                reasons,
                sems,
                *(e[i] for e in extras),
                strict=True,
            )  # per scale, the values of ``fields`` (dict(zip()) runs in C)
            profile: ProfileDict = {
                "candidate_id": ids[row],
                "scales": {
                    sid: _scale_score(zip(fields, values, strict=True))
                    for sid, values in zip(scale_ids, columns, strict=True)
                },
                "primary_type": names[order[i, 0]],
                "secondary_type": names[order[i, 1]],
                "type_clarity": clarity[i],
                "types": (  # "mixed" only when both types are known
                    [scale_ids[order[i, 0]], scale_ids[order[i, 1]]]
                    if clarity[i] == "mixed"
                    else None
                ),
                "type_tied": tied[i],
                "quality": {
                    "indices": qr.indices(row),
                    "flags": qr.flag_dicts(row, flag_matrix),
                    "valid": bool(valid[row]),
                    "reference": qr.reference_source,
                    "unavailable": qr.unavailable,
                    "mahalanobis_reference": qr.mahalanobis_reference,
                    "mahalanobis_distribution": qr.mahalanobis_distribution,
                },
            }
            if prefs is not None:
                profile["sjt_type_preference"] = prefs[i]
            yield profile

    def profiles(self) -> list[Profile]:
        """Per scored candidate, a :class:`Profile` model (built on demand)."""
        return [Profile.model_validate(r) for r in self._rows()]

    @functools.cached_property
    def _row_of(self) -> dict[str, int]:
        """Candidate id -> its first row (ids are unique among scored candidates)."""
        row_of: dict[str, int] = {}
        for i, cid in enumerate(self.candidate_ids):
            row_of.setdefault(cid, i)
        return row_of

    def _candidate_row(self, candidate_id: str) -> int:
        """Row of a scored candidate; :class:`~repprofile.UnknownCandidateError` (a
        KeyError) for an unknown or rejected id."""
        return candidate_row(candidate_id, self._row_of, self.scored, self.errors)

    @validate_params({"candidate_id": [str]}, caller="ScoreResult.profile")
    def profile(self, candidate_id: str) -> Profile:
        """The :class:`Profile` of one candidate, by id.

        Raises
        ------
        UnknownCandidateError
            No candidate has this id, or that candidate was rejected.
        """
        row = self._candidate_row(candidate_id)
        for r in self._rows([row]):
            return Profile.model_validate(r)
        raise AssertionError("unreachable")  # pragma: no cover

    def to_dict(self) -> dict[str, Any]:
        """The result in the JSON contract shape: profiles, errors, provenance."""
        return {
            "profiles": list(self._rows()),
            "errors": errors_json(self.errors),
            "provenance": provenance_json(self.provenance),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict` (NaN never appears: missing scores are null)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    def csv_header(self) -> list[str]:
        cols = ["candidate_id"]
        for sid in self.scale_ids:
            cols += [f"{sid}_mean", f"{sid}_pomp"]
            if self.norms is not None:
                cols += [f"{sid}_t", f"{sid}_percentile"]
        return [*cols, "primary_type", "secondary_type", "quality_valid", "quality_flags"]

    def csv_rows(self) -> Iterator[list[Any]]:
        """Rows for CSV: one per scored candidate, blank for a null score."""
        for r in self._rows():
            row: list[Any] = [r["candidate_id"]]
            for sid in self.scale_ids:
                sc = r["scales"][sid]
                row += [csv_number(sc["mean"]), csv_number(sc["pomp"])]
                if self.norms is not None:
                    row += [csv_number(sc["t"]), csv_number(sc["percentile"])]
            quality = r["quality"]
            yield [
                *row,
                r["primary_type"] or "",
                r["secondary_type"] or "",
                "true" if quality["valid"] else "false",
                ";".join(f["index"] for f in quality["flags"]),
            ]

    @validate_params(
        {"metric": [StrOptions("mean", "raw", "pomp", "z", "t", "percentile")]},
        caller="ScoreResult.to_pandas",
    )
    def to_pandas(
        self, metric: Literal["mean", "raw", "pomp", "z", "t", "percentile"] = "mean"
    ) -> Any:
        """A pandas DataFrame of one score metric, indexed by candidate id (needs pandas).

        Parameters
        ----------
        metric : {"mean", "raw", "pomp", "z", "t", "percentile"}, default "mean"
            ``mean``, ``raw`` and ``pomp`` (percent of maximum possible, Cohen et al.
            1999) need nothing more; ``z``, ``t`` and ``percentile`` are relative to the
            norm table the result was scored with: z = (mean - norm mean) / norm SD,
            T = 50 + 10 z (McCall 1922), and the mid-point percentile rank of the mean
            in the norm sample (the ``percentile`` field of the profiles).

        Returns
        -------
        pandas.DataFrame
            Candidates (rows, index ``candidate_id``) by scales (columns); NaN where a
            candidate has no score (rejected, or too few answers).

        Raises
        ------
        ValueError
            ``z``, ``t`` or ``percentile`` of a result scored without a norm table.
        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - exercised only without pandas
            raise ImportError("to_pandas needs pandas: pip install 'repprofile[pandas]'") from None
        if metric in ("z", "t", "percentile"):
            if self.norms is None:
                raise ValueError(
                    f"to_pandas(metric={metric!r}) needs a norm table, and this result was "
                    "scored without one: score with norms= (a norm table file, a bundled id "
                    "such as 'rep-types-simulated', or repprofile.build_norms of your own "
                    "applicants), or use metric 'mean', 'raw' or 'pomp'"
                )
            data = getattr(self.normed, metric)
        else:
            data = getattr(self, metric)
        return pd.DataFrame(
            data, index=pd.Index(self.candidate_ids, name="candidate_id"), columns=self.scale_ids
        )


_NORMED_FIELDS = (
    "z",
    "t",
    "percentile",
    "sten",
    "stanine",
    "ci_low",
    "ci_high",
    "t_ci_low",
    "t_ci_high",
    "percentile_ci_low",
    "percentile_ci_high",
)


# dict(): the per-scale entry of a profile, typed (no run-time cost: it is ``dict``)
_scale_score = cast(Callable[[Iterable[tuple[str, object]]], ScaleScoreDict], dict)


def errors_json(errors: Iterable[CandidateError]) -> list[CandidateErrorDict]:
    """The rejected candidates' problems as they appear in a result document."""
    return cast(list[CandidateErrorDict], [e.model_dump(mode="json") for e in errors])


def quality_document(result: ScoreResult) -> QualityDocumentDict:
    """The response-quality document (``repprofile quality --format json``): indices,
    flags and verdict of every scored candidate, the reference sample, the resolved
    thresholds and the provenance."""
    qr = result.quality
    matrix = qr.flag_matrix()
    valid = qr.valid
    ids = result.candidate_ids
    return {
        "candidates": [
            {
                "candidate_id": ids[r],
                "indices": qr.indices(r),
                "flags": qr.flag_dicts(r, matrix),
                "valid": bool(valid[r]),
            }
            for r in np.flatnonzero(result.scored).tolist()
        ],
        "reference": qr.reference_source,
        "unavailable": qr.unavailable,
        "mahalanobis_reference": qr.mahalanobis_reference,
        "mahalanobis_distribution": qr.mahalanobis_distribution,
        "settings": qr.settings.model_dump(
            exclude=None if qr.has_sjt else set(SJT_QUALITY_SETTINGS)
        ),
        "provenance": provenance_json(result.provenance),
    }


def _quality_settings(
    q: Questionnaire, quality: QualitySettings | dict[str, Any] | None
) -> QualitySettings:
    """The quality settings of a call: the questionnaire's (None), per-call thresholds
    on top of them (a dict; unnamed ones are kept), or the settings given."""
    if quality is None:
        return q.quality
    if not isinstance(quality, dict):
        return quality
    from pydantic import ValidationError

    try:
        return QualitySettings.model_validate(q.quality.model_dump() | quality)
    except ValidationError as exc:
        from repprofile._formats.files import format_validation_error

        raise InputError(format_validation_error("The 'quality' parameter of score", exc)) from None


@validate_params(
    {
        "questionnaire": [str, os.PathLike, Questionnaire],
        "answers": [NO_CHECK],  # any accepted form: as_answer_set checks it
        "candidate_ids": [SequenceOf(), None],
        "norms": [str, os.PathLike, NormTable, dict, None],
        "ci": [Interval(Real, 0, 1, closed="neither")],
        "reliability": [StrOptions("alpha", "omega_total")],
        "quality": [QualitySettings, dict, None],
        "sjt_method": [StrOptions(*SJT_METHODS), None],
        "sjt_key": [NO_CHECK],  # a path, a mapping or a loaded key: _sjt_key checks it
    }
)
def score(
    questionnaire: str | Questionnaire,
    answers: Any,
    *,
    candidate_ids: Sequence[str] | None = None,
    norms: str | Path | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> ScoreResult:
    """Score candidates' answers on every scale of a questionnaire.

    Parameters
    ----------
    questionnaire : str or Questionnaire
        A bundled id (``"rep-types"``), a file path, or a loaded questionnaire.
    answers
        A mapping ``item_id -> value`` for one candidate; a list of
        ``{"candidate_id": ..., "answers": {...}}`` records; a 2-D numpy array in the
        questionnaire's item order (NaN for missing); a pandas DataFrame; or a path to a
        CSV/JSON answers file. Missing answers are NaN/None/blank, never 0.
    candidate_ids : sequence of str, optional
        Ids for the rows of an array answer (default ``"1"``, ``"2"``, ...).
    norms : NormTable or path, optional
        A norm table for this questionnaire version: adds z, T, percentile, sten and
        stanine per scale, and the measurement error from its reliabilities.
    ci : float
        Level of the score confidence intervals (default 0.90).
    reliability : {"alpha", "omega_total"}
        Which reliability estimate of the norm table gives the SEM (default alpha).
    quality : QualitySettings or dict, optional
        Response-quality flag thresholds for this call (default: the questionnaire's
        ``quality`` settings, else the documented defaults).
    sjt_method : {"distance", "absolute", "standardized", "correlation", "most_least", \
"best", "mode", "proportion"}, optional
        How situational judgment (SJT) items are scored (default: the questionnaire's
        ``sjt.method``); see :mod:`repprofile._analysis.sjt` and docs/sjt.md.
    sjt_key : SjtKey or path, optional
        An SME key (``repprofile sjt key build``) replacing the options' keyed values;
        provenance records its sha256.

    Returns
    -------
    ScoreResult
        Arrays of raw, mean and pomp scores and answered counts, the rejected
        candidates' errors and the provenance.

    Notes
    -----
    For candidate :math:`i`, scale :math:`s` with items :math:`S`, keys
    :math:`k_j \\in \\{1, -1\\}` and response scale :math:`[a, b]`, over the answered
    items :math:`A_i \\subseteq S`:

    .. math::

        x'_{ij} = x_{ij} \\text{ if } k_j = 1, \\quad a + b - x_{ij} \\text{ if } k_j = -1

        \\mathrm{raw}_{is} = \\sum_{j \\in A_i} x'_{ij}, \\quad
        \\mathrm{mean}_{is} = \\mathrm{raw}_{is} / |A_i|, \\quad
        \\mathrm{pomp}_{is} = 100 (\\mathrm{mean}_{is} - a) / (b - a)

    A scale with :math:`|A_i|` below its ``min_answered`` (default
    :math:`\\lceil |S| / 2 \\rceil`) gets null scores. The mean equals R psych's
    ``scoreItems(keys, items, impute = "none", min = a, max = b)$scores`` and the raw
    sum its ``totals = TRUE`` variant (Revelle 2022); pomp follows Cohen, Cohen, Aiken
    and West (1999). The primary and secondary types are the trait scales with the
    highest and second-highest pomp (ties go to the scale listed first).

    References
    ----------
    Cohen, P., Cohen, J., Aiken, L. S., & West, S. G. (1999). The problem of units
    and the circumstance for POMP. *Multivariate Behavioral Research*, 34(3), 315-346.
    https://doi.org/10.1207/S15327906MBR3403_2

    Revelle, W. (2022). *psych: Procedures for Psychological, Psychometric, and
    Personality Research* (R package 2.2.9). https://CRAN.R-project.org/package=psych

    Examples
    --------
    >>> import repprofile
    >>> r = repprofile.score("rep-types", {"ctl01": 5, "ctl02": 4})
    >>> r.n_answered[0, r.scale_ids.index("controller")]
    np.int32(2)

    The equivalent R call for the means is
    ``psych::scoreItems(keys, items, impute = "none", min = 1, max = 5)$scores``.
    """
    q = load_questionnaire(questionnaire)
    table, settings, key = _options(q, norms, quality, sjt_method, sjt_key)
    answers_set = as_answer_set(q, answers, candidate_ids)
    return _score(answers_set, table, ci, reliability, settings, sjt_method, key)


def _options(
    q: Questionnaire,
    norms: str | Path | NormTable | None,
    quality: QualitySettings | dict[str, Any] | None,
    sjt_method: str | None,
    sjt_key: Any,
) -> tuple[NormTable | None, QualitySettings, SjtKey | None]:
    """:func:`score`'s norm table, quality settings and SJT key, loaded and checked
    against the questionnaire before any answer is read."""
    settings = _quality_settings(q, quality)
    table = load_norms(norms) if norms is not None else None
    if table is not None:
        table.check_for(q)
    key = _sjt_key(sjt_key)
    if q.has_sjt:
        resolve_method(q, sjt_method, key)
    return table, settings, key


def _sjt_key(value: Any) -> SjtKey | None:
    """The ``sjt_key`` parameter as a loaded key (None: the options' own keys)."""
    if value is None:
        return None
    if hasattr(value, "means") and hasattr(value, "counts"):
        return cast(SjtKey, value)
    from repprofile._formats.sjt_key import load_sjt_key

    return load_sjt_key(value)


def _mixed_kernel(values: NDArray[np.floating[Any]], q: Questionnaire) -> _Kernel:
    """The Likert kernel of a questionnaire with SJT items: its Likert columns scored
    as if they were the whole questionnaire (so they score exactly as alone), the
    skill scales left at zero for the SJT engine."""
    n = values.shape[0]
    raw = np.zeros((n, len(q.scale_ids)))
    n_answered = np.zeros((n, len(q.scale_ids)), dtype=np.int32)
    lv = q.likert_view
    if lv is None:
        empty = np.empty(0, dtype=np.intp)
        return _Kernel(raw, n_answered, empty, empty)
    k = _score_kernel(values[:, q.likert_columns], lv)
    raw[:, q.likert_scales] = k.raw
    n_answered[:, q.likert_scales] = k.n_answered
    return _Kernel(raw, n_answered, k.bad_rows, q.likert_columns[k.bad_cols])


def _score(
    answers_set: AnswerSet,
    norms: NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | None = None,
    sjt_method: str | None = None,
    sjt_key: SjtKey | None = None,
) -> ScoreResult:
    """:func:`score` of validated answers, with the norm table and quality settings
    loaded (for public functions that score on the way: no parameter checks here)."""
    q = answers_set.questionnaire
    sjt = None
    if q.has_sjt:
        kernel = _mixed_kernel(answers_set.values, q)
        method = resolve_method(q, sjt_method, sjt_key)
        sjt = score_sjt(answers_set.values, q, method, sjt_key)
    else:
        kernel = _score_kernel(answers_set.values, q)
    n = answers_set.n
    scored = np.ones(n, dtype=bool)
    if answers_set.rejected is not None:
        scored &= ~answers_set.rejected
    errors = list(answers_set.errors)
    if kernel.bad_rows.size or (sjt is not None and sjt.bad_rows.size):
        problems = _answer_problems(answers_set, kernel)
        if sjt is not None and sjt.bad_rows.size:
            problems += _sjt_problems(answers_set, sjt)
            scored[np.unique(sjt.bad_rows)] = False
        errors = cap_problems(errors + problems)
        scored[np.unique(kernel.bad_rows)] = False
    key_sha = _key_sha256(sjt_key) if sjt is not None else None
    return ScoreResult(
        answers_set,
        kernel.raw,
        kernel.n_answered,
        scored,
        errors,
        norms,
        ci,
        reliability,
        quality,
        sjt,
        key_sha,
        sjt_key if sjt is not None else None,
        kernel.short,
    )


def _key_sha256(key: SjtKey | None) -> str | None:
    if key is None:
        return None
    fingerprint = getattr(key, "fingerprint", None)
    return str(fingerprint() if callable(fingerprint) else fingerprint)


def _sjt_problems(answers_set: AnswerSet, sjt: SjtScores) -> list[CandidateError]:
    """One error per SJT answer that is not a valid rating or choice."""
    q = answers_set.questionnaire
    rs = q.sjt_response_scale
    assert rs is not None
    values = answers_set.values
    out = []
    for r, c, kind in zip(
        sjt.bad_rows.tolist(), sjt.bad_cols.tolist(), sjt.bad_kind.tolist(), strict=True
    ):
        item = q.column_item(c)
        column = q.item_ids[c]
        v = float(values[r, c])
        shown: float | int | str = int(v) if v.is_integer() and abs(v) < 2**53 else v
        if not math.isfinite(v):
            shown = str(v)
        option = column.split(".", 1)[1]
        if option in ("most", "least", "best") and getattr(item, "response_format", "") != "rate":
            ids = getattr(item, "option_ids", ())
            if kind == 2:
                message = (
                    f"item {item.id!r}: the same option is picked as most and least "
                    "effective; expected two different options"
                )
            else:
                message = (
                    f"item {item.id!r}: {option} choice {shown!r} is not an option; expected "
                    f"one of the option ids {list(ids)}"
                )
        else:
            problem = "is not a whole number" if kind == 1 else "is outside the rating scale"
            message = (
                f"item {item.id!r}, option {option!r}: rating {shown!r} {problem}; "
                f"expected {rs.describe()}"
            )
        out.append(
            CandidateError(
                candidate_id=answers_set.candidate_id(r),
                item_id=column,
                value=shown,
                message=message,
            )
        )
    return out


def _answer_problems(answers_set: AnswerSet, kernel: _Kernel) -> list[CandidateError]:
    """One error per answer outside the response scale or not a whole number (at most
    ``MAX_ERRORS_PER_CANDIDATE`` per candidate, the rest counted)."""
    q = answers_set.questionnaire
    errors: list[CandidateError] = []
    expected = q.response_scale.describe()
    values = answers_set.values
    per_row: dict[int, int] = {}
    for r, c in zip(kernel.bad_rows.tolist(), kernel.bad_cols.tolist(), strict=True):
        per_row[r] = per_row.get(r, 0) + 1
        if per_row[r] > MAX_ERRORS_PER_CANDIDATE:
            continue  # counted below
        v = float(str(values.dtype.type(values[r, c])))  # shortest repr of its dtype
        # As JSON spells it: 1e308 stays 1e+308, not a 309-digit integer.
        shown: float | int | str = int(v) if v.is_integer() and abs(v) < 2**53 else v
        if not math.isfinite(v):
            shown = str(v)
        inside = q.response_scale.min <= v <= q.response_scale.max
        problem = "is not a whole number" if inside else "is outside the response scale"
        errors.append(
            CandidateError(
                candidate_id=answers_set.candidate_id(r),
                item_id=q.item_ids[c],
                value=shown,
                message=f"answer {shown!r} {problem}; expected {expected}",
            )
        )
    for r, n_bad in per_row.items():
        if n_bad > MAX_ERRORS_PER_CANDIDATE:
            errors.append(
                _more_problems(answers_set.candidate_id(r), n_bad - MAX_ERRORS_PER_CANDIDATE)
            )
    return errors
