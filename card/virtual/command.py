"""C-APDU parsing for the virtual card: ISO 7816-4 cases 1-4, short and extended lengths.

A malformed length is not an exception but ``None``: the card answers ``67 00`` (§2.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    """One parsed C-APDU. ``data`` may be a PIN: it never appears in ``repr``."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = field(repr=False)
    le: int | None  # None: no Le field; else 1..65536 (00 = 256 short, 0000 = 65536 extended)
    extended: bool

    @property
    def case(self) -> int:
        """ISO 7816-3 case: 1 nothing, 2 Le only, 3 data only, 4 data and Le."""
        if self.data:
            return 4 if self.le is not None else 3
        return 2 if self.le is not None else 1


def parse_command(apdu: bytes) -> Command | None:
    """Parse a C-APDU in any ISO 7816-4 case, short or extended; None when the length is malformed."""
    size = len(apdu)
    if size < 4:
        return None
    cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
    if size == 4:
        return Command(cla, ins, p1, p2, b"", None, False)
    first = apdu[4]
    if size == 5:
        return Command(cla, ins, p1, p2, b"", first or 256, False)
    if first != 0:
        if size == 5 + first:
            return Command(cla, ins, p1, p2, apdu[5:], None, False)
        if size == 6 + first:
            return Command(cla, ins, p1, p2, apdu[5:-1], apdu[-1] or 256, False)
        return None
    if size == 7:
        return Command(cla, ins, p1, p2, b"", int.from_bytes(apdu[5:7], "big") or 65536, True)
    if size < 7:
        return None
    lc = int.from_bytes(apdu[5:7], "big")
    if lc == 0:
        return None
    if size == 7 + lc:
        return Command(cla, ins, p1, p2, apdu[7:], None, True)
    if size == 9 + lc:
        return Command(cla, ins, p1, p2, apdu[7:-2], int.from_bytes(apdu[-2:], "big") or 65536, True)
    return None
