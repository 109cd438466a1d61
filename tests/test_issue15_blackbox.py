"""Black-box tests of issue 15 (items 2-6), written from the issue text and docs/server.md only.

The in-process app (``client``: 2 keys, at most 30 candidates; ``small``: 1000-byte bodies,
2 candidates) covers the API; one live ``repprofile serve`` process with small transport
limits covers what only a real socket shows (413 to urllib, 503, 400/431/408, timeouts, log).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ._server_helpers import (
    AUTH,
    OPERATION_IDS,
    SIM_JSON,
    answers,
    body,
    cand,
    documented_error_codes,
    post,
)
from .test_server_live import KEY as LIVE_KEY
from .test_server_live import SCRIPT, Server, server_env, start, stop

CODES = documented_error_codes()  # the table of docs/server.md "Error codes"


def _no_constant(name: str) -> Any:
    raise AssertionError(f"non-JSON token {name} in a response")


def strict_json(text: str | bytes) -> Any:
    """Parse as strict JSON: NaN, Infinity and -Infinity fail."""
    return json.loads(text, parse_constant=_no_constant)


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """``r`` (TestClient response) is an RFC 9457 problem with the documented code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == "application/problem+json"
    doc = strict_json(r.text)
    assert {"type", "title", "status", "detail", "code"} <= set(doc)
    assert doc["status"] == status
    assert doc["code"] == code
    assert CODES[code] == status
    assert doc["type"] == f"urn:repprofile:problem:{code}"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    return doc  # type: ignore[no-any-return]


def norms_with(scale: str, **fields: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SIM_JSON)
    doc["scales"][scale].update(fields)
    return doc


# ============================================================== item 2: valid JSON only


@pytest.mark.parametrize(
    ("field", "value"),
    [("sd", 5e-324), ("sd", 0.0), ("sd", -1.0), ("alpha", 1.5), ("alpha", -0.2)],
)
def test_degenerate_norm_table_is_422_naming_scale_and_field(
    client: TestClient, field: str, value: float
) -> None:
    doc = body([cand("a", answers())], norms=norms_with("controller", **{field: value}))
    r = post(client, "/v1/score", doc)
    problem = assert_problem(r, 422, "invalid_request")
    text = json.dumps(problem["errors"])
    assert "controller" in text, text
    assert field in text, text


def test_tiny_sd_relative_to_scores_is_refused(client: TestClient) -> None:
    # "below 1e-6 of the scores' magnitude": mean about 3, sd 1e-9 is below 3e-6.
    doc = body([cand("a", answers())], norms=norms_with("rock", sd=1e-9))
    problem = assert_problem(post(client, "/v1/score", doc), 422, "invalid_request")
    assert "rock" in json.dumps(problem["errors"])
    assert "sd" in json.dumps(problem["errors"])


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nonfinite_tokens_in_requests_are_refused(client: TestClient, token: str) -> None:
    raw = json.dumps(body([cand("a", answers())], ci_level=0.9)).replace("0.9", token)
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert_problem(r, 422, "invalid_request")


def test_nonfinite_token_inside_norm_table_is_refused(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers())], norms=norms_with("rock", sd=12345.5)))
    raw = raw.replace("12345.5", "Infinity")
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert_problem(r, 422, "invalid_request")


def test_nonfinite_token_as_answer_is_refused(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers(acc01=777))])).replace("777", "NaN")
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert_problem(r, 422, "invalid_request")


@pytest.mark.parametrize("text", ["inf", "nan"])
def test_text_inf_answer_rejects_the_candidate(client: TestClient, text: str) -> None:
    r = post(client, "/v1/score", body([cand("a", answers()), cand("x", answers(acc01=text))]))
    assert r.status_code == 200
    doc = strict_json(r.text)
    assert [p["candidate_id"] for p in doc["profiles"]] == ["a"]
    (err,) = doc["errors"]
    assert err["candidate_id"] == "x"
    assert err["item_id"] == "acc01"
    assert err["value"] == text


