"""Transport limits of ``repprofile serve`` (docs/server.md, "Transport limits"), against a
real server process over real sockets: header size, count and read time, body read time,
the concurrency limit, 413s that urllib receives, no query strings in the access log, and
the security headers on every answer, whichever layer produced it.

The servers here run with short timeouts (1 s) so that the tests stay quick.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from repprofile.server._http import error_body

from .test_server_live import KEY, Server, call, candidates, start, stop

pytestmark = pytest.mark.slow

TIMEOUT = 1.0  # --header-timeout and --body-timeout of the test server
MARGIN = 3.0  # allowed beyond TIMEOUT before a connection must be closed
BODY_LIMIT = 2000
HEADER_LIMIT = 4096
MAX_HEADERS = 20
SECURITY = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Short timeouts, small limits, access log on (log level info)."""
    server = start(
        tmp_path_factory.mktemp("transport"),
        *("--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT)),
        *("--keep-alive-timeout", "1", "--max-body-bytes", str(BODY_LIMIT)),
        *("--max-header-bytes", str(HEADER_LIMIT), "--max-headers", str(MAX_HEADERS)),
    )
    try:
        yield server
    finally:
        stop(server)


# --------------------------------------------------------------------------- raw sockets


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + MARGIN)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket timeout
    fails the test if it does not close in time)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def assert_error(
    status: int, headers: dict[str, str], body: bytes, expected: int, code: str
) -> None:
    assert status == expected
    assert headers["content-type"] == "application/problem+json"  # RFC 9457
    for name, value in SECURITY.items():
        assert headers[name] == value
    doc = json.loads(body)
    assert doc["code"] == code
    assert doc == error_body(expected, code, doc["detail"])


