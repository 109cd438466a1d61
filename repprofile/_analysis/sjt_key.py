"""Build a situational-judgment key from subject-matter experts' effectiveness ratings.

One row per expert (``expert_id``), one column per ``ITEM.OPTION``: the consensus key is
each option's mean rating; the report gives the experts' agreement (the six intraclass
correlations on the options x experts matrix, rwg per scenario) and flags the options
and scenarios the experts should discuss before the key is used.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from repprofile._errors import InputError
from repprofile._formats.sjt_key import KEY_FORMAT, SjtKey
from repprofile._input.files import decimal_comma_number, read_table
from repprofile._util import clip, finite_or_none
from repprofile._validation import HasAttributes, Interval, validate_params
from repprofile.stats._agreement import ICC_TYPES, IccTable, icc, rwg

__all__ = ["ExpertError", "SjtKeyResult", "build_sjt_key"]

ID_COLUMN = "expert_id"


@dataclass(frozen=True)
class ExpertError:
    """A rejected expert row: who, which column, and what was wrong."""

    expert_id: str | None
    row: int
    column: str | None
    message: str


@dataclass(frozen=True)
class SjtKeyResult:
    """The key built from the experts' ratings, and the report on their agreement."""

    key: SjtKey
    n_experts: int
    agreement: IccTable | None
    rwg: dict[str, float]
    options: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    errors: list[ExpertError] = field(default_factory=list)
    sd_threshold: float = 1.0
    best_gap: float = 0.5
    n_options_icc: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (a contract: ``n_experts``, ``agreement`` with ICC1 .. ICC3k
        each ``icc, f, df1, df2, p, lower, upper``, ``rwg``, ``options``, ``flags``);
        NaN is null."""
        agreement: dict[str, Any] = {}
        for t in ICC_TYPES:
            row = self.agreement.rows[t] if self.agreement is not None else None
            agreement[t] = {
                f: (finite_or_none(getattr(row, f)) if row is not None else None)
                for f in ("icc", "f", "df1", "df2", "p", "lower", "upper")
            }
        return {
            "n_experts": self.n_experts,
            "agreement": agreement,
            "agreement_level": self.agreement.level if self.agreement is not None else 0.95,
            "agreement_n_options": self.n_options_icc,
            "rwg": {k: finite_or_none(v) for k, v in self.rwg.items()},
            "options": self.options,
            "flags": self.flags,
            "sd_threshold": self.sd_threshold,
            "best_gap": self.best_gap,
            "rejected": [
                {"expert_id": e.expert_id, "row": e.row, "column": e.column, "message": e.message}
                for e in self.errors
            ],
        }

    def to_text(self) -> str:
        """The report as plain text."""
        d = self.to_dict()
        lines = [
            f"SJT key for {self.key.questionnaire} {self.key.questionnaire_version} from "
            f"{self.n_experts} expert{'s' if self.n_experts != 1 else ''} ({self.key.source})",
            "",
            f"Agreement over {self.n_options_icc} options (intraclass correlations, "
            f"{d['agreement_level']:.0%} bounds):",
        ]
        for t, a in d["agreement"].items():
            lines.append(
                f"  {t:6s} {_fmt(a['icc'])}  F({_fmt(a['df1'], 0)}, {_fmt(a['df2'], 0)}) = "
                f"{_fmt(a['f'], 2)}  p = {_fmt(a['p'], 4)}  [{_fmt(a['lower'])}, "
                f"{_fmt(a['upper'])}]"
            )
        lines += ["", "rwg(J) per scenario (uniform null):"]
        lines += [f"  {k:12s} {_fmt(v)}" for k, v in d["rwg"].items()]
        lines += ["", "Options (mean, SD, n):"]
        for o in self.options:
            lines.append(
                f"  {o['item']}.{o['option']:8s} {_fmt(o['mean'], 2)}  {_fmt(o['sd'], 2)}  {o['n']}"
            )
        lines += ["", f"Flags ({len(self.flags)}):"]
        lines += [f"  {f['item']}.{f['option'] or '*'}: {f['reason']}" for f in self.flags]
        if self.errors:
            lines += ["", f"Rejected expert rows ({len(self.errors)}):"]
            lines += [f"  {_who(e)}: {e.message}" for e in self.errors]
        return "\n".join(lines) + "\n"

    def key_yaml(self) -> str:
        """The key file's text (YAML)."""
        import yaml

        return yaml.safe_dump(self.key.model_dump(), sort_keys=False, allow_unicode=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "NA" if value is None else f"{value:.{digits}f}"


def _who(e: ExpertError) -> str:
    return f"expert {e.expert_id!r}" if e.expert_id else f"(blank id), row {e.row}"


def _option_order(q: Any) -> list[tuple[str, str]]:
    return [(str(it.id), str(o.id)) for it in q.sjt_items for o in it.options]


def _records(ratings: Any) -> tuple[list[str], list[list[Any]], str, bool]:
    """Header, rows of raw cells, source name and whether a decimal comma is a number."""
    if isinstance(ratings, str | os.PathLike):
        table = read_table(Path(ratings), "SME ratings file")
        if not table.rows:
            raise InputError(f"{table.source}: the SME ratings file is empty")
        header = [h.strip() for h in table.rows[0]]
        rows = [r for r in table.rows[1:] if any(c.strip() for c in r)]
        return header, rows, table.source, table.decimal_comma
    columns = {str(k): list(v) for k, v in ratings.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InputError(
            f"SME ratings: every column must have one value per expert, got lengths "
            f"{sorted(lengths)}"
        )
    n = lengths.pop() if lengths else 0
    header = list(columns)
    return header, [[columns[h][r] for h in header] for r in range(n)], "SME ratings", False


def _parse_rating(cell: Any, lo: int, hi: int, decimal_comma: bool) -> float | str:
    """The rating, NaN for blank, or the expectation the cell breaks."""
    if cell is None:
        return math.nan
    if isinstance(cell, bool):
        return f"a whole number from {lo} to {hi} (or blank) is expected"
    if isinstance(cell, Real):
        value = float(cell)
    else:
        text = str(cell).strip()
        if not text or text.upper() in ("NA", "NAN"):
            return math.nan
        if decimal_comma:
            text = decimal_comma_number(text)
        try:
            value = float(text)
        except ValueError:
            return f"a whole number from {lo} to {hi} (or blank) is expected"
    if math.isnan(value):
        return math.nan
    if not (math.isfinite(value) and value.is_integer() and lo <= value <= hi):
        return f"a whole number from {lo} to {hi} (or blank) is expected"
    return value


@validate_params(
    {
        "ratings": [str, os.PathLike, Mapping],
        "questionnaire": [
            str,
            os.PathLike,
            HasAttributes("sjt_items", description="a Questionnaire with SJT items"),
        ],
        "sd_threshold": [Interval(Real, 0, None, closed="neither")],
        "best_gap": [Interval(Real, 0, None, closed="left")],
        "source": [str, None],
    }
)
def build_sjt_key(
    ratings: str | Path | Mapping[str, Sequence[Any]],
    questionnaire: Any,
    *,
    sd_threshold: float = 1.0,
    best_gap: float = 0.5,
    source: str | None = None,
) -> SjtKeyResult:
    """A consensus SJT key from subject-matter experts' effectiveness ratings.

    Parameters
    ----------
    ratings : path or mapping
        A CSV (or .xlsx) file, or a mapping column -> values, with an ``expert_id``
        column and one ``ITEM.OPTION`` column per option of the questionnaire's SJT
        items, each a whole number on the SJT rating scale (blank: not rated).
    questionnaire : Questionnaire, id or path
        The questionnaire whose SJT items the experts rated.
    sd_threshold : float
        Flag an option whose SME SD exceeds this (default 1.0, one scale point). On the
        1-6 scale that is a per-option :math:`r_{wg} = 1 - 1/(35/12) = .66`, just under
        the conventional .70 (LeBreton & Senter 2008): experts more than about a point
        apart on average have not agreed on the option's effectiveness.
    best_gap : float
        Flag a scenario whose two highest option means are less than this apart (default
        0.5, half a scale point): with about 10 experts and an SD of 1 the standard error
        of a difference of two option means is about 0.45, so a smaller gap does not
        show which option is best. The flag names the top option. Both defaults are
        rules of thumb derived this way, not published cut-offs (docs/sjt-key.md).
    source : str, optional
        Free text recorded in the key (default: the file name and number of experts).

    Returns
    -------
    SjtKeyResult
        ``.key`` (write it with ``.key_yaml()``) and ``.to_dict()`` the report.

    Notes
    -----
    Key: :math:`k_o = \\bar x_o`, the mean of the experts' ratings of option o (the
    consensus, or "mean expert", key; McDaniel & Nguyen 2001), with SD (n - 1) and the
    count of each rating value (for mode and proportion scoring; Weng, Yang, Lievens &
    McDaniel 2018). Agreement: :func:`repprofile.stats.icc` on the options x experts
    matrix of the options every accepted expert rated (ICC2/ICC2k: agreement of random
    experts including their elevation, ICC3/ICC3k: consistency), and
    :func:`repprofile.stats.rwg` per scenario over its options (J options, A scale
    values). A row with a bad rating or id is rejected with every problem named
    (expert, column, value, expectation); the other experts are kept.

    References
    ----------
    McDaniel, M. A., & Nguyen, N. T. (2001). Situational judgment tests: A review of
    practice and constructs assessed. *International Journal of Selection and
    Assessment*, 9(1-2), 103-113. https://doi.org/10.1111/1468-2389.00167

    Weng, Q., Yang, H., Lievens, F., & McDaniel, M. A. (2018). Optimizing the validity of
    situational judgment tests: The importance of scoring methods. *Journal of
    Vocational Behavior*, 104, 199-209. https://doi.org/10.1016/j.jvb.2017.11.005

    Examples
    --------
    R (agreement): ``psych::ICC(t(ratings_matrix))`` with options as rows.
    """
    if isinstance(questionnaire, str | os.PathLike):
        from repprofile._formats.questionnaire import load_questionnaire

        questionnaire = load_questionnaire(
            Path(questionnaire) if not isinstance(questionnaire, str) else questionnaire
        )
    q = questionnaire
    scale = getattr(q, "sjt_response_scale", None)
    if scale is None:
        raise InputError(f"questionnaire {getattr(q, 'id', '?')!r} has no SJT items to key")
    lo, hi = int(scale.min), int(scale.max)
    order = _option_order(q)
    if not order:
        raise InputError(f"questionnaire {getattr(q, 'id', '?')!r} has no SJT items to key")
    header, rows, src, decimal_comma = _records(ratings)

    # ---- header: expert_id, every ITEM.OPTION once, nothing else
    problems = []
    if ID_COLUMN not in header:
        problems.append(f"an {ID_COLUMN!r} column is expected")
    wanted = [f"{i}.{o}" for i, o in order]
    known = set(wanted) | {ID_COLUMN}
    unknown = [h for h in header if h not in known]
    missing = [w for w in wanted if w not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if unknown:
        problems.append(
            f"unknown columns {[clip(h) for h in unknown]}; expected {ID_COLUMN!r} and the "
            f"ITEM.OPTION columns of questionnaire {getattr(q, 'id', '?')!r}"
        )
    if missing:
        problems.append(f"missing columns {missing} (one per ITEM.OPTION is expected)")
    if twice:
        problems.append(f"columns appear twice: {twice}")
    if problems:
        raise InputError("\n".join(f"{src}: {p}" for p in problems))
    id_pos = header.index(ID_COLUMN)
    positions = [header.index(w) for w in wanted]

    # ---- rows: a bad expert row is rejected, the others kept
    errors: list[ExpertError] = []
    accepted: list[list[float]] = []
    ids: list[str] = []
    seen: set[str] = set()
    for r, row in enumerate(rows, start=2):
        cells = list(row) + [""] * (len(header) - len(row))
        raw_id = cells[id_pos]
        eid = "" if raw_id is None else str(raw_id).strip()
        if not eid:
            errors.append(ExpertError(None, r, ID_COLUMN, f"{ID_COLUMN} is blank"))
            continue
        if eid in seen:
            errors.append(
                ExpertError(eid, r, ID_COLUMN, f"expert {clip(eid)!r} appears twice; one row each")
            )
            continue
        values: list[float] = []
        bad = False
        for col, pos in zip(wanted, positions, strict=True):
            got = _parse_rating(cells[pos], lo, hi, decimal_comma)
            if isinstance(got, str):
                errors.append(
                    ExpertError(eid, r, col, f"{col}: {got}, got {clip(str(cells[pos]))!r}")
                )
                bad = True
            else:
                values.append(got)
        if bad:
            continue
        if all(math.isnan(v) for v in values):
            errors.append(ExpertError(eid, r, None, "rated no option"))
            continue
        seen.add(eid)
        ids.append(eid)
        accepted.append(values)
    if not accepted:
        detail = "".join(f"\n  {_who(e)}: {e.message}" for e in errors[:10])
        raise InputError(f"{src}: no usable expert rows{detail}")

    x: NDArray[np.float64] = np.array(accepted, dtype=np.float64)  # experts x options
    n_experts = x.shape[0]
    n = np.isfinite(x).sum(axis=0)
    unrated = [wanted[j] for j in np.flatnonzero(n == 0)]
    if unrated:
        raise InputError(f"{src}: no expert rated {unrated}; every option needs a rating")
    means = np.nansum(x, axis=0) / n
    ss = np.nansum((x - means) ** 2, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sds = np.where(n >= 2, np.sqrt(ss / (n - 1)), np.nan)  # SD (n - 1); none for one rating
    values_range = np.arange(lo, hi + 1, dtype=np.float64)
    counts = (x[:, :, None] == values_range[None, None, :]).sum(axis=0)  # options x values

    # ---- agreement
    complete = np.isfinite(x).all(axis=0)
    table: IccTable | None = None
    if complete.sum() >= 2 and n_experts >= 2:
        table = icc(x[:, complete].T)
    rwg_by_item: dict[str, float] = {}
    options_out: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    key_options: dict[str, dict[str, dict[str, Any]]] = {}
    for it in q.sjt_items:
        item = str(it.id)
        cols = [j for j, (i, _) in enumerate(order) if i == item]
        rwg_by_item[item] = rwg(x[:, cols], hi - lo + 1)
        key_options[item] = {}
        for j in cols:
            oid = order[j][1]
            sd = finite_or_none(sds[j])
            options_out.append(
                {"item": item, "option": oid, "mean": float(means[j]), "sd": sd, "n": int(n[j])}
            )
            key_options[item][oid] = {
                "mean": float(means[j]),
                "sd": sd,
                "n": int(n[j]),
                "counts": {lo + v: int(counts[j, v]) for v in range(hi - lo + 1)},
            }
            if sd is not None and sd > sd_threshold:
                flags.append(
                    {
                        "item": item,
                        "option": oid,
                        "reason": f"SME SD {sd:.2f} exceeds {sd_threshold:g}: the experts "
                        "disagree on this option's effectiveness",
                    }
                )
        ranked = sorted(cols, key=lambda j: -means[j])
        if len(ranked) >= 2 and means[ranked[0]] - means[ranked[1]] < best_gap:
            a, b = order[ranked[0]][1], order[ranked[1]][1]
            flags.append(
                {
                    "item": item,
                    "option": a,
                    "reason": f"best option not clearly best: {a} ({means[ranked[0]]:.2f}) and "
                    f"{b} ({means[ranked[1]]:.2f}) are less than {best_gap:g} apart",
                }
            )
    experts = f"{n_experts} expert{'s' if n_experts != 1 else ''}"
    if source is None:
        source = (
            f"SME ratings given as a mapping, {experts}"
            if src == "SME ratings"
            else f"SME ratings file {src}, {experts}"
        )
    key = SjtKey.model_validate(
        {
            "format": KEY_FORMAT,
            "format_version": 1,
            "questionnaire": str(getattr(q, "id", "")),
            "questionnaire_version": str(getattr(q, "version", "")),
            "source": source,
            "n_experts": n_experts,
            "rating_scale": {"min": lo, "max": hi},
            "options": key_options,
        }
    )
    return SjtKeyResult(
        key=key,
        n_experts=n_experts,
        agreement=table,
        rwg=rwg_by_item,
        options=options_out,
        flags=flags,
        errors=errors,
        sd_threshold=float(sd_threshold),
        best_gap=float(best_gap),
        n_options_icc=int(complete.sum()) if table is not None else 0,
    )