@pytest.mark.parametrize("path", ["/v1/score", "/v1/fit", "/v1/rank", "/v1/report"])
def test_responses_are_strict_json_with_extreme_but_valid_norms(
    client: TestClient, path: str
) -> None:
    # a small but legal sd (1e-3 with mean about 3) gives huge z: must still be finite JSON
    norms = norms_with("controller", sd=1e-3)
    cands = [cand("a", answers(1)), cand("b", answers(5)), cand("e", answers(None, ctl01=3))]
    extra: dict[str, Any] = {"norms": norms}
    if path == "/v1/fit":
        extra["roles"] = ["retention"]
    if path in ("/v1/rank", "/v1/report"):
        extra["role"] = "retention"
    if path == "/v1/report":
        extra["candidate_id"] = "a"
    r = post(client, path, body(cands, **extra), Accept="application/json")
    assert r.status_code in (200, 422), r.text
    assert not re.search(rb"\b(NaN|-?Infinity)\b", r.content)
    strict_json(r.text)


# ============================================================== item 4: bounded errors


def test_422_lists_at_most_100_problems_plus_count(client: TestClient) -> None:
    bad = {f"i{k:04d}": "slow" for k in range(500)}
    r = post(client, "/v1/score", body([cand("a", answers(), item_seconds=bad)]))
    doc = assert_problem(r, 422, "invalid_request")
    assert len(doc["errors"]) == 100
    assert doc["errors_omitted"] == 400
    assert doc["detail"] == doc["errors"]
    assert "500 problem(s)" in doc["summary"]
    assert "100" in doc["summary"]
    assert len(r.content) < 100_000


def test_batch_limit_checked_before_per_item_validation(client: TestClient) -> None:
    cands = [{"candidate_id": k, "answers": "not an object"} for k in range(31)]
    doc = assert_problem(post(client, "/v1/score", body(cands)), 413, "batch_too_large")
    assert "31" in doc["detail"]
    assert "30" in doc["detail"]


def test_body_too_large_has_its_own_code(small: TestClient) -> None:
    r = small.post(
        "/v1/score",
        content=b'{"questionnaire":"rep-types","candidates":[' + b" " * 2000 + b"]}",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "body_too_large")


def _longest_run(text: str, ch: str) -> int:
    return max((len(m) for m in re.findall(re.escape(ch) + "+", text)), default=0)


def test_long_unknown_field_name_is_clipped(client: TestClient) -> None:
    name = "Z" * 5000
    r = post(client, "/v1/score", body([cand("a", answers())]) | {name: 1})
    assert_problem(r, 422, "invalid_request")
    assert _longest_run(r.text, "Z") <= 80
    assert len(r.content) < 3000


def test_long_candidate_id_is_clipped(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("Q" * 5000, answers())]))
    assert r.status_code == 422, r.text  # ids are limited to 256 characters
    assert _longest_run(r.text, "Q") <= 80
    assert len(r.content) < 3000


def test_long_accept_header_is_clipped(client: TestClient) -> None:
    accept = "x/" + "y" * 5000
    r = post(client, "/v1/chart", body([cand("a", answers())]), Accept=accept)
    doc = assert_problem(r, 406, "not_acceptable")
    assert _longest_run(r.text, "y") <= 80
    assert "image/png" in doc["detail"]


def test_long_rejected_answer_is_clipped_with_ellipsis(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("a", answers(acc01="w" * 5000))]))
    assert r.status_code == 200
    (err,) = r.json()["errors"]
    assert _longest_run(r.text, "w") <= 80
    assert len(err["value"]) <= 80
    assert err["value"].endswith("...")


def test_1e308_is_quoted_in_json_spelling(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers(acc01=4242))])).replace("4242", "1e308")
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    (err,) = r.json()["errors"]
    assert err["item_id"] == "acc01"
    assert not re.search(r"\d{25}", r.text)  # never a 309-digit integer
    assert "1e+308" in err["message"] or "1e308" in err["message"], err


# ============================================================== item 5: the contract


def test_operation_ids_are_the_documented_ones(client: TestClient) -> None:
    doc = client.get("/openapi.json", headers=AUTH).json()
    got = {
        (m, p): op["operationId"]
        for p, ops in doc["paths"].items()
        for m, op in ops.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert got == OPERATION_IDS


def test_every_error_status_is_documented_as_problem_details(client: TestClient) -> None:
    doc = client.get("/openapi.json", headers=AUTH).json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            responses = op["responses"]
            assert "default" in responses, (method, path)
            for status, resp in responses.items():
                if status.startswith("2"):
                    continue
                media = resp.get("content", {})
                assert "application/problem+json" in media, (method, path, status)


def test_catalogue_ids_are_strings_not_enums(client: TestClient) -> None:
    text = client.get("/openapi.json", headers=AUTH).text
    assert '"rep-types"' in text  # given as an example
    doc = json.loads(text)

    def walk(node: Any) -> Iterator[Any]:
        if isinstance(node, dict):
            yield node
            for v in node.values():
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)

    for node in walk(doc):
        enum = node.get("enum")
        if enum:
            assert "rep-types" not in enum, node
            assert "retention" not in enum, node


