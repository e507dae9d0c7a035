"""BER-TLV and record parsers on the protocol document's vectors, plus bounded fuzzing."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib

import pytest
from card_vectors import BASIC_FOUR_104, BASIC_FOUR_104_DIGEST
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card import parsers, tlv
from card.errors import MalformedCardDataError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- TLV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000])
def test_tlv_round_trip_at_length_boundaries(length: int) -> None:
    value = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    for tag in (0x04, 0x5F4E, 0xDF22, 0xFF20, 0x7F21):
        encoded = tlv.encode(tag, value)
        item = tlv.parse_one(encoded + b"\xff\xff")  # filler after the record is ignored
        assert (item.tag, item.value, item.end) == (tag, value, len(encoded))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "no tag"),
        (b"\xdf", "truncated multi-byte tag"),
        (b"\xdf\x22", "no length"),
        (b"\x04\x80", "indefinite"),
        (b"\x04\x84\x00\x00\x00\x01\x00", "length field too long"),
        (b"\x04\x82\x01", "truncated length"),
        (b"\x04\x05abc", "value past end"),
        (b"\xff\xff\xff\x01\x00", "tag too long"),
    ],
)
def test_tlv_rejects(raw: bytes, why: str) -> None:
    with pytest.raises(MalformedCardDataError):
        tlv.parse_one(raw)


def test_long_form_lengths_are_decoded() -> None:
    assert tlv.parse_header(bytes.fromhex("FF20820123")) == (0xFF20, 5, 0x123)
    assert tlv.parse_header(bytes.fromhex("7F21820233")) == (0x7F21, 5, 0x233)
    assert parsers.tlv_file_length(bytes.fromhex("308205140000")) == 0x514 + 4


@FUZZ
@given(st.binary(max_size=600))
def test_tlv_fuzz_only_typed_errors(raw: bytes) -> None:
    try:
        items = tlv.parse_all(raw)
    except MalformedCardDataError:
        return
    assert sum(i.header_length + len(i.value) for i in items) == len(raw)


# --- basic four (§4.1) ------------------------------------------------------------------------


def test_basic_four_vector_from_the_protocol_document() -> None:
    assert len(BASIC_FOUR_104) == 104
    info = parsers.parse_basic_four(BASIC_FOUR_104)
    assert info.name == "黒桐\u3000幹也"
    assert info.address == "東京都清瀬市観布子南１２－７－２０２"
    assert info.birth_date == dt.date(1980, 2, 17)
    assert info.sex == "1"
    assert info.digest == BASIC_FOUR_104_DIGEST  # §4.3 derived hash
    for secret in ("黒桐", "東京", "1980"):
        assert secret not in repr(info)


def test_basic_four_with_filler_after_the_record() -> None:
    assert parsers.parse_basic_four(BASIC_FOUR_104 + b"\xff" * 40).digest == BASIC_FOUR_104_DIGEST


def _basic_four(name: str, address: str, birth: bytes = b"19800217", sex: bytes = b"1") -> bytes:
    fields = [tlv.encode(0xDF22, name.encode()), tlv.encode(0xDF23, address.encode())]
    fields += [tlv.encode(0xDF24, birth), tlv.encode(0xDF25, sex)]
    # The FF20 header length depends on the content length; offsets count from the file start.
    body_len = 11 + sum(map(len, fields))
    header = 2 + len(tlv.encode_length(body_len))
    offsets, pos = [], header + 11
    for f in fields:
        offsets.append(pos)
        pos += len(f)
    table = tlv.encode(0xDF21, b"".join(o.to_bytes(2, "big") for o in offsets))
    return tlv.encode(0xFF20, table + b"".join(fields))


def test_basic_four_longer_than_256_bytes_uses_long_form() -> None:
    raw = _basic_four("山田\u3000花子", "宮城県仙台市青葉区" + "一丁目" * 60)
    assert raw[2] == 0x82
    assert len(raw) > 256
    info = parsers.parse_basic_four(raw)
    assert info.address.endswith("一丁目")
    offsets0 = int.from_bytes(raw[8:10], "big")  # FF20 82 LL LL, DF21 08, then the table
    assert info.digest == hashlib.sha256(raw[offsets0:]).digest()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:5] + b"\x00\x0f" + b[7:],  # offset of DF22 wrong
        lambda b: b[:11] + b"\x00\x65" + b[13:],  # offset of DF25 wrong
        lambda b: b[:-1] + b"5",  # sex code not ISO 5218
        lambda b: b[:-12] + b"19801317" + b[-4:],  # month 13
        lambda b: b"\xff\x21" + b[2:],  # wrong outer tag
        lambda b: b[:2] + bytes([b[2] + 1]) + b[3:],  # outer length past the data
        lambda b: b[:-3],  # truncated
        lambda b: b[:16] + b"\xff" + b[17:],  # name not UTF-8
    ],
)
def test_basic_four_rejects_inconsistent_records(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedCardDataError):
        parsers.parse_basic_four(mutate(BASIC_FOUR_104))


@FUZZ
@given(st.binary(max_size=400))
def test_basic_four_fuzz(raw: bytes) -> None:
    with contextlib.suppress(MalformedCardDataError):
        parsers.parse_basic_four(raw)


@FUZZ
@given(st.data())
def test_basic_four_fuzz_mutations_of_the_vector(data: st.DataObject) -> None:
    raw = bytearray(BASIC_FOUR_104)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(MalformedCardDataError):
        parsers.parse_basic_four(bytes(raw))


# --- integrity record, CVC, AP key, token (§4.3, §1.1) ----------------------------------------


def _integrity(d31: bytes, d32: bytes, sig: bytes) -> bytes:
    return tlv.encode(0xFF30, tlv.encode(0xDF31, d31) + tlv.encode(0xDF32, d32) + tlv.encode(0xDF33, sig))


def test_integrity_record_layout() -> None:
    raw = _integrity(b"\x01" * 32, BASIC_FOUR_104_DIGEST, b"\x02" * 256)
    assert raw[:5] == bytes.fromhex("FF3082014B")
    assert len(raw) == 336
    rec = parsers.parse_integrity_record(raw + bytes(20))
    assert rec.basic_four_digest == BASIC_FOUR_104_DIGEST
    assert rec.signed_data == tlv.encode(0xDF31, b"\x01" * 32) + tlv.encode(0xDF32, BASIC_FOUR_104_DIGEST)
    assert rec.signature == b"\x02" * 256


@pytest.mark.parametrize(
    "raw",
    [
        _integrity(b"\x01" * 31, b"\x00" * 32, b"s"),
        tlv.encode(
            0xFF30, tlv.encode(0xDF32, bytes(32)) + tlv.encode(0xDF31, bytes(32)) + tlv.encode(0xDF33, b"s")
        ),
        _integrity(bytes(32), bytes(32), b""),
    ],
)
def test_integrity_record_rejects(raw: bytes) -> None:
    with pytest.raises(MalformedCardDataError):
        parsers.parse_integrity_record(raw)


def _rsa_tlvs(n: int, e: int = 65537) -> bytes:
    return tlv.encode(0x90, e.to_bytes(3, "big")) + tlv.encode(0x91, n.to_bytes(256, "big"))


_MODULUS = (1 << 2047) + 12345  # odd, 256 bytes: structure only, not a real key


def test_cvc_layout_matches_the_document() -> None:
    issuer = b"9999993" + b"\x08\x05" + b"001" + bytes(4)
    subject = b"9999933" + b"\x08\x05" + b"001" + bytes(4)
    body = issuer + subject + _rsa_tlvs(_MODULUS)
    raw = tlv.encode(0x7F21, tlv.encode(0x5F4E, body) + tlv.encode(0x5F37, b"\x05" * 256))
    assert len(body) == 297
    assert raw[:5] == bytes.fromhex("7F21820233")
    assert len(raw) == 568
    cvc = parsers.parse_cvc(raw + bytes(8))
    assert (cvc.issuer_key_id, cvc.subject_key_id) == (issuer, subject)
    assert cvc.public_key == parsers.RsaPublicKey(65537, _MODULUS)
    assert cvc.body == body


@pytest.mark.parametrize(
    "key",
    [
        tlv.encode(0x90, b"\x01\x00\x00") + tlv.encode(0x91, _MODULUS.to_bytes(256, "big")),  # even e
        tlv.encode(0x91, _MODULUS.to_bytes(256, "big")) + tlv.encode(0x90, b"\x01\x00\x01"),  # order
        tlv.encode(0x90, b"\x01\x00\x01") + tlv.encode(0x91, b"\x00" + bytes(255)),  # leading zero
        tlv.encode(0x90, b"\x01\x00\x01") + tlv.encode(0x91, b"\x03"),  # tiny modulus
    ],
)
def test_cvc_rejects_bad_keys(key: bytes) -> None:
    raw = tlv.encode(0x7F21, tlv.encode(0x5F4E, bytes(32) + key) + tlv.encode(0x5F37, b"s"))
    with pytest.raises(MalformedCardDataError):
        parsers.parse_cvc(raw)


def test_ap_public_key_record() -> None:
    body = tlv.encode(0xDF51, _rsa_tlvs(_MODULUS))
    raw = tlv.encode(0xFF50, body + tlv.encode(0xDF52, b"\x07" * 256))
    key = parsers.parse_ap_public_key(raw + b"\xff" * 4)
    assert key.public_key.modulus == _MODULUS
    assert key.signed_tlv == body
    assert key.signature == b"\x07" * 256


def test_token_label() -> None:
    data = b"JPKIAPICCTOKEN2".ljust(32) + bytes(128)
    assert parsers.parse_token_label(data) == "JPKIAPICCTOKEN2"
    with pytest.raises(MalformedCardDataError):
        parsers.parse_token_label(b"short")
    with pytest.raises(MalformedCardDataError):
        parsers.parse_token_label(b"\x01" * 32)


@FUZZ
@given(st.binary(max_size=700), st.sampled_from(["integrity", "cvc", "ap_key", "token", "der"]))
def test_record_parsers_fuzz(raw: bytes, which: str) -> None:
    fn = {
        "integrity": parsers.parse_integrity_record,
        "cvc": parsers.parse_cvc,
        "ap_key": parsers.parse_ap_public_key,
        "token": parsers.parse_token_label,
        "der": parsers.der_object,
    }[which]
    with contextlib.suppress(MalformedCardDataError):
        fn(raw)


@FUZZ
@given(st.binary(min_size=0, max_size=40), st.sampled_from([0x7F21, 0xFF30, 0xFF50, 0xFF20]))
def test_structured_fuzz_with_valid_outer_tags(inner: bytes, tag: int) -> None:
    raw = tlv.encode(tag, inner)
    for fn in (
        parsers.parse_cvc,
        parsers.parse_integrity_record,
        parsers.parse_ap_public_key,
        parsers.parse_basic_four,
    ):
        with contextlib.suppress(MalformedCardDataError):
            fn(raw)


class _RandomCard:
    """Answers READ BINARY with hypothesis-chosen data and status words."""

    def __init__(self, answers: list[tuple[bytes, int]]) -> None:
        self.answers = answers
        self.sent = 0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        self.sent += 1
        if not self.answers:
            return b"", 0x6B00
        return self.answers.pop(0)

    def close(self) -> None:
        pass


@FUZZ
@given(
    st.lists(
        st.tuples(st.binary(max_size=300), st.sampled_from([0x9000, 0x9000, 0x9000, 0x6700, 0x6982, 0x6B00])),
        max_size=6,
    ),
    st.integers(1, 0x10000),
)
def test_read_tlv_file_fuzz_is_typed_and_bounded(answers: list[tuple[bytes, int]], hint: int) -> None:
    from card.apdu import ApduProtocol
    from card.errors import CardError
    from card.files import read_tlv_file

    card = _RandomCard(list(answers))
    with contextlib.suppress(CardError):
        data = read_tlv_file(ApduProtocol(card), 0x02, hint=hint)
        assert parsers.tlv_file_length(data) == len(data)
    assert card.sent <= len(answers) + 2
