"""Norm tables: build them from a sample, apply them to scores, with measurement error.

A norm table holds, per scale, the norm sample's n, mean and SD of the scale mean
score, its reliability estimates, and the distribution of its mean scores (distinct
values and counts) for an exact mid-point percentile. It names the questionnaire id
and version it was built for; applying it to another version is refused.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from repprofile._analysis.quality import QualityReference
from repprofile._errors import InputError
from repprofile._formats.questionnaire import (
    CachedModel,
    Questionnaire,
    format_validation_error,
    load_questionnaire,
)
from repprofile._input.answers import as_answer_set
from repprofile._version import __version__

__all__ = [
    "NormTable",
    "ScaleNorm",
    "build_norms",
    "load_norms",
    "percentile_rank",
    "stanine",
    "sten",
    "t_score",
]

Array = NDArray[np.float64]


class ScaleNorm(BaseModel):
    """Norms of one scale: statistics of the mean score in the norm sample."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(ge=2)
    mean: float
    sd: float = Field(gt=0)
    alpha: float | None = None
    omega_total: float | None = None
    std_alpha: float | None = None
    g6: float | None = None
    values: list[float] = Field(description="Distinct mean scores in the sample, ascending.")
    counts: list[int] = Field(description="How many of the sample had each value.")

    @model_validator(mode="after")
    def _check(self) -> ScaleNorm:
        problems = []
        if not (math.isfinite(self.mean) and math.isfinite(self.sd)):
            problems.append("mean and sd: finite numbers")
        for name in ("alpha", "omega_total", "std_alpha", "g6"):
            r = getattr(self, name)
            if r is not None and not (math.isfinite(r) and r <= 1.0):
                problems.append(f"{name}: a reliability of at most 1")
        if not self.values or len(self.values) != len(self.counts):
            problems.append(
                f"values and counts: the same number of entries, at least one "
                f"(got {len(self.values)} and {len(self.counts)})"
            )
        if not all(math.isfinite(v) for v in self.values) or any(
            b <= a for a, b in zip(self.values, self.values[1:], strict=False)
        ):
            problems.append("values: finite and strictly ascending")
        if any(c < 1 for c in self.counts):
            problems.append("counts: positive whole numbers")
        if problems:
            raise ValueError("expected " + "; ".join(problems))
        return self


class NormTable(CachedModel):
    """A norm table for one questionnaire version (JSON file, see docs/norms.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["repprofile-norms/1"] = "repprofile-norms/1"
    questionnaire_id: str
    questionnaire_version: str
    description: str = Field(min_length=1)
    created: str = Field(description="ISO date the table was built.")
    n: int
    simulated: bool = Field(
        default=False, description="True when the norm sample is simulated, not real people."
    )
    repprofile_version: str
    scales: dict[str, ScaleNorm]
    quality_reference: QualityReference | None = Field(
        default=None,
        description=(
            "Item means, covariances and synonym pairs of the norm sample, for the "
            "sample-based response-quality indices of small batches."
        ),
    )

    def check_for(self, q: Questionnaire) -> None:
        """Refuse a table built for another questionnaire or version."""
        if (self.questionnaire_id, self.questionnaire_version) != (q.id, q.version):
            raise InputError(
                f"The norm table was built for questionnaire {self.questionnaire_id!r} "
                f"version {self.questionnaire_version}, but the answers are to {q.id!r} "
                f"version {q.version}. Norms do not carry over between versions: build a "
                "norm table for this version (repprofile norms build)."
            )
        missing = [s for s in q.scale_ids if s not in self.scales]
        if missing:
            raise InputError(
                f"The norm table has no norms for scale(s) {', '.join(missing)} of {q.id!r}."
            )
        ref = self.quality_reference
        scored = [q.item_ids[i] for i in np.flatnonzero(q.item_scale_index >= 0)]
        if ref is not None and ref.items != scored:
            raise InputError(
                f"The norm table's quality_reference.items must be the scored items of {q.id!r} "
                f"{q.version} in questionnaire order ({len(scored)} items), got "
                f"{len(ref.items)} other items instead."
            )

    def fingerprint(self) -> str:
        """SHA-256 of the table's canonical JSON (for provenance; computed once)."""
        return self._sha256

    @functools.cached_property
    def _sha256(self) -> str:
        import hashlib

        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @functools.cached_property
    def _distributions(self) -> dict[str, tuple[Array, Array]]:
        """Per scale, the sample's distinct values and their counts as arrays (built once)."""
        return {
            sid: (np.asarray(sn.values, dtype=np.float64), np.asarray(sn.counts, dtype=np.float64))
            for sid, sn in self.scales.items()
        }

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)


