"""The one seam between card protocol code and a transport.

Protocol code (applications, session) depends only on this protocol. Implementations:
:class:`card.pcsc.PcscConnection` (pyscard, real readers and vpcd) and the virtual card's
in-process connection (:mod:`card.virtual`). Modelled on yubikit's ``SmartCardConnection``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class CardConnection(Protocol):
    """A connection to one inserted card.

    ``transmit`` sends one complete command APDU and returns ``(data, sw)`` where ``sw`` is the
    16-bit status word (``0x9000`` for success). It raises :class:`card.errors.CardRemovedError`
    (or another :class:`card.errors.ReaderError`) when the transport fails; it never raises for a
    status word: interpreting status words is the caller's job.
    """

    def transmit(self, apdu: bytes) -> tuple[bytes, int]: ...

    def close(self) -> None: ...
