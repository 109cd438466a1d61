"""Response quality: careless-responding indices, attention checks, response time and
impression management, with a per-candidate verdict.

Index definitions follow the R package careless 1.2.x (Yentes & Wilhelm 2023) so that
results can be compared with it; each function documents the definition and where ours
differs in presentation (even-odd is reported as a consistency, higher = more
consistent). Everything is vectorised over candidates.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from repprofile._analysis.sjt import sjt_layout
from repprofile._formats.norms import QualityReference
from repprofile._formats.questionnaire import (
    QUALITY_RULES,
    QualityRule,
    QualitySettings,
    Questionnaire,
)
from repprofile._formats.results import QualityFlagDict
from repprofile._util import finite_or_none, in_threads
from repprofile.stats import even_odd, irv, longstring, mahalanobis_p, psychsyn
from repprofile.stats._careless import squared_distances

__all__ = ["SJT_QUALITY_INDICES", "SJT_QUALITY_SETTINGS", "QualityFlag"]

Array = NDArray[np.float64]
_BLOCK = 1024  # rows per block: each block's arrays stay in cache, memory stays flat


def _block_starts(n: int) -> list[int]:
    """Where the blocks of ``n`` rows begin: ``_BLOCK`` rows each, except that a single
    row left over joins the block before it (one row alone would take BLAS's
    matrix-vector path, whose last bit can differ from the matrix-matrix one)."""
    starts = list(range(0, n, _BLOCK))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return starts


def _block(start: int, n: int) -> slice:
    """The rows of the block that begins at ``start`` (see :func:`_block_starts`)."""
    stop = start + _BLOCK
    return slice(start, n if n - stop <= 1 else stop)


# The indices that need Likert items (null, with the reason, for an SJT-only questionnaire)
_LIKERT_INDICES = (
    "longstring",
    "irv",
    "even_odd",
    "mahalanobis_d2",
    "psychsyn",
    "seconds_per_item",
)
# The SJT indices and their settings (reported only for questionnaires with SJT items)
SJT_QUALITY_INDICES = ("sjt_straightline", "seconds_per_scenario", "seconds_per_option")
SJT_QUALITY_SETTINGS = (
    "sjt_straightline_max",
    "seconds_per_scenario_min",
    "seconds_per_option_min",
)


# --------------------------------------------------------------------------- indices


# --------------------------------------------------------------------------- settings


class QualityFlag(BaseModel):
    """One reason to doubt a candidate's answers."""

    model_config = ConfigDict(frozen=True)

    index: str
    value: float | None
    threshold: float
    reason: str


# --------------------------------------------------------------------------- batch


