"""The virtual card as a :class:`card.connection.CardConnection` in the same process.

For unit tests and the training mode: no pcscd, no socket, the same card OS as on vpcd.
"""

from __future__ import annotations

from card.errors import CardRemovedError, NoCardError
from card.virtual.card import VirtualMyNumberCard
from card.virtual.errors import CardLeftError


class InProcessConnection:
    """A ``CardConnection`` to a :class:`VirtualMyNumberCard`; powering it on connects.

    Once the card's fault plan removes it, ``transmit`` raises :class:`CardRemovedError`
    (``during_verify`` set when the unanswered APDU was a VERIFY), as the PC/SC adapter does.
    """

    def __init__(self, card: VirtualMyNumberCard) -> None:
        self.card = card
        self._open = True
        card.power_on()

    def __repr__(self) -> str:
        return f"InProcessConnection({self.card!r})"

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one C-APDU; return (data, SW)."""
        if not self._open:
            raise NoCardError("the in-process connection is closed")
        try:
            response = self.card.process(bytes(apdu))
        except CardLeftError as exc:
            raise CardRemovedError(during_verify=exc.ins == 0x20) from None
        return response[:-2], int.from_bytes(response[-2:], "big")

    def close(self) -> None:
        """Disconnect: the reader powers the card down (volatile state is lost)."""
        if self._open:
            self._open = False
            if not self.card.removed:
                self.card.power_off()
