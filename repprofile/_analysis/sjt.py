"""Scoring situational judgment test (SJT) items: the eight methods of docs/sjt.md.

Every SJT scale (each competency and the total) gets a 0-100 score in the profile's
``pomp`` field, ``raw`` as the method's unscaled points and ``n_answered`` as answered
scenarios. Everything is vectorised over candidates: the rows are cut into blocks and
each block's per-option terms are summed onto the scales with one matrix product with
the (options x scales) membership matrix.

Notation (per candidate): ``r`` a rating, ``k`` its keyed value, ``[lo, hi]`` the rating
scale, sums over the scale's answered options ``A``.

* ``distance``: pomp = 100 (1 - sum (r - k)^2 / sum max((k - lo)^2, (hi - k)^2)),
  raw = sum (r - k)^2.
* ``absolute``: pomp = 100 (1 - sum |r - k| / sum max(k - lo, hi - k)),
  raw = sum |r - k|.
* ``standardized`` (McDaniel, Psotka, Legree, Yost & Weekley 2011): ratings and key are
  z-standardised (population SD) over all options the candidate rated in the test;
  raw = sum (z_r - z_k)^2 over the scale's options, pomp = 100 (1 - raw / (4 n_A)),
  clipped to [0, 100]. On the total scale sum (z_r - z_k)^2 = 2 n (1 - r_pk), so
  pomp = 100 (1 + r_pk) / 2. A candidate without variance in their ratings (or rated
  options on which the key has none) gets null, with the reason.
* ``correlation``: per scale, r = Pearson correlation of ratings and key over its
  answered options; pomp = 100 (1 + r) / 2, raw = r.
* ``most_least``: per scenario +1 for the keyed most effective option picked as most,
  +1 for the keyed least effective picked as least, -1 for the keyed least picked as
  most, -1 for the keyed most picked as least; raw = sum, pomp = 100 (raw + 2n) / (4n).
* ``best``: raw = number of scenarios whose keyed best option was picked,
  pomp = 100 raw / n.
* ``mode`` and ``proportion`` (Weng, Yang, Lievens & McDaniel 2018), with an SME key:
  per option 1 when the rating equals a modal SME rating (``mode``), or the share of
  SMEs who gave that rating (``proportion``); raw = sum, pomp = 100 raw / n_A.

References
----------
McDaniel, M. A., Psotka, J., Legree, P. J., Yost, A. P., & Weekley, J. A. (2011).
Toward an understanding of situational judgment item validity and group differences.
*Journal of Applied Psychology*, 96(2), 327-336. https://doi.org/10.1037/a0021983

Weng, Q., Yang, H., Lievens, F., & McDaniel, M. A. (2018). Optimizing the validity of
situational judgment tests: The importance of scoring methods. *Journal of Vocational
Behavior*, 104, 199-209. https://doi.org/10.1016/j.jvb.2017.11.005
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from repprofile._errors import InputError
from repprofile._formats.questionnaire import (
    REP_TYPE_IDS,
    SJT_METHODS,
    Questionnaire,
    SjtItem,
    SjtMethod,
)
from repprofile._util import read_only


class SjtKey(Protocol):
    """What the SJT engine needs of an SME key (:class:`repprofile.SjtKey`)."""

    @property
    def n_experts(self) -> int: ...

    def check_for(self, q: Questionnaire) -> None: ...

    def means(self, q: Questionnaire) -> NDArray[np.float64]: ...

    def counts(self, q: Questionnaire) -> NDArray[np.float64]: ...


__all__ = [
    "CHOICE_METHODS",
    "RATING_METHODS",
    "SjtLayout",
    "SjtScores",
    "resolve_method",
    "score_sjt",
    "sjt_layout",
    "type_preference",
]

RATING_METHODS = ("distance", "absolute", "standardized", "correlation", "mode", "proportion")
CHOICE_METHODS = {"most_least": "most_least", "best": "best"}  # format -> its method

_BLOCK_ROWS = 1 << 12
_F32_EXACT = float(1 << 24)  # whole numbers below this are exact in float32
_FLAT_TOL = 1e-12  # a variance below this share of the squared scale range is none

# Null reasons (codes in SjtScores.reason)
_OK, _SHORT, _FLAT, _FLAT_KEY = 0, 1, 2, 3
REASONS = {
    _FLAT: "no variance in the candidate's ratings (every option rated the same): the "
    "{method} method cannot compare them with the key",
    _FLAT_KEY: "the key has no variance over the options this candidate rated: the "
    "{method} method cannot compare them",
}


@dataclass(frozen=True)
class SjtLayout:
    """Where a questionnaire's SJT answers are and how they map onto its scales."""

    response_format: str
    columns: NDArray[np.intp]  # answer columns of the SJT (in the full answer array)
    option_scenario: NDArray[np.intp]  # rate: per option column, its scenario index
    skill_scales: NDArray[np.intp]  # positions of the skill scales in scale_ids
    membership: NDArray[np.float64]  # rate: (options x skill scales); choice: (scen x skill)
    key: NDArray[np.float64] | None  # rate: keyed value per option; None when unkeyed
    keyed_most: NDArray[np.float64] | None  # choice: 1-based position of the keyed best
    keyed_least: NDArray[np.float64] | None  # most_least: 1-based keyed least
    n_options: NDArray[np.intp]  # per scenario
    option_type: NDArray[np.intp]  # rate: per option column, its type (-1: untyped)
    choice_type: NDArray[np.intp]  # choice: (scenarios x max options) type, -1 none
    lo: float
    hi: float
    scenario_onehot: NDArray[np.float64]  # rate: (options x scenarios)
    scenario_scales: NDArray[np.float64]  # (scenarios x skill scales)


