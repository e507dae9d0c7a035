"""The Qt kiosk uploads on its own: a registration made through the screens reaches the real
reference server (``madoguchi server run`` on loopback) through the background sync service, and
the receipt's code is then ``accepted`` there, without anyone running ``madoguchi sync``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from uikit import KIOSK_ID, click, to_eligibility, wait_phase

from card.virtual.persona import load_persona
from kiosk.demo_support import profile_with_test_trust
from kiosk.flow import Phase
from kiosk.settings import load_settings
from sync.client import SyncClient
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from ui.app import KioskApp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))  # the delivery tests' server runner
from realserver import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "server", workers=1)
    srv.init()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _enrolled_kiosk(tmp_path: Path, srv: ServerProcess) -> KioskApp:
    data_dir = tmp_path / "kiosk" / "data"
    config = tmp_path / "kiosk" / "kiosk.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        profile_with_test_trust(
            kiosk_id=KIOSK_ID, mode="staff", data_dir=data_dir, program="demo", server_url=srv.url
        ),
        encoding="utf-8",
    )
    store = DeviceStore(data_dir)
    key = store.load_or_create_device_key()
    with SyncClient(srv.url, kiosk_id=KIOSK_ID) as client:
        store.pin_server(
            srv.url, client.enroll(srv.device_token(KIOSK_ID), key.public_key().public_bytes_raw())
        )
    return KioskApp(load_settings(config), persona="jlis-test")


def test_a_registration_reaches_the_server_by_itself(
    themed: QApplication, qtbot: QtBot, tmp_path: Path, server: ServerProcess
) -> None:
    kiosk = _enrolled_kiosk(tmp_path, server)
    qtbot.addWidget(kiosk.window)
    kiosk.window.show()
    kiosk.start()
    try:
        qtbot.waitUntil(lambda: kiosk.controller.state is not None, timeout=5000)
        assert kiosk.sync is not None
        assert kiosk.sync.running
        window = kiosk.window
        to_eligibility(qtbot, kiosk, load_persona("jlis-test").auth_pin)
        click(qtbot, window.pages["confirm"].yes)  # type: ignore[attr-defined]  # "register"
        wait_phase(qtbot, kiosk, Phase.RECEIPT)
        state = kiosk.controller.state
        assert state is not None
        assert state.code

        def accepted() -> None:
            reply = httpx.get(f"{server.url}/v1/registrations/{state.code}", timeout=2)
            assert reply.status_code == 200, reply.status_code
            assert reply.json()["status"] == "accepted"

        # woken by the enqueue: no 30 s poll interval to wait for
        qtbot.waitUntil(accepted, timeout=15000)
        # and the booth told the server it is alive (issue 10's heartbeat), with no one asking
        sync = kiosk.sync
        assert sync is not None
        qtbot.waitUntil(lambda: sync.heartbeats_sent >= 1, timeout=15000)
        data_dir = kiosk.settings.data_dir
    finally:
        kiosk.stop()
    assert kiosk.sync is None  # stopped with the card worker
    with Outbox.open(data_dir / OUTBOX_FILE, recover=False) as outbox:
        status = outbox.status()
    assert status.depth == 0
    assert status.today["accepted"] == 1
