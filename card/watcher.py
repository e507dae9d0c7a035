"""Reader watcher: which readers exist, which hold a card, and whether PC/SC is up at all.

It polls (PC/SC has no reader-plugged event that works everywhere; pyscard's own ReaderMonitor polls
too) and turns state *changes* into plain callbacks, called on the watcher's thread. Qt adapts
them with a signal later (code-style anchors §9.3 rule 14). It survives readers being plugged and
unplugged and pcscd being stopped and restarted: while PC/SC is down it reports one typed
:class:`card.errors.PcscUnavailableError`, keeps retrying, and reports recovery.

The PC/SC access is injected (:class:`ReaderBackend`), so the logic is tested without pcscd and the
real :class:`card.pcsc.PcscContext` is used in production and e2e tests.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from card.errors import CardError, PcscUnavailableError, ReaderError
from card.readers import preferred_reader

logger = logging.getLogger(__name__)


class ReaderBackend(Protocol):
    """What the watcher needs from PC/SC (implemented by :class:`card.pcsc.PcscContext`)."""

    def list_readers(self) -> list[str]: ...

    def reader_states(self, readers: Sequence[str]) -> Sequence[_State]: ...

    def reset(self) -> None: ...


class _State(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def present(self) -> bool: ...

    @property
    def atr(self) -> bytes: ...


def _noop(*_args: object) -> None:
    return None


@dataclass
class WatcherCallbacks:
    """Plain callbacks; each runs on the watcher thread and must return quickly."""

    card_present: Callable[[str, bytes], None] = _noop
    card_removed: Callable[[str], None] = _noop
    readers_changed: Callable[[list[str]], None] = _noop
    pcsc_unavailable: Callable[[PcscUnavailableError], None] = _noop
    pcsc_restored: Callable[[], None] = _noop


@dataclass(frozen=True, slots=True)
class WatcherSnapshot:
    """What the watcher believes now."""

    available: bool
    readers: tuple[str, ...]
    cards: frozenset[str] = field(default_factory=frozenset)


class ReaderWatcher:
    """Poll readers and card presence; deliver changes as callbacks.

    :param backend: PC/SC access (a :class:`card.pcsc.PcscContext` in production).
    :param callbacks: what to call on changes.
    :param interval: seconds between polls (pcscd itself polls readers about every 0.4 s).
    """

    def __init__(self, backend: ReaderBackend, callbacks: WatcherCallbacks, *, interval: float = 0.2) -> None:
        self._backend = backend
        self._callbacks = callbacks
        self._interval = interval
        self._available: bool | None = None
        self._readers: tuple[str, ...] = ()
        self._cards: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def preferred_card_reader(self) -> str | None:
        """The reader to use now: the first contactless reader holding a card, else any with a card."""
        with self._lock:
            readers = [r for r in self._readers if r in self._cards]
        return preferred_reader(readers)

    @property
    def snapshot(self) -> WatcherSnapshot:
        """The current belief (thread-safe copy)."""
        with self._lock:
            return WatcherSnapshot(bool(self._available), self._readers, frozenset(self._cards))

    def poll_once(self) -> None:
        """One poll: query PC/SC and fire callbacks for every change since the last poll."""
        try:
            readers = tuple(self._backend.list_readers())
            states = self._backend.reader_states(readers) if readers else []
        except PcscUnavailableError as exc:
            self._backend.reset()
            self._service_down(exc)
            return
        except ReaderError as exc:
            # A reader vanished between listing and querying: try again next poll.
            logger.debug("reader poll raced with a change: %s", type(exc).__name__)
            return
        self._service_up()
        with self._lock:
            readers_changed = readers != self._readers
            self._readers = readers
            present = {s.name: s.atr for s in states if s.present}
            removed = [r for r in self._cards if r not in present]
            added = [(r, atr) for r, atr in present.items() if r not in self._cards]
            self._cards = present
        if readers_changed:
            self._safe(self._callbacks.readers_changed, list(readers))
        for reader in removed:
            self._safe(self._callbacks.card_removed, reader)
        for reader, atr in added:
            self._safe(self._callbacks.card_present, reader, atr)

    def _service_down(self, exc: PcscUnavailableError) -> None:
        with self._lock:
            was, self._available = self._available, False
            removed = list(self._cards)
            self._cards = {}
            readers_changed = bool(self._readers)
            self._readers = ()
        if was is not False:
            logger.info("PC/SC service unavailable")
            for reader in removed:
                self._safe(self._callbacks.card_removed, reader)
            if readers_changed:
                self._safe(self._callbacks.readers_changed, [])
            self._safe(self._callbacks.pcsc_unavailable, exc)

    def _service_up(self) -> None:
        with self._lock:
            was, self._available = self._available, True
        if was is False:
            logger.info("PC/SC service restored")
            self._safe(self._callbacks.pcsc_restored)

    @staticmethod
    def _safe(fn: Callable[..., None], *args: object) -> None:
        # A card error escaping a callback must not kill the watcher thread (it is logged, by type and
        # message, which carry no personal data); any other exception is a bug and ends the thread.
        try:
            fn(*args)
        except CardError:
            logger.exception("watcher callback raised a card error")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self._interval)

    def start(self) -> None:
        """Start polling on a daemon thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="reader-watcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
