"""The HTTP API as deployed: a real ``repprofile serve`` process, called over the network.

Every request goes through the standard library's HTTP client (urllib / http.client)
and a real socket, so uvicorn's parser, the ``_Guard`` middleware (keys, body limits),
the CLI's option handling and the logging configuration are all exercised together.

The module fixture ``server`` starts one server for most tests (default host, debug
logging, a small batch limit); tests of other options start their own server or run the
command to its exit. Answers, scores and reports are compared with the library called
in-process on the same answers: the API must give exactly what the library gives.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import repprofile
from repprofile._analysis.fit import fit_report
from repprofile._formats.files import bundled_dir

from ._server_helpers import UNAUTHORIZED, problem
from .conftest import API_PATHS, INVITATION_PATHS

SCRIPT = Path(sys.executable).parent / "repprofile"
KEY = "live-test-key-0123456789abcdef"
OTHER_KEY = "some-other-key-0123456789abcdef"
STARTUP_TIMEOUT = 30.0
MAX_CANDIDATES = 8  # --max-candidates of the module server
SMALL_BODY = 2000  # --max-body-bytes of the small-body server

QUESTIONNAIRE = repprofile.load_questionnaire("rep-types")
ITEMS = [item.id for item in QUESTIONNAIRE.items]
SIMULATED_NORMS = bundled_dir() / "norms" / "rep-types-simulated.json"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A direct opener: a proxy from the environment must not sit between the test and the server.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- data


def answers(k: int) -> dict[str, Any]:
    """Every item answered, a different whole-number pattern (1-5) per ``k``."""
    return {item: 1 + (i * 3 + k) % 5 for i, item in enumerate(ITEMS)}


def candidates(n: int, prefix: str = "c") -> list[dict[str, Any]]:
    return [{"candidate_id": f"{prefix}{k}", "answers": answers(k)} for k in range(n)]


def as_json(doc: Any) -> Any:
    """``doc`` as it comes back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(doc))


