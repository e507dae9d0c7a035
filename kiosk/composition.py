"""The composition root: the one module that builds the card stack, the outbox and the sync service.

Every front end — the Qt kiosk (``ui/app.py``), ``madoguchi register``, ``checkin``, ``self-test``,
``enroll`` / ``queue`` / ``sync`` (``sync/cli.py``) and the demo's reader checks — gets these parts
here, built one way: the trust store from the profile, PC/SC (or training mode's virtual reader)
behind one session factory, the reader watcher, the outbox sealing with the device key pinned at
enrollment, and the sync service with its client and heartbeat plan. A front end says *when* it
needs a part and what to do with a refusal; it never constructs one (``tests/test_import_rules.py``
holds it to that). Before this module six front ends built them each their own way, and drifted
(``docs/development.md``, "Layers").

Why the front ends call in rather than this module calling them: the parts are wanted at different
moments — the Qt kiosk builds its card side on the card worker thread, after the idle screen is up
(start-up time, ``docs/ui.md``); ``register`` checks the programme before it opens the outbox and
reads the PINs before it opens PC/SC. So this sits between the layers it assembles (card, the kiosk
application, sync) and the front ends; it imports no front end and no Qt. Heavy imports stay inside
the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from card.connection import CardConnection
    from card.pcsc import PcscContext
    from card.session import MyNumberCardSession
    from card.trust import TrustStore
    from card.virtual.reader import VirtualReader
    from card.watcher import ReaderWatcher, WatcherCallbacks
    from kiosk.flow.events import Event
    from kiosk.flow.machine import Flow
    from kiosk.ports import RegistrationQueue
    from kiosk.runner import Runner
    from kiosk.settings import KioskSettings
    from sync.client import SyncClient
    from sync.device_keys import DeviceStore
    from sync.outbox import EnqueueReceipt, Outbox, QueueStatus
    from sync.service import SyncService
    from sync.uploader import SyncReport

__all__: Final = [
    "CardStack",
    "KioskCardSide",
    "WakeAfterEnqueue",
    "build_kiosk_card_side",
    "build_runner",
    "device_store",
    "load_trust",
    "open_outbox",
    "open_sealing_outbox",
    "outbox_path",
    "outbox_status",
    "pcsc_context",
    "sync_client",
    "sync_service",
    "upload_once",
]

logger = logging.getLogger(__name__)

# -- the card stack ----------------------------------------------------------------------------------


def load_trust(profile: Path) -> TrustStore:
    """The profile's trust anchors (``TrustConfigError`` when they are missing or bad)."""
    from card.trust import load_trust_store

    return load_trust_store(profile)


def pcsc_context() -> PcscContext:
    """A PC/SC context (thread-safe: the watcher and the card worker may share one)."""
    from card.pcsc import PcscContext

    return PcscContext()


