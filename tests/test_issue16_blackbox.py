"""Black-box tests of issue 16 (situational judgment tests), written from the issue text
and the docs (docs/sjt.md, docs/sjt-key.md, docs/questionnaire-format.md,
docs/response-quality.md), never from the implementation.

Every expected number is worked out here, by hand or by a small numpy computation of the
formula as the issue states it, independent of repprofile's code.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import repprofile

# --------------------------------------------------------------------------- fixtures

LO, HI = 1.0, 6.0

# A rate-format SJT: three scenarios, competencies alpha (s1, s2) and beta (s2, s3), a total.
KEYS = {
    "s1": {"a": 6.0, "b": 1.0, "c": 4.0, "d": 2.0},
    "s2": {"a": 5.0, "b": 3.0, "c": 2.0},
    "s3": {"a": 3.5, "b": 1.5, "c": 5.5, "d": 4.0},
}
TYPES = {
    "s1": {"a": "controller", "b": "accommodator", "c": "empathizer", "d": "rock"},
    "s2": {"a": "empathizer", "b": "controller", "c": "accommodator"},
    "s3": {"a": "rock", "b": "controller", "c": "empathizer", "d": "accommodator"},
}
COMPETENCIES = {"s1": ["alpha"], "s2": ["alpha", "beta"], "s3": ["beta"]}
COLUMNS = [f"{i}.{o}" for i in KEYS for o in KEYS[i]]
KEYVEC = np.array([KEYS[i][o] for i in KEYS for o in KEYS[i]])
SCEN = np.array([i for i in KEYS for _ in KEYS[i]])
SCALE_SCEN = {"alpha": {"s1", "s2"}, "beta": {"s2", "s3"}, "total": {"s1", "s2", "s3"}}


def _sjt_yaml(
    qid: str = "bb-mini",
    fmt: str = "rate",
    method: str = "distance",
    keys: dict[str, dict[str, float]] | None = None,
    extra_scale: dict[str, Any] | None = None,
    draft: bool = False,
) -> dict[str, Any]:
    keys = KEYS if keys is None else keys
    scales: list[dict[str, Any]] = [
        {"id": "alpha", "name": "Alpha", "kind": "skill"},
        {"id": "beta", "name": "Beta", "kind": "skill"},
        {"id": "total", "name": "Total", "kind": "skill", "total": True},
    ]
    if extra_scale:
        for s in scales:
            if s["id"] in extra_scale:
                s.update(extra_scale[s["id"]])
    items = []
    for i, opts in keys.items():
        items.append(
            {
                "id": i,
                "kind": "sjt",
                "scenario": f"Scenario {i}",
                "response_format": fmt,
                "competencies": COMPETENCIES[i],
                "options": [
                    {"id": o, "text": f"Option {i}{o}", "type": TYPES[i].get(o, "rock"), "key": k}
                    for o, k in opts.items()
                ],
            }
        )
    sjt: dict[str, Any] = {"method": method}
    if draft:
        sjt["key_draft"] = True
        sjt["key_note"] = "Draft key for the black-box tests."
    return {
        "id": qid,
        "version": "1.0.0",
        "title": "Black-box SJT",
        "response_scale": {
            "min": 1,
            "max": 6,
            "labels": {1: "Very ineffective", 6: "Very effective"},
        },
        "sjt": sjt,
        "scales": scales,
        "items": items,
    }


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def rate_q(tmp_path: Path) -> Path:
    return _write(tmp_path / "bb-mini.yaml", _sjt_yaml())


def _records(rows: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Nested JSON-shaped answers {"s1": {"a": 4, ...}} from rating vectors (NaN: missing)."""
    out = []
    for cid, vec in rows.items():
        ans: dict[str, dict[str, int]] = {}
        for col, v in zip(COLUMNS, vec, strict=True):
            if not np.isnan(v):
                i, o = col.split(".")
                ans.setdefault(i, {})[o] = int(v)
        out.append({"candidate_id": cid, "answers": ans})
    return out


def _profile_scale(res: repprofile.ScoreResult, cid: str, scale: str) -> dict[str, Any]:
    d = res.to_dict()
    for p in d["profiles"]:
        if p["candidate_id"] == cid:
            return p["scales"][scale]  # type: ignore[no-any-return]
    raise KeyError(cid)


def _pomp(res: repprofile.ScoreResult, cid: str, scale: str) -> float:
    row = list(res.candidate_ids).index(cid)
    return float(res.pomp[row, res.scale_ids.index(scale)])


# ---- independent expected values from the issue's formulas


def exp_distance(r: np.ndarray, scale: str) -> float:
    m = np.isin(SCEN, list(SCALE_SCEN[scale])) & ~np.isnan(r)
    num = np.sum((r[m] - KEYVEC[m]) ** 2)
    den = np.sum(np.maximum((KEYVEC[m] - LO) ** 2, (HI - KEYVEC[m]) ** 2))
    return float(100 * (1 - num / den))


def exp_absolute(r: np.ndarray, scale: str) -> float:
    m = np.isin(SCEN, list(SCALE_SCEN[scale])) & ~np.isnan(r)
    num = np.sum(np.abs(r[m] - KEYVEC[m]))
    den = np.sum(np.maximum(KEYVEC[m] - LO, HI - KEYVEC[m]))
    return float(100 * (1 - num / den))


def exp_standardized(r: np.ndarray, scale: str) -> float:
    rated = ~np.isnan(r)
    x, k = r[rated], KEYVEC[rated]
    zx = (x - x.mean()) / x.std()  # population SD
    zk = (k - k.mean()) / k.std()
    m = np.isin(SCEN[rated], list(SCALE_SCEN[scale]))
    d = np.sum((zx[m] - zk[m]) ** 2)
    # z profiles: sum (zx - zk)^2 = 2n(1 - r) over all n options, 0..4n: pomp = 100 (1 - d / 4n)
    # clipped to 0..100 on a competency (docs/sjt.md)
    return float(np.clip(100 * (1 - d / (4 * m.sum())), 0.0, 100.0))


def exp_correlation(r: np.ndarray, scale: str) -> float:
    m = np.isin(SCEN, list(SCALE_SCEN[scale])) & ~np.isnan(r)
    rho = np.corrcoef(r[m], KEYVEC[m])[0, 1]
    return float(100 * (1 + rho) / 2)


# candidates (columns: s1.a s1.b s1.c s1.d | s2.a s2.b s2.c | s3.a s3.b s3.c s3.d)
CANDIDATES = {
    "good": np.array([6, 1, 4, 2, 5, 3, 2, 3, 2, 5, 4], float),
    "mid": np.array([4, 3, 5, 2, 3, 3, 4, 2, 5, 6, 1], float),
    # the end of the scale farthest from every key: the worst possible ratings
    "worst": np.array([1, 6, 1, 6, 1, 6, 6, 6, 6, 1, 1], float),
    "partial": np.array([5, 2, np.nan, 1, 6, np.nan, 2, np.nan, 1, 6, 3], float),
}
FLAT = np.full(11, 3.0)


# --------------------------------------------------------------------------- item 2: methods


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("distance", exp_distance),
        ("absolute", exp_absolute),
        ("standardized", exp_standardized),
        ("correlation", exp_correlation),
    ],
)
def test_rate_methods_match_the_issue_formulas(rate_q: Path, method: Any, expected: Any) -> None:
    res = repprofile.score(str(rate_q), _records(CANDIDATES), sjt_method=method)
    assert res.errors == []
    for cid, vec in CANDIDATES.items():
        for scale in ("alpha", "beta", "total"):
            assert _pomp(res, cid, scale) == pytest.approx(expected(vec, scale), abs=1e-9), (
                cid,
                scale,
            )


def test_distance_and_absolute_hand_worked(rate_q: Path) -> None:
    """'mid' on alpha (s1, s2) worked on paper.

    keys 6 1 4 2 | 5 3 2; ratings 4 3 5 2 | 3 3 4.
    squared: 4 + 4 + 1 + 0 + 4 + 0 + 4 = 17; max squared: 25 25 9 16 16 9 16 = 116.
    absolute: 2 + 2 + 1 + 0 + 2 + 0 + 2 = 9; max absolute: 5 5 3 4 4 3 4 = 28.
    """
    res = repprofile.score(str(rate_q), _records({"mid": CANDIDATES["mid"]}), sjt_method="distance")
    assert _pomp(res, "mid", "alpha") == pytest.approx(100 * (1 - 17 / 116), abs=1e-12)
    res = repprofile.score(str(rate_q), _records({"mid": CANDIDATES["mid"]}), sjt_method="absolute")
    assert _pomp(res, "mid", "alpha") == pytest.approx(100 * (1 - 9 / 28), abs=1e-12)


def test_extremes_distance_absolute(rate_q: Path) -> None:
    recs = _records({"good": CANDIDATES["good"], "worst": CANDIDATES["worst"]})
    for method in ("distance", "absolute"):
        res = repprofile.score(str(rate_q), recs, sjt_method=method)
        # 'good' matches the key exactly on s1 and s2: alpha is 100
        assert _pomp(res, "good", "alpha") == pytest.approx(100.0, abs=1e-12)
        # 'worst' takes the farthest end everywhere: 0 on every scale
        for scale in ("alpha", "beta", "total"):
            assert _pomp(res, "worst", scale) == pytest.approx(0.0, abs=1e-12)


def test_elevation_shift_costs_distance_not_standardized(tmp_path: Path) -> None:
    """A candidate who rates every option one point above an integer key: perfect shape."""
    keys = {
        "s1": {"a": 5, "b": 1, "c": 3, "d": 2},
        "s2": {"a": 4, "b": 2, "c": 1},
        "s3": {"a": 3, "b": 1, "c": 5, "d": 4},
    }
    q = _write(tmp_path / "int.yaml", _sjt_yaml(keys=keys))  # type: ignore[arg-type]
    k = np.array([keys[i][o] for i in keys for o in keys[i]], float)
    x = k + 1
    ans = {"s1": {}, "s2": {}, "s3": {}}  # type: dict[str, dict[str, int]]
    for col, v in zip(COLUMNS, x, strict=True):
        i, o = col.split(".")
        ans[i][o] = int(v)
    rec = [{"candidate_id": "shift", "answers": ans}]
    for method in ("standardized", "correlation"):
        res = repprofile.score(str(q), rec, sjt_method=method)
        for scale in ("alpha", "beta", "total"):
            assert _pomp(res, "shift", scale) == pytest.approx(100.0, abs=1e-9), (method, scale)
    res = repprofile.score(str(q), rec, sjt_method="distance")
    # total: 11 options each 1 point off; max squared per option max((k-1)^2, (6-k)^2)
    den = np.sum(np.maximum((k - 1) ** 2, (6 - k) ** 2))
    assert _pomp(res, "shift", "total") == pytest.approx(100 * (1 - 11 / den), abs=1e-9)
    assert _pomp(res, "shift", "total") < 100


def test_standardized_total_is_correlation_with_key(rate_q: Path) -> None:
    """On the total scale, standardized pomp = 100 (1 + r_pk) / 2 (issue item 2)."""
    res = repprofile.score(str(rate_q), _records(CANDIDATES), sjt_method="standardized")
    for cid, vec in CANDIDATES.items():
        m = ~np.isnan(vec)
        r_pk = np.corrcoef(vec[m], KEYVEC[m])[0, 1]
        assert _pomp(res, cid, "total") == pytest.approx(100 * (1 + r_pk) / 2, abs=1e-9), cid


def test_profile_distance_identity() -> None:
    """sum (x-k)^2 = n[(mx-mk)^2 + (sx-sk)^2 + 2 sx sk (1-r)], population SDs (docs/sjt.md)."""
    for vec in CANDIDATES.values():
        m = ~np.isnan(vec)
        x, k = vec[m], KEYVEC[m]
        n = x.size
        r = np.corrcoef(x, k)[0, 1]
        rhs = n * (
            (x.mean() - k.mean()) ** 2 + (x.std() - k.std()) ** 2 + 2 * x.std() * k.std() * (1 - r)
        )
        assert np.sum((x - k) ** 2) == pytest.approx(rhs, rel=1e-12)


def test_identity_links_distance_and_standardized(rate_q: Path) -> None:
    """With the library's own distance and standardized scores on the total scale: the
    distance numerator decomposes into elevation + scatter + shape, and the shape
    term's r is the one standardized reports."""
    vec = CANDIDATES["mid"]
    recs = _records({"mid": vec})
    d = repprofile.score(str(rate_q), recs, sjt_method="distance")
    s = repprofile.score(str(rate_q), recs, sjt_method="standardized")
    k = KEYVEC
    den = np.sum(np.maximum((k - LO) ** 2, (HI - k) ** 2))
    sum_sq = (1 - _pomp(d, "mid", "total") / 100) * den
    r = 2 * _pomp(s, "mid", "total") / 100 - 1
    n = vec.size
    rhs = n * (
        (vec.mean() - k.mean()) ** 2
        + (vec.std() - k.std()) ** 2
        + 2 * vec.std() * k.std() * (1 - r)
    )
    assert sum_sq == pytest.approx(rhs, rel=1e-9)


