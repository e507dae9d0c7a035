"""Training mode's card reader: the in-process virtual card, placed and taken with two buttons.

Stands in for pcscd + the reader watcher: "place" and "take" post ``CardInserted`` /
``CardRemoved`` like the watcher would, and a connection opened for one placement fails with
``CardRemovedError`` once the card is taken (as a real reader's does), so removal mid-read behaves
as on the real stack.
"""

from __future__ import annotations

import threading

from card.errors import CardRemovedError, NoCardError
from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection


class VirtualReader:
    """One slot holding one virtual card; thread-safe (GUI places, the card worker reads)."""

    def __init__(self, card: VirtualMyNumberCard) -> None:
        self.card = card
        self._lock = threading.Lock()
        self._present = False
        self._placement = 0

    @property
    def present(self) -> bool:
        """Whether the card is on the reader."""
        return self._present

    def place(self) -> bool:
        """Put the card on the reader; False if it already was."""
        with self._lock:
            if self._present:
                return False
            self._present = True
            self._placement += 1
            return True

    def take(self) -> bool:
        """Lift the card; False if it was not there."""
        with self._lock:
            if not self._present:
                return False
            self._present = False
            return True

    def connect(self) -> _PlacedConnection:
        """A ``CardConnection`` to the card as placed now (``NoCardError`` when absent)."""
        with self._lock:
            if not self._present:
                raise NoCardError("no card on the training reader")
            return _PlacedConnection(self, self._placement)

    def still_placed(self, placement: int) -> bool:
        """Whether the card placed as ``placement`` has not been taken since."""
        with self._lock:
            return self._present and self._placement == placement


class _PlacedConnection:
    """A connection that ends when the card is lifted (any later APDU: ``CardRemovedError``)."""

    def __init__(self, reader: VirtualReader, placement: int) -> None:
        self._reader = reader
        self._placement = placement
        self._inner = InProcessConnection(reader.card)

    def __repr__(self) -> str:
        return f"_PlacedConnection(placement={self._placement})"

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU to the card, if it is still on the reader."""
        if not self._reader.still_placed(self._placement):
            raise CardRemovedError(during_verify=len(apdu) > 1 and apdu[1] == 0x20)
        return self._inner.transmit(apdu)

    def close(self) -> None:
        """Disconnect (powers the card down)."""
        self._inner.close()