@pytest.mark.parametrize(
    ("method", "path", "headers", "payload", "status", "code"),
    [
        ("get", "/v1/roles", {}, None, 401, "unauthorized"),
        ("get", "/v1/nowhere", {}, None, 401, "unauthorized"),
        ("get", "/v1/nowhere", AUTH, None, 404, "not_found"),
        ("get", "/v1/roles/no-such-role", AUTH, None, 404, "not_found"),
        ("get", "/v1/score", AUTH, None, 405, "method_not_allowed"),
        ("post", "/v1/score", AUTH, {"questionnaire": "rep-types"}, 422, "invalid_request"),
        (
            "post",
            "/v1/score",
            AUTH,
            body([cand("a", answers())], ci_level="0.5"),
            422,
            "invalid_request",
        ),
        (
            "post",
            "/v1/score",
            AUTH,
            body([cand("a", answers())], unknown_field=1),
            422,
            "invalid_request",
        ),
        (
            "post",
            "/v1/fit",
            AUTH,
            body([cand("a", answers())], roles=["nope"]),
            422,
            "invalid_request",
        ),
    ],
)
def test_non_2xx_are_problem_details(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    payload: Any,
    status: int,
    code: str,
) -> None:
    r = client.request(method, path, headers=headers, json=payload)
    doc = assert_problem(r, status, code)
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
        assert doc["detail"] == "missing or invalid API key"


def test_ci_and_ci_level_both_accepted_only_if_equal(client: TestClient) -> None:
    ok = post(client, "/v1/score", body([cand("a", answers())], ci=0.8, ci_level=0.8))
    assert ok.status_code == 200
    assert ok.json()["provenance"]["ci_level"] == 0.8
    bad = post(client, "/v1/score", body([cand("a", answers())], ci=0.8, ci_level=0.9))
    assert_problem(bad, 422, "invalid_request")


def test_serve_openapi_30_prints_a_3_0_document(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--openapi-3.0"],
        capture_output=True,
        env=server_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["openapi"].startswith("3.0.")
    text = proc.stdout.decode()
    assert "prefixItems" not in text
    assert '"type": "null"' not in text
    assert '"type":"null"' not in text
    got = {
        (m, p): op.get("operationId") for p, ops in doc["paths"].items() for m, op in ops.items()
    }
    # serve also serves the invitations API of the web assessment (issue 17) and its
    # fresh report links (issue 18)
    scoring = {k: v for k, v in got.items() if not k[1].startswith("/v1/invitations")}
    assert scoring == OPERATION_IDS
    assert sorted(v for k, v in got.items() if k not in scoring) == [
        "createInvitation",
        "eraseInvitation",
        "getInvitation",
        "invitationChart",
        "invitationReport",
        "invitationReportLink",
        "listInvitations",
        "withdrawInvitation",
    ]


# ============================================================== item 6: answers and dates


def test_empty_answers_rejects_the_candidate_with_a_reason(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("a", answers()), cand("empty", {})]))
    assert r.status_code == 200
    doc = r.json()
    assert [p["candidate_id"] for p in doc["profiles"]] == ["a"]
    errs = [e for e in doc["errors"] if e["candidate_id"] == "empty"]
    assert len(errs) == 1
    assert "no answers given; expected at least one item answer" in errs[0]["message"]


def test_report_for_empty_answers_candidate_is_refused(client: TestClient) -> None:
    doc = body([cand("a", answers()), cand("empty", {})], candidate_id="empty", role="retention")
    r = post(client, "/v1/report", doc, Accept="application/json")
    assert_problem(r, 422, "invalid_request")


def test_report_date_comes_from_the_request(client: TestClient) -> None:
    doc = body([cand("a", answers())], candidate_id="a", role="retention", date="2001-02-03")
    rj = post(client, "/v1/report", doc, Accept="application/json")
    assert rj.status_code == 200, rj.text
    assert rj.json()["date"] == "2001-02-03"
    html = post(client, "/v1/report", doc, Accept="text/html").text
    today = dt.date.today().isoformat()
    assert "2001-02-03" in html
    assert today not in html


