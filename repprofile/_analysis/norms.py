"""Building a norm table from a sample of answers (a company's applicant pool).

A norm table holds, per scale, the norm sample's n, mean and SD of the scale mean
score, its reliability estimates, and the distribution of its mean scores (distinct
values and counts) for an exact mid-point percentile. It names the questionnaire id
and version it was built for; applying it to another version is refused.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from repprofile._analysis.reliability import ScaleReliability, _reliability_from_scores
from repprofile._analysis.scoring import _score, _sjt_key
from repprofile._analysis.sjt import resolve_method
from repprofile._errors import InputError
from repprofile._formats.norms import NormTable, QualityReference, ScaleNorm, minimum_norm_n
from repprofile._formats.questionnaire import (
    SJT_METHODS,
    Questionnaire,
    SjtMethod,
    load_questionnaire,
)
from repprofile._input.answers import RepprofileWarning, as_answer_set
from repprofile._validation import NO_CHECK, StrOptions, validate_params
from repprofile._version import __version__

__all__ = ["build_norms"]

Array = NDArray[np.float64]


# --------------------------------------------------------------------------- arithmetic


def _reliability_or_none(r: float | None) -> float | None:
    """A reliability estimate as a norm table stores it: outside [0, 1] (a negative
    alpha of a scale whose items do not hang together) it gives no SEM, so it is None."""
    return r if r is not None and math.isfinite(r) and 0.0 <= r <= 1.0 else None


@validate_params(
    {
        "questionnaire": [str, os.PathLike, Questionnaire],
        "answers": [NO_CHECK],  # any form score accepts
        "description": [str],
        "created": [str, _dt.date, None],
        "simulated": ["boolean"],
        "sjt_method": [StrOptions(*SJT_METHODS), None],
        "sjt_key": [NO_CHECK],  # a path, a mapping or a loaded key, as for score
    }
)
def build_norms(
    questionnaire: str | Questionnaire,
    answers: Any,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
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
    sjt_method, sjt_key
        How SJT items are scored, as for :func:`repprofile.score` (the skill scales'
        norms are of the scores of that method and key).

    Notes
    -----
    Per scale, over the candidates with a mean score: n, mean and SD (n - 1) of the
    mean score, the reliability estimates of :func:`repprofile.reliability`, and the
    distinct mean scores with their counts (for :func:`percentile_rank`).

    Warns (:class:`RepprofileWarning`) below the recommended minimum sample,
    ``max(100, 3 x scored items)`` (:func:`minimum_norm_n`; 231 for rep-types): the
    norm table also holds the item covariance matrix that Mahalanobis D^2 of new
    candidates is measured against, and a covariance of p items needs n well above p.
    :meth:`NormTable.quality_support` says which quality indices the table supports.
    """
    q = load_questionnaire(questionnaire)
    key = _sjt_key(sjt_key)
    if q.has_sjt:
        resolve_method(q, sjt_method, key)  # an unusable method before the answers are read
    result = _score(
        as_answer_set(q, answers, caller="build_norms"), sjt_method=sjt_method, sjt_key=key
    )
    rel = _reliability_from_scores(result, 0.95)  # as reliability(q, result)
    scales: dict[str, ScaleNorm] = {}
    for j, sid in enumerate(q.scale_ids):
        m = result.mean[:, j]
        m = m[np.isfinite(m)]
        values, counts = np.unique(m, return_counts=True)
        spread = m.size >= 2 and float(np.std(m)) != 0.0
        mean, sd = (float(m.mean()), float(m.std(ddof=1))) if spread else (math.nan, math.nan)
        scales[sid] = scale_norm(sid, values, counts, mean, sd, rel.scales[sid])
    # the reference for response-quality indices: the sample less the candidates that
    # longstring, IRV, attention checks or response time already flag
    # (none for a questionnaire without Likert items: the indices that use it need them)
    reference = (
        QualityReference.from_sample(
            q, result.answers.values, q.quality.psychsyn_critval, result.quality.clean
        )
        if q.likert_view is not None
        else None
    )
    n_scored = int(result.scored.sum())
    warn_small_sample(q, n_scored, reference, stacklevel=4)
    if created is None:
        created = _dt.date.today()
    return NormTable(
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        description=description,
        created=created.isoformat() if isinstance(created, _dt.date) else str(created),
        n=n_scored,
        simulated=simulated,
        repprofile_version=__version__,
        scales=scales,
        quality_reference=reference,
    )


def scale_norm(
    sid: str,
    values: NDArray[np.float64],
    counts: NDArray[np.int_],
    mean: float,
    sd: float,
    r: ScaleReliability,
) -> ScaleNorm:
    """One scale's norms from its distinct mean scores and their counts, their mean and
    SD (n - 1) and its reliability; refused with fewer than 2 different scores."""
    n = int(counts.sum())
    if n < 2 or values.size < 2:
        raise InputError(
            f"Scale {sid!r} has {n} scored candidates"
            + (" with identical scores" if n >= 2 else "")
            + "; a norm table needs at least 2 with different scores."
        )
    return ScaleNorm(
        n=n,
        mean=mean,
        sd=sd,
        alpha=_reliability_or_none(r.alpha),
        omega_total=_reliability_or_none(r.omega_total),
        std_alpha=_reliability_or_none(r.std_alpha),
        g6=_reliability_or_none(r.g6),
        values=values.tolist(),
        counts=counts.tolist(),
    )


def warn_small_sample(
    q: Questionnaire, n_scored: int, reference: QualityReference | None, *, stacklevel: int
) -> None:
    """Warn when a norm sample is below :func:`minimum_norm_n` of the scored items."""
    n_items = int((q.item_scale_index >= 0).sum())
    least = minimum_norm_n(n_items)
    if n_scored >= least:
        return
    warnings.warn(
        f"The norm sample has {n_scored} scored candidates, below the recommended "
        f"minimum of {least} (max(100, 3 x {n_items} scored items)): the norm table "
        f"holds the covariance of the {n_items} items that Mahalanobis D^2 of new "
        "candidates is measured against, and a covariance of p items needs n well "
        "above p; with fewer, D^2 is unstable"
        + (
            f" (here it is undefined: more than {n_items} candidates not flagged by "
            "longstring, IRV, attention or response time are needed)"
            if reference is None or not reference.full_rank
            else ""
        )
        + ". Scale norms from a small sample are imprecise too. "
        "See docs/response-quality.md.",
        RepprofileWarning,
        stacklevel=stacklevel,
    )


# --------------------------------------------------------------------------- applying
