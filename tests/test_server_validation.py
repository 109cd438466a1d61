"""422s: malformed bodies, problems inside a candidate (named by index and id), unknown
or mismatched ids, never an echo of the input.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ._server_helpers import AUTH, CTL_ONLY, SIM_JSON, answers, body, cand, loc_msgs, post


def test_a_boolean_or_fractional_candidate_id_is_a_malformed_body(client: TestClient) -> None:
    # The schema says a string or an integer; true or 1.0 are not coerced to "1".
    for bad in (True, 1.0):
        r = client.post("/v1/score", json=body([cand(bad, answers())]), headers=AUTH)
        msgs = loc_msgs(r)
        assert msgs
        assert all(loc[:4] == ["body", "candidates", 0, "candidate_id"] for loc, _ in msgs)
        assert all(m.startswith("candidates[0]") for _, m in msgs)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not json", [(["body"], "Invalid JSON: expected ident at line 1 column 2")]),
        (
            b'{"questionnaire": "rep-types", ',
            [(["body"], "Invalid JSON: EOF while parsing a value at line 1 column 31")],
        ),
        (b"\xff\xfe", [(["body"], "Invalid JSON: expected value at line 1 column 1")]),
        (b"[1, 2]", [(["body"], "Input should be an object")]),
        (
            b'{"questionnaire": "rep-types", "candidates": {"a": 1}}',
            [(["body", "candidates"], "Input should be a valid array")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "ci": "0.5"}',
            [(["body", "ci"], "Input should be a valid number")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "extra": 1}',
            [(["body", "extra"], "Extra inputs are not permitted")],
        ),
        (
            b'{"candidates": []}',
            [(["body", "questionnaire"], "Field required")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "ci": 1.0}',
            [(["body", "ci"], "Input should be less than 1")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "reliability": "kr20"}',
            [(["body", "reliability"], "Input should be 'alpha' or 'omega_total'")],
        ),
    ],
)
def test_a_malformed_body_is_422(
    client: TestClient, content: bytes, expected: list[tuple[list[Any], str]]
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    got = loc_msgs(client.post("/v1/score", content=content, headers=headers))
    assert [loc for loc, _ in got] == [loc for loc, _ in expected]
    for (_, msg), (_, want) in zip(got, expected, strict=True):
        assert msg.startswith(want), msg


def test_a_422_inside_a_candidate_names_its_index_and_id(client: TestClient) -> None:
    cands: list[dict[str, Any]] = [
        cand("fine", answers()),
        {"candidate_id": "x-list", "answers": [1, 2]},
        {"answers": {}},
        {"candidate_id": 9, "answers": {}, "notes": "hi"},
        cand("x-secs", answers(), seconds="slow"),
    ]
    got = loc_msgs(post(client, "/v1/score", body(cands)))
    assert got == [
        (
            ["body", "candidates", 1, "answers"],
            "candidates[1] (candidate 'x-list'): answers: Input should be an object",
        ),
        (
            ["body", "candidates", 2, "candidate_id"],
            "candidates[2]: candidate_id: Field required",
        ),
        (
            ["body", "candidates", 3, "notes"],
            "candidates[3] (candidate '9'): notes: Extra inputs are not permitted",
        ),
        (
            ["body", "candidates", 4, "seconds"],
            "candidates[4] (candidate 'x-secs'): seconds: Input should be a valid number",
        ),
    ]


def test_a_422_never_echoes_the_input(client: TestClient) -> None:
    secret = "my-secret-answer-text"
    r = post(client, "/v1/score", body([cand("x", answers(), seconds=secret)]))
    assert r.status_code == 422
    assert secret not in r.text
    assert all("input" not in d for d in r.json()["detail"])


@pytest.mark.parametrize(
    ("path", "fields", "loc", "msg"),
    [
        (
            "/v1/score",
            {"questionnaire": "rep-typez"},
            ["body", "questionnaire"],
            "unknown questionnaire 'rep-typez'; expected one of "
            "['rep-hiring', 'rep-types', 'service-recovery']",
        ),
        (
            "/v1/score",
            {"norms": "rep-types-real"},
            ["body", "norms"],
            "unknown norm table 'rep-types-real'; expected a norm table object or one of "
            "['rep-types-simulated']",
        ),
        (
            "/v1/score",
            {"norms": SIM_JSON | {"questionnaire_version": "9.9"}},
            ["body", "norms"],
            "The norm table was built for questionnaire 'rep-types' version 9.9, but the "
            "answers are to 'rep-types' version 1.1.0.",
        ),
        (
            "/v1/rank",
            {"role": "cashier"},
            ["body", "role"],
            "unknown role 'cashier'; expected one of ['back-office-quality', "
            "'complex-support', 'cx-improvement', 'escalations', 'general-frontline', "
            "'retention']",
        ),
        (
            "/v1/rank",
            {"role": CTL_ONLY | {"weights": {"impression": 1.0}}},
            ["body", "role"],
            "role: weights.impression: 'impression' is a validity scale; roles weigh trait "
            "and skill scales only",
        ),
        (
            "/v1/rank",
            {"role": CTL_ONLY | {"questionnaire": "bfi"}},
            ["body", "role"],
            "role: role 'ctl-only' applies to questionnaire 'bfi', not 'rep-types'",
        ),
        (
            "/v1/report",
            {"role": "cashier"},
            ["body", "role"],
            "unknown role 'cashier'",
        ),
    ],
)
def test_unknown_or_mismatched_ids_are_422(
    client: TestClient, path: str, fields: dict[str, Any], loc: list[Any], msg: str
) -> None:
    doc = body([cand("a", answers())]) | fields
    [(got_loc, got_msg)] = loc_msgs(post(client, path, doc))
    assert got_loc == loc
    assert got_msg.startswith(msg), got_msg


def test_the_loc_of_a_bad_list_entry_has_an_integer_index(client: TestClient) -> None:
    doc = body([cand("a", answers())], roles=["retention", "cashier"])
    [(loc, _)] = loc_msgs(post(client, "/v1/fit", doc))
    assert loc == ["body", "roles", 1]
    doc = body([cand("a", answers())], candidate_id="a", compare=["a", "zz"])
    [(loc, _)] = loc_msgs(post(client, "/v1/chart", doc))
    assert loc == ["body", "compare", 1]
