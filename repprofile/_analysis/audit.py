"""Adverse-impact audit: four-fifths rule and NYC Local Law 144 bias-audit tables.

Demographic data is used here only; no scoring or fit function accepts it. See
docs/audit.md: an impact ratio is evidence to investigate, not a legal conclusion.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from repprofile._errors import InputError
from repprofile._input.answers import RepprofileWarning
from repprofile._validation import HasAttributes, SequenceOf, validate_params
from repprofile._version import __version__

__all__ = ["SMALL_N", "AuditResult", "audit", "looks_like_non_answer"]

FOUR_FIFTHS = 0.8
SMALL_SHARE = 0.02  # LL144: categories under 2% of the sample may be excluded
SMALL_N = 30  # the tool's small-sample warning threshold (not a legal one)
JOIN_SHOWN = 5  # unmatched ids shown in the join warning

# Categories that look like a non-answer; they are never the automatic reference.
_NON_ANSWER = re.compile(
    r"prefer not|rather not|not to (say|answer|disclose|state)|declin|undisclosed"
    r"|not (disclosed|specified|stated|given|known|provided)|unspecified|unknown|no answer"
    r"|no response|withheld|^(n/?a|none|missing|other/unspecified|-+|\?+)$"
)


def looks_like_non_answer(category: str) -> bool:
    """Whether a category (or a part of an intersection ``"x / y"``) reads as a non-answer,
    such as "Prefer not to say", "Declined", "N/A", "unspecified" (any case)."""
    return any(
        not part.strip() or _NON_ANSWER.search(part.strip().lower())
        for part in category.split(" / ")
    )


class AuditRow(BaseModel):
    """One category's selection (or scoring) rate and its comparison with the highest."""

    model_config = ConfigDict(frozen=True)

    category: str
    n: int
    share: float
    selected: int
    rate: float
    impact_ratio: float | None
    adverse_impact: bool
    excluded: bool
    z: float | None
    p_value: float | None
    fisher_p: float | None
    small_sample: bool
    selections_to_four_fifths: int | None


class AuditTable(BaseModel):
    """The rows of one group column, or of the intersection of two."""

    model_config = ConfigDict(frozen=True)

    groups: list[str]
    reference: str | None
    reference_source: Literal["highest rate", "given"] | None = None
    rows: list[AuditRow]


class EffectSizeRow(BaseModel):
    """Standardized mean difference of a scale between a category and the reference."""

    model_config = ConfigDict(frozen=True)

    category: str
    n: int
    mean: float | None
    sd: float | None
    d: float | None
    d_ci_low: float | None
    d_ci_high: float | None


class EffectSizeTable(BaseModel):
    model_config = ConfigDict(frozen=True)

    groups: list[str]
    scale: str
    reference: str | None
    rows: list[EffectSizeRow]


class AuditResult(BaseModel):
    """The audit (a JSON contract: outcome, tables, unknown, provenance)."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["selected", "score"]
    tables: list[AuditTable]
    unknown: dict[str, int]
    exclude_small: bool
    median_score: float | None
    n: int
    effect_sizes: list[EffectSizeTable]
    provenance: dict[str, Any]
    warnings: list[str] = []

    @property
    def adverse_impact(self) -> bool:
        """Whether any included category is below four-fifths of the highest rate."""
        return any(r.adverse_impact for t in self.tables for r in t.rows)


# --------------------------------------------------------------------------- input


_DATAFRAME = HasAttributes("columns", "to_dict", description="a pandas DataFrame")


def _columns(data: Any) -> dict[str, list[Any]]:
    """Any accepted table (checked by :func:`audit`) as column name -> values."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the audit table ({exc})") from None
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows:
            raise InputError(f"{path}: the audit table has no rows")
        return {k.strip(): [r[k] for r in rows] for k in rows[0]}
    if hasattr(data, "columns") and hasattr(data, "to_dict"):  # a pandas DataFrame
        return {str(c): list(data[c].tolist()) for c in data.columns}
    keys = list(data[0])  # a non-empty list of records
    return {str(k): [r.get(k) for r in data] for k in keys}


def _category(value: Any, unknown: set[str]) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if not text or text.lower() == "unknown" or text in unknown:
        return None
    return text


