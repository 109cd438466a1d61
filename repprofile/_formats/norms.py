"""The norm table file: per scale, the norm sample's n, mean and SD of the scale mean
score, its reliability estimates, and the distribution of its mean scores (distinct
values and counts) for an exact mid-point percentile; and the reference statistics
that sample-based response-quality indices need. A table names the questionnaire id
and version it was built for; applying it to another version is refused."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from repprofile._errors import InputError
from repprofile._formats.files import CachedModel, bundled_dir, validate_document
from repprofile._formats.limits import MAX_LIST_ENTRIES, DescriptionText, IdText, ShortText
from repprofile._formats.questionnaire import Questionnaire
from repprofile._util import canonical_sha256, json_loads
from repprofile._validation import validate_params
from repprofile.stats import PairwiseMoments, pairwise_moments, synonym_pairs

__all__ = [
    "SD_EPSILON",
    "IndexSupport",
    "NormTable",
    "QualityReference",
    "ReliabilityChoice",
    "ScaleNorm",
    "bundled_norms",
    "load_norms",
    "minimum_norm_n",
]

Array = NDArray[np.float64]
_BLOCK = 32768  # rows per block: reference moments are accumulated block by block
# With whole-number answers every moment sum is exact (PairwiseMoments), so the blocks
# can be as small as the cache likes, and summed in float32, without changing a bit.
_WHOLE_BLOCK = 4096
SD_EPSILON = 1e-6
"""The smallest SD a scale norm may have, relative to the magnitude of its scores
(``max(1, |mean|, |values|)``, which bounds the scale's range): a smaller SD would turn
every z into a huge or infinite number (docs/norms.md)."""


def minimum_norm_n(n_items: int) -> int:
    """The smallest norm sample repprofile recommends for ``n_items`` scored items:
    ``max(100, 3 * n_items)``.

    Notes
    -----
    Mahalanobis D^2 of a new candidate is measured against the norm sample's item means
    and its covariance matrix of ``n_items`` x ``n_items``, which must be estimated
    from the sample. Below ``n_items + 1`` people it is singular (D^2 is undefined);
    not far above, its smallest eigenvalues are badly underestimated, so D^2 is
    dominated by estimation noise and varies with who happened to be in the sample.
    Hotelling's F (:func:`repprofile.stats.mahalanobis_p`) keeps the false-flag rate
    nominal for multivariate normal data at any n > p, but the flag then has little
    power; three people per item (and at least 100, for stable scale norms) keeps the
    F close to its chi-square limit. A rule of thumb, documented in
    docs/response-quality.md, not a theorem.
    """
    return max(100, 3 * n_items)


class IndexSupport(NamedTuple):
    """Whether a norm table supports a response-quality index, and why (or why not)."""

    supported: bool
    reason: str


class QualityReference(CachedModel):
    """What sample-based indices need from a reference sample (stored in norm tables)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    items: list[IdText]
    means: list[float]
    cov: list[list[float]]
    synonym_pairs: list[tuple[IdText, IdText]]
    critval: float
    n: int
    full_rank: bool = Field(
        default=True,
        description="The covariance matrix is invertible (Mahalanobis D^2 is defined).",
    )

    @model_validator(mode="after")
    def _check_shapes(self) -> QualityReference:
        k = len(self.items)
        problems = []
        if len(set(self.items)) != k:
            problems.append("items: each item once")
        if len(self.means) != k:
            problems.append(f"means: one per item ({k}), got {len(self.means)}")
        if len(self.cov) != k or any(len(row) != k for row in self.cov):
            problems.append(f"cov: a {k} x {k} matrix")
        if not all(math.isfinite(v) for v in self.means) or not all(
            math.isfinite(v) for row in self.cov for v in row
        ):
            problems.append("means and cov: finite numbers")
        known = set(self.items)
        if any(a not in known or b not in known for a, b in self.synonym_pairs):
            problems.append("synonym_pairs: pairs of ids listed in items")
        if problems:
            raise ValueError("quality reference: expected " + "; ".join(problems))
        return self

    @functools.cached_property
    def arrays(self) -> tuple[Array, Array, Array | None]:
        """Item means, covariance matrix and its inverse (None unless full rank) as
        arrays, built once per reference."""
        means = np.asarray(self.means, dtype=np.float64)
        cov = np.asarray(self.cov, dtype=np.float64)
        inverse: Array | None = None
        if self.full_rank:
            try:
                inverse = np.asarray(np.linalg.inv(cov), dtype=np.float64)
            except np.linalg.LinAlgError:  # declared full rank, but singular
                inverse = None
        return means, cov, inverse

    @classmethod
    def from_sample(
        cls,
        q: Questionnaire,
        x: NDArray[np.floating[Any]],
        critval: float,
        rows: NDArray[np.bool_] | None = None,
    ) -> QualityReference | None:
        """Reference statistics of the scored items of ``x`` (rows: candidates; only
        those where ``rows`` is True), accumulated over blocks of rows."""
        use = np.ones(x.shape[0], dtype=bool) if rows is None else rows
        return cls.from_moments(q, cls.sample_moments(q, x, use), critval, int(use.sum()))

    @classmethod
    def sample_moments(
        cls, q: Questionnaire, x: NDArray[np.floating[Any]], use: NDArray[np.bool_]
    ) -> PairwiseMoments:
        """Pairwise moments of the scored items of the rows of ``x`` where ``use`` is
        True, about :meth:`centre`; moments of separate batches merge by addition."""
        items = np.flatnonzero(q.item_scale_index >= 0)

        rs = q.response_scale
        # whole-number answers (the rows used are scored: none fractional or out of
        # range) sum exactly in any blocks, and in float32 while rows x (half the
        # range)**2 stays below 2**22 (PairwiseMoments)
        size = _WHOLE_BLOCK if rs.integers else _BLOCK
        whole = rs.integers and size * ((rs.max - rs.min) / 2.0) ** 2 < 2.0**22
        every_column = items.size == x.shape[1]  # then no column selection (a copy)
        dtype = np.float32 if whole else np.float64

        def block(start: int) -> NDArray[np.floating[Any]]:
            rows = x[start : start + size][use[start : start + size]]
            return np.ascontiguousarray(rows if every_column else rows[:, items], dtype)

        def blocks() -> Iterator[Callable[[], NDArray[np.floating[Any]]]]:  # in the threads
            for start in range(0, x.shape[0], size):
                yield functools.partial(block, start)

        from repprofile._util import workers

        return pairwise_moments(blocks(), len(items), cls.centre(q), threads=workers(), whole=whole)

    @staticmethod
    def centre(q: Questionnaire) -> Array:
        """The centre the moments of the scored items are taken about: the response
        scale's midpoint (a constant, so moments of separate batches add)."""
        items = int((q.item_scale_index >= 0).sum())
        return np.full(items, (q.response_scale.min + q.response_scale.max) / 2.0)

    @classmethod
    def from_moments(
        cls, q: Questionnaire, moments: PairwiseMoments, critval: float, n: int
    ) -> QualityReference | None:
        """Reference statistics from the pairwise moments of the scored items over the
        reference sample (``n`` candidates): pairwise means and covariances (R's
        ``cov(x, use = "pairwise")``) and the psychsyn pairs of the pairwise
        correlations. None when some item pair was never answered together."""
        items = np.flatnonzero(q.item_scale_index >= 0)
        cov = moments.cov()
        if not np.isfinite(cov).all():
            return None  # some item pair was never answered together
        full_rank = bool(np.linalg.matrix_rank(cov) == len(items))
        pairs = synonym_pairs(moments.cor(), critval)
        ids = [q.item_ids[i] for i in items]
        return cls(
            items=ids,
            means=moments.means().tolist(),
            cov=cov.tolist(),
            synonym_pairs=[(ids[a], ids[b]) for a, b in pairs],
            critval=critval,
            n=n,
            full_rank=full_rank,
        )


class ScaleNorm(BaseModel):
    """Norms of one scale: statistics of the mean score in the norm sample."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

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
        if not math.isfinite(self.mean):
            problems.append("mean: a finite number")
        if not math.isfinite(self.sd):
            problems.append("sd: a finite number")
        else:
            finite = [abs(v) for v in self.values if math.isfinite(v)]
            scale = max([1.0, abs(self.mean) if math.isfinite(self.mean) else 1.0, *finite])
            if self.sd < SD_EPSILON * scale:
                problems.append(
                    f"sd: at least {SD_EPSILON:g} x {scale:g} (the scores' magnitude), "
                    f"got {self.sd!r}: a norm sample whose scores (nearly) do not vary "
                    "cannot give z scores"
                )
        for name in ("alpha", "omega_total", "std_alpha", "g6"):
            r = getattr(self, name)
            if r is not None and not (math.isfinite(r) and 0.0 <= r <= 1.0):
                problems.append(f"{name}: a reliability from 0 to 1 (or null), got {r!r}")
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

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    format: Literal["repprofile-norms/1"] = "repprofile-norms/1"
    questionnaire_id: IdText
    questionnaire_version: ShortText
    description: DescriptionText = Field(min_length=1)
    created: ShortText = Field(description="ISO date the table was built.")
    n: int
    simulated: bool = Field(
        default=False, description="True when the norm sample is simulated, not real people."
    )
    repprofile_version: ShortText
    scales: dict[IdText, ScaleNorm] = Field(max_length=MAX_LIST_ENTRIES)
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

    def quality_support(self) -> dict[str, IndexSupport]:
        """Per response-quality index, whether a small batch scored against this table
        gets it, and why (or why not).

        The sample-free indices (longstring, IRV, even-odd, attention checks, response
        time, impression management) need no table. Mahalanobis D^2 needs the table's
        quality reference with an invertible covariance matrix from more people than
        items (n > p); below :func:`minimum_norm_n` it is supported with a warning.
        Psychometric synonyms need at least 3 item pairs correlating above the table's
        critical value.
        """
        free = IndexSupport(True, "needs no reference sample")
        out = {
            name: free
            for name in ("longstring", "irv", "even_odd", "attention_failures", "seconds_per_item")
        }
        ref = self.quality_reference
        if ref is None:
            why = "the table has no quality_reference (built by an older repprofile or edited)"
            out["mahalanobis_d2"] = out["psychsyn"] = IndexSupport(False, why)
            return out
        n, k = ref.n, len(ref.items)
        if n <= k or not ref.full_rank or ref.arrays[2] is None:
            out["mahalanobis_d2"] = IndexSupport(
                False,
                f"the covariance of {k} items from n = {n} people is singular: "
                f"D^2 needs more people than items (n > {k})",
            )
        else:
            dist = f"p from Hotelling's F({k}, {n - k})"
            least = minimum_norm_n(k)
            out["mahalanobis_d2"] = IndexSupport(
                True,
                f"n = {n} > {k} items, {dist}"
                if n >= least
                else f"n = {n} > {k} items, {dist}; but below the recommended minimum of "
                f"{least} (max(100, 3 x {k} items)): the covariance is poorly estimated, "
                "so D^2 depends on who happened to be in the sample and the flag loses "
                "power as n nears the number of items",
            )
        pairs = len(ref.synonym_pairs)
        out["psychsyn"] = (
            IndexSupport(True, f"{pairs} item pairs correlate above {ref.critval}")
            if pairs >= 3
            else IndexSupport(
                False,
                f"{pairs} item pair(s) correlate above {ref.critval} in the norm sample; "
                "at least 3 are needed",
            )
        )
        return out

    def fingerprint(self) -> str:
        """SHA-256 of the table's canonical JSON (for provenance; computed once)."""
        return self._sha256

    @functools.cached_property
    def _sha256(self) -> str:
        return canonical_sha256(self.model_dump(mode="json"))

    @functools.cached_property
    def _distributions(self) -> dict[str, tuple[Array, Array]]:
        """Per scale, the sample's distinct values and their counts as arrays (built once)."""
        return {
            sid: (np.asarray(sn.values, dtype=np.float64), np.asarray(sn.counts, dtype=np.float64))
            for sid, sn in self.scales.items()
        }

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)