def test_report_without_date_has_none_and_never_today(client: TestClient) -> None:
    doc = body([cand("a", answers())], candidate_id="a", role="retention")
    rj = post(client, "/v1/report", doc, Accept="application/json")
    assert rj.status_code == 200
    assert rj.json()["date"] is None
    today = dt.date.today()
    html = post(client, "/v1/report", doc, Accept="text/html").text
    for spelling in (today.isoformat(), today.strftime("%d %B %Y"), today.strftime("%B %d, %Y")):
        assert spelling not in html


@pytest.mark.parametrize("accept", ["application/pdf", "text/html", "application/json"])
def test_same_report_request_gives_same_bytes(client: TestClient, accept: str) -> None:
    doc = body([cand("a", answers())], candidate_id="a", role="retention", date="2024-03-05")
    one = post(client, "/v1/report", doc, Accept=accept)
    two = post(client, "/v1/report", doc, Accept=accept)
    assert one.status_code == two.status_code == 200
    assert one.content == two.content


# ============================================================== item 3: transport (live)

LIMIT = 3
BODY_LIMIT = 4000
HEADER_TIMEOUT = 1.0
KEEP_ALIVE = 1


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start(
        tmp_path_factory.mktemp("i15"),
        "--log-level",
        "info",
        "--max-body-bytes",
        str(BODY_LIMIT),
        "--limit-concurrency",
        str(LIMIT),
        "--header-timeout",
        str(HEADER_TIMEOUT),
        "--body-timeout",
        "2",
        "--keep-alive-timeout",
        str(KEEP_ALIVE),
        "--max-header-bytes",
        "8192",
    )
    try:
        yield srv
    finally:
        stop(srv)


