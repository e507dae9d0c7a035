"""Reader watcher logic with a scripted PC/SC backend (the real one is exercised in tests/e2e)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from card.errors import PcscUnavailableError
from card.readers import is_contactless, order_readers
from card.watcher import ReaderWatcher, WatcherCallbacks


@dataclass
class _S:
    name: str
    present: bool
    atr: bytes


class _Backend:
    def __init__(self) -> None:
        self.readers: list[str] = []
        self.cards: dict[str, bytes] = {}
        self.down = False
        self.resets = 0

    def list_readers(self) -> list[str]:
        if self.down:
            raise PcscUnavailableError("down")
        return list(self.readers)

    def reader_states(self, readers: Sequence[str]) -> list[_S]:
        return [_S(r, r in self.cards, self.cards.get(r, b"")) for r in readers]

    def reset(self) -> None:
        self.resets += 1


def _watch() -> tuple[_Backend, ReaderWatcher, list[tuple[str, object]]]:
    events: list[tuple[str, object]] = []
    backend = _Backend()
    callbacks = WatcherCallbacks(
        card_present=lambda r, atr: events.append(("present", r)),
        card_removed=lambda r: events.append(("removed", r)),
        readers_changed=lambda rs: events.append(("readers", tuple(rs))),
        pcsc_unavailable=lambda e: events.append(("down", type(e).__name__)),
        pcsc_restored=lambda: events.append(("up", None)),
    )
    return backend, ReaderWatcher(backend, callbacks), events


def test_events_fire_on_changes_only() -> None:
    backend, watcher, events = _watch()
    watcher.poll_once()
    assert events == []
    backend.readers = ["R1"]
    watcher.poll_once()
    backend.cards["R1"] = b"\x3b"
    watcher.poll_once()
    watcher.poll_once()
    del backend.cards["R1"]
    watcher.poll_once()
    backend.readers = []
    watcher.poll_once()
    assert events == [("readers", ("R1",)), ("present", "R1"), ("removed", "R1"), ("readers", ())]


def test_pcscd_stop_and_restart() -> None:
    backend, watcher, events = _watch()
    backend.readers = ["R1"]
    backend.cards["R1"] = b"\x3b"
    watcher.poll_once()
    events.clear()
    backend.down = True
    watcher.poll_once()
    watcher.poll_once()  # reported once, not per poll
    assert events == [("removed", "R1"), ("readers", ()), ("down", "PcscUnavailableError")]
    assert not watcher.snapshot.available
    assert backend.resets == 2
    events.clear()
    backend.down = False
    watcher.poll_once()
    assert events == [("up", None), ("readers", ("R1",)), ("present", "R1")]
    assert watcher.snapshot.cards == frozenset({"R1"})


def test_a_failing_callback_does_not_stop_the_watcher() -> None:
    backend = _Backend()
    seen: list[str] = []

    def boom(reader: str, atr: bytes) -> None:
        seen.append(reader)
        raise PcscUnavailableError("callback bug")

    watcher = ReaderWatcher(backend, WatcherCallbacks(card_present=boom))
    backend.readers = ["R1", "R2"]
    backend.cards = {"R1": b"", "R2": b""}
    watcher.poll_once()
    assert seen == ["R1", "R2"]


def test_watcher_prefers_the_contactless_reader_holding_a_card() -> None:
    backend, watcher, _events = _watch()
    backend.readers = ["Gemalto USB SmartCard Reader 00 00", "SONY FeliCa RC-S300/P 01 00"]
    assert watcher.preferred_card_reader() is None
    backend.cards = {"Gemalto USB SmartCard Reader 00 00": b""}
    watcher.poll_once()
    assert watcher.preferred_card_reader() == "Gemalto USB SmartCard Reader 00 00"
    backend.cards["SONY FeliCa RC-S300/P 01 00"] = b""
    watcher.poll_once()
    assert watcher.preferred_card_reader() == "SONY FeliCa RC-S300/P 01 00"


def test_contactless_readers_are_preferred() -> None:
    readers = ["Gemalto USB SmartCard Reader 00 00", "SONY FeliCa RC-S300/P 01 00", "ACS ACR1252 PICC 02 00"]
    assert order_readers(readers)[:2] == ["SONY FeliCa RC-S300/P 01 00", "ACS ACR1252 PICC 02 00"]
    assert is_contactless("Virtual PCD 00 00")
    assert not is_contactless("Gemalto USB SmartCard Reader 00 00")