def bundled_norms() -> dict[str, Path]:
    """The bundled norm tables by id (the file name without ``.json``), sorted by id.

    The one look-up of bundled norm ids: :func:`load_norms` (so every CLI ``--norms``)
    and the HTTP server's catalogue both use it.
    """
    return {p.stem: p for p in sorted((bundled_dir() / "norms").glob("*.json"))}


def _norms_path(source: str | os.PathLike[str]) -> Path:
    """Where a norm table argument points: an existing file is that file; otherwise a
    ``str`` that is a bundled id is the bundled table; otherwise an error naming the
    value and listing the bundled ids."""
    path = Path(source)
    if path.is_file():
        return path
    bundled = bundled_norms()
    if isinstance(source, str) and source in bundled:
        return bundled[source]
    ids = ", ".join(bundled) or "(none)"
    raise InputError(
        f"{str(source)!r}: no such norm table file, and not a bundled norm table id "
        f"(bundled: {ids})"
    )


@validate_params({"source": [str, os.PathLike, NormTable, dict]})
def load_norms(source: str | Path | NormTable | dict[str, Any]) -> NormTable:
    """Read a norm table: a JSON file, a bundled id, or a parsed table validated.

    Parameters
    ----------
    source : str, pathlib.Path, NormTable or dict
        The path of a norm table JSON file (an existing file wins), else a bundled norm
        table id such as ``"rep-types-simulated"`` (see :func:`bundled_norms`); a
        :class:`NormTable` is returned unchanged; a dict is validated as one.

    Returns
    -------
    NormTable

    Raises
    ------
    InputError
        Neither a file nor a bundled id (the message lists the bundled ids), an
        unreadable file, or a table that breaks the format.
    """
    if isinstance(source, NormTable):
        return source
    if isinstance(source, dict):
        data: Any = source
        name = "norms"
    else:
        path = _norms_path(source)
        name = str(source)
        try:
            data = json_loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:  # pragma: no cover - removed between the check and the read
            raise InputError(f"{name}: no such norm table file") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"{name}: not a readable JSON norm table ({exc})") from None
    return validate_document(NormTable, data, name, error=InputError)


ReliabilityChoice = Literal["alpha", "omega_total"]
