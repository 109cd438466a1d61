"""Load test of the candidate autosave: 200 simulated candidates answering concurrently.

Starts ``repprofile serve`` (one worker, 127.0.0.1 only) on SQLite (a fresh data directory)
and on PostgreSQL (a throwaway cluster started with initdb/pg_ctl, as the tests do), creates
200 invitations over the API, accepts each privacy notice as the welcome page's form does,
and then has the candidates save their answers one at a time through the autosave endpoint
``POST /take/{token}/answers`` (the JSON calls take.js makes), over a bounded pool of
keep-alive connections (default 50):

1. paced (open loop): saves scheduled at a fixed offered rate (default 100 saves/s), each
   candidate every 200/rate seconds; latency counted from the scheduled time, so a
   server that falls behind is charged for the queue (no coordinated omission);
2. max rate: every candidate saves its next items back to back; saves per second.

After each database's runs the server is stopped and the answer rows are counted and
compared with every save that was answered 200: zero lost answers is a requirement, and
so is a 200 for every save.

Goal (issue 17): p99 under 50 ms on SQLite at 100 saves/s with one worker.

Run: ``.venv/bin/python benchmarks/bench_web.py [--candidates 200] [--rate 100]
[--paced-items 10] [--max-items 30] [--connections 50] [--databases sqlite postgresql]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# A key of this run only: another agent's or run's server that took our port between
# free_port() and the bind answers 401 to it, instead of silently taking our invitations
# (and then answering 404 for links a later server on the same port never created).
KEY = "bench-web-" + secrets.token_hex(16)
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request with the standard library (redirects not followed)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {}
    )
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@dataclass
class Candidate:
    invitation_id: str
    token: str
    csrf: str
    acked: dict[str, str] = field(default_factory=dict)


def load() -> str:
    """The machine's load average (1, 5, 15 minutes) and CPU count, for the output."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def start_server(
    args: list[str], log: Path, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``repprofile serve`` on a free port (or ``port``), once it answers; RuntimeError if
    it exits, or if what answers on the port is not this process with this run's key."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPPROFILE_")}
    env |= {"REPPROFILE_API_KEYS": KEY, "MPLBACKEND": "Agg"}
    exe = Path(sys.executable).with_name("repprofile")
    cmd = [str(exe), "serve", "--port", str(port), "--workers", "1", "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--insecure-cookies", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    auth = {"Authorization": f"Bearer {KEY}"}
    while True:
        try:
            up = call(port, "GET", "/v1/health")[0] == 200
        except OSError:
            up = False
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError(
                f"the server on port {port} did not start (exit {proc.returncode}); "
                f"{'another server answers on that port; ' if up else ''}"
                f"its log:\n{log.read_text()}"
            )
        if up:
            # the health check is public: make sure it was our server (our key) that
            # answered, and that our process is still the one listening
            status = call(port, "GET", "/v1/invitations?limit=1", headers=auth)[0]
            time.sleep(0.3)
            if status != 200 or proc.poll() is not None:
                proc.kill()
                proc.wait()
                raise RuntimeError(
                    f"port {port} is answered by another server (GET /v1/invitations with "
                    f"this run's key: {status}; ours exited with {proc.returncode}):\n"
                    f"{log.read_text()}"
                )
            return proc, port
        time.sleep(0.2)


def invite(port: int, n: int) -> list[Candidate]:
    """``n`` invitations over the API, each privacy notice accepted (the welcome form)."""
    out = []
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    for i in range(n):
        body = json.dumps({"candidate_id": f"bench-{i:04d}", "questionnaire": "rep-types"})
        status, _, raw = call(port, "POST", "/v1/invitations", body.encode(), auth)
        if status != 201:
            raise RuntimeError(f"POST /v1/invitations: {status} {raw[:300]!r}")
        doc = json.loads(raw)
        token = doc["url"].rsplit("/", 1)[1]
        status, _, html = call(port, "GET", f"/take/{token}")
        tag = re.search(rb'<input[^>]*name="csrf"[^>]*>', html)
        value = re.search(rb'value="([^"]+)"', tag.group(0)) if tag else None
        if status != 200 or value is None:
            raise RuntimeError(
                f"GET /take/TOKEN of invitation {i} ({doc['invitation_id']}): {status}, "
                f"no csrf input: {html[:300]!r}"
            )
        csrf = value.group(1).decode()
        form = urllib.parse.urlencode({"csrf": csrf, "accept_privacy": "on"}).encode()
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, _ = call(port, "POST", f"/take/{token}/start", form, ctype)
        if status != 303:
            raise RuntimeError(f"POST /take/TOKEN/start: {status}")
        out.append(Candidate(doc["invitation_id"], token, csrf))
    return out


def save_request(c: Candidate, item: str, value: str, page: int) -> bytes:
    body = json.dumps(
        {"answers": [{"item": item, "part": "", "value": value, "seconds": 2.5}], "page": page}
    ).encode()
    head = (
        f"POST /take/{c.token}/answers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nX-CSRF-Token: {c.csrf}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _exchange(
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]], req: bytes
) -> tuple[int, bytes]:
    reader, writer = await pool.get()
    try:
        writer.write(req)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length)
        return int(head[9:12]), body
    finally:
        pool.put_nowait((reader, writer))


