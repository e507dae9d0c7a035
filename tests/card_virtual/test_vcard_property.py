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


_AID_CHOICES = st.sampled_from(["D392F000260100000001", "D3921000310001010408", "D3921000310001010402"])
# never a correct value: 1234 (PINs) and 550217 (the surface AP birth-date key of this persona)
_WRONG_PINS = st.text(alphabet="0123456789", min_size=0, max_size=6).filter(
    lambda p: p not in ("1234", "550217")
)


def _command(kind: str, aid: str, fid: int, pin: str, offset: int) -> bytes:
    if kind == "select_ap":
        return bytes.fromhex("00A4040C0A" + aid)
    if kind == "select_ef":
        return bytes.fromhex(f"00A4020C02{fid:04X}")
    if kind == "verify":
        data = pin.encode()
        return bytes.fromhex(f"002000{0x80 | fid:02X}") + (bytes([len(data)]) + data if data else b"")
    if kind == "read_sfi":
        return bytes.fromhex(f"00B0{0x80 | fid:02X}{offset:02X}00")
    if kind == "read":
        return bytes.fromhex(f"00B0{offset:04X}00")
    return bytes.fromhex("802A0080330000")


_STEPS = st.builds(
    _command,
    st.sampled_from(["select_ap", "select_ef", "verify", "read_sfi", "read", "sign"]),
    _AID_CHOICES,
    st.integers(min_value=0x01, max_value=0x1E),
    _WRONG_PINS,
    st.integers(min_value=0, max_value=0x7F),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_STEPS, min_size=1, max_size=25))
def test_without_a_credential_protected_data_never_leaks_and_counters_only_fall_by_verify(
    steps: list[bytes],
) -> None:
    card = VirtualMyNumberCard(_PERSONA)
    connection = InProcessConnection(card)
    before = card.all_tries_left()
    failed_verifies = 0
    for apdu in steps:
        _, sw = connection.transmit(apdu)
        if apdu[1] == 0x20 and len(apdu) > 4 and sw & 0xFFF0 == 0x63C0:
            failed_verifies += 1  # a presented (case 3) value that was wrong
    protected = {("card_info", 0x01), ("card_info", 0x02), ("card_info", 0x03), ("jpki", 0x01)}
    for entry in card.access_log:
        if entry.ins == 0xB0 and entry.sw == 0x9000:
            assert (entry.ap, entry.ef) not in protected
        assert not (entry.ins == 0x2A and entry.sw == 0x9000 and entry.ap == "jpki")
    after = card.all_tries_left()
    lost = sum(before[key] - after[key] for key in before)
    assert lost == failed_verifies  # every wrong value costs exactly one try, nothing else does
