"""The kiosk's heartbeat (issue 10): the background sync service reports the booth's health to the
real reference server (``madoguchi server run`` on loopback) on its own, and ``madoguchi server
devices`` shows it — version, queue depth and age, reader state, last error code; no personal data."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from realserver import ServerProcess

from sync.client import SyncClient
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.service import HeartbeatPlan, SyncService, _error_code

KIOSK = "heartbeat-kiosk"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "server", workers=1)
    srv.init()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _wait(cond, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_the_running_service_sends_heartbeats_the_server_shows(tmp_path: Path, server: ServerProcess) -> None:
    data_dir = tmp_path / "kiosk"
    store = DeviceStore(data_dir)
    key = store.load_or_create_device_key()
    with SyncClient(server.url, kiosk_id=KIOSK) as client:
        store.pin_server(
            server.url, client.enroll(server.device_token(KIOSK), key.public_key().public_bytes_raw())
        )
    Outbox.open(data_dir / OUTBOX_FILE).close()
    states = iter(["card_present", "ready", "ready", "ready", "ready", "ready", "ready", "ready"])
    service = SyncService(
        open_outbox=lambda: Outbox.open(data_dir / OUTBOX_FILE),
        make_client=lambda: SyncClient(server.url, kiosk_id=KIOSK),
        interval_s=0.1,
        heartbeat=HeartbeatPlan(key, "1.2.3", lambda: next(states, "ready"), interval_s=0.2),
    )
    service.start()
    try:
        assert _wait(lambda: service.heartbeats_sent >= 2), "no heartbeat reached the server"
    finally:
        assert service.stop()
    listed = json.loads(server._cli("devices"))
    mine = next(d for d in listed if d["device_id"] == KIOSK)
    assert mine["not_seen"] is False
    beat = mine["heartbeat"]
    assert beat["version"] == "1.2.3"
    assert beat["queue_depth"] == 0
    assert beat["reader_state"] == "ready"  # the newest one replaced the first
    assert beat["last_error"] is None


def test_a_server_that_refuses_heartbeats_does_not_stop_uploads(
    tmp_path: Path, server: ServerProcess
) -> None:
    """A kiosk the server does not know: every heartbeat is refused, the service keeps running."""
    data_dir = tmp_path / "kiosk"
    key = DeviceStore(data_dir).load_or_create_device_key()
    Outbox.open(data_dir / OUTBOX_FILE).close()
    service = SyncService(
        open_outbox=lambda: Outbox.open(data_dir / OUTBOX_FILE),
        make_client=lambda: SyncClient(server.url, kiosk_id="never-enrolled"),
        interval_s=0.1,
        heartbeat=HeartbeatPlan(key, "1.2.3", lambda: "ready", interval_s=0.1),
    )
    service.start()
    try:
        time.sleep(1.0)
        assert service.running
        assert service.heartbeats_sent == 0
    finally:
        assert service.stop()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (None, None),
        ("SyncTransportError", "sync_transport_error"),
        ("http_503", "http_503"),
        ("Bad Thing!", "bad_thing_"),
    ],
)
def test_error_names_become_heartbeat_codes(error: str | None, code: str | None) -> None:
    assert _error_code(error) == code
