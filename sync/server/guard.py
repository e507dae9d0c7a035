"""The request guard: limits, authentication and the body read, in that order, before any route runs.

Issue 14 showed what happens when a route takes a concurrency slot before it knows who is asking
and before it has the body: eight connections naming an unknown device and then stalling their
bodies held every upload slot, and a 256 MiB body to an unauthenticated route was read in full. So
every request passes these steps, each cheaper and less trusting than the next, and a refusal at one
step means nothing after it happens:

1. **Size** (before a byte of body is read): ``Content-Length`` above the route's limit → 413; a
   malformed length → 400; a body without ``Content-Type: application/json`` → 415. Header size and
   the time to send the headers are bounded one layer down, in :class:`GuardedHttpToolsProtocol`
   (431 / connection closed).
2. **Authentication**: admin routes need the bearer token (scheme case-insensitive, RFC 9110
   §11.1) → 401/403; device routes need a known, not revoked device → 401/403 (one indexed read).
3. **Fairness**: at most ``per_device_inflight`` requests in progress per device, and at most
   ``per_client_inflight`` unauthenticated requests with a body per client address → 429 with
   ``Retry-After``. One device, or one anonymous client, cannot take everybody's turn.
4. **Body**: read in full under ``body_timeout_s`` (→ 408) with a streaming cap (→ 413, for
   chunked bodies or a lying ``Content-Length``), then checked as strict JSON (→ 400) except on the
   upload route, whose own parser is the same strict one.

Only then does the route run; the upload route takes its processing slot (``_Gate``) last. The
route receives the body already read, so FastAPI's own body parsing cannot read more.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from sync.server.errors import StorageError
from sync.wire import DEVICE_HEADER, MAX_BATCH_BYTES, MessageFormatError, check_kiosk_id, strict_json_loads

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: ``scope["state"]`` key under which the guard leaves the authenticated device's raw public key.
DEVICE_KEY_STATE = "madoguchi.device_key"
#: ``scope["state"]`` key of the authenticated device id.
DEVICE_ID_STATE = "madoguchi.device_id"

UPLOAD_PATH = "/v1/records"
HEARTBEAT_PATH = "/v1/heartbeat"
DEVICE_PATHS = frozenset({UPLOAD_PATH, HEARTBEAT_PATH})
ADMIN_PREFIX = "/v1/admin/"

#: Headers (request line included) larger than this are refused with 431.
MAX_HEADER_BYTES = 16 * 1024
#: Time a client has to send a request's headers (slow-loris bound), seconds.
HEADER_TIMEOUT_S = 10.0
#: ``Retry-After`` of a 503 (database unavailable): the kiosks keep their records and come back.
RETRY_AFTER_UNAVAILABLE = "5"
#: Idle keep-alive connections are closed after this many seconds.
KEEP_ALIVE_TIMEOUT_S = 5


@dataclass(frozen=True)
class GuardLimits:
    """The guard's numbers; :class:`~sync.server.context.ServerOptions` carries the tunable ones."""

    default_body: int = 64 * 1024
    upload_body: int = MAX_BATCH_BYTES
    exclusions_body: int = 32 * 1024 * 1024
    body_timeout_s: float = 30.0
    per_device_inflight: int = 4
    per_client_inflight: int = 4

    def body_limit(self, path: str) -> int:
        """The body limit of ``path`` (one table for every route)."""
        if path == UPLOAD_PATH:
            return self.upload_body
        if path == "/v1/admin/exclusions":
            return self.exclusions_body
        return self.default_body


