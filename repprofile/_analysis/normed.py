"""Normed scores of a batch: z, T, sten, stanine, percentile ranks and measurement
error (SEM and score intervals) from a norm table and the scales' reliabilities."""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

from repprofile._formats.norms import NormTable, ReliabilityChoice
from repprofile._formats.questionnaire import Questionnaire
from repprofile.stats import percentile_rank, stanine, sten, t_score

__all__ = ["NormedScores"]

Array = NDArray[np.float64]


class NormedScores:
    """Standard scores and measurement error for a batch (arrays: rows x scales).

    Built by :class:`repprofile.ScoreResult` when norms or reliabilities are known.
    """

    def __init__(
        self,
        mean: Array,
        q: Questionnaire,
        norms: NormTable | None,
        ci: float,
        estimate: ReliabilityChoice,
    ) -> None:
        from scipy.special import ndtri  # standard normal quantile

        s = len(q.scale_ids)
        self.level = ci
        self.z_crit = float(ndtri(0.5 + ci / 2.0))
        self.reliability = np.full(s, np.nan)
        self.reliability_source: list[str | None] = [None] * s
        self.sd = np.full(s, np.nan)
        for j, scale in enumerate(q.scales):
            norm = norms.scales[scale.id] if norms is not None else None
            r_norm = getattr(norm, estimate) if norm is not None else None
            if r_norm is not None:
                self.reliability[j] = r_norm
                self.reliability_source[j] = f"norm table ({estimate})"
            elif scale.reliability is not None:
                self.reliability[j] = scale.reliability
                self.reliability_source[j] = "questionnaire file"
            if norm is not None:
                self.sd[j] = norm.sd
            elif scale.sd is not None:
                self.sd[j] = scale.sd
        r = np.clip(self.reliability, 0.0, 1.0)
        self.sem = self.sd * np.sqrt(1.0 - r)  # NaN unless both are known
        half = self.z_crit * self.sem
        self.ci_low = mean - half
        self.ci_high = mean + half
        self.has_norms = norms is not None
        self._norms = norms
        self._q = q
        self._mean = mean
        if norms is None:
            nan = np.full(mean.shape, np.nan)
            self.z = self.t = self.sten = self.stanine = nan
            self.t_ci_low = self.t_ci_high = nan
            return
        self._n_mean = np.array([norms.scales[sid].mean for sid in q.scale_ids])
        self.z = (mean - self._n_mean) / self.sd
        self.t = t_score(self.z)
        self.sten = sten(self.z)
        self.stanine = stanine(self.z)
        self.t_ci_low = t_score((self.ci_low - self._n_mean) / self.sd)
        self.t_ci_high = t_score((self.ci_high - self._n_mean) / self.sd)

    def _percentiles(self, x: Array) -> Array:
        out = np.full(x.shape, np.nan)
        if self._norms is None:
            return out
        dist = self._norms._distributions
        for j, sid in enumerate(self._q.scale_ids):
            values, counts = dist[sid]
            out[:, j] = percentile_rank(x[:, j], values, counts)
        return out

    @functools.cached_property
    def percentile(self) -> Array:
        """Mid-point percentile rank in the norm sample (computed on first use)."""
        return self._percentiles(self._mean)

    @functools.cached_property
    def percentile_ci_low(self) -> Array:
        return self._percentiles(self.ci_low)

    @functools.cached_property
    def percentile_ci_high(self) -> Array:
        return self._percentiles(self.ci_high)

    def clarity(
        self, first: NDArray[np.intp], second: NDArray[np.intp], rows: NDArray[np.intp]
    ) -> NDArray[np.object_]:
        """For the given rows: 'clear' when z(primary) - z(secondary) exceeds z_crit * SE_diff.

        Notes
        -----
        In the z metric the SEM of scale j is :math:`\\sqrt{1 - r_j}`, so
        :math:`SE_{diff} = \\sqrt{(1 - r_1) + (1 - r_2)}` (the standard error of a
        difference score, e.g. Crocker & Algina 1986). Null without norms and
        reliabilities, or without a secondary type.
        """
        if not self.has_norms:  # no z scores: every label is null
            return np.full(rows.shape[0], None, dtype=object)
        ok = (first >= 0) & (second >= 0)
        f = np.where(ok, first, 0)
        g = np.where(ok, second, 0)
        diff = self.z[rows, f] - self.z[rows, g]
        r = np.clip(self.reliability, 0.0, 1.0)
        se = np.sqrt((1.0 - r[f]) + (1.0 - r[g]))
        known = ok & np.isfinite(diff) & np.isfinite(se)
        label = np.where(diff > self.z_crit * se, "clear", "mixed").astype(object)
        label[~known] = None
        return label
