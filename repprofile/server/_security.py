"""The outermost ASGI layer of the HTTP API: API keys, body limits and response headers,
checked before any body is read and before FastAPI sees the request.

Nothing about a candidate is logged here: a failure is logged with its exception type
and frames only, never its message (it could quote answers).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import traceback

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repprofile.server._http import closing_error, error_response
from repprofile.server._transport import mask_token

__all__ = ["DOCS_PATHS", "PUBLIC_PATHS", "Guard"]

log = logging.getLogger("repprofile.server")

PUBLIC_PATHS = frozenset({"/v1/health"})
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})
# After a 413, at most this many bytes (the larger) are read and dropped: DRAIN_FACTOR times
# the body limit, or DRAIN_BYTES.
DRAIN_FACTOR = 4
DRAIN_BYTES = 64 * 2**20
_NO_STORE = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


class Guard:
    """Outermost ASGI layer, before any body is read:

    * API keys: every path but ``/v1/health`` (and the docs, when they are public) needs
      ``Authorization: Bearer KEY``; the key's SHA-256 is compared with every configured
      key's in constant time (:func:`hmac.compare_digest`), and a missing, malformed or
      wrong key gets the same 401, whether or not the path exists;
    * the body limit: 413 when Content-Length or the bytes received exceed it;
    * ``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff`` on every
      response (they may carry candidate data);
    * a last-resort handler that answers 500 and logs the failure without the
      exception's message (it could quote answers).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        digests: tuple[bytes, ...],
        public: frozenset[str] = PUBLIC_PATHS,
        public_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.digests = digests
        self.public = public
        self.public_prefixes = public_prefixes

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        presented = hashlib.sha256(token.strip()).digest()
        ok = False
        for d in self.digests:  # every key is compared: the time does not tell which matched
            ok |= hmac.compare_digest(d, presented)
        return ok and scheme.lower() == b"bearer" and bool(token.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        path = _route_path(scope)
        public = path in self.public or path.startswith(self.public_prefixes)
        if not public and not self._authorized(headers):
            detail = "missing or invalid API key"
            length = headers.get(b"content-length", b"0")
            if b"transfer-encoding" in headers or not length.isdigit() or int(length) > 0:
                # a body is coming: drop it before closing, so that the client sees the 401
                await self._refuse(
                    401,
                    "unauthorized",
                    detail,
                    [(b"www-authenticate", b"Bearer")],
                    headers,
                    receive,
                    send,
                    0,
                )
                return
            await error_response(
                401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
            )(scope, receive, send)
            return
        body = await self._read_body(headers, scope, receive, send)
        if body is not None:
            await self._forward(body, scope, receive, send)

    async def _read_body(
        self, headers: dict[bytes, bytes], scope: Scope, receive: Receive, send: Send
    ) -> bytes | None:
        """The whole request body, or None when the client disconnected or the body is
        over the limit (then the 413 has been sent)."""
        limit = self.max_body_bytes
        length = headers.get(b"content-length")
        detail = f"the request body is larger than this server's limit of {limit} bytes"
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(413, "body_too_large", detail, [], headers, receive, send, 0)
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # disconnected
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                more = bool(message.get("more_body", False))
                read = size if more else -1
                await self._refuse(413, "body_too_large", detail, [], headers, receive, send, read)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(
        self,
        status: int,
        code: str,
        detail: str,
        extra: list[tuple[bytes, bytes]],
        headers: dict[bytes, bytes],
        receive: Receive,
        send: Send,
        read: int,
    ) -> None:
        """Answer ``status`` (:func:`~repprofile.server._http.closing_error`, with
        ``Connection: close``) and the ``extra`` headers, then read and drop the
        rest of the body (``read`` bytes of it are read already; -1: all of it) before the
        response ends and uvicorn closes the connection: closing a socket with unread data
        resets it, and a client that sends its whole body before reading (urllib, requests)
        would see the reset instead of the answer. At most ``DRAIN_FACTOR`` times the body
        limit or ``DRAIN_BYTES`` (the larger) are dropped, within the body timeout; beyond
        that the connection is closed anyway. A client that sent ``Expect: 100-continue``
        has not sent its body: nothing to drop.
        """
        body, closing = closing_error(status, code, detail)
        start_headers = [*extra, *closing]
        await send({"type": "http.response.start", "status": status, "headers": start_headers})
        await send({"type": "http.response.body", "body": body, "more_body": True})
        expects = headers.get(b"expect", b"").lower() == b"100-continue"
        budget = max(DRAIN_FACTOR * self.max_body_bytes, DRAIN_BYTES)
        while read >= 0 and not expects and read <= budget:
            message = await receive()
            if message["type"] != "http.request":
                break
            read += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _forward(self, body: bytes, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app on the request with ``body`` read already; add the response headers,
        and answer 500 (logged without the message) when the app fails before answering."""
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {n.lower() for n, _ in headers}
                # the app's own Cache-Control (the candidate pages' assets) stands
                headers += [(n, v) for n, v in _NO_STORE if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "internal error on %s %s: %s\n%s",
                scope.get("method"),
                mask_token(str(scope.get("path"))),  # a candidate's token is never logged
                type(exc).__name__,
                frames,
            )
            if not started:
                await error_response(500, "internal_error", "internal server error")(
                    scope, replay, send
                )


def _route_path(scope: Scope) -> str:
    """The request path below the root path (``scope["root_path"]``), as Starlette routes it."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):  # as Starlette routes
        path = path[len(root) :] or "/"
    return path