class QualityResult:
    """Indices (arrays, one value per row) and per-row flags for a batch."""

    def __init__(
        self,
        q: Questionnaire,
        values: NDArray[np.floating[Any]],
        scored: NDArray[np.bool_],
        pomp: Array,
        seconds: Array | None,
        settings: QualitySettings,
        norm_reference: QualityReference | None,
        batch_reference: QualityReference | Literal["own"] | None = "own",
    ) -> None:
        """``batch_reference``: "own" computes the batch's reference sample from
        ``values``; a reference (or None: too few clean candidates) is that of a larger
        batch these rows are part of (scoring one partition of a distributed table)."""
        full_values = values
        self._batch_reference = batch_reference
        n = values.shape[0]
        nan = np.full(n, np.nan)
        # The Likert indices run on the Likert items only (the questionnaire itself when
        # it has no SJT items), so a Likert questionnaire's indices and flags are the
        # same alone and inside a questionnaire that adds an SJT.
        lq = q.likert_view
        if q.has_sjt and lq is not None:
            values = np.ascontiguousarray(values[:, q.likert_columns])  # C order, as alone
            pomp = pomp[:, q.likert_scales]
        self.settings = st = settings.resolved(lq if lq is not None else q)
        self.longstring_max = float(st.longstring_max if st.longstring_max is not None else 0)
        self.irv_min = float(st.irv_min if st.irv_min is not None else 0.0)
        self.unavailable: dict[str, str] = {}
        self.longstring, self.longstring_avg, self.irv = nan.copy(), nan.copy(), nan.copy()
        self.even_odd = nan.copy()
        self.mahalanobis_d2, self.mahalanobis_p, self.psychsyn = nan.copy(), nan.copy(), nan.copy()
        self.attention_failures = np.zeros(n) if lq is not None and lq.check_items else nan.copy()
        self.sjt_straightline = nan.copy()
        self.seconds_per_scenario, self.seconds_per_option = nan.copy(), nan.copy()
        self.has_sjt = q.has_sjt
        self.scored = scored
        self.reference_source: str | None = None
        # Which distribution the p of D^2 comes from (see _distance_reference); per row,
        # whether the row is a member of the sample D^2 is measured against.
        self.mahalanobis_reference: Literal["norms", "batch"] | None = None
        self.mahalanobis_distribution: str | None = None
        self._in_reference = np.zeros(n, dtype=bool)
        self._labels: tuple[str, str] = ("", "")  # (member, new observation)
        self._q = q
        if q.has_sjt:
            self._sjt_indices(q, full_values, scored, seconds)
        if lq is None:  # an SJT without Likert items
            why = "needs Likert items; this questionnaire has none"
            self.unavailable |= dict.fromkeys(_LIKERT_INDICES, why)
            self.seconds_per_item = nan.copy()
            self.clean = scored.copy()
            self.impression = {}
            return
        answered_n = self._sample_free_indices(lq, values, scored)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.seconds_per_item = (
                seconds / answered_n if seconds is not None else np.full(n, np.nan)
            )
        # The batch is the reference sample when it is large enough, less the candidates
        # the sample-free indices already flag (they would distort the covariances).
        clean = scored & ~self._flagged(
            ("longstring", "irv", "attention_failures", "seconds_per_item")
        )
        self.clean = clean
        reference = self._reference(lq, values, norm_reference)
        if reference is None:
            why = (
                f"needs a reference sample: a batch of at least {st.reference_min} candidates, "
                "or a norm table built with this version of repprofile"
            )
            self.unavailable |= {"mahalanobis_d2": why, "psychsyn": why}
        else:
            self._reference_indices(lq, values, scored, reference, norm_reference)
        validity = [j for j, s in enumerate(lq.scales) if s.kind == "validity"]
        self.impression = {lq.scale_ids[j]: pomp[:, j] for j in validity}

    def _sjt_indices(
        self,
        q: Questionnaire,
        values: NDArray[np.floating[Any]],
        scored: NDArray[np.bool_],
        seconds: Array | None,
    ) -> None:
        """The SJT indices, block by block (docs/response-quality.md).

        ``sjt_straightline``: among the candidate's ``rate`` scenarios with at least two
        rated options, the share whose rated options all got the same rating.
        ``seconds_per_scenario``: answering time / answered scenarios (a scenario counts
        when any of its answer columns is answered); ``seconds_per_option``: time / rated
        options (``rate`` items). When the questionnaire also has Likert items the time
        covers them too, so both are upper bounds of the time spent on the SJT and the
        flags err on the candidate's side.
        """
        layout = sjt_layout(q)
        n = values.shape[0]
        rate = layout.response_format == "rate"
        n_scen = layout.n_options.size
        if not rate:
            self.unavailable["sjt_straightline"] = (
                f"needs SJT items in the rate format; these are {layout.response_format}"
            )
            self.unavailable["seconds_per_option"] = self.unavailable["sjt_straightline"]
        if seconds is None:
            why = "needs the answering time (seconds)"
            self.unavailable["seconds_per_scenario"] = why
            self.unavailable.setdefault("seconds_per_option", why)
        # columns of one scenario are adjacent: rate, one per option; else 1 or 2 choices
        per_scen = (
            layout.n_options
            if rate
            else np.full(n_scen, layout.columns.size // max(n_scen, 1), dtype=np.intp)
        )
        starts = (np.cumsum(per_scen) - per_scen).astype(np.intp)
        for start in range(0, n, _BLOCK):
            sl = slice(start, min(n, start + _BLOCK))
            x = np.array(values[sl][:, layout.columns], dtype=np.float64)
            x[~scored[sl]] = np.nan
            answered = ~np.isnan(x)
            cells = np.add.reduceat(answered, starts, axis=1)  # answered cells per scenario
            scenarios = (cells > 0).sum(axis=1).astype(np.float64)
            scenarios[~scored[sl]] = np.nan
            with np.errstate(invalid="ignore", divide="ignore"):
                if seconds is not None:
                    self.seconds_per_scenario[sl] = seconds[sl] / scenarios
                if rate:
                    hi = np.fmax.reduceat(x, starts, axis=1)
                    lo = np.fmin.reduceat(x, starts, axis=1)
                    rated = cells >= 2
                    flat = rated & (hi == lo)
                    self.sjt_straightline[sl] = flat.sum(axis=1) / rated.sum(axis=1)
                    if seconds is not None:
                        options = answered.sum(axis=1).astype(np.float64)
                        options[~scored[sl]] = np.nan
                        self.seconds_per_option[sl] = seconds[sl] / options

    def _sample_free_indices(
        self, q: Questionnaire, values: NDArray[np.floating[Any]], scored: NDArray[np.bool_]
    ) -> Array:
        """Pass 1, block by block: the indices that need no reference sample. Returns the
        number of answered items per row."""
        n = values.shape[0]
        answered_n = np.zeros(n)
        checks = list(q.check_items)
        signs = q.item_signs
        lo, hi = q.response_scale.min, q.response_scale.max
        expected = q.check_expected

        def work(starts: Iterable[int]) -> None:  # blocks in threads: each its own rows
            for start in starts:
                sl = _block(start, n)
                x = np.array(values[sl], dtype=np.float64)
                if not scored[sl].all():
                    x[~scored[sl]] = np.nan  # rejected candidates get no indices
                self.longstring[sl], self.longstring_avg[sl] = longstring(x)
                self.irv[sl] = irv(x)
                self.even_odd[sl] = even_odd(x, q.item_scale_index, signs, lo + hi)
                answered_n[sl] = (~np.isnan(x)).sum(axis=1)
                if checks:  # a wrong answer fails; a skipped check item does not
                    answer = x[:, checks]
                    right = (answer[:, :, None] == expected).any(axis=2)
                    self.attention_failures[sl] += (~np.isnan(answer) & ~right).sum(axis=1)

        in_threads(work, _block_starts(n))
        return answered_n

    def _reference(
        self,
        q: Questionnaire,
        values: NDArray[np.floating[Any]],
        norm_reference: QualityReference | None,
    ) -> QualityReference | None:
        """The reference sample: this batch's clean candidates when there are enough,
        else the norm table's (sets :attr:`reference_source`)."""
        st = self.settings
        n_clean = int(self.clean.sum())
        batch = self._batch_reference
        if not isinstance(batch, str):  # the whole batch's, these rows a part of it
            reference = batch
            n_clean = batch.n if batch is not None else 0
        elif n_clean >= st.reference_min:
            reference = QualityReference.from_sample(q, values, st.psychsyn_critval, self.clean)
        else:
            reference = None
        if reference is not None:
            self.reference_source = (
                f"this batch ({n_clean} candidates not flagged by longstring, "
                "IRV, attention or response time)"
            )
            return reference
        if norm_reference is not None:
            self.reference_source = "the norm table"
        return norm_reference

    def _distance_reference(
        self, reference: QualityReference, norm_reference: QualityReference | None
    ) -> QualityReference | None:
        """The reference for Mahalanobis D^2 (None, with the reason in
        :attr:`unavailable`, when no usable covariance matrix is at hand), and the
        distribution of its p-values (:func:`~repprofile.stats.mahalanobis_p`)."""
        distance_ref: QualityReference | None = reference
        k = len(reference.items)
        own = reference is not norm_reference  # the batch is its own reference
        # A member of its own reference needs n > p + 1 (Beta); a new observation n > p.
        if not reference.full_rank or (own and reference.n <= k + 1):
            if norm_reference is not None and norm_reference.full_rank:
                distance_ref = norm_reference
                self.reference_source = (
                    f"{self.reference_source}; Mahalanobis D^2 from the norm table"
                )
            else:
                distance_ref = None
                self.unavailable["mahalanobis_d2"] = (
                    f"the reference sample ({reference.n} candidates) is too small for the "
                    f"covariance of {k} items; give a norm table or a "
                    f"batch of more than {k + 1} candidates"
                )
        if distance_ref is not None and (
            distance_ref.arrays[2] is None or distance_ref.n <= len(distance_ref.items)
        ):
            distance_ref = None
            self.unavailable["mahalanobis_d2"] = (
                "the reference covariance matrix is singular, so D^2 is undefined"
            )
        if distance_ref is not None:
            self._describe_distance(distance_ref, batch=distance_ref is not norm_reference)
        return distance_ref

    def _describe_distance(self, ref: QualityReference, *, batch: bool) -> None:
        """Set :attr:`mahalanobis_reference`, :attr:`mahalanobis_distribution` and the
        per-row labels the flags quote."""
        n, k = ref.n, len(ref.items)
        new = (
            f"F({k}, {n - k}), Hotelling's T^2 for a new observation against a mean and "
            f"covariance from n = {n} (Tracy, Young & Mason 1992)"
        )
        if not batch:
            self.mahalanobis_reference = "norms"
            self.mahalanobis_distribution = new
            self._labels = (new, new)
            return
        member = (
            f"Beta({k / 2:g}, {(n - k - 1) / 2:g}), D^2 of a member of its own reference "
            f"sample of n = {n} (Gnanadesikan & Kettenring 1972)"
        )
        self.mahalanobis_reference = "batch"
        self._in_reference = self.clean.copy()
        excluded = int((self.scored & ~self.clean).sum())
        self.mahalanobis_distribution = member + (
            f"; for the {excluded} candidate(s) left out of the reference sample: {new}"
            if excluded
            else ""
        )
        self._labels = (member, new)

    def _reference_indices(
        self,
        q: Questionnaire,
        values: NDArray[np.floating[Any]],
        scored: NDArray[np.bool_],
        reference: QualityReference,
        norm_reference: QualityReference | None,
    ) -> None:
        """Pass 2, block by block: the indices that need the reference sample."""
        distance_ref = self._distance_reference(reference, norm_reference)
        pos = {iid: i for i, iid in enumerate(q.item_ids)}
        cols = [pos[i] for i in reference.items]
        col_of = {iid: c for c, iid in enumerate(reference.items)}
        pairs = np.array(
            [(col_of[a], col_of[b]) for a, b in reference.synonym_pairs], dtype=np.intp
        ).reshape(-1, 2)
        if pairs.shape[0] < 3:
            self.unavailable["psychsyn"] = (
                f"the reference sample has {pairs.shape[0]} item pair(s) correlating above "
                f"{reference.critval}; at least 3 are needed"
            )
        if distance_ref is not None:
            d_cols = [reference.items.index(i) for i in distance_ref.items]
            d_means, _, inverse = distance_ref.arrays
            assert inverse is not None  # _distance_reference: a usable covariance matrix
            d_inv: Array = inverse
            d_k, d_n = len(distance_ref.items), distance_ref.n
        n = values.shape[0]

        def work(starts: Iterable[int]) -> None:  # blocks in threads: each its own rows
            for start in starts:
                sl = _block(start, n)
                # columns first, then float64: the same values in the same (Fortran)
                # memory order as converting first, one copy fewer
                x = np.asarray(values[sl][:, cols], dtype=np.float64)
                if not scored[sl].all():
                    x[~scored[sl]] = np.nan
                if distance_ref is not None:
                    d2 = squared_distances(x[:, d_cols], d_means, d_inv)
                    self.mahalanobis_d2[sl] = d2
                    # Members of their own reference sample: Beta; anyone else: Hotelling F.
                    member = self._in_reference[sl]
                    p = self.mahalanobis_p[sl]  # a view: written in place
                    if member.any():
                        p[member] = mahalanobis_p(d2[member], d_k, d_n, "batch")
                    if not member.all():
                        p[~member] = mahalanobis_p(d2[~member], d_k, d_n, "norms")
                if pairs.shape[0] >= 3:
                    self.psychsyn[sl] = psychsyn(x, pairs)

        in_threads(work, _block_starts(n))

    def indices(self, row: int) -> dict[str, float | None]:
        """Every index of one row (null where unavailable)."""
        f = finite_or_none
        out: dict[str, float | None] = {
            "longstring": f(self.longstring[row]),
            "longstring_avg": f(self.longstring_avg[row]),
            "irv": f(self.irv[row]),
            "mahalanobis_d2": f(self.mahalanobis_d2[row]),
            "mahalanobis_p": f(self.mahalanobis_p[row]),
            "even_odd": f(self.even_odd[row]),
            "psychsyn": f(self.psychsyn[row]),
            "attention_failures": f(self.attention_failures[row]),
            "seconds_per_item": f(self.seconds_per_item[row]),
        }
        if self.has_sjt:
            for name in SJT_QUALITY_INDICES:
                out[name] = f(getattr(self, name)[row])
        for sid, arr in self.impression.items():
            out[f"{sid}_pomp"] = f(arr[row])
        return out

    def _threshold(self, rule: QualityRule) -> float:
        """The threshold of a rule (longstring and IRV: resolved for the questionnaire)."""
        if rule.setting == "longstring_max":
            return self.longstring_max
        if rule.setting == "irv_min":
            return self.irv_min
        return float(getattr(self.settings, rule.setting))

    def _rule_hits(self, rule: QualityRule, values: Array) -> NDArray[np.bool_]:
        """The rows a rule flags (NaN never flags)."""
        t = self._threshold(rule)
        with np.errstate(invalid="ignore"):
            if rule.flags == "above":
                return np.asarray(values > t)
            if rule.flags == "below":
                return np.asarray(values < t)
            return np.asarray(values >= t)

    def _rule_values(self, rule: QualityRule) -> Array:
        values: Array = getattr(self, rule.values or rule.index)
        return values

    def _flagged(self, names: Sequence[str]) -> NDArray[np.bool_]:
        """Rows flagged by any of the named indices (computed so far)."""
        out = np.zeros(self.longstring.shape[0], dtype=bool)
        for rule in QUALITY_RULES:
            if rule.index in names:
                out |= self._rule_hits(rule, self._rule_values(rule))
        return out

    def flag_matrix(self) -> dict[str, NDArray[np.bool_]]:
        """Per index, which rows it flags (NaN never flags)."""
        return self._flag_matrix

    @functools.cached_property
    def _flag_matrix(self) -> dict[str, NDArray[np.bool_]]:
        out: dict[str, NDArray[np.bool_]] = {}
        for rule in QUALITY_RULES:
            if "{scale}" not in rule.index:
                out[rule.index] = self._rule_hits(rule, self._rule_values(rule))
                continue
            for sid, arr in self.impression.items():
                out[rule.index.format(scale=sid)] = self._rule_hits(rule, arr)
        return out

    @functools.cached_property
    def valid(self) -> NDArray[np.bool_]:
        """True where no index flags the row."""
        flagged = np.zeros(self.scored.shape[0], dtype=bool)
        for m in self.flag_matrix().values():
            flagged |= m
        return ~flagged

    def flags(
        self, row: int, matrix: dict[str, NDArray[np.bool_]] | None = None
    ) -> list[QualityFlag]:
        """The flags of one row, each with its value, threshold and a plain reason."""
        matrix = matrix if matrix is not None else self.flag_matrix()
        idx = self.indices(row)
        out: list[QualityFlag] = []
        for name, hit in matrix.items():
            if not hit[row]:
                continue
            rule = _RULE_OF.get(name) or _RULE_OF["{scale}_pomp"]
            value = idx[rule.values or name]
            threshold, reason = self._explain(rule, name, value)
            if name == "mahalanobis_d2":
                reason += f" [p from {self._labels[0 if self._in_reference[row] else 1]}]"
            out.append(QualityFlag(index=name, value=value, threshold=threshold, reason=reason))
        return out

    def flag_dicts(
        self, row: int, matrix: dict[str, NDArray[np.bool_]] | None = None
    ) -> list[QualityFlagDict]:
        """:meth:`flags` as they appear in a result document."""
        return [
            {"index": f.index, "value": f.value, "threshold": f.threshold, "reason": f.reason}
            for f in self.flags(row, matrix)
        ]

    def _explain(self, rule: QualityRule, name: str, value: float | None) -> tuple[float, str]:
        """The threshold of a flag and its plain-English reason."""
        v = "?" if value is None else f"{value:.3g}"
        t = self._threshold(rule)
        return t, rule.reason.format(v=v, t=t, scale=name.removesuffix("_pomp"))


_RULE_OF = {rule.index: rule for rule in QUALITY_RULES}