def _number(values: list[Any], column: str, what: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise InputError(
                f"column {column!r} row {i + 1}: {what} must be a number, got {v!r} instead"
            ) from None
    return out


# --------------------------------------------------------------------------- statistics


def _two_proportion_z(s1: int, n1: int, s2: int, n2: int) -> tuple[float | None, float | None]:
    """Two-proportion z-test with the pooled proportion; two-sided p."""
    from scipy.special import ndtr

    pooled = (s1 + s2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None, None
    z = (s1 / n1 - s2 / n2) / se
    return z, float(2 * ndtr(-abs(z)))


def _cohen_d(
    a: np.ndarray[Any, np.dtype[np.float64]],
    b: np.ndarray[Any, np.dtype[np.float64]],
    level: float = 0.95,
) -> tuple[float | None, float | None, float | None]:
    """Cohen's d (pooled SD) of a vs b with the Hedges & Olkin (1985) normal CI."""
    from scipy.special import ndtri

    n1, n2 = a.size, b.size
    if n1 < 2 or n2 < 2:
        return None, None, None
    pooled = math.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    if pooled == 0:
        return None, None, None
    d = float((a.mean() - b.mean()) / pooled)
    se = math.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2)))
    zc = float(ndtri(0.5 + level / 2))
    return d, d - zc * se, d + zc * se