@pytest.mark.parametrize("method", ["standardized", "correlation"])
def test_flat_rater_gets_null_with_reason(rate_q: Path, method: Any) -> None:
    recs = _records({"flat": FLAT, "good": CANDIDATES["good"]})
    res = repprofile.score(str(rate_q), recs, sjt_method=method)
    assert res.errors == []  # a flat rater is not a bad value: scored, with null scores
    for scale in ("alpha", "beta", "total"):
        sc = _profile_scale(res, "flat", scale)
        assert sc["pomp"] is None, (method, scale)
        assert isinstance(sc["reason"], str), (method, scale)
        assert sc["reason"].strip(), (method, scale)
        assert math.isnan(_pomp(res, "flat", scale))
    # the other candidate is untouched
    assert _profile_scale(res, "good", "total")["pomp"] is not None


@pytest.mark.parametrize("method", ["distance", "absolute"])
def test_flat_rater_gets_a_number_with_distance(rate_q: Path, method: Any) -> None:
    res = repprofile.score(str(rate_q), _records({"flat": FLAT}), sjt_method=method)
    f = exp_distance if method == "distance" else exp_absolute
    for scale in ("alpha", "beta", "total"):
        assert _pomp(res, "flat", scale) == pytest.approx(f(FLAT, scale), abs=1e-9)


def test_correlation_null_only_on_the_scale_without_variance(rate_q: Path) -> None:
    """Flat on s2 and s3 (beta) but varied on s1: beta has no variance, alpha and total do."""
    vec = np.array([6, 1, 4, 2, 3, 3, 3, 3, 3, 3, 3], float)
    res = repprofile.score(str(rate_q), _records({"c": vec}), sjt_method="correlation")
    beta = _profile_scale(res, "c", "beta")
    assert beta["pomp"] is None
    assert beta["reason"]
    assert _pomp(res, "c", "alpha") == pytest.approx(exp_correlation(vec, "alpha"), abs=1e-9)
    assert _pomp(res, "c", "total") == pytest.approx(exp_correlation(vec, "total"), abs=1e-9)


def test_n_answered_counts_scenarios_and_missing_is_not_zero(rate_q: Path) -> None:
    """'partial' skipped s1.c, s2.b and s3.a: every scenario still answered."""
    res = repprofile.score(
        str(rate_q), _records({"partial": CANDIDATES["partial"]}), sjt_method="distance"
    )
    row = 0
    n = dict(zip(res.scale_ids, res.n_answered[row].tolist(), strict=True))
    assert n == {"alpha": 2, "beta": 2, "total": 3}
    # a missing rating is left out of numerator AND denominator, never read as 0 (0 would
    # be far below the scale and pull the score down)
    as_zero = np.nan_to_num(CANDIDATES["partial"], nan=0.0)
    for scale in ("alpha", "beta", "total"):
        got = _pomp(res, "partial", scale)
        assert got == pytest.approx(exp_distance(CANDIDATES["partial"], scale), abs=1e-9)
        assert got != pytest.approx(exp_distance(as_zero, scale), abs=1e-6)


def test_array_input_nan_is_missing(rate_q: Path) -> None:
    arr = np.vstack([CANDIDATES["partial"], CANDIDATES["mid"]])
    res = repprofile.score(str(rate_q), arr, candidate_ids=["p", "m"], sjt_method="absolute")
    assert _pomp(res, "p", "total") == pytest.approx(
        exp_absolute(CANDIDATES["partial"], "total"), abs=1e-9
    )
    assert _pomp(res, "m", "beta") == pytest.approx(
        exp_absolute(CANDIDATES["mid"], "beta"), abs=1e-9
    )


def test_n_answered_and_min_answered_default(rate_q: Path) -> None:
    """Only s1 answered. Default min_answered = half the scenarios rounded up:
    alpha (2 scenarios) needs 1, beta 1, total (3) needs 2."""
    vec = np.array([6, 2, 4, 1] + [np.nan] * 7, float)
    res = repprofile.score(str(rate_q), _records({"one": vec}), sjt_method="distance")
    n = dict(zip(res.scale_ids, res.n_answered[0].tolist(), strict=True))
    assert n == {"alpha": 1, "beta": 0, "total": 1}
    assert _pomp(res, "one", "alpha") == pytest.approx(exp_distance(vec, "alpha"), abs=1e-9)
    assert _profile_scale(res, "one", "beta")["pomp"] is None
    assert _profile_scale(res, "one", "total")["pomp"] is None


def test_min_answered_from_the_file(tmp_path: Path) -> None:
    q = _write(tmp_path / "m.yaml", _sjt_yaml(extra_scale={"alpha": {"min_answered": 2}}))
    vec = np.array([6, 2, 4, 1] + [np.nan] * 7, float)
    res = repprofile.score(str(q), _records({"one": vec}), sjt_method="distance")
    assert _profile_scale(res, "one", "alpha")["pomp"] is None
    both = np.array([6, 2, 4, 1, 5, 3, 2] + [np.nan] * 4, float)
    res = repprofile.score(str(q), _records({"two": both}), sjt_method="distance")
    assert _pomp(res, "two", "alpha") == pytest.approx(exp_distance(both, "alpha"), abs=1e-9)


def test_default_method_from_questionnaire(tmp_path: Path) -> None:
    q = _write(tmp_path / "abs.yaml", _sjt_yaml(method="absolute"))
    res = repprofile.score(str(q), _records({"mid": CANDIDATES["mid"]}))
    assert _pomp(res, "mid", "total") == pytest.approx(
        exp_absolute(CANDIDATES["mid"], "total"), abs=1e-9
    )
    assert res.to_dict()["provenance"]["sjt_method"] == "absolute"
    res = repprofile.score(str(q), _records({"mid": CANDIDATES["mid"]}), sjt_method="distance")
    assert res.to_dict()["provenance"]["sjt_method"] == "distance"


# ---- most_least and best


def _pick_answers(picks: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {i: dict(p) for i, p in picks.items()}


ML = {
    # keyed most: s1 a, s2 a, s3 c; keyed least: s1 b, s2 c, s3 b
    "top": {
        "s1": {"most": "a", "least": "b"},
        "s2": {"most": "a", "least": "c"},
        "s3": {"most": "c", "least": "b"},
    },
    "bottom": {
        "s1": {"most": "b", "least": "a"},
        "s2": {"most": "c", "least": "a"},
        "s3": {"most": "b", "least": "c"},
    },
    # +1 (most right, least neutral) | -1 (keyed most chosen as least) | +1 = 1
    "mixed": {
        "s1": {"most": "a", "least": "d"},
        "s2": {"most": "b", "least": "a"},
        "s3": {"most": "c", "least": "d"},
    },
    # s1 +2, s2 skipped, s3: d as most (0), c (keyed most) as least (-1) -> -1
    "skipper": {"s1": {"most": "a", "least": "b"}, "s3": {"most": "d", "least": "c"}},
}


def test_most_least_formula(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    recs = [{"candidate_id": c, "answers": _pick_answers(a)} for c, a in ML.items()]
    res = repprofile.score(str(q), recs)
    assert res.errors == []
    # pomp = 100 (sum + 2n) / (4n)
    assert _pomp(res, "top", "total") == pytest.approx(100.0)
    assert _pomp(res, "bottom", "total") == pytest.approx(0.0)
    assert _pomp(res, "mixed", "total") == pytest.approx(100 * (1 + 6) / 12)
    assert _pomp(res, "mixed", "alpha") == pytest.approx(100 * (0 + 4) / 8)  # +1 -1
    assert _pomp(res, "mixed", "beta") == pytest.approx(100 * (0 + 4) / 8)  # -1 +1
    assert _pomp(res, "skipper", "total") == pytest.approx(100 * (1 + 4) / 8)
    assert _pomp(res, "skipper", "alpha") == pytest.approx(100.0)  # s1 only: +2 of 2
    assert _pomp(res, "skipper", "beta") == pytest.approx(100 * (-1 + 2) / 4)
    tot = res.scale_ids.index("total")
    n = {c: int(res.n_answered[list(res.candidate_ids).index(c), tot]) for c in ML}
    assert n == {"top": 3, "bottom": 3, "mixed": 3, "skipper": 2}
    # raw: the unscaled points
    raw = {c: float(res.raw[list(res.candidate_ids).index(c), tot]) for c in ML}
    assert raw == {"top": 6.0, "bottom": -6.0, "mixed": 1.0, "skipper": 1.0}


def test_most_least_csv_columns_hold_option_ids(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    csv = tmp_path / "ml.csv"
    header = ["candidate_id"] + [f"{i}.{w}" for i in ("s1", "s2", "s3") for w in ("most", "least")]
    lines = [",".join(header)]
    for c, a in ML.items():
        cells = [c] + [
            a.get(i, {}).get(w, "") for i in ("s1", "s2", "s3") for w in ("most", "least")
        ]
        lines.append(",".join(cells))
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = repprofile.score(str(q), str(csv))
    assert res.errors == []
    assert _pomp(res, "mixed", "total") == pytest.approx(100 * 7 / 12)
    assert _pomp(res, "skipper", "beta") == pytest.approx(25.0)


def test_best_formula(tmp_path: Path) -> None:
    q = _write(tmp_path / "best.yaml", _sjt_yaml(qid="bb-best", fmt="best", method="best"))
    recs = [
        {
            "candidate_id": "x",
            "answers": {"s1": {"best": "a"}, "s2": {"best": "b"}, "s3": {"best": "c"}},
        },
        {"candidate_id": "y", "answers": {"s1": {"best": "c"}, "s3": {"best": "c"}}},
        {"candidate_id": "z", "answers": {"s1.best": "a", "s2.best": "a", "s3.best": "c"}},
    ]
    res = repprofile.score(str(q), recs)
    assert res.errors == []
    assert _pomp(res, "x", "total") == pytest.approx(100 * 2 / 3)
    assert _pomp(res, "x", "alpha") == pytest.approx(50.0)
    assert _pomp(res, "x", "beta") == pytest.approx(50.0)
    assert _pomp(res, "y", "total") == pytest.approx(50.0)
    assert _pomp(res, "y", "alpha") == pytest.approx(0.0)
    assert _pomp(res, "y", "beta") == pytest.approx(100.0)
    assert _pomp(res, "z", "total") == pytest.approx(100.0)
    tot = res.scale_ids.index("total")
    assert res.n_answered[:, tot].tolist() == [3, 2, 3]
    assert res.raw[:, tot].tolist() == [2.0, 1.0, 3.0]


# ---- SME keys: mode, proportion, sjt_key

SME = {  # 5 experts; every option has one modal rating
    "s1.a": [6, 6, 5, 6, 4],
    "s1.b": [1, 2, 1, 1, 2],
    "s1.c": [4, 4, 3, 4, 5],
    "s1.d": [2, 2, 2, 1, 3],
    "s2.a": [5, 5, 6, 5, 5],
    "s2.b": [3, 4, 3, 3, 2],
    "s2.c": [2, 1, 2, 2, 2],
    "s3.a": [3, 4, 4, 3, 4],
    "s3.b": [1, 2, 1, 2, 1],
    "s3.c": [6, 5, 6, 6, 6],
    "s3.d": [4, 4, 4, 3, 5],
}
SME_M = np.array([SME[c] for c in COLUMNS], float)  # options x experts


def _write_ratings(path: Path, table: dict[str, list[Any]], ids: list[str] | None = None) -> Path:
    n = len(next(iter(table.values())))
    ids = ids or [f"e{j + 1}" for j in range(n)]
    lines = [",".join(["expert_id", *table])]
    for j in range(n):
        lines.append(
            ",".join([ids[j]] + ["" if table[c][j] is None else str(table[c][j]) for c in table])
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def sme_key(tmp_path: Path, rate_q: Path) -> Path:
    ratings = _write_ratings(tmp_path / "ratings.csv", SME)
    out = tmp_path / "key.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "repprofile",
            "sjt",
            "key",
            "build",
            str(ratings),
            "-q",
            str(rate_q),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def _mode_prop(vec: np.ndarray, scale: str) -> tuple[float, float]:
    m = np.isin(SCEN, list(SCALE_SCEN[scale])) & ~np.isnan(vec)
    modes, props = [], []
    for j in np.flatnonzero(m):
        vals, cnt = np.unique(SME_M[j], return_counts=True)
        modes.append(float(vec[j] == vals[np.argmax(cnt)]))
        props.append(float(np.mean(SME_M[j] == vec[j])))
    return 100 * float(np.mean(modes)), 100 * float(np.mean(props))


def test_mode_and_proportion_with_sme_key(rate_q: Path, sme_key: Path) -> None:
    recs = _records(CANDIDATES)
    rm = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key), sjt_method="mode")
    rp = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key), sjt_method="proportion")
    for cid, vec in CANDIDATES.items():
        for scale in ("alpha", "beta", "total"):
            em, ep = _mode_prop(vec, scale)
            assert _pomp(rm, cid, scale) == pytest.approx(em, abs=1e-9), (cid, scale)
            assert _pomp(rp, cid, scale) == pytest.approx(ep, abs=1e-9), (cid, scale)