def load_norms(source: str | Path | NormTable | dict[str, Any]) -> NormTable:
    """Read a norm table from a JSON file (or validate a parsed one)."""
    if isinstance(source, NormTable):
        return source
    if isinstance(source, dict):
        data: Any = source
        name = "norms"
    else:
        path = Path(source)
        name = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{name}: no such norm table file") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{name}: not a readable JSON norm table ({exc})") from None
    try:
        return NormTable.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(name, exc)) from None


# --------------------------------------------------------------------------- arithmetic


def t_score(z: Array) -> Array:
    """T score: :math:`T = 50 + 10 z` (McCall 1922)."""
    return 50.0 + 10.0 * z


def sten(z: Array) -> Array:
    """Standard ten: :math:`\\mathrm{clip}(\\lfloor 2z \\rfloor + 6, 1, 10)` (Canfield 1951)."""
    with np.errstate(invalid="ignore"):
        return np.clip(np.floor(2.0 * z) + 6.0, 1.0, 10.0)


def stanine(z: Array) -> Array:
    """Standard nine: :math:`\\mathrm{clip}(\\mathrm{round}(2z + 5), 1, 9)`, halves rounded up."""
    with np.errstate(invalid="ignore"):
        return np.clip(np.floor(2.0 * z + 5.5), 1.0, 9.0)


def percentile_rank(x: Array, values: Array, counts: Array) -> Array:
    """Mid-point percentile rank of ``x`` in a sample given as distinct values and counts.

    Notes
    -----
    :math:`P = 100 (B + E/2) / N` with :math:`B` the number of the sample below
    :math:`x`, :math:`E` the number equal to it and :math:`N` the sample size (the
    mid-point percentile rank, e.g. Crocker & Algina 1986, ch. 19). NaN stays NaN.
    """
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    total = cum[-1]
    safe = np.where(np.isnan(x), -np.inf, x)
    left = np.searchsorted(values, safe, side="left")
    right = np.searchsorted(values, safe, side="right")
    out: Array = 100.0 * (cum[left] + (cum[right] - cum[left]) / 2.0) / total
    out[np.isnan(x)] = np.nan
    return out


def build_norms(
    questionnaire: str | Questionnaire,
    answers: Any,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
) -> NormTable:
    """Build a norm table from a sample of answers (e.g. a company's applicant pool).

    Parameters
    ----------
    questionnaire, answers
        As for :func:`repprofile.score`; rejected candidates are left out.
    description : str
        Who the sample is (population, period, selection), shown with every use.
    created : str or date, optional
        Date recorded in the table (default today). Pass it for byte-identical rebuilds.
    simulated : bool
        Mark a table built from simulated data; every output that uses it says so.

    Notes
    -----
    Per scale, over the candidates with a mean score: n, mean and SD (n - 1) of the
    mean score, the reliability estimates of :func:`repprofile.reliability`, and the
    distinct mean scores with their counts (for :func:`percentile_rank`).
    """
    from repprofile._analysis.reliability import reliability
    from repprofile._analysis.scoring import score

    q = load_questionnaire(questionnaire)
    result = score(q, as_answer_set(q, answers))
    rel = reliability(q, result)
    scales: dict[str, ScaleNorm] = {}
    for j, sid in enumerate(q.scale_ids):
        m = result.mean[:, j]
        m = m[np.isfinite(m)]
        if m.size < 2 or float(np.std(m)) == 0.0:
            raise InputError(
                f"Scale {sid!r} has {m.size} scored candidates"
                + (" with identical scores" if m.size >= 2 else "")
                + "; a norm table needs at least 2 with different scores."
            )
        values, counts = np.unique(m, return_counts=True)
        r = rel.scales[sid]
        scales[sid] = ScaleNorm(
            n=int(m.size),
            mean=float(m.mean()),
            sd=float(m.std(ddof=1)),
            alpha=r.alpha,
            omega_total=r.omega_total,
            std_alpha=r.std_alpha,
            g6=r.g6,
            values=values.tolist(),
            counts=counts.tolist(),
        )
    # the reference for response-quality indices: the sample less the candidates that
    # longstring, IRV, attention checks or response time already flag
    reference = QualityReference.from_sample(
        q, result.answers.values, q.quality.psychsyn_critval, result.quality.clean
    )
    if created is None:
        created = _dt.date.today()
    return NormTable(
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        description=description,
        created=created.isoformat() if isinstance(created, _dt.date) else str(created),
        n=int(result.scored.sum()),
        simulated=simulated,
        repprofile_version=__version__,
        scales=scales,
        quality_reference=reference,
    )


# --------------------------------------------------------------------------- applying


ReliabilityChoice = Literal["alpha", "omega_total"]


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
