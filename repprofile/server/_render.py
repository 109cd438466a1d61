"""Charts and reports drawn in a bounded pool of worker processes, each request within a
time budget.

Drawing is the only work of the API whose time grows with free text (a long role name
is wrapped and measured glyph by glyph), and matplotlib's style context is global to a
process. So every chart and PDF/HTML report is drawn in a separate worker process (at
most ``render_workers`` of them, one drawing each, started on the first request), never
in the server's own process:

* no lock is shared between requests: a request waits only for a free worker;
* a request that is not done within ``render_timeout`` seconds (waiting included) gets a
  503, and the worker drawing it is killed and replaced, so its time and memory come
  back; the same when the client hangs up while its chart is being drawn;
* a worker whose memory has grown above ``render_max_rss_mb`` after a drawing is
  replaced too (Python seldom returns freed memory to the system).

Workers are forked from a fork server that has imported matplotlib and the renderers
already (on Linux; elsewhere they are spawned), so a replacement is ready in a fraction
of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Literal

from fastapi import HTTPException, Request

from repprofile._errors import RepprofileError
from repprofile.server._http import Problem, unprocessable

if TYPE_CHECKING:
    from repprofile._analysis.scoring import ScoreResult
    from repprofile._formats.role import Role
    from repprofile._rendering.report import CandidateReport

__all__ = ["RenderPool", "RenderTimeout", "draw_chart", "draw_report", "rss_kib"]

RENDER_NICENESS = 10  # added to the workers' niceness (lower CPU priority than the server)
_PRELOAD = ["repprofile._rendering.charts", "repprofile._rendering.report", __name__]


class RenderTimeout(Problem):
    """HTTP 503 ``timeout``: the drawing did not finish within the server's time budget."""


def rss_kib(pid: int | None = None) -> int:
    """Resident memory of process ``pid`` (default: this one) in KiB, from
    ``/proc/PID/status`` (``VmRSS``); 0 where there is no /proc."""
    try:
        with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def draw_chart(
    result: ScoreResult,
    ids: list[str],
    role: Role | None,
    metric: Literal["auto", "pomp", "percentile"],
    show_ci: bool,
    fmt: Literal["png", "svg"],
) -> bytes:
    """The radar chart of ``ids`` (a grid above 5), as PNG or SVG bytes."""
    from repprofile._rendering.charts import _figure_bytes, radar_chart, radar_grid

    if len(ids) > 5:
        fig = radar_grid(result, ids, role=role, metric=metric, show_ci=show_ci)
    else:
        ax = radar_chart(
            result, ids if len(ids) > 1 else ids[0], role=role, metric=metric, show_ci=show_ci
        )
        fig = ax.get_figure(root=True)  # type: ignore[assignment]
    return _figure_bytes(fig, fmt)


def draw_report(
    doc: CandidateReport, result: ScoreResult, role: Role, kind: Literal["pdf", "html"]
) -> bytes | str:
    """The candidate report as PDF bytes or HTML text."""
    from repprofile._rendering.report import render_html, render_pdf

    if kind == "pdf":
        return render_pdf(doc, result, role)
    return render_html(doc, result, role)


