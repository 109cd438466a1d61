"""``kill -9`` of the server while candidates answer loses no answer the browser was told
was saved (issue 17, "Checks"), on SQLite (``--data-dir``) and on PostgreSQL
(``--database-url``).

A real ``repprofile serve`` process is started; an invitation is created over HTTP, the
candidate accepts the privacy notice (as the welcome page's form does) and several threads
then POST answers to the autosave endpoint ``POST /take/{token}/answers`` (the contract in
DESIGN17.md), each thread owning its own items and changing their values round after round.
Every answer acknowledged with a 200 is recorded, and so is each request still in flight.
The whole server (its process group) gets SIGKILL mid-stream; a new server is started on the
same database, and every acknowledged answer must be there with its last acknowledged value
(or with the value of the one request that was in flight for that item when the server
died: it may have been committed without the client hearing so).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

import repprofile
from repprofile.web._db import Answer, make_engine

from ._webdb import PgCluster

SCRIPT = Path(sys.executable).parent / "repprofile"
KEY = "durability-key-0123456789abcdefgh"
AUTH = {"Authorization": f"Bearer {KEY}"}
Q = repprofile.load_questionnaire("rep-types")
ITEMS = [item.id for item in Q.items]
THREADS = 6
KILL_AFTER = 120  # acknowledged saves before the kill
STARTUP_TIMEOUT = 60.0

# The candidate pages (helper A's repprofile/web/_pages.py) hold the autosave endpoint;
# without them there is nothing to post answers to.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("repprofile.web._pages") is None,
    reason="POST /take/{token}/answers (repprofile.web._pages) is not merged yet",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def kill(self) -> None:
        """SIGKILL to the server's whole process group (kill -9; no shutdown at all)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def serve(folder: Path, args: list[str]) -> Server:
    """``repprofile serve`` on a free port with ``args``, once GET /v1/health answers."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPPROFILE_")}
    env |= {"REPPROFILE_API_KEYS": KEY, "MPLBACKEND": "Agg"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), "--insecure-cookies", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"repprofile serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if server.request("GET", "/v1/health")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"repprofile serve did not answer in {STARTUP_TIMEOUT} s")
        time.sleep(0.1)


@pytest.fixture
def database(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[list[str], str]:
    """The serve options of a fresh database, and its URL (to read it afterwards)."""
    if db_kind == "sqlite":
        data = tmp_path / "data"
        return ["--data-dir", str(data)], f"sqlite:///{data / 'repprofile.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database()
    return ["--database-url", url], url


@pytest.fixture
def server(database: tuple[list[str], str], tmp_path: Path) -> Iterator[Server]:
    srv = serve(tmp_path, database[0])
    try:
        yield srv
    finally:
        srv.kill()


def start_candidate(server: Server) -> tuple[str, str, str]:
    """Invite a candidate over HTTP and accept the privacy notice as the welcome page's
    form does; (invitation id, token, CSRF token)."""
    status, _, raw = server.request(
        "POST",
        "/v1/invitations",
        json.dumps({"candidate_id": "durable", "questionnaire": "rep-types"}).encode(),
        {**AUTH, "Content-Type": "application/json"},
    )
    assert status == 201, raw
    doc = json.loads(raw)
    token = doc["url"].rsplit("/", 1)[1]
    status, _, html = server.request("GET", f"/take/{token}")
    assert status == 200, html[:500]
    tag = re.search(rb'<input[^>]*name="csrf"[^>]*>', html)
    assert tag is not None, "no csrf input on the welcome page"
    value = re.search(rb'value="([^"]+)"', tag.group(0))
    assert value is not None
    csrf = value.group(1).decode()
    form = urllib.parse.urlencode({"csrf": csrf, "accept_privacy": "on"}).encode()
    status, headers, _ = server.request(
        "POST",
        f"/take/{token}/start",
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 303
    assert headers["location"].endswith(f"/take/{token}/page/1")
    return doc["invitation_id"], token, csrf


@dataclass
class Ledger:
    """What the client was told: per item the last value acknowledged with a 200, and the
    value of a request sent but not answered (in flight when the server died)."""

    acked: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    saves: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def answer_stream(
    port: int, token: str, csrf: str, items: list[str], ledger: Ledger, stop: threading.Event
) -> None:
    """POST this thread's items round after round (1 to 3 answers a request, values 1-5
    changing every round) until the server stops answering or ``stop``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf}
    rnd = 0
    try:
        while not stop.is_set():
            for start in range(0, len(items), 1 + rnd % 3):
                batch = items[start : start + 1 + rnd % 3]
                values = {item: str(1 + (rnd + i) % 5) for i, item in enumerate(batch)}
                body = json.dumps(
                    {
                        "answers": [
                            {"item": k, "part": "", "value": v, "seconds": 1.0}
                            for k, v in values.items()
                        ],
                        "page": 1,
                    }
                )
                with ledger.lock:
                    ledger.pending.update(values)
                try:
                    conn.request("POST", f"/take/{token}/answers", body, headers)
                    r = conn.getresponse()
                    raw = r.read()
                except (OSError, http.client.HTTPException):
                    return  # the server is gone: what is pending stays pending
                with ledger.lock:
                    if r.status != 200:
                        ledger.errors.append(f"{r.status} {raw[:300]!r}")
                        return
                    doc = json.loads(raw)
                    if doc["saved"] != len(values) or doc["total"] != len(ITEMS):
                        ledger.errors.append(f"unexpected body {doc}")
                        return
                    ledger.acked.update(values)
                    for k in values:
                        ledger.pending.pop(k, None)
                    ledger.saves += 1
                if stop.is_set():
                    return
            rnd += 1
    finally:
        conn.close()


