"""The HTTP/1.1 protocol of ``repprofile serve``: uvicorn's httptools protocol with the
transport limits uvicorn lacks, checked before any ASGI request exists (docs/server.md,
"Transport limits"):

* the request line plus headers: at most ``max_header_bytes`` bytes and
  ``max_headers`` fields, else 431 (an unfinished head is refused as soon as it grows
  past the limit, so ten unfinished 8 MB headers cost nothing);
* the head must arrive within ``header_timeout`` seconds of the connection (or of its
  first byte on a kept-alive connection): else 408, or a silent close when nothing came;
* at most ``limit_concurrency`` connections plus requests in progress per worker, else a
  JSON 503 with ``Retry-After`` (uvicorn's own is plain text without it);
* uvicorn's plain-text 400 for a malformed request is a JSON 400.

Every answer here is JSON from :func:`repprofile.server._http.error_body`, with
``Connection: close`` and the security headers. The limits come from
:meth:`ServerSettings.from_env` (``repprofile serve`` sets the environment of its workers).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from repprofile.server._settings import ServerSettings
from repprofile.server._transport import raw_error

__all__ = ["LimitedHttpToolsProtocol"]

RETRY_AFTER = b"1"  # seconds, in the 503 for the concurrency limit


class _RefusedError(Exception):
    """Raised in a parser callback to stop parsing after an error answer was written."""


@functools.cache
def _settings() -> ServerSettings:
    return ServerSettings.from_env()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits, a header timeout and JSON
    answers for the concurrency limit and malformed requests."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        st = _settings()
        self.max_header_bytes = st.max_header_bytes
        self.max_headers = st.max_headers
        self.header_timeout = st.header_timeout
        self.max_concurrency = st.limit_concurrency
        self.head_open = True  # the next bytes belong to a request line or headers
        self.head_bytes = 0  # bytes received since the head began (over whole reads)
        self.head_size = 0  # bytes of the request line and headers parsed so far
        self.head_count = 0
        self.head_timer: asyncio.TimerHandle | None = None
        self.refused = False

    # -- the head timer

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.header_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timeout(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.head_open:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a response is in progress: its request is complete
            return
        if self.head_bytes == 0:
            self.transport.close()  # an idle connection: nothing to answer
            return
        detail = (
            "the request headers did not arrive within this server's limit of "
            f"{self.header_timeout:g} s"
        )
        self._refuse(408, "header_timeout", detail)

    def _refuse(
        self, status: int, code: str, detail: str, extra: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        """Write a JSON error answer and close the connection."""
        self.refused = True
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(raw_error(status, code, detail, extra))
            self.transport.close()

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.head_open or self.cycle is None or not self.cycle.response_complete:
            # (body bytes of a request answered already do not keep the connection open:
            # the keep-alive timeout runs on)
            self._unset_keepalive_if_required()
        if self.head_open:
            self.head_bytes += len(data)
            self._arm_head_timer()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except (httptools.HttpParserError, _RefusedError):
            if not self.refused:
                self.logger.warning("Invalid HTTP request received.")
                self._refuse(400, "bad_request", "invalid HTTP request")
            return
        if self.head_open and self.head_bytes > self.max_header_bytes:
            self._too_large_head()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "bad_request", "invalid HTTP request")

    # -- parser callbacks

    def _too_large_head(self) -> None:
        detail = (
            f"the request line and headers are larger than this server's limit of "
            f"{self.max_header_bytes} bytes or {self.max_headers} fields"
        )
        self._refuse(431, "headers_too_large", detail)

    def on_message_begin(self) -> None:
        self.head_open = True
        self.head_size = self.head_count = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self.head_size += len(url)
        if self.head_size > self.max_header_bytes:
            self._too_large_head()
            raise _RefusedError
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        self.head_count += 1
        if self.head_size > self.max_header_bytes or self.head_count > self.max_headers:
            self._too_large_head()
            raise _RefusedError
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.head_open = False
        self.head_bytes = 0
        self._cancel_head_timer()
        busy = len(self.connections) > self.max_concurrency
        if busy or len(self.tasks) >= self.max_concurrency:
            self.logger.warning("Exceeded concurrency limit.")
            detail = (
                f"this server is busy (more than {self.max_concurrency} connections or "
                "requests in progress); retry shortly"
            )
            self._refuse(503, "unavailable", detail, ((b"retry-after", RETRY_AFTER),))
            raise _RefusedError
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_open = True
        self.head_bytes = 0
