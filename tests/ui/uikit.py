"""Helpers and fixtures of the UI tests (conftest.py re-exports the fixtures): an enrolled throw-away
kiosk (real sealed outbox in tmp_path),
the KioskApp in training mode (in-process virtual card) and helpers to drive it like a resident.

Runs offscreen (QT_QPA_PLATFORM=offscreen is set here if the caller did not). No __init__.py in
tests/ui: a ``tests.ui`` package would shadow the ``ui`` package.
"""

from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from kiosk.demo_support import profile_with_test_trust
from kiosk.flow import Phase
from kiosk.rules.record import SignedRegistration, parse_signed
from kiosk.settings import load_settings
from sync import wire
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.sealing import open_envelope
from ui.app import KioskApp, local_now
from ui.theme import apply_theme
from ui.window import KioskWindow

ROOT = Path(__file__).resolve().parents[2]
KIOSK_ID = "ui-test-kiosk"


@dataclass
class Enrolled:
    """A kiosk profile with an enrolled data dir; ``queued()`` opens envelopes as the server does."""

    config: Path
    data_dir: Path
    server_key: X25519PrivateKey
    device_public: object

    def queued(self) -> list[SignedRegistration]:
        path = self.data_dir / OUTBOX_FILE
        if not path.exists():
            return []
        with Outbox.open(path, recover=False) as outbox:
            claimed = outbox.claim(ignore_schedule=True, max_records=100)
        return [
            parse_signed(
                open_envelope(
                    item.envelope,
                    server_private_key=self.server_key,
                    device_public_key=self.device_public,  # type: ignore[arg-type]
                    expected_kiosk_id=KIOSK_ID,
                )
            )
            for item in claimed
        ]


def make_enrolled(tmp: Path, mode: str = "staff", program: str = "demo") -> Enrolled:
    data_dir = tmp / "data"
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "kiosk.toml"
    config.write_text(
        profile_with_test_trust(
            kiosk_id=KIOSK_ID,
            mode=mode,
            data_dir=data_dir,
            program=program,
            server_url="http://127.0.0.1:1",
        ),
        encoding="utf-8",
    )
    server_key = X25519PrivateKey.generate()
    store = DeviceStore(data_dir)
    device_key = store.load_or_create_device_key()
    raw = server_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev-ui", raw, wire.SUITE_ID))
    return Enrolled(config, data_dir, server_key, device_key.public_key())


@pytest.fixture(scope="session")
def qapp_cls() -> type[QApplication]:
    return QApplication


@pytest.fixture
def themed(qapp: QApplication) -> QApplication:
    apply_theme(qapp)
    return qapp


@pytest.fixture
def gallery_window(themed: QApplication, qtbot: QtBot) -> KioskWindow:
    """A training window with every shipped programme, shown and exposed (the gallery tests)."""
    from kiosk.rules.programs import load_programs

    programs = load_programs(Path(__file__).resolve().parents[2] / "config" / "programs")
    window = KioskWindow(programs, training=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


MakeKiosk = Callable[..., KioskApp]


@pytest.fixture
def make_kiosk(themed: QApplication, qtbot: QtBot, tmp_path: Path) -> Iterator[MakeKiosk]:
    """Build, show and start a training-mode kiosk; stopped at teardown."""
    started: list[KioskApp] = []

    def build(
        persona: str = "jlis-test",
        *,
        mode: str = "staff",
        ms_per_second: int = 1000,
        program: str = "demo",
        clock: Callable[[], dt.datetime] = local_now,
    ) -> KioskApp:
        enrolled = make_enrolled(tmp_path / f"k{len(started)}", mode, program)
        settings = load_settings(enrolled.config)
        # No background sync: these kiosks are enrolled to a server that does not exist, and the
        # tests read the queued envelopes themselves (tests/ui/test_background_sync.py runs it).
        kiosk = KioskApp(
            settings, persona=persona, ms_per_second=ms_per_second, clock=clock, background_sync=False
        )
        kiosk.enrolled = enrolled  # type: ignore[attr-defined]
        qtbot.addWidget(kiosk.window)
        kiosk.window.show()
        kiosk.start()
        started.append(kiosk)
        qtbot.waitUntil(lambda: kiosk.controller.state is not None, timeout=5000)
        return kiosk

    yield build
    for kiosk in started:
        kiosk.stop()


def wait_phase(qtbot: QtBot, kiosk: KioskApp, phase: Phase, timeout: int = 10000) -> None:
    """Wait until the window shows ``phase`` (the worker runs on its own thread)."""

    def shown() -> None:
        state = kiosk.window.state
        assert state is not None
        assert state.phase is phase, state.phase

    qtbot.waitUntil(shown, timeout=timeout)


def click(qtbot: QtBot, widget: QAbstractButton) -> None:
    """A resident's tap (the button must be visible and enabled)."""
    assert widget.isVisible(), widget.text()
    assert widget.isEnabled(), widget.text()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_pin(qtbot: QtBot, kiosk: KioskApp, pin: str) -> None:
    """Tap the digits on the pad, then OK."""
    pad = kiosk.window.pages["pin"].pad  # type: ignore[attr-defined]
    for digit in pin:
        click(qtbot, pad.keys[int(digit) - 1] if digit != "0" else pad.keys[9])
    click(qtbot, pad.ok_key)


def to_wait_card(qtbot: QtBot, kiosk: KioskApp, *, language: int = 0) -> None:
    """Idle → a language button (``choices[language]``; 0 = 日本語) → the one consent screen: each
    required service's own agreement (and "next" when optional services are offered) → WAIT_CARD."""
    pages = kiosk.window.pages
    click(qtbot, pages["idle"].choices[language])  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    agree_all(qtbot, kiosk)
    wait_phase(qtbot, kiosk, Phase.WAIT_CARD)


def agree_all(qtbot: QtBot, kiosk: KioskApp) -> None:
    """On the consent screen: the agreement of every service chosen so far, then "next" if shown."""
    page = kiosk.window.pages["consent"]
    state = kiosk.window.state
    assert state is not None
    for accepted in range(len(state.consents) + 1, len(state.services) + 1):
        click(qtbot, page.agree)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda n=accepted: len(kiosk.window.state.consents) >= n)  # type: ignore[union-attr]
    if page.next.isVisible():  # type: ignore[attr-defined]
        click(qtbot, page.next)  # type: ignore[attr-defined]


def to_pin_entry(qtbot: QtBot, kiosk: KioskApp) -> None:
    """:func:`to_wait_card`, then the training card is placed: PIN_ENTRY."""
    to_wait_card(qtbot, kiosk)
    kiosk.training_card(True)
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)


def to_eligibility(qtbot: QtBot, kiosk: KioskApp, pin: str) -> None:
    """:func:`to_pin_entry`, the PIN: the confirmation screen with the basic four and the kiosk-side
    result, whose "register" (``pages["confirm"].yes``) is the final confirmation (nothing queued yet)."""
    to_pin_entry(qtbot, kiosk)
    type_pin(qtbot, kiosk, pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    qtbot.waitUntil(lambda: kiosk.window.state.eligibility is not None)  # type: ignore[union-attr]


def all_texts(root: QWidget) -> list[str]:
    """Every text a widget tree exposes: label/button text, accessible names and descriptions,
    tooltips, object names and window titles."""
    texts: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        texts += [
            widget.accessibleName(),
            widget.accessibleDescription(),
            widget.toolTip(),
            widget.objectName(),
            widget.windowTitle(),
            widget.statusTip(),
            widget.whatsThis(),
        ]
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
    return [t for t in texts if t]
