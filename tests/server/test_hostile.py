"""Issue 14: the attacks that got through, each against a real uvicorn on loopback (SQLite and
PostgreSQL), with bounded loops and short timeouts so the whole file stays well under a minute.

Raw sockets where the attack is in the framing (stalled bodies, huge headers, lying lengths):
an HTTP client library would refuse to send those requests at all.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kiosk.rules.record import registration_code
from sync.server import guard
from sync.server.devices import issue_token, revoke_device
from sync.wire import DEVICE_HEADER, b64encode, batch_request_body

from .conftest import RunningServer, start_server, stop_server
from .factory import Kiosk

BODY_TIMEOUT_S = 1.0
PER_DEVICE = 4


@pytest.fixture
def hostile(db_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    """A server with a short body timeout, so stalled bodies are cut within the test's time."""
    running, srv, thread = start_server(
        tmp_path, db_url, body_timeout_s=BODY_TIMEOUT_S, per_device_inflight=PER_DEVICE
    )
    yield running
    stop_server(running, srv, thread)


def _addr(server: RunningServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _open(server: RunningServer, head: bytes) -> socket.socket:
    sock = socket.create_connection(_addr(server), timeout=5)
    sock.sendall(head)
    return sock


def _status(sock: socket.socket, timeout: float = 5.0) -> int | None:
    """The status code of the first response on ``sock`` (None if it closed without one)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data[9:12])


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _upload(server: RunningServer, kiosk_id: str, envelopes: list) -> httpx.Response:  # type: ignore[type-arg]
    with server.client() as client:
        return client.post(
            "/v1/records",
            content=batch_request_body(envelopes),
            headers={DEVICE_HEADER: kiosk_id, "content-type": "application/json"},
        )


# --- 1. unauthenticated lock-out ---------------------------------------------------------------


def test_fifty_stalled_unknown_devices_do_not_block_real_uploads(hostile: RunningServer) -> None:
    kiosk = hostile.enroll("kiosk-real")
    head = _head(
        "POST",
        "/v1/records",
        {DEVICE_HEADER: "kiosk-nobody", "Content-Type": "application/json", "Content-Length": "100000"},
    )
    stalled = [_open(hostile, head) for _ in range(50)]
    try:
        # each is refused at once, from its headers, before its body (which never comes)
        assert [_status(s) for s in stalled] == [401] * 50
        started = time.monotonic()
        for _ in range(3):
            reply = _upload(hostile, "kiosk-real", [kiosk.make()])
            assert reply.status_code == 200, reply.text
            assert reply.json()["results"][0]["status"] == "accepted"
        assert time.monotonic() - started < 5
    finally:
        for s in stalled:
            s.close()


def test_a_known_device_stalling_bodies_gets_its_own_limit_and_408(hostile: RunningServer) -> None:
    hostile.enroll("kiosk-stolen")
    good = hostile.enroll("kiosk-good")
    head = _head(
        "POST",
        "/v1/records",
        {DEVICE_HEADER: "kiosk-stolen", "Content-Type": "application/json", "Content-Length": "100000"},
    )
    holders = [_open(hostile, head) for _ in range(PER_DEVICE)]
    time.sleep(0.2)  # the guard has authenticated them and waits for their bodies
    extra = [_open(hostile, head) for _ in range(20)]
    try:
        assert [_status(s) for s in extra] == [429] * 20  # beyond this device's share, at once
        reply = _upload(hostile, "kiosk-good", [good.make()])  # another kiosk is not affected
        assert reply.status_code == 200
        assert reply.json()["results"][0]["status"] == "accepted"
        # the stalled bodies are cut after the body timeout, and never took a processing slot
        assert [_status(s, timeout=BODY_TIMEOUT_S + 4) for s in holders] == [408] * PER_DEVICE
    finally:
        for s in holders + extra:
            s.close()


def test_flooding_unauthenticated_clients_do_not_starve_a_kiosk(hostile: RunningServer) -> None:
    kiosk = hostile.enroll("kiosk-busy")
    stop = threading.Event()
    refused: list[int] = []

    def flood() -> None:
        with httpx.Client(base_url=hostile.url, timeout=10) as client:
            while not stop.is_set() and len(refused) < 2000:
                r = client.post(
                    "/v1/records",
                    content=b'{"records":[]}',
                    headers={DEVICE_HEADER: "kiosk-nobody", "content-type": "application/json"},
                )
                refused.append(r.status_code)

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        for _ in range(3):
            started = time.monotonic()
            reply = _upload(hostile, "kiosk-busy", [kiosk.make()])
            assert reply.status_code == 200
            assert time.monotonic() - started < 3
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert refused
    assert set(refused) == {401}


# --- 2. bodies and headers before auth ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/enroll", "/v1/records", "/v1/admin/exclusions", "/v1/admin/review/1", "/v1/admin/lottery/x/draw"],
)
def test_a_huge_declared_body_is_refused_before_reading(hostile: RunningServer, path: str) -> None:
    head = _head(
        "POST",
        path,
        {"Content-Type": "application/json", "Content-Length": str(256 * 1024 * 1024), DEVICE_HEADER: "k"},
    )
    sock = _open(hostile, head)  # the body is never sent: the answer must come from the headers
    try:
        assert _status(sock) == 413
    finally:
        sock.close()


def test_admin_routes_check_the_token_before_the_body(hostile: RunningServer) -> None:
    head = _head("POST", "/v1/admin/exclusions", {"Content-Type": "application/json", "Content-Length": "50"})
    sock = _open(hostile, head)
    try:
        assert _status(sock) == 401
    finally:
        sock.close()
    head = _head(
        "POST",
        "/v1/admin/exclusions",
        {"Content-Type": "application/json", "Content-Length": "50", "Authorization": "Bearer wrong"},
    )
    sock = _open(hostile, head)
    try:
        assert _status(sock) == 403
    finally:
        sock.close()


def test_chunked_body_over_the_cap_is_cut_at_413(hostile: RunningServer) -> None:
    head = _head("POST", "/v1/enroll", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    sock = _open(hostile, head)
    try:
        piece = b"x" * 16384
        try:
            for _ in range(8):  # 128 KiB, twice the enroll route's limit
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _status(sock) == 413
    finally:
        sock.close()


def test_an_eight_megabyte_header_is_refused_with_431(hostile: RunningServer) -> None:
    sock = socket.create_connection(_addr(hostile), timeout=5)
    try:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 8 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 8 * 1024 * 1024 or _status(sock) in (431, None)
        assert _status(sock) in (431, None)
    finally:
        sock.close()
    # and the server still answers others
    with hostile.client() as client:
        assert client.get("/v1/health").status_code == 200


def test_slow_headers_are_disconnected(hostile: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "HEADER_TIMEOUT_S", 0.5)
    sock = socket.create_connection(_addr(hostile), timeout=5)
    try:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n")
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed by the server, without an answer
        assert time.monotonic() - started < 3
    finally:
        sock.close()


# --- 6. strict JSON, Content-Type, auth scheme, odd ids, OpenAPI --------------------------------


def _enroll_body(server: RunningServer) -> dict[str, str]:
    return {
        "token": issue_token(server.ctx.db, "k1"),
        "kiosk_id": "k1",
        "device_public_key": b64encode(b"\x00" * 32),
    }


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=utf-16"])
def test_content_type_must_be_json(server: RunningServer, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    with server.client() as client:
        reply = client.post("/v1/enroll", content=json.dumps(_enroll_body(server)).encode(), headers=headers)
        assert reply.status_code == 415
        assert reply.json()["error"] == "unsupported_media_type"
        reply = client.post("/v1/records", content=b'{"records":[]}', headers={DEVICE_HEADER: "x", **headers})
        assert reply.status_code in (401, 415)  # the device check may come first: both refuse


@pytest.mark.parametrize(
    "body",
    [
        b'{"token":"a","token":"b","kiosk_id":"k1","device_public_key":"AA=="}',
        b'\xef\xbb\xbf{"token":"a","kiosk_id":"k1","device_public_key":"AA=="}',
        '{"token":"a","kiosk_id":"k1","device_public_key":"AA=="}'.encode("utf-16"),
        b'{"token":"a","kiosk_id":"k1","device_public_key":"AA==","x":NaN}',
        b'{"token":"\xff","kiosk_id":"k1","device_public_key":"AA=="}',
    ],
    ids=["duplicate-key", "bom", "utf-16", "nan", "not-utf-8"],
)
def test_strict_json_everywhere(server: RunningServer, body: bytes) -> None:
    json_type = {"content-type": "application/json"}
    with server.client() as client:
        assert client.post("/v1/enroll", content=body, headers=json_type).status_code == 400
    with server.admin() as admin:
        reply = admin.post("/v1/admin/exclusions", content=body, headers=json_type)
        assert reply.status_code == 400
        assert reply.json()["error"] == "bad_request"


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_auth_scheme_is_case_insensitive(server: RunningServer, scheme: str) -> None:
    with server.client() as client:
        reply = client.get("/v1/admin/stats", headers={"Authorization": f"{scheme} {server.admin_token}"})
        assert reply.status_code == 200
        assert client.get("/v1/admin/stats", headers={"Authorization": f"{scheme} nope"}).status_code == 403
        assert (
            client.get("/v1/admin/stats", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
        )


@pytest.mark.parametrize(
    "review_id", [str(2**63), str(2**64), "99999999999999999999999", "-1", "0", "abc", "1e3"]
)
def test_review_ids_out_of_range_are_404(server: RunningServer, review_id: str) -> None:
    with server.admin() as admin:
        reply = admin.post(f"/v1/admin/review/{review_id}", json={"same_person": True})
        assert reply.status_code == 404
        assert reply.json()["error"] == "unknown_review"
    with server.admin() as admin:
        assert admin.post(f"/v1/admin/review/{2**63 - 1}", json={"same_person": True}).status_code == 404


def test_openapi_tells_the_truth_and_docs_need_no_cdn(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["adminToken"] == {"type": "http", "scheme": "bearer", "description": "the admin token"}
    assert schemes["device"]["in"] == "header"
    assert schemes["device"]["name"] == DEVICE_HEADER
    paths = spec["paths"]
    assert "503" in paths["/v1/health"]["get"]["responses"]
    for path, item in paths.items():
        for method, op in item.items():
            codes = set(op["responses"])
            if method == "get":
                assert not codes & {"413", "415", "408"}, (path, codes)
            if path.startswith("/v1/admin/"):
                assert {"401", "403"} <= codes, path
                assert op["security"] == [{"adminToken": []}], path
    assert paths["/v1/records"]["post"]["security"] == [{"device": []}]
    assert {"401", "403", "408", "413", "415", "429", "503"} <= set(paths["/v1/records"]["post"]["responses"])


def test_a_revoked_device_is_refused_before_its_body(server: RunningServer) -> None:
    server.enroll("kiosk-gone")
    revoke_device(server.ctx.db, "kiosk-gone")
    head = _head(
        "POST",
        "/v1/records",
        {DEVICE_HEADER: "kiosk-gone", "Content-Type": "application/json", "Content-Length": "1000"},
    )
    sock = _open(server, head)
    try:
        assert _status(sock) == 403
    finally:
        sock.close()


# --- 3. device keys at enrollment -------------------------------------------------------------

_P = 2**255 - 19


def _enc(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


_ORDER_8_A = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
_ORDER_8_B = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")


def _flip(encoding: bytes) -> bytes:
    return encoding[:31] + bytes([encoding[31] ^ 0x80])


#: the eight points of small order (identity; order 2; two of order 4; four of order 8)
SMALL_ORDER = {
    "identity": _enc(1),
    "order-2": _enc(_P - 1),
    "order-4": _enc(0),
    "order-4-neg": _enc(0, 1),
    "order-8-a": _ORDER_8_A,
    "order-8-a-neg": _flip(_ORDER_8_A),
    "order-8-b": _ORDER_8_B,
    "order-8-b-neg": _flip(_ORDER_8_B),
}
#: their non-canonical encodings (y + p, and a "negative zero" x), and other non-canonical values
NON_CANONICAL = {
    "identity-neg-zero": _enc(1, 1),
    "order-2-neg-zero": _enc(_P - 1, 1),
    "identity-y+p": _enc(1 + _P),
    "identity-y+p-neg": _enc(1 + _P, 1),
    "order-4-y+p": _enc(_P),
    "order-4-y+p-neg": _enc(_P, 1),
    **{f"y={y}+p": _enc(y + _P) for y in range(2, 19)},
    "ff*32": b"\xff" * 32,
}


def _enroll_key(server: RunningServer, kiosk_id: str, key: bytes) -> httpx.Response:
    token = issue_token(server.ctx.db, kiosk_id)
    with server.client() as client:
        return client.post(
            "/v1/enroll", json={"token": token, "kiosk_id": kiosk_id, "device_public_key": b64encode(key)}
        )


def test_small_order_and_non_canonical_device_keys_are_refused(server: RunningServer) -> None:
    for i, (name, key) in enumerate({**SMALL_ORDER, **NON_CANONICAL}.items()):
        reply = _enroll_key(server, f"kiosk-bad-{i}", key)
        assert reply.status_code == 400, name
        assert reply.json()["error"] == "invalid_device_key", name
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM devices") == 0


def test_mixed_order_device_key_is_refused() -> None:
    from nacl.bindings import crypto_core_ed25519_add, crypto_scalarmult_ed25519_base_noclamp

    from sync.server.devices import check_device_key
    from sync.server.errors import InvalidDeviceKeyError

    good = crypto_scalarmult_ed25519_base_noclamp((12345).to_bytes(32, "little"))
    check_device_key(good)  # a prime-order point passes
    mixed = crypto_core_ed25519_add(good, _ORDER_8_A)  # plus a torsion component
    with pytest.raises(InvalidDeviceKeyError):
        check_device_key(mixed)


def test_identity_key_cannot_get_a_forged_record_accepted(server: RunningServer) -> None:
    """Issue 14's attack end to end: enrollment with the identity point is refused, so the upload
    with a constant signature never reaches the verifier (401: no such device)."""
    assert _enroll_key(server, "kiosk-forger", SMALL_ORDER["identity"]).status_code == 400
    reply = _upload(server, "kiosk-forger", [])
    assert reply.status_code == 401


def test_a_revoked_device_cannot_enroll_again(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-revoked")
    revoke_device(server.ctx.db, "kiosk-revoked")
    other = Kiosk(server.public_key, kiosk_id="kiosk-revoked")  # same id, a new key
    for key in (kiosk.public_key_raw(), other.public_key_raw()):
        reply = _enroll_key(server, "kiosk-revoked", key)
        assert reply.status_code == 403
        assert reply.json()["error"] == "device_revoked"


# --- 4. registration codes -------------------------------------------------------------------


def _same_code_record_id(rid: uuid.UUID) -> uuid.UUID:
    """Another UUID4 whose registration code equals ``rid``'s (a forced collision)."""
    v = rid.int
    rand = (v >> 80) << 74 | ((v >> 64) & 0xFFF) << 62 | (v & ((1 << 62) - 1))
    other = rand + 30**15 if rand + 30**15 < 2**122 else rand - 30**15
    hi, mid, lo = other >> 74, (other >> 62) & 0xFFF, other & ((1 << 62) - 1)
    return uuid.UUID(int=hi << 80 | 0x4 << 76 | mid << 64 | 0b10 << 62 | lo)


def test_a_code_collision_is_a_typed_rejection_not_a_second_row(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-codes")
    first = uuid.uuid4()
    second = _same_code_record_id(first)
    third = _same_code_record_id(second)
    assert registration_code(first) == registration_code(second) == registration_code(third)
    assert first != second != third
    reply = _upload(server, "kiosk-codes", [kiosk.make(record_id=first)])
    assert reply.json()["results"][0]["status"] == "accepted"
    # a later record with the same code, and two in one batch
    reply = _upload(
        server,
        "kiosk-codes",
        [kiosk.make(record_id=second), kiosk.make(record_id=third, persona_name="miyagi-sendai")],
    )
    assert [(r["status"], r["reason"]) for r in reply.json()["results"]] == [
        ("rejected", "code_collision"),
        ("rejected", "code_collision"),
    ]
    with server.ctx.db.transaction() as tx:
        code = registration_code(first)
        assert tx.scalar("SELECT COUNT(*) FROM records WHERE code = ?", (code,)) == 1
        assert tx.scalar("SELECT COUNT(*) FROM registrations WHERE code = ?", (code,)) == 1
    with server.client() as client:
        assert client.get(f"/v1/registrations/{code}").json()["status"] == "accepted"


def test_code_collision_in_one_batch(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-codes-2")
    first = uuid.uuid4()
    reply = _upload(
        server,
        "kiosk-codes-2",
        [kiosk.make(record_id=first), kiosk.make(record_id=_same_code_record_id(first))],
    )
    assert [(r["status"], r["reason"]) for r in reply.json()["results"]] == [
        ("accepted", None),
        ("rejected", "code_collision"),
    ]


def test_the_code_index_is_unique(server: RunningServer) -> None:
    import sqlite3

    import psycopg

    from sync.server.errors import StorageError

    def insert_twice() -> None:
        with server.ctx.db.transaction() as tx:
            for rid in ("a", "b"):
                tx.execute(
                    "INSERT INTO records (record_id, code, device_id, sequence, program_id, received_at, "
                    "envelope_hash, outcome) VALUES (?, 'SAME', 'd', 1, 'p', ?, ?, 'accepted')",
                    (rid, datetime.now(UTC), b"x"),
                )

    with pytest.raises((StorageError, sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        insert_twice()


# --- 5. the clock policy ---------------------------------------------------------------------


def _decision(server: RunningServer, record_id: str) -> tuple[str | None, list[str]]:
    with server.ctx.db.transaction() as tx:
        row = tx.one("SELECT decision, flags FROM registrations WHERE record_id = ?", (record_id,))
    assert row is not None
    return row[0], json.loads(row[1])


def test_clock_policy_boundaries(server: RunningServer) -> None:
    from sync.server.verify import MAX_CLOCK_SKEW

    kiosk = server.enroll("kiosk-clock")
    now = datetime.now(UTC)
    fcfs = {"program_id": "miyagi-fcfs"}
    # future beyond the skew: rejected (stored), never granted
    ahead = kiosk.make(clock=now + timedelta(days=1), **fcfs)
    just_ahead = kiosk.make(clock=now + MAX_CLOCK_SKEW + timedelta(minutes=1), **fcfs)
    reply = _upload(server, "kiosk-clock", [ahead, just_ahead])
    assert [(r["status"], r["reason"]) for r in reply.json()["results"]] == [
        ("rejected", "clock_ahead"),
        ("rejected", "clock_ahead"),
    ]
    # within the skew ahead: accepted and granted
    ok = kiosk.make(clock=now + MAX_CLOCK_SKEW - timedelta(minutes=2), **fcfs)
    assert _upload(server, "kiosk-clock", [ok]).json()["results"][0]["status"] == "accepted"
    assert _decision(server, ok.record_id)[0] == "granted"
    # a little before the previous accepted record (within the skew: an NTP step back): normal
    step_back = kiosk.make(clock=now + timedelta(minutes=2), persona_name="miyagi-sendai", **fcfs)
    assert _upload(server, "kiosk-clock", [step_back]).json()["results"][0]["status"] == "accepted"
    decision, flags = _decision(server, step_back.record_id)
    assert decision == "already_granted"  # the same resident: the award rules ran, no review
    assert "clock_out_of_bounds" not in flags
    # before the device's previous accepted record (beyond the skew): review, not a grant
    back = kiosk.make(clock=now - timedelta(hours=1), persona_name="miyagi-sendai", **fcfs)
    reply = _upload(server, "kiosk-clock", [back])
    assert reply.json()["results"][0]["status"] == "accepted"
    decision, flags = _decision(server, back.record_id)
    assert decision == "review"
    assert "clock_out_of_bounds" in flags
    with server.admin() as admin:
        reviews = admin.get("/v1/admin/review").json()
    assert [r["record_id"] for r in reviews] == [back.record_id]


def test_a_record_dated_before_its_device_was_enrolled_goes_to_review(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-years-back")
    years_back = kiosk.make(clock=datetime.now(UTC) - timedelta(days=2), program_id="miyagi-fcfs")
    reply = _upload(server, "kiosk-years-back", [years_back])
    assert reply.json()["results"][0]["status"] == "accepted"
    decision, flags = _decision(server, years_back.record_id)
    assert decision == "review"
    assert "clock_out_of_bounds" in flags
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM grants") == 0
    # within the skew of the enrollment: a normal grant
    recent = kiosk.make(
        clock=datetime.now(UTC) - timedelta(minutes=5), program_id="miyagi-fcfs", persona_name="miyagi-sendai"
    )
    assert _upload(server, "kiosk-years-back", [recent]).json()["results"][0]["status"] == "accepted"
    assert _decision(server, recent.record_id)[0] == "granted"


def test_unknown_query_parameters_are_refused_and_documented(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/v1/health").status_code == 200
        reply = client.get("/v1/health", params={"debug": "1"})
        assert reply.status_code == 400
        assert reply.json()["error"] == "http_error"
        spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for item in spec["paths"].values():
        for op in item.values():
            assert "400" in op["responses"]
            if "422" in op["responses"]:
                schema = op["responses"]["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}