def auth_head(length: int) -> bytes:
    return (
        f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


# --------------------------------------------------------------------------- 413 and urllib


@pytest.mark.parametrize("size", [3 * BODY_LIMIT, 3_000_000, 30_000_000])
def test_a_too_large_post_reaches_urllib_as_a_413(srv: Server, size: int) -> None:
    # urllib sends the whole body before it reads: a server that answered and closed
    # with the body unread would reset the connection (ConnectionResetError here).
    reply = call(srv, "POST", "/v1/score", raw=b" " * size)
    assert_error(reply.status, reply.headers, reply.body, 413, "body_too_large")
    assert reply.headers["connection"] == "close"
    assert f"limit of {BODY_LIMIT} bytes" in reply.json()["detail"]
    assert call(srv, "GET", "/v1/health").status == 200  # and the server goes on


def test_a_large_post_without_a_key_reaches_urllib_as_a_401(srv: Server) -> None:
    reply = call(srv, "POST", "/v1/score", raw=b" " * 3_000_000, key=None)
    assert_error(reply.status, reply.headers, reply.body, 401, "unauthorized")
    assert reply.headers["www-authenticate"] == "Bearer"


def test_a_body_trickling_after_the_401_does_not_hold_the_connection(srv: Server) -> None:
    with connect(srv) as sock:
        head = auth_head(1000).replace(KEY.encode(), b"wrong-key-0123456789abcdef")
        sock.sendall(head + b"{")
        t0 = time.monotonic()
        for _ in range(3):  # a byte now and then, never the whole body
            time.sleep(TIMEOUT / 3)
            try:
                sock.sendall(b" ")
            except OSError:
                break
        status, headers, body = parse(read_all(sock))  # the 401, then the close
        assert time.monotonic() - t0 < TIMEOUT + MARGIN
    assert_error(status, headers, body, 401, "unauthorized")


# --------------------------------------------------------------------------- headers


def test_too_large_headers_are_431(srv: Server) -> None:
    reply = call(srv, "GET", "/v1/health", key=None, headers={"X-Big": "a" * HEADER_LIMIT})
    assert_error(reply.status, reply.headers, reply.body, 431, "headers_too_large")
    extra = {f"X-H{i}": "1" for i in range(MAX_HEADERS)}  # plus Host, Accept-Encoding, ...
    reply = call(srv, "GET", "/v1/health", key=None, headers=extra)
    assert_error(reply.status, reply.headers, reply.body, 431, "headers_too_large")
    few = {f"X-H{i}": "1" for i in range(MAX_HEADERS // 2)}
    assert call(srv, "GET", "/v1/health", key=None, headers=few).status == 200


def test_an_unfinished_huge_header_is_refused_as_it_grows(srv: Server) -> None:
    # 8 MB of one header line, never finished: refused (431, and the connection closed)
    # once it passes the limit, long before the header timeout, without buffering 8 MB.
    with connect(srv) as sock:
        sock.settimeout(TIMEOUT / 2)  # a server still reading would time this out
        t0 = time.monotonic()
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nX-Big: ")

        def send_8_mb() -> None:
            for _ in range(8_000_000 // 65536):
                sock.sendall(b"a" * 65536)

        with pytest.raises(ConnectionError):  # broken pipe or reset: the server closed
            send_8_mb()
        assert time.monotonic() - t0 < TIMEOUT
        data = read_all(sock)
    if data:  # unless the reset discarded it, the 431 came first
        status, headers, body = parse(data)
        assert_error(status, headers, body, 431, "headers_too_large")


def test_a_malformed_request_is_a_json_400(srv: Server) -> None:
    with connect(srv) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        status, headers, body = parse(read_all(sock))
    assert_error(status, headers, body, 400, "bad_request")


# --------------------------------------------------------------------------- access log


def test_query_strings_are_not_in_the_access_log(srv: Server) -> None:
    secret = "QUERY-SECRET-0123456789abcdef"
    assert call(srv, "GET", f"/v1/roles?api_key={secret}", key=None).status == 401
    assert call(srv, "GET", f"/v1/health?token={secret}&x=1").status == 200
    deadline = time.monotonic() + 5
    while '"GET /v1/health HTTP/1.1" 200' not in srv.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    logs = srv.logs()
    assert '"GET /v1/roles HTTP/1.1" 401' in logs  # the path is logged ...
    assert '"GET /v1/health HTTP/1.1" 200' in logs
    assert secret not in logs  # ... its query string is not
    assert "api_key" not in logs


# --------------------------------------------------------------------------- security headers


def test_every_status_has_no_store_and_nosniff(srv: Server) -> None:
    ok = call(srv, "GET", "/v1/health")
    unauthorized = call(srv, "GET", "/v1/roles", key=None)
    too_large = call(srv, "POST", "/v1/score", raw=b" " * (BODY_LIMIT + 1))
    scored = call(
        srv,
        "POST",
        "/v1/score",
        {"questionnaire": "rep-types", "candidates": candidates(1)},
    )
    for reply, status in ((ok, 200), (unauthorized, 401), (too_large, 413), (scored, 200)):
        assert reply.status == status
        for name, value in SECURITY.items():
            assert reply.headers[name] == value, (status, name)
    with connect(srv) as sock:  # 400, 408 and 431 come from the protocol layer
        sock.sendall(b"\x00\x01 nonsense\r\n\r\n")
        status, headers, body = parse(read_all(sock))
    assert_error(status, headers, body, 400, "bad_request")
    # (408, 431 and 503: checked by assert_error in the tests below and above)


# --------------------------------------------------------------------------- slow clients


def test_idle_and_half_sent_connections_are_closed_while_the_server_answers(
    srv: Server,
) -> None:
    t0 = time.monotonic()
    idle = [connect(srv) for _ in range(5)]
    heads = [connect(srv) for _ in range(5)]
    bodies = [connect(srv) for _ in range(5)]
    for sock in heads:
        sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bea")
    for sock in bodies:
        sock.sendall(auth_head(500) + b'{"questionnaire": "rep-types", ')
    # meanwhile, others are served
    for _ in range(3):
        assert call(srv, "GET", "/v1/health", timeout=TIMEOUT).status == 200
    body = {"questionnaire": "rep-types", "candidates": candidates(1)}
    assert call(srv, "POST", "/v1/score", body, timeout=TIMEOUT + MARGIN).status == 200
    for sock in idle:  # nothing was sent: closed without an answer
        assert read_all(sock) == b""
    for sock in heads:
        status, headers, data = parse(read_all(sock))
        assert_error(status, headers, data, 408, "header_timeout")
    for sock in bodies:
        status, headers, data = parse(read_all(sock))
        assert_error(status, headers, data, 408, "body_timeout")
    elapsed = time.monotonic() - t0
    assert TIMEOUT <= elapsed < TIMEOUT + MARGIN
    for sock in idle + heads + bodies:
        sock.close()
    assert call(srv, "GET", "/v1/health").status == 200


def test_a_kept_alive_connection_is_closed_after_the_keep_alive_timeout(srv: Server) -> None:
    with connect(srv) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        t0 = time.monotonic()
        data = read_all(sock)  # the answer, then the close after 1 s idle
        assert parse(data)[0] == 200
        assert time.monotonic() - t0 < 1 + MARGIN


# --------------------------------------------------------------------------- concurrency


def test_over_the_concurrency_limit_is_a_json_503_with_retry_after(tmp_path: Path) -> None:
    server = start(tmp_path, "--limit-concurrency", "3", "--header-timeout", "30")
    try:
        held = [connect(server) for _ in range(3)]
        time.sleep(0.2)
        reply = call(server, "GET", "/v1/health")
        assert_error(reply.status, reply.headers, reply.body, 503, "unavailable")
        assert reply.headers["retry-after"] == "1"
        assert reply.headers["connection"] == "close"
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 5
        while call(server, "GET", "/v1/health").status != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        stop(server)
