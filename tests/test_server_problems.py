"""Issue 15 items 4 and 5: one error document (RFC 9457 problem details with a
machine-readable ``code``) for every non-2xx answer, and bounded errors: the batch limit
before the per-item problems, at most ``MAX_PROBLEMS`` problems listed, every echoed id,
field name and header clipped to 80 characters, numbers quoted in their JSON spelling.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repprofile.server import ServerSettings, create_app
from repprofile.server._http import ERROR_CODES, MAX_PROBLEMS, error_body

from ._server_helpers import (
    AUTH,
    KEY,
    MAX_CANDIDATES,
    OPERATION_IDS,
    answers,
    body,
    cand,
    documented_error_codes,
    post,
)

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """``r`` is a problem-details answer with ``status`` and ``code``; its document."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = r.json()
    assert set(doc) >= PROBLEM_KEYS
    assert (doc["status"], doc["code"], doc["type"]) == (
        status,
        code,
        f"urn:repprofile:problem:{code}",
    )
    return doc


def test_error_body_is_rfc_9457_plus_a_code() -> None:
    assert error_body(413, "batch_too_large", "split it") == {
        "type": "urn:repprofile:problem:batch_too_large",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "split it",
        "code": "batch_too_large",
    }
    assert error_body(422, "invalid_request", [], errors=[])["errors"] == []


def test_every_code_is_documented_with_its_status() -> None:
    assert documented_error_codes() == {c: s for c, (s, _) in ERROR_CODES.items()}


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("GET", "/v1/roles", {}, 401, "unauthorized"),
        ("GET", "/v1/no-such-endpoint", AUTH, 404, "not_found"),
        ("GET", "/v1/roles/cashier", AUTH, 404, "not_found"),
        ("DELETE", "/v1/roles", AUTH, 405, "method_not_allowed"),
        ("GET", "/v1/score", AUTH, 405, "method_not_allowed"),
    ],
)
def test_every_error_is_a_problem_document(
    client: TestClient, method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    assert_problem(client.request(method, path, headers=headers), status, code)


def test_a_422_keeps_detail_as_the_list_and_adds_errors(client: TestClient) -> None:
    # Compatibility: clients read detail[i].loc / .msg today; errors is the same list.
    r = post(client, "/v1/score", body([cand(True, answers())]))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["detail"] == doc["errors"]
    assert [e["loc"][:4] for e in doc["errors"]] == [["body", "candidates", 0, "candidate_id"]] * 2
    assert doc["errors_omitted"] == 0
    assert doc["summary"] == "2 problem(s) with the request"


def test_the_batch_limit_comes_before_the_per_item_problems(client: TestClient) -> None:
    # Every candidate id is invalid (a boolean), and there is one candidate too many:
    # 413 batch_too_large, not a 422 listing every id.
    r = post(client, "/v1/score", body([cand(True, {})] * (MAX_CANDIDATES + 1)))
    doc = assert_problem(r, 413, "batch_too_large")
    assert doc["detail"].startswith(f"the batch has {MAX_CANDIDATES + 1} candidates")


def test_the_issue_case_20000_bad_ids_is_a_small_413() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,)))  # default limits: 10,000 candidates
    with TestClient(app) as c:
        r = post(c, "/v1/score", body([{"candidate_id": True, "answers": {}}] * 20_000))
    doc = assert_problem(r, 413, "batch_too_large")
    assert doc["detail"] == (
        "the batch has 20000 candidates; this server takes at most 10000 per request: "
        "split the batch"
    )
    assert len(r.content) < 300  # was a 7 MB 422


def test_a_422_lists_at_most_max_problems_and_counts_the_rest(client: TestClient) -> None:
    # 3 candidates x 1,000 item_seconds that are not numbers = 3,000 problems.
    bad = {f"i{j}": "slow" for j in range(1000)}
    r = post(client, "/v1/score", body([cand(f"c{i}", {}, item_seconds=bad) for i in range(3)]))
    doc = assert_problem(r, 422, "invalid_request")
    assert MAX_PROBLEMS == 100
    assert len(doc["errors"]) == 100
    assert doc["errors_omitted"] == 2900
    assert doc["summary"] == "3000 problem(s) with the request; the first 100 are listed"
    assert doc["errors"][0]["loc"] == ["body", "candidates", 0, "item_seconds", "i0"]
    assert doc["errors"][99]["loc"] == ["body", "candidates", 0, "item_seconds", "i99"]


