"""Pure parsers for the records the kiosk reads from a My Number Card.

Each function takes the bytes of an EF (filler after the record allowed, protocol §2.2) and returns
a frozen dataclass, or raises :class:`card.errors.MalformedCardDataError`. No I/O, no logging.
Personal fields are ``repr=False`` so that a stray ``repr`` in a log never prints them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from card import tlv
from card.constants import TOKEN_LABEL_LENGTH
from card.errors import MalformedCardDataError

# Tags (protocol §4.1, §4.3).
TAG_BASIC_FOUR = 0xFF20
TAG_OFFSETS = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH_DATE = 0xDF24
TAG_SEX = 0xDF25
TAG_INTEGRITY = 0xFF30
TAG_MY_NUMBER_DIGEST = 0xDF31
TAG_BASIC_FOUR_DIGEST = 0xDF32
TAG_INTEGRITY_SIGNATURE = 0xDF33
TAG_CVC = 0x7F21
TAG_CVC_BODY = 0x5F4E
TAG_CVC_SIGNATURE = 0x5F37
TAG_RSA_EXPONENT = 0x90
TAG_RSA_MODULUS = 0x91
TAG_AP_KEY = 0xFF50
TAG_AP_KEY_BODY = 0xDF51
TAG_AP_KEY_SIGNATURE = 0xDF52

#: ISO 5218 / JIS X 0303 sex codes (protocol §4.1).
SEX_CODES = frozenset({"0", "1", "2", "9"})
_KEY_ID_LENGTH = 16
_MAX_RSA_BYTES = 512  # RSA-4096; the card uses RSA-2048 (protocol §4.4)


@dataclass(frozen=True, slots=True)
class BasicFour:
    """基本4情報 (protocol §4.1). ``digest`` = SHA-256 of DF22..end, compared with DF32 (§4.3)."""

    name: str = field(repr=False)
    address: str = field(repr=False)
    birth_date: dt.date = field(repr=False)
    sex: str = field(repr=False)
    digest: bytes = field(repr=False)


def _utf8(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCardDataError(f"{what} is not UTF-8") from None


def parse_date_yyyymmdd(value: bytes, what: str) -> dt.date:
    """Decode 8 ASCII digits YYYYMMDD into a date."""
    if len(value) != 8 or not value.isdigit():
        raise MalformedCardDataError(f"{what} is not 8 ASCII digits")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise MalformedCardDataError(f"{what} is not a calendar date") from None


def parse_basic_four(data: bytes) -> BasicFour:
    """Parse EF 0002 of the card-info AP, validating the DF21 offset table against the tags."""
    outer = tlv.parse_one(data)
    if outer.tag != TAG_BASIC_FOUR:
        raise MalformedCardDataError("basic four record does not start with FF20")
    items = tlv.children(outer)
    wanted = (TAG_OFFSETS, TAG_NAME, TAG_ADDRESS, TAG_BIRTH_DATE, TAG_SEX)
    if set(items) != set(wanted):
        raise MalformedCardDataError("basic four record does not hold exactly DF21-DF25")
    offsets_value = items[TAG_OFFSETS].value
    if len(offsets_value) != 8:
        raise MalformedCardDataError("DF21 offset table is not 8 bytes")
    offsets = [int.from_bytes(offsets_value[i : i + 2], "big") for i in range(0, 8, 2)]
    # Offsets are from the start of the file to each tag (protocol §4.1): check every one.
    for offset, tag in zip(offsets, wanted[1:], strict=True):
        if items[tag].offset != offset:
            raise MalformedCardDataError("DF21 offset table does not match the record")
    sex = items[TAG_SEX].value
    if len(sex) != 1 or sex.decode("latin-1") not in SEX_CODES:
        raise MalformedCardDataError("DF25 is not an ISO 5218 sex code")
    return BasicFour(
        name=_utf8(items[TAG_NAME].value, "DF22 name"),
        address=_utf8(items[TAG_ADDRESS].value, "DF23 address"),
        birth_date=parse_date_yyyymmdd(items[TAG_BIRTH_DATE].value, "DF24 birth date"),
        sex=sex.decode("ascii"),
        digest=hashlib.sha256(data[offsets[0] : outer.end]).digest(),
    )


@dataclass(frozen=True, slots=True)
class IntegrityRecord:
    """EF 0003 (protocol §4.3). ``my_number_digest`` (DF31) stays in memory, never stored or sent."""

    my_number_digest: bytes = field(repr=False)
    basic_four_digest: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    #: The DF31 and DF32 TLVs as written: what DF33 signs.
    signed_data: bytes = field(repr=False)


def parse_integrity_record(data: bytes) -> IntegrityRecord:
    """Parse EF 0003 of the card-info AP: FF30 {DF31 32 B, DF32 32 B, DF33 signature}."""
    outer = tlv.parse_one(data)
    if outer.tag != TAG_INTEGRITY:
        raise MalformedCardDataError("integrity record does not start with FF30")
    parts = tlv.parse_all(outer.value)
    if [p.tag for p in parts] != [TAG_MY_NUMBER_DIGEST, TAG_BASIC_FOUR_DIGEST, TAG_INTEGRITY_SIGNATURE]:
        raise MalformedCardDataError("integrity record is not DF31, DF32, DF33 in order")
    if len(parts[0].value) != 32 or len(parts[1].value) != 32:
        raise MalformedCardDataError("integrity digests are not 32 bytes")
    if not 1 <= len(parts[2].value) <= _MAX_RSA_BYTES:
        raise MalformedCardDataError("integrity signature has an impossible length")
    return IntegrityRecord(
        my_number_digest=parts[0].value,
        basic_four_digest=parts[1].value,
        signature=parts[2].value,
        signed_data=outer.value[: parts[2].offset],
    )


@dataclass(frozen=True, slots=True)
class RsaPublicKey:
    """An RSA public key as the card writes it: ``90`` exponent, ``91`` modulus (protocol §4.3)."""

    exponent: int
    modulus: int


def _parse_rsa_key(value: bytes) -> RsaPublicKey:
    items = tlv.parse_all(value)
    if [p.tag for p in items] != [TAG_RSA_EXPONENT, TAG_RSA_MODULUS]:
        raise MalformedCardDataError("RSA key is not 90 (exponent), 91 (modulus) in order")
    parts = {p.tag: p.value for p in items}
    exponent = int.from_bytes(parts[TAG_RSA_EXPONENT], "big")
    modulus_bytes = parts[TAG_RSA_MODULUS]
    if not 1 <= len(parts[TAG_RSA_EXPONENT]) <= 8 or exponent < 3 or exponent % 2 == 0:
        raise MalformedCardDataError("RSA exponent is not a small odd integer")
    if modulus_bytes[:1] == b"\x00":
        # An ASN.1-style positive-integer 00 is allowed before a modulus whose top bit is set
        # (EF 0007's 0x213-byte size implies one, protocol §4.3), and only then.
        if len(modulus_bytes) < 2 or modulus_bytes[1] < 0x80:
            raise MalformedCardDataError("RSA modulus has a superfluous leading zero")
        modulus_bytes = modulus_bytes[1:]
    if not 64 <= len(modulus_bytes) <= _MAX_RSA_BYTES or modulus_bytes[0] == 0:
        raise MalformedCardDataError("RSA modulus has an impossible length")
    modulus = int.from_bytes(modulus_bytes, "big")
    if modulus % 2 == 0 or exponent >= modulus:
        raise MalformedCardDataError("RSA modulus is not valid")
    return RsaPublicKey(exponent, modulus)


@dataclass(frozen=True, slots=True)
class Cvc:
    """Card-verifiable certificate (EF 0004, protocol §4.3)."""

    issuer_key_id: bytes
    subject_key_id: bytes
    public_key: RsaPublicKey
    #: The 5F4E value: what the 5F37 signature signs.
    body: bytes = field(repr=False)
    signature: bytes = field(repr=False)


def parse_cvc(data: bytes) -> Cvc:
    """Parse a CVC: 7F21 {5F4E issuer-id(16) subject-id(16) 90 e 91 n, 5F37 signature}."""
    outer = tlv.parse_one(data)
    if outer.tag != TAG_CVC:
        raise MalformedCardDataError("CVC does not start with 7F21")
    parts = tlv.parse_all(outer.value)
    if [p.tag for p in parts] != [TAG_CVC_BODY, TAG_CVC_SIGNATURE]:
        raise MalformedCardDataError("CVC is not 5F4E, 5F37 in order")
    body, signature = parts[0].value, parts[1].value
    if len(body) <= 2 * _KEY_ID_LENGTH:
        raise MalformedCardDataError("CVC body too short")
    if not 1 <= len(signature) <= _MAX_RSA_BYTES:
        raise MalformedCardDataError("CVC signature has an impossible length")
    return Cvc(
        issuer_key_id=body[:_KEY_ID_LENGTH],
        subject_key_id=body[_KEY_ID_LENGTH : 2 * _KEY_ID_LENGTH],
        public_key=_parse_rsa_key(body[2 * _KEY_ID_LENGTH :]),
        body=body,
        signature=signature,
    )


@dataclass(frozen=True, slots=True)
class ApPublicKey:
    """EF 0007 of the card-info AP: the AP's own signing key, signed by the CVC key (protocol §4.3)."""

    public_key: RsaPublicKey
    #: The DF51 TLV as written (tag, length, value).
    signed_tlv: bytes = field(repr=False)
    #: The DF51 value only.
    signed_value: bytes = field(repr=False)
    signature: bytes = field(repr=False)