_LAYOUTS: dict[int, tuple[Questionnaire, SjtLayout]] = {}  # id(q) -> (q kept alive, layout)


def _layout_cached(q: Questionnaire) -> SjtLayout:
    hit = _LAYOUTS.get(id(q))
    if hit is not None and hit[0] is q:
        return hit[1]
    layout = _layout(q, None)
    if len(_LAYOUTS) >= 32:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))
    _LAYOUTS[id(q)] = (q, layout)
    return layout


def _layout(q: Questionnaire, key: SjtKey | None) -> SjtLayout:
    items = q.sjt_items
    formats = {it.response_format for it in items}
    if len(formats) > 1:
        raise InputError(
            f"questionnaire {q.id!r} mixes SJT response formats {sorted(formats)}; expected "
            "one response_format for all its SJT items"
        )
    fmt = formats.pop()
    rs = q.sjt_response_scale
    assert rs is not None
    skill = np.flatnonzero(q.skill_mask).astype(np.intp)
    member = q.scenario_membership[skill].T.astype(np.float64)  # scenarios x skill
    types = list(REP_TYPE_IDS)
    n_opt = np.array([len(it.options) for it in items], dtype=np.intp)
    choice_type = np.full((len(items), int(n_opt.max())), -1, dtype=np.intp)
    for t, it in enumerate(items):
        for j, o in enumerate(it.options):
            if o.type is not None and o.type in types:
                choice_type[t, j] = types.index(o.type)
    columns = q.sjt_columns
    if fmt == "rate":
        option_scenario = np.repeat(np.arange(len(items), dtype=np.intp), n_opt)
        option_type = choice_type[option_scenario, _option_pos(n_opt)]
        onehot = np.zeros((option_scenario.size, len(items)))
        onehot[np.arange(option_scenario.size), option_scenario] = 1.0
        keys = _option_keys(q, key)
        return SjtLayout(
            fmt,
            columns,
            read_only(option_scenario),
            skill,
            read_only(member[option_scenario]),
            keys,
            None,
            None,
            n_opt,
            read_only(option_type),
            read_only(choice_type),
            float(rs.min),
            float(rs.max),
            read_only(onehot),
            read_only(member),
        )
    keys = _option_keys(q, key)
    most = least = None
    if keys is not None:
        most, least = _keyed_extremes(items, keys, n_opt, fmt)
    return SjtLayout(
        fmt,
        columns,
        np.empty(0, dtype=np.intp),
        skill,
        read_only(member),
        keys,
        most,
        least,
        n_opt,
        np.empty(0, dtype=np.intp),
        read_only(choice_type),
        float(rs.min),
        float(rs.max),
        np.empty((0, len(items))),
        read_only(member),
    )


def _option_pos(n_opt: NDArray[np.intp]) -> NDArray[np.intp]:
    """Per option (all scenarios, in order), its position within its scenario."""
    starts = np.repeat(np.cumsum(n_opt) - n_opt, n_opt)
    return np.arange(int(n_opt.sum()), dtype=np.intp) - starts


def _option_keys(q: Questionnaire, key: SjtKey | None) -> NDArray[np.float64] | None:
    if key is not None:
        return read_only(np.asarray(key.means(q), dtype=np.float64))
    values = [o.key for it in q.sjt_items for o in it.options]
    if any(v is None for v in values):
        return None
    return read_only(np.array(values, dtype=np.float64))


