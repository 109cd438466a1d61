"""Load test of the HTTP API: single-candidate ``POST /v1/score`` over loopback.

Starts ``repprofile serve`` on 127.0.0.1 with 1 and then 2 workers, and from this
(second) process sends a bounded load: ``--requests`` POSTs (default 20,000, after
1,000 warm-up requests) over ``--connections`` keep-alive connections (default 8),
each body one candidate with all 80 answers of the bundled questionnaire (a pool of
1,000 different candidates, cycled). Reports requests per second and the latency
percentiles (time from sending a request to having read its whole response).

Goal on this 2-core machine: at least 1,000 requests/s with p99 under 25 ms on one
worker. The client shares the machine, so with 2 workers three processes compete for
two cores; that figure shows how the server scales, not the hardware's limit.

Run: ``.venv/bin/python benchmarks/bench_server.py [--requests N] [--connections C]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

KEY = "bench-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bodies(n: int) -> list[bytes]:
    """Request bytes of ``n`` different single-candidate POST /v1/score requests."""
    import repprofile

    q = repprofile.load_questionnaire("rep-types")
    rng = np.random.default_rng(2026)
    answers = rng.integers(1, 6, size=(n, len(q.item_ids)))
    out = []
    for i in range(n):
        body = json.dumps(
            {
                "questionnaire": "rep-types",
                "candidates": [
                    {
                        "candidate_id": f"cand-{i:05d}",
                        "answers": dict(zip(q.item_ids, answers[i].tolist(), strict=True)),
                    }
                ],
            }
        ).encode()
        head = (
            "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


async def _connection(
    host: str, port: int, requests: list[bytes], latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for req in requests:
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            statuses.append(int(head[9:12]))
    finally:
        writer.close()


def chart_request(body: bytes) -> bytes:
    """The POST /v1/chart request of one candidate (a PNG radar chart)."""
    head = (
        "POST /v1/chart HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _charts(port: int, req: bytes, stop: asyncio.Event, done: list[float]) -> None:
    """Ask for charts one after another until ``stop`` (mixed load); latencies in ``done``."""
    while not stop.is_set():
        statuses: list[int] = []
        await _connection("127.0.0.1", port, [req], done, statuses)


async def _load(
    port: int, pool: list[bytes], n: int, connections: int, charts: int = 0
) -> tuple[float, list[float], list[int]]:
    per = [
        [pool[(c + k * connections) % len(pool)] for k in range(n // connections)]
        for c in range(connections)
    ]
    latencies: list[float] = []
    statuses: list[int] = []
    stop = asyncio.Event()
    chart_lat: list[float] = []
    chart_body = pool[0].split(b"\r\n\r\n", 1)[1]
    drawing = [
        asyncio.ensure_future(_charts(port, chart_request(chart_body), stop, chart_lat))
        for _ in range(charts)
    ]
    t0 = time.perf_counter()
    await asyncio.gather(
        *(_connection("127.0.0.1", port, reqs, latencies, statuses) for reqs in per)
    )
    elapsed = time.perf_counter() - t0
    stop.set()
    await asyncio.gather(*drawing)
    if charts:
        ms = np.array(chart_lat) * 1000.0
        print(
            f"        {len(chart_lat)} charts drawn meanwhile by {charts} client(s): "
            f"p50 {np.percentile(ms, 50):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms"
        )
    return elapsed, latencies, statuses


def run(
    workers: int, n: int, connections: int, pool: list[bytes], charts: int = 0
) -> dict[str, float]:
    port = free_port()
    env = os.environ | {"REPPROFILE_API_KEYS": KEY}
    exe = Path(sys.executable).with_name("repprofile")
    server = subprocess.Popen(
        [
            str(exe),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        asyncio.run(_load(port, pool, 1000, connections))  # warm-up
        elapsed, lat, statuses = asyncio.run(_load(port, pool, n, connections, charts))
    finally:
        server.terminate()
        server.wait(timeout=30)
    bad = sum(s != 200 for s in statuses)
    ms = np.array(lat) * 1000.0
    return {
        "workers": workers,
        "requests": len(lat),
        "non_200": bad,
        "req_per_s": len(lat) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--charts",
        type=int,
        default=2,
        help="clients asking for charts during a second, mixed run (0: no mixed run)",
    )
    args = ap.parse_args()
    pool = bodies(1000)
    print(
        f"{args.requests:,} single-candidate POST /v1/score over {args.connections} keep-alive "
        f"connections ({len(pool[0]):,} bytes each), {os.cpu_count()} CPUs"
    )
    heads = ("workers", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-200")
    print(" ".join(f"{h:>7}" for h in heads))
    runs = [(w, 0) for w in args.workers]
    if args.charts:
        runs += [(w, args.charts) for w in args.workers]
    for w, charts in runs:
        if charts:
            print(f"mixed: the same scoring load while {charts} client(s) ask for charts")
        r = run(w, args.requests, args.connections, pool, charts)
        print(
            f"{w:>7} {r['req_per_s']:>8.0f} {r['p50_ms']:>7.2f} {r['p90_ms']:>7.2f} "
            f"{r['p99_ms']:>7.2f} {r['max_ms']:>7.1f} {r['non_200']:>7}"
        )


if __name__ == "__main__":
    main()
