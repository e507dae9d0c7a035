"""The kiosk over the real PC/SC stack: pcscd + vpcd + pyscard, the card layer's reader watcher
feeding the flow through queued Qt signals, the card worker thread, the real sealed outbox.

Holds the shared vpcd lock (docs/development.md) so no other test run puts a card on the reader.
Skips without pcscd unless MADOGUCHI_REQUIRE_E2E=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from uikit import KIOSK_ID, all_texts, click, make_enrolled, to_wait_card, type_pin, wait_phase

from card.virtual.card import VirtualMyNumberCard
from card.virtual.persona import load_persona
from card.virtual.vpcd import VpcdCard
from kiosk.demo_support import vpcd_lock, wait_reader
from kiosk.flow import Phase
from kiosk.settings import load_settings
from ui.app import KioskApp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")


@pytest.fixture
def vpcd() -> Iterator[None]:
    if not PCSCD_SOCKET.exists():
        if os.environ.get("MADOGUCHI_REQUIRE_E2E") == "1":
            pytest.fail("pcscd is not running and MADOGUCHI_REQUIRE_E2E=1")
        pytest.skip("pcscd is not running")
    with vpcd_lock(timeout=300.0):
        assert wait_reader(present=False)
        yield


def test_registration_with_the_reader_watcher_over_pcscd(
    vpcd: None, themed: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    enrolled = make_enrolled(tmp_path)
    kiosk = KioskApp(load_settings(enrolled.config), background_sync=False)
    qtbot.addWidget(kiosk.window)
    kiosk.window.show()
    kiosk.start()
    persona = load_persona("jlis-test")
    card = VpcdCard(VirtualMyNumberCard(persona))
    try:
        qtbot.waitUntil(lambda: kiosk.controller.state is not None, timeout=10000)
        pages = kiosk.window.pages
        to_wait_card(qtbot, kiosk, language=2)  # English

        card.insert()  # the watcher sees it; the worker prefetches through pcscd
        wait_phase(qtbot, kiosk, Phase.PIN_ENTRY, timeout=15000)
        type_pin(qtbot, kiosk, persona.auth_pin)
        wait_phase(qtbot, kiosk, Phase.CONFIRM, timeout=15000)
        assert persona.name in "\n".join(all_texts(kiosk.window))

        card.remove()  # lifted after the read: tap again, PIN again
        wait_phase(qtbot, kiosk, Phase.REINSERT, timeout=15000)
        assert persona.name not in "\n".join(all_texts(kiosk.window))
        assert wait_reader(present=False)

        card.insert()
        wait_phase(qtbot, kiosk, Phase.PIN_ENTRY, timeout=15000)
        type_pin(qtbot, kiosk, persona.auth_pin)
        wait_phase(qtbot, kiosk, Phase.CONFIRM, timeout=15000)
        click(qtbot, pages["confirm"].yes)  # type: ignore[attr-defined]  # "register"
        wait_phase(qtbot, kiosk, Phase.RECEIPT, timeout=15000)
        state = kiosk.window.state
        assert state is not None
        queued = enrolled.queued()
        assert len(queued) == 1
        assert queued[0].record.code == state.code
        assert queued[0].record.kiosk.kiosk_id == KIOSK_ID
    finally:
        kiosk.stop()
        card.remove()
        wait_reader(present=False)