def _table(
    labels: list[str | None],
    hit: np.ndarray[Any, np.dtype[np.bool_]],
    groups: list[str],
    exclude_small: bool,
    given: str | None = None,
    notes: list[str] | None = None,
) -> AuditTable:
    from scipy.stats import fisher_exact

    cats = sorted({c for c in labels if c is not None})
    known = sum(1 for c in labels if c is not None)
    counts = {c: 0 for c in cats}
    sel = {c: 0 for c in cats}
    for c, h in zip(labels, hit, strict=True):
        if c is not None:
            counts[c] += 1
            sel[c] += int(h)
    share = {c: counts[c] / known for c in cats}
    rate = {c: sel[c] / counts[c] for c in cats}
    excluded = {c: exclude_small and share[c] < SMALL_SHARE for c in cats}
    included = [c for c in cats if not excluded[c]]
    where = " x ".join(groups)
    if given is not None:
        if excluded[given]:
            raise InputError(
                f"reference category {given!r} of {where} is under 2% of the sample and "
                "excluded by exclude_small; choose another reference or keep small categories"
            )
        ref: str | None = given
    else:
        ref = _automatic_reference(included, rate, counts, cats, where, notes)
    top = rate[ref] if ref is not None else 0.0
    if ref is not None and top == 0:
        msg = (
            f"{where}: the reference category {ref!r} has no "
            f"{'selections' if given is None else 'selections (rate 0)'}: impact ratios are "
            "rates divided by its rate, so none can be computed; choose a reference with "
            "selections with --reference CATEGORY (reference= in Python)"
        )
        warnings.warn(msg, RepprofileWarning, stacklevel=3)
        if notes is not None:
            notes.append(msg)
    rows = []
    for c in cats:
        ir = None if excluded[c] or ref is None or top == 0 else rate[c] / top
        z = p = fp = None
        if ref is not None and c != ref and not excluded[c]:
            z, p = _two_proportion_z(sel[c], counts[c], sel[ref], counts[ref])
            table = [[sel[c], counts[c] - sel[c]], [sel[ref], counts[ref] - sel[ref]]]
            fp = float(fisher_exact(table, alternative="two-sided").pvalue)
        need = None
        adverse = False
        if ir is not None and ref is not None:
            # Exact in integers: rate_c / rate_ref < 4/5  <=>  5 s_c n_ref < 4 s_ref n_c,
            # so a ratio of exactly 0.8 is never flagged by a rounding error.
            short = 4 * sel[ref] * counts[c] - 5 * sel[c] * counts[ref]
            adverse = short > 0
            need = max(0, -(-short // (5 * counts[ref])))  # ceil(short / (5 n_ref))
        rows.append(
            AuditRow(
                category=c,
                n=counts[c],
                share=share[c],
                selected=sel[c],
                rate=rate[c],
                impact_ratio=ir,
                adverse_impact=adverse,
                excluded=excluded[c],
                z=z,
                p_value=p,
                fisher_p=fp,
                small_sample=counts[c] < SMALL_N,
                selections_to_four_fifths=need,
            )
        )
    return AuditTable(
        groups=groups,
        reference=ref,
        rows=rows,
        reference_source=None if ref is None else ("given" if given else "highest rate"),
    )


def _automatic_reference(
    included: list[str],
    rate: dict[str, float],
    counts: dict[str, int],
    cats: list[str],
    where: str,
    notes: list[str] | None,
) -> str | None:
    """The included category with the highest rate that is not a non-answer (ties: the
    first in sorted order), and warnings when that choice is weak."""
    fix = "choose the reference with --reference CATEGORY (reference= in Python)"
    answers = [c for c in included if not looks_like_non_answer(c)]
    ref = max(answers, key=lambda c: (rate[c], -cats.index(c))) if answers else None
    msgs = []
    if ref is None and included:
        msgs.append(
            f"{where}: every category ({', '.join(map(repr, included))}) looks like a "
            f"non-answer, so none is used as the reference and no impact ratio is computed; "
            f"{fix}"
        )
    for c in included:
        if ref is not None and c not in answers and rate[c] >= rate[ref]:
            msgs.append(
                f"{where}: category {c!r} (n = {counts[c]}) looks like a non-answer and is "
                f"not used as the reference although its rate ({rate[c]:.3f}) is the highest; "
                + f"the reference is {ref!r}; {fix}, or leave it out with --unknown {c!r}"
            )
    if ref is not None and counts[ref] < SMALL_N:
        msgs.append(
            f"{where}: the reference category {ref!r} (highest rate) has n = {counts[ref]}, "
            f"under {SMALL_N}: its rate is unstable and every impact ratio depends on it; "
            f"{fix}"
        )
    for m in msgs:
        warnings.warn(m, RepprofileWarning, stacklevel=4)
    if notes is not None:
        notes.extend(msgs)
    return ref


@validate_params(
    {
        "data": [str, os.PathLike, SequenceOf(Mapping, min_length=1), _DATAFRAME],
        "groups": [SequenceOf(str, min_length=1)],
        "selected": [str, None],
        "score": [str, None],
        "unknown": [SequenceOf()],
        "exclude_small": ["boolean"],
        "scales": [SequenceOf(str)],
        "reference": [str, SequenceOf(str), None],
        "join": [str, os.PathLike, SequenceOf(Mapping, min_length=1), _DATAFRAME, None],
        "id_column": [str],
    },
    must={"data": "must be a CSV path, a list of records or a pandas DataFrame"},
)
def audit(
    data: Any,
    *,
    groups: Sequence[str],
    selected: str | None = None,
    score: str | None = None,
    unknown: Sequence[str] = (),
    exclude_small: bool = False,
    scales: Sequence[str] = (),
    reference: str | Sequence[str] | None = None,
    join: Any = None,
    id_column: str = "candidate_id",
) -> AuditResult:
    """Selection (or scoring) rates and impact ratios by group and by pairs of groups.

    Parameters
    ----------
    data : CSV path, list of records or pandas DataFrame
        One row per candidate: demographic columns, and a 0/1 ``selected`` column or a
        ``score`` column (e.g. the fit), plus optional scale columns for effect sizes.
    groups : sequence of str
        Demographic columns; every pair of them also gives an intersectional table.
    selected, score : str
        The outcome column: exactly one of them.
    unknown : sequence of str
        Values meaning "unknown" besides a blank and "unknown" (any case).
    exclude_small : bool
        Leave categories under 2% of the sample out of the impact ratios (LL144 allows
        it); they are still reported with their n and rate.
    scales : sequence of str
        Score columns for standardized mean differences between groups.
    reference : str or sequence of str, optional
        The reference category of the tables it belongs to (one per group column, or an
        intersection ``"x / y"``); impact ratios, tests and effect sizes are then against
        it rather than the highest rate. A value that is no category is an error listing
        the categories present. Tables without a given reference use the highest-rate
        category that does not look like a non-answer ("prefer not to say", "declined",
        "n/a", "unspecified", ...; see :func:`looks_like_non_answer`), with a warning
        when that category has fewer than ``SMALL_N`` = 30 candidates or when a
        non-answer category had the highest rate.
    join : CSV path, list of records or pandas DataFrame, optional
        A separate demographics table joined to ``data`` by ``id_column``. Candidates of
        ``data`` with no row in it have unknown categories; ids found in only one of the
        two tables are counted and the first few named in a warning (and in
        ``result.warnings``).
    id_column : str
        The candidate id column of both tables for ``join`` (default ``candidate_id``).

    Notes
    -----
    Rate = selected / n per category (score mode: candidates scoring strictly above the
    median of all candidates' scores, LL144's scoring rate). Impact ratio = rate /
    highest included rate; below 0.8 is flagged (EEOC Uniform Guidelines, 29 CFR
    1607.4(D)), decided exactly in integers (:math:`5 s n_{ref} < 4 s_{ref} n`). Against
    the highest-rate category: the two-proportion z-test with the pooled proportion,
    Fisher's exact test (two-sided), and the selections needed to reach four-fifths,
    :math:`\\max(0, \\lceil 0.8\\, r_{max} n - s \\rceil)`. Cohen's d uses the pooled
    SD, with the Hedges & Olkin (1985) interval. Candidates whose category is unknown
    are left out of rates and impact ratios and counted per column.
    """
    if (selected is None) == (score is None):
        raise InputError("audit needs exactly one outcome: selected=COLUMN or score=COLUMN")
    notes: list[str] = []
    cols = _columns(data)
    if join is not None:
        cols = _join(cols, _columns(join), id_column, notes)
    outcome_col = selected if selected is not None else score
    assert outcome_col is not None
    for c in [*groups, outcome_col, *scales]:
        if c not in cols:
            raise InputError(
                f"the audit table has no column {c!r}; columns: {', '.join(sorted(cols))}"
            )
    n = len(cols[outcome_col])
    values, hit, median = _outcome(cols[outcome_col], outcome_col, selected is not None)
    missing_outcome = np.isnan(values)
    unknown_set = {str(u) for u in unknown}
    labels = {
        g: [
            None if missing_outcome[i] else _category(v, unknown_set) for i, v in enumerate(cols[g])
        ]
        for g in groups
    }
    unknown_counts = {
        g: sum(1 for v in cols[g] if _category(v, unknown_set) is None) for g in groups
    }
    keyed: dict[tuple[str, ...], list[str | None]] = {(g,): labels[g] for g in groups}
    for a, b in combinations(groups, 2):
        keyed[(a, b)] = _joint(labels[a], labels[b])
    given = _given_references(reference, keyed)
    tables = [
        _table(lab, hit, list(key), exclude_small, given.get(key), notes)
        for key, lab in keyed.items()
    ]
    effects = [
        _effect_sizes(t, _table_labels(t, labels), cols, scale) for t in tables for scale in scales
    ]
    return AuditResult(
        outcome="selected" if selected is not None else "score",
        tables=tables,
        unknown=unknown_counts,
        exclude_small=exclude_small,
        median_score=median,
        n=n,
        effect_sizes=effects,
        warnings=notes,
        provenance={
            "repprofile_version": __version__,
            "outcome_column": outcome_col,
            "group_columns": list(groups),
            "four_fifths": FOUR_FIFTHS,
            "small_category_share": SMALL_SHARE,
        },
    )


def _given_references(
    reference: str | Sequence[str] | None, keyed: dict[tuple[str, ...], list[str | None]]
) -> dict[tuple[str, ...], str]:
    """Which table each given reference category belongs to (an error for a category
    of no table, or for two given categories of one table)."""
    refs = [reference] if isinstance(reference, str) else list(reference or ())
    present = {key: sorted({c for c in lab if c is not None}) for key, lab in keyed.items()}
    out: dict[tuple[str, ...], str] = {}
    for ref in refs:
        keys = [k for k, cats in present.items() if ref in cats]
        if not keys:
            listing = "; ".join(
                f"{k[0]}: {', '.join(repr(c) for c in cats)}"
                for k, cats in present.items()
                if len(k) == 1
            )
            raise InputError(
                f"reference category {ref!r} is not a category of the audited columns; "
                f"categories present: {listing} (intersections are written 'x / y')"
            )
        for k in keys:
            if k in out:
                raise InputError(
                    f"two reference categories for {' x '.join(k)}: {out[k]!r} and {ref!r}"
                )
            out[k] = ref
    return out


def _join(
    left: dict[str, list[Any]], right: dict[str, list[Any]], id_column: str, notes: list[str]
) -> dict[str, list[Any]]:
    """``right``'s columns added to ``left`` by candidate id; unmatched ids reported."""
    for name, table in (("the scores table", left), ("the joined table", right)):
        if id_column not in table:
            raise InputError(
                f"{name} has no id column {id_column!r} (set it with --id-column / "
                f"id_column=); columns: {', '.join(sorted(table))}"
            )

    def ids(table: dict[str, list[Any]], name: str) -> list[str]:
        out = []
        for i, v in enumerate(table[id_column]):
            text = "" if v is None else str(v).strip()
            if not text:
                raise InputError(f"{name} row {i + 1}: the {id_column!r} is blank")
            out.append(text)
        return out

    left_ids, right_ids = ids(left, "the scores table"), ids(right, "the joined table")
    where: dict[str, int] = {}
    for i, cid in enumerate(right_ids):
        if cid in where:
            raise InputError(
                f"the joined table has candidate {cid!r} twice (rows {where[cid] + 1} and "
                f"{i + 1}); keep one row per candidate"
            )
        where[cid] = i
    left_set = set(left_ids)
    only_left = [c for c in left_ids if c not in where]
    only_right = [c for c in right_ids if c not in left_set]

    def shown(found: list[str]) -> str:
        more = f" and {len(found) - JOIN_SHOWN} more" if len(found) > JOIN_SHOWN else ""
        return ", ".join(found[:JOIN_SHOWN]) + more

    if only_left:
        notes.append(
            f"join on {id_column!r}: {len(only_left)} of {len(left_ids)} candidates in the "
            f"scores have no row in the joined table (their categories are unknown): "
            f"{shown(only_left)}"
        )
    if only_right:
        notes.append(
            f"join on {id_column!r}: {len(only_right)} of {len(right_ids)} rows of the joined "
            f"table match no candidate in the scores (not used): {shown(only_right)}"
        )
    both = [c for c in right if c != id_column and c in left]
    if both:
        notes.append(
            f"join: column(s) {', '.join(repr(c) for c in both)} are in both tables; the "
            "scores table's values are used"
        )
    for m in notes:
        warnings.warn(m, RepprofileWarning, stacklevel=4)
    out = dict(left)
    for c in right:
        if c != id_column and c not in left:
            out[c] = [None if cid not in where else right[c][where[cid]] for cid in left_ids]
    return out


def _outcome(
    column: list[Any], name: str, selection: bool
) -> tuple[
    np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.bool_]], float | None
]:
    """The outcome column as numbers, who counts as selected, and the median score.

    Selection mode: 0/1 values, 1 is selected. Score mode: selected means strictly above
    the median of all scores (LL144's scoring rate).
    """
    values = _number(column, name, "the outcome")
    if selection:
        bad = [v for v in values if not (np.isnan(v) or v in (0.0, 1.0))]
        if bad:
            raise InputError(f"column {name!r} must hold 0 or 1, got {bad[0]!r}")
        return values, values == 1.0, None
    scored = values[~np.isnan(values)]
    if scored.size == 0:
        raise InputError(f"column {name!r} has no scores")
    median = float(np.median(scored))
    return values, values > median, median  # LL144: above the median, not at it


