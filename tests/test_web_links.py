"""Candidate links opened right after they are created, and the cost of one autosave.

Issue 17: bench_web once saw GET /take/{token} answer 404 for a link just created over
the API. The app opens every link it creates (any token alphabet character in any
position, hundreds in a row, on both databases); what went wrong was the benchmark's
start-up, which took the answer of whatever server held its port for its own (tested
here with a stand-in server on the port).

The autosave does a bounded number of SQL statements and never reads answer values back
(progress comes from the answers' keys).
"""

from __future__ import annotations

import http.server
import importlib.util
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

import repprofile
import repprofile.web._store as store
from repprofile.web._db import Answer, Invitation

from .conftest import WEB_AUTH

ROOT = Path(__file__).resolve().parents[1]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
ITEMS = [i.id for i in repprofile.load_questionnaire("rep-types").items]


def _invite(client: TestClient, n: int) -> tuple[str, str]:
    r = client.post(
        "/v1/invitations",
        json={"candidate_id": f"cand-{n}", "questionnaire": "rep-types"},
        headers=WEB_AUTH,
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    url = doc["url"]
    assert url.startswith("http://testserver/take/")
    return doc["invitation_id"], url.rsplit("/", 1)[1]


def _csrf(html: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf"[^>]*>', html)
    assert tag is not None, html[:300]
    value = re.search(r'value="([^"]+)"', tag.group(0))
    assert value is not None
    return value.group(1)


def _edge_tokens() -> list[str]:
    """22-character tokens (the length of 128 bits in URL-safe base64) with '-' and '_'
    first, last, doubled and alone, and every alphabet character in every position."""
    tokens = ["-" * 22, "_" * 22, "-" + "A" * 21, "_" + "A" * 21, "A" * 21 + "-", "A" * 21 + "_"]
    tokens += ["--__" * 5 + "-_", "a-b_c" * 4 + "--"]
    tokens += [(ALPHABET[k:] + ALPHABET[:k])[:22] for k in range(0, 64, 3)]
    return tokens


def test_every_token_character_in_every_position_opens_its_link(
    web_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = iter(_edge_tokens())
    monkeypatch.setattr(store, "new_token", lambda: next(tokens))
    for n, expected in enumerate(_edge_tokens()):
        _invitation_id, token = _invite(web_client, n)
        assert token == expected  # the link carries the token unchanged
        r = web_client.get(f"/take/{token}", follow_redirects=False)
        assert r.status_code == 200, (token, r.status_code)
        csrf = _csrf(r.text)
        r = web_client.post(
            f"/take/{token}/start",
            data={"csrf": csrf, "accept_privacy": "on"},
            follow_redirects=False,
        )
        assert (r.status_code, r.headers["location"]) == (303, f"/take/{token}/page/1")
        r = web_client.post(
            f"/take/{token}/answers",
            json={"answers": [{"item": ITEMS[0], "value": "4"}], "page": 1},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.json() == {"saved": 1, "answered": 1, "total": len(ITEMS)}


def test_hundreds_of_links_open_right_after_they_are_created(web_client: TestClient) -> None:
    seen = set()
    for n in range(300):
        _, token = _invite(web_client, n)
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
        seen.add(token)
        r = web_client.get(f"/take/{token}", follow_redirects=False)
        assert r.status_code == 200, (n, r.status_code)
    assert len(seen) == 300


def test_an_autosave_reads_no_answer_values_and_runs_six_statements(
    web_client: TestClient, web_engine: Engine
) -> None:
    invitation_id, token = _invite(web_client, 0)
    csrf = _csrf(web_client.get(f"/take/{token}").text)
    web_client.post(f"/take/{token}/start", data={"csrf": csrf, "accept_privacy": "on"})
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(web_engine, "before_cursor_execute", seen)
    try:
        for k in range(3):
            r = web_client.post(
                f"/take/{token}/answers",
                json={"answers": [{"item": ITEMS[k], "value": str(k + 1)}], "page": 1},
                headers={"X-CSRF-Token": csrf},
            )
            assert r.json() == {"saved": 1, "answered": k + 1, "total": len(ITEMS)}
    finally:
        event.remove(web_engine, "before_cursor_execute", seen)
    # per save: the invitation, the conditional UPDATE that holds it while it is active
    # (the security review: nothing is saved once it is closed), the upsert, the answered
    # keys, the log row, the invitation
    assert len(statements) == 18, statements
    kinds = [s.split()[0] for s in statements[:6]]
    assert sorted(kinds) == ["INSERT", "INSERT", "SELECT", "SELECT", "UPDATE", "UPDATE"], (
        statements[:6]
    )
    reads_of_answers = [s for s in statements if s.startswith("SELECT") and "answers" in s]
    assert reads_of_answers
    assert all("answers.value" not in s for s in reads_of_answers)
    with web_engine.connect() as conn:
        stored = conn.execute(
            select(Answer.item_id, Answer.value).where(Answer.invitation_id == invitation_id)
        ).all()
        answered = conn.execute(
            select(Invitation.answered).where(Invitation.id == invitation_id)
        ).scalar_one()
    assert sorted(stored) == sorted([(ITEMS[0], "1"), (ITEMS[1], "2"), (ITEMS[2], "3")])
    assert answered == 3


# ------------------------------------------------------------- the benchmark's start-up


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_web", ROOT / "benchmarks/bench_web.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_web", module)
    spec.loader.exec_module(module)
    return module


class _Squatter(http.server.BaseHTTPRequestHandler):
    """Another server on the port: healthy, and it knows no key of ours."""

    def do_GET(self) -> None:
        status = 200 if self.path == "/v1/health" else 401
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def squatted_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Squatter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_benchmark_refuses_a_port_another_server_answers(
    squatted_port: int, tmp_path: Path
) -> None:
    bench = _bench()
    with pytest.raises(RuntimeError, match="another server"):
        bench.start_server(
            ["--data-dir", str(tmp_path / "data")], tmp_path / "serve.log", port=squatted_port
        )