def parse_ap_public_key(data: bytes) -> ApPublicKey:
    """Parse EF 0007: FF50 {DF51 (90 e, 91 n), DF52 signature}."""
    outer = tlv.parse_one(data)
    if outer.tag != TAG_AP_KEY:
        raise MalformedCardDataError("AP key record does not start with FF50")
    parts = tlv.parse_all(outer.value)
    if [p.tag for p in parts] != [TAG_AP_KEY_BODY, TAG_AP_KEY_SIGNATURE]:
        raise MalformedCardDataError("AP key record is not DF51, DF52 in order")
    if not 1 <= len(parts[1].value) <= _MAX_RSA_BYTES:
        raise MalformedCardDataError("AP key signature has an impossible length")
    return ApPublicKey(
        public_key=_parse_rsa_key(parts[0].value),
        signed_tlv=outer.value[: parts[1].offset],
        signed_value=parts[0].value,
        signature=parts[1].value,
    )


def parse_token_label(data: bytes) -> str:
    """The label of JPKI EF 0006: first 32 bytes, ASCII, space padded (protocol §1.1).

    Trailing spaces are stripped (and NULs, which only test dummies use).
    """
    if len(data) < TOKEN_LABEL_LENGTH:
        raise MalformedCardDataError("token info shorter than its 32-byte label")
    raw = data[:TOKEN_LABEL_LENGTH]
    if any((b < 0x20 and b != 0) or b > 0x7E for b in raw):
        raise MalformedCardDataError("token label is not printable ASCII")
    return raw.decode("ascii").rstrip(" \x00")


def der_object(data: bytes) -> bytes:
    """The first DER object of a padded EF (certificate EFs are padded with 00, protocol §2.2)."""
    item = tlv.parse_one(data)
    if item.tag != 0x30:
        raise MalformedCardDataError("DER object is not a SEQUENCE")
    return bytes(data[: item.end])


def tlv_file_length(header: bytes) -> int:
    """Total length (header + value) of the TLV whose header starts ``header`` (a header probe)."""
    _tag, header_length, length = tlv.parse_header(header)
    return header_length + length