def _joint(a: list[str | None], b: list[str | None]) -> list[str | None]:
    """Intersectional categories ``"x / y"`` (unknown when either is)."""
    return [None if x is None or y is None else f"{x} / {y}" for x, y in zip(a, b, strict=True)]


def _table_labels(t: AuditTable, labels: dict[str, list[str | None]]) -> list[str | None]:
    """Each candidate's category in a table's group column(s)."""
    if len(t.groups) == 1:
        return labels[t.groups[0]]
    return _joint(labels[t.groups[0]], labels[t.groups[1]])


def _effect_sizes(
    t: AuditTable, lab: list[str | None], cols: dict[str, list[Any]], scale: str
) -> EffectSizeTable:
    """Cohen's d of one scale for each category of a table against its reference."""
    v = _number(cols[scale], scale, "a scale score")
    by = {c.category: v[[i for i, x in enumerate(lab) if x == c.category]] for c in t.rows}
    by = {c: vals[~np.isnan(vals)] for c, vals in by.items()}
    ref = by.get(t.reference or "")
    rows = []
    for c, vals in by.items():
        d, lo, hi = _cohen_d(vals, ref) if ref is not None and c != t.reference else (None,) * 3
        rows.append(
            EffectSizeRow(
                category=c,
                n=int(vals.size),
                mean=float(vals.mean()) if vals.size else None,
                sd=float(vals.std(ddof=1)) if vals.size > 1 else None,
                d=d,
                d_ci_low=lo,
                d_ci_high=hi,
            )
        )
    return EffectSizeTable(groups=t.groups, scale=scale, reference=t.reference, rows=rows)


# --------------------------------------------------------------------------- output
