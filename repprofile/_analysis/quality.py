"""Response quality: careless-responding indices, attention checks, response time and
impression management, with a per-candidate verdict.

Index definitions follow the R package careless 1.2.x (Yentes & Wilhelm 2023) so that
results can be compared with it; each function documents the definition and where ours
differs in presentation (even-odd is reported as a consistency, higher = more
consistent). Everything is vectorised over candidates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from repprofile._formats.norms import QualityReference
from repprofile._formats.questionnaire import QualitySettings, Questionnaire
from repprofile.stats import even_odd, irv, longstring, mahalanobis_d2, psychsyn

__all__ = ["QualityFlag"]

Array = NDArray[np.float64]
_BLOCK = 32768  # rows per block: indices are computed block by block, memory stays flat


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
    ) -> None:
        self.settings = st = settings.resolved(q)
        self.longstring_max = float(st.longstring_max if st.longstring_max is not None else 0)
        self.irv_min = float(st.irv_min if st.irv_min is not None else 0.0)
        n = values.shape[0]
        self.unavailable: dict[str, str] = {}
        nan = np.full(n, np.nan)
        self.longstring, self.longstring_avg, self.irv = nan.copy(), nan.copy(), nan.copy()
        self.even_odd = nan.copy()
        self.mahalanobis_d2, self.mahalanobis_p, self.psychsyn = nan.copy(), nan.copy(), nan.copy()
        checks = list(q.check_items)
        self.attention_failures = np.zeros(n) if checks else nan.copy()
        answered_n = np.zeros(n)
        signs = q.item_signs
        lo, hi = q.response_scale.min, q.response_scale.max
        expected = q.check_expected
        for start in range(0, n, _BLOCK):  # pass 1: the indices that need no reference
            sl = slice(start, min(n, start + _BLOCK))
            x = np.array(values[sl], dtype=np.float64)
            x[~scored[sl]] = np.nan  # rejected candidates get no indices
            self.longstring[sl], self.longstring_avg[sl] = longstring(x)
            self.irv[sl] = irv(x)
            self.even_odd[sl] = even_odd(x, q.item_scale_index, signs, lo + hi)
            answered_n[sl] = (~np.isnan(x)).sum(axis=1)
            if checks:  # a wrong answer fails; a skipped check item does not
                answer = x[:, checks]
                right = (answer[:, :, None] == expected).any(axis=2)
                self.attention_failures[sl] += (~np.isnan(answer) & ~right).sum(axis=1)
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
        reference: QualityReference | None = None
        self.reference_source: str | None = None
        if int(clean.sum()) >= st.reference_min:
            reference = QualityReference.from_sample(q, values, st.psychsyn_critval, clean)
            if reference is not None:
                self.reference_source = (
                    f"this batch ({int(clean.sum())} candidates not flagged by longstring, "
                    "IRV, attention or response time)"
                )
        if reference is None and norm_reference is not None:
            reference, self.reference_source = norm_reference, "the norm table"
        if reference is None:
            why = (
                f"needs a reference sample: a batch of at least {st.reference_min} candidates, "
                "or a norm table built with this version of repprofile"
            )
            self.unavailable = {"mahalanobis_d2": why, "psychsyn": why}
        else:
            distance_ref: QualityReference | None = reference
            if not reference.full_rank:  # fewer candidates than items: D^2 is undefined
                if norm_reference is not None and norm_reference.full_rank:
                    distance_ref = norm_reference
                    self.reference_source = (
                        f"{self.reference_source}; Mahalanobis D^2 from the norm table"
                    )
                else:
                    distance_ref = None
                    self.unavailable["mahalanobis_d2"] = (
                        f"the reference sample ({reference.n} candidates) is too small for the "
                        f"covariance of {len(reference.items)} items; give a norm table or a "
                        f"batch of more than {len(reference.items)} candidates"
                    )
            if distance_ref is not None and distance_ref.arrays[2] is None:
                distance_ref = None
                self.unavailable["mahalanobis_d2"] = (
                    "the reference covariance matrix is singular, so D^2 is undefined"
                )
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
                d_means, d_cov, d_inv = distance_ref.arrays
            for start in range(0, n, _BLOCK):  # pass 2: the indices that need the reference
                sl = slice(start, min(n, start + _BLOCK))
                x = np.array(values[sl], dtype=np.float64)[:, cols]
                x[~scored[sl]] = np.nan
                if distance_ref is not None:
                    self.mahalanobis_d2[sl], self.mahalanobis_p[sl] = mahalanobis_d2(
                        x[:, d_cols], d_means, d_cov, d_inv
                    )
                if pairs.shape[0] >= 3:
                    self.psychsyn[sl] = psychsyn(x, pairs)
        validity = [j for j, s in enumerate(q.scales) if s.kind == "validity"]
        self.impression = {q.scale_ids[j]: pomp[:, j] for j in validity}
        self.scored = scored
        self._q = q

    def indices(self, row: int) -> dict[str, float | None]:
        def f(a: Array) -> float | None:
            v = float(a[row])
            return v if math.isfinite(v) else None

        out: dict[str, float | None] = {
            "longstring": f(self.longstring),
            "longstring_avg": f(self.longstring_avg),
            "irv": f(self.irv),
            "mahalanobis_d2": f(self.mahalanobis_d2),
            "mahalanobis_p": f(self.mahalanobis_p),
            "even_odd": f(self.even_odd),
            "psychsyn": f(self.psychsyn),
            "attention_failures": f(self.attention_failures),
            "seconds_per_item": f(self.seconds_per_item),
        }
        for sid, arr in self.impression.items():
            out[f"{sid}_pomp"] = f(arr)
        return out

    def _flagged(self, names: Sequence[str]) -> NDArray[np.bool_]:
        """Rows flagged by any of the named indices (computed so far)."""
        st = self.settings
        limits: dict[str, tuple[Array, float, bool]] = {  # values, threshold, above?
            "longstring": (self.longstring, self.longstring_max, True),
            "irv": (self.irv, self.irv_min, False),
            "attention_failures": (self.attention_failures, st.attention_failures_max, True),
            "seconds_per_item": (self.seconds_per_item, st.seconds_per_item_min, False),
        }
        out = np.zeros(self.longstring.shape[0], dtype=bool)
        with np.errstate(invalid="ignore"):
            for name in names:
                values, threshold, above = limits[name]
                out |= values > threshold if above else values < threshold
        return out

    def flag_matrix(self) -> dict[str, NDArray[np.bool_]]:
        """Per index, which rows it flags (NaN never flags)."""
        return self._flag_matrix

    @functools.cached_property
    def _flag_matrix(self) -> dict[str, NDArray[np.bool_]]:
        st = self.settings
        with np.errstate(invalid="ignore"):
            out = {
                "longstring": self.longstring > self.longstring_max,
                "irv": self.irv < self.irv_min,
                "mahalanobis_d2": self.mahalanobis_p < st.mahalanobis_p,
                "even_odd": self.even_odd < st.even_odd_min,
                "psychsyn": self.psychsyn < st.psychsyn_min,
                "attention_failures": self.attention_failures > st.attention_failures_max,
                "seconds_per_item": self.seconds_per_item < st.seconds_per_item_min,
            }
            for sid, arr in self.impression.items():
                out[f"{sid}_pomp"] = arr >= st.impression_pomp_max
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
        st = self.settings
        matrix = matrix if matrix is not None else self.flag_matrix()
        idx = self.indices(row)
        out: list[QualityFlag] = []
        for name, hit in matrix.items():
            if not hit[row]:
                continue
            value = idx["mahalanobis_p" if name == "mahalanobis_d2" else name]
            threshold, reason = self._explain(name, value, st)
            out.append(QualityFlag(index=name, value=value, threshold=threshold, reason=reason))
        return out

    def _explain(self, name: str, value: float | None, st: QualitySettings) -> tuple[float, str]:
        v = "?" if value is None else f"{value:.3g}"
        if name == "longstring":
            return self.longstring_max, (
                f"gave the same answer {v} times in a row (more than "
                f"{self.longstring_max:.0f}): possible straight-lining"
            )
        if name == "irv":
            return self.irv_min, (
                f"answers barely vary (SD {v}, below {self.irv_min:.3g}): possible straight-lining"
            )
        if name == "mahalanobis_d2":
            return st.mahalanobis_p, (
                f"the answer pattern is very unusual for the reference sample (p = {v} < "
                f"{st.mahalanobis_p}): possible random or patterned responding"
            )
        if name == "even_odd":
            return st.even_odd_min, (
                f"answers to items of the same scale disagree (even-odd consistency {v}, "
                f"below {st.even_odd_min}): possible random responding"
            )
        if name == "psychsyn":
            return st.psychsyn_min, (
                f"items most people answer alike were answered differently (r = {v}, below "
                f"{st.psychsyn_min}): possible random responding"
            )
        if name == "attention_failures":
            return float(st.attention_failures_max), (
                f"failed {v} attention/infrequency item(s): answers may not have been read"
            )
        if name == "seconds_per_item":
            return st.seconds_per_item_min, (
                f"{v} seconds per item, under {st.seconds_per_item_min}: too fast to read the items"
            )
        return st.impression_pomp_max, (
            f"{name.removesuffix('_pomp')} score {v} (POMP) at or above "
            f"{st.impression_pomp_max}: describes implausibly perfect conduct; other scores "
            "may be inflated"
        )
