"""C-APDU parsing: every ISO 7816-4 case, short and extended, and the malformed lengths (→ 6700)."""

from __future__ import annotations

import pytest

from card.virtual.command import parse_command


@pytest.mark.parametrize(
    ("apdu", "case", "data", "le", "extended"),
    [
        ("00200080", 1, b"", None, False),
        ("00B0000000", 2, b"", 256, False),
        ("00B0000010", 2, b"", 16, False),
        ("00A4020C020018", 3, b"\x00\x18", None, False),
        ("802A00800201020F", 4, b"\x01\x02", 15, False),
        ("00B00000000000", 2, b"", 65536, True),
        ("00B00000000100", 2, b"", 256, True),
        ("00A4020C0000020018", 3, b"\x00\x18", None, True),
        ("802A008000000201020000", 4, b"\x01\x02", 65536, True),
    ],
)
def test_cases(apdu: str, case: int, data: bytes, le: int | None, extended: bool) -> None:
    command = parse_command(bytes.fromhex(apdu))
    assert command is not None
    assert (command.case, command.data, command.le, command.extended) == (case, data, le, extended)


@pytest.mark.parametrize("apdu", ["", "00", "00A402", "00A4020C0300", "00A4020C0200180000", "000000000000"])
def test_malformed_lengths(apdu: str) -> None:
    assert parse_command(bytes.fromhex(apdu)) is None


def test_repr_never_shows_command_data() -> None:
    command = parse_command(bytes.fromhex("002000800431323334"))
    assert command is not None
    assert "1234" not in repr(command)
    assert "31323334" not in repr(command)