def test_many_problems_are_found_envelope_first_then_candidate_by_candidate(
    client: TestClient,
) -> None:
    # Above 10 x MAX_PROBLEMS the first problems are found without converting them all.
    bad = {f"i{j}": "slow" for j in range(1000)}
    cands = [cand(f"c{i}", {}, item_seconds=bad) for i in range(2)]
    r = post(client, "/v1/score", body(cands, ci="high"))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["errors"][0] == {
        "loc": ["body", "ci"],
        "msg": "Input should be a valid number",
        "type": "float_type",
    }
    assert doc["errors"][1]["msg"] == (
        "candidates[0] (candidate 'c0'): item_seconds.i0: Input should be a valid number"
    )
    assert (len(doc["errors"]), doc["errors_omitted"]) == (100, 1901)


LONG = "x" * 100_000
CLIPPED = "x" * 77 + "..."
ID_250 = "x" * 250  # an id within the 256-character cap


def test_an_unknown_field_name_is_clipped(client: TestClient) -> None:
    r = post(client, "/v1/score", body([], **{LONG: 1}))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["errors"][0]["loc"] == ["body", CLIPPED]
    assert len(r.content) < 1000


def test_an_unknown_field_name_inside_a_candidate_is_clipped(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("a", answers(), **{LONG: 1})]))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["errors"][0]["loc"] == ["body", "candidates", 0, CLIPPED]
    assert doc["errors"][0]["msg"] == (
        f"candidates[0] (candidate 'a'): {CLIPPED}: Extra inputs are not permitted"
    )


@pytest.mark.parametrize(
    ("path", "fields", "start"),
    [
        ("/v1/score", {"questionnaire": ID_250}, "unknown questionnaire"),
        ("/v1/score", {"norms": ID_250}, "unknown norm table"),
        ("/v1/rank", {"role": ID_250}, "unknown role"),
    ],
)
def test_an_unknown_id_is_clipped(
    client: TestClient, path: str, fields: dict[str, str], start: str
) -> None:
    # 250 characters: within the 256-character cap on ids, so it is looked up (and not
    # found); a longer id is refused for its length before any look-up (test_server_limits)
    r = post(client, path, body([cand("a", answers())], **fields))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["errors"][0]["msg"].startswith(f"{start} '{'x' * 77}...'")
    assert len(r.content) < 1000


def test_an_unknown_catalogue_id_in_the_path_is_clipped(client: TestClient) -> None:
    r = client.get(f"/v1/roles/{'y' * 5000}", headers=AUTH)
    doc = assert_problem(r, 404, "not_found")
    assert doc["detail"].startswith(f"no role '{'y' * 77}...'; bundled: ")
    assert len(r.content) < 1000


def test_an_accept_header_is_clipped(client: TestClient) -> None:
    accept = "text/plain, " + "a" * 50_000
    r = post(client, "/v1/chart", body([cand("a", answers())]), Accept=accept)
    doc = assert_problem(r, 406, "not_acceptable")
    assert doc["detail"] == (
        f"cannot produce any of {accept[:77] + '...'!r}; available: ['image/png', 'image/svg+xml']"
    )


def test_a_huge_answer_is_quoted_in_its_json_spelling(client: TestClient) -> None:
    raw = b'{"questionnaire": "rep-types", "candidates": [{"candidate_id": "a", "answers": '
    raw += b'{"ctl01": 1e308, "ctl02": 1e20, "ctl03": 7}}]}'
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 200
    errors = {e["item_id"]: e for e in r.json()["errors"]}
    assert errors["ctl01"]["message"].startswith("answer 1e+308 is outside the response scale")
    assert errors["ctl02"]["message"].startswith("answer 1e+20 is outside the response scale")
    assert errors["ctl03"]["message"].startswith("answer 7 is outside the response scale")
    assert b'"value":1e+308' in r.content
    assert b'"value":1e+20' in r.content
    assert (errors["ctl01"]["value"], errors["ctl03"]["value"]) == (1e308, 7)
    assert json.dumps(errors["ctl03"]["value"]) == "7"  # a whole number stays an integer


# --------------------------------------------------------------------------- the contract


@pytest.fixture(scope="module")
def openapi(app: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(app.openapi()))
    return doc


def test_operation_ids_are_explicit_and_stable(openapi: dict[str, Any]) -> None:
    got = {
        (method, path): op["operationId"]
        for path, ops in openapi["paths"].items()
        for method, op in ops.items()
    }
    assert got == OPERATION_IDS


