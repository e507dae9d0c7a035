"""The background sync service: drains in its own thread, backs off from a failing server, stops."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from synctest import KIOSK_ID, new_id
from toyserver import ToyServer

from sync.client import SyncClient
from sync.device_keys import DeviceStore
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


class CountingServer(ToyServer):
    """A ToyServer that records how many batches it was verifying at the same moment."""

    def __init__(self, server_key: X25519PrivateKey, device_key: object) -> None:
        super().__init__(server_key, device_key)  # type: ignore[arg-type]
        self.in_flight = 0
        self.max_in_flight = 0

    def _process(self, records: list[object], kiosk_id: str) -> list[dict[str, object]]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(0.05)  # long enough for a second batch to arrive meanwhile
            return super()._process(records, kiosk_id)  # type: ignore[return-value]
        finally:
            with self._lock:
                self.in_flight -= 1


def _service(data_dir: Path, url: str, parallel: int, reports: list[SyncReport]) -> SyncService:
    return SyncService(
        open_outbox=lambda: Outbox.open(data_dir / OUTBOX_FILE),
        make_client=lambda: SyncClient(url, kiosk_id=KIOSK_ID, timeout=httpx.Timeout(2.0)),
        interval_s=0.2,
        min_sleep_s=0.2,
        max_backoff_s=0.6,
        on_report=reports.append,
        rng=random.Random(5),
        parallel=parallel,
    )


def test_helpers_catch_up_in_parallel_and_every_record_arrives_once(
    outbox: Outbox, data_dir: Path, server_key: X25519PrivateKey, store: DeviceStore
) -> None:
    reports: list[SyncReport] = []
    ids = [new_id() for _ in range(3000)]
    for rid in ids:
        outbox.enqueue(b"{}", record_id=rid, program_id="demo")
    with CountingServer(server_key, store.load_device_key().public_key()) as srv:
        service = _service(data_dir, srv.url, 3, reports)
        service.start()
        assert service.running
        assert _wait(lambda: len(srv.accepted) == len(ids), timeout=30)
        assert _wait(lambda: outbox.status().depth == 0)
        assert service.stop(timeout=5)
    assert set(srv.accepted) == set(ids)
    assert srv.accept_events == len(ids)  # disjoint claims: nothing was sent twice
    assert srv.duplicates == 0
    assert srv.max_in_flight >= 2  # the helpers really uploaded alongside the leader
    assert not service.running


def test_only_the_leader_meets_a_failing_server(
    outbox: Outbox, data_dir: Path, server_key: X25519PrivateKey, store: DeviceStore
) -> None:
    """During an outage the helpers stay idle: one request at a time, then the leader's backoff."""
    reports: list[SyncReport] = []
    for _ in range(3000):
        outbox.enqueue(b"{}", record_id=new_id(), program_id="demo")
    with ToyServer(server_key, store.load_device_key().public_key()) as srv:
        srv.mode = "503"
        service = _service(data_dir, srv.url, 4, reports)
        service.start()
        time.sleep(1.5)  # Retry-After: 2 s, so at most the first try
        assert srv.requests == 1
        assert service.last_error == "SyncThrottledError"
        assert service.stop(timeout=5)
    assert outbox.status().depth == 3000


@pytest.mark.parametrize("parallel", [0, 9])
def test_parallel_is_bounded(parallel: int) -> None:
    with pytest.raises(ValueError, match="parallel"):
        SyncService(open_outbox=lambda: None, make_client=lambda: None, parallel=parallel)  # type: ignore[arg-type,return-value]


def test_the_kiosk_settings_bound_is_the_services() -> None:
    """kiosk/ never imports sync/, so the profile's bound is a copy: keep the two equal."""
    from kiosk.settings import DEFAULT_PARALLEL_UPLOADS, MAX_PARALLEL_UPLOADS
    from sync.service import MAX_PARALLEL

    assert MAX_PARALLEL_UPLOADS == MAX_PARALLEL
    assert 1 <= DEFAULT_PARALLEL_UPLOADS <= MAX_PARALLEL