class _Counter:
    """In-progress requests per key (device id or client address), thread- and loop-safe."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, key: str) -> bool:
        with self._lock:
            n = self._counts.get(key, 0)
            if n >= self._limit:
                return False
            self._counts[key] = n + 1
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            n = self._counts.get(key, 1) - 1
            if n <= 0:
                self._counts.pop(key, None)
            else:
                self._counts[key] = n


async def _reply(send: Send, status: int, code: str, detail: str, retry_after: str | None = None) -> None:
    body = json.dumps({"error": code, "detail": detail}).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        # the unread rest of a refused body must not be parsed as the next request
        (b"connection", b"close"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode("ascii")))
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` value; the scheme is case-insensitive."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _is_json(content_type: str) -> bool:
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/json":
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


class RequestGuard:
    """Pure ASGI middleware doing steps 1-4 of the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: GuardLimits,
        check_admin: Callable[[str], bool],
        lookup_device: Callable[[str], tuple[bytes, bool] | None],
    ) -> None:
        self._app = app
        self._limits = limits
        self._check_admin = check_admin
        self._lookup_device = lookup_device
        self._devices = _Counter(limits.per_device_inflight)
        self._clients = _Counter(limits.per_client_inflight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        length: str | None = None
        content_type = ""
        chunked = False
        authorization: str | None = None
        device: str | None = None
        device_header = DEVICE_HEADER.lower().encode("ascii")
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == device_header:
                device = value.decode("latin-1")
        # 1. size and type, before any body byte
        limit = self._limits.body_limit(path)
        declared = 0
        if length is not None:
            if not length.isdigit() or len(length) > 12:
                await _reply(send, 400, "bad_request", "malformed Content-Length")
                return
            declared = int(length)
            if declared > limit:
                await _reply(send, 413, "too_large", f"at most {limit} bytes for this route")
                return
        has_body = declared > 0 or chunked
        if has_body and not _is_json(content_type):
            await _reply(send, 415, "unsupported_media_type", "Content-Type must be application/json")
            return
        # 2. authentication
        fair_key: str | None = None
        counter: _Counter | None = None
        if path.startswith(ADMIN_PREFIX):
            token = bearer_token(authorization)
            if token is None:
                await _reply(send, 401, "unauthorized", "admin bearer token required")
                return
            if not self._check_admin(token):
                await _reply(send, 403, "forbidden", "invalid admin token")
                return
        elif path in DEVICE_PATHS:
            try:
                device_id = check_kiosk_id(device)
            except MessageFormatError:
                await _reply(send, 401, "unknown_device", f"{DEVICE_HEADER} must name an enrolled kiosk")
                return
            try:
                found = await anyio.to_thread.run_sync(self._lookup_device, device_id)
            except StorageError:
                await _reply(send, 503, "unavailable", "database unavailable", RETRY_AFTER_UNAVAILABLE)
                return
            if found is None:
                await _reply(send, 401, "unknown_device", "device not enrolled")
                return
            if found[1]:
                await _reply(send, 403, "device_revoked", "device revoked")
                return
            state = scope.setdefault("state", {})
            state[DEVICE_ID_STATE] = device_id
            state[DEVICE_KEY_STATE] = found[0]
            fair_key, counter = device_id, self._devices
        elif has_body:
            client = scope.get("client")
            fair_key, counter = (str(client[0]) if client else "?"), self._clients
        # 3. fairness
        if counter is not None and fair_key is not None and not counter.enter(fair_key):
            await _reply(send, 429, "busy", "too many requests in progress from this client", "1")
            return
        try:
            if not has_body or method in ("GET", "HEAD"):
                await self._app(scope, receive, send)
                return
            # 4. the body, under a time limit and a streaming cap
            chunks: list[bytes] = []
            size = 0
            try:
                with anyio.fail_after(self._limits.body_timeout_s):
                    more = True
                    while more:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            return
                        chunk = message.get("body", b"")
                        size += len(chunk)
                        if size > limit:
                            await _reply(send, 413, "too_large", f"at most {limit} bytes for this route")
                            return
                        chunks.append(chunk)
                        more = bool(message.get("more_body", False))
            except TimeoutError:
                await _reply(send, 408, "body_timeout", "the request body did not arrive in time")
                return
            body = b"".join(chunks)
            if path != UPLOAD_PATH:
                try:
                    strict_json_loads(body)
                except MessageFormatError as exc:
                    await _reply(send, 400, "bad_request", str(exc))
                    return
            await self._app(scope, _replay(body, receive), send)
        finally:
            if counter is not None and fair_key is not None:
                counter.leave(fair_key)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the header limits it lacks.

    uvicorn bounds headers only for h11 (``h11_max_incomplete_event_size``); with httptools an 8 MB
    header was accepted (issue 14). httptools buffers a header value until it is complete, so the
    bound must sit before the parser: bytes received while a request's headers are incomplete are
    counted, and past :data:`MAX_HEADER_BYTES` the connection gets 431 and is closed (one read may
    also carry body bytes, so the check runs after the parser had its chance to finish the
    headers). A client that has not finished its headers :data:`HEADER_TIMEOUT_S` after its first
    byte, or after connecting, is disconnected (slow-loris).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header clock for the first request."""
        self._header_bytes = 0
        self._awaiting_headers = True
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._start_header_timer()

    def _start_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._header_timeout)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        """Count header bytes; refuse with 431 past the limit."""
        if self._awaiting_headers:
            self._header_bytes += len(data)
            self._start_header_timer()
        super().data_received(data)
        too_large = self._awaiting_headers and self._header_bytes > MAX_HEADER_BYTES
        if too_large and not self.transport.is_closing():
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
                b"connection: close\r\n\r\n"
            )
            self.transport.close()

    def on_headers_complete(self) -> None:
        """The headers are in: stop counting until the next request begins."""
        self._awaiting_headers = False
        self._stop_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """A keep-alive connection waits for the next request's headers."""
        self._awaiting_headers = True
        self._header_bytes = 0
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """No timer outlives its connection."""
        self._stop_header_timer()
        super().connection_lost(exc)


__all__ = [
    "DEVICE_ID_STATE",
    "DEVICE_KEY_STATE",
    "GuardLimits",
    "GuardedHttpToolsProtocol",
    "RequestGuard",
    "bearer_token",
]
