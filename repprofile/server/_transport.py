"""Transport limits that any ASGI server gets from the app itself (the uvicorn-level ones,
header size, count and read time, the concurrency limit, are in
:mod:`repprofile.server._protocol`):

* :class:`Transport`, the outermost ASGI layer: a time limit for reading a request body
  (uvicorn has none: a client sending one byte a minute would hold its connection and
  buffers for ever), answered 408 and the connection closed; and ``Cache-Control:
  no-store`` and ``X-Content-Type-Options: nosniff`` on every response, whichever layer
  produced it;
* :class:`NoQueryFilter`, a logging filter for uvicorn's access log that drops the query
  string from the logged path (a client may put a key or candidate data there);
* :func:`raw_error`, the bytes of a complete JSON error response, for answers written
  before there is an ASGI request (bad request line, headers too large, server busy).
"""

from __future__ import annotations

import asyncio
import logging
import re
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repprofile.server._http import closing_error

__all__ = ["SECURITY_HEADERS", "NoQueryFilter", "Transport", "mask_token", "raw_error"]

SECURITY_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


def raw_error(
    status: int, code: str, detail: str, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> bytes:
    """A whole HTTP/1.1 error response (JSON body, ``Connection: close``, the security
    headers) as bytes, for a protocol layer to write to the socket."""
    body, headers = closing_error(status, code, detail)
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
    head += [name + b": " + value for name, value in (*headers, *SECURITY_HEADERS, *extra)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _with_security_headers(message: Message) -> Message:
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
    return {**message, "headers": headers}


class Transport:
    """Outermost ASGI layer: the body read timeout and the security headers.

    The body must arrive whole within ``body_timeout`` seconds of the app's first
    ``receive()``; otherwise the client gets a 408 (with ``Connection: close``, so the
    server closes the connection) and the app a disconnect. Once the body is complete,
    ``receive()`` is not timed (an app may wait on it for the client's disconnect).
    """

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False  # a response has been started (by the app or the 408)
        answered = False  # the 408 has been sent: the app's own answer is dropped
        body_done = False
        timed_out = False
        deadline: float | None = None

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return
            if message["type"] == "http.response.start":
                started = True
                message = _with_security_headers(message)
            await send(message)

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out, deadline, started, answered
            if body_done:
                return await receive()
            if timed_out:
                return {"type": "http.disconnect"}
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.body_timeout
            try:
                # asyncio.timeout_at: no task per call, unlike wait_for on Python 3.11
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                if not started:
                    started = answered = True
                    await self._send_408(send)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await self.app(scope, timed_receive, guarded_send)

    async def _send_408(self, send: Send) -> None:
        detail = (
            f"the request body did not arrive within this server's limit of {self.body_timeout:g} s"
        )
        body, headers = closing_error(408, "body_timeout", detail)
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [*headers, *SECURITY_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


# anywhere in the path: behind ``--root-path`` uvicorn logs ``/PREFIX/take/TOKEN``
_TAKE_TOKEN = re.compile(r"/(take|reports)/[^/]+")


def mask_token(path: str) -> str:
    """``path`` without its query string and with a candidate's link token or a signed
    report link's token replaced by ``***`` (``/take/TOKEN/page/2``, ``/PREFIX/take/TOKEN``
    and ``/reports/TOKEN`` alike)."""
    return _TAKE_TOKEN.sub(r"/\1/***", path.split("?", 1)[0], count=1)


class NoQueryFilter(logging.Filter):
    """Drop the query string from the path of uvicorn's access log records, and the
    candidate's token from a ``/take/TOKEN...`` path (logged as ``/take/***...``).

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with the client, method, path with query
    string, HTTP version and status as arguments; the third loses everything from ``?``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path argument; never drops a record."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = mask_token(args[2])
            record.args = (*args[:2], path, *args[3:])
        return True