def _keyed_extremes(
    items: tuple[SjtItem, ...], keys: NDArray[np.float64], n_opt: NDArray[np.intp], fmt: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """1-based positions of the keyed most and least effective option per scenario."""
    most = np.empty(len(items))
    least = np.empty(len(items))
    start = 0
    for t, it in enumerate(items):
        k = keys[start : start + n_opt[t]]
        start += int(n_opt[t])
        for arr, pick, word in ((most, k.max(), "most"), (least, k.min(), "least")):
            if word == "least" and fmt == "best":
                arr[t] = np.nan
                continue
            hits = np.flatnonzero(k == pick)
            if hits.size > 1:
                ids = [it.options[h].id for h in hits]
                raise InputError(
                    f"item {it.id!r}: options {ids} share the keyed {word} effective value "
                    f"{pick:g}; the {fmt} format needs one keyed {word} effective option"
                )
            arr[t] = hits[0] + 1
    return read_only(most), read_only(least)


def sjt_layout(q: Questionnaire, key: SjtKey | None = None) -> SjtLayout:
    """The SJT layout of a questionnaire (cached per questionnaire and key)."""
    if key is None:
        return _layout_cached(q)
    key.check_for(q)
    return _layout(q, key)


def resolve_method(q: Questionnaire, method: str | None, key: SjtKey | None) -> SjtMethod:
    """The method to use: the call's, else the questionnaire's default; checked against
    the items' response format and the key."""
    layout = sjt_layout(q, key)
    fmt = layout.response_format
    if method is None:
        method = q.sjt_method if fmt == "rate" else CHOICE_METHODS[fmt]
        if fmt == "rate" and method not in RATING_METHODS:
            method = "standardized"
    if method not in SJT_METHODS:
        raise InputError(
            f"The 'sjt_method' parameter of score must be one of {list(SJT_METHODS)}, "
            f"got {method!r} instead."
        )
    allowed = RATING_METHODS if fmt == "rate" else (CHOICE_METHODS[fmt],)
    if method not in allowed:
        raise InputError(
            f"The 'sjt_method' parameter of score must be one of {list(allowed)} for the "
            f"{fmt!r} items of {q.id!r}, got {method!r} instead."
        )
    if method in ("mode", "proportion") and (key is None or key.n_experts < 1):
        raise InputError(
            f"The {method!r} SJT method needs an SME key with the experts' rating counts "
            "(sjt_key= or --sjt-key key.yaml, built by `repprofile sjt key build`)."
        )
    if layout.key is None:
        unkeyed = [f"{it.id}.{o.id}" for it in q.sjt_items for o in it.options if o.key is None]
        shown = ", ".join(unkeyed[:5]) + (
            f" and {len(unkeyed) - 5} more" if len(unkeyed) > 5 else ""
        )
        raise InputError(
            f"questionnaire {q.id!r} has SJT options without a 'key' ({shown}); give them "
            "a key in the file or give an SME key (sjt_key= or --sjt-key key.yaml)"
        )
    return method  # type: ignore[return-value]


@dataclass(frozen=True)
class SjtScores:
    """Per candidate and skill scale: pomp, raw, answered scenarios and a null reason."""

    method: str
    pomp: NDArray[np.float64]
    raw: NDArray[np.float64]
    n_answered: NDArray[np.int32]
    reason: NDArray[np.int8]
    bad_rows: NDArray[np.intp]
    bad_cols: NDArray[np.intp]  # positions in the full answer array
    bad_kind: NDArray[np.int8]  # 0 outside the scale, 1 not whole, 2 most == least


def score_sjt(
    values: NDArray[np.floating[Any]],
    q: Questionnaire,
    method: SjtMethod,
    key: SjtKey | None = None,
) -> SjtScores:
    """Score the SJT columns of an answer array (rows: candidates; columns: q.item_ids).

    See the module docstring for every method's formula and source. The caller's array
    is never written (each block is read into a reused float64 buffer).
    """
    layout = sjt_layout(q, key)
    n = values.shape[0]
    s = layout.skill_scales.size
    pomp = np.empty((n, s))
    raw = np.empty((n, s))
    n_ans = np.empty((n, s), dtype=np.int32)
    reason = np.zeros((n, s), dtype=np.int8)
    bad: list[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int8]]] = []
    counts = key.counts(q) if key is not None and method in ("mode", "proportion") else None
    if layout.response_format == "rate":
        rs = q.sjt_response_scale
        assert rs is not None
        kernel = _RateKernel(layout, method, counts, min(n, _BLOCK_ROWS), rs.integers)
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(n, start + _BLOCK_ROWS)
            sl = slice(start, stop)
            bad.append(kernel.block(values, start, stop, pomp[sl], raw[sl], n_ans[sl], reason[sl]))
    else:
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(n, start + _BLOCK_ROWS)
            x = _block(values, start, stop, layout.columns)
            sl = slice(start, stop)
            bad.append(_check_choices(x, layout, start))
            _choice_block(x, layout, pomp[sl], raw[sl], n_ans[sl])
    br = np.concatenate([b[0] for b in bad]) if bad else np.empty(0, dtype=np.intp)
    bc = np.concatenate([b[1] for b in bad]) if bad else np.empty(0, dtype=np.intp)
    bk = np.concatenate([b[2] for b in bad]) if bad else np.empty(0, dtype=np.int8)
    return SjtScores(method, pomp, raw, n_ans, reason, br, bc, bk)