def test_mode_hand_worked(rate_q: Path, sme_key: Path) -> None:
    """'good' rates s1: 6 1 4 2 = the SME modes (6, 1, 4, 2): alpha mode over s1+s2;
    s2: 5 3 2 = modes 5 3 2. So alpha mode = 100. Proportions s1: 3/5 3/5 3/5 3/5,
    s2: 4/5 3/5 4/5 -> mean (12/5 + 11/5)/7 = 23/35."""
    recs = _records({"good": CANDIDATES["good"]})
    rm = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key), sjt_method="mode")
    rp = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key), sjt_method="proportion")
    assert _pomp(rm, "good", "alpha") == pytest.approx(100.0)
    assert _pomp(rp, "good", "alpha") == pytest.approx(100 * 23 / 35)


def test_mode_without_sme_key_is_refused(rate_q: Path) -> None:
    with pytest.raises(repprofile.RepprofileError):
        repprofile.score(str(rate_q), _records({"good": CANDIDATES["good"]}), sjt_method="mode")


def test_sjt_key_means_replace_the_file_key_and_sha_recorded(rate_q: Path, sme_key: Path) -> None:
    vec = CANDIDATES["mid"]
    res = repprofile.score(
        str(rate_q), _records({"mid": vec}), sjt_key=str(sme_key), sjt_method="distance"
    )
    k = SME_M.mean(axis=1)
    num = np.sum((vec - k) ** 2)
    den = np.sum(np.maximum((k - LO) ** 2, (HI - k) ** 2))
    assert _pomp(res, "mid", "total") == pytest.approx(100 * (1 - num / den), abs=1e-9)
    prov = res.to_dict()["provenance"]
    sha = prov["sjt_key_sha256"]
    assert isinstance(sha, str)
    assert len(sha) == 64
    assert int(sha, 16) >= 0
    assert prov["sjt_key_draft"] is False
    # without a key file there is no key sha
    plain = repprofile.score(str(rate_q), _records({"mid": vec})).to_dict()["provenance"]
    assert plain.get("sjt_key_sha256") is None


def test_sjt_key_sha_changes_with_the_key(tmp_path: Path, rate_q: Path, sme_key: Path) -> None:
    other = dict(SME)
    other["s1.a"] = [1, 1, 1, 1, 1]
    r2 = _write_ratings(tmp_path / "r2.csv", other)
    out2 = tmp_path / "key2.yaml"
    repprofile.build_sjt_key(str(r2), str(rate_q)).key_yaml()  # API form exists
    subprocess.run(
        [
            sys.executable,
            "-m",
            "repprofile",
            "sjt",
            "key",
            "build",
            str(r2),
            "-q",
            str(rate_q),
            "-o",
            str(out2),
        ],
        check=True,
        capture_output=True,
    )
    recs = _records({"mid": CANDIDATES["mid"]})
    s1 = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key)).to_dict()["provenance"][
        "sjt_key_sha256"
    ]
    s1b = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key)).to_dict()["provenance"][
        "sjt_key_sha256"
    ]
    s2 = repprofile.score(str(rate_q), recs, sjt_key=str(out2)).to_dict()["provenance"][
        "sjt_key_sha256"
    ]
    assert s1 == s1b != s2


# ---- answer input: CSV columns, nested / flat JSON, bad values


def test_csv_item_option_columns_equal_nested_json(tmp_path: Path, rate_q: Path) -> None:
    csv = tmp_path / "a.csv"
    lines = [",".join(["candidate_id", *COLUMNS])]
    for cid, vec in CANDIDATES.items():
        lines.append(",".join([cid] + ["" if np.isnan(v) else str(int(v)) for v in vec]))
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_csv = repprofile.score(str(rate_q), str(csv), sjt_method="distance")
    from_json = repprofile.score(str(rate_q), _records(CANDIDATES), sjt_method="distance")
    assert from_csv.errors == []
    np.testing.assert_array_equal(from_csv.pomp, from_json.pomp)
    np.testing.assert_array_equal(from_csv.n_answered, from_json.n_answered)
    jf = tmp_path / "a.json"
    jf.write_text(json.dumps(_records(CANDIDATES)), encoding="utf-8")
    from_file = repprofile.score(str(rate_q), str(jf), sjt_method="distance")
    np.testing.assert_array_equal(from_file.pomp, from_json.pomp)


def test_flat_dotted_json_equals_nested(rate_q: Path) -> None:
    vec = CANDIDATES["mid"]
    flat = {c: int(v) for c, v in zip(COLUMNS, vec, strict=True)}
    a = repprofile.score(str(rate_q), flat, sjt_method="absolute")
    b = repprofile.score(str(rate_q), _records({"1": vec}), sjt_method="absolute")
    np.testing.assert_array_equal(a.pomp, b.pomp)


def _err_text(e: Any) -> str:
    return " ".join(str(x) for x in (e.candidate_id, e.item_id, e.value, e.message))


def test_rating_out_of_scale_rejects_only_its_candidate(rate_q: Path) -> None:
    recs = _records({"ok": CANDIDATES["mid"]})
    bad = _records({"bad": CANDIDATES["good"]})[0]
    bad["answers"]["s2"]["b"] = 7
    res = repprofile.score(str(rate_q), [recs[0], bad], sjt_method="distance")
    assert res.scored.tolist() == [True, False]
    assert _pomp(res, "ok", "total") == pytest.approx(
        exp_distance(CANDIDATES["mid"], "total"), abs=1e-9
    )
    assert len(res.errors) == 1
    e = res.errors[0]
    text = _err_text(e)
    assert e.candidate_id == "bad"
    assert "s2" in text
    assert "b" in str(e.item_id)
    assert "7" in text  # value
    assert "1" in e.message
    assert "6" in e.message