@dataclass
class CardStack:
    """Card sessions for one front end: over PC/SC (:meth:`pcsc`) or training mode's in-process
    virtual card (:meth:`training`), with the profile's trust store; :meth:`watch` starts the reader
    watcher on PC/SC. :meth:`close` releases PC/SC (after :meth:`stop_watching`)."""

    trust: TrustStore
    #: the PC/SC reader to use (None: the first with a card)
    reader_name: str | None = None
    pcsc: PcscContext | None = None
    #: training mode's reader (place / take); None on PC/SC
    training_reader: VirtualReader | None = None
    _watcher: ReaderWatcher | None = field(default=None, repr=False)

    @classmethod
    def on_pcsc(cls, trust: TrustStore, reader_name: str | None = None) -> CardStack:
        """Sessions on the PC/SC reader ``reader_name``."""
        return cls(trust, reader_name, pcsc=pcsc_context())

    @classmethod
    def training(cls, trust: TrustStore, persona: str) -> CardStack:
        """Sessions on the virtual card of ``persona`` (``PersonaError`` when it does not load)."""
        from card.virtual.card import VirtualMyNumberCard
        from card.virtual.persona import load_persona
        from card.virtual.reader import VirtualReader

        return cls(trust, training_reader=VirtualReader(VirtualMyNumberCard(load_persona(persona))))

    def open_connection(self, reader_name: str | None = None) -> CardConnection:
        """A connection to the card on the reader (``reader_name``: the one the watcher saw it on;
        default the stack's); in training mode, to the virtual card while it is placed."""
        if self.training_reader is not None:
            return self.training_reader.connect()
        assert self.pcsc is not None, "the stack was closed"
        return self.pcsc.open_card(reader_name or self.reader_name)

    def open_session(self) -> MyNumberCardSession:
        """A card session on the card that is on the reader now (the runner's session factory)."""
        from card.session import MyNumberCardSession

        return MyNumberCardSession(self.open_connection(), self.trust)

    def watch(self, post: Callable[[Event], None]) -> None:
        """Start the reader watcher, feeding ``post`` the flow's card events (PC/SC only: in training
        mode the front end's place / take buttons say what the watcher would)."""
        from kiosk.card_events import watcher_callbacks

        self.watch_with(watcher_callbacks(post))

    def watch_with(self, callbacks: WatcherCallbacks) -> None:
        """Start the reader watcher with the front end's own callbacks (PC/SC only)."""
        from card.watcher import ReaderWatcher

        if self.pcsc is None:
            return
        self._watcher = ReaderWatcher(self.pcsc, callbacks)
        self._watcher.start()

    def stop_watching(self) -> None:
        """Stop the watcher (if it runs)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def close(self) -> None:
        """Stop the watcher and release PC/SC."""
        self.stop_watching()
        context, self.pcsc = self.pcsc, None
        if context is not None:
            context.close()


# -- the outbox --------------------------------------------------------------------------------------


def outbox_path(settings: KioskSettings) -> Path:
    """The outbox file in the kiosk's data directory."""
    from sync.outbox import OUTBOX_FILE

    return settings.data_dir / OUTBOX_FILE


def open_sealing_outbox(settings: KioskSettings, *, recover: bool = False) -> Outbox:
    """The kiosk's writing outbox: it seals to the server key pinned at enrollment and signs with the
    device key (``NotEnrolledError`` before ``madoguchi enroll``; ``OutboxError`` for the file). By
    default it does not recover rows left ``SENDING``: that belongs to the uploader's own connection
    (the shelter kiosk, which has always recovered at start, passes ``recover=True``)."""
    from sync.outbox import Outbox

    sealer = device_store(settings).sealer(settings.kiosk_id)
    return Outbox.open(outbox_path(settings), sealer=sealer, recover=recover)


def open_outbox(settings: KioskSettings, *, recover: bool) -> Outbox:
    """The outbox without a sealer: ``recover=False`` to look (``queue status``, the staff view; it
    never writes), ``recover=True`` for the one process that uploads."""
    from sync.outbox import Outbox

    return Outbox.open(outbox_path(settings), recover=recover)


def outbox_status(settings: KioskSettings) -> QueueStatus | None:
    """The outbox's counts, read-only (nothing is decrypted); None before the first record."""
    if not outbox_path(settings).exists():
        return None
    with open_outbox(settings, recover=False) as outbox:
        return outbox.status()


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


# -- sync ----------------------------------------------------------------------------------------------


def device_store(settings: KioskSettings) -> DeviceStore:
    """The kiosk's device key and pinned server, in its data directory."""
    from sync.device_keys import DeviceStore

    return DeviceStore(settings.data_dir)


def sync_client(settings: KioskSettings, url: str | None = None) -> SyncClient:
    """An HTTP client to ``url``, by default the server pinned at enrollment (records go there, not
    to whatever ``[server] url`` says later: the pinned key and the URL belong together)."""
    from sync.client import SyncClient

    target = url if url is not None else device_store(settings).load_server().url
    return SyncClient(target, kiosk_id=settings.kiosk_id, tls_context=settings.server.tls)