# --------------------------------------------------------------------------- server process


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    out: Path
    err: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def logs(self) -> str:
        """Everything the server wrote: stderr (its log) and stdout (the access log)."""
        return self.stderr() + self.out.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(**extra: str) -> dict[str, str]:
    """The test's environment without any REPPROFILE_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPPROFILE_")}
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def stop(server: Server) -> None:
    """Terminate the server (and, should it hang, its whole process group)."""
    proc = server.proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            if sys.platform != "win32":
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # pragma: no cover
                proc.kill()
            proc.wait(timeout=15)


def start(folder: Path, *args: str, env: Mapping[str, str] | None = None) -> Server:
    """Run ``repprofile serve --port P ARGS`` and wait until GET /v1/health answers."""
    port = free_port()
    out, err = folder / "stdout.log", folder / "stderr.log"
    with out.open("wb") as fout, err.open("wb") as ferr:
        proc = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), *args],
            stdin=subprocess.DEVNULL,
            stdout=fout,
            stderr=ferr,
            # the web assessment's SQLite database in the test's folder, not the working one
            env={
                "REPPROFILE_DATA_DIR": str(folder / "data"),
                **(env if env is not None else server_env(REPPROFILE_API_KEYS=KEY)),
            },
            start_new_session=sys.platform != "win32",
        )
    server = Server(proc, port, out, err)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"repprofile serve exited with {proc.returncode}:\n{server.logs()}")
            try:
                if call(server, "GET", "/v1/health", key=None, timeout=2).status == 200:
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {server.url} in {STARTUP_TIMEOUT} s:\n{server.logs()}")
            time.sleep(0.1)
    except BaseException:
        stop(server)
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: default host, debug log, at most 8 candidates per batch."""
    srv = start(
        tmp_path_factory.mktemp("server"),
        "--log-level",
        "debug",
        "--max-candidates",
        str(MAX_CANDIDATES),
    )
    try:
        yield srv
    finally:
        stop(srv)


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that takes request bodies of at most 2000 bytes."""
    srv = start(tmp_path_factory.mktemp("small"), "--max-body-bytes", str(SMALL_BODY))
    try:
        yield srv
    finally:
        stop(srv)


# --------------------------------------------------------------------------- HTTP client


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = KEY,
    headers: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 60,
) -> Reply:
    """One request with urllib; any status comes back as a Reply (no exception)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(server.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as exc:
        try:
            return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
        finally:
            exc.close()


def post_chunked(server: Server, path: str, chunks: list[bytes]) -> Reply:
    """POST with ``Transfer-Encoding: chunked`` (no Content-Length) using http.client."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(
            "POST",
            path,
            body=iter(chunks),
            headers={
                "Authorization": f"Bearer {KEY}",
                "Content-Type": "application/json",
                "Transfer-Encoding": "chunked",
            },
            encode_chunked=True,
        )
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# --------------------------------------------------------------------------- catalogue


def test_health_needs_no_key(server: Server) -> None:
    reply = call(server, "GET", "/v1/health", key=None)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"status": "ok", "version": repprofile.__version__}
    assert "server" not in reply.headers  # --server-header is off


def test_openapi_document_lists_every_endpoint(server: Server) -> None:
    assert call(server, "GET", "/openapi.json", key=None).status == 401  # docs need the key
    doc = call(server, "GET", "/openapi.json").json()
    assert set(doc["paths"]) == API_PATHS | INVITATION_PATHS


def test_questionnaires_list(server: Server) -> None:
    reply = call(server, "GET", "/v1/questionnaires")
    assert reply.status == 200
    assert reply.json() == [
        {
            "id": q.id,
            "version": q.version,
            "name": q.title,
            "title": q.title,  # 'name' is deprecated
            "n_items": len(q.items),
            "scales": list(q.scale_ids),
            "sha256": q.fingerprint,
        }
        for q in repprofile.list_questionnaires()
    ]
    assert [q["id"] for q in reply.json()] == ["rep-hiring", "rep-types", "service-recovery"]
    assert reply.json()[1]["n_items"] == 80


def test_questionnaire_by_id(server: Server) -> None:
    reply = call(server, "GET", "/v1/questionnaires/rep-types")
    assert reply.status == 200
    assert repprofile.Questionnaire.model_validate(reply.json()) == QUESTIONNAIRE
    assert [item["id"] for item in reply.json()["items"]] == ITEMS


def test_unknown_questionnaire_is_404(server: Server) -> None:
    reply = call(server, "GET", "/v1/questionnaires/no-such-thing")
    assert reply.status == 404
    assert reply.json()["detail"].startswith("no questionnaire 'no-such-thing'")


def test_roles_list(server: Server) -> None:
    reply = call(server, "GET", "/v1/roles")
    assert reply.status == 200
    assert reply.json() == [
        {"id": r.id, "name": r.name, "description": r.description, "questionnaire": r.questionnaire}
        for r in repprofile.list_roles()
    ]
    assert "retention" in {r["id"] for r in reply.json()}


def test_role_by_id(server: Server) -> None:
    reply = call(server, "GET", "/v1/roles/retention")
    assert reply.status == 200
    assert repprofile.Role.model_validate(reply.json()) == repprofile.load_role("retention")


def test_unknown_role_is_404(server: Server) -> None:
    reply = call(server, "GET", "/v1/roles/no-such-role")
    assert reply.status == 404
    assert reply.json()["detail"].startswith("no role 'no-such-role'")


# --------------------------------------------------------------------------- scoring


def test_score_equals_the_library(server: Server) -> None:
    batch = candidates(4)
    batch[1]["seconds"] = 600.0
    batch[2]["answers"]["ctl03"] = None  # a missing answer
    reply = call(server, "POST", "/v1/score", {"questionnaire": "rep-types", "candidates": batch})
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    doc = reply.json()
    expected = repprofile.score(QUESTIONNAIRE, batch)
    assert [p["candidate_id"] for p in doc["profiles"]] == ["c0", "c1", "c2", "c3"]
    for p in doc["profiles"]:
        assert repprofile.Profile.model_validate(p) == expected.profile(p["candidate_id"])
    assert doc == as_json(expected.to_dict()) | {"warnings": []}
    assert doc["errors"] == []
    assert doc["provenance"]["questionnaire_sha256"] == QUESTIONNAIRE.fingerprint


def test_score_with_bundled_norms_equals_the_library(server: Server) -> None:
    batch = candidates(3)
    body = {
        "questionnaire": "rep-types",
        "candidates": batch,
        "norms": "rep-types-simulated",
        "ci": 0.8,
        "reliability": "omega_total",
    }
    doc = call(server, "POST", "/v1/score", body).json()
    expected = repprofile.score(
        QUESTIONNAIRE, batch, norms=SIMULATED_NORMS, ci=0.8, reliability="omega_total"
    )
    assert doc["profiles"] == as_json(expected.to_dict())["profiles"]
    assert doc["provenance"]["ci_level"] == 0.8
    assert doc["profiles"][0]["scales"]["rock"]["t"] is not None
    assert len(doc["warnings"]) == 1
    assert "SIMULATED" in doc["warnings"][0]


def test_batch_with_bad_rows_scores_the_valid_ones(server: Server) -> None:
    batch = candidates(2)
    batch += [
        {"candidate_id": "b-range", "answers": answers(2) | {"ctl01": 7}},
        {"candidate_id": "b-text", "answers": answers(3) | {"emp02": "often"}},
        {"candidate_id": "b-zero", "answers": answers(4) | {"ctl03": 0}},
        {"candidate_id": "b-item", "answers": answers(5) | {"no-such-item": 3}},
    ]
    reply = call(server, "POST", "/v1/score", {"questionnaire": "rep-types", "candidates": batch})
    assert reply.status == 200
    doc = reply.json()
    expected = repprofile.score(QUESTIONNAIRE, batch)
    assert [p["candidate_id"] for p in doc["profiles"]] == ["c0", "c1"]
    assert doc["profiles"] == as_json(expected.to_dict())["profiles"]
    found = {(e["candidate_id"], e["item_id"], e["value"]) for e in doc["errors"]}
    assert found == {
        ("b-range", "ctl01", 7),
        ("b-text", "emp02", "often"),
        ("b-zero", "ctl03", 0),
        ("b-item", "no-such-item", 3),
    }
    assert all(e["message"] for e in doc["errors"])
    assert doc["errors"] == [e.model_dump(mode="json") for e in expected.errors]


def test_fit_equals_the_library(server: Server) -> None:
    batch = candidates(5)
    roles = ["general-frontline", "retention"]
    body = {"questionnaire": "rep-types", "candidates": batch, "roles": roles, "cut": 60}
    reply = call(server, "POST", "/v1/fit", body)
    assert reply.status == 200
    result = repprofile.score(QUESTIONNAIRE, batch)
    expected = fit_report(result, [repprofile.fit(result, r, cut=60) for r in roles])
    assert reply.json() == as_json(expected) | {"warnings": []}
    assert len(reply.json()["candidates"]) == 5


def test_rank_equals_the_library(server: Server) -> None:
    batch = candidates(6)
    body = {"questionnaire": "rep-types", "candidates": batch, "role": "retention", "top": 3}
    reply = call(server, "POST", "/v1/rank", body)
    assert reply.status == 200
    result = repprofile.score(QUESTIONNAIRE, batch)
    expected = as_json(repprofile.rank(repprofile.fit(result, "retention"), top=3))
    # HTTP adds 'candidates' (the same list as the deprecated 'ranking') and 'warnings'.
    assert reply.json() == expected | {"candidates": expected["ranking"], "warnings": []}
    assert len(reply.json()["ranking"]) == 3


def test_rank_with_an_unknown_role_is_422(server: Server) -> None:
    body = {"questionnaire": "rep-types", "candidates": candidates(1), "role": "no-such-role"}
    reply = call(server, "POST", "/v1/rank", body)
    assert reply.status == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "role"]


# --------------------------------------------------------------------------- documents


def test_chart_is_png_by_default(server: Server) -> None:
    body = {"questionnaire": "rep-types", "candidates": candidates(1), "role": "retention"}
    reply = call(server, "POST", "/v1/chart", body)
    assert reply.status == 200
    assert reply.headers["content-type"] == "image/png"
    assert reply.body.startswith(PNG_MAGIC)
    assert len(reply.body) > 5000


def test_chart_is_svg_by_accept(server: Server) -> None:
    body = {
        "questionnaire": "rep-types",
        "candidates": candidates(3),
        "candidate_id": "c0",
        "compare": ["c1", "c2"],
    }
    reply = call(server, "POST", "/v1/chart", body, headers={"Accept": "image/svg+xml"})
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("image/svg+xml")
    text = reply.body.decode("utf-8")
    assert "<svg" in text
    assert text.rstrip().endswith("</svg>")


def test_chart_with_an_unproducible_accept_is_406(server: Server) -> None:
    body = {"questionnaire": "rep-types", "candidates": candidates(1)}
    reply = call(server, "POST", "/v1/chart", body, headers={"Accept": "application/pdf"})
    assert reply.status == 406
    assert "image/png" in reply.json()["detail"]


def test_report_is_pdf(server: Server) -> None:
    body = {
        "questionnaire": "rep-types",
        "candidates": candidates(1),
        "role": "retention",
        "date": "2024-05-01",
    }
    reply = call(server, "POST", "/v1/report", body)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/pdf"
    assert reply.body.startswith(b"%PDF")
    assert reply.body.rstrip().endswith(b"%%EOF")


def test_report_as_json_equals_the_library(server: Server) -> None:
    batch = candidates(2)
    body = {
        "questionnaire": "rep-types",
        "candidates": batch,
        "candidate_id": "c1",
        "role": "retention",
        "date": "2024-05-01",
    }
    reply = call(server, "POST", "/v1/report", body, headers={"Accept": "application/json"})
    assert reply.status == 200
    result = repprofile.score(QUESTIONNAIRE, batch)
    expected = repprofile.candidate_report(
        result, "c1", repprofile.load_role("retention"), date=dt.date(2024, 5, 1)
    )
    assert repprofile.CandidateReport.model_validate(reply.json()) == expected


# --------------------------------------------------------------------------- authentication

PROTECTED = [
    ("GET", "/v1/questionnaires", None),
    ("GET", "/v1/questionnaires/rep-types", None),
    ("GET", "/v1/roles", None),
    ("GET", "/v1/roles/retention", None),
    ("POST", "/v1/score", {"questionnaire": "rep-types", "candidates": []}),
    ("POST", "/v1/fit", {"questionnaire": "rep-types", "candidates": [], "roles": ["retention"]}),
    ("POST", "/v1/rank", {"questionnaire": "rep-types", "candidates": [], "role": "retention"}),
    ("POST", "/v1/chart", {"questionnaire": "rep-types", "candidates": []}),
    ("POST", "/v1/report", {"questionnaire": "rep-types", "candidates": [], "role": "retention"}),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=[p for _, p, _ in PROTECTED])
def test_missing_and_wrong_keys_get_the_same_401(
    server: Server, method: str, path: str, body: Any
) -> None:
    replies = {
        "no header": call(server, method, path, body, key=None),
        "wrong key": call(server, method, path, body, key=OTHER_KEY),
        "empty key": call(server, method, path, body, key=None, headers={"Authorization": ""}),
        "basic scheme": call(
            server, method, path, body, key=None, headers={"Authorization": f"Basic {KEY}"}
        ),
        "key prefix": call(server, method, path, body, key=KEY[:-1]),
    }
    for reply in replies.values():
        assert reply.status == 401
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.json() == json.loads(UNAUTHORIZED)
    assert len({reply.body for reply in replies.values()}) == 1
    assert call(server, method, path, body).status != 401


@pytest.mark.parametrize(
    "path", ["/v1/score/", "/v1/./score", "/v1/health/../score", "/v1%2Fscore", "//v1/score"]
)
def test_path_variants_do_not_skip_the_key_check(server: Server, path: str) -> None:
    body = json.dumps({"questionnaire": "rep-types", "candidates": candidates(1)})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        status, data = resp.status, resp.read()
    finally:
        conn.close()
    assert status in (401, 404)
    assert b"profiles" not in data


# --------------------------------------------------------------------------- limits


def test_batch_over_max_candidates_is_413(server: Server) -> None:
    body = {"questionnaire": "rep-types", "candidates": candidates(MAX_CANDIDATES + 1)}
    reply = call(server, "POST", "/v1/score", body)
    assert reply.status == 413
    assert f"at most {MAX_CANDIDATES}" in reply.json()["detail"]
    body["candidates"] = candidates(MAX_CANDIDATES)
    assert call(server, "POST", "/v1/score", body).status == 200


def small_body() -> dict[str, Any]:
    return {
        "questionnaire": "rep-types",
        "candidates": [{"candidate_id": "s1", "answers": {"ctl01": 5, "ctl02": 4}}],
    }


def big_body() -> bytes:
    data = json.dumps({"questionnaire": "rep-types", "candidates": candidates(4)}).encode()
    assert len(data) > 2 * SMALL_BODY
    return data


@pytest.mark.slow
def test_body_over_max_body_bytes_is_413(small_server: Server) -> None:
    assert len(json.dumps(small_body())) < SMALL_BODY
    assert call(small_server, "POST", "/v1/score", small_body()).status == 200
    reply = call(small_server, "POST", "/v1/score", raw=big_body())
    assert reply.status == 413
    assert reply.json() == problem(
        413,
        "body_too_large",
        f"the request body is larger than this server's limit of {SMALL_BODY} bytes",
    )


@pytest.mark.slow
def test_content_length_over_max_body_bytes_is_413_before_the_body_is_sent(
    small_server: Server,
) -> None:
    # Only the headers are sent: the 413 must come from Content-Length alone (a server
    # that waited for the body would time out here).
    conn = http.client.HTTPConnection("127.0.0.1", small_server.port, timeout=10)
    try:
        conn.putrequest("POST", "/v1/score")
        conn.putheader("Authorization", f"Bearer {KEY}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(100 * SMALL_BODY))
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413
        assert b"limit of 2000 bytes" in resp.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_chunked_body_over_max_body_bytes_is_413(small_server: Server) -> None:
    small = post_chunked(small_server, "/v1/score", chunked(json.dumps(small_body()).encode(), 50))
    assert small.status == 200  # a chunked body within the limit is read and scored
    assert [p["candidate_id"] for p in json.loads(small.body)["profiles"]] == ["s1"]
    reply = post_chunked(small_server, "/v1/score", chunked(big_body(), 500))
    assert reply.status == 413
    assert json.loads(reply.body) == problem(
        413,
        "body_too_large",
        f"the request body is larger than this server's limit of {SMALL_BODY} bytes",
    )


# --------------------------------------------------------------------------- process options


@pytest.mark.slow
def test_two_workers_serve_requests(tmp_path: Path) -> None:
    srv = start(tmp_path, "--workers", "2")
    try:
        batch = candidates(30)  # above 20 candidates: scored in the thread pool
        body = {"questionnaire": "rep-types", "candidates": batch}
        expected = as_json(repprofile.score(QUESTIONNAIRE, batch).to_dict()) | {"warnings": []}
        for _ in range(4):
            reply = call(srv, "POST", "/v1/score", body)
            assert reply.status == 200
            assert reply.json() == expected
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while len(set(re.findall(r"Started server process \[(\d+)\]", srv.stderr()))) < 2:
            assert time.monotonic() < deadline, srv.logs()
            time.sleep(0.1)
    finally:
        stop(srv)
    assert srv.proc.returncode is not None
    assert not listening(srv.port)


def test_binds_127_0_0_1_by_default(server: Server) -> None:
    assert f"Uvicorn running on http://127.0.0.1:{server.port} " in server.stderr()
    if sys.platform != "linux":
        return
    # 127.0.0.2 is this machine too (127/8 is loopback on Linux), but not the bound address.
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
        except OSError:
            pytest.skip("127.0.0.2 is not a local address here")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", server.port), timeout=5).close()


def test_no_key_exits_2_without_starting(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--port", str(port)],
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("repprofile: error: ")
    assert "no API key is configured" in proc.stderr
    assert "REPPROFILE_API_KEYS" in proc.stderr
    assert "Uvicorn running" not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    assert not listening(port)


def test_short_key_in_key_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    good, short = "a-long-enough-key-0123456789", "short-key-x1"
    key_file = tmp_path / "keys.txt"
    key_file.write_text(f"# API keys\n{good}\n\n  {short}  \n", encoding="utf-8")
    port = free_port()
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--port", str(port), "--key-file", str(key_file)],
        env=server_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{key_file} line 4" in proc.stderr
    assert "at least 16 characters" in proc.stderr
    assert f"got {len(short)} characters" in proc.stderr
    assert short not in proc.stderr + proc.stdout
    assert good not in proc.stderr + proc.stdout
    assert not listening(port)


def test_short_key_in_environment_exits_2_without_showing_it(tmp_path: Path) -> None:
    short = "tiny-key-99"
    port = free_port()
    proc = subprocess.run(
        [str(SCRIPT), "serve", "--port", str(port)],
        env=server_env(REPPROFILE_API_KEYS=f"{KEY},{short}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "REPPROFILE_API_KEYS key 2" in proc.stderr
    assert short not in proc.stderr + proc.stdout
    assert KEY not in proc.stderr + proc.stdout


def test_debug_log_has_ids_but_no_answers_or_scores(server: Server) -> None:
    good, bad = "zz-cand-alpha-7731", "zz-cand-bravo-4410"
    canary_answer, canary_seconds = "leak-canary-9183", 8675.309
    batch = [
        {"candidate_id": good, "answers": answers(1), "seconds": canary_seconds},
        {"candidate_id": bad, "answers": answers(2) | {"ctl01": canary_answer}},
    ]
    reply = call(server, "POST", "/v1/score", {"questionnaire": "rep-types", "candidates": batch})
    assert reply.status == 200
    doc = reply.json()
    assert doc["errors"][0]["value"] == canary_answer  # the answer is in the response...
    deadline = time.monotonic() + 10
    while good not in server.stderr():
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.05)
    stderr, logs = server.stderr(), server.logs()
    assert bad in stderr
    # ...but neither answers nor timings nor scores are in the log.
    assert canary_answer not in logs
    assert str(canary_seconds) not in logs
    scales = doc["profiles"][0]["scales"]
    secret = {repr(s[f]) for s in scales.values() for f in ("mean", "pomp") if s[f] is not None}
    secret |= {repr(v) for v in doc["profiles"][0]["quality"]["indices"].values() if v}
    secret = {s for s in secret if len(s) >= 6}  # values like '3.5' could occur by chance
    assert secret
    leaked = sorted(s for s in secret if s in logs)
    assert leaked == []
