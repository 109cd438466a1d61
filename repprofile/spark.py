"""repprofile on Spark: score, norms, reliability and the quality reference of a Spark
DataFrame (``pip install 'repprofile[spark]'``).

The input is the wide answers table, as :func:`repprofile.score` reads a pandas
DataFrame: a ``candidate_id`` column and one column per item id. Partitions can be of
any sizes. Importing this module does not import pyspark; each function does, and raises
ImportError naming the extra when pyspark is missing. Spark needs a Java runtime
(17 or newer). See docs/scale.md.

Every result equals the single-machine one on the same rows: scores bit for bit (they
are per row, and the response-quality batch reference is merged from every partition
first), norms and reliability to 1e-12 (merged from per-partition moment sums).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from repprofile._analysis.reliability import ReliabilityResult
    from repprofile._formats.norms import NormTable, QualityReference, ReliabilityChoice
    from repprofile._formats.questionnaire import QualitySettings, Questionnaire, SjtMethod

__all__ = ["build_norms", "errors", "quality_reference", "reliability", "score"]


def score(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> Any:
    """Score every candidate of a Spark DataFrame of answers (lazily, a Spark DataFrame).

    Parameters
    ----------
    questionnaire : str or Questionnaire
        A bundled id, a file path or a loaded questionnaire.
    sdf : pyspark.sql.DataFrame
        The wide answers table: ``candidate_id`` and one column per item id.
    norms, ci, reliability, quality, sjt_method, sjt_key
        As for :func:`repprofile.score`.

    Returns
    -------
    pyspark.sql.DataFrame
        The columns of ``repprofile score --format csv`` (``candidate_id``, per scale
        ``<id>_mean`` and ``<id>_pomp``, with norms ``<id>_t`` and ``<id>_percentile``,
        ``primary_type``, ``secondary_type``, ``quality_valid``, ``quality_flags``) at
        full precision, one row per scored candidate in input order; rejected
        candidates are left out (:func:`errors` lists them). Strings are Spark
        strings (null for no type), scores doubles (NaN for no score),
        ``quality_valid`` boolean.

    Notes
    -----
    Two passes over the data. Pass 1 computes, per partition, the mergeable moments of
    the quality part (:func:`repprofile._analysis.partial.partial_stats`) and merges
    them on the driver in partition order: the item means and covariance matrix of the
    clean candidates (Mahalanobis D^2, psychometric synonyms), the batch reference that
    single-machine :func:`repprofile.score` of the whole table uses. Pass 2 is
    ``mapInPandas`` with a declared schema: per row, the same arithmetic as
    single-machine scoring against that reference, so scores and flags are bit-identical.
    """
    from repprofile._distributed import _spark

    return _spark.score(
        questionnaire,
        sdf,
        norms=norms,
        ci=ci,
        reliability=reliability,
        quality=quality,
        sjt_method=sjt_method,
        sjt_key=sjt_key,
    )


def errors(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    norms: str | NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    quality: QualitySettings | dict[str, Any] | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> Any:
    """The rejected candidates' problems (lazily): a Spark DataFrame of string columns
    ``candidate_id``, ``item`` (null for a problem of the whole row), ``value`` (the
    offending value as JSON) and ``problem`` (the message; row numbers in it count from
    the start of the partition), one row per problem, in input order. Options as for
    :func:`score`."""
    from repprofile._distributed import _spark

    return _spark.errors(
        questionnaire,
        sdf,
        norms=norms,
        ci=ci,
        reliability=reliability,
        quality=quality,
        sjt_method=sjt_method,
        sjt_key=sjt_key,
    )


def build_norms(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    description: str,
    created: str | _dt.date | None = None,
    simulated: bool = False,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> NormTable:
    """A norm table from every row of a Spark DataFrame of answers.

    Parameters and result as for :func:`repprofile.build_norms`: per scale n, mean and
    SD (n - 1) of the mean score, the reliability estimates and the distinct mean
    scores with their counts, and the quality reference. Computed from per-partition
    sums (counts, sums and pairwise sums of products, value counts) merged on the
    client, equal to :func:`repprofile.build_norms` of the whole table to 1e-12 (values
    and counts exactly). Questionnaires with SJT items are refused (InputError): not
    supported across partitions yet.
    """
    from repprofile._distributed import _spark

    return _spark.build_norms(
        questionnaire,
        sdf,
        description=description,
        created=created,
        simulated=simulated,
        sjt_method=sjt_method,
        sjt_key=sjt_key,
    )


def reliability(
    questionnaire: str | Questionnaire, sdf: Any, *, ci: float = 0.95
) -> ReliabilityResult:
    """Reliability and item analysis of every scale from every row of a Spark DataFrame.

    As :func:`repprofile.reliability` (pairwise-complete covariances as
    ``psych::alpha(x, use = "pairwise")``, omega total as ``psych::omega(nfactors = 1)``),
    computed from the pairwise moment sums of each partition, which combine by
    addition; equal to the single-machine result to 1e-12.
    """
    from repprofile._distributed import _spark

    return _spark.reliability(questionnaire, sdf, ci=ci)


def quality_reference(
    questionnaire: str | Questionnaire,
    sdf: Any,
    *,
    quality: QualitySettings | dict[str, Any] | None = None,
) -> QualityReference | None:
    """The response-quality reference sample of the whole Spark DataFrame: item means,
    covariance matrix and synonym pairs of the clean candidates, the one
    :func:`repprofile.score` of the whole table uses; None when fewer than
    ``reference_min`` clean candidates (scoring then uses the norm table's)."""
    from repprofile._distributed import _spark

    return _spark.quality_reference(questionnaire, sdf, quality=quality)
