"""A small, switchable, sometimes hostile ``/v1`` server on a real loopback socket (tests only).

It really opens every envelope (HPKE + Ed25519) and de-duplicates by record id, so tests can count
exactly-once delivery; ``mode`` makes it misbehave *after* storing, which is the hard case for a
client (the server has the record, the kiosk does not know).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from loopback import LoopbackService

from sync import wire
from sync.sealing import SealingError, open_envelope

MODES = (
    "ok",  # normal
    "503",  # 503 + Retry-After, nothing stored
    "429",  # 429 + Retry-After (HTTP date form), nothing stored
    "500",  # 500, nothing stored
    "drop",  # store, then close the connection without a reply
    "malformed",  # store, reply 200 with broken JSON
    "wrong_ids",  # store, reply 200 with results for ids that were not sent
    "missing_half",  # store, reply 200 with results for only half the batch
    "dup_conflict",  # store, reply with each id twice: accepted and rejected
    "huge",  # store, reply 200 with a 3 MiB body
    "slow",  # store, then wait `slow_s` before replying
    "redirect",  # 307 to another URL, nothing stored
    "html",  # store, reply 200 text/html
    "forbidden",  # 403, nothing stored
    "too_large_over_10",  # 413 for batches of more than 10 records
)


class ToyServer(LoopbackService):
    """``with ToyServer(server_key, device_public_key) as srv: srv.url ...``"""

    def __init__(self, server_key: X25519PrivateKey, device_key: Ed25519PublicKey | None = None) -> None:
        self.server_key = server_key
        self.device_key = device_key
        self.mode = "ok"
        self.slow_s = 1.0
        self.accepted: dict[str, bytes] = {}
        self.accept_events = 0
        self.duplicates = 0
        self.requests = 0
        self.batch_sizes: list[int] = []
        self.tokens: list[str] = []
        self._lock = threading.Lock()
        super().__init__(self._handler())

    def _process(self, records: list[Any], kiosk_id: str) -> list[dict[str, Any]]:
        results = []
        for obj in records:
            rid = obj.get("record_id") if isinstance(obj, dict) else None
            assert self.device_key is not None
            try:
                plain = open_envelope(
                    obj,
                    server_private_key=self.server_key,
                    device_public_key=self.device_key,
                    expected_kiosk_id=kiosk_id,
                )
            except SealingError as exc:
                results.append({"record_id": rid, "status": "rejected", "reason": type(exc).__name__})
                continue
            with self._lock:
                if rid in self.accepted:
                    self.duplicates += 1
                    results.append({"record_id": rid, "status": "duplicate", "reason": None})
                else:
                    self.accepted[rid] = plain
                    self.accept_events += 1
                    results.append({"record_id": rid, "status": "accepted", "reason": None})
        return results

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(
                self,
                status: int,
                body: bytes,
                headers: dict[str, str] | None = None,
                ctype: str = "application/json",
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/v1/health":
                    self._send(200, b'{"status":"ok"}')
                else:
                    self._send(404, b'{"error":"not_found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with srv._lock:
                    srv.requests += 1
                mode = srv.mode
                if self.path == "/v1/enroll":
                    req = wire.EnrollRequest.from_json(json.loads(body))
                    srv.tokens.append(req.token)
                    srv.device_key = Ed25519PublicKey.from_public_bytes(req.device_public_key)
                    pub = srv.server_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                    self._send(
                        200, json.dumps(wire.EnrollResponse("dev-1", pub, wire.SUITE_ID).to_json()).encode()
                    )
                    return
                if self.path != "/v1/records":
                    self._send(404, b"{}")
                    return
                records = json.loads(body)["records"]
                srv.batch_sizes.append(len(records))
                kiosk = self.headers.get(wire.DEVICE_HEADER, "")
                if mode == "503":
                    self._send(503, b'{"error":"busy"}', {"Retry-After": "2"})
                    return
                if mode == "429":
                    self._send(429, b"{}", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
                    return
                if mode == "500":
                    self._send(500, b"{}")
                    return
                if mode == "redirect":
                    self._send(307, b"", {"Location": "http://127.0.0.1:1/v1/records"})
                    return
                if mode == "forbidden":
                    self._send(403, b"{}")
                    return
                if mode == "too_large_over_10" and len(records) > 10:
                    self._send(413, b"{}")
                    return
                results = srv._process(records, kiosk)
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode == "malformed":
                    self._send(200, b'{"results": [{"record_id": ')
                    return
                if mode == "wrong_ids":
                    for r in results:
                        r["record_id"] = str(uuid.uuid4())
                elif mode == "missing_half":
                    results = results[: len(results) // 2]
                elif mode == "dup_conflict":
                    results = results + [{**r, "status": "rejected", "reason": "x"} for r in results]
                elif mode == "huge":
                    self._send(200, b'{"results": [' + b" " * (3 * 1024 * 1024) + b"]}")
                    return
                elif mode == "html":
                    self._send(200, b"<html>maintenance</html>", ctype="text/html")
                    return
                elif mode == "slow":
                    time.sleep(srv.slow_s)
                self._send(200, json.dumps({"results": results}).encode())

        return Handler
