"""The kiosk application's composition root: settings → programmes → flow → window + controller;
the card side (trust store, device sealer, outbox, runner, card source) is built by the card
worker thread.

Why the split: the idle screen needs only the flow and the programmes, so it is shown before the
card and sync stacks are even imported (they are most of the start-up time, docs/ui.md). The
worker then imports them, loads the trust store and the device sealer, opens the outbox (its
SQLite connection belongs to that thread) and starts the reader watcher; a resident's first touch
is queued until then. A configuration problem found there (``TrustConfigError``, ``PersonaError``,
``NotEnrolledError``…) reaches the GUI thread as the exception object
(:attr:`KioskController.startup_failed`).
"""

from __future__ import annotations

import datetime as dt
import logging
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
    from card.pcsc import PcscContext
    from card.watcher import ReaderWatcher
    from kiosk.runner import Runner
    from sync.device import DeviceStore
    from sync.outbox import EnqueueReceipt, Outbox
    from sync.service import SyncService
    from sync.uploader import SyncReport
    from ui.staff import StaffView
    from ui.virtual_reader import VirtualReader

Clock = Callable[[], dt.datetime]
logger = logging.getLogger(__name__)


def local_now() -> dt.datetime:
    """The kiosk's wall clock with its UTC offset (records carry RFC 3339 with offset)."""
    return dt.datetime.now().astimezone()


class WakeAfterEnqueue:
    """The runner's queue: the outbox, plus a nudge to the sync service once a record is durable.

    Errors of the outbox pass through unchanged (they are the queue port's typed refusals), and the
    service is woken only after a successful commit, so a wake-up never races a record that is not
    yet on disk.
    """

    def __init__(self, outbox: Outbox, wake: Callable[[], None]) -> None:
        self._outbox = outbox
        self._wake = wake

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> EnqueueReceipt:
        """Seal and commit (see :meth:`sync.outbox.Outbox.enqueue`), then wake the uploader."""
        receipt = self._outbox.enqueue(plaintext, record_id=record_id, program_id=program_id)
        self._wake()
        return receipt


