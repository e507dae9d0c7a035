"""The background sync service: drains in its own thread, backs off from a failing server, stops."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from synctest import KIOSK_ID, new_id
from toyserver import ToyServer

from sync.client import SyncClient
from sync.device import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.service import SyncService
from sync.uploader import SyncReport


def _wait(cond, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_service_drains_backs_off_and_stops(
    outbox: Outbox, data_dir: Path, server_key: X25519PrivateKey, store: DeviceStore
) -> None:
    reports: list[SyncReport] = []
    with ToyServer(server_key, store.load_device_key().public_key()) as srv:
        srv.mode = "503"
        service = SyncService(
            open_outbox=lambda: Outbox.open(data_dir / OUTBOX_FILE),
            make_client=lambda: SyncClient(srv.url, kiosk_id=KIOSK_ID, timeout=httpx.Timeout(1.0)),
            interval_s=0.2,
            min_sleep_s=0.2,
            max_backoff_s=0.6,
            on_report=reports.append,
            rng=random.Random(3),
        )
        ids = [new_id() for _ in range(1200)]
        for rid in ids[:600]:
            outbox.enqueue(b"{}", record_id=rid, program_id="demo")
        service.start()
        # 503 carries Retry-After: 2 s, so in 1.5 s the service may try at most once.
        time.sleep(1.5)
        assert srv.requests == 1
        assert service.last_error == "SyncThrottledError"
        srv.mode = "ok"
        for rid in ids[600:]:
            outbox.enqueue(b"{}", record_id=rid, program_id="demo")
        service.wake()
        assert _wait(lambda: len(srv.accepted) == len(ids))
        assert _wait(lambda: service.last_report is not None and service.last_report.remaining == 0)
        assert service.last_error is None
        assert service.stop(timeout=5)
        assert not service.running
    assert sorted(srv.accepted) == sorted(ids)
    assert srv.accept_events == len(ids)
    assert any(r.accepted for r in reports)
    assert outbox.status().depth == 0
