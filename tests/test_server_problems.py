"""Issue 15 items 4 and 5: one error document (RFC 9457 problem details with a
machine-readable ``code``) for every non-2xx answer, and bounded errors: the batch limit
before the per-item problems, at most ``MAX_PROBLEMS`` problems listed, every echoed id,
field name and header clipped to 80 characters, numbers quoted in their JSON spelling.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repprofile.server import ServerSettings, create_app
from repprofile.server._http import ERROR_CODES, MAX_PROBLEMS, error_body

from ._server_helpers import AUTH, KEY, MAX_CANDIDATES, answers, body, cand, post

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
DOCS = Path(__file__).parents[1] / "docs" / "server.md"


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
    # The table in docs/server.md "### Error codes": | `code` | status | meaning |
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", DOCS.read_text(encoding="utf-8"), re.M)
    assert dict((c, int(s)) for c, s in rows) == {c: s for c, (s, _) in ERROR_CODES.items()}


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
        ("/v1/score", {"questionnaire": LONG}, "unknown questionnaire"),
        ("/v1/score", {"norms": LONG}, "unknown norm table"),
        ("/v1/rank", {"role": LONG}, "unknown role"),
    ],
)
def test_an_unknown_id_is_clipped(
    client: TestClient, path: str, fields: dict[str, str], start: str
) -> None:
    r = post(client, path, body([cand("a", answers())], **fields))
    doc = assert_problem(r, 422, "invalid_request")
    assert doc["errors"][0]["msg"].startswith(f"{start} '{CLIPPED}'")
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
