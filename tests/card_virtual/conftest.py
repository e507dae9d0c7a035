"""Shared helpers for the in-process virtual card tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona

AID_JPKI = "D392F000260100000001"
AID_CARD_INFO = "D3921000310001010408"
AID_SURFACE = "D3921000310001010402"

Transmit = Callable[[str], tuple[bytes, int]]


def select_ap(aid: str) -> str:
    return "00A4040C0A" + aid


def select_ef(fid: int) -> str:
    return f"00A4020C02{fid:04X}"


def verify(value: str, p2: int = 0x80) -> str:
    data = value.encode().hex()
    return f"002000{p2:02X}{len(value):02X}{data}"


@pytest.fixture
def make_card() -> Callable[..., VirtualMyNumberCard]:
    def make(persona: str = "jlis-test", **kwargs: object) -> VirtualMyNumberCard:
        return VirtualMyNumberCard(load_persona(persona), **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def tx(make_card: Callable[..., VirtualMyNumberCard]) -> Transmit:
    """Transmit hex APDUs to a fresh J-LIS test card through an in-process connection."""
    connection = InProcessConnection(make_card())

    def send(apdu_hex: str) -> tuple[bytes, int]:
        return connection.transmit(bytes.fromhex(apdu_hex))

    send.connection = connection  # type: ignore[attr-defined]
    return send
