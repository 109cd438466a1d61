"""Limits: candidates per batch (413), body size (413 by Content-Length or by the bytes
received, before the body is read in full), request shapes (roles, compares, answers,
id lengths, nesting).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from repprofile.server import ServerSettings, create_app

from ._server_helpers import (
    AUTH,
    CONTROLLER,
    CTL_ONLY,
    KEY,
    MAX_CANDIDATES,
    SIM_JSON,
    answers,
    body,
    cand,
    ok_json,
    post,
    problem,
    varied,
)


def test_a_batch_above_max_candidates_is_413(client: TestClient) -> None:
    cands = [cand(f"c{i}", varied(i)) for i in range(MAX_CANDIDATES + 1)]
    for path, extra in [("/v1/score", {}), ("/v1/fit", {"roles": ["retention"]})]:
        r = post(client, path, body(cands, **extra))
        assert r.status_code == 413
        assert r.json() == problem(
            413,
            "batch_too_large",
            f"the batch has {MAX_CANDIDATES + 1} candidates; this server takes at "
            f"most {MAX_CANDIDATES} per request: split the batch",
        )
    got = ok_json(client, "/v1/score", body(cands[:MAX_CANDIDATES]))
    assert len(got["profiles"]) == MAX_CANDIDATES


def padded(size: int) -> bytes:
    """A valid score request of exactly ``size`` bytes (JSON padded with spaces)."""
    raw = json.dumps(body([])).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_body_limit_by_content_length(small: TestClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    r = small.post("/v1/score", content=padded(1000), headers=headers)
    assert r.request.headers["content-length"] == "1000"
    assert r.status_code == 200
    assert r.json()["profiles"] == []
    r = small.post("/v1/score", content=padded(1001), headers=headers)
    assert r.status_code == 413
    assert r.json() == problem(
        413, "body_too_large", "the request body is larger than this server's limit of 1000 bytes"
    )


def test_body_limit_without_content_length(small: TestClient) -> None:
    def chunks(data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), 64):
            yield data[i : i + 64]

    headers = {**AUTH, "Content-Type": "application/json"}
    r = small.post("/v1/score", content=chunks(padded(1000)), headers=headers)
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 200
    assert r.json()["errors"] == []
    r = small.post("/v1/score", content=chunks(padded(1001)), headers=headers)
    assert r.status_code == 413
    assert "limit of 1000 bytes" in r.json()["detail"]


def asgi_post(app: FastAPI, path: str, chunks: list[bytes]) -> tuple[int, bytes, int, int]:
    """POST ``chunks`` as separate ASGI messages without Content-Length; returns the
    status, the body, how many chunks the app read, and how many it had read when the
    response started."""
    pending = list(chunks)
    sent: list[Message] = []
    read = 0
    started_after: list[int] = []  # chunks read when the response started

    async def receive() -> Message:
        nonlocal read
        if not pending:
            return {"type": "http.disconnect"}
        read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started_after.append(read)
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        await app(scope, receive, send)

    anyio.run(run)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), content, read, started_after[0]


def test_a_streamed_body_is_answered_at_the_limit_and_the_rest_dropped() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,), max_body_bytes=1000))
    # 300 + 300 + 300 = 900 is within the limit; the 4th chunk makes 1200 > 1000
    status, content, read, started_after = asgi_post(app, "/v1/score", [b" " * 300] * 10)
    assert status == 413
    assert json.loads(content) == problem(
        413, "body_too_large", "the request body is larger than this server's limit of 1000 bytes"
    )
    assert started_after == 4  # answered at the 4th chunk
    assert read == 10  # the rest is read (and dropped) so that the client sees the 413


def test_a_body_in_several_messages_is_put_back_together(client: TestClient, app: FastAPI) -> None:
    doc = body([cand("a", answers()), cand("b", answers(**CONTROLLER))])
    raw = json.dumps(doc).encode()
    parts = [raw[:7], raw[7:500], b"", raw[500:]]
    status, content, read, _ = asgi_post(app, "/v1/score", parts)
    assert (status, read) == (200, 4)
    assert content == post(client, "/v1/score", doc).content


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"compare": [str(i) for i in range(20)]}, ["body", "compare"]),
        ({"candidate_id": "x" * 257}, ["body", "candidate_id", "function-after[text(), str]"]),
    ],
)
def test_chart_requests_are_bounded(
    client: TestClient, fields: dict[str, Any], loc: list[Any]
) -> None:
    r = post(client, "/v1/chart", body([cand("a", answers())], **fields))
    assert r.status_code == 422
    assert loc in [d["loc"] for d in r.json()["detail"]]


def test_fit_takes_at_most_20_roles(client: TestClient) -> None:
    r = post(client, "/v1/fit", body([cand("a", answers())], roles=["retention"] * 21))
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "roles"]]
    assert ok_json(client, "/v1/fit", body([cand("a", answers())], roles=["retention"] * 20))


def test_a_candidate_takes_at_most_1000_answers_and_256_character_ids(
    client: TestClient,
) -> None:
    many = {f"i{n}": 3 for n in range(1001)}
    r = post(client, "/v1/score", body([cand("a", many)]))
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "candidates", 0, "answers"]]
    long_item = {"x" * 257: 3}
    r = post(client, "/v1/score", body([cand("a", long_item)]))
    assert r.status_code == 422
    assert ok_json(client, "/v1/score", body([cand("c" * 256, answers())]))["profiles"]


def test_deeply_nested_json_is_a_422_not_a_500(client: TestClient) -> None:
    r = client.post(
        "/v1/score", content=b"[" * 1001, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def _too_long(r: Any, loc: list[Any], length: int, cap: int) -> None:
    """``r`` is a 422 whose problem at ``loc`` gives the length and the cap."""
    assert r.status_code == 422, r.text
    msgs = {tuple(d["loc"]): d for d in r.json()["detail"]}
    problem = msgs[tuple(loc)]
    assert problem["type"] == "string_too_long"
    assert problem["msg"] == f"at most {cap} characters are allowed, got {length}"


@pytest.mark.parametrize("path", ["/v1/chart", "/v1/report"])
def test_a_million_character_role_name_is_refused_before_any_work(
    client: TestClient, path: str
) -> None:
    # issue 15: such a name was still being drawn after 120 s
    role = {**CTL_ONLY, "name": "n" * 1_000_000}
    r = post(client, path, body([cand("a", answers())], role=role))
    _too_long(r, ["body", "role", "function-after[_check(), Role]", "name"], 1_000_000, 200)
    role = {**CTL_ONLY, "name": "n" * 200}  # at the cap: accepted
    assert post(client, path, body([cand("a", answers())], role=role)).status_code == 200


@pytest.mark.parametrize(
    ("field", "cap"),
    [("description", 2_000), ("rationale", 10_000), ("questionnaire", 256)],
)
def test_every_free_text_field_of_a_role_is_capped(
    client: TestClient, field: str, cap: int
) -> None:
    role = {**CTL_ONLY, field: "x" * (cap + 1)}
    r = post(client, "/v1/rank", body([cand("a", answers())], role=role))
    _too_long(r, ["body", "role", "function-after[_check(), Role]", field], cap + 1, cap)


def test_role_references_and_scale_ids_are_capped(client: TestClient) -> None:
    role = {**CTL_ONLY, "references": ["ok", "r" * 1001]}
    r = post(client, "/v1/rank", body([cand("a", answers())], role=role))
    _too_long(r, ["body", "role", "function-after[_check(), Role]", "references", 1], 1001, 1000)
    role = {**CTL_ONLY, "weights": {"controller": 1.0, "s" * 257: 1.0}}
    r = post(client, "/v1/rank", body([cand("a", answers())], role=role))
    # the key is quoted back clipped to 80 characters (docs/server.md, Errors)
    loc = ["body", "role", "function-after[_check(), Role]", "weights", "s" * 77 + "...", "[key]"]
    _too_long(r, loc, 257, 256)


@pytest.mark.parametrize(
    ("field", "cap"),
    [("description", 2_000), ("questionnaire_version", 64), ("created", 64)],
)
def test_norm_table_text_is_capped(client: TestClient, field: str, cap: int) -> None:
    norms = {**SIM_JSON, field: "d" * (cap + 1)}
    r = post(client, "/v1/score", body([cand("a", answers())], norms=norms))
    _too_long(r, ["body", "norms", "NormTable", field], cap + 1, cap)


def test_ids_naming_bundled_things_are_capped(client: TestClient) -> None:
    r = post(client, "/v1/score", {**body([cand("a", answers())]), "questionnaire": "q" * 300})
    _too_long(r, ["body", "questionnaire"], 300, 256)
    r = post(client, "/v1/rank", body([cand("a", answers())], role="r" * 300))
    _too_long(r, ["body", "role", "function-after[text(), str]"], 300, 256)


def test_the_bundled_files_are_within_the_caps() -> None:
    import repprofile
    from repprofile._formats.norms import bundled_norms

    assert len(repprofile.list_roles()) >= 6  # each one validated with the caps
    assert all(repprofile.load_norms(p).description for p in bundled_norms().values())