async def _connect(
    port: int, connections: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    return [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]


async def _run(
    port: int,
    cands: list[Candidate],
    items: list[str],
    rate: float | None,
    connections: int,
) -> tuple[float, list[float], list[str]]:
    """Each candidate saves ``items`` in order. Paced (``rate`` saves/s overall, open
    loop): latency from the scheduled send time. Max rate (``rate`` None, closed loop):
    each connection takes the next candidate in turn (FIFO, so no candidate starves) and
    sends its next save as soon as the last answer came; latency from the send.
    Returns (elapsed s, latencies s, failures)."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    conns = await _connect(port, connections)
    for conn in conns:
        pool.put_nowait(conn)
    latencies: list[float] = []
    failures: list[str] = []
    n = len(cands)
    t0 = time.perf_counter() + 0.2

    def record(c: Candidate, item: str, value: str, status: int, body: bytes) -> None:
        if status == 200 and json.loads(body)["saved"] == 1:
            c.acked[item] = value
        else:
            failures.append(f"{status} {body[:200]!r}")

    async def paced(ci: int, c: Candidate) -> None:
        for k, item in enumerate(items):
            value = str(1 + (ci + k) % 5)
            due = t0 + (k * n + ci) / (rate or 1.0)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status, body = await _exchange(pool, save_request(c, item, value, 1 + k // 10))
            latencies.append(time.perf_counter() - due)
            record(c, item, value, status, body)

    turn: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for ci in range(n):
        turn.put_nowait((ci, 0))

    async def worker() -> None:
        while not turn.empty():
            ci, k = turn.get_nowait()
            c, item = cands[ci], items[k]
            value = str(1 + (ci + k) % 5)
            sent = time.perf_counter()
            status, body = await _exchange(pool, save_request(c, item, value, 1 + k // 10))
            latencies.append(time.perf_counter() - sent)
            record(c, item, value, status, body)
            if k + 1 < len(items):
                turn.put_nowait((ci, k + 1))

    start = time.perf_counter()
    if rate:
        await asyncio.gather(*(paced(i, c) for i, c in enumerate(cands)))
    else:
        await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - max(start, t0 if rate else start)
    for _, writer in conns:
        writer.close()
    return elapsed, latencies, failures


def lost_answers(url: str, cands: list[Candidate]) -> tuple[int, int]:
    """(answers acknowledged, of them missing or with another value in the database)."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from repprofile.web._db import Answer, make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Answer.invitation_id, Answer.item_id, Answer.value)).all()
    finally:
        engine.dispose()
    stored = {(i, item): v for i, item, v in rows}
    acked = [(c.invitation_id, item, v) for c in cands for item, v in c.acked.items()]
    lost = sum(stored.get((i, item)) != v for i, item, v in acked)
    return len(acked), lost


def bench(
    kind: str, serve_args: list[str], url: str, opts: argparse.Namespace, tmp: Path
) -> list[dict[str, Any]]:
    import repprofile

    items = [i.id for i in repprofile.load_questionnaire("rep-types").items]
    paced_items = items[: opts.paced_items]
    max_items = items[opts.paced_items : opts.paced_items + opts.max_items]
    proc, port = start_server(serve_args, tmp / f"serve-{kind}.log")
    rows = []
    try:
        cands = invite(port, opts.candidates)
        for label, its, rate in (("paced", paced_items, opts.rate), ("max", max_items, None)):
            before = load()
            elapsed, lat, failures = asyncio.run(_run(port, cands, its, rate, opts.connections))
            ms = np.array(lat) * 1000.0
            rows.append(
                {
                    "db": kind,
                    "load": f"{opts.rate:g}/s" if rate else "max",
                    "saves": len(lat),
                    "per_s": len(lat) / elapsed,
                    "p50": float(np.percentile(ms, 50)),
                    "p99": float(np.percentile(ms, 99)),
                    "max": float(ms.max()),
                    "failed": len(failures),
                    "load_before": before,
                    "load_after": load(),
                }
            )
            if failures:
                print(f"  {kind} {label}: {len(failures)} failed saves, e.g. {failures[0]}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    acked, lost = lost_answers(url, cands)
    for r in rows:
        r["acked"], r["lost"] = acked, lost
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--rate", type=float, default=100.0, help="offered saves/s of the paced run")
    ap.add_argument("--paced-items", type=int, default=10, help="items each candidate saves paced")
    ap.add_argument("--max-items", type=int, default=30, help="items each saves at max rate")
    ap.add_argument("--connections", type=int, default=50, help="keep-alive connections (bound)")
    ap.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    opts = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    print(
        f"{opts.candidates} candidates, one answer per save over {opts.connections} keep-alive "
        f"connections, 1 worker; {load()} at the start (a shared machine: compare runs at "
        "similar load); latency from the scheduled send time (paced) or from the send (max)"
    )
    results: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        for kind in opts.databases:
            if kind == "sqlite":
                data = tmp / "data"
                results += bench(
                    kind,
                    ["--data-dir", str(data)],
                    f"sqlite:///{data / 'repprofile.db'}",
                    opts,
                    tmp,
                )
                continue
            from tests._webdb import PgCluster, postgres_bin

            bindir = postgres_bin()
            if bindir is None:
                print("postgresql: no /usr/lib/postgresql/*/bin (apt-get install postgresql)")
                continue
            cluster = PgCluster(bindir)
            cluster.start()
            try:
                url = cluster.create_database()
                results += bench(kind, ["--database-url", url], url, opts, tmp)
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    heads = ("database", "load", "saves", "saves/s", "p50 ms", "p99 ms", "max ms", "failed", "lost")
    print(" ".join(f"{h:>10}" for h in heads))
    for r in results:
        print(
            f"{r['db']:>10} {r['load']:>10} {r['saves']:>10} {r['per_s']:>10.0f} {r['p50']:>10.1f} "
            f"{r['p99']:>10.1f} {r['max']:>10.1f} {r['failed']:>10} {r['lost']:>10}"
        )
    for r in results:
        after = r["load_after"].split(" on ")[0]
        print(f"{r['db']} {r['load']}: {r['load_before']} before, {after} after")
    for r in results:
        if r["load"] == "max":
            print(f"{r['db']}: {r['acked']} answers acknowledged with 200, {r['lost']} lost")


if __name__ == "__main__":
    main()
