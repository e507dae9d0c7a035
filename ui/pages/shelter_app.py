"""``madoguchi kiosk`` in shelter mode: the window, the reader and background delivery.

- The window holds a :class:`~ui.pages.shelter.ShelterScreen` over a
  :class:`~kiosk.shelter.ShelterDesk`, whose outbox and local state live on the GUI thread (one
  SQLite connection each, one thread).
- A :class:`card.watcher.ReaderWatcher` (started by the composition root, :mod:`kiosk.composition`)
  polls PC/SC. When a card arrives it does the PIN-less read
  (:func:`card.pinless.read_auth_certificate_pinless`, 3 APDUs) on the watcher's thread, so the
  GUI never waits on the card, and hands the identity to the GUI thread by a queued signal.
  ``--virtual-card PERSONA`` (training) replaces the reader with a "tap" button for the in-process
  virtual card.
- A :class:`sync.service.SyncService` delivers the sealed check-ins in the background whenever
  the server can be reached (its own outbox connections). The staff strip shows what waits.

Exit codes are ``madoguchi kiosk``'s: 0 closed, 2 configuration, 10 not enrolled / outbox.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QVBoxLayout, QWidget

from kiosk.settings import KioskSettings
from kiosk.shelter import CardIdentity
from ui.widgets import button, set_button_text

if TYPE_CHECKING:
    from sync.service import SyncService

logger = logging.getLogger(__name__)


class _Bridge(QObject):
    """Carries a tap from the watcher thread to the GUI thread (queued connection)."""

    tapped = Signal(object)
    failed = Signal(str)


def _identity(read: Any) -> CardIdentity:
    return CardIdentity(read.certificate.der, read.issuer_der, read.serial, read.chain.value)


def run_shelter_kiosk(
    settings: KioskSettings, *, fullscreen: bool = False, persona: str | None = None
) -> int:
    """Run the shelter kiosk until the window closes; return the exit code."""
    from card.errors import CardError, TrustConfigError
    from card.pinless import read_auth_certificate_pinless
    from kiosk import composition
    from kiosk.errors import ConfigError
    from kiosk.rules.shelter_config import load_shelter_settings
    from kiosk.sequence import RecordSequence
    from kiosk.shelter import ShelterDesk
    from kiosk.shelter_state import ShelterState, ShelterStateError
    from sync.errors import SyncError
    from ui.pages.shelter import ShelterScreen, text
    from ui.theme import apply_theme

    try:
        shelter = load_shelter_settings(settings.path)
        trust = composition.load_trust(settings.path)
    except (ConfigError, TrustConfigError) as exc:
        sys.stderr.write(f"error (config): {exc}\n")
        return 2
    try:
        outbox = composition.open_sealing_outbox(settings, recover=True)
        state = ShelterState(settings.data_dir)
    except (SyncError, ShelterStateError) as exc:
        sys.stderr.write(f"error ({type(exc).__name__}): {exc}\n")
        return 10
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    apply_theme(app)
    desk = ShelterDesk(
        shelter=shelter.shelter,
        shelters=shelter.shelters,
        kiosk_id=settings.kiosk_id,
        queue=outbox,
        sequence=RecordSequence(settings.data_dir),
        state=state,
    )
    screen = ShelterScreen(desk, language=settings.language, queued=lambda: outbox.status().depth)
    window = QMainWindow()
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.addWidget(screen)
    window.setCentralWidget(central)
    window.setWindowTitle(f"{text('title', settings.language)} — {shelter.shelter.name(settings.language)}")
    bridge = _Bridge()
    bridge.tapped.connect(screen.card_tapped)
    bridge.failed.connect(lambda reason: screen.show_outcome(_refused(reason)))
    if persona is not None:
        cards = composition.CardStack.training(trust, persona)
        reader = cards.training_reader
        assert reader is not None

        def virtual_tap() -> None:
            reader.place()  # a tap: on the training reader for one PIN-less read, then off
            try:
                connection = cards.open_connection()
                try:
                    bridge.tapped.emit(_identity(read_auth_certificate_pinless(connection, trust)))
                finally:
                    connection.close()
            finally:
                reader.take()

        tap = button(virtual_tap)
        set_button_text(tap, f"仮想カードをタップ / Tap the virtual card ({persona})")
        layout.addWidget(tap)
    else:
        from card.watcher import WatcherCallbacks

        cards = composition.CardStack.on_pcsc(trust)

        def on_card(reader: str, _atr: bytes) -> None:
            try:
                connection = cards.open_connection(reader)
                try:
                    bridge.tapped.emit(_identity(read_auth_certificate_pinless(connection, trust)))
                finally:
                    connection.close()
            except CardError as exc:
                logger.info("tap failed: %s", type(exc).__name__)  # never the card's data
                bridge.failed.emit("card_untrusted")

        cards.watch_with(WatcherCallbacks(card_present=on_card))
    service = _start_sync(settings)
    refresh = QTimer()
    refresh.timeout.connect(screen.refresh_headcount)  # "waiting to be sent" falls as sync delivers
    refresh.start(5000)
    window.showFullScreen() if fullscreen else window.show()
    try:
        return int(app.exec())
    finally:
        refresh.stop()
        cards.close()
        if service is not None:
            service.stop()
        state.close()
        outbox.close()


def _refused(reason: str) -> Any:
    from kiosk.shelter import Refused

    return Refused(reason)


def _start_sync(settings: KioskSettings) -> SyncService | None:
    """The background delivery, as ``madoguchi sync`` runs it; None when the kiosk is not enrolled."""
    from kiosk import composition
    from sync.errors import SyncError

    try:
        service = composition.sync_service(settings, on_report=None)
    except SyncError:
        return None
    service.start()
    return service