def _log_sync(report: SyncReport) -> None:
    """Sync passes go to the log as counts and an error class name (never record contents)."""
    logger.info(
        "sync: %d batch(es), accepted %d, duplicate %d, rejected %d, left %d%s",
        report.batches,
        report.accepted,
        report.duplicate,
        report.rejected,
        report.remaining,
        f", error {report.error}" if report.error else "",
    )


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
        self._pcsc: PcscContext | None = None
        self._watcher: ReaderWatcher | None = None
        self._outbox: Outbox | None = None
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
        from card.session import MyNumberCardSession
        from card.trust import load_trust_store
        from kiosk.local_index import RegisteredHereIndex
        from kiosk.runner import Runner
        from kiosk.sequence import RecordSequence
        from sync.device import DeviceStore
        from sync.outbox import OUTBOX_FILE, Outbox

        settings = self.settings
        trust = load_trust_store(settings.path)
        store = DeviceStore(settings.data_dir)
        sealer = store.sealer(settings.kiosk_id)  # NotEnrolledError
        open_session: Callable[[], MyNumberCardSession]
        if self.persona is not None:
            from card.virtual.card import VirtualMyNumberCard
            from card.virtual.persona import load_persona
            from ui.virtual_reader import VirtualReader

            reader = VirtualReader(VirtualMyNumberCard(load_persona(self.persona)))

            def open_session() -> MyNumberCardSession:
                return MyNumberCardSession(reader.connect(), trust)
        else:
            from card.pcsc import PcscContext

            pcsc = PcscContext()  # thread-safe: shared by the watcher and the card worker
            self._pcsc = pcsc

            def open_session() -> MyNumberCardSession:
                return MyNumberCardSession(pcsc.open_card(None), trust)

        self._outbox = Outbox.open(settings.data_dir / OUTBOX_FILE, sealer=sealer, recover=False)
        queue: Outbox | WakeAfterEnqueue = self._outbox
        if self._background_sync:
            self.sync = self._start_sync(store)
            queue = WakeAfterEnqueue(self._outbox, self.sync.wake)
        runner = Runner(
            self.flow,
            kiosk_id=settings.kiosk_id,
            open_session=open_session,
            queue=queue,
            sequence=RecordSequence(settings.data_dir),
            index=RegisteredHereIndex(settings.data_dir),
        )
        if self.persona is not None:
            self.reader = reader
        else:
            self._start_watcher()
        return runner

    def _start_sync(self, store: DeviceStore) -> SyncService:
        """The uploader threads: they open their own outbox connection (which puts rows an
        interrupted upload left SENDING back to PENDING) and their own HTTP client, to the server
        pinned at enrollment."""
        from sync.client import SyncClient
        from sync.heartbeat import software_version
        from sync.outbox import OUTBOX_FILE, Outbox
        from sync.service import HeartbeatPlan, SyncService

        settings = self.settings
        pinned = store.load_server()  # NotEnrolledError: a start-up failure
        path = settings.data_dir / OUTBOX_FILE
        # the booth's health for the server's device list: counts and states, never personal data
        heartbeat = HeartbeatPlan(store.load_device_key(), software_version(), self._reader_state)
        service = SyncService(
            open_outbox=lambda: Outbox.open(path),
            make_client=lambda: SyncClient(
                pinned.url, kiosk_id=settings.kiosk_id, tls_context=settings.server.tls
            ),
            on_report=_log_sync,
            parallel=settings.server.parallel_uploads,
            heartbeat=heartbeat,
        )
        service.start()
        return service

    def _reader_state(self) -> str:
        """The reader's state for the heartbeat, from the last flow state shown (read on the sync
        thread: one attribute read, no widget touched)."""
        state = self.controller.state
        if state is None:
            return "unknown"
        if not state.reader_available:
            return "no_reader"
        return "card_present" if state.card_present else "ready"

    def _start_watcher(self) -> None:
        from card.watcher import ReaderWatcher
        from kiosk.watch import watcher_callbacks

        assert self._pcsc is not None
        self._watcher = ReaderWatcher(self._pcsc, watcher_callbacks(self.controller.post))
        self._watcher.start()

    def _close(self) -> None:
        if self.sync is not None:
            if not self.sync.stop(timeout=10.0):
                logger.warning("the sync service did not stop within 10 s")
            self.sync = None
        if self._outbox is not None:
            self._outbox.close()
            self._outbox = None

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

        view = StaffView(PasscodeGate(passcode_hash), self._queue_status)
        view.setWindowTitle("Madoguchi — staff")
        view.start_visit.connect(lambda: self.window.intent.emit(Start()))
        view.cancel_visit.connect(lambda: self.window.intent.emit(Cancel()))
        view.training.connect(self._training_requested)
        self.assist.observers.append(view.observe)
        screens = QGuiApplication.screens()
        if len(screens) > 1:  # a second screen faces the staff
            view.setScreen(screens[1])
            view.move(screens[1].geometry().topLeft())
        return view

    def _queue_status(self) -> str:
        """The outbox's counts for the staff view (a read-only look on the GUI thread: the worker
        owns the writing connection; nothing is decrypted)."""
        from sync.outbox import OUTBOX_FILE, Outbox

        path = self.settings.data_dir / OUTBOX_FILE
        if not path.exists():
            return "no records yet"
        try:
            with Outbox.open(path, recover=False) as outbox:
                status = outbox.status()
        except Exception as exc:  # the staff view shows the failure, the kiosk goes on
            return f"unavailable ({type(exc).__name__})"
        counts = " · ".join(f"{name.upper()} {n}" for name, n in sorted(status.counts.items()))
        sync = "sync running" if self.sync is not None else "sync off"
        return f"{counts} · oldest waiting {int(status.oldest_age_s or 0)} s · {sync}"

    def _training_requested(self, on: bool) -> None:
        """Training mode swaps the card source for the virtual cards; that happens at start-up
        (``madoguchi kiosk --virtual-card PERSONA``), so the view says how."""
        if self.staff_view is None:
            return
        now = "on" if self.persona is not None else "off"
        self.staff_view.message.setText(
            f"Training mode is {now}. To switch, restart the kiosk "
            + ("without --virtual-card." if self.persona is not None else "with --virtual-card PERSONA.")
        )

    def stop(self) -> None:
        """Stop the watcher, close the runner and outbox on their thread, release PC/SC."""
        if self._watcher is not None:
            self._watcher.stop()
        self.controller.stop()
        if self._pcsc is not None:
            self._pcsc.close()
