#!/usr/bin/env python3
"""Taps and screens from the attract screen to the receipt, printed as JSON (issue 12: ≤ 4 taps
besides the PIN, ≤ 6 screens).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_path.py [--program miyagi-point-2025-second]

Drives the real Qt kiosk (``KioskApp`` in training mode: the in-process virtual card on the card
worker thread, the real sealed outbox in a throw-away enrolled data dir) the way a cooperative
resident does: every action is a mouse click on a visible, enabled button of the screen shown
(the attract screen's 日本語, each agreement, "next" if there is one, the PIN digits and OK,
"register"); placing the card is the training reader's "place card", not a tap on the screen.
Counted: ``taps`` (clicks other than the PIN pad's), ``pin_taps`` (digits + OK), ``screens`` (the
distinct screens the resident must read or act on, in order; the busy screens while the card is
read are listed apart as ``busy``). The default programme of ``config/kiosk.example.toml`` has two
required services; ``--program demo`` has one required and one optional service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The campaign of the default programme is open on this day (the bench's clock).
IN_CAMPAIGN = dt.datetime(2025, 2, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
PERSONAS = {"miyagi-point-2025-second": "miyagi-sendai", "demo": "jlis-test"}
BUSY = {"busy"}


def enrolled_config(folder: Path, program: str) -> Path:
    """A kiosk profile with the test trust and a data dir enrolled to a server that never answers."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from kiosk.demo_support import profile_with_test_trust
    from sync import wire
    from sync.device_keys import DeviceStore

    data_dir = folder / "data"
    config = folder / "kiosk.toml"
    config.write_text(
        profile_with_test_trust(
            kiosk_id="bench-kiosk",
            mode="staff",
            data_dir=data_dir,
            program=program,
            server_url="http://127.0.0.1:1",
        ),
        encoding="utf-8",
    )
    store = DeviceStore(data_dir)
    store.load_or_create_device_key()
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev-bench", raw, wire.SUITE_ID))
    return config


def walk(program: str, folder: Path) -> dict[str, Any]:
    """One registration through the screens; needs a QApplication with the theme applied."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QAbstractButton, QApplication

    from card.virtual.persona import load_persona
    from kiosk.flow.state import Phase
    from kiosk.settings import load_settings
    from ui.app import KioskApp

    persona = PERSONAS.get(program, "jlis-test")
    kiosk = KioskApp(
        load_settings(enrolled_config(folder, program)),
        persona=persona,
        clock=lambda: IN_CAMPAIGN,
        background_sync=False,
    )
    window = kiosk.window
    screens: list[str] = []
    busy: list[str] = []
    counts = {"taps": 0, "pin_taps": 0}

    def note() -> None:
        name = window.current_page()
        seen = busy if name in BUSY else screens
        if not seen or seen[-1] != name:
            seen.append(name)

    def wait(predicate: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            QApplication.processEvents()
            note()
            if time.monotonic() > deadline:
                raise TimeoutError(f"stuck on {window.current_page()}")
            time.sleep(0.002)

    def phase_is(phase: Phase) -> bool:
        return window.state is not None and window.state.phase is phase

    def tap(button: QAbstractButton, *, pin: bool = False) -> None:
        if not (button.isVisible() and button.isEnabled()):
            raise RuntimeError(f"{button.text()!r} is not tappable on {window.current_page()}")
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        counts["pin_taps" if pin else "taps"] += 1
        QApplication.processEvents()
        note()

    try:
        window.resize(1080, 1920)
        window.show()
        kiosk.start()
        wait(lambda: kiosk.controller.state is not None)
        note()
        pages = window.pages
        tap(pages["idle"].choices[0])  # type: ignore[attr-defined]  # 日本語: starts the session
        wait(lambda: not phase_is(Phase.IDLE))
        if phase_is(Phase.PROGRAM):
            tap(pages["program"].next)  # type: ignore[attr-defined]
            wait(lambda: phase_is(Phase.CONSENT))
        consent = pages["consent"]
        while phase_is(Phase.CONSENT):
            state = window.state
            assert state is not None
            pending = [s for s in state.services if s not in {c.service for c in state.consents}]
            if pending:
                before = len(state.consents)
                tap(consent.blocks[pending[0]][2])  # type: ignore[attr-defined]  # its own agreement
                wait(lambda n=before: len(window.state.consents) > n)  # type: ignore[union-attr]
            else:
                tap(consent.next)  # type: ignore[attr-defined]
                wait(lambda: not phase_is(Phase.CONSENT))
        wait(lambda: phase_is(Phase.WAIT_CARD))
        kiosk.training_card(True)  # the card on the reader: not a tap on the screen
        wait(lambda: phase_is(Phase.PIN_ENTRY))
        pad = pages["pin"].pad  # type: ignore[attr-defined]
        for digit in load_persona(persona).auth_pin:
            tap(pad.keys[int(digit) - 1] if digit != "0" else pad.keys[9], pin=True)
        tap(pad.ok_key, pin=True)
        wait(lambda: phase_is(Phase.CONFIRM) and window.state.eligibility is not None)  # type: ignore[union-attr]
        tap(pages["confirm"].yes)  # type: ignore[attr-defined]  # "register": the final confirmation
        wait(lambda: phase_is(Phase.RECEIPT))
        queued = window.state.receipt_status  # type: ignore[union-attr]
    finally:
        kiosk.stop()
        window.close()
        window.deleteLater()
        QApplication.processEvents()
    return {
        "program": program,
        "taps": counts["taps"],
        "pin_taps": counts["pin_taps"],
        "screens": len(screens),
        "screen_list": screens,
        "busy": busy,
        "receipt_status": queued,
        "targets": {"taps": 4, "screens": 6},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--program", default="miyagi-point-2025-second")
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    app = QApplication(sys.argv[:1])
    apply_theme(app)
    with tempfile.TemporaryDirectory() as tmp:
        result = walk(args.program, Path(tmp))
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["taps"] <= 4 and result["screens"] <= 6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