def test_unknown_option_in_most_column_rejects_candidate(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    recs = [
        {"candidate_id": "ok", "answers": _pick_answers(ML["top"])},
        {"candidate_id": "bad", "answers": {"s1": {"most": "z", "least": "b"}}},
    ]
    res = repprofile.score(str(q), recs)
    assert res.scored.tolist() == [True, False]
    (e,) = res.errors
    text = _err_text(e)
    assert e.candidate_id == "bad"
    assert "s1" in text
    assert "z" in text
    # the expectation lists the option ids
    assert all(o in e.message for o in ("a", "b", "c", "d"))


def test_unknown_option_in_rate_answers_names_it(rate_q: Path) -> None:
    recs = [{"candidate_id": "bad", "answers": {"s2": {"a": 4, "d": 3}}}]
    res = repprofile.score(str(rate_q), recs)
    (e,) = res.errors
    text = _err_text(e)
    assert e.candidate_id == "bad"
    assert "s2" in text
    assert "d" in text
    assert "3" in text


def test_text_rating_rejected_with_message(tmp_path: Path, rate_q: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(
        "candidate_id," + ",".join(COLUMNS) + "\n"
        "ok,4,3,5,2,3,3,4,2,5,6,1\n"
        "txt,4,3,five,2,3,3,4,2,5,6,1\n",
        encoding="utf-8",
    )
    res = repprofile.score(str(rate_q), str(csv))
    assert res.scored.tolist() == [True, False]
    (e,) = res.errors
    assert e.candidate_id == "txt"
    assert "s1" in _err_text(e)
    assert "c" in str(e.item_id)
    assert "five" in _err_text(e)


# --------------------------------------------------------------------------- item 1: include


LIKERT = {
    "id": "bb-likert",
    "version": "1.0.0",
    "title": "Likert part",
    "response_scale": {"min": 1, "max": 5},
    "scales": [{"id": "warmth", "name": "Warmth", "kind": "trait"}],
    "items": [
        {"id": "w1", "text": "I like people.", "scale": "warmth"},
        {"id": "w2", "text": "I avoid people.", "scale": "warmth", "keyed": -1},
        {"id": "w3", "text": "I enjoy helping.", "scale": "warmth"},
    ],
}


def _untyped(doc: dict[str, Any]) -> dict[str, Any]:
    for it in doc["items"]:
        for o in it["options"]:
            o.pop("type", None)
    return doc


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a valid SJT file whose options are typed with the seven rep-type ids cannot be "
    "included beside a Likert file that is not rep-types: the composed file refuses "
    "'controller' etc. ('is not a rep type; expected one of [warmth]'), although the docs say "
    "that in a file without the rep-types scales a type must be one of the seven ids",
)
def test_typed_sjt_included_beside_other_likert(tmp_path: Path) -> None:
    _write(tmp_path / "lik.yaml", LIKERT)
    _write(tmp_path / "sjt.yaml", _sjt_yaml(method="distance"))
    both = _write(
        tmp_path / "both.yaml",
        {"id": "bb-both", "version": "1.0.0", "title": "Both", "include": ["lik.yaml", "sjt.yaml"]},
    )
    q = repprofile.load_questionnaire(str(both))
    assert list(q.scale_ids) == ["warmth", "alpha", "beta", "total"]


def test_mixed_questionnaire_via_include(tmp_path: Path) -> None:
    lik = _write(tmp_path / "lik.yaml", LIKERT)
    _write(tmp_path / "sjt.yaml", _untyped(_sjt_yaml(method="distance")))
    both = _write(
        tmp_path / "both.yaml",
        {"id": "bb-both", "version": "1.0.0", "title": "Both", "include": ["lik.yaml", "sjt.yaml"]},
    )
    q = repprofile.load_questionnaire(str(both))
    assert list(q.scale_ids) == ["warmth", "alpha", "beta", "total"]
    answers = {"w1": 5, "w2": 2, "w3": 4}
    for c, v in zip(COLUMNS, CANDIDATES["mid"], strict=True):
        answers[c] = int(v)
    res = repprofile.score(q, answers)
    # Likert: keyed mean (5 + (6 - 2) + 4) / 3 = 13/3, pomp 100 (13/3 - 1) / 4
    w = res.scale_ids.index("warmth")
    assert res.mean[0, w] == pytest.approx(13 / 3)
    assert res.pomp[0, w] == pytest.approx(100 * (13 / 3 - 1) / 4)
    alone = repprofile.score(str(lik), {"w1": 5, "w2": 2, "w3": 4})
    assert res.pomp[0, w] == alone.pomp[0, 0]
    assert _pomp(res, "1", "total") == pytest.approx(
        exp_distance(CANDIDATES["mid"], "total"), abs=1e-9
    )


def test_include_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    _write(tmp_path / "one.yaml", LIKERT)
    dup = dict(LIKERT)
    dup["id"] = "bb-likert-2"
    dup["scales"] = [{"id": "warmth2", "name": "W2", "kind": "trait"}]
    dup["items"] = [
        {"id": "w1", "text": "Same id again.", "scale": "warmth2"},
        {"id": "x2", "text": "x", "scale": "warmth2"},
    ]
    _write(tmp_path / "two.yaml", dup)
    top = _write(
        tmp_path / "top.yaml",
        {"id": "bb-top", "version": "1.0.0", "title": "T", "include": ["one.yaml", "two.yaml"]},
    )
    with pytest.raises(repprofile.QuestionnaireError) as ei:
        repprofile.load_questionnaire(str(top))
    msg = str(ei.value)
    assert "one.yaml" in msg
    assert "two.yaml" in msg
    assert "w1" in msg


def test_include_duplicate_scale_ids_name_both_files(tmp_path: Path) -> None:
    _write(tmp_path / "one.yaml", LIKERT)
    dup = dict(LIKERT)
    dup["id"] = "bb-likert-3"
    dup["items"] = [
        {"id": "v1", "text": "a", "scale": "warmth"},
        {"id": "v2", "text": "b", "scale": "warmth"},
    ]
    _write(tmp_path / "three.yaml", dup)
    top = _write(
        tmp_path / "top.yaml",
        {"id": "bb-top", "version": "1.0.0", "title": "T", "include": ["one.yaml", "three.yaml"]},
    )
    with pytest.raises(repprofile.QuestionnaireError) as ei:
        repprofile.load_questionnaire(str(top))
    msg = str(ei.value)
    assert "one.yaml" in msg
    assert "three.yaml" in msg
    assert "warmth" in msg


def test_sjt_item_option_count_bounds(tmp_path: Path) -> None:
    doc = _sjt_yaml()
    doc["items"][1]["options"] = doc["items"][1]["options"][:1]  # one option: below 2
    with pytest.raises(repprofile.QuestionnaireError):
        repprofile.load_questionnaire(str(_write(tmp_path / "few.yaml", doc)))
    doc = _sjt_yaml()
    doc["items"][1]["options"] = [
        {"id": f"o{j}", "text": f"t{j}", "key": 3} for j in range(9)
    ]  # 9 > 8
    with pytest.raises(repprofile.QuestionnaireError):
        repprofile.load_questionnaire(str(_write(tmp_path / "many.yaml", doc)))


def test_unknown_option_type_refused(tmp_path: Path) -> None:
    doc = _sjt_yaml()
    doc["items"][0]["options"][0]["type"] = "wizard"
    with pytest.raises(repprofile.QuestionnaireError) as ei:
        repprofile.load_questionnaire(str(_write(tmp_path / "t.yaml", doc)))
    assert "wizard" in str(ei.value)


# ---------------------------------------------------------------- item 3: type preferences

SEVEN = [
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
]
TYPEVEC = np.array([TYPES[i][o] for i in KEYS for o in KEYS[i]])


def _pref(res: repprofile.ScoreResult, cid: str) -> dict[str, float]:
    row = list(res.candidate_ids).index(cid)
    assert res.sjt_type_preference is not None
    return dict(zip(res.sjt_type_ids, res.sjt_type_preference[row].tolist(), strict=True))


def test_type_preference_rate_is_mean_within_person_z(rate_q: Path) -> None:
    res = repprofile.score(str(rate_q), _records(CANDIDATES))
    assert sorted(res.sjt_type_ids) == sorted(SEVEN)
    for cid, vec in CANDIDATES.items():
        m = ~np.isnan(vec)
        z = (vec[m] - vec[m].mean()) / vec[m].std()  # population SD over all rated options
        got = _pref(res, cid)
        for t in SEVEN:
            sel = TYPEVEC[m] == t
            if sel.any():
                assert got[t] == pytest.approx(float(z[sel].mean()), abs=1e-12), (cid, t)
            else:
                assert math.isnan(got[t]), (cid, t)  # a type without options: no preference


def test_type_preference_hand_worked(rate_q: Path) -> None:
    """'good': ratings 6 1 4 2 5 3 2 3 2 5 4, mean 37/11, population variance
    (sum x^2)/11 - mean^2 = 149/11 - (37/11)^2 = 270/121, SD sqrt(270)/11.
    rock options s1.d (2) and s3.a (3): mean rating 2.5, z = (2.5 - 37/11) / (sqrt(270)/11)
    = (27.5 - 37) / sqrt(270) = -9.5 / sqrt(270)."""
    res = repprofile.score(str(rate_q), _records({"good": CANDIDATES["good"]}))
    assert _pref(res, "good")["rock"] == pytest.approx(-9.5 / math.sqrt(270), abs=1e-12)
    out = res.to_dict()["profiles"][0]["sjt_type_preference"]
    assert out["rock"] == pytest.approx(-9.5 / math.sqrt(270), abs=1e-12)
    assert out["competitor"] is None


def test_type_preference_most_least_counts(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    res = repprofile.score(
        str(q), [{"candidate_id": "mixed", "answers": _pick_answers(ML["mixed"])}]
    )
    got = _pref(res, "mixed")
    # most: s1.a controller, s2.b controller, s3.c empathizer;
    # least: s1.d rock, s2.a empathizer, s3.d accommodator
    assert got["controller"] == 2
    assert got["empathizer"] == 0
    assert got["rock"] == -1
    assert got["accommodator"] == -1


# --------------------------------------------------------------------------- quality (item 6)


def test_sjt_straightline_and_timing(rate_q: Path) -> None:
    recs = [
        # s1 flat, s2 flat, s3 varied: 2 of 3 scenarios -> 2/3 > 0.5: flagged
        {
            "candidate_id": "two",
            "seconds": 60,
            "answers": {
                "s1": {"a": 3, "b": 3, "c": 3, "d": 3},
                "s2": {"a": 4, "b": 4, "c": 4},
                "s3": {"a": 1, "b": 2, "c": 3, "d": 4},
            },
        },
        # s1 flat; s2 only one rated option (does not count); s3 varied: 1 of 2 = 0.5, not flagged
        {
            "candidate_id": "half",
            "seconds": 45,
            "answers": {
                "s1": {"a": 5, "b": 5, "c": 5, "d": 5},
                "s2": {"a": 4},
                "s3": {"a": 1, "b": 2},
            },
        },
        {"candidate_id": "none", "answers": _records({"x": CANDIDATES["mid"]})[0]["answers"]},
    ]
    res = repprofile.score(str(rate_q), recs)
    prof = {p["candidate_id"]: p["quality"] for p in res.to_dict()["profiles"]}
    assert prof["two"]["indices"]["sjt_straightline"] == pytest.approx(2 / 3)
    assert "sjt_straightline" in [f["index"] for f in prof["two"]["flags"]]
    assert prof["half"]["indices"]["sjt_straightline"] == pytest.approx(0.5)
    assert "sjt_straightline" not in [f["index"] for f in prof["half"]["flags"]]
    assert prof["none"]["indices"]["sjt_straightline"] == pytest.approx(0.0)
    # time / answered scenarios and time / rated options
    assert prof["two"]["indices"]["seconds_per_scenario"] == pytest.approx(60 / 3)
    assert prof["two"]["indices"]["seconds_per_option"] == pytest.approx(60 / 11)
    assert prof["half"]["indices"]["seconds_per_scenario"] == pytest.approx(45 / 3)
    assert prof["half"]["indices"]["seconds_per_option"] == pytest.approx(45 / 7)
    # 7.5 s per option is above 2.0, 15 s per scenario above 10: no timing flag for 'half'
    assert not {"seconds_per_scenario", "seconds_per_option"} & {
        f["index"] for f in prof["half"]["flags"]
    }
    # 'two': 60/11 = 5.45 s per option is fine, 20 s per scenario fine
    assert not {"seconds_per_scenario", "seconds_per_option"} & {
        f["index"] for f in prof["two"]["flags"]
    }


def test_fast_answers_flagged(rate_q: Path) -> None:
    rec = {
        "candidate_id": "fast",
        "seconds": 12,
        "answers": _records({"x": CANDIDATES["mid"]})[0]["answers"],
    }
    res = repprofile.score(str(rate_q), [rec])
    q = res.to_dict()["profiles"][0]["quality"]
    # 12 / 3 = 4 s per scenario (< 10), 12 / 11 = 1.09 s per option (< 2.0)
    assert q["indices"]["seconds_per_scenario"] == pytest.approx(4.0)
    assert q["indices"]["seconds_per_option"] == pytest.approx(12 / 11)
    flagged = {f["index"] for f in q["flags"]}
    assert {"seconds_per_scenario", "seconds_per_option"} <= flagged
    assert q["valid"] is False


# --------------------------------------------------------------------------- reliability (item 6)


def _scenario_distance(X: np.ndarray, item: str) -> np.ndarray:
    m = item == SCEN
    num = np.nansum((X[:, m] - KEYVEC[m]) ** 2, axis=1)
    den = np.sum(np.maximum((KEYVEC[m] - LO) ** 2, (HI - KEYVEC[m]) ** 2))
    return np.asarray(1 - num / den, dtype=float)


def test_split_half_spearman_brown(rate_q: Path) -> None:
    rng = np.random.default_rng(16)
    X = rng.integers(1, 7, size=(12, 11)).astype(float)
    rel = repprofile.reliability(str(rate_q), X)
    s1, s2, s3 = (_scenario_distance(X, i) for i in ("s1", "s2", "s3"))
    # total: odd-numbered scenarios s1, s3 vs even s2
    r = np.corrcoef((s1 + s3) / 2, s2)[0, 1]
    tot = rel.scales["total"]
    assert tot.split_half_r == pytest.approx(r, abs=1e-9)
    assert tot.split_half_spearman_brown == pytest.approx(2 * r / (1 + r), abs=1e-9)
    # alpha: s1 (odd) vs s2 (even)
    r_a = np.corrcoef(s1, s2)[0, 1]
    assert rel.scales["alpha"].split_half_r == pytest.approx(r_a, abs=1e-9)
    assert rel.scales["alpha"].split_half_spearman_brown == pytest.approx(
        2 * r_a / (1 + r_a), abs=1e-9
    )
    assert tot.caveat
    assert "heterogeneous" in tot.caveat


# --------------------------------------------------------------------------- item 4: SME keys


def _icc_by_hand(Y: np.ndarray, alpha: float = 0.05) -> dict[str, dict[str, float]]:
    """Shrout & Fleiss (1979) from the two-way ANOVA mean squares, with psych::ICC's F
    tests and confidence bounds (written here from the formulas, independent of repprofile)."""
    from scipy.stats import f as fdist

    n, k = Y.shape  # targets (options) x judges (experts)
    gm = Y.mean()
    ss_tot = np.sum((Y - gm) ** 2)
    ss_r = k * np.sum((Y.mean(axis=1) - gm) ** 2)
    ss_c = n * np.sum((Y.mean(axis=0) - gm) ** 2)
    ss_e = ss_tot - ss_r - ss_c
    msb = ss_r / (n - 1)
    msj = ss_c / (k - 1)
    mse = ss_e / ((n - 1) * (k - 1))
    msw = (ss_c + ss_e) / (n * (k - 1))
    icc1 = (msb - msw) / (msb + (k - 1) * msw)
    icc2 = (msb - mse) / (msb + (k - 1) * mse + k * (msj - mse) / n)
    icc3 = (msb - mse) / (msb + (k - 1) * mse)
    icc1k = (msb - msw) / msb
    icc2k = (msb - mse) / (msb + (msj - mse) / n)
    icc3k = (msb - mse) / msb
    f1, d11, d12 = msb / msw, n - 1, n * (k - 1)
    f3, d31, d32 = msb / mse, n - 1, (n - 1) * (k - 1)
    p1 = fdist.sf(f1, d11, d12)
    p3 = fdist.sf(f3, d31, d32)
    q = 1 - alpha / 2
    f1l = f1 / fdist.ppf(q, d11, d12)
    f1u = f1 * fdist.ppf(q, d12, d11)
    f3l = f3 / fdist.ppf(q, d31, d32)
    f3u = f3 * fdist.ppf(q, d32, d31)
    fj = msj / mse
    vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    fu = fdist.ppf(q, n - 1, v)
    fl = fdist.ppf(q, v, n - 1)
    l2 = n * (msb - fu * mse) / (fu * (k * msj + (k * n - k - n) * mse) + n * msb)
    u2 = n * (fl * msb - mse) / (k * msj + (k * n - k - n) * mse + n * fl * msb)

    def e(
        icc: float, f: float, a: float, b: float, p: float, lo: float, hi: float
    ) -> dict[str, float]:
        return {"icc": icc, "f": f, "df1": a, "df2": b, "p": p, "lower": lo, "upper": hi}

    return {
        "ICC1": e(icc1, f1, d11, d12, p1, (f1l - 1) / (f1l + k - 1), (f1u - 1) / (f1u + k - 1)),
        "ICC2": e(icc2, f3, d31, d32, p3, l2, u2),
        "ICC3": e(icc3, f3, d31, d32, p3, (f3l - 1) / (f3l + k - 1), (f3u - 1) / (f3u + k - 1)),
        "ICC1k": e(icc1k, f1, d11, d12, p1, 1 - 1 / f1l, 1 - 1 / f1u),
        "ICC2k": e(
            icc2k, f3, d31, d32, p3, l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))
        ),
        "ICC3k": e(icc3k, f3, d31, d32, p3, 1 - 1 / f3l, 1 - 1 / f3u),
    }


def _rwg_j(M: np.ndarray, a: int = 6) -> float:
    """James, Demaree & Wolf (1984) rwg(J): J options, mean SME variance (n - 1),
    uniform null (A^2 - 1) / 12; 0 when the experts disagree more than random."""
    j = M.shape[0]
    ratio = np.mean(M.var(axis=1, ddof=1)) / ((a**2 - 1) / 12)
    if ratio > 1:
        return 0.0
    return float(j * (1 - ratio) / (j * (1 - ratio) + ratio))


def _build_json(
    tmp_path: Path, q: Path, table: dict[str, list[Any]], *extra: str
) -> tuple[int, dict[str, Any], Path]:
    ratings = _write_ratings(tmp_path / "r.csv", table)
    out = tmp_path / "k.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "repprofile",
            "sjt",
            "key",
            "build",
            str(ratings),
            "-q",
            str(q),
            "-o",
            str(out),
            "--format",
            "json",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout), out


def test_key_build_json_contract_and_icc_by_hand(tmp_path: Path, rate_q: Path) -> None:
    rc, rep, out = _build_json(tmp_path, rate_q, SME)
    assert rc == 0
    assert {"n_experts", "agreement", "rwg", "options", "flags"} <= set(rep)
    assert rep["n_experts"] == 5
    assert set(rep["agreement"]) == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}
    want = _icc_by_hand(SME_M)
    for name, vals in want.items():
        got = rep["agreement"][name]
        assert set(got) == {"icc", "f", "df1", "df2", "p", "lower", "upper"}, name
        for field, v in vals.items():
            assert got[field] == pytest.approx(v, rel=1e-9, abs=1e-12), (name, field)
    # key: mean per option, SD (n - 1), n
    assert [(o["item"], o["option"]) for o in rep["options"]] == [
        tuple(c.split(".")) for c in COLUMNS
    ]
    for o, row in zip(rep["options"], SME_M, strict=True):
        assert set(o) == {"item", "option", "mean", "sd", "n"}
        assert o["mean"] == pytest.approx(row.mean(), abs=1e-12)
        assert o["sd"] == pytest.approx(row.std(ddof=1), abs=1e-12)
        assert o["n"] == 5
    # rwg per scenario
    for item in KEYS:
        assert rep["rwg"][item] == pytest.approx(_rwg_j(SME_M[item == SCEN]), abs=1e-12), item
    # the key file
    key = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert key["format"] == "repprofile-sjt-key"
    assert key["n_experts"] == 5
    assert key["options"]["s1"]["a"]["mean"] == pytest.approx(27 / 5)
    assert {int(k): v for k, v in key["options"]["s1"]["a"]["counts"].items()} == {
        1: 0,
        2: 0,
        3: 0,
        4: 1,
        5: 1,
        6: 3,
    }