def raw_exchange(srv: Server, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a fresh socket and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse_raw(resp: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, payload = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, payload


def check_raw_problem(resp: bytes, status: int, code: str) -> dict[str, str]:
    got, headers, payload = parse_raw(resp)
    assert got == status, resp[:500]
    assert headers["content-type"].split(";")[0] == "application/problem+json", headers
    assert headers.get("cache-control") == "no-store", headers
    assert headers.get("x-content-type-options") == "nosniff", headers
    n = int(headers.get("content-length", len(payload)))
    doc = strict_json(payload[:n])
    assert doc["code"] == code
    assert doc["status"] == status
    assert CODES[code] == status
    assert headers.get("connection", "").lower() == "close", headers  # documented
    return headers


def urlopen(srv: Server, path: str, data: bytes | None = None, key: str | None = LIVE_KEY) -> Any:
    req = urllib.request.Request(srv.url + path, data=data, method="POST" if data else "GET")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(req, timeout=30)


def test_live_413_reaches_urllib(live: Server) -> None:
    payload = json.dumps(body([cand(f"c{k}", answers()) for k in range(20)])).encode()
    assert len(payload) > BODY_LIMIT
    with pytest.raises(urllib.error.HTTPError) as info:
        urlopen(live, "/v1/score", payload)
    err = info.value
    assert err.code == 413
    assert err.headers["Content-Type"].split(";")[0] == "application/problem+json"
    assert err.headers["Cache-Control"] == "no-store"
    assert err.headers["X-Content-Type-Options"] == "nosniff"
    assert strict_json(err.read())["code"] == "body_too_large"
    err.close()


def test_live_401_headers(live: Server) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urlopen(live, "/v1/roles", key=None)
    err = info.value
    assert err.code == 401
    assert err.headers["Cache-Control"] == "no-store"
    assert err.headers["X-Content-Type-Options"] == "nosniff"
    assert err.headers["Content-Type"].split(";")[0] == "application/problem+json"
    err.close()


def test_live_200_headers(live: Server) -> None:
    with urlopen(live, "/v1/health", key=None) as resp:
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_live_malformed_request_is_400_problem(live: Server) -> None:
    resp = raw_exchange(live, b"GARBAGE LINE\r\n\r\n")
    check_raw_problem(resp, 400, "bad_request")


def test_live_huge_header_is_431(live: Server) -> None:
    req = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    check_raw_problem(raw_exchange(live, req), 431, "headers_too_large")


def test_live_half_sent_headers_closed_within_header_timeout(live: Server) -> None:
    t0 = time.monotonic()
    resp = raw_exchange(live, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
    elapsed = time.monotonic() - t0
    assert elapsed < HEADER_TIMEOUT + 2.0
    check_raw_problem(resp, 408, "header_timeout")


def test_live_silent_connection_closed_without_answer(live: Server) -> None:
    t0 = time.monotonic()
    resp = raw_exchange(live, b"")
    assert time.monotonic() - t0 < HEADER_TIMEOUT + 2.0
    assert resp == b""


def test_live_idle_keep_alive_connection_closed(live: Server) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += s.recv(65536)
        status, headers, payload = parse_raw(first)
        assert status == 200
        while len(payload) < int(headers["content-length"]):
            payload += s.recv(65536)
        t0 = time.monotonic()
        rest = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        assert time.monotonic() - t0 < KEEP_ALIVE + 2.0
        assert rest == b""


def test_live_503_at_concurrency_limit(live: Server) -> None:
    held = []
    try:
        for _ in range(LIMIT):
            s = socket.create_connection(("127.0.0.1", live.port), timeout=10)
            s.sendall(b"GET /v1/health HTTP/1.1\r\n")  # headers unfinished: held open
            held.append(s)
        time.sleep(0.2)
        resp = raw_exchange(live, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        headers = check_raw_problem(resp, 503, "unavailable")
        assert headers.get("retry-after") == "1"
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)
    with urlopen(live, "/v1/health", key=None) as ok:  # the server keeps answering
        assert ok.status == 200


def test_live_query_string_never_logged(live: Server) -> None:
    secret = "QUERYSECRET" + "7" * 20
    with pytest.raises(urllib.error.HTTPError) as info:
        urlopen(live, f"/v1/roles?api_key={secret}", key=None)
    info.value.close()
    with urlopen(live, f"/v1/roles?api_key={secret}&x=1") as resp:
        assert resp.status == 200
    time.sleep(0.5)
    logs = live.logs()
    assert "/v1/roles" in logs  # the access log is on
    assert secret not in logs
    assert "api_key" not in logs


def test_keep_alive_timeout_takes_whole_seconds_as_documented() -> None:
    # docs/server.md: --keep-alive-timeout N (whole seconds; the others take S, seconds)
    def serve(value: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(SCRIPT), "serve", "--header-timeout", "1.5", "--keep-alive-timeout", value,
             "--openapi-3.0"],
            capture_output=True,
            env=server_env(),
            timeout=60,
            check=False,
        )  # fmt: skip

    assert serve("2").returncode == 0
    refused = serve("1.5")
    assert refused.returncode == 2
    assert b"--keep-alive-timeout" in refused.stderr


# ============================================================== more probes (items 2-6)


def raw_post(client: TestClient, path: str, raw: str, **headers: str) -> Any:
    return client.post(
        path, content=raw, headers={**AUTH, "Content-Type": "application/json", **headers}
    )


@pytest.mark.parametrize("field", ["sd", "mean", "alpha"])
def test_overflowing_number_in_norm_table_is_refused(client: TestClient, field: str) -> None:
    # 1e999 is valid JSON grammar but overflows to infinity: a non-finite norm value.
    raw = json.dumps(body([cand("a", answers())], norms=norms_with("rock", **{field: 424242.5})))
    r = raw_post(client, "/v1/score", raw.replace("424242.5", "1e999"))
    problem = assert_problem(r, 422, "invalid_request")
    assert "rock" in json.dumps(problem["errors"])


def test_overflowing_ci_level_is_refused_without_infinity(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers())], ci_level=0.9)).replace("0.9", "1e999")
    r = raw_post(client, "/v1/score", raw)
    assert_problem(r, 422, "invalid_request")
    assert not re.search(r"\b(NaN|-?Infinity)\b", r.text)


def test_overflowing_answer_never_gives_infinity(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers()), cand("x", answers(acc01=4242))]))
    r = raw_post(client, "/v1/score", raw.replace("4242", "-1e999"))
    assert r.status_code in (200, 422), r.text
    assert not re.search(r"\b(NaN|-?Infinity)\b", r.text)
    doc = strict_json(r.text)
    if r.status_code == 200:
        assert [p["candidate_id"] for p in doc["profiles"]] == ["a"]


def test_1e308_in_a_422_is_quoted_in_json_spelling(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers())], ci_level=0.9)).replace("0.9", "1e308")
    r = raw_post(client, "/v1/score", raw)
    assert_problem(r, 422, "invalid_request")
    assert not re.search(r"\d{25}", r.text)


