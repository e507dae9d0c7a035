"""The virtual card through real pcscd + vpcd + pyscard: faithful bytes and fast round trips."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from smartcard.Exceptions import CardConnectionException
from smartcard.System import readers

from card.virtual.card import ATR, VirtualMyNumberCard
from card.virtual.faults import FaultPlan
from card.virtual.persona import PERSONA_DIR, load_persona

# mynacard-protocol.md §4.1: EF 0002 of the J-LIS test card, 104 bytes.
JLIS_BASIC_FOUR = bytes.fromhex(
    "FF2065DF2108000E002000590064DF220FE9BB92E6A190E38080E5B9B9E4B99F"
    "DF2336E69DB1E4BAACE983BDE6B885E780ACE5B882E8A6B3E5B883E5AD90E58D"
    "97EFBC91EFBC92EFBC8DEFBC97EFBC8DEFBC92EFBC90EFBC92DF240831393830"
    "30323137DF250131"
)


READER = "Virtual PCD 00 00"  # the reader the insert_card fixture uses (tests/e2e/conftest.py)
InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]


def _connect():  # type: ignore[no-untyped-def]
    reader = next(r for r in readers() if str(r) == READER)
    connection = reader.createConnection()
    connection.connect()
    return connection


def _tx(connection, apdu_hex: str) -> tuple[bytes, int]:  # type: ignore[no-untyped-def]
    data, sw1, sw2 = connection.transmit(list(bytes.fromhex(apdu_hex)))
    return bytes(data), sw1 << 8 | sw2


def test_jlis_basic_four_read_through_pyscard_is_byte_identical(insert_card: InsertCard) -> None:
    with insert_card("jlis-test") as card:
        connection = _connect()
        assert bytes(connection.getATR()) == ATR
        assert _tx(connection, "00A4040C0AD3921000310001010408") == (b"", 0x9000)
        assert _tx(connection, "00A4020C020011") == (b"", 0x9000)
        assert _tx(connection, "00200080") == (b"", 0x63C3)
        assert _tx(connection, "002000800431323334") == (b"", 0x9000)
        assert _tx(connection, "00A4020C020002") == (b"", 0x9000)
        header, sw = _tx(connection, "00B0000007")
        assert sw == 0x9000
        total = 3 + header[2]
        rest, sw = _tx(connection, f"00B00007{total - 7:02X}")
        assert sw == 0x9000
        assert header + rest == JLIS_BASIC_FOUR
        connection.disconnect()
        assert [(e.ap, e.ef) for e in card.access_log if e.ins == 0xB0] == [
            ("card_info", 2),
            ("card_info", 2),
        ]


def test_long_ef_0002_needs_two_reads_through_pcsc(insert_card: InsertCard) -> None:
    with insert_card("miyagi-long-address") as card:
        connection = _connect()
        _tx(connection, "00A4040C0AD3921000310001010408")
        assert _tx(connection, "002000910431333537")[1] == 0x9000
        first, sw = _tx(connection, "00B0820000")
        assert (len(first), sw) == (256, 0x9000)
        length = int.from_bytes(first[3:5], "big") + 5
        second, sw = _tx(connection, f"00B00100{length - 256:02X}")
        assert sw == 0x9000
        assert first + second == card.image.file_data("card_info", 2)[:length]
        connection.disconnect()


def test_power_cycle_through_pcsc_clears_the_verified_state(insert_card: InsertCard) -> None:
    with insert_card("jlis-test"):
        connection = _connect()
        _tx(connection, "00A4040C0AD3921000310001010408")
        assert _tx(connection, "002000910431323334")[1] == 0x9000
        assert _tx(connection, "00B0830001")[1] == 0x9000
        connection.disconnect()  # pcscd powers the card down (control 00)
        connection = _connect()
        assert _tx(connection, "00A40000")[1] == 0x6A86  # power-on state again
        _tx(connection, "00A4040C0AD3921000310001010408")
        assert _tx(connection, "00B0830001")[1] == 0x6982
        connection.disconnect()


def test_fault_plan_removal_is_seen_by_pcsc(
    insert_card: InsertCard, wait_reader: Callable[..., None]
) -> None:
    with insert_card("jlis-test", remove_after=2) as card:
        connection = _connect()
        _tx(connection, "00A4040C0AD392F000260100000001")
        _tx(connection, "00A4020C020018")
        with pytest.raises(CardConnectionException):
            _tx(connection, "002000800430303030")
        assert card.removed
        assert card.tries_left("jpki", 0x18) == 3
        connection.disconnect()
        wait_reader(present=False)


def test_a_removed_card_reinserted_keeps_its_counters(insert_card: InsertCard, tmp_path: Path) -> None:
    """LULI's pattern: the card left after a wrong VERIFY; on the next tap the tries are re-queried."""
    persona_file = tmp_path / "tapper.toml"
    persona_file.write_text((PERSONA_DIR / "jlis-test.toml").read_text(encoding="utf-8"), encoding="utf-8")
    card = VirtualMyNumberCard(load_persona(persona_file), faults=FaultPlan(remove_after=3))
    with insert_card(card):
        connection = _connect()
        _tx(connection, "00A4040C0AD392F000260100000001")
        _tx(connection, "00A4020C020018")
        assert _tx(connection, "002000800430303030")[1] == 0x63C2
        with pytest.raises(CardConnectionException):
            _tx(connection, "00200080")
        connection.disconnect()  # release the stale handle (its late release would reset the next card)
    with insert_card(card) as again:
        assert again is card
        connection = _connect()
        _tx(connection, "00A4040C0AD392F000260100000001")
        assert _tx(connection, "00200098")[1] == 0x63C2
        connection.disconnect()


def test_two_cards_in_the_two_vpcd_readers(insert_card: InsertCard) -> None:
    with insert_card("jlis-test") as first, insert_card("miyagi-sendai", port=35964) as second:
        seen = {}
        for name in ("Virtual PCD 00 00", "Virtual PCD 00 01"):
            connection = next(r for r in readers() if str(r) == name).createConnection()
            connection.connect()
            _tx(connection, "00A4040C0AD392F000260100000001")
            cert, sw = _tx(connection, "00B08A0000")
            assert sw == 0x9000
            seen[name] = cert
            connection.disconnect()
        assert seen["Virtual PCD 00 00"] == first.image.file_data("jpki", 0x000A)[:256]
        assert seen["Virtual PCD 00 01"] == second.image.file_data("jpki", 0x000A)[:256]
