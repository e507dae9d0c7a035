"""Sync client and uploader against a real loopback HTTP server, including hostile replies."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from synctest import KIOSK_ID, new_id
from toyserver import ToyServer

from sync.client import (
    SyncClient,
    backoff_delay,
    parse_retry_after,
    require_secure_url,
    retry_delay,
)
from sync.device_keys import DeviceStore
from sync.errors import (
    InsecureURLError,
    PayloadTooLargeError,
    SyncProtocolError,
    SyncRejectedError,
    SyncServerError,
    SyncThrottledError,
    SyncTransportError,
)
from sync.outbox import OUTBOX_FILE, Outbox
from sync.sealing import open_envelope
from sync.uploader import Uploader

PLAIN = b'{"record":"opaque"}'


# -- pure functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://central.example.jp", True),
        ("https://central.example.jp/", True),
        ("http://127.0.0.1:8765", True),
        ("http://127.9.9.9", True),
        ("http://[::1]:80", True),
        ("http://localhost:8000", True),
        ("http://central.example.jp", False),
        ("http://10.0.0.1", False),
        ("http://127.0.0.1.evil.example", False),
        ("ftp://127.0.0.1", False),
        ("https://", False),
    ],
)
def test_https_required_except_loopback(url: str, ok: bool) -> None:
    if ok:
        assert not require_secure_url(url).endswith("/")
    else:
        with pytest.raises(InsecureURLError):
            require_secure_url(url)


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(0, 10_000),
    seed=st.integers(0, 2**32),
    base=st.floats(0.01, 10),
    cap=st.floats(1, 3600),
)
def test_backoff_is_full_jitter_within_window(attempt: int, seed: int, base: float, cap: float) -> None:
    d = backoff_delay(attempt, random.Random(seed), base=base, cap=cap)
    assert 0.0 <= d <= min(cap, base * 2.0 ** min(attempt, 64))
    # Pure: the same inputs give the same delay.
    assert d == backoff_delay(attempt, random.Random(seed), base=base, cap=cap)


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(0, 100), seed=st.integers(0, 2**32), ra=st.floats(0, 3600))
def test_retry_after_is_a_floor_with_bounded_spread(attempt: int, seed: int, ra: float) -> None:
    d = retry_delay(attempt, random.Random(seed), retry_after=ra, base=1.0, cap=300.0)
    assert ra <= d <= ra + min(300.0, max(1.0, ra))


def test_backoff_window_grows_then_caps() -> None:
    rng = random.Random(1)
    means = [sum(backoff_delay(a, rng, base=1, cap=60) for _ in range(400)) / 400 for a in range(10)]
    assert means[0] < 1.0
    assert means[3] > 2.5  # window 8 -> mean about 4
    assert 20 < means[9] < 40  # capped at 60 -> mean about 30
    with pytest.raises(ValueError):
        backoff_delay(-1, rng)


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("999999") == 3600.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


# -- against a loopback server ---------------------------------------------------------------


@pytest.fixture
def toy(server_key: X25519PrivateKey, store: DeviceStore):
    with ToyServer(server_key, store.load_device_key().public_key()) as srv:
        yield srv


def _client(url: str, **kw: object) -> SyncClient:
    kw.setdefault("timeout", httpx.Timeout(0.5))
    return SyncClient(url, kiosk_id=KIOSK_ID, **kw)  # type: ignore[arg-type]


def test_enroll_pins_the_server_key(tmp_path: Path, server_key: X25519PrivateKey) -> None:
    store = DeviceStore(tmp_path / "fresh")
    key = store.load_or_create_device_key()
    with ToyServer(server_key) as srv, _client(srv.url) as client:
        reply = client.enroll("token-1", key.public_key().public_bytes_raw())
        pinned = store.pin_server(srv.url, reply)
        assert srv.device_key is not None
        assert srv.device_key.public_bytes_raw() == key.public_key().public_bytes_raw()
    assert pinned.public_key == server_key.public_key().public_bytes_raw()
    assert store.load_server() == pinned


def test_clock_offset_from_date_header(toy: ToyServer) -> None:
    import time

    with _client(toy.url, clock=lambda: time.time() + 100.0) as client:
        assert client.health()
        assert client.clock_offset_s is not None
        assert -102 < client.clock_offset_s < -98


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("503", SyncThrottledError),
        ("429", SyncThrottledError),
        ("500", SyncServerError),
        ("drop", SyncTransportError),
        ("malformed", SyncProtocolError),
        ("huge", SyncProtocolError),
        ("html", SyncProtocolError),
        ("slow", SyncTransportError),
        ("redirect", SyncProtocolError),
        ("forbidden", SyncRejectedError),
    ],
)
def test_client_maps_every_failure_to_a_typed_error(
    toy: ToyServer, outbox: Outbox, mode: str, error: type[Exception]
) -> None:
    outbox.enqueue(PLAIN, record_id=new_id(), program_id="demo")
    [rec] = outbox.claim()
    toy.mode = mode
    with _client(toy.url) as client, pytest.raises(error) as info:
        client.upload([rec.envelope])
    if mode == "503":
        assert info.value.retry_after == 2.0  # type: ignore[attr-defined]
    if mode == "429":
        assert info.value.retry_after == 0.0  # a date in the past: retry now (plus jitter)


def test_413_halves_the_batch(toy: ToyServer, outbox: Outbox) -> None:
    ids = [new_id() for _ in range(40)]
    for rid in ids:
        outbox.enqueue(PLAIN, record_id=rid, program_id="demo")
    toy.mode = "too_large_over_10"
    with _client(toy.url) as client:
        claimed = outbox.claim(max_records=11)
        with pytest.raises(PayloadTooLargeError):
            client.upload([c.envelope for c in claimed])
        outbox.recover()
        toy.batch_sizes.clear()
        up = Uploader(outbox, client, rng=random.Random(0))
        report = up.run_once()
        assert up.batch_records <= 10
        while outbox.status().depth:
            up.run_once(ignore_schedule=True)
    assert sorted(toy.accepted) == sorted(ids)
    assert report.error is None
    assert toy.batch_sizes[:3] == [40, 20, 10]


HOSTILE = [
    "503",
    "429",
    "500",
    "drop",
    "malformed",
    "wrong_ids",
    "missing_half",
    "dup_conflict",
    "huge",
    "slow",
    "redirect",
    "html",
    "forbidden",
]


def test_hostile_replies_never_lose_or_corrupt_a_record(
    toy: ToyServer, outbox: Outbox, data_dir: Path, server_key: X25519PrivateKey, store: DeviceStore
) -> None:
    ids: list[str] = []
    plain: dict[str, bytes] = {}
    toy.slow_s = 0.8
    device_pub = store.load_device_key().public_key()
    with _client(toy.url) as client:
        up = Uploader(outbox, client, rng=random.Random(7), batch_records=7)
        for mode in HOSTILE:
            for _ in range(10):  # fresh records for every mode, so each one meets the misbehaviour
                rid = new_id()
                ids.append(rid)
                plain[rid] = PLAIN + rid.encode()
                outbox.enqueue(plain[rid], record_id=rid, program_id="demo")
            toy.mode = mode
            report = up.run_once(ignore_schedule=True)
            assert report.batches >= 1, mode
            # A record leaves the kiosk only if the server really has it.
            queued = set(outbox.record_ids())
            assert set(ids) <= queued | set(toy.accepted), mode
            if mode in ("wrong_ids", "missing_half", "malformed", "huge", "html", "dup_conflict"):
                assert report.alerts, mode
            # What is still queued is intact: it parses and opens on the server.
            for rec in outbox.claim(max_records=500, ignore_schedule=True):
                assert (
                    open_envelope(rec.envelope, server_private_key=server_key, device_public_key=device_pub)
                    == plain[rec.record_id]
                )
            outbox.recover()
        assert outbox.status().counts["REJECTED"] == 0
        toy.mode = "ok"
        for _ in range(20):
            if not outbox.status().depth:
                break
            up.run_once(ignore_schedule=True)
    assert outbox.status().depth == 0
    # Exactly once on the server, every plaintext intact.
    assert sorted(toy.accepted) == sorted(ids)
    assert toy.accept_events == len(ids)
    assert {rid: toy.accepted[rid] for rid in ids} == plain
    conn = sqlite3.connect(data_dir / OUTBOX_FILE)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_rejected_records_are_parked_sealed(
    toy: ToyServer, outbox: Outbox, server_key: X25519PrivateKey
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    good, bad = new_id(), new_id()
    outbox.enqueue(PLAIN, record_id=good, program_id="demo")
    outbox.enqueue(PLAIN, record_id=bad, program_id="demo")
    # The server knows another device key for the second upload: make it reject by signature.
    real = toy.device_key
    with _client(toy.url) as client:
        up = Uploader(outbox, client, rng=random.Random(0), batch_records=1)
        up.run_once(max_batches=1)
        toy.device_key = Ed25519PrivateKey.generate().public_key()
        report = up.run_once()
    toy.device_key = real
    assert report.rejected == 1
    assert list(toy.accepted) == [good]
    [(env, reason)] = outbox.rejected()
    assert env.record_id == bad
    assert reason == "badsignatureerror"
    assert outbox.status().depth == 0  # parked rows are not retried


def test_server_down_then_up(outbox: Outbox, server_key: X25519PrivateKey, store: DeviceStore) -> None:
    ids = [new_id() for _ in range(5)]
    for rid in ids:
        outbox.enqueue(PLAIN, record_id=rid, program_id="demo")
    with _client("http://127.0.0.1:9") as client:  # discard port: connection refused
        report = Uploader(outbox, client, rng=random.Random(0)).run_once()
    assert report.error == "SyncTransportError"
    assert outbox.status().last_errors == {"transport": 5}
    assert outbox.claim() == []  # backoff scheduled
    with ToyServer(server_key, store.load_device_key().public_key()) as srv, _client(srv.url) as client:
        report = Uploader(outbox, client).run_once(ignore_schedule=True)
    assert report.accepted == 5
    assert report.clock_offset_s is not None
    assert sorted(srv.accepted) == sorted(ids)
