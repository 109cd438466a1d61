"""What the browser tests share: a real ``repprofile serve`` process, the invitations API
over HTTP, the prerequisites (Debian's chromium, axe-core from npm) and helpers that drive
the candidate's pages (docs/web-assessment.md) the way a person does.

Nothing here reaches past the loopback address: the server listens on 127.0.0.1 and the
browser is started without background networking.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "img"
SCREENSHOT_ENV = "REPPROFILE_SCREENSHOTS"
SCRIPT = Path(sys.executable).parent / "repprofile"
KEY = "browser-test-key-0123456789abcdef"
STARTUP_TIMEOUT = 60.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_CHROMIUM = "install it with: apt-get install chromium (Debian's package)"
INSTALL_AXE = "install it with: (cd tests/browser && npm ci) (axe-core pinned in package.json)"

# A direct opener: a proxy from the environment must not sit between the test and the server.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def require_prerequisites() -> None:
    """Fail (not skip) with how to install what is missing: CI installs both."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is missing; {INSTALL_CHROMIUM}")
    if not AXE.exists():
        missing.append(f"{AXE.relative_to(ROOT)} is missing; {INSTALL_AXE}")
    if missing:
        pytest.fail("the browser tests need:\n  " + "\n  ".join(missing), pytrace=False)


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    """A running ``repprofile serve`` and where it keeps its data and logs."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    out: Path
    err: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        """Everything the server wrote (stderr: its log; stdout: the access log)."""
        return self.err.read_text("utf-8", "replace") + self.out.read_text("utf-8", "replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(folder: Path) -> Server:
    """``repprofile serve`` on a free port with its SQLite database in ``folder/data``;
    returns once GET /v1/health answers."""
    port = free_port()
    data = folder / "data"
    out, err = folder / "stdout.log", folder / "stderr.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPPROFILE_")}
    env.update(MPLBACKEND="Agg", REPPROFILE_API_KEYS=KEY)
    args = [
        str(SCRIPT),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data),
        "--insecure-cookies",
        "--public-url",
        f"http://127.0.0.1:{port}",
    ]
    with out.open("wb") as fout, err.open("wb") as ferr:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=fout,
            stderr=ferr,
            env=env,
            start_new_session=sys.platform != "win32",
        )
    server = Server(proc, port, data, out, err)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"repprofile serve exited with {proc.returncode}:\n{server.logs()}")
            try:
                if api(server, "GET", "/v1/health", key=None, timeout=2)[0] == 200:
                    return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {server.url} in {STARTUP_TIMEOUT} s:\n{server.logs()}")
            time.sleep(0.1)
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: Server) -> None:
    """Terminate the server (and, should it hang, its whole process group)."""
    proc = server.proc
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def api(
    server: Server,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = KEY,
    timeout: float = 60,
) -> tuple[int, Any]:
    """One call of the HTTP API: (status, JSON document or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        try:
            raw, status = exc.read(), exc.code
        finally:
            exc.close()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


@dataclass(frozen=True)
class Invitation:
    """An invitation made over the API: its id and the candidate's link."""

    id: str
    url: str
    candidate_id: str

    @property
    def token(self) -> str:
        return self.url.rsplit("/", 1)[1]

    @property
    def path(self) -> str:
        return "/take/" + self.token


def invite(server: Server, candidate_id: str, questionnaire: str, **extra: Any) -> Invitation:
    """POST /v1/invitations; the link must be under the server's public URL."""
    status, doc = api(
        server,
        "POST",
        "/v1/invitations",
        {"candidate_id": candidate_id, "questionnaire": questionnaire, **extra},
    )
    assert status == 201, (status, doc)
    assert doc["url"].startswith(server.url + "/take/"), doc["url"]
    return Invitation(doc["invitation_id"], doc["url"], candidate_id)


def invitation(server: Server, inv: Invitation) -> dict[str, Any]:
    """GET /v1/invitations/{id}."""
    status, doc = api(server, "GET", f"/v1/invitations/{inv.id}")
    assert status == 200, (status, doc)
    out: dict[str, Any] = doc
    return out


def wait_for_answered(server: Server, inv: Invitation, answered: int, timeout: float = 15) -> None:
    """Poll the API until ``answered`` items are stored (autosave is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        got = invitation(server, inv)["progress"]["answered"]
        if got == answered:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{got} items stored after {timeout} s, expected {answered}")
        time.sleep(0.1)


def expire(server: Server, inv: Invitation) -> None:
    """Move the invitation's expiry into the past, in the server's database (the API only
    takes future expiry dates)."""
    from sqlalchemy.orm import Session

    from repprofile.web._db import Invitation as Row
    from repprofile.web._db import make_engine

    engine = make_engine(f"sqlite:///{(server.data_dir / 'repprofile.db').resolve()}")
    try:
        with Session(engine) as s:
            row = s.get(Row, inv.id)
            assert row is not None
            row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            s.commit()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- answers


def answer_for(questionnaire: Any, salt: int) -> Callable[[str, list[str]], str]:
    """A deterministic candidate: for a radio group ``name`` with ``values`` on offer, the
    value to choose. Attention checks get their expected answer; everything else a spread
    pattern that differs between items and candidates (so a mixed-up item shows)."""
    expected = {
        i.id: str(i.expected[0])
        for i in questionnaire.items
        if getattr(i, "expected", None) is not None
    }

    def choose(name: str, values: list[str]) -> str:
        if name in expected:
            return expected[name]
        h = sum((k + 1) * ord(c) for k, c in enumerate(name)) + 7 * salt
        return values[h % len(values)]

    return choose


def likert_record(questionnaire: Any, choose: Callable[[str, list[str]], str]) -> dict[str, int]:
    """The answers ``choose`` gives to every Likert item of ``questionnaire`` (1..max)."""
    rs = questionnaire.response_scale
    values = [str(v) for v in range(int(rs.min), int(rs.max) + 1)]
    return {i.id: int(choose(i.id, values)) for i in questionnaire.likert_items}


def mapping_equal(got: Mapping[str, Any], want: Mapping[str, Any], where: str) -> None:
    """Exact equality with the first differing key named."""
    assert set(got) == set(want), f"{where}: keys {sorted(set(got) ^ set(want))} differ"
    for k in want:
        assert got[k] == want[k], f"{where}.{k}: server {got[k]!r} != library {want[k]!r}"


def screenshots_on() -> bool:
    """Screenshots are (re)made only when REPPROFILE_SCREENSHOTS=1."""
    return os.environ.get(SCREENSHOT_ENV, "").strip() not in ("", "0")