def test_every_error_response_is_a_problem_document(openapi: dict[str, Any]) -> None:
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            errors = {s: r for s, r in op["responses"].items() if not s.startswith("2")}
            assert {"500", "503", "default"} <= set(errors), (method, path)
            if path != "/v1/health":
                assert "401" in errors
            if method == "post":
                assert {"413", "422"} <= set(errors)
            for status, response in errors.items():
                want = "ValidationErrors" if status == "422" else "Problem"
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": f"#/components/schemas/{want}"}}
                }, (method, path, status)
    schemas = openapi["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["type", "title", "status", "code", "detail"]
    assert schemas["ValidationErrors"]["properties"]["detail"]["deprecated"] is True
    assert "HTTPValidationError" not in schemas


def _strings(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return ([node] if node.get("type") == "string" else []) + [
            s for v in node.values() for s in _strings(v)
        ]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_catalogue_ids_are_strings_with_examples_not_enums(openapi: dict[str, Any]) -> None:
    rank = openapi["components"]["schemas"]["RankRequest"]["properties"]
    assert rank["questionnaire"] == {
        "type": "string",
        "title": "Questionnaire",
        "description": "Id of a bundled questionnaire (GET /v1/questionnaires).",
        "examples": ["rep-types", "rep-hiring", "service-recovery"],
        "maxLength": 256,
    }
    [role_id] = _strings(rank["role"])
    assert "enum" not in role_id
    assert role_id["examples"] == [
        "back-office-quality",
        "back-office-quality-sjt",
        "complex-support",
        "complex-support-sjt",
        "cx-improvement",
        "cx-improvement-sjt",
        "escalations",
        "escalations-sjt",
        "general-frontline",
        "general-frontline-sjt",
        "retention",
        "retention-sjt",
    ]
    [norm_id] = _strings(rank["norms"])
    assert norm_id["examples"] == ["rep-types-simulated"]


def test_always_present_fields_are_required(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    score = schemas["ScaleScore"]
    assert len(score["properties"]) == 17
    assert score["required"] == list(score["properties"])
    # A schema that is also a request body keeps its optional fields.
    assert "minimums" not in schemas["Role"]["required"]
    assert "seconds" not in schemas["CandidateAnswers"]["required"]


def test_naming_drift_is_resolved_by_additions(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    summary = schemas["QuestionnaireSummary"]["properties"]
    assert (summary["name"]["deprecated"], "deprecated" in summary["title"]) == (True, False)
    request = schemas["ScoreRequest"]["properties"]
    assert (request["ci"]["deprecated"], "deprecated" in request["ci_level"]) == (True, False)
    rank = schemas["RankResponse"]["properties"]
    assert rank["ranking"]["deprecated"] is True
    assert rank["candidates"]["items"] == {"$ref": "#/components/schemas/RankedCandidate"}
    report = schemas["CandidateReport"]["properties"]
    assert report["provenance"] == {"$ref": "#/components/schemas/Provenance"}
    assert report["fit_ci_bounds"]["anyOf"][0] == {"$ref": "#/components/schemas/Interval"}
    assert schemas["Interval"]["required"] == ["low", "high"]


def test_ci_level_replaces_ci(client: TestClient) -> None:
    def level(**fields: Any) -> Any:
        r = post(client, "/v1/score", body([cand("a", answers())], **fields))
        return r.json()["provenance"]["ci_level"] if r.status_code == 200 else r.status_code

    assert (level(), level(ci=0.8), level(ci_level=0.8), level(ci=0.8, ci_level=0.8)) == (
        0.9,
        0.8,
        0.8,
        0.8,
    )
    r = post(client, "/v1/score", body([cand("a", answers())], ci=0.8, ci_level=0.95))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["errors"][0]["msg"] == (
        "Value error, 'ci' (0.8) and 'ci_level' (0.95) differ; give 'ci_level' only"
    )


def test_rank_sends_candidates_beside_ranking(client: TestClient) -> None:
    cands = [cand("a", answers()), cand("b", answers(ctl01=5, ctl02=5))]
    got = post(client, "/v1/rank", body(cands, role="retention")).json()
    assert got["candidates"] == got["ranking"]
    assert [c["candidate_id"] for c in got["candidates"]] == ["b", "a"]


def test_report_intervals_as_objects(client: TestClient) -> None:
    cands = [cand("a", answers(ctl01=5, emp01=1))]
    r = post(
        client,
        "/v1/report",
        body(cands, role="retention", norms="rep-types-simulated"),
        Accept="application/json",
    )
    doc = r.json()
    low, high = doc["fit_ci"]
    assert doc["fit_ci_bounds"] == {"low": low, "high": high}
    for line in doc["scales"]:
        assert line["interval_bounds"] == {"low": line["interval"][0], "high": line["interval"][1]}