def test_rwg_hand_worked(tmp_path: Path, rate_q: Path) -> None:
    """s2 in SME: variances (n-1) of 5 5 6 5 5 -> 0.2; 3 4 3 3 2 -> 0.5; 2 1 2 2 2 -> 0.2.
    Mean 0.3; sigma_EU^2 = 35/12; ratio 3.6/35 = 18/175; J = 3:
    rwg = 3 (157/175) / (3 (157/175) + 18/175) = 471 / 489."""
    _rc, rep, _ = _build_json(tmp_path, rate_q, SME)
    assert rep["rwg"]["s2"] == pytest.approx(471 / 489, abs=1e-12)


def test_rwg_zero_when_experts_disagree_more_than_random(tmp_path: Path, rate_q: Path) -> None:
    t = dict(SME)
    for c in ("s2.a", "s2.b", "s2.c"):
        t[c] = [1, 6, 1, 6, 1]  # variance 7.5 > 35/12
    _rc, rep, _ = _build_json(tmp_path, rate_q, t)
    assert rep["rwg"]["s2"] == 0.0


def test_icc_strong_rater_effect(tmp_path: Path, rate_q: Path) -> None:
    """A lenient expert (+2 on everything, capped at 6) and a strict one: ICC2 (absolute
    agreement) drops below ICC3 (consistency)."""
    base = np.array([[6, 1, 4, 2, 5, 3, 2, 3, 1, 5, 4]], float).T
    M = np.hstack(
        [base, np.minimum(base + 2, 6), np.maximum(base - 1, 1), base, np.minimum(base + 1, 6)]
    )
    table = {c: [int(v) for v in M[j]] for j, c in enumerate(COLUMNS)}
    _rc, rep, _ = _build_json(tmp_path, rate_q, table)
    want = _icc_by_hand(M)
    for name, vals in want.items():
        for field, v in vals.items():
            assert rep["agreement"][name][field] == pytest.approx(v, rel=1e-9, abs=1e-12), (
                name,
                field,
            )
    assert rep["agreement"]["ICC2"]["icc"] < rep["agreement"]["ICC3"]["icc"]


def test_flags_sd_and_best_gap(tmp_path: Path, rate_q: Path) -> None:
    t = dict(SME)
    t["s1.c"] = [1, 6, 2, 5, 4]  # SD sqrt(4.3) = 2.07 > 1
    t["s3.a"] = [6, 5, 6, 5, 6]  # mean 5.6 vs s3.c 5.8: top two 0.2 apart < 0.5
    rc, rep, _ = _build_json(tmp_path, rate_q, t)
    assert rc == 0
    for f in rep["flags"]:
        assert set(f) >= {"item", "option", "reason"}
    pairs = {(f["item"], f["option"]) for f in rep["flags"]}
    assert ("s1", "c") in pairs
    assert any(
        f["item"] == "s3" and f["option"] == "c" for f in rep["flags"]
    )  # names the top option
    assert not any(f["item"] == "s2" for f in rep["flags"])
    # a looser threshold removes the SD flag
    rc, rep2, _ = _build_json(tmp_path, rate_q, t, "--sd-threshold", "2.5", "--best-gap", "0.1")
    assert rep2["flags"] == []


def test_key_build_bad_rating_rejects_only_that_expert(tmp_path: Path, rate_q: Path) -> None:
    t = {c: list(v) for c, v in SME.items()}
    t["s2.b"][1] = 7
    rc, rep, _ = _build_json(tmp_path, rate_q, t)
    assert rc == 1
    assert rep["n_experts"] == 4
    text = json.dumps(rep.get("rejected"))
    assert "e2" in text
    assert "s2.b" in text
    assert "7" in text
    # the key is the mean of the other four experts
    o = next(o for o in rep["options"] if o["item"] == "s2" and o["option"] == "b")
    assert o["mean"] == pytest.approx((3 + 3 + 3 + 2) / 4)


def test_key_build_python_api(tmp_path: Path, rate_q: Path) -> None:
    ratings = _write_ratings(tmp_path / "r.csv", SME)
    res = repprofile.build_sjt_key(str(ratings), str(rate_q))
    d = res.to_dict()
    assert d["agreement"]["ICC3k"]["icc"] == pytest.approx(
        _icc_by_hand(SME_M)["ICC3k"]["icc"], rel=1e-12
    )


# --------------------------------------------------------------------------- item 5: bundled

ROOT = Path(__file__).resolve().parents[1]
COMPETENCY_IDS = [
    "ownership",
    "validation",
    "plan",
    "listening",
    "empathy",
    "apology",
    "action",
    "de_escalation",
]


@pytest.fixture(scope="module")
def sr_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(
        (ROOT / "questionnaires" / "service-recovery.yaml").read_text(encoding="utf-8")
    )
    return doc


def test_bundled_service_recovery_shape(sr_doc: dict[str, Any]) -> None:
    assert sr_doc["id"] == "service-recovery"
    assert str(sr_doc["version"]) == "1.0.0"
    items = [i for i in sr_doc["items"] if i.get("kind") == "sjt"]
    assert len(items) >= 16
    per_comp = dict.fromkeys(COMPETENCY_IDS, 0)
    types_seen = set()
    for it in items:
        assert it["response_format"] == "rate"
        assert 4 <= len(it["options"]) <= 5, it["id"]
        for c in it["competencies"]:
            per_comp[c] += 1
        for o in it["options"]:
            assert o.get("type") in SEVEN, (it["id"], o["id"])
            assert isinstance(o.get("key"), (int, float))
            types_seen.add(o["type"])
        # one clearly best option: at least half a point above the next (docs/sjt.md)
        ks = sorted((o["key"] for o in it["options"]), reverse=True)
        assert ks[0] - ks[1] >= 0.5 - 1e-12, it["id"]
    assert all(n >= 2 for n in per_comp.values()), per_comp
    assert types_seen == set(SEVEN)
    scale_ids = [s["id"] for s in sr_doc["scales"]]
    assert set(COMPETENCY_IDS) <= set(scale_ids)
    assert "service_recovery" in scale_ids
    assert sr_doc["sjt"]["key_draft"] is True
    assert "draft" in sr_doc["sjt"]["key_note"].lower()
    rs = sr_doc.get("sjt", {}).get("response_scale") or sr_doc["response_scale"]
    assert (rs["min"], rs["max"]) == (1, 6)