def _serve(conn: Connection) -> None:
    """A worker's loop: receive ``(function, args)``, answer ``("ok", bytes, rss)`` or
    ``("error", is_input_error, message, rss)``, until the pipe is closed."""
    import importlib

    # drawing yields the CPU to scoring: a chart may take longer, a score should not
    with contextlib.suppress(OSError, AttributeError):
        os.nice(RENDER_NICENESS)
    for name in _PRELOAD:
        importlib.import_module(name)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[Any, ...] = ("ok", fn(*args))
        except RepprofileError as exc:
            reply = ("error", True, str(exc))
        except Exception as exc:  # a bug: the server answers 500
            reply = ("error", False, f"{type(exc).__name__}: {exc}")
        conn.send((*reply, rss_kib()))


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx: Any) -> None:
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.conn: Connection = parent

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def kill(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(5)


class RenderPool:
    """At most ``size`` worker processes drawing charts and reports, one at a time each.

    Parameters
    ----------
    size : int
        Number of worker processes (started when first needed).
    budget : float
        Seconds a request may take, waiting for a worker included; then it gets a 503
        and its worker is killed and replaced.
    max_rss_kib : int
        A worker whose resident memory exceeds this after a drawing is replaced.
    """

    def __init__(self, size: int, budget: float, max_rss_kib: int) -> None:
        self.size = size
        self.budget = budget
        self.max_rss_kib = max_rss_kib
        self._ctx: Any = None
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._waiters: list[asyncio.Future[_Worker]] = []
        self.replaced = 0  # workers killed or recycled (for tests and monitoring)

    # ------------------------------------------------------------------ workers

    def warm(self) -> None:
        """Start the process that forks the workers (it imports matplotlib and the
        renderers, about a second) in a background thread, so that the first chart or
        report request does not hold up the event loop while it starts."""

        def start() -> None:
            with self._lock:
                if self._ctx is None:
                    self._ctx = _context()
            if self._ctx.get_start_method() == "forkserver":
                from multiprocessing import forkserver

                with contextlib.suppress(Exception):  # a request starts it otherwise
                    forkserver.ensure_running()

        threading.Thread(target=start, name="repprofile-render-warm", daemon=True).start()

    def pids(self) -> list[int]:
        """Process ids of the live workers (idle and busy)."""
        with self._lock:
            return [w.pid for w in [*self._idle, *self._busy]]

    def _new(self) -> _Worker:
        if self._ctx is None:
            self._ctx = _context()
        return _Worker(self._ctx)

    async def _acquire(self) -> _Worker:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._idle:
                worker = self._idle.pop()
                self._busy.add(worker)
                return worker
            if len(self._busy) < self.size:
                worker = self._new()
                self._busy.add(worker)
                return worker
            waiter: asyncio.Future[_Worker] = loop.create_future()
            self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise

    def _release(self, worker: _Worker, *, replace: bool = False) -> None:
        """Give ``worker`` (or, when ``replace``, a new one) to the next waiter or back to
        the idle list."""
        if replace:
            worker.kill()
            self.replaced += 1
        with self._lock:
            self._busy.discard(worker)
            if replace:
                worker = self._new()
            while self._waiters:
                waiter = self._waiters.pop(0)
                if not waiter.done():
                    self._busy.add(worker)
                    waiter.get_loop().call_soon_threadsafe(self._hand, waiter, worker)
                    return
            self._idle.append(worker)

    def _hand(self, waiter: asyncio.Future[_Worker], worker: _Worker) -> None:
        if waiter.done():  # cancelled meanwhile: pass it on
            self._release(worker)
        else:
            waiter.set_result(worker)

    def close(self) -> None:
        """Stop every worker (the app's shutdown)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for w in workers:
            w.kill()

    # ------------------------------------------------------------------ requests

    async def run(
        self, request: Request | None, fn: Callable[..., bytes | str], *args: Any
    ) -> bytes | str:
        """``fn(*args)`` in a worker within the budget (503 after it); cancelled, with the
        worker replaced, when the client disconnects. A library error about the input
        (:class:`~repprofile.RepprofileError`) is a 422."""
        work = asyncio.ensure_future(self._run(fn, args))
        watch = asyncio.ensure_future(_disconnected(request)) if request is not None else None
        try:
            waiting = {work} if watch is None else {work, watch}
            done, _ = await asyncio.wait(
                waiting, timeout=self.budget, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if watch is not None:
                watch.cancel()
        if work in done:
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        if watch is not None and watch in done:
            # the client is gone; this answer is never read
            raise HTTPException(499, "the client closed the connection")
        raise RenderTimeout(
            503,
            "timeout",
            f"drawing took longer than this server's budget of {self.budget:g} s; "
            "try again later, or ask for fewer candidates",
            headers={"Retry-After": "1"},
        )

    async def _run(self, fn: Callable[..., bytes | str], args: tuple[Any, ...]) -> bytes | str:
        worker = await self._acquire()
        try:
            # a blocking send in a thread: the pickled scores can be larger than the pipe's
            # buffer, and a worker that is still starting reads them only when ready
            os.set_blocking(worker.conn.fileno(), True)
            await asyncio.to_thread(worker.conn.send, (fn, args))
            reply = await _receive(worker.conn)
        except BaseException:  # cancelled (budget, disconnect) or a dead worker
            self._release(worker, replace=True)
            raise
        self._release(worker, replace=reply[-1] > self.max_rss_kib)
        if reply[0] == "ok":
            out: bytes | str = reply[1]
            return out
        _, is_input, message, _ = reply
        if is_input:
            raise unprocessable("", message)
        raise RuntimeError(f"rendering failed in worker: {message}")


async def _receive(conn: Connection) -> Any:
    """The next message on ``conn``, waited for on the event loop (no thread)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        # uvloop's add_reader leaves the descriptor non-blocking; the Connection's reads
        # and writes expect a blocking one (else EAGAIN on a message larger than the pipe)
        os.set_blocking(fd, True)
    return conn.recv()


async def _disconnected(request: Request) -> None:
    """Return when the client of ``request`` (whose body has been read) disconnects."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