def test_kill_9_loses_no_acknowledged_answer(
    server: Server, database: tuple[list[str], str], tmp_path: Path
) -> None:
    invitation_id, token, csrf = start_candidate(server)
    ledger = Ledger()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=answer_stream,
            args=(server.port, token, csrf, ITEMS[k::THREADS], ledger, stop),
            daemon=True,
        )
        for k in range(THREADS)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while ledger.saves < KILL_AFTER and time.monotonic() < deadline and not ledger.errors:
        time.sleep(0.005)
    server.kill()  # mid-stream: the threads are still posting
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not ledger.errors, ledger.errors
    assert ledger.saves >= KILL_AFTER, f"only {ledger.saves} saves acknowledged before the kill"
    # the threads were still posting when the server died
    assert ledger.pending, "no request was in flight at the kill"

    again = serve(tmp_path, database[0])  # restart on the same database
    try:
        engine = make_engine(database[1])
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(Answer.item_id, Answer.part, Answer.value).where(
                        Answer.invitation_id == invitation_id
                    )
                ).all()
        finally:
            engine.dispose()
        stored = {item: value for item, part, value in rows if part == ""}
        assert len(rows) == len(stored)
        lost = {
            item: (value, stored.get(item))
            for item, value in ledger.acked.items()
            if stored.get(item) not in (value, ledger.pending.get(item))
        }
        assert lost == {}, f"acknowledged answers lost or changed by the kill: {lost}"
        # nothing is stored that was never sent
        assert set(stored) <= set(ledger.acked) | set(ledger.pending)
        # the restarted server reads the same progress and accepts answers again
        status, _, raw = again.request("GET", f"/v1/invitations/{invitation_id}", None, AUTH)
        assert status == 200
        assert json.loads(raw)["progress"] == {"answered": len(stored), "total": len(ITEMS)}
        status, _, raw = again.request(
            "POST",
            f"/take/{token}/answers",
            json.dumps({"answers": [{"item": ITEMS[0], "value": "2"}]}).encode(),
            {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )
        assert status == 200, raw
        assert json.loads(raw)["saved"] == 1
    finally:
        again.kill()