def test_long_id_in_422_message_is_clipped(client: TestClient) -> None:
    cid = "K" * 200  # a legal id (<= 256), quoted in the message of a body error
    r = post(client, "/v1/score", body([{"candidate_id": cid, "answers": "nope"}]))
    doc = assert_problem(r, 422, "invalid_request")
    msg = doc["errors"][0]["msg"]
    assert "candidates[0]" in msg
    assert _longest_run(r.text, "K") <= 80


def test_each_candidate_lists_at_most_10_problems_plus_one(client: TestClient) -> None:
    bad = answers(**{item: 9 for item in list(answers())[:30]})
    r = post(client, "/v1/score", body([cand("x", bad)]))
    assert r.status_code == 200
    errs = r.json()["errors"]
    assert len(errs) == 11
    assert all(e["candidate_id"] == "x" for e in errs)
    assert "20" in errs[-1]["message"]


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/v1/fit", {"roles": ["retention"] * 21}),
        ("/v1/chart", {"candidate_id": "c0", "compare": [f"c{k}" for k in range(1, 21)]}),
    ],
)
def test_documented_list_limits_are_422(client: TestClient, path: str, extra: Any) -> None:
    cands = [cand(f"c{k}", answers()) for k in range(21)]
    assert_problem(post(client, path, body(cands, **extra)), 422, "invalid_request")


def test_more_than_1000_answers_is_422(client: TestClient) -> None:
    many = answers() | {f"zz{k}": 3 for k in range(1001)}
    assert_problem(post(client, "/v1/score", body([cand("a", many)])), 422, "invalid_request")


def test_id_over_256_characters_is_422(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("i" * 257, answers())]))
    assert_problem(r, 422, "invalid_request")


def test_empty_answers_in_rank_is_listed_in_errors(client: TestClient) -> None:
    r = post(client, "/v1/rank", body([cand("a", answers()), cand("e", {})], role="retention"))
    assert r.status_code == 200
    doc = r.json()
    assert [c["candidate_id"] for c in doc["candidates"]] == ["a"]
    assert doc["ranking"] == doc["candidates"]
    assert [e["candidate_id"] for e in doc["errors"]] == ["e"]


def test_bad_report_date_is_422(client: TestClient) -> None:
    doc = body([cand("a", answers())], candidate_id="a", role="retention", date="2024-13-45")
    assert_problem(post(client, "/v1/report", doc), 422, "invalid_request")


def test_report_interval_objects_match_pairs(client: TestClient) -> None:
    doc = body(
        [cand("a", answers(**{"ctl01": 5, "ctl02": 4}))],
        candidate_id="a",
        role="retention",
        norms="rep-types-simulated",
    )
    rep = strict_json(post(client, "/v1/report", doc, Accept="application/json").text)
    assert "fit_ci" in rep
    assert "fit_ci_bounds" in rep
    if rep["fit_ci"] is None:
        assert rep["fit_ci_bounds"] is None
    else:
        assert rep["fit_ci_bounds"] == {"low": rep["fit_ci"][0], "high": rep["fit_ci"][1]}
    for line in rep["scales"]:
        pair = line["interval"]
        expected = None if pair is None else {"low": pair[0], "high": pair[1]}
        assert line["interval_bounds"] == expected


def test_schema_marks_deprecated_names_and_required_scale_fields(client: TestClient) -> None:
    doc = client.get("/openapi.json", headers=AUTH).json()
    schemas = doc["components"]["schemas"]
    qs = schemas["QuestionnaireSummary"]
    assert qs["properties"]["name"].get("deprecated") is True
    assert "title" in qs["properties"]
    scale = schemas["ScaleScore"]
    assert set(scale["required"]) == set(scale["properties"])
    assert len(scale["properties"]) == 17


def test_unknown_role_404_lists_bundled_ids(client: TestClient) -> None:
    doc = assert_problem(client.get("/v1/roles/nope", headers=AUTH), 404, "not_found")
    assert "retention" in doc["detail"]


