"""Calibrate role weights from a company's own performance data.

Ridge regression of a standardized performance criterion on standardized scale scores,
with the penalty chosen by cross-validation, a nested cross-validated validity
coefficient with its confidence interval, and bootstrap intervals for the weights.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from repprofile._analysis.scoring import ScoreResult
from repprofile._errors import InputError
from repprofile._formats.role import Role
from repprofile._input.answers import RepprofileWarning
from repprofile._validation import Interval, validate_params

__all__ = ["Calibration", "calibrate", "read_performance", "ridge"]

Array = NDArray[np.float64]

LAMBDAS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


class Calibration(BaseModel):
    """What a calibration found; ``role`` is the role built from it."""

    model_config = ConfigDict(frozen=True)

    n: int
    criterion: str
    folds: int
    penalty: float
    validity: float
    validity_ci: tuple[float, float]
    validity_ci_level: float
    weights: dict[str, float]
    weights_ci: dict[str, tuple[float, float]]
    bootstrap: int
    warnings: list[str]
    role: Role


def ridge(x: Array, y: Array, penalty: float) -> Array:
    """Ridge coefficients for centred data: :math:`(X'X + \\lambda n I)^{-1} X'y`.

    The penalty is per observation (:math:`\\lambda n`), so one value means the same
    shrinkage whatever the sample size (Hoerl & Kennard 1970).

    References
    ----------
    Hoerl, A. E., & Kennard, R. W. (1970). Ridge regression: Biased estimation for
    nonorthogonal problems. *Technometrics*, 12(1), 55-67.
    https://doi.org/10.1080/00401706.1970.10488634
    """
    n, k = x.shape
    beta: Array = np.linalg.solve(x.T @ x + penalty * n * np.eye(k), x.T @ y)
    return beta


def _folds(n: int, k: int, rng: np.random.Generator) -> list[NDArray[np.intp]]:
    return np.array_split(rng.permutation(n), k)


def _cv_predictions(x: Array, y: Array, penalty: float, folds: list[NDArray[np.intp]]) -> Array:
    pred = np.empty_like(y)
    for test in folds:
        train = np.setdiff1d(np.arange(y.size), test, assume_unique=True)
        mx, my = x[train].mean(axis=0), y[train].mean()
        beta = ridge(x[train] - mx, y[train] - my, penalty)
        pred[test] = (x[test] - mx) @ beta + my
    return pred


def _choose_penalty(x: Array, y: Array, folds: list[NDArray[np.intp]]) -> float:
    errors = [float(((_cv_predictions(x, y, lam, folds) - y) ** 2).mean()) for lam in LAMBDAS]
    return LAMBDAS[int(np.argmin(errors))]


@validate_params({"path": [str, os.PathLike], "column": [str]})
def read_performance(path: str | Path, column: str) -> dict[str, float]:
    """A performance file: CSV with ``candidate_id`` and the criterion column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{p}: cannot read the performance file ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    if "candidate_id" not in fields or column not in fields:
        raise InputError(
            f"{p}: the performance file needs columns 'candidate_id' and {column!r}, got "
            f"{fields} instead"
        )
    out: dict[str, float] = {}
    for i, row in enumerate(reader, start=2):
        cid = (row.get("candidate_id") or "").strip()
        raw = (row.get(column) or "").strip()
        if not cid or not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(
                f"{p} row {i}: {column} must be a finite number, got {raw!r} (candidate {cid!r})"
            )
        if cid in out:
            raise InputError(f"{p} row {i}: candidate {cid!r} appears twice")
        out[cid] = value
    return out


