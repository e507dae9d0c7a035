"""A loopback HTTP proxy in front of the real server that fails on a script (tests only).

Actions per ``POST /v1/records``, taken in turn from ``script`` (then "pass" forever):
- ``pass``: forward and relay the reply;
- ``500``: answer 500 without forwarding (the server never saw the batch);
- ``drop``: forward, let the server commit, then close the connection without a reply (the kiosk
  cannot know the batch arrived: the case that needs idempotency).
"""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler

import httpx
from loopback import LoopbackService


class ChaosProxy(LoopbackService):
    def __init__(self, upstream: str, script: list[str]) -> None:
        self.upstream = upstream
        self.script = deque(script)
        self.actions: list[str] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def _next(self) -> str:
        with self._lock:
            action = self.script.popleft() if self.script else "pass"
            self.actions.append(action)
            return action

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _relay(self, method: str, body: bytes | None) -> httpx.Response:
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                return httpx.request(
                    method, proxy.upstream + self.path, content=body, headers=headers, timeout=30
                )

            def _reply(self, resp: httpx.Response) -> None:
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "date",
                        "server",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            def do_GET(self) -> None:
                self._reply(self._relay("GET", None))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                action = proxy._next() if self.path == "/v1/records" else "pass"
                if action == "500":
                    self.send_response(500)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
                resp = self._relay("POST", body)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._reply(resp)

        return Handler