class _RateKernel:
    """Scores blocks of ``rate`` answers with buffers reused from block to block.

    Per block: one pass reads the answers (rounded to whole numbers on an integer
    scale; a cell where the rounded value differs from the answer is missing or
    fractional), one min/max pass finds ratings outside the scale; every missing or
    rejected cell is then filled with a neutral value (0, or the option's key for the
    distances) so that one product with the (options x scales) matrix gives the sums
    over the answered options. Sums that depend only on which options were answered
    (counts, key moments, worst distances) are the column sums minus the missing
    cells' share, summed per row from the (few, sorted) missing cells.

    On an integer scale whose sums of squared ratings stay below 2**24 the ratings are
    held as float32 and the moment sums (sum x, sum x^2, sum x k) are float32 matrix
    products: every term and partial sum is a whole number below 2**24, so the sums
    are exact whatever the order of summation. The key is written as whole numbers
    over one divisor (keys in tenths, SME means) or as power-of-two pieces
    (:func:`_exact_pieces`), so that sum x k is the exact sum divided once; the mode /
    proportion table likewise (0/1, or SME counts over the number of experts). Results
    are the same for float32 and float64 answers, and equal the float64 formulas to
    about 1e-13. The moment methods work on (scales x rows) arrays, whose element-wise
    operations run over contiguous rows instead of a few scales at a time.
    """

    def __init__(
        self,
        layout: SjtLayout,
        method: str,
        counts: NDArray[np.float64] | None,
        rows: int,
        integers: bool,
    ) -> None:
        k = layout.key
        assert k is not None
        self.layout, self.method, self.integers = layout, method, integers
        self.k = k
        w = layout.membership
        p, s = w.shape
        self.s = s
        lo, hi = layout.lo, layout.hi
        xmax = max(abs(lo), abs(hi))
        split: tuple[int, list[tuple[float, NDArray[np.float64]]]] | None = None
        f32 = integers and p * xmax * xmax < _F32_EXACT
        if f32 and method in ("standardized", "correlation"):
            split = _exact_pieces(k, xmax * p)
            f32 = split is not None
        self.divisor, pieces = split if split is not None else (1, [(1.0, k)])
        self.f32 = f32
        dtype = np.float32 if f32 else np.float64
        self.buf = np.empty((rows, p), dtype=dtype)
        self.tmp = np.empty((rows, p))
        self.neq = np.empty((rows, p), dtype=bool)
        ones = np.ones((p, 1))
        kc = k[:, None]
        if method == "distance":
            extra = [np.maximum((k - lo) ** 2, (hi - k) ** 2)[:, None] * w]
        elif method == "absolute":
            extra = [np.maximum(k - lo, hi - k)[:, None] * w]
        elif method in ("mode", "proportion"):
            extra = [w]
            assert counts is not None
            if method == "mode":
                table = (counts == counts.max(axis=1, keepdims=True)).astype(np.float64)
            else:
                table = counts / counts.sum(axis=1, keepdims=True)
            levels = table.shape[1]
            self.table = np.ascontiguousarray(table).reshape(-1)
            self.base = np.arange(p, dtype=np.intp) * levels
            # float32: the table as whole numbers over one divisor (mode: 0/1, proportion:
            # counts over the number of experts), so that the product with the 0/1
            # membership is exact; the row index of each cell comes from x + j L - lo.
            cut = _exact_pieces(self.table, float(p)) if f32 else None
            self.table_div = 0.0  # 0: float64 (table values not exact in one piece)
            if cut is not None and len(cut[1]) == 1 and cut[1][0][0] == 1.0:
                self.table_div = float(cut[0])
                self.table32 = cut[1][0][1].astype(np.float32)
                self.offset32 = (self.base - lo).astype(np.float32)
                self.idx = np.empty((rows, p), dtype=np.intp)
                self.hit32 = np.empty((rows, p), dtype=np.float32)
                self.w32 = w.astype(np.float32)
        else:  # moments over the answered options: n, sum k, sum k^2 per scale (and all)
            total = method == "standardized"
            extra = [w, kc * w, (kc * kc) * w, *([ones, kc, kc * kc] if total else [])]
            # (rows of) sum x per scale, sum x * piece per scale, (sum x over all options)
            self.scales = [scale for scale, _ in pieces]
            right_x = [w, *(c[:, None] * w for _, c in pieces), *([ones] if total else [])]
            self.right_x_t = np.ascontiguousarray(np.hstack(right_x).T, dtype=dtype)
            right_xx = [w, *([ones] if total else [])]
            self.right_xx_t = np.ascontiguousarray(np.hstack(right_xx).T, dtype=dtype)
            self.sq = np.empty((rows, p), dtype=dtype)
        self.answered_right = np.hstack(extra)
        self.answered_right_t = np.ascontiguousarray(self.answered_right.T)
        self.scenarios_per_scale = layout.scenario_scales.sum(axis=0).astype(np.int32)

    def block(
        self,
        values: NDArray[np.floating[Any]],
        start: int,
        stop: int,
        pomp: NDArray[np.float64],
        raw: NDArray[np.float64],
        n_ans: NDArray[np.int32],
        reason: NDArray[np.int8],
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int8]]:
        layout = self.layout
        m = stop - start
        x = self.buf[:m]
        flat_x = x.reshape(-1)
        p = x.shape[1]
        columns = layout.columns
        c0 = int(columns[0])
        if np.array_equal(columns, np.arange(c0, c0 + p)):
            chunk = values[start:stop, c0 : c0 + p]
        else:
            chunk = values[start:stop][:, columns]
        e = self.neq[:m]
        if self.integers:
            with np.errstate(over="ignore"):  # float32: a huge rating becomes inf
                np.rint(chunk, out=x, casting="unsafe")
            np.not_equal(x, chunk, out=e)  # True where missing (NaN), fractional (or huge)
        else:
            np.copyto(x, chunk, casting="unsafe")
            np.isnan(x, out=e)
        odd = np.flatnonzero(e)  # few: missing or fractional cells
        lo, hi = layout.lo, layout.hi
        outside = odd[:0]
        if self.integers:
            given = np.asarray(chunk).reshape(-1)[odd] if chunk.flags.c_contiguous else None
            if given is None:
                rr, cc = np.divmod(odd, p)
                given = np.asarray(chunk)[rr, cc]
            given = given.astype(np.float64)
            whole = np.rint(given) == given  # a whole number float32 cannot hold: outside
            fractional = odd[~np.isnan(given) & ~whole]
            outside = odd[whole]
        else:
            fractional = odd[:0]
        flat_x[odd] = lo  # neutral for the range check
        if x.max() > hi or x.min() < lo:  # rare: find the ratings outside the scale
            outside = np.union1d(outside, np.flatnonzero((x > hi) | (x < lo)))
        if outside.size or fractional.size:
            rejected = np.union1d(outside, fractional)
            kind = (~np.isin(rejected, outside)).astype(np.int8)  # 0 outside, 1 not whole
            missing = np.union1d(odd, outside)
            rr, cc = np.divmod(rejected, p)
            bad = (rr + start, columns[cc], kind)
        else:
            missing = odd
            empty = np.empty(0, dtype=np.intp)
            bad = (empty, empty, np.empty(0, dtype=np.int8))
        self._score(x, missing, pomp, raw, n_ans, reason)
        return bad

    def _score(
        self,
        x: NDArray[np.floating[Any]],
        missing: NDArray[np.intp],
        pomp: NDArray[np.float64],
        raw: NDArray[np.float64],
        n_ans: NDArray[np.int32],
        reason: NDArray[np.int8],
    ) -> None:
        layout, method, k = self.layout, self.method, self.k
        m, p = x.shape
        flat_x = x.reshape(-1)
        w = layout.membership
        n_ans[...] = self.scenarios_per_scale
        _drop_unanswered_scenarios(missing, p, layout, n_ans)
        t = self.tmp[:m]
        with np.errstate(invalid="ignore", divide="ignore"):
            if method in ("distance", "absolute"):
                got = _answered_sums(m, missing, p, self.answered_right)
                flat_x[missing] = 0.0
                np.subtract(x, k, out=t)
                t.reshape(-1)[missing] = 0.0  # a missing option adds no distance
                if method == "distance":
                    np.multiply(t, t, out=t)
                else:
                    np.abs(t, out=t)
                np.matmul(t, w, out=raw)
                pomp[...] = 100.0 * (1.0 - raw / got)
            elif method in ("mode", "proportion"):
                got = _answered_sums(m, missing, p, self.answered_right)
                flat_x[missing] = layout.lo  # index 0; the hit is zeroed below
                if self.table_div:
                    np.add(x, self.offset32, out=x)  # x is not read again
                    idx = self.idx[:m]
                    np.copyto(idx, x, casting="unsafe")
                    hit32 = self.hit32[:m]
                    np.take(self.table32, idx, out=hit32)
                    hit32.reshape(-1)[missing] = 0.0
                    raw[...] = hit32 @ self.w32
                    if self.table_div != 1.0:
                        raw /= self.table_div
                    pomp[...] = 100.0 * raw / got
                    _short_to_nan(pomp, raw, n_ans, reason)
                    return
                idx = (x - layout.lo).astype(np.intp)
                idx += self.base
                hit = self.table[idx]
                hit.reshape(-1)[missing] = 0.0
                np.matmul(hit, w, out=raw)
                pomp[...] = 100.0 * raw / got
            else:
                self._moments(x, missing, pomp, raw, reason)
        _short_to_nan(pomp, raw, n_ans, reason)

    def _moments(
        self,
        x: NDArray[np.floating[Any]],
        missing: NDArray[np.intp],
        pomp: NDArray[np.float64],
        raw: NDArray[np.float64],
        reason: NDArray[np.int8],
    ) -> None:
        """standardized and correlation from moment sums, as (scales x rows) arrays."""
        m, p = x.shape
        s = self.s
        x.reshape(-1)[missing] = 0.0
        kmom = _answered_sums_t(m, missing, p, self.answered_right_t)
        sums_x = np.matmul(self.right_x_t, x.T)
        sq = self.sq[:m]
        np.multiply(x, x, out=sq)
        sums_xx = np.matmul(self.right_xx_t, sq.T)
        sx_s = sums_x[:s].astype(np.float64)
        sxx_s = sums_xx[:s].astype(np.float64)
        sxk_s = np.zeros((s, m))
        for i, scale in enumerate(self.scales):  # largest piece first
            part = sums_x[(i + 1) * s : (i + 2) * s].astype(np.float64)
            if scale != 1.0:
                part *= scale  # a power of two: exact
            sxk_s += part
        if self.divisor != 1:
            sxk_s /= self.divisor
        n_s, sk_s, skk_s = kmom[:s], kmom[s : 2 * s], kmom[2 * s : 3 * s]
        raw_t = np.empty((s, m))
        pomp_t = np.empty((s, m))
        layout = self.layout
        if self.method == "correlation":
            vx, vk = _correlation_t(n_s, sx_s, sxx_s, sxk_s, sk_s, skk_s, pomp_t, raw_t)
            raw[...] = raw_t.T
            pomp[...] = pomp_t.T
            tol_s = _FLAT_TOL * (layout.hi - layout.lo) ** 2
            bound = tol_s * p * p  # n_s <= p: a cell above it is not flat
            for code, v in ((_FLAT, vx), (_FLAT_KEY, vk)):
                cand = np.flatnonzero(v <= bound)
                if not cand.size:
                    continue
                ns = n_s.reshape(-1)[cand]
                hit = (v.reshape(-1)[cand] <= tol_s * ns * ns) & (ns > 0)
                if code == _FLAT_KEY:  # a flat candidate's own reason comes first
                    vxc = vx.reshape(-1)[cand]
                    hit &= ~(vxc <= tol_s * ns * ns)
                cells = cand[hit]
                if cells.size:
                    sc, rr = np.divmod(cells, m)
                    pomp[rr, sc] = np.nan
                    raw[rr, sc] = np.nan
                    reason[rr, sc] = code
            return
        tot = 3 * s
        n, sx, sxx = kmom[tot], sums_x[-1].astype(np.float64), sums_xx[-1].astype(np.float64)
        sk, skk = kmom[tot + 1], kmom[tot + 2]
        _standardized_t(n_s, sx_s, sxx_s, sxk_s, sk_s, skk_s, n, sx, sxx, sk, skk, pomp_t, raw_t)
        raw[...] = raw_t.T
        pomp[...] = pomp_t.T
        with np.errstate(invalid="ignore", divide="ignore"):
            mr, mk = sx / n, sk / n
            vr = np.maximum(sxx / n - mr * mr, 0.0)
            vk_ = np.maximum(skk / n - mk * mk, 0.0)
        tol = _FLAT_TOL * (layout.hi - layout.lo) ** 2
        rated = n > 0
        flat = rated & (vr <= tol)
        flat_key = rated & ~flat & (vk_ <= tol)
        _null_rows(flat, _FLAT, pomp, raw, reason)
        _null_rows(flat_key, _FLAT_KEY, pomp, raw, reason)


