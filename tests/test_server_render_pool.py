"""Issue 15 item 1: charts and reports are drawn in a bounded pool of worker processes
within a time budget; no process-wide lock; an overrunning worker is killed and replaced,
so its memory comes back."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from repprofile.server import ServerSettings, create_app
from repprofile.server._render import rss_kib

from ._server_helpers import AUTH, KEY, answers, body, cand


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def test_a_render_over_the_budget_is_503_and_its_worker_replaced() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,), render_workers=1, render_timeout=30))
    pool = app.state.service.render_pool
    client = TestClient(app)
    doc = body([cand("a", answers())])
    assert client.post("/v1/chart", json=doc, headers=AUTH).status_code == 200  # warm
    (old,) = pool.pids()
    baseline = rss_kib(old)
    pool.budget = 0.05  # far below any chart (a grid of 20 SVG charts)
    many = body([cand(str(i), answers()) for i in range(20)])
    many["compare"] = [str(i) for i in range(1, 20)]
    many["candidate_id"] = "0"
    r = client.post("/v1/chart", json=many, headers={**AUTH, "Accept": "image/svg+xml"})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    assert "budget of 0.05 s" in r.json()["detail"]
    (new,) = pool.pids()
    assert new != old
    assert not _alive(old)
    assert pool.replaced == 1
    pool.budget = 30.0
    ok = client.post("/v1/chart", json=doc, headers=AUTH)  # the next chart is drawn
    assert ok.status_code == 200
    assert ok.content.startswith(b"\x89PNG")
    # the replacement is back near the warm baseline (0 where there is no /proc)
    assert rss_kib(new) <= max(baseline * 1.5, baseline + 50_000)
    pool.close()


def test_a_worker_grown_above_its_memory_cap_is_replaced() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,), render_workers=1, render_max_rss_mb=1))
    pool = app.state.service.render_pool
    client = TestClient(app)
    doc = body([cand("a", answers())])
    assert client.post("/v1/chart", json=doc, headers=AUTH).status_code == 200
    first = pool.pids()
    assert client.post("/v1/chart", json=doc, headers=AUTH).status_code == 200
    assert pool.pids() != first
    assert pool.replaced == 2
    pool.close()


def test_two_charts_are_drawn_at_the_same_time() -> None:
    # With two workers, both charts are drawn in parallel: no lock between requests.
    app = create_app(ServerSettings(api_keys=(KEY,), render_workers=2))
    pool = app.state.service.render_pool
    doc: dict[str, Any] = body([cand("a", answers())])

    client = TestClient(app)
    with ThreadPoolExecutor(2) as threads:  # each request on its own event loop
        first, second = threads.map(
            lambda _: client.post("/v1/chart", json=doc, headers=AUTH), range(2)
        )
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # the same bytes from either worker
    assert len(pool.pids()) == 2  # both workers were busy at once
    pool.close()


def test_a_client_that_disconnects_stops_its_drawing() -> None:
    """The client goes away while its drawing runs: the request ends (499, never read)
    at once, not after the 30 s budget, and the worker drawing it is killed and
    replaced, so it does not draw for nobody."""
    import asyncio
    import time

    from fastapi import HTTPException

    from repprofile.server._render import RenderPool

    class GoneClient:
        async def receive(self) -> dict[str, Any]:
            await asyncio.sleep(0.3)  # the worker has its task by then
            return {"type": "http.disconnect"}

    async def scenario() -> tuple[int, float, list[int], list[int], int]:
        pool = RenderPool(size=1, budget=30.0, max_rss_kib=10**9)
        try:
            # a first call starts the worker and shows it works
            assert await pool.run(None, str, 42) == "42"
            before = pool.pids()
            start = time.monotonic()
            try:
                await pool.run(GoneClient(), time.sleep, 20)  # type: ignore[arg-type]
            except HTTPException as exc:
                status = exc.status_code
            took = time.monotonic() - start
            return status, took, before, pool.pids(), pool.replaced
        finally:
            pool.close()

    status, took, before, after, replaced = asyncio.run(scenario())
    assert status == 499
    assert took < 10  # far below both the 20 s drawing and the 30 s budget
    assert replaced == 1
    assert after != before
    assert not _alive(before[0])
