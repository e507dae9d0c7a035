"""The Qt kiosk: settings → programmes → flow → window + controller; the card side (trust store,
device sealer, outbox, runner, card source, sync service) comes from the composition root
(:func:`kiosk.composition.build_kiosk_card_side`), called on the card worker thread.

Why the split: the idle screen needs only the flow and the programmes, so it is shown before the
card and sync stacks are even imported (they are most of the start-up time, docs/ui.md). The
worker then has the root build them (the outbox's SQLite connection belongs to that thread) and
starts the reader watcher; a resident's first touch is queued until then. A configuration
problem found there (``TrustConfigError``, ``PersonaError``, ``NotEnrolledError``…) reaches the GUI
thread as the exception object (:attr:`KioskController.startup_failed`).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.flow.events import CardInserted, CardRemoved
from kiosk.flow.machine import Flow, FlowSettings
from kiosk.rules.programs import load_programs
from kiosk.settings import KioskMode, KioskSettings, offered_subset
from kiosk.station import load_station
from ui.assist import attach
from ui.controller import KioskController
from ui.pages.choice import ProgramPage
from ui.window import KioskWindow

if TYPE_CHECKING:
    from card.virtual.reader import VirtualReader
    from kiosk.composition import KioskCardSide
    from kiosk.runner import Runner
    from sync.service import SyncService
    from ui.staff import QueueInfo, StaffView

# httpx imports its command-line client (click, rich, pygments) whenever those happen to be
# installed (the test tools bring them): +5.8 MB and ~35 ms on the card worker, for a CLI the kiosk
# never runs. A None entry makes that one optional import fail, as httpx expects without them.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

Clock = Callable[[], dt.datetime]
logger = logging.getLogger(__name__)


def local_now() -> dt.datetime:
    """The kiosk's wall clock with its UTC offset (records carry RFC 3339 with offset)."""
    return dt.datetime.now().astimezone()


class KioskApp:
    """Window, controller and card source for one kiosk profile.

    :param persona: a virtual-card persona: training mode (in-process card, place/take buttons).
    :param clock: the flow's clock (tests put it inside a programme's period).
    :param ms_per_second: length of a flow timer second (tests shorten it).
    :param background_sync: run the sync service (uploads while the kiosk is in use); tests that
        inspect the queued envelopes turn it off so no upload attempt races their reads.
    """

    def __init__(
        self,
        settings: KioskSettings,
        *,
        persona: str | None = None,
        clock: Clock = local_now,
        ms_per_second: int = 1000,
        background_sync: bool = True,
    ) -> None:
        # Only the offered programmes reach the flow and the window: the flow ignores a
        # ProgramChosen for any other id, so the profile's list is the whole choice.
        programs = offered_subset(settings, load_programs(settings.programs_dir))
        self.flow = Flow(
            FlowSettings(
                settings.mode, settings.language, settings.program, settings.timeouts, short_path=True
            ),
            programs,
            clock=clock,
        )
        self.settings = settings
        self.persona = persona
        #: Training mode's reader (set by the card worker once the card stack is loaded).
        self.reader: VirtualReader | None = None
        #: The card side the composition root built (on the card worker thread).
        self._side: KioskCardSide | None = None
        self._background_sync = background_sync
        #: The background uploader (started by the card worker once the outbox is open).
        self.sync: SyncService | None = None
        self.window = KioskWindow(programs, training=persona is not None)
        program_page = self.window.pages["program"]
        assert isinstance(program_page, ProgramPage)
        program_page.offer(tuple(programs.values()))
        # issue 13: voice, keypad, text size / contrast, pictures, printer ([reader] [voice] [printer])
        self.station = load_station(settings.path)
        self.assist = attach(self.window, mode=settings.mode, station=self.station)
        #: The staff view (staff booths with [staff] passcode_hash): its own window, on the second
        #: screen when there is one (ui/staff.py).
        self.staff_view: StaffView | None = None
        if settings.mode is KioskMode.STAFF and self.station.staff_passcode_hash:
            self.staff_view = self._make_staff_view(self.station.staff_passcode_hash)
        self.window.show_state(self.flow.initial())
        self.controller = KioskController(
            self.window, self._make_runner, on_close=self._close, ms_per_second=ms_per_second
        )
        self.window.training_card.connect(self.training_card)

    # -- on the card worker thread ------------------------------------------------------------------

    def _make_runner(self) -> Runner:
        from kiosk.composition import build_kiosk_card_side

        side = build_kiosk_card_side(
            self.settings,
            self.flow,
            persona=self.persona,
            background_sync=self._background_sync,
            reader_state=self._reader_state,
        )
        self._side = side
        self.sync = side.sync
        self.reader = side.cards.training_reader
        side.cards.watch(self.controller.post)
        return side.runner

    def _reader_state(self) -> str:
        """The reader's state for the heartbeat, from the last flow state shown (read on the sync
        thread: one attribute read, no widget touched)."""
        state = self.controller.state
        if state is None:
            return "unknown"
        if not state.reader_available:
            return "no_reader"
        return "card_present" if state.card_present else "ready"

    def _close(self) -> None:
        side = self._side
        if side is not None:
            side.close()
            self.sync = None

    # -- on the GUI thread ----------------------------------------------------------------------------

    def training_card(self, place: bool) -> None:
        """Training mode: place or take the virtual card (what the watcher reports on a kiosk)."""
        reader = self.reader
        if reader is None:
            return  # still loading, or not training
        if place and reader.place():
            self.controller.post(CardInserted())
        elif not place and reader.take():
            self.controller.post(CardRemoved())

    def start(self) -> None:
        """Start the card worker (it loads the card stack and the watcher)."""
        self.controller.start()
        if self.staff_view is not None:
            self.staff_view.show()

    def _make_staff_view(self, passcode_hash: str) -> StaffView:
        from PySide6.QtGui import QGuiApplication

        from kiosk.flow.events import Cancel, Start
        from kiosk.staff_auth import PasscodeGate
        from ui.staff import StaffView

        view = StaffView(
            PasscodeGate(passcode_hash),
            self._queue_status,
            language=self.settings.language,  # the staff's language, not the resident's
            training=self.persona is not None,  # chosen at start-up: the view says how to switch
        )
        view.start_visit.connect(lambda: self.window.intent.emit(Start()))
        view.cancel_visit.connect(lambda: self.window.intent.emit(Cancel()))
        self.assist.observers.append(view.observe)
        screens = QGuiApplication.screens()
        if len(screens) > 1:  # a second screen faces the staff
            view.setScreen(screens[1])
            view.move(screens[1].geometry().topLeft())
        return view

    def _queue_status(self) -> QueueInfo:
        """The outbox's counts for the staff view (a read-only look on the GUI thread: the worker
        owns the writing connection; nothing is decrypted). The view words them."""
        from kiosk.composition import outbox_status
        from ui.staff import QueueInfo

        try:
            status = outbox_status(self.settings)
        except Exception as exc:  # the staff view shows the failure, the kiosk goes on
            return QueueInfo(error=type(exc).__name__)
        return QueueInfo.of(status, sync_running=self.sync is not None)

    def stop(self) -> None:
        """Stop the watcher, close the runner and outbox on their thread, release PC/SC."""
        side = self._side
        if side is not None:
            side.cards.stop_watching()
        self.controller.stop()
        if side is not None:
            side.release()