def _drop_unanswered_scenarios(
    missing: NDArray[np.intp], n_options: int, layout: SjtLayout, n_ans: NDArray[np.int32]
) -> None:
    """Subtract, per row, the scenarios whose options are all missing from ``n_ans``
    (which starts at every scale's scenario count)."""
    if not missing.size:
        return
    rr, cc = np.divmod(missing, n_options)
    n_scen = layout.n_options.size
    cell = rr * n_scen + layout.option_scenario[cc]  # sorted: missing is sorted
    g = int(layout.n_options.min()) - 1  # a whole scenario is a run of > g equal cells
    if g > 0 and not (cell.size > g and bool(np.any(cell[g:] == cell[:-g]))):
        return  # the common case: no scenario has all its options missing
    first = np.flatnonzero(np.diff(cell, prepend=-1))
    size = np.diff(np.append(first, cell.size))
    scen = cell[first] % n_scen
    whole = size == layout.n_options[scen]
    if whole.any():
        rows = cell[first][whole] // n_scen
        np.subtract.at(n_ans, rows, layout.scenario_scales[scen[whole]].astype(np.int32))


def _answered_sums(
    m: int, missing: NDArray[np.intp], n_options: int, right: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``answered @ right`` for a block of ``m`` rows whose missing cells are the sorted
    flat indices ``missing`` (few): the column sums of ``right`` minus the product of
    the sparse (rows x options) indicator of the missing cells with ``right``."""
    out = np.empty((m, right.shape[1]))
    out[...] = right.sum(axis=0)
    if missing.size:
        rr, cc = np.divmod(missing, n_options)
        indptr = np.searchsorted(rr, np.arange(m + 1))  # rr is sorted
        miss = sparse.csr_array((np.ones(rr.size), cc, indptr), shape=(m, n_options))
        out -= miss @ right
    return out


def type_preference(values: NDArray[np.floating[Any]], q: Questionnaire) -> NDArray[np.float64]:
    """Rep-type preferences shown in the SJT, shape (n, 7) in :data:`REP_TYPE_IDS` order.

    ``rate``: per type, the mean within-person z (population SD over every option the
    candidate rated) of the ratings given to that type's options. ``most_least``: the
    scenarios where the type's option was picked as most effective minus those where
    it was picked as least (``best``: picks as best). NaN for a type without options
    or a candidate without variance in their ratings. Answers that are not valid
    ratings or choices count as missing.
    """
    layout = sjt_layout(q)
    n = values.shape[0]
    pref = np.full((n, len(REP_TYPE_IDS)), np.nan)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(n, start + _BLOCK_ROWS)
        x = _block(values, start, stop, layout.columns)
        if layout.response_format == "rate":
            _check_ratings(x, layout, q, start)
            _rate_preference(x, layout, pref[start:stop])
        else:
            _check_choices(x, layout, start)
            _choice_preference(x, layout, pref[start:stop])
    return pref


def _block(
    values: NDArray[np.floating[Any]], start: int, stop: int, columns: NDArray[np.intp]
) -> NDArray[np.float64]:
    """A fresh C-ordered float64 copy of the SJT columns of rows ``start:stop`` (the
    kernels work on it in place; the caller's array is never written)."""
    c0 = int(columns[0])
    if np.array_equal(columns, np.arange(c0, c0 + columns.size)):
        part = values[start:stop, c0 : c0 + columns.size]
    else:
        part = values[start:stop][:, columns]
    return np.array(part, dtype=np.float64, order="C", copy=True)


def _check_ratings(
    x: NDArray[np.float64], layout: SjtLayout, q: Questionnaire, start: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int8]]:
    """Ratings outside the rating scale or not whole: their cells (then set to NaN).

    Two passes in the common case: ``rint`` differs from the value exactly where it is
    missing or fractional, and the NaN-ignoring max and min find any rating outside."""
    rs = q.sjt_response_scale
    assert rs is not None
    flat_x = x.reshape(-1)
    if rs.integers:
        odd = np.flatnonzero(np.rint(x) != x)  # NaN or fractional: few
        fractional = odd[~np.isnan(flat_x[odd])]
    else:
        fractional = np.empty(0, dtype=np.intp)
    hi = float(np.fmax.reduce(flat_x)) if flat_x.size else layout.lo
    lo = float(np.fmin.reduce(flat_x)) if flat_x.size else layout.lo
    with np.errstate(invalid="ignore"):
        outside = (
            np.flatnonzero((x < layout.lo) | (x > layout.hi))
            if (hi > layout.hi or lo < layout.lo)
            else np.empty(0, dtype=np.intp)
        )
    if not (fractional.size or outside.size):
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0, dtype=np.int8)
    cells = np.union1d(outside, fractional)
    kind = (~np.isin(cells, outside)).astype(np.int8)  # 0 outside, 1 not whole
    flat_x[cells] = np.nan
    rr, cc = np.divmod(cells, x.shape[1])
    return rr + start, layout.columns[cc], kind