@validate_params(
    {
        "scores": [ScoreResult],
        "performance": [Mapping],
        "criterion": [str],
        "role_id": [str, None],
        "folds": [Interval(Integral, 2, None, closed="left")],
        "bootstrap": [Interval(Integral, 10, None, closed="left")],
        "ci": [Interval(Real, 0, 1, closed="neither")],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "created": [str, _dt.date, None],
    }
)
def calibrate(
    scores: ScoreResult,
    performance: dict[str, float],
    *,
    criterion: str = "performance",
    role_id: str | None = None,
    folds: int = 10,
    bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    created: str | _dt.date | None = None,
) -> Calibration:
    """Learn role weights from a performance criterion.

    Parameters
    ----------
    scores : ScoreResult
        Scored candidates (with ``norms=`` to use norm-based z scores; otherwise the
        scale means are standardized in this sample).
    performance : dict
        candidate id -> criterion value (QA score, CSAT, customer effort, ...), joined
        on the candidate id; candidates missing from either side are left out.
    folds, bootstrap, seed : int
        k of the k-fold cross-validation (default 10), bootstrap resamples for the weight
        intervals (default 1,000) and the random seed (results are reproducible).

    Notes
    -----
    Trait scale scores :math:`Z` are standardized exactly as :func:`repprofile.fit`
    standardizes them (z from the norm table; without norms
    :math:`(\\mathrm{pomp} - 50)/25`), so the weights apply to fit's composite as
    learned; the criterion :math:`y` is standardized. Ridge
    weights :math:`\\hat\\beta = (Z'Z + \\lambda n I)^{-1} Z'y` (Hoerl & Kennard 1970)
    with :math:`\\lambda` chosen from a grid by k-fold cross-validated mean squared
    error. The **validity** is the correlation of out-of-fold predictions with the
    criterion, with :math:`\\lambda` chosen inside each training fold (nested
    cross-validation), so it is not inflated by fitting; its interval is Fisher's
    :math:`\\tanh(\\operatorname{atanh} r \\pm z / \\sqrt{n - 3})`. Weight intervals are
    bootstrap percentiles with :math:`\\lambda` fixed (Efron & Tibshirani 1993). Fewer
    than 100 candidates give a warning: validities from small samples vary widely
    (Schmidt, Hunter & Urry 1976).

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An introduction to the bootstrap*. Chapman
    & Hall. https://doi.org/10.1201/9780429246593

    Schmidt, F. L., Hunter, J. E., & Urry, V. W. (1976). Statistical power in
    criterion-related validation studies. *Journal of Applied Psychology*, 61(4),
    473-485. https://doi.org/10.1037/0021-9010.61.4.473
    """
    from repprofile._analysis.fit import _standardized

    sample = _matched_sample(scores, performance, criterion, folds, _standardized(scores)[0])
    x, y, n = sample.x, sample.y, sample.y.size
    rng = np.random.default_rng(seed)
    validity = _nested_validity(x, y, folds, rng)
    validity_ci = _fisher_interval(validity, n, ci)
    penalty = _choose_penalty(x, y, _folds(n, folds, rng))
    beta = ridge(x - x.mean(axis=0), y - y.mean(), penalty)
    lo_w, hi_w = _bootstrap_intervals(x, y, penalty, bootstrap, ci, rng)
    if created is None:
        created = _dt.date.today()
    date = created.isoformat() if isinstance(created, _dt.date) else str(created)
    learned = _Learned(penalty, validity, validity_ci, beta, lo_w, hi_w)
    role = _calibrated_role(
        scores, sample, learned, criterion=criterion, role_id=role_id, folds=folds,
        bootstrap=bootstrap, ci=ci, date=date,
    )  # fmt: skip
    names = sample.names
    return Calibration(
        n=n,
        criterion=criterion,
        folds=folds,
        penalty=penalty,
        validity=validity,
        validity_ci=validity_ci,
        validity_ci_level=ci,
        weights={s: float(v) for s, v in zip(names, beta, strict=True)},
        weights_ci={s: (float(lo), float(hi)) for s, lo, hi in zip(names, lo_w, hi_w, strict=True)},
        bootstrap=bootstrap,
        warnings=sample.notes,
        role=role,
    )


@dataclass(frozen=True)
class _Sample:
    """The candidates a calibration learns from: scored, with every trait score and a
    criterion value."""

    x: Array  # trait scores in fit's z metric, one row per matched candidate
    y: Array  # the criterion, standardized
    names: list[str]  # the trait scales, columns of x
    notes: list[str]  # warnings about the sample


def _matched_sample(
    scores: ScoreResult, performance: Mapping[str, float], criterion: str, folds: int, z_all: Array
) -> _Sample:
    """Join scores and criterion on the candidate id; refuse too few or a constant one."""
    q = scores.questionnaire
    trait = [j for j, s in enumerate(q.scales) if s.kind == "trait"]
    names = [q.scale_ids[j] for j in trait]
    ids = scores.candidate_ids
    rows = [
        r
        for r in range(len(scores))
        if scores.scored[r]
        and ids[r] in performance
        and np.isfinite(z_all[r, trait]).all()
        and math.isfinite(performance[ids[r]])
    ]
    n = len(rows)
    notes: list[str] = []
    if n < 10 * 2 or n < folds * 2:
        raise InputError(
            f"calibration needs performance data for at least {max(20, folds * 2)} scored "
            f"candidates with every trait score; {n} matched by candidate_id"
        )
    if n < 100:
        msg = (
            f"only {n} candidates: a validity from fewer than 100 is very uncertain; "
            "treat these weights as provisional"
        )
        notes.append(msg)
        # stack: here, calibrate, its parameter check, the caller of calibrate
        warnings.warn(msg, RepprofileWarning, stacklevel=4)
    x = np.asarray(z_all[np.ix_(rows, trait)], dtype=np.float64)
    y_raw = np.array([performance[ids[r]] for r in rows])
    if y_raw.std() == 0:
        raise InputError(f"the criterion {criterion!r} has the same value for everyone")
    y = (y_raw - y_raw.mean()) / y_raw.std(ddof=1)
    return _Sample(x, y, names, notes)