def _sr_columns(sr_doc: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    cols, keys, types, scen = [], [], [], []
    for it in sr_doc["items"]:
        if it.get("kind") != "sjt":
            continue
        for o in it["options"]:
            cols.append(f"{it['id']}.{o['id']}")
            keys.append(float(o["key"]))
            types.append(o["type"])
            scen.append(it["id"])
    return cols, np.array(keys), np.array(types), np.array(scen)


def test_bundled_default_standardized_and_draft_label(sr_doc: dict[str, Any]) -> None:
    cols, keys, _, _ = _sr_columns(sr_doc)
    rng = np.random.default_rng(5)
    x = rng.integers(1, 7, size=len(cols)).astype(float)
    res = repprofile.score("service-recovery", {c: int(v) for c, v in zip(cols, x, strict=True)})
    assert res.errors == []
    r = np.corrcoef(x, keys)[0, 1]
    assert _pomp(res, "1", "service_recovery") == pytest.approx(100 * (1 + r) / 2, abs=1e-9)
    prov = res.to_dict()["provenance"]
    assert prov["sjt_method"] == "standardized"
    assert prov["sjt_key_draft"] is True


def test_rep_hiring_includes_both_and_rep_types_unchanged(
    tmp_path: Path, sr_doc: dict[str, Any]
) -> None:
    q = repprofile.load_questionnaire("rep-hiring")
    rt = repprofile.load_questionnaire("rep-types")
    sr = repprofile.load_questionnaire("service-recovery")
    assert list(q.scale_ids) == list(rt.scale_ids) + list(sr.scale_ids)
    sample = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
    lines = sample.read_text(encoding="utf-8").splitlines()
    cols, keys, _, _ = _sr_columns(sr_doc)
    rng = np.random.default_rng(7)
    out = [lines[0] + "," + ",".join(cols)]
    for ln in lines[1:]:
        out.append(ln + "," + ",".join(str(v) for v in rng.integers(1, 7, size=len(cols))))
    both_csv = tmp_path / "both.csv"
    both_csv.write_text("\n".join(out) + "\n", encoding="utf-8")
    a = repprofile.score("rep-types", str(sample))
    b = repprofile.score("rep-hiring", str(both_csv))
    n = len(rt.scale_ids)
    assert list(b.scale_ids[:n]) == list(a.scale_ids)
    np.testing.assert_array_equal(b.raw[:, :n], a.raw)
    np.testing.assert_array_equal(b.pomp[:, :n], a.pomp)
    np.testing.assert_array_equal(b.n_answered[:, :n], a.n_answered)
    assert list(b.primary_type) == list(a.primary_type)
    # SJT part: the standardized total is 100 (1 + r) / 2 per candidate
    X = np.array([[float(v) for v in ln.split(",")[-len(cols) :]] for ln in out[1:]])
    tot = b.scale_ids.index("service_recovery")
    for row in range(X.shape[0]):
        r = np.corrcoef(X[row], keys)[0, 1]
        assert b.pomp[row, tot] == pytest.approx(100 * (1 + r) / 2, abs=1e-9)
    # Likert quality indices are those of rep-types alone
    qa = [p["quality"]["indices"]["longstring"] for p in a.to_dict()["profiles"]]
    qb = [p["quality"]["indices"]["longstring"] for p in b.to_dict()["profiles"]]
    assert qa == qb


def test_rep_hiring_without_sjt_answers_keeps_rep_types_scores() -> None:
    sample = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
    a = repprofile.score("rep-types", str(sample))
    with pytest.warns(repprofile.RepprofileWarning, match="sr01.a"):
        b = repprofile.score("rep-hiring", str(sample))
    n = len(a.scale_ids)
    np.testing.assert_array_equal(b.pomp[:, :n], a.pomp)
    assert np.isnan(b.pomp[:, n:]).all()


def test_sjt_roles(sr_doc: dict[str, Any]) -> None:
    ids = {r.id if hasattr(r, "id") else r for r in repprofile.list_roles()}
    for base in ("escalations", "retention", "general-frontline", "complex-support"):
        assert base in ids
        assert f"{base}-sjt" in ids
        old = repprofile.load_role(base)
        assert old.questionnaire == "rep-types"
        new = repprofile.load_role(f"{base}-sjt")
        assert new.questionnaire == "rep-hiring"
        assert new.rationale
        # the trait weights of the rep-types role are kept
        for s, w in old.weights.items():
            assert new.weights.get(s) == w, (base, s)
    esc = repprofile.load_role("escalations-sjt").weights
    skill = {s: w for s, w in esc.items() if s in COMPETENCY_IDS}
    assert sorted(skill, key=lambda s: -skill[s])[:2] == ["de_escalation", "ownership"]
    ret = repprofile.load_role("retention-sjt").weights
    skill = {s: w for s, w in ret.items() if s in COMPETENCY_IDS}
    assert set(sorted(skill, key=lambda s: -skill[s])[:2]) == {"validation", "action"}


def test_fit_uses_skill_scales(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    """fit = 100 / (1 + exp(-1.702 C)), C = sum a_s z_s, a_s = w_s / sqrt(sum w^2),
    z = (pomp - 50) / 25 without norms (docs/role-fit.md), over traits and skills."""
    sample = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
    lines = sample.read_text(encoding="utf-8").splitlines()[:4]
    cols, *_ = _sr_columns(sr_doc)
    rng = np.random.default_rng(3)
    out = [lines[0] + "," + ",".join(cols)]
    for ln in lines[1:]:
        out.append(ln + "," + ",".join(str(v) for v in rng.integers(1, 7, size=len(cols))))
    p = tmp_path / "h.csv"
    p.write_text("\n".join(out) + "\n", encoding="utf-8")
    res = repprofile.score("rep-hiring", str(p))
    role = repprofile.load_role("escalations-sjt")
    fr = repprofile.fit(res, role)
    w = {s: v for s, v in role.weights.items() if v != 0}
    norm = math.sqrt(sum(v * v for v in w.values()))
    for row in range(len(res)):
        C = sum(v / norm * (res.pomp[row, res.scale_ids.index(s)] - 50) / 25 for s, v in w.items())
        assert fr.composite[row] == pytest.approx(C, abs=1e-9)
        assert fr.fit[row] == pytest.approx(100 / (1 + math.exp(-1.702 * C)), abs=1e-9)


def test_mtmm_table_on_rep_hiring(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    rt = repprofile.load_questionnaire("rep-types")
    likert_cols = list(rt.item_ids)
    cols, _, types, _ = _sr_columns(sr_doc)
    rng = np.random.default_rng(11)
    n = 40
    L = rng.integers(1, 6, size=(n, len(likert_cols))).astype(float)
    S = rng.integers(1, 7, size=(n, len(cols))).astype(float)
    header = ["candidate_id", *likert_cols, *cols]
    rows = [",".join(header)] + [
        ",".join([f"c{i}", *(str(int(v)) for v in L[i]), *(str(int(v)) for v in S[i])])
        for i in range(n)
    ]
    p = tmp_path / "m.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rel = repprofile.reliability("rep-hiring", str(p))
    assert rel.mtmm is not None
    self_rep = repprofile.score("rep-types", L)
    Z = (S - S.mean(axis=1, keepdims=True)) / S.std(axis=1, keepdims=True)
    pref = {t: Z[:, types == t].mean(axis=1) for t in SEVEN}
    scored = self_rep.scored
    for i, ti in enumerate(rel.mtmm.types):
        sr_pomp = self_rep.pomp[:, self_rep.scale_ids.index(ti)]
        for j, tj in enumerate(rel.mtmm.types):
            ok = scored & ~np.isnan(sr_pomp)
            want = np.corrcoef(sr_pomp[ok], pref[tj][ok])[0, 1]
            assert rel.mtmm.r[i][j] == pytest.approx(want, abs=1e-9), (ti, tj)
        assert rel.mtmm.convergent[ti] == pytest.approx(rel.mtmm.r[i][i], abs=1e-12)
    assert set(rel.mtmm.types) == set(SEVEN)


def test_no_mtmm_without_rep_types(rate_q: Path) -> None:
    X = np.random.default_rng(2).integers(1, 7, size=(10, 11)).astype(float)
    assert repprofile.reliability(str(rate_q), X).mtmm is None


# ------------------------------------------------------ CLI, report, chart, assess, template


def _cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repprofile", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        cwd=cwd,
        timeout=120,
    )


def _answers_csv(path: Path, rows: dict[str, np.ndarray]) -> Path:
    lines = [",".join(["candidate_id", *COLUMNS])]
    for cid, vec in rows.items():
        lines.append(",".join([cid] + ["" if np.isnan(v) else str(int(v)) for v in vec]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("distance", exp_distance),
        ("absolute", exp_absolute),
        ("standardized", exp_standardized),
        ("correlation", exp_correlation),
    ],
)
def test_cli_sjt_method(tmp_path: Path, rate_q: Path, method: str, expected: Any) -> None:
    csv = _answers_csv(
        tmp_path / "a.csv",
        {"mid": CANDIDATES["mid"], "partial": CANDIDATES["partial"], "flat": FLAT},
    )
    proc = _cli("score", str(csv), "-q", str(rate_q), "--sjt-method", method, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["provenance"]["sjt_method"] == method
    prof = {p["candidate_id"]: p for p in d["profiles"]}
    for cid in ("mid", "partial"):
        for scale in ("alpha", "beta", "total"):
            assert prof[cid]["scales"][scale]["pomp"] == pytest.approx(
                expected(CANDIDATES[cid] if cid != "flat" else FLAT, scale), abs=1e-9
            )
    if method in ("standardized", "correlation"):
        assert prof["flat"]["scales"]["total"]["pomp"] is None
        assert prof["flat"]["scales"]["total"]["reason"]


def test_cli_sjt_key_and_mode(tmp_path: Path, rate_q: Path, sme_key: Path) -> None:
    csv = _answers_csv(tmp_path / "a.csv", {"mid": CANDIDATES["mid"]})
    proc = _cli(
        "score",
        str(csv),
        "-q",
        str(rate_q),
        "--sjt-key",
        str(sme_key),
        "--sjt-method",
        "proportion",
        "--format",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    _, ep = _mode_prop(CANDIDATES["mid"], "total")
    assert d["profiles"][0]["scales"]["total"]["pomp"] == pytest.approx(ep, abs=1e-9)
    api = repprofile.score(str(rate_q), str(csv), sjt_key=str(sme_key)).to_dict()["provenance"][
        "sjt_key_sha256"
    ]
    assert d["provenance"]["sjt_key_sha256"] == api
    # mode without a key: a usage/input error, exit 2
    proc = _cli("score", str(csv), "-q", str(rate_q), "--sjt-method", "mode")
    assert proc.returncode == 2
    assert "key" in proc.stderr.lower()


def test_cli_csv_output_has_skill_scales(tmp_path: Path, rate_q: Path) -> None:
    csv = _answers_csv(tmp_path / "a.csv", {"mid": CANDIDATES["mid"]})
    proc = _cli("score", str(csv), "-q", str(rate_q), "--sjt-method", "distance", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.strip().splitlines()[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    assert float(cells["alpha_pomp"]) == pytest.approx(100 * (1 - 17 / 116), abs=1e-4)


def test_template_csv_has_sjt_columns(tmp_path: Path, rate_q: Path) -> None:
    proc = _cli("questionnaire", "template", str(rate_q))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split(",") == ["candidate_id", *COLUMNS]
    ml = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    proc = _cli("questionnaire", "template", str(ml))
    assert proc.stdout.splitlines()[0].split(",") == ["candidate_id"] + [
        f"s{i}.{w}" for i in (1, 2, 3) for w in ("most", "least")
    ]
    best = _write(tmp_path / "best.yaml", _sjt_yaml(qid="bb-best", fmt="best", method="best"))
    proc = _cli("questionnaire", "template", str(best))
    assert proc.stdout.splitlines()[0].split(",") == [
        "candidate_id",
        "s1.best",
        "s2.best",
        "s3.best",
    ]
    proc = _cli("questionnaire", "template", str(rate_q), "--format", "md")
    assert proc.returncode == 0
    assert "Scenario s1" in proc.stdout
    assert "Option s1a" in proc.stdout


def test_assess_rate(tmp_path: Path, rate_q: Path) -> None:
    keys = "".join(f"{int(v)}\n" for v in CANDIDATES["mid"]) + "\n"
    proc = _cli(
        "assess",
        "-q",
        str(rate_q),
        "--candidate",
        "zz",
        "--out",
        str(tmp_path),
        "--show-results",
        stdin=keys,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Scenario s1" in proc.stdout
    assert "Option s1a" in proc.stdout
    d = json.loads((tmp_path / "zz.json").read_text(encoding="utf-8"))
    assert d["profiles"][0]["scales"]["alpha"]["pomp"] == pytest.approx(
        100 * (1 - 17 / 116), abs=1e-9
    )
    assert d["profiles"][0]["scales"]["beta"]["pomp"] == pytest.approx(
        exp_distance(CANDIDATES["mid"], "beta"), abs=1e-9
    )


def test_assess_most_least(tmp_path: Path) -> None:
    ml = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    # 'mixed': s1 most a least d; s2 most b least a; s3 most c least d (1-based positions)
    proc = _cli(
        "assess",
        "-q",
        str(ml),
        "--candidate",
        "mm",
        "--out",
        str(tmp_path),
        "--show-results",
        stdin="1\n4\n2\n1\n3\n4\n\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "MOST" in proc.stdout.upper()
    assert "LEAST" in proc.stdout.upper()
    d = json.loads((tmp_path / "mm.json").read_text(encoding="utf-8"))
    assert d["profiles"][0]["scales"]["total"]["pomp"] == pytest.approx(100 * 7 / 12, abs=1e-9)


def _distinct_ratings(sr_doc: dict[str, Any], seed: int) -> dict[str, int]:
    """A unique highest rating in every scenario."""
    rng = np.random.default_rng(seed)
    out = {}
    for it in sr_doc["items"]:
        vals = rng.permutation([1, 2, 3, 4, 5, 6])[: len(it["options"])]
        for o, v in zip(it["options"], vals, strict=True):
            out[f"{it['id']}.{o['id']}"] = int(v)
    return out


def test_report_service_recovery_section(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    import html as htmlmod

    ratings = _distinct_ratings(sr_doc, 21)
    sample = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
    head, first = sample.read_text(encoding="utf-8").splitlines()[:2]
    cols = list(ratings)
    p = tmp_path / "h.csv"
    p.write_text(
        head
        + ","
        + ",".join(cols)
        + "\n"
        + first
        + ","
        + ",".join(str(ratings[c]) for c in cols)
        + "\n",
        encoding="utf-8",
    )
    cid = first.split(",")[0]
    out = tmp_path / "r.html"
    proc = _cli(
        "report",
        str(p),
        "-q",
        "rep-hiring",
        "--role",
        "escalations-sjt",
        "--candidate",
        cid,
        "--format",
        "html",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    text = htmlmod.unescape(out.read_text(encoding="utf-8"))
    assert "Service recovery judgement" in text
    sec = text[text.index("Service recovery judgement") :]
    assert "draft" in sec.lower()
    # the two weakest competencies (by pomp) get a probe with a scenario of theirs, the
    # option the candidate rated highest and the keyed best option
    res = repprofile.score("rep-hiring", str(p))
    pomps = {c: res.pomp[0, res.scale_ids.index(c)] for c in COMPETENCY_IDS}
    weakest = sorted(pomps, key=lambda c: pomps[c])[:2]
    names = {s["id"]: s["name"] for s in sr_doc["scales"]}
    for comp in weakest:
        assert names[comp] in sec, comp
        found = False
        for it in sr_doc["items"]:
            if comp not in it["competencies"] or it["scenario"] not in sec:
                continue
            top = max(it["options"], key=lambda o: ratings[f"{it['id']}.{o['id']}"])
            best = max(it["options"], key=lambda o: o["key"])
            found = top["text"] in sec and best["text"] in sec
            if found:
                break
        assert found, comp


def test_chart_skills(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    ratings = _distinct_ratings(sr_doc, 4)
    p = tmp_path / "s.json"
    p.write_text(json.dumps([{"candidate_id": "c1", "answers": ratings}]), encoding="utf-8")
    out = tmp_path / "c.svg"
    proc = _cli(
        "chart",
        str(p),
        "-q",
        "service-recovery",
        "--candidate",
        "c1",
        "--scales",
        "skills",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    svg = out.read_text(encoding="utf-8")
    names = {s["id"]: s["name"] for s in sr_doc["scales"]}
    # labels may be wrapped over two lines: look for each name's first word
    assert all(names[c].split()[0] in svg for c in COMPETENCY_IDS)
    assert "Alpha" not in svg
    assert names["service_recovery"] not in svg


# --------------------------------------------------------------------------- more input rules


@pytest.mark.parametrize(
    ("answers", "value", "words"),
    [
        ({"s1": {"a": 4.5, "b": 2}}, "4.5", ["whole"]),
        ({"s1": {"a": 0, "b": 2}}, "0", ["1", "6"]),
        ({"s1": 5}, "5", ["option"]),
    ],
)
def test_bad_sjt_values(
    rate_q: Path, answers: dict[str, Any], value: str, words: list[str]
) -> None:
    res = repprofile.score(
        str(rate_q),
        [
            {"candidate_id": "bad", "answers": answers},
            {"candidate_id": "ok", "answers": {"s1": {"a": 6, "b": 1}}},
        ],
    )
    assert res.scored.tolist() == [False, True]
    (e,) = res.errors
    assert e.candidate_id == "bad"
    assert "s1" in str(e.item_id)
    assert value in _err_text(e)
    for w in words:
        assert w in e.message


def test_same_option_most_and_least_rejected(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    res = repprofile.score(
        str(q), [{"candidate_id": "same", "answers": {"s1": {"most": "a", "least": "a"}}}]
    )
    (e,) = res.errors
    assert e.candidate_id == "same"
    assert "s1" in _err_text(e)


@pytest.mark.xfail(
    strict=True,
    reason="BUG: one JSON record rating the same option twice with different values (nested "
    '{"s1": {"a": 4}} and flat {"s1.a": 5}) is accepted silently, one value winning; '
    "expected the candidate rejected with a message naming the conflict",
)
def test_conflicting_nested_and_flat_answers_rejected(rate_q: Path) -> None:
    res = repprofile.score(
        str(rate_q), [{"candidate_id": "x", "answers": {"s1": {"a": 4, "b": 2}, "s1.a": 5}}]
    )
    assert res.scored.tolist() == [False]
    assert res.errors
    assert res.errors[0].candidate_id == "x"


# --------------------------------------------------------------------------- norms (item 6)


def test_norms_for_skill_scales(rate_q: Path) -> None:
    import warnings

    X = np.random.default_rng(0).integers(1, 7, size=(120, 11)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nt = repprofile.build_norms(
            str(rate_q),
            X,
            description="black-box sample",
            created="2026-01-01",
            sjt_method="distance",
        )
    pomps = np.array([exp_distance(x, "total") for x in X])
    new = CANDIDATES["mid"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = repprofile.score(str(rate_q), _records({"mid": new}), norms=nt, sjt_method="distance")
    z = _profile_scale(res, "mid", "total")["z"]
    assert z == pytest.approx(
        (exp_distance(new, "total") - pomps.mean()) / pomps.std(ddof=1), abs=1e-9
    )


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a norm table built from 'distance' scores silently z-scores 'absolute' (or any "
    "other method's) scores; the table does not record the SJT method/key and scoring with "
    "another method is neither refused nor warned",
)
def test_norms_of_another_method_refused_or_warned(rate_q: Path) -> None:
    import warnings

    X = np.random.default_rng(0).integers(1, 7, size=(120, 11)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nt = repprofile.build_norms(
            str(rate_q),
            X,
            description="black-box sample",
            created="2026-01-01",
            sjt_method="distance",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((repprofile.RepprofileError, repprofile.RepprofileWarning)):
            repprofile.score(
                str(rate_q), _records({"mid": CANDIDATES["mid"]}), norms=nt, sjt_method="absolute"
            )


# --------------------------------------------------------------------------- HTTP (item 6)


def test_http_score_nested_sjt_answers(client: Any, sr_doc: dict[str, Any]) -> None:
    from ._server_helpers import AUTH

    ratings = _distinct_ratings(sr_doc, 8)
    nested: dict[str, dict[str, int]] = {}
    for col, v in ratings.items():
        i, o = col.split(".")
        nested.setdefault(i, {})[o] = v
    body = {
        "questionnaire": "service-recovery",
        "candidates": [{"candidate_id": "h1", "answers": nested}],
    }
    r = client.post("/v1/score", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    d = r.json()
    cols, keys, types, _ = _sr_columns(sr_doc)
    x = np.array([ratings[c] for c in cols], float)
    rho = np.corrcoef(x, keys)[0, 1]
    prof = d["profiles"][0]
    assert prof["scales"]["service_recovery"]["pomp"] == pytest.approx(
        100 * (1 + rho) / 2, abs=1e-9
    )
    z = (x - x.mean()) / x.std()
    assert prof["sjt_type_preference"]["rock"] == pytest.approx(
        float(z[types == "rock"].mean()), abs=1e-9
    )
    assert d["provenance"]["sjt_key_draft"] is True
    # the same as the Python API
    api = repprofile.score(
        "service-recovery", [{"candidate_id": "h1", "answers": nested}]
    ).to_dict()
    assert prof["scales"] == api["profiles"][0]["scales"]


def test_http_bad_sjt_value_rejects_only_candidate(client: Any) -> None:
    from ._server_helpers import AUTH

    body = {
        "questionnaire": "service-recovery",
        "candidates": [
            {"candidate_id": "bad", "answers": {"sr01": {"a": 9}}},
            {"candidate_id": "ok", "answers": {"sr01": {"a": 4, "b": 2}}},
        ],
    }
    r = client.post("/v1/score", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    d = r.json()
    assert [p["candidate_id"] for p in d["profiles"]] == ["ok"]
    (e,) = d["errors"]
    assert e["candidate_id"] == "bad"
    assert "sr01" in e["item_id"]
    assert e["value"] == 9


# --------------------------------------------------------------------------- documented details


def test_standardized_competency_clipped_at_zero(rate_q: Path) -> None:
    """On alpha this candidate's z distance is 1.009 x 4 n_s (worked out with numpy from
    the formula): the pomp is clipped to 0, never negative (docs/sjt.md)."""
    vec = np.array([1, 5, 4, 4, 2, 4, 5, 3, 3, 6, 5], float)
    zx = (vec - vec.mean()) / vec.std()
    zk = (KEYVEC - KEYVEC.mean()) / KEYVEC.std()
    m = np.isin(SCEN, ["s1", "s2"])
    assert np.sum((zx[m] - zk[m]) ** 2) > 4 * m.sum()
    res = repprofile.score(str(rate_q), _records({"c": vec}), sjt_method="standardized")
    assert _pomp(res, "c", "alpha") == 0.0
    r = np.corrcoef(vec, KEYVEC)[0, 1]
    assert _pomp(res, "c", "total") == pytest.approx(100 * (1 + r) / 2, abs=1e-9)


def _raw(res: repprofile.ScoreResult, cid: str, scale: str) -> float:
    return float(res.raw[list(res.candidate_ids).index(cid), res.scale_ids.index(scale)])


def test_raw_per_method(rate_q: Path, sme_key: Path) -> None:
    """docs/sjt.md: what raw holds per method; 'mid' on alpha worked on paper above:
    sum (r - k)^2 = 17, sum |r - k| = 9."""
    vec = CANDIDATES["mid"]
    recs = _records({"mid": vec})
    assert _raw(repprofile.score(str(rate_q), recs, sjt_method="distance"), "mid", "alpha") == 17
    assert _raw(repprofile.score(str(rate_q), recs, sjt_method="absolute"), "mid", "alpha") == 9
    zx = (vec - vec.mean()) / vec.std()
    zk = (KEYVEC - KEYVEC.mean()) / KEYVEC.std()
    m = np.isin(SCEN, ["s2", "s3"])
    st = repprofile.score(str(rate_q), recs, sjt_method="standardized")
    assert _raw(st, "mid", "beta") == pytest.approx(np.sum((zx[m] - zk[m]) ** 2), abs=1e-9)
    co = repprofile.score(str(rate_q), recs, sjt_method="correlation")
    assert _raw(co, "mid", "beta") == pytest.approx(np.corrcoef(vec[m], KEYVEC[m])[0, 1], abs=1e-12)
    # mode: count of modal ratings; proportion: the sum of SME shares (total, 11 options)
    em, ep = _mode_prop(vec, "total")
    mo = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key), sjt_method="mode")
    pr = repprofile.score(str(rate_q), recs, sjt_key=str(sme_key), sjt_method="proportion")
    assert _raw(mo, "mid", "total") == pytest.approx(em / 100 * 11, abs=1e-9)
    assert _raw(pr, "mid", "total") == pytest.approx(ep / 100 * 11, abs=1e-9)


def test_most_least_scenario_needs_both_picks(tmp_path: Path) -> None:
    """docs/sjt.md: a most_least scenario counts as answered when both picks are given."""
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    ans = {"s1": {"most": "a"}, "s2": {"most": "a", "least": "c"}, "s3": {"least": "b"}}
    res = repprofile.score(str(q), [{"candidate_id": "h", "answers": ans}])
    n = dict(zip(res.scale_ids, res.n_answered[0].tolist(), strict=True))
    assert n == {"alpha": 1, "beta": 1, "total": 1}
    assert _pomp(res, "h", "alpha") == pytest.approx(100.0)  # s2 only: +2 of 2


def test_method_not_fitting_the_format_refused(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    with pytest.raises(repprofile.RepprofileError) as ei:
        repprofile.score(str(q), {"s1": {"most": "a", "least": "b"}}, sjt_method="distance")
    assert "most_least" in str(ei.value)
    rq = _write(tmp_path / "r.yaml", _sjt_yaml())
    with pytest.raises(repprofile.RepprofileError) as ei:
        repprofile.score(str(rq), {"s1": {"a": 4}}, sjt_method="best")
    assert "distance" in str(ei.value)


def test_mixed_response_formats_refused_when_scored(tmp_path: Path) -> None:
    doc = _sjt_yaml()
    doc["items"][2]["response_format"] = "most_least"
    q = _write(tmp_path / "mix.yaml", doc)
    with pytest.raises(repprofile.RepprofileError) as ei:
        repprofile.score(str(q), {"s1": {"a": 6, "b": 1}})
    assert "most_least" in str(ei.value)
    assert "rate" in str(ei.value)


def test_validate_refuses_mixed_response_formats(tmp_path: Path) -> None:
    doc = _sjt_yaml()
    doc["items"][2]["response_format"] = "most_least"
    q = _write(tmp_path / "mix.yaml", doc)
    proc = _cli("questionnaire", "validate", str(q))
    assert proc.returncode != 0


# --------------------------------------------------------------------------- key file checks


def _key_variant(tmp_path: Path, sme_key: Path, name: str, change: Any) -> Path:
    doc = yaml.safe_load(sme_key.read_text(encoding="utf-8"))
    change(doc)
    out = tmp_path / name
    out.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return out


def test_key_file_checked_against_questionnaire(
    tmp_path: Path, rate_q: Path, sme_key: Path
) -> None:
    ans = {"s1": {"a": 4, "b": 2}}

    def drop(d: dict[str, Any]) -> None:
        del d["options"]["s1"]["a"]

    def mean9(d: dict[str, Any]) -> None:
        d["options"]["s1"]["a"]["mean"] = 9

    def scale15(d: dict[str, Any]) -> None:
        d["rating_scale"] = {"min": 1, "max": 5}
        for it in d["options"].values():
            for o in it.values():
                o["mean"] = min(o["mean"], 5.0)
                c = o["counts"]
                c[5] = c.get(5, 0) + c.pop(6, 0)

    for name, change, words in (
        ("drop.yaml", drop, ["s1.a"]),
        ("mean9.yaml", mean9, ["s1", "9"]),
        ("scale15.yaml", scale15, ["1-6", "1-5"]),
    ):
        key = _key_variant(tmp_path, sme_key, name, change)
        with pytest.raises(repprofile.QuestionnaireError) as ei:
            repprofile.score(str(rate_q), ans, sjt_key=str(key))
        for w in words:
            assert w in str(ei.value), (name, w)
    # a key for another questionnaire
    with pytest.raises(repprofile.QuestionnaireError):
        repprofile.score("service-recovery", {"sr01": {"a": 4}}, sjt_key=str(sme_key))


def test_key_build_unknown_and_missing_columns_exit_2(tmp_path: Path, rate_q: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("expert_id,s1.a,s1.zz\ne1,3,4\n", encoding="utf-8")
    proc = _cli("sjt", "key", "build", str(p), "-q", str(rate_q), "-o", str(tmp_path / "k.yaml"))
    assert proc.returncode == 2
    assert "s1.zz" in proc.stderr
    assert "s3.d" in proc.stderr
    assert not (tmp_path / "k.yaml").exists()


def test_sme_key_on_bundled_test_is_not_draft(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    cols, keys, _, _ = _sr_columns(sr_doc)
    rng = np.random.default_rng(12)
    table = {
        c: [int(np.clip(round(k + d), 1, 6)) for d in rng.normal(0, 0.7, 10)]
        for c, k in zip(cols, keys, strict=True)
    }
    ratings = _write_ratings(tmp_path / "sr.csv", table)
    key = tmp_path / "sr-key.yaml"
    proc = _cli("sjt", "key", "build", str(ratings), "-q", "service-recovery", "-o", str(key))
    assert proc.returncode == 0, proc.stderr
    x = np.array([table[c][0] for c in cols], float)  # expert 1 as a candidate
    ans = {c: int(v) for c, v in zip(cols, x, strict=True)}
    res = repprofile.score("service-recovery", ans, sjt_key=str(key), sjt_method="distance")
    prov = res.to_dict()["provenance"]
    assert prov["sjt_key_draft"] is False
    assert prov["sjt_key_sha256"]
    k = np.array([np.mean(table[c]) for c in cols])
    want = 100 * (1 - np.sum((x - k) ** 2) / np.sum(np.maximum((k - 1) ** 2, (6 - k) ** 2)))
    assert _pomp(res, "1", "service_recovery") == pytest.approx(want, abs=1e-9)
    draft = repprofile.score("service-recovery", ans).to_dict()["provenance"]
    assert draft["sjt_key_draft"] is True


def test_flat_rater_type_preference_null(rate_q: Path) -> None:
    res = repprofile.score(str(rate_q), _records({"flat": FLAT}))
    assert all(v is None for v in res.to_dict()["profiles"][0]["sjt_type_preference"].values())


def test_rate_only_quality_indices_unavailable_for_most_least(tmp_path: Path) -> None:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    res = repprofile.score(str(q), [{"candidate_id": "m", "answers": _pick_answers(ML["top"])}])
    qual = res.to_dict()["profiles"][0]["quality"]
    assert qual["indices"]["sjt_straightline"] is None
    assert qual["unavailable"]["sjt_straightline"]


def test_correlation_null_when_key_constant_on_scale(tmp_path: Path) -> None:
    keys = {
        "s1": dict.fromkeys("abcd", 3.0),
        "s2": dict.fromkeys("abc", 3.0),
        "s3": KEYS["s3"],
    }
    q = _write(tmp_path / "c.yaml", _sjt_yaml(keys=keys))
    vec = CANDIDATES["mid"]
    res = repprofile.score(str(q), _records({"c": vec}), sjt_method="correlation")
    alpha = _profile_scale(res, "c", "alpha")
    assert alpha["pomp"] is None
    assert "key" in alpha["reason"]
    k = np.array([keys[i][o] for i in keys for o in keys[i]])
    m = np.isin(SCEN, ["s2", "s3"])
    want = 100 * (1 + np.corrcoef(vec[m], k[m])[0, 1]) / 2
    assert _pomp(res, "c", "beta") == pytest.approx(want, abs=1e-9)


def test_report_with_sme_key_has_no_draft_caution(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    import html as htmlmod

    cols, keys, _, _ = _sr_columns(sr_doc)
    rng = np.random.default_rng(13)
    table = {
        c: [int(np.clip(round(k + d), 1, 6)) for d in rng.normal(0, 0.7, 10)]
        for c, k in zip(cols, keys, strict=True)
    }
    ratings = _write_ratings(tmp_path / "sr.csv", table)
    key = tmp_path / "sr-key.yaml"
    assert (
        _cli(
            "sjt", "key", "build", str(ratings), "-q", "service-recovery", "-o", str(key)
        ).returncode
        == 0
    )
    ans = _distinct_ratings(sr_doc, 2)
    sample = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
    head, first = sample.read_text(encoding="utf-8").splitlines()[:2]
    p = tmp_path / "h.csv"
    p.write_text(
        head
        + ","
        + ",".join(ans)
        + "\n"
        + first
        + ","
        + ",".join(str(v) for v in ans.values())
        + "\n",
        encoding="utf-8",
    )
    cid = first.split(",")[0]
    outs = {}
    for label, extra in (("draft", []), ("sme", ["--sjt-key", str(key)])):
        out = tmp_path / f"{label}.html"
        proc = _cli(
            "report", str(p), "-q", "rep-hiring", "--role", "retention-sjt", "--candidate", cid,
            "--format", "html", "-o", str(out), *extra,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        t = htmlmod.unescape(out.read_text(encoding="utf-8"))
        outs[label] = t[t.index("Service recovery judgement") :].lower()
    assert "draft key" in outs["draft"]
    assert "draft key" not in outs["sme"]


def test_rank_cli_with_sjt_role(tmp_path: Path, sr_doc: dict[str, Any]) -> None:
    sample = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
    lines = sample.read_text(encoding="utf-8").splitlines()[:5]
    cols, *_ = _sr_columns(sr_doc)
    rng = np.random.default_rng(9)
    out = [lines[0] + "," + ",".join(cols)]
    out += [
        ln + "," + ",".join(str(v) for v in rng.integers(1, 7, size=len(cols))) for ln in lines[1:]
    ]
    p = tmp_path / "h.csv"
    p.write_text("\n".join(out) + "\n", encoding="utf-8")
    proc = _cli("rank", str(p), "-q", "rep-hiring", "--role", "escalations-sjt", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    res = repprofile.score("rep-hiring", str(p))
    fr = repprofile.fit(res, repprofile.load_role("escalations-sjt"))
    order = [res.candidate_ids[i] for i in np.argsort(-fr.composite, kind="stable")]
    assert [c["candidate_id"] for c in d["ranking"]] == order
    assert {"de_escalation", "ownership"} <= set(d["ranking"][0]["contributions"])


# ------------------------------------------------------------------ survey imports (item 6)


def test_google_forms_rate_grid_mapping(tmp_path: Path, rate_q: Path) -> None:
    mapping = tmp_path / "map.yaml"
    proc = _cli("questionnaire", "template", str(rate_q), "--format", "mapping", "-o", str(mapping))
    assert proc.returncode == 0, proc.stderr
    texts = [(i, o) for i in KEYS for o in KEYS[i]]
    header = ["Timestamp", "Email Address"] + [f"Scenario {i} [Option {i}{o}]" for i, o in texts]
    labels = {1: "Very ineffective", 6: "Very effective"}
    row = ["2026/01/01 10:00:00", "m@x.org"] + [
        labels.get(int(v), str(int(v))) for v in CANDIDATES["mid"]
    ]
    export = tmp_path / "gf.csv"
    export.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    proc = _cli(
        "score", str(export), "-q", str(rate_q), "--mapping", str(mapping), "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["profiles"][0]["candidate_id"] == "m@x.org"
    assert d["profiles"][0]["scales"]["alpha"]["pomp"] == pytest.approx(
        100 * (1 - 17 / 116), abs=1e-9
    )


def _ml_export(tmp_path: Path, cells: list[str]) -> tuple[Path, Path, Path]:
    q = _write(tmp_path / "ml.yaml", _sjt_yaml(qid="bb-ml", fmt="most_least", method="most_least"))
    mapping = tmp_path / "mlmap.yaml"
    proc = _cli("questionnaire", "template", str(q), "--format", "mapping", "-o", str(mapping))
    assert proc.returncode == 0, proc.stderr
    assert "[Most effective]" in mapping.read_text(encoding="utf-8")
    header = ["Timestamp", "Email Address"] + [
        f"Scenario {i} [{w} effective]" for i in ("s1", "s2", "s3") for w in ("Most", "Least")
    ]
    export = tmp_path / "mlgf.csv"
    export.write_text(
        ",".join(header) + "\n" + ",".join(["t", "m@x.org", *cells]) + "\n", encoding="utf-8"
    )
    return q, mapping, export


def test_google_forms_most_least_grid_with_option_ids(tmp_path: Path) -> None:
    # 'mixed': s1 most a least d; s2 most b least a; s3 most c least d
    q, mapping, export = _ml_export(tmp_path, ["a", "d", "b", "a", "c", "d"])
    proc = _cli("score", str(export), "-q", str(q), "--mapping", str(mapping), "--format", "json")
    assert proc.returncode == 0, proc.stdout
    d = json.loads(proc.stdout)
    assert d["profiles"][0]["scales"]["total"]["pomp"] == pytest.approx(100 * 7 / 12)


def test_google_forms_most_least_grid_with_option_texts(tmp_path: Path) -> None:
    cells = ["Option s1a", "Option s1d", "Option s2b", "Option s2a", "Option s3c", "Option s3d"]
    q, mapping, export = _ml_export(tmp_path, cells)
    proc = _cli("score", str(export), "-q", str(q), "--mapping", str(mapping), "--format", "json")
    assert proc.returncode == 0, proc.stdout
    d = json.loads(proc.stdout)
    assert d["profiles"][0]["scales"]["total"]["pomp"] == pytest.approx(100 * 7 / 12)


def test_openapi_answers_schema_describes_nested_sjt_answers(app: Any) -> None:
    schemas = app.openapi()["components"]["schemas"]
    answers = json.dumps(schemas["CandidateAnswers"])
    # a scenario's answers (an object of option id -> rating, or most/least picks) described
    assert "most" in answers
    assert "option" in answers.lower()


def test_key_build_blank_rating(tmp_path: Path, rate_q: Path) -> None:
    """A blank cell: the expert did not rate that option. The option's mean, SD and n use
    the experts who rated it; the ICC uses the options every accepted expert rated."""
    t: dict[str, list[Any]] = {c: list(v) for c, v in SME.items()}
    t["s3.d"][2] = None
    rc, rep, _ = _build_json(tmp_path, rate_q, t)
    assert rc == 0
    o = next(o for o in rep["options"] if (o["item"], o["option"]) == ("s3", "d"))
    vals = np.array([4, 4, 3, 5], float)
    assert o["n"] == 4
    assert o["mean"] == pytest.approx(vals.mean())
    assert o["sd"] == pytest.approx(vals.std(ddof=1))
    want = _icc_by_hand(SME_M[:-1])  # s3.d is the last option
    for name, vals_ in want.items():
        for field, v in vals_.items():
            assert rep["agreement"][name][field] == pytest.approx(v, rel=1e-9, abs=1e-12)


def test_reliability_cli_json_has_mtmm_and_split_half(
    tmp_path: Path, sr_doc: dict[str, Any]
) -> None:
    rt = repprofile.load_questionnaire("rep-types")
    cols, *_ = _sr_columns(sr_doc)
    rng = np.random.default_rng(17)
    n = 30
    header = ["candidate_id", *rt.item_ids, *cols]
    rows = [",".join(header)]
    for i in range(n):
        cells = [str(v) for v in rng.integers(1, 6, size=len(rt.item_ids))]
        cells += [str(v) for v in rng.integers(1, 7, size=len(cols))]
        rows.append(",".join([f"c{i}", *cells]))
    p = tmp_path / "m.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    proc = _cli("reliability", str(p), "-q", "rep-hiring", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["mtmm"] is not None
    assert set(d["mtmm"]["types"]) == set(SEVEN)
    sr = d["scales"]["service_recovery"]
    r = sr["split_half_r"]
    assert sr["split_half_spearman_brown"] == pytest.approx(2 * r / (1 + r), abs=1e-12)
    assert sr["caveat"]


# ------------------------------------------------------------- draft label in every output (item 5)


@pytest.fixture
def sr_answers(tmp_path: Path, sr_doc: dict[str, Any]) -> Path:
    ratings = _distinct_ratings(sr_doc, 30)
    p = tmp_path / "sr.csv"
    p.write_text(
        "candidate_id," + ",".join(ratings) + "\nx," + ",".join(map(str, ratings.values())) + "\n",
        encoding="utf-8",
    )
    return p


def test_draft_label_in_json_and_table(sr_answers: Path) -> None:
    proc = _cli("score", str(sr_answers), "-q", "service-recovery", "--format", "json")
    assert json.loads(proc.stdout)["provenance"]["sjt_key_draft"] is True
    proc = _cli("score", str(sr_answers), "-q", "service-recovery", "--format", "table")
    assert "draft" in proc.stdout.lower()


@pytest.mark.xfail(
    strict=True,
    reason="BUG: 'repprofile score --format csv' of the bundled service-recovery test (draft "
    "key) says nothing about the draft key, neither in the CSV nor on stderr; the issue asks "
    "for the draft label in every output",
)
def test_draft_label_in_csv_output(sr_answers: Path) -> None:
    proc = _cli("score", str(sr_answers), "-q", "service-recovery", "--format", "csv")
    assert proc.returncode == 0
    assert "draft" in (proc.stdout + proc.stderr).lower()


@pytest.mark.xfail(
    strict=True,
    reason="BUG: the competency radar chart ('repprofile chart --scales skills') of scores "
    "against the bundled draft key carries no draft label; the issue asks for it in every output",
)
def test_draft_label_in_skills_chart(tmp_path: Path, sr_answers: Path) -> None:
    out = tmp_path / "c.svg"
    proc = _cli(
        "chart", str(sr_answers), "-q", "service-recovery", "--candidate", "x",
        "--scales", "skills", "-o", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "draft" in (out.read_text(encoding="utf-8") + proc.stderr).lower()


# ------------------------------------------------------------------ questionnaire file checks


def _variant(tmp_path: Path, name: str, change: Any) -> Path:
    doc = _sjt_yaml()
    change(doc)
    return _write(tmp_path / f"{name}.yaml", doc)


@pytest.mark.parametrize(
    ("name", "change", "words"),
    [
        (
            "key7",
            lambda d: d["items"][0]["options"][0].__setitem__("key", 7),
            ["key", "7", "1", "6"],
        ),
        (
            "one_scenario",
            lambda d: d["items"][2].__setitem__("competencies", ["alpha"]),
            ["beta", "2"],
        ),
        ("total_named", lambda d: d["items"][0].__setitem__("competencies", ["total"]), ["total"]),
        ("unknown_comp", lambda d: d["items"][0].__setitem__("competencies", ["zzz"]), ["zzz"]),
        ("dup_option", lambda d: d["items"][0]["options"][1].__setitem__("id", "a"), ["'a'"]),
        ("bad_format", lambda d: d["items"][0].__setitem__("response_format", "rank"), ["rank"]),
        ("bad_method", lambda d: d["sjt"].__setitem__("method", "magic"), ["magic"]),
    ],
)
def test_questionnaire_file_errors(
    tmp_path: Path, name: str, change: Any, words: list[str]
) -> None:
    p = _variant(tmp_path, name, change)
    with pytest.raises(repprofile.QuestionnaireError) as ei:
        repprofile.load_questionnaire(str(p))
    for w in words:
        assert w in str(ei.value), (name, w)


def test_unknown_competency_message_does_not_offer_total(tmp_path: Path) -> None:
    p = _variant(tmp_path, "u", lambda d: d["items"][0].__setitem__("competencies", ["zzz"]))
    with pytest.raises(repprofile.QuestionnaireError) as ei:
        repprofile.load_questionnaire(str(p))
    msg = str(ei.value)
    expected_part = msg[msg.index("expected one of") :].split(";")[0]
    assert "total" not in expected_part


def test_missing_key_message_names_option(tmp_path: Path) -> None:
    p = _variant(tmp_path, "nokey", lambda d: d["items"][0]["options"][0].pop("key"))
    with pytest.raises(repprofile.RepprofileError) as ei:
        repprofile.score(str(p), {"s1": {"a": 6, "b": 1}})
    assert "s1.a" in str(ei.value) or ("s1" in str(ei.value) and "'a'" in str(ei.value))


def test_proportion_uses_each_options_own_expert_count(tmp_path: Path, rate_q: Path) -> None:
    """s3.d rated by 4 of 5 experts (4, 4, 3, 5): a rating 4 has share 2/4, not 2/5.
    s3.a 4 -> 3/5, s3.b 1 -> 3/5, s3.c 6 -> 4/5: beta (only s3 answered) raw 2.5,
    pomp 100 x 2.5 / 4 = 62.5."""
    t: dict[str, list[Any]] = {c: list(v) for c, v in SME.items()}
    t["s3.d"][2] = None
    ratings = _write_ratings(tmp_path / "rb.csv", t)
    key = tmp_path / "kb.yaml"
    key.write_text(repprofile.build_sjt_key(str(ratings), str(rate_q)).key_yaml(), encoding="utf-8")
    ans = {"s3": {"a": 4, "b": 1, "c": 6, "d": 4}}
    res = repprofile.score(str(rate_q), ans, sjt_key=str(key), sjt_method="proportion")
    assert _raw(res, "1", "beta") == pytest.approx(2.5)
    assert _pomp(res, "1", "beta") == pytest.approx(62.5)