def test_live_expect_100_continue_gets_413_before_body(live: Server) -> None:
    head = (
        f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {LIVE_KEY}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    check_raw_problem(raw_exchange(live, head), 413, "body_too_large")


def test_live_too_many_headers_is_431(live: Server) -> None:
    extra = "".join(f"X-H{k}: v\r\n" for k in range(150))
    req = f"GET /v1/health HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()
    check_raw_problem(raw_exchange(live, req), 431, "headers_too_large")


def test_live_half_sent_body_gets_408_within_body_timeout(live: Server) -> None:
    head = (
        f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {LIVE_KEY}\r\n"
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"questionnaire"'
    ).encode()
    t0 = time.monotonic()
    resp = raw_exchange(live, head)
    assert time.monotonic() - t0 < 2 + 2.0
    check_raw_problem(resp, 408, "body_timeout")


def test_batch_limit_wins_over_any_other_problem(client: TestClient) -> None:
    cands = [{"candidate_id": "Z" * 300, "answers": {}, "bogus": 1} for _ in range(31)]
    doc = {"candidates": cands, "ci_level": "high", "unknown": True}  # no questionnaire
    assert_problem(post(client, "/v1/score", doc), 413, "batch_too_large")


def test_overflowing_answer_is_not_quoted_as_text_inf(client: TestClient) -> None:
    raw = json.dumps(body([cand("x", answers(acc01=4242))])).replace("4242", "-1e999")
    r = raw_post(client, "/v1/score", raw)
    doc = assert_problem(r, 422, "invalid_request")
    (problem_,) = doc["errors"]
    assert problem_["type"] == "finite_number"
    assert problem_["loc"] == ["body", "candidates", 0, "answers", "acc01"]
    assert "-1e999 is beyond the range of a double" in problem_["msg"]


def test_unknown_item_id_echo_is_clipped(client: TestClient) -> None:
    # docs/server.md: messages clip what they quote to 80 characters; the item_id field
    # of a 200 answer's errors carries the id in full, so a client can match it
    r = post(client, "/v1/score", body([cand("x", answers(**{"y" * 200: 3}))]))
    assert r.status_code == 200
    (err,) = r.json()["errors"]
    assert err["item_id"] == "y" * 200
    assert "y" * 81 not in err["message"]


def test_live_chunked_body_over_limit_is_413(live: Server) -> None:
    head = (
        f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {LIVE_KEY}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 1000
    data = head + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 6 + b"0\r\n\r\n"
    check_raw_problem(raw_exchange(live, data), 413, "body_too_large")


def test_openapi_30_has_nullable_and_no_schema_examples_list() -> None:
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--openapi-3.0"],
        capture_output=True,
        env=server_env(),
        timeout=60,
        check=False,
    )
    text = proc.stdout.decode()
    assert '"nullable"' in text
    assert '"examples"' not in text


def test_live_413_reaches_requests(live: Server) -> None:
    requests = pytest.importorskip("requests")
    payload = json.dumps(body([cand(f"c{k}", answers()) for k in range(20)])).encode()
    with requests.Session() as session:
        session.trust_env = False
        r = session.post(
            live.url + "/v1/score",
            data=payload,
            headers={"Authorization": f"Bearer {LIVE_KEY}", "Content-Type": "application/json"},
            timeout=30,
        )
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large"
    assert r.headers["Cache-Control"] == "no-store"


def test_live_invalid_content_length_is_400_problem(live: Server) -> None:
    req = b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
    check_raw_problem(raw_exchange(live, req), 400, "bad_request")


def test_live_next_request_headers_time_out_on_kept_alive_connection(live: Server) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += s.recv(65536)
        status, headers, payload = parse_raw(first)
        assert status == 200
        while len(payload) < int(headers["content-length"]):
            payload += s.recv(65536)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # unfinished
        t0 = time.monotonic()
        rest = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        assert time.monotonic() - t0 < HEADER_TIMEOUT + 2.0
    check_raw_problem(rest, 408, "header_timeout")


def test_live_post_query_string_not_logged(live: Server) -> None:
    secret = "POSTSECRET" + "9" * 20
    payload = json.dumps(body([cand("a", answers())])).encode()
    with urlopen(live, f"/v1/score?token={secret}", payload) as resp:
        assert resp.status == 200
    time.sleep(0.5)
    assert secret not in live.logs()


def test_chart_for_empty_answers_candidate_is_refused(client: TestClient) -> None:
    doc = body([cand("a", answers()), cand("empty", {})], candidate_id="empty")
    assert_problem(post(client, "/v1/chart", doc), 422, "invalid_request")


def test_live_unfinished_huge_head_is_431_not_a_timeout(live: Server) -> None:
    req = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 30000  # never finished
    check_raw_problem(raw_exchange(live, req), 431, "headers_too_large")