def _nested_validity(x: Array, y: Array, folds: int, rng: np.random.Generator) -> float:
    """Correlation of out-of-fold predictions with the criterion; the penalty is chosen
    within each training fold (nested cross-validation)."""
    n = y.size
    outer = _folds(n, folds, rng)
    pred = np.empty(n)
    for test in outer:
        train = np.setdiff1d(np.arange(n), test, assume_unique=True)
        inner = _folds(train.size, min(5, folds), rng)
        lam = _choose_penalty(x[train], y[train], inner)
        mx, my = x[train].mean(axis=0), y[train].mean()
        pred[test] = (x[test] - mx) @ ridge(x[train] - mx, y[train] - my, lam) + my
    return float(np.corrcoef(pred, y)[0, 1])


def _fisher_interval(r: float, n: int, level: float) -> tuple[float, float]:
    """Fisher's interval of a correlation: tanh(atanh r -/+ z / sqrt(n - 3))."""
    from scipy.special import ndtri

    zc = float(ndtri(0.5 + level / 2.0))
    half = zc / math.sqrt(n - 3)
    return math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)


def _bootstrap_intervals(
    x: Array, y: Array, penalty: float, bootstrap: int, level: float, rng: np.random.Generator
) -> tuple[Array, Array]:
    """Percentile intervals of the ridge weights over bootstrap resamples (penalty fixed)."""
    n = y.size
    boots = np.empty((bootstrap, x.shape[1]))
    for b in range(bootstrap):
        idx = rng.integers(0, n, size=n)
        xb, yb = x[idx], y[idx]
        boots[b] = ridge(xb - xb.mean(axis=0), yb - yb.mean(), penalty)
    a = (1.0 - level) / 2.0
    lo_w, hi_w = np.quantile(boots, [a, 1.0 - a], axis=0)
    return lo_w, hi_w


@dataclass(frozen=True)
class _Learned:
    """What the regression learned: penalty, validity and weights with intervals."""

    penalty: float
    validity: float
    validity_ci: tuple[float, float]
    beta: Array
    lo_w: Array
    hi_w: Array


def _calibrated_role(
    scores: ScoreResult,
    sample: _Sample,
    learned: _Learned,
    *,
    criterion: str,
    role_id: str | None,
    folds: int,
    bootstrap: int,
    ci: float,
    date: str,
) -> Role:
    """The role file of a calibration: the weights, and a rationale stating how they were
    learned and how sure they are."""
    q = scores.questionnaire
    names, n = sample.names, sample.y.size
    lo_ci, hi_ci = learned.validity_ci
    beta = learned.beta
    weights = {s: round(float(v), 4) for s, v in zip(names, beta, strict=True)}
    rationale = (
        f"Calibrated by repprofile on {date} from {n} candidates' {q.id} {q.version} "
        f"scores and their {criterion!r}: ridge regression on standardized scale scores "
        f"(penalty {learned.penalty} chosen by {folds}-fold cross-validation). Nested "
        f"cross-validated validity r = {learned.validity:.3f} ({ci:.0%} CI {lo_ci:.3f} to "
        f"{hi_ci:.3f}). Bootstrap ({bootstrap} resamples) {ci:.0%} intervals of the "
        "weights: "
        + "; ".join(
            f"{s} {lo:.3f} to {hi:.3f}"
            for s, lo, hi in zip(names, learned.lo_w, learned.hi_w, strict=True)
        )
        + ". Weights are standardized regression weights; check them for adverse impact "
        "(repprofile audit) and recalibrate when the role or the applicant pool changes."
        + (" Warning: " + " ".join(sample.notes) if sample.notes else "")
    )
    if all(w == 0 for w in weights.values()):
        weights = {s: float(v) for s, v in zip(names, beta, strict=True)}
    return Role(
        id=role_id
        or "calibrated-"
        + (re.sub(r"[^a-z0-9]+", "-", criterion.lower()).strip("-") or "criterion"),
        name=f"Calibrated on {criterion}",
        description=f"Weights learned from {n} candidates' {criterion} ({date}).",
        questionnaire=q.id,
        weights=weights,
        rationale=rationale,
        references=[
            "Hoerl, A. E., & Kennard, R. W. (1970). Ridge regression. Technometrics, 12(1), 55-67.",
        ],
    )


def role_yaml(role: Role) -> str:
    """A role as YAML text (the role file format)."""
    import yaml

    data: dict[str, Any] = role.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
