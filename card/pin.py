"""PIN handling rules shared by the applications (protocol §3; DESIGN §2.3).

PINs travel as ``bytearray`` so they can be zeroed after use; nothing here logs, formats or keeps
them. Format is checked locally so that a malformed PIN never costs a try on the card.
"""

from __future__ import annotations

from card.constants import PinKind
from card.errors import PinFormatError

_DIGITS = frozenset(b"0123456789")


def check_four_digit_pin(kind: PinKind, pin: bytearray) -> None:
    """Exactly 4 ASCII digits (JPKI auth PIN and card-info PIN, protocol §3)."""
    if not isinstance(pin, bytearray):
        raise PinFormatError(kind, "must be a bytearray so that it can be wiped")
    if len(pin) != 4:
        raise PinFormatError(kind, "must be 4 digits")
    if any(b not in _DIGITS for b in pin):
        raise PinFormatError(kind, "must be digits only")


def wipe(*buffers: bytearray | None) -> None:
    """Overwrite each buffer with zeros in place (keeps its length)."""
    for buf in buffers:
        if isinstance(buf, bytearray):
            buf[:] = bytes(len(buf))