def sync_service(
    settings: KioskSettings,
    *,
    on_report: Callable[[SyncReport], None] | None,
    interval_s: float = 30.0,
    reader_state: Callable[[], str] | None = None,
) -> SyncService:
    """The background uploader (not started). Its threads open their own outbox connection (which
    puts rows an interrupted upload left ``SENDING`` back to ``PENDING``) and their own client to
    the pinned server. With ``reader_state`` its leader also sends the signed heartbeat (counts and
    states, never personal data). ``NotEnrolledError`` before enrollment."""
    from sync.heartbeat import software_version
    from sync.service import HeartbeatPlan, SyncService

    store = device_store(settings)
    pinned = store.load_server()
    heartbeat = (
        HeartbeatPlan(store.load_device_key(), software_version(), reader_state)
        if reader_state is not None
        else None
    )
    return SyncService(
        open_outbox=lambda: open_outbox(settings, recover=True),
        make_client=lambda: sync_client(settings, pinned.url),
        on_report=on_report,
        parallel=settings.server.parallel_uploads,
        heartbeat=heartbeat,
        interval_s=interval_s,
    )


def upload_once(settings: KioskSettings) -> SyncReport:
    """One pass over every queued record, now (``madoguchi sync --once``)."""
    from sync.uploader import Uploader

    with open_outbox(settings, recover=True) as outbox, sync_client(settings) as client:
        return Uploader(outbox, client).run_once(ignore_schedule=True)


# -- the runner ------------------------------------------------------------------------------------


def build_runner(settings: KioskSettings, flow: Flow, cards: CardStack, queue: RegistrationQueue) -> Runner:
    """The flow's driver over ``cards`` and ``queue``, with the kiosk's record sequence and its
    "registered here" index (both in the data directory)."""
    from kiosk.local_index import RegisteredHereIndex
    from kiosk.runner import Runner
    from kiosk.sequence import RecordSequence

    return Runner(
        flow,
        kiosk_id=settings.kiosk_id,
        open_session=cards.open_session,
        queue=queue,
        sequence=RecordSequence(settings.data_dir),
        index=RegisteredHereIndex(settings.data_dir),
    )


# -- the Qt kiosk's card side ----------------------------------------------------------------------


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


@dataclass
class KioskCardSide:
    """What the Qt kiosk's card worker runs on: the runner over the card stack and the outbox, and
    the background sync service. Built on the worker thread (the outbox's SQLite connection
    belongs to it); :meth:`close` there, :meth:`release` on the GUI thread after the worker stopped."""

    runner: Runner
    cards: CardStack
    outbox: Outbox
    sync: SyncService | None

    def close(self) -> None:
        """On the card worker: stop the uploader (10 s at most), close the outbox."""
        if self.sync is not None:
            if not self.sync.stop(timeout=10.0):
                logger.warning("the sync service did not stop within 10 s")
            self.sync = None
        self.outbox.close()

    def release(self) -> None:
        """Stop the watcher and release PC/SC."""
        self.cards.close()


def build_kiosk_card_side(
    settings: KioskSettings,
    flow: Flow,
    *,
    persona: str | None,
    background_sync: bool,
    reader_state: Callable[[], str],
) -> KioskCardSide:
    """The Qt kiosk's card side: trust store, device sealer, outbox, card stack (``persona``: the
    training reader), the runner, and (``background_sync``) the started sync service with its
    heartbeat. Raises the start-up failures as they are (``TrustConfigError``, ``PersonaError``,
    ``NotEnrolledError``, ``OutboxError``…); nothing is left open when it raises."""

    trust = load_trust(settings.path)
    outbox = open_sealing_outbox(settings)  # NotEnrolledError before any reader is opened
    service: SyncService | None = None
    queue: RegistrationQueue = outbox
    try:
        cards = CardStack.training(trust, persona) if persona is not None else CardStack.on_pcsc(trust)
    except BaseException:
        outbox.close()
        raise
    try:
        if background_sync:
            service = sync_service(settings, on_report=_log_sync, reader_state=reader_state)
            service.start()
            queue = WakeAfterEnqueue(outbox, service.wake)
    except BaseException:
        outbox.close()
        cards.close()
        raise
    return KioskCardSide(build_runner(settings, flow, cards, queue), cards, outbox, service)
