"""The card OS through an in-process connection: status words per mynacard-protocol.md §2.4 and §8."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection

from .conftest import AID_CARD_INFO, AID_JPKI, AID_SURFACE, Transmit, select_ap, select_ef, verify


def test_select_mf_right_after_reset_is_6a86_then_9000_once_an_ap_is_selected(tx: Transmit) -> None:
    assert tx("00A40000")[1] == 0x6A86
    assert tx(select_ap(AID_JPKI))[1] == 0x9000
    assert tx("00A40000")[1] == 0x9000
    tx.connection.card.reset()  # type: ignore[attr-defined]
    assert tx("00A40000")[1] == 0x6A86


@pytest.mark.parametrize(
    "aid", [AID_JPKI, AID_CARD_INFO, AID_SURFACE, "D3921000310001010401", "D3921000310001010100"]
)
def test_the_five_applications_select(tx: Transmit, aid: str) -> None:
    assert tx(select_ap(aid)) == (b"", 0x9000)


@pytest.mark.parametrize(
    ("apdu", "sw"),
    [
        ("00A4040C0AD392F000260100000002", 0x6A82),  # unknown AID
        ("00A4040C08A0000003080000", 0x6700),  # Lc disagrees with data
        ("00A4040009A00000030800001000", 0x6A82),  # OpenSC's PIV probe (case 4)
        ("00CB3FFF055C035FC10200", 0x6D00),  # unknown INS (OpenSC probe)
        ("00120000", 0x6D00),
        ("B0B0000000", 0x6E00),  # unknown CLA
        ("A0A4000000", 0x6E00),
        ("01A4040C0AD392F000260100000001", 0x6881),  # logical channel 1
        ("00A4080C0AD392F000260100000001", 0x6A86),  # unsupported P1
        ("00A4", 0x6700),  # shorter than a header
        ("00B0000000", 0x6986),  # no current EF
    ],
)
def test_status_word_table(tx: Transmit, apdu: str, sw: int) -> None:
    assert tx(apdu)[1] == sw


def test_unknown_fid_is_6a82_and_3f00_by_fid_too(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    assert tx(select_ef(0x0042))[1] == 0x6A82
    assert tx("00A4000C023F00")[1] == 0x6A82
    assert tx(select_ef(0x000A))[1] == 0x9000


def test_no_readable_ef_under_the_mf(tx: Transmit) -> None:
    assert tx(select_ef(0x2F10))[1] == 0x6A82
    assert tx(select_ef(0x001E))[1] == 0x9000
    assert tx("00B0000001")[1] == 0x6981


def test_read_binary_rest_with_9000_and_6b00_past_the_end(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0008))
    assert tx("00B0000000") == (bytes.fromhex("8F8F00"), 0x9000)  # Le 256 > 3: the rest
    assert tx("00B0000201") == (b"\x00", 0x9000)
    assert tx("00B0000300")[1] == 0x6B00
    assert tx("00B0000001")[1] == 0x9000
    assert tx("00B00000")[1] == 0x6700  # case 1: no Le


def test_read_binary_extended_le_and_sfi(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    data, sw = tx("00B08A00000000")  # SFI 0A, extended Le 65536
    assert sw == 0x9000
    assert len(data) == 0x800
    assert data[:2] == b"\x30\x82"
    assert tx("00B08A1004") == (data[0x10:0x14], 0x9000)
    # the SFI read made 000A the current EF
    assert tx("00B0001004") == (data[0x10:0x14], 0x9000)
    assert tx("00B09F0001")[1] == 0x6A82
    assert tx("00B0E00001")[1] == 0x6A86


def test_token_label_is_read_with_the_flow_a_apdus(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0006))
    data, sw = tx("00B0000020")
    assert sw == 0x9000
    assert data == b"JPKIAPICCTOKEN2" + b" " * 17


def test_key_and_pin_efs_are_not_readable(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    for fid in (0x0017, 0x0018, 0x001A, 0x001B):
        assert tx(select_ef(fid))[1] == 0x9000
        assert tx("00B0000001")[1] == 0x6981


def test_verify_sequence_to_63c0_then_6984(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0018))
    assert tx("00200080")[1] == 0x63C3
    assert tx(verify("0000"))[1] == 0x63C2
    assert tx("00200080")[1] == 0x63C2  # the query does not use a try
    assert tx(verify("0001"))[1] == 0x63C1
    assert tx(verify("0002"))[1] == 0x63C0
    assert tx("00200080")[1] == 0x63C0
    assert tx(verify("1234"))[1] == 0x6984  # even the right PIN: blocked
    assert tx("00200080")[1] == 0x63C0


def test_correct_value_resets_the_counter_and_query_still_answers_63cx(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0018))
    assert tx(verify("9999"))[1] == 0x63C2
    assert tx(verify("1234"))[1] == 0x9000
    assert tx("00200080")[1] == 0x63C3  # §2.1: 63C3 even after a successful VERIFY


def test_verify_format_errors(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0018))
    assert tx("0020008000")[1] == 0x6700  # case 2: `00 20 00 80 00` (LULI)
    assert tx("0020018004" + b"1234".hex())[1] == 0x6A86
    assert tx("0020000104" + b"1234".hex())[1] == 0x6A86
    assert tx(verify("12345"))[1] == 0x63C2  # malformed value: a failed attempt (§3)
    assert tx(verify("12a4"))[1] == 0x63C1


def test_verify_by_sfi_without_selecting_the_ef(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    assert tx("00200098")[1] == 0x63C3
    assert tx(verify("1234", p2=0x98))[1] == 0x9000
    assert tx("00B0000001")[1] == 0x6986  # no EF was made current by it


def test_sign_password_rules(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    assert tx("0020009B")[1] == 0x63C5
    assert tx(verify("jlistest1", p2=0x9B))[1] == 0x63C4  # no case folding on the card
    assert tx(verify("JLISTEST1", p2=0x9B))[1] == 0x9000


def test_6982_before_pin_and_reads_after_it(tx: Transmit) -> None:
    tx(select_ap(AID_CARD_INFO))
    tx(select_ef(0x0002))
    assert tx("00B0000007")[1] == 0x6982
    assert tx(verify("1234", p2=0x91))[1] == 0x9000
    data, sw = tx("00B0000007")
    assert (data[:2], sw) == (b"\xff\x20", 0x9000)


def test_card_info_access_rules(tx: Transmit) -> None:
    tx(select_ap(AID_CARD_INFO))
    assert tx("00B0840001")[1] == 0x9000  # CVC free
    assert tx("00B0850001")[1] == 0x9000  # AP basic info free
    for sfi in (1, 2, 3, 6, 7):
        assert tx(f"00B0{0x80 | sfi:02X}0001")[1] == 0x6982
    # 照合番号B opens 0002 and 0003 but not the My Number 0001 (§1.2)
    assert tx(verify("55021720352285", p2=0x95))[1] == 0x9000
    assert tx("00B0820001")[1] == 0x9000
    assert tx("00B0830001")[1] == 0x9000
    assert tx("00B0810001")[1] == 0x6982
    # EF 0012 is delivered blocked
    assert tx("00200092")[1] == 0x63C0
    assert tx(verify("1234", p2=0x92))[1] == 0x6984


def test_verified_state_is_cleared_by_reselecting_the_ap(tx: Transmit) -> None:
    tx(select_ap(AID_CARD_INFO))
    assert tx(verify("1234", p2=0x91))[1] == 0x9000
    tx(select_ef(0x0003))  # other EFs of the same DF keep it (§3)
    assert tx("00B0000001")[1] == 0x9000
    tx(select_ap(AID_CARD_INFO))
    assert tx("00B0830001")[1] == 0x6982


@pytest.mark.parametrize("event", ["reset", "power_off", "power_on"])
def test_verified_state_is_cleared_by_power_events(
    make_card: Callable[..., VirtualMyNumberCard], event: str
) -> None:
    card = make_card()
    connection = InProcessConnection(card)
    connection.transmit(bytes.fromhex(select_ap(AID_CARD_INFO)))
    assert connection.transmit(bytes.fromhex(verify("1234", p2=0x91)))[1] == 0x9000
    getattr(card, event)()
    assert connection.transmit(bytes.fromhex("00B0830001"))[1] == 0x6A82  # MF-level again
    connection.transmit(bytes.fromhex(select_ap(AID_CARD_INFO)))
    assert connection.transmit(bytes.fromhex("00B0830001"))[1] == 0x6982
    assert card.tries_left("card_info", 0x0011) == 3  # counters are persistent


def test_persona_tries_left_are_honoured(make_card: Callable[..., VirtualMyNumberCard]) -> None:
    one = InProcessConnection(make_card("miyagi-one-try"))
    one.transmit(bytes.fromhex(select_ap(AID_JPKI)))
    assert one.transmit(bytes.fromhex("00200098"))[1] == 0x63C1
    assert one.transmit(bytes.fromhex(verify("0000", p2=0x98)))[1] == 0x63C0
    blocked = InProcessConnection(make_card("miyagi-blocked"))
    blocked.transmit(bytes.fromhex(select_ap(AID_JPKI)))
    assert blocked.transmit(bytes.fromhex("00200098"))[1] == 0x63C0
    assert blocked.transmit(bytes.fromhex(verify("2222", p2=0x98)))[1] == 0x6984


def test_distinct_card_info_pin(make_card: Callable[..., VirtualMyNumberCard]) -> None:
    connection = InProcessConnection(make_card("miyagi-distinct-pins"))
    connection.transmit(bytes.fromhex(select_ap(AID_CARD_INFO)))
    assert connection.transmit(bytes.fromhex(verify("4444", p2=0x91)))[1] == 0x63C2
    assert connection.transmit(bytes.fromhex(verify("5555", p2=0x91)))[1] == 0x9000


def test_change_reference_data_needs_the_verified_key(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0018))
    new_pin = "00240180" + "04" + b"4321".hex()
    assert tx(new_pin)[1] == 0x6982
    assert tx(verify("1234"))[1] == 0x9000
    assert tx("00240180" + "03" + b"432".hex())[1] == 0x6A80
    assert tx(new_pin)[1] == 0x9000
    tx(select_ap(AID_JPKI))
    assert tx(verify("1234", p2=0x98))[1] == 0x63C2
    assert tx(verify("4321", p2=0x98))[1] == 0x9000


def test_other_commands(tx: Transmit) -> None:
    data, sw = tx("0084000008")
    assert (len(data), sw) == (8, 0x9000)
    assert tx("00840000000008")[1] == 0x6985  # extended Le refused
    assert tx("00CA004200")[1] == 0x6A88
    tx(select_ap(AID_CARD_INFO))
    assert tx("0088008020" + "00" * 32 + "00")[1] == 0x6985
    assert tx("80AE0000020000")[1] == 0x6982  # SET SESSION KEY before the PIN
    assert tx("80FC0000")[1] == 0x6700
    assert tx("0CB0000000")[1] == 0x6987
    assert tx("00B2010400")[1] == 0x6986
