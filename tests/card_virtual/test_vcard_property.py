"""Property: whatever bytes arrive, the card answers with a valid status word and never crashes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona

# Every SW the card may give (mynacard-protocol.md §2.4).
VALID_SW = {
    0x9000,
    0x6700,
    0x6881,
    0x6981,
    0x6982,
    0x6984,
    0x6985,
    0x6986,
    0x6987,
    0x6988,
    0x6A80,
    0x6A82,
    0x6A86,
    0x6A88,
    0x6B00,
    0x6D00,
    0x6E00,
    0x66F1,
} | {0x63C0 | n for n in range(16)}

_HEADERS = st.sampled_from(
    [
        b"\x00\xa4\x04\x0c",
        b"\x00\xa4\x02\x0c",
        b"\x00\xb0",
        b"\x00\x20\x00",
        b"\x80\x2a",
        b"\x00\x24\x01",
        b"",
    ]
)
_AIDS = st.sampled_from(
    [bytes.fromhex("0AD392F000260100000001"), bytes.fromhex("0AD3921000310001010408"), b""]
)
_APDUS = st.builds(lambda h, a, tail: h + a + tail, _HEADERS, _AIDS, st.binary(max_size=300))

_PERSONA = load_persona("jlis-test")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_APDUS, min_size=1, max_size=12))
def test_random_apdus_always_answer_a_valid_status_word(apdus: list[bytes]) -> None:
    card = VirtualMyNumberCard(_PERSONA)
    connection = InProcessConnection(card)
    for apdu in apdus:
        data, sw = connection.transmit(apdu)
        assert sw in VALID_SW, f"{apdu.hex()} → {sw:04X}"
        if sw != 0x9000:
            assert data == b""
    assert len(card.access_log) == len(apdus)
    for entry in card.access_log:
        assert entry.sw in VALID_SW
