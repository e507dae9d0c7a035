"""The kiosk application's composition root: settings → programmes, trust, device sealer → flow →
window + controller (worker thread) → card source (pcscd + reader watcher, or the training reader).

Construction order matters for threads: everything owned by the card worker (the outbox's SQLite
connection, the runner, card sessions) is built by the factory *on the worker thread*; only the
window and the timers live on the GUI thread. Configuration problems surface here, before any
window is shown, as the lower layers' typed errors (``ConfigError``, ``TrustConfigError``,
``PersonaError``, ``NotEnrolledError``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from card.session import MyNumberCardSession
from card.trust import load_trust_store
from kiosk.flow import CardInserted, CardRemoved, Flow, FlowSettings
from kiosk.local_index import RegisteredHereIndex
from kiosk.programs import load_programs
from kiosk.sequence import RecordSequence
from kiosk.settings import KioskSettings
from kiosk.watch import watcher_callbacks
from sync.device import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from ui.controller import KioskController
from ui.stepping import SteppingRunner
from ui.virtual_reader import VirtualReader
from ui.window import KioskWindow

if TYPE_CHECKING:
    from card.pcsc import PcscContext
    from card.watcher import ReaderWatcher

Clock = Callable[[], dt.datetime]


def local_now() -> dt.datetime:
    """The kiosk's wall clock with its UTC offset (records carry RFC 3339 with offset)."""
    return dt.datetime.now().astimezone()


class KioskApp:
    """Window, controller and card source for one kiosk profile.

    :param persona: a virtual-card persona: training mode (in-process card, place/take buttons).
    :param clock: the flow's clock (tests put it inside a programme's period).
    :param ms_per_second: length of a flow timer second (tests shorten it).
    """

    def __init__(
        self,
        settings: KioskSettings,
        *,
        persona: str | None = None,
        clock: Clock = local_now,
        ms_per_second: int = 1000,
    ) -> None:
        programs = load_programs(settings.programs_dir)
        trust = load_trust_store(settings.path)
        sealer = DeviceStore(settings.data_dir).sealer(settings.kiosk_id)  # NotEnrolledError first
        flow = Flow(
            FlowSettings(settings.mode, settings.language, settings.program, settings.timeouts),
            programs,
            clock=clock,
        )
        self.settings = settings
        self.reader: VirtualReader | None = None
        self._pcsc: PcscContext | None = None
        self._watcher: ReaderWatcher | None = None
        if persona is not None:
            from card.virtual.card import VirtualMyNumberCard
            from card.virtual.persona import load_persona

            reader = VirtualReader(VirtualMyNumberCard(load_persona(persona)))
            self.reader = reader

            def open_session() -> MyNumberCardSession:
                return MyNumberCardSession(reader.connect(), trust)
        else:
            from card.pcsc import PcscContext

            pcsc = PcscContext()  # thread-safe: shared by the watcher and the card worker
            self._pcsc = pcsc

            def open_session() -> MyNumberCardSession:
                return MyNumberCardSession(pcsc.open_card(None), trust)

        outboxes: list[Outbox] = []

        def make_runner() -> SteppingRunner:  # runs on the card worker thread
            outbox = Outbox.open(settings.data_dir / OUTBOX_FILE, sealer=sealer, recover=False)
            outboxes.append(outbox)
            return SteppingRunner(
                flow,
                kiosk_id=settings.kiosk_id,
                open_session=open_session,
                queue=outbox,
                sequence=RecordSequence(settings.data_dir),
                index=RegisteredHereIndex(settings.data_dir),
            )

        def close() -> None:  # on the card worker thread too
            while outboxes:
                outboxes.pop().close()

        self.window = KioskWindow(programs, training=persona is not None)
        self.controller = KioskController(
            self.window, make_runner, on_close=close, ms_per_second=ms_per_second
        )
        self.window.training_card.connect(self.training_card)
        if self._pcsc is not None:
            from card.watcher import ReaderWatcher

            self._watcher = ReaderWatcher(self._pcsc, watcher_callbacks(self.controller.post))

    def training_card(self, place: bool) -> None:
        """Training mode: place or take the virtual card (what the watcher reports on a kiosk)."""
        if self.reader is None:
            return
        if place and self.reader.place():
            self.controller.post(CardInserted())
        elif not place and self.reader.take():
            self.controller.post(CardRemoved())

    def start(self) -> None:
        """Start the card worker (and the reader watcher)."""
        self.controller.start()
        if self._watcher is not None:
            self._watcher.start()

    def stop(self) -> None:
        """Stop the watcher, close the runner and outbox on their thread, release PC/SC."""
        if self._watcher is not None:
            self._watcher.stop()
        self.controller.stop()
        if self._pcsc is not None:
            self._pcsc.close()
