"""Fault injection, the access log and the in-process connection."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from card.connection import CardConnection
from card.errors import CardRemovedError, ReaderError
from card.virtual.card import ATR, AccessLogEntry, VirtualMyNumberCard
from card.virtual.faults import FaultPlan
from card.virtual.inprocess import InProcessConnection

from .conftest import AID_CARD_INFO, AID_JPKI, select_ap, select_ef, verify

Make = Callable[..., VirtualMyNumberCard]


def _send(connection: InProcessConnection, apdu: str) -> tuple[bytes, int]:
    return connection.transmit(bytes.fromhex(apdu))


def test_in_process_connection_is_a_card_connection(make_card: Make) -> None:
    card = make_card()
    assert isinstance(InProcessConnection(card), CardConnection)
    assert card.atr == ATR
    assert ATR[:4] == bytes.fromhex("3B888001")


def test_remove_after_n_raises_card_removed_and_skips_the_apdu(make_card: Make) -> None:
    card = make_card(faults=FaultPlan(remove_after=2))
    connection = InProcessConnection(card)
    assert _send(connection, select_ap(AID_JPKI))[1] == 0x9000
    assert _send(connection, select_ef(0x0018))[1] == 0x9000
    with pytest.raises(CardRemovedError) as info:
        _send(connection, verify("0000"))
    assert info.value.during_verify
    assert card.tries_left("jpki", 0x0018) == 3  # the VERIFY in flight was never processed
    with pytest.raises(CardRemovedError) as again:
        _send(connection, "00A40000")
    assert not again.value.during_verify
    card.reinsert()
    assert _send(connection, "00A40000")[1] == 0x6A86  # fresh power-on state


def test_remove_after_zero_removes_at_the_first_apdu(make_card: Make) -> None:
    connection = InProcessConnection(make_card(faults=FaultPlan(remove_after=0)))
    with pytest.raises(CardRemovedError):
        _send(connection, select_ap(AID_JPKI))


def test_corrupt_response_inverts_a_data_byte_and_keeps_the_sw(make_card: Make) -> None:
    clean = InProcessConnection(make_card())
    broken = InProcessConnection(make_card(faults=FaultPlan(corrupt_response=2)))
    for connection in (clean, broken):
        _send(connection, select_ap(AID_CARD_INFO))
    good, sw_good = _send(clean, "00B0840000")
    bad, sw_bad = _send(broken, "00B0840000")
    assert sw_good == sw_bad == 0x9000
    assert len(good) == len(bad)
    assert sum(a != b for a, b in zip(good, bad, strict=True)) == 1


def test_delay_per_apdu(make_card: Make) -> None:
    connection = InProcessConnection(make_card(faults=FaultPlan(delay=0.02)))
    start = time.perf_counter()
    _send(connection, "00A40000")
    _send(connection, "00A40000")
    assert time.perf_counter() - start >= 0.04


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError):
        FaultPlan(remove_after=-1)
    with pytest.raises(ValueError):
        FaultPlan(corrupt_response=0)


def test_access_log_records_where_each_apdu_went(make_card: Make, tmp_path: Path) -> None:
    log_file = tmp_path / "apdu.jsonl"
    card = make_card(log_file=log_file)
    connection = InProcessConnection(card)
    _send(connection, select_ap(AID_CARD_INFO))
    _send(connection, verify("1234", p2=0x91))
    _send(connection, select_ef(0x0002))
    _send(connection, "00B0000007")
    _send(connection, "00B0830000")
    card.close()
    assert card.access_log == [
        AccessLogEntry(1, "card_info", None, 0xA4, 0x04, 0x0C, 0x9000),
        AccessLogEntry(2, "card_info", 0x0011, 0x20, 0x00, 0x91, 0x9000),
        AccessLogEntry(3, "card_info", 0x0002, 0xA4, 0x02, 0x0C, 0x9000),
        AccessLogEntry(4, "card_info", 0x0002, 0xB0, 0x00, 0x00, 0x9000),
        AccessLogEntry(5, "card_info", 0x0003, 0xB0, 0x83, 0x00, 0x9000),
    ]
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["ef"] for line in lines] == [None, 0x11, 0x02, 0x02, 0x03]
    # the log file never holds command data (the PIN)
    assert "1234" not in log_file.read_text()
    assert b"1234".hex() not in log_file.read_text()
    with pytest.raises(AttributeError):
        card.access_log[0].sw = 0  # type: ignore[misc]


def test_closing_the_connection_powers_the_card_down(make_card: Make) -> None:
    card = make_card()
    connection = InProcessConnection(card)
    _send(connection, select_ap(AID_JPKI))
    connection.close()
    with pytest.raises(ReaderError):  # the connection is closed
        _send(connection, "00A40000")
    second = InProcessConnection(card)
    assert _send(second, "00A40000")[1] == 0x6A86