def _check_choices(
    x: NDArray[np.float64], layout: SjtLayout, start: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int8]]:
    """Choices that are not an option's position (1..n_options), and most == least."""
    per_col = np.repeat(layout.n_options, x.shape[1] // layout.n_options.size)
    with np.errstate(invalid="ignore"):
        bad = ((x < 1) | (x > per_col) | (x != np.rint(x))) & ~np.isnan(x)
    rr, cc = np.nonzero(bad)
    kind = np.zeros(rr.size, dtype=np.int8)
    x[bad] = np.nan
    if layout.response_format == "most_least":
        with np.errstate(invalid="ignore"):
            same = x[:, 0::2] == x[:, 1::2]
        sr, sc = np.nonzero(same)
        rr = np.concatenate([rr, sr])
        cc = np.concatenate([cc, 2 * sc + 1])
        kind = np.concatenate([kind, np.full(sr.size, 2, dtype=np.int8)])
        x[sr, 2 * sc] = np.nan
        x[sr, 2 * sc + 1] = np.nan
    return rr + start, layout.columns[cc], kind


def _short_to_nan(
    pomp: NDArray[np.float64],
    raw: NDArray[np.float64],
    n_ans: NDArray[np.int32],
    reason: NDArray[np.int8] | None = None,
) -> None:
    none = n_ans == 0
    pomp[none] = np.nan
    raw[none] = np.nan
    if reason is not None:
        reason[none] = _SHORT


def _exact_pieces(
    v: NDArray[np.float64], bound: float
) -> tuple[int, list[tuple[float, NDArray[np.float64]]]] | None:
    """Whole numbers that give ``v`` in float32 products without rounding.

    Returns ``(d, [(2**-e_i, c_i), ...])`` with whole-number vectors ``c_i`` and
    ``v = sum_i 2**-e_i c_i / d``, where ``bound * max |c_i| < 2**24``: a float32
    product of whole numbers ``x`` with ``sum_j |x_j| <= bound`` and a piece ``c_i`` is
    exact. First a divisor: the smallest ``d <= 1000`` with ``v`` the doubles nearest
    to ``c / d`` (keys in tenths, SME means over ``d`` experts: one piece); else the
    binary digits of ``v`` in up to six pieces. None when neither reaches ``v`` (the
    caller then works in float64)."""
    cmax = np.floor((_F32_EXACT - 1) / bound)
    if cmax < 1:
        return None
    top = float(np.abs(v).max()) if v.size else 0.0
    for d in range(1, 1 + min(1000, int(cmax / max(top, 1.0)))):
        c = np.rint(v * d)
        if np.array_equal(c / d, v):
            return d, [(1.0, c)]
    pieces: list[tuple[float, NDArray[np.float64]]] = []
    rest = np.array(v, dtype=np.float64)
    for _ in range(6):
        top = float(np.abs(rest).max()) if rest.size else 0.0
        if top == 0.0:
            return 1, pieces
        if not np.isfinite(top):
            return None
        e = int(np.floor(np.log2(cmax / top)))
        c = np.rint(np.ldexp(rest, e))
        if float(np.abs(c).max()) > cmax:  # log2 rounding: one step down
            e -= 1
            c = np.rint(np.ldexp(rest, e))
        part = np.ldexp(c, -e)
        pieces.append((float(np.ldexp(1.0, -e)), c))
        rest = rest - part  # exact (Sterbenz): part is rest rounded to a coarser grid
    return (1, pieces) if not np.abs(rest).max() else None


def _answered_sums_t(
    m: int, missing: NDArray[np.intp], n_options: int, right_t: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``(answered @ right_t.T).T``, shape (columns x rows): :func:`_answered_sums`
    with rows and columns swapped."""
    out = np.empty((right_t.shape[0], m))
    out[...] = right_t.sum(axis=1)[:, None]
    if missing.size:
        rr, cc = np.divmod(missing, n_options)
        indptr = np.searchsorted(rr, np.arange(m + 1))  # rr is sorted
        miss = sparse.csr_array((np.ones(rr.size), cc, indptr), shape=(m, n_options))
        out -= (miss @ right_t.T).T
    return out


def _correlation_t(
    n_s: NDArray[np.float64],
    sx_s: NDArray[np.float64],
    sxx_s: NDArray[np.float64],
    sxk_s: NDArray[np.float64],
    sk_s: NDArray[np.float64],
    skk_s: NDArray[np.float64],
    pomp: NDArray[np.float64],
    raw: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per scale the Pearson correlation of ratings and key from the moment sums over
    the answered options (every array scales x rows):
    r = (n sxk - sx sk) / sqrt((n sxx - sx^2) (n skk - sk^2)), raw = r clipped to
    [-1, 1], pomp = 100 (1 + r) / 2 (computed as 50 (1 + r), the same number: halving
    is exact). Returns the two variance terms n sxx - sx^2 and n skk - sk^2."""
    tmp = np.empty_like(raw)
    vx = n_s * sxx_s
    np.multiply(sx_s, sx_s, out=tmp)
    vx -= tmp
    vk = n_s * skk_s
    np.multiply(sk_s, sk_s, out=tmp)
    vk -= tmp
    cov = n_s * sxk_s
    np.multiply(sx_s, sk_s, out=tmp)
    cov -= tmp
    with np.errstate(invalid="ignore", divide="ignore"):
        np.multiply(vx, vk, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(cov, tmp, out=cov)
    np.clip(cov, -1.0, 1.0, out=raw)
    np.add(raw, 1.0, out=pomp)
    np.multiply(pomp, 50.0, out=pomp)
    return vx, vk


def _standardized_t(
    n_s: NDArray[np.float64],
    sx_s: NDArray[np.float64],
    sxx_s: NDArray[np.float64],
    sxk_s: NDArray[np.float64],
    sk_s: NDArray[np.float64],
    skk_s: NDArray[np.float64],
    n: NDArray[np.float64],
    sx: NDArray[np.float64],
    sxx: NDArray[np.float64],
    sk: NDArray[np.float64],
    skk: NDArray[np.float64],
    pomp: NDArray[np.float64],
    raw: NDArray[np.float64],
) -> None:
    """standardized from the moment sums (per-scale arrays scales x rows; ``n .. skk``
    per row over every option the candidate rated).

    z over every option the candidate rated (population SD). With z_r = (x - mr) / sr
    and z_k = (k - mk) / sk, sum (z_r - z_k)^2 over a scale is
    a sxx + b skk - 2 c sxk + (2 c mk - 2 a mr) sx + (2 c mr - 2 b mk) sk
    + (a mr^2 + b mk^2 - 2 c mr mk) n, with a = 1 / sr^2, b = 1 / sk^2, c = 1 / (sr sk)
    per candidate; pomp = 100 (1 - raw / (4 n_A)) clipped to [0, 100]."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mr, mk = sx / n, sk / n
        vr = np.maximum(sxx / n - mr * mr, 0.0)
        vk_ = np.maximum(skk / n - mk * mk, 0.0)
        a, b = 1.0 / vr, 1.0 / vk_
        c = 1.0 / np.sqrt(vr * vk_)
        terms = (
            (skk_s, b),
            (sxk_s, -2.0 * c),
            (sx_s, 2.0 * (c * mk - a * mr)),
            (sk_s, 2.0 * (c * mr - b * mk)),
            (n_s, a * mr * mr + b * mk * mk - 2.0 * c * mr * mk),
        )
        np.multiply(sxx_s, a, out=raw)
        tmp = np.empty_like(raw)
        for sums, coef in terms:
            np.multiply(sums, coef, out=tmp)
            raw += tmp
        np.maximum(raw, 0.0, out=raw)
        np.multiply(n_s, 4.0, out=tmp)
        np.divide(raw, tmp, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        np.multiply(tmp, 100.0, out=pomp)
        np.maximum(pomp, 0.0, out=pomp)  # clipped to [0, 100]: raw >= 0 keeps it <= 100


def _null_rows(
    rows: NDArray[np.bool_],
    code: int,
    pomp: NDArray[np.float64],
    raw: NDArray[np.float64],
    reason: NDArray[np.int8],
) -> None:
    if not rows.any():  # the common case: nothing to null
        return
    pomp[rows] = np.nan
    raw[rows] = np.nan
    reason[rows] = code


def _choice_block(
    x: NDArray[np.float64],
    layout: SjtLayout,
    pomp: NDArray[np.float64],
    raw: NDArray[np.float64],
    n_ans: NDArray[np.int32],
) -> None:
    """One block of ``most_least`` or ``best`` answers."""
    w = layout.membership  # scenarios x skill scales
    km = layout.keyed_most
    assert km is not None
    if layout.response_format == "most_least":
        kl = layout.keyed_least
        assert kl is not None
        most, least = x[:, 0::2], x[:, 1::2]
        answered = ~np.isnan(most) & ~np.isnan(least)
        pts = (
            (most == km).astype(np.float64)
            + (least == kl)
            - (most == kl).astype(np.float64)
            - (least == km).astype(np.float64)
        )
        pts = np.where(answered, pts, 0.0)
        a = answered.astype(np.float64)
        cnt = a @ w
        raw[...] = pts @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            pomp[...] = 100.0 * (raw + 2.0 * cnt) / (4.0 * cnt)
    else:
        answered = ~np.isnan(x)
        a = answered.astype(np.float64)
        cnt = a @ w
        raw[...] = (x == km).astype(np.float64) @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            pomp[...] = 100.0 * raw / cnt
    n_ans[...] = cnt.astype(np.int32)
    _short_to_nan(pomp, raw, n_ans)


def _rate_preference(x: NDArray[np.float64], layout: SjtLayout, out: NDArray[np.float64]) -> None:
    """Mean within-person z of the ratings given to each rep type's options."""
    answered = ~np.isnan(x)
    a = answered.astype(np.float64)
    x0 = np.where(answered, x, 0.0)
    m = a.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mr = x0.sum(axis=1, keepdims=True) / m
        sr = np.sqrt(np.where(answered, (x0 - mr) ** 2, 0.0).sum(axis=1, keepdims=True) / m)
        z = np.where(answered, (x0 - mr) / sr, 0.0)
        t = np.zeros((layout.option_type.size, len(REP_TYPE_IDS)))
        typed = layout.option_type >= 0
        t[np.flatnonzero(typed), layout.option_type[typed]] = 1.0
        out[...] = (z @ t) / (a @ t)
    out[~np.isfinite(out)] = np.nan


def _choice_preference(x: NDArray[np.float64], layout: SjtLayout, out: NDArray[np.float64]) -> None:
    """Per rep type: scenarios where its option was picked as most (or best) minus those
    where it was picked as least."""
    n_types = len(REP_TYPE_IDS)
    ct = layout.choice_type  # scenarios x max options
    scen = np.arange(ct.shape[0])
    step = 2 if layout.response_format == "most_least" else 1
    total = np.zeros((x.shape[0], n_types))
    any_typed = (ct >= 0).any()
    for col, sign in ((0, 1.0), (1, -1.0))[:step]:
        pick = x[:, col::step]
        ok = ~np.isnan(pick)
        pos = np.where(ok, pick - 1, 0).astype(np.intp)
        typ = ct[scen[None, :], pos]  # rows x scenarios
        hit = ok & (typ >= 0)
        rows = np.nonzero(hit)
        np.add.at(total, (rows[0], typ[hit]), sign)
    out[...] = total if any_typed else np.nan
