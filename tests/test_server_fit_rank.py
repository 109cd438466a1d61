"""POST /v1/fit and /v1/rank against the Python API and against fits worked out by hand
(see tests/_server_helpers.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import repprofile
from repprofile import fit, rank
from repprofile._analysis.fit import fit_report

from ._server_helpers import ABC, CTL_ONLY, SIM, SIM_JSON, body, cand, ok_json, varied


def test_fit_equals_the_python_api(client: TestClient) -> None:
    cands = [*ABC, *(cand(f"v{i}", varied(i)) for i in range(4))]
    roles: list[Any] = ["retention", "escalations", CTL_ONLY]
    got = ok_json(client, "/v1/fit", body(cands, roles=roles, cut=60.0, norms=SIM_JSON))
    scores = repprofile.score("rep-types", cands, norms=SIM)
    role_objs = [
        repprofile.load_role("retention"),
        repprofile.load_role("escalations"),
        repprofile.Role.model_validate(CTL_ONLY),
    ]
    expected = fit_report(scores, [fit(scores, r, cut=60.0) for r in role_objs])
    assert {k: got[k] for k in expected} == expected
    assert [r["id"] for r in got["roles"]] == ["retention", "escalations", "ctl-only"]
    assert all(r["cut"] == 60.0 for r in got["roles"])
    assert len(got["warnings"]) == 1


def test_fit_hand_worked_without_norms(client: TestClient) -> None:
    got = ok_json(client, "/v1/fit", body(ABC, roles=[CTL_ONLY, "retention"]))
    by_id = {c["candidate_id"]: c for c in got["candidates"]}
    assert set(by_id) == {"a", "b"}  # "bad" is rejected
    assert [e["candidate_id"] for e in got["errors"]] == ["bad"]
    a_ctl, a_ret = by_id["a"]["fits"]
    b_ctl, _ = by_id["b"]["fits"]
    # a: every z is 0, so every composite is 0 and every fit 50
    assert (a_ctl["role"], a_ctl["composite"], a_ctl["fit"]) == ("ctl-only", 0.0, 50.0)
    assert (a_ret["role"], a_ret["composite"], a_ret["fit"]) == ("retention", 0.0, 50.0)
    assert a_ctl["failed_minimums"] == ["controller"]  # pomp 50 < 60
    assert a_ctl["meets_minimums"] is False
    assert a_ctl["similarity"] == 100.0  # exactly on the target of 50
    # b: C = z = (700/9 - 50) / 25 = 10/9; similarity 100 - |700/9 - 50| = 100 - 250/9
    c_b = 10.0 / 9.0
    assert b_ctl["composite"] == pytest.approx(c_b, abs=1e-12)
    assert b_ctl["contributions"] == {"controller": pytest.approx(c_b, abs=1e-12)}
    assert b_ctl["fit"] == pytest.approx(100.0 / (1.0 + math.exp(-1.702 * c_b)), abs=1e-9)
    assert b_ctl["fit"] == pytest.approx(86.8882166838, abs=1e-9)
    assert b_ctl["meets_minimums"] is True
    assert b_ctl["failed_minimums"] == []
    assert b_ctl["similarity"] == pytest.approx(100.0 - 250.0 / 9.0, abs=1e-9)
    # no norms: not "high"; pomp 77.8 is 27.8 (>= 25) above the role's target 50
    assert b_ctl["explanation"] == (
        "Controller above the role's target (POMP 78 vs 50) raises the fit"
    )
    # no reliabilities and no norms: no standard error, never a guess
    assert (b_ctl["fit_se"], b_ctl["ci_low"], b_ctl["p_above_cut"]) == (None, None, None)
    assert by_id["b"]["best_role"] == "ctl-only"


@pytest.mark.parametrize(
    ("top", "exclude_flagged", "cut"), [(None, False, 50.0), (3, False, 70.0), (None, True, 40.0)]
)
def test_rank_equals_the_python_api(
    client: TestClient, top: int | None, exclude_flagged: bool, cut: float
) -> None:
    cands = [*ABC, *(cand(f"v{i}", varied(i)) for i in range(5))]
    doc = body(cands, role="retention", cut=cut, exclude_flagged=exclude_flagged)
    if top is not None:
        doc["top"] = top
    got = ok_json(client, "/v1/rank", doc)
    scores = repprofile.score("rep-types", cands)
    fitted = fit(scores, repprofile.load_role("retention"), cut=cut)
    expected = rank(fitted, top=top, exclude_flagged=exclude_flagged)
    assert {k: got[k] for k in expected} == expected
    assert got["warnings"] == []
    assert [e["rank"] for e in got["ranking"]] == list(range(1, len(got["ranking"]) + 1))
    fits = [e["fit"] for e in got["ranking"]]
    assert fits == sorted(fits, reverse=True)
    assert "bad" not in [e["candidate_id"] for e in got["ranking"]]
    if top is not None:
        assert len(got["ranking"]) == top
    if exclude_flagged:
        valid = np.asarray(scores.quality.valid) & scores.scored
        ids = [c["candidate_id"] for c, ok in zip(cands, valid.tolist(), strict=True) if ok]
        assert sorted(e["candidate_id"] for e in got["ranking"]) == sorted(ids)
        # a and b straight-line and fail the attention checks; v1-v3 answer the even and
        # odd halves of the scales inconsistently (a negative even-odd index)
        assert ids == ["v0", "v4"]


def test_rank_hand_worked(client: TestClient) -> None:
    got = ok_json(client, "/v1/rank", body(ABC, role=CTL_ONLY, top=1))
    [first] = got["ranking"]
    assert (first["rank"], first["candidate_id"]) == (1, "b")
    assert first["fit"] == pytest.approx(100.0 / (1.0 + math.exp(-1.702 * 10.0 / 9.0)), abs=1e-9)
    assert got["role"]["id"] == "ctl-only"
    assert got["role"]["weights"] == {"controller": 1.0}
    assert got["provenance"]["role"]["id"] == "ctl-only"
    assert [e["candidate_id"] for e in got["errors"]] == ["bad"]
