"""Turns the card layer's reader-watcher callbacks (:mod:`card.watcher`) into flow events.

:class:`card.watcher.ReaderWatcher` calls its callbacks on the watcher thread; these callbacks only
translate and hand the event to ``post``, which the front-end makes thread-safe (a queued Qt signal,
or a ``queue.Queue`` the terminal loop drains). The flow itself never sees reader names or ATRs: the
card is identified by its JPKI token during prefetch, never by ATR (DESIGN.md §2).
"""

from __future__ import annotations

from collections.abc import Callable

from card.errors import PcscUnavailableError
from card.watcher import WatcherCallbacks
from kiosk.flow.events import CardInserted, CardRemoved, Event, PcscDown, ReaderBack, ReaderLost


def watcher_callbacks(post: Callable[[Event], None], *, reader: str | None = None) -> WatcherCallbacks:
    """Callbacks for a watcher that feed ``post`` with flow events.

    :param reader: the reader this kiosk uses; None = the first one that reports a card (events from
        other readers are then ignored until that card leaves).
    """
    chosen: list[str | None] = [reader]
    seen: list[bool] = [True]

    def present(name: str, _atr: bytes) -> None:
        if chosen[0] is None:
            chosen[0] = name
        if name == chosen[0]:
            post(CardInserted())

    def removed(name: str) -> None:
        if name == chosen[0]:
            post(CardRemoved())
            if reader is None:
                chosen[0] = None

    def readers_changed(names: list[str]) -> None:
        target = chosen[0]
        if target is None:
            return
        there = target in names
        if there != seen[0]:
            seen[0] = there
            post(ReaderBack() if there else ReaderLost())

    def down(_error: PcscUnavailableError) -> None:
        post(PcscDown())

    def restored() -> None:
        post(ReaderBack())

    return WatcherCallbacks(
        card_present=present,
        card_removed=removed,
        readers_changed=readers_changed,
        pcsc_unavailable=down,
        pcsc_restored=restored,
    )
