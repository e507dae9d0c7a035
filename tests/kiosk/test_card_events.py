"""Watcher callbacks become flow events, for one reader."""

from __future__ import annotations

from card.errors import PcscUnavailableError
from kiosk.card_events import watcher_callbacks
from kiosk.flow import CardInserted, CardRemoved, Event, PcscDown, ReaderBack, ReaderLost


def test_named_reader() -> None:
    events: list[Event] = []
    cb = watcher_callbacks(events.append, reader="R1")
    cb.card_present("R2", b"")
    cb.card_present("R1", b"\x3b")
    cb.card_removed("R2")
    cb.card_removed("R1")
    cb.readers_changed(["R2"])
    cb.readers_changed(["R2"])
    cb.readers_changed(["R1", "R2"])
    cb.pcsc_unavailable(PcscUnavailableError("down"))
    cb.pcsc_restored()
    assert events == [CardInserted(), CardRemoved(), ReaderLost(), ReaderBack(), PcscDown(), ReaderBack()]


def test_first_reader_with_a_card_is_followed_until_it_leaves() -> None:
    events: list[Event] = []
    cb = watcher_callbacks(events.append)
    cb.card_present("R2", b"")
    cb.card_present("R1", b"")  # another reader while R2's card is on: ignored
    cb.card_removed("R1")
    cb.card_removed("R2")
    cb.card_present("R1", b"")
    assert events == [CardInserted(), CardRemoved(), CardInserted()]
