"""Byte builders for the EFs of the virtual card, each per mynacard-protocol.md (sections cited).

Pure functions: data in, exact EF bytes out. Padding to the physical EF size is done by
:func:`pad`, separately, because parsers must cope with content shorter than the EF (§2.2).
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Token label of a My Number Card's JPKI AP (§1.1).
TOKEN_LABEL = "JPKIAPICCTOKEN2"  # noqa: S105 - a label, not a secret
#: EF 0008 of the JPKI AP when both certificates are present (§1.1): sign, auth, 00.
CERTIFICATE_AVAILABILITY = bytes.fromhex("8F8F00")


def ber_length(length: int) -> bytes:
    """BER definite length: short form below 128, else ``81 xx`` / ``82 xx xx`` (§4.1, §4.3)."""
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise ValueError("TLV value too long for this card")


def tlv(tag: bytes, value: bytes) -> bytes:
    """One BER TLV with a pre-encoded tag."""
    return tag + ber_length(len(value)) + value


def pad(content: bytes, size: int, filler: int) -> bytes:
    """The physical EF: ``content`` followed by ``filler`` bytes up to ``size`` (§2.2, §8 item 2)."""
    if len(content) > size:
        raise ValueError("EF content larger than the EF")
    return content + bytes([filler]) * (size - len(content))


def my_number_ef(my_number: str) -> bytes:
    """EF 0001 of the card-info AP (§4.2): ``FF 10 0C`` + 12 ASCII digits + ``FF FF`` = 17 bytes."""
    digits = my_number.encode("ascii")
    if len(digits) != 12 or not digits.isdigit():
        raise ValueError("a My Number is 12 ASCII digits")
    return b"\xff\x10\x0c" + digits + b"\xff\xff"


def basic_four(name: str, address: str, birth_yyyymmdd: str, sex: str) -> bytes:
    """EF 0002 content (§4.1): ``FF 20`` { DF21 offsets, DF22 name, DF23 address, DF24, DF25 }.

    The DF21 offsets count from the start of the file to each tag; all text is UTF-8; lengths are
    BER (long form for long addresses). The J-LIS test persona reproduces the 104-byte vector.
    """
    fields = [
        tlv(b"\xdf\x22", name.encode("utf-8")),
        tlv(b"\xdf\x23", address.encode("utf-8")),
        tlv(b"\xdf\x24", birth_yyyymmdd.encode("ascii")),
        tlv(b"\xdf\x25", sex.encode("ascii")),
    ]
    offsets_tlv_size = 3 + 8
    body_size = offsets_tlv_size + sum(len(f) for f in fields)
    header_size = 2 + len(ber_length(body_size))
    offsets = []
    position = header_size + offsets_tlv_size
    for encoded in fields:
        offsets.append(position)
        position += len(encoded)
    offset_table = tlv(b"\xdf\x21", struct.pack(">4H", *offsets))
    return tlv(b"\xff\x20", offset_table + b"".join(fields))


def integrity_record(my_number_file: bytes, basic_four_tlv: bytes, cvc_key: rsa.RSAPrivateKey) -> bytes:
    """EF 0003 (§4.3): ``FF 30 82 01 4B`` { DF31, DF32, DF33 } = 336 bytes.

    DF31 = SHA-256 of the 17-byte physical My Number EF; DF32 = SHA-256 of the basic four from the
    DF22 tag to the end of the FF20 TLV; DF33 = PKCS#1 v1.5 SHA-256 signature, by the card's CVC key,
    over the DF31 and DF32 TLVs as written.
    """
    first_field = basic_four_offsets(basic_four_tlv)[0]
    df31 = tlv(b"\xdf\x31", hashlib.sha256(my_number_file).digest())
    df32 = tlv(b"\xdf\x32", hashlib.sha256(basic_four_tlv[first_field:]).digest())
    signature = cvc_key.sign(df31 + df32, padding.PKCS1v15(), hashes.SHA256())
    record = tlv(b"\xff\x30", df31 + df32 + tlv(b"\xdf\x33", signature))
    assert len(record) == 336
    return record


def basic_four_offsets(basic_four_tlv: bytes) -> tuple[int, int, int, int]:
    """The DF21 offset table of a basic-four TLV made by :func:`basic_four` (§4.1)."""
    first = basic_four_tlv[2]
    header = 3 if first < 0x80 else 3 + (first & 0x7F)
    if basic_four_tlv[header : header + 3] != b"\xdf\x21\x08":
        raise ValueError("not a basic-four TLV")
    a, b, c, d = struct.unpack(">4H", basic_four_tlv[header + 3 : header + 11])
    return a, b, c, d


def rsa_public_body(public_key: rsa.RSAPublicKey) -> bytes:
    """``90 03 01 00 01`` (e) ``91 82 01 00`` (n, 256 bytes): key encoding of CVCs and EF 0006/0007 (§4.3)."""
    numbers = public_key.public_numbers()
    exponent = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    modulus = numbers.n.to_bytes(256, "big")
    return tlv(b"\x90", exponent) + tlv(b"\x91", modulus)


def card_verifiable_certificate(
    authority_key_id: bytes, holder_key_id: bytes, holder: rsa.RSAPublicKey, ca_key: rsa.RSAPrivateKey
) -> bytes:
    """EF 0004 (§4.3): ``7F 21 82 02 33`` { ``5F 4E`` 297 bytes, ``5F 37`` 256-byte signature } = 568 bytes.

    The body is 証明者鍵ID(16) ‖ 被証明者鍵ID(16) ‖ e ‖ n; the CA signs the 297-byte body value
    with PKCS#1 v1.5 SHA-256.
    """
    if len(authority_key_id) != 16 or len(holder_key_id) != 16:
        raise ValueError("CVC key ids are 16 bytes")
    body = authority_key_id + holder_key_id + rsa_public_body(holder)
    signature = ca_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    cvc = tlv(b"\x7f\x21", tlv(b"\x5f\x4e", body) + tlv(b"\x5f\x37", signature))
    assert len(cvc) == 568
    return cvc


def signed_public_key(ap_key: rsa.RSAPublicKey, cvc_key: rsa.RSAPrivateKey) -> bytes:
    """EF 0007 (§4.3): ``FF 50 82 02 13`` { DF51 public key of EF 0013, DF52 signature } = 536 bytes.

    The sources give the container and its size but not the signed bytes; we sign the DF51 TLV as
    written (the same rule as DF33 in EF 0003) with the card's CVC key, PKCS#1 v1.5 SHA-256. The
    0x213 size fits the CVC key encoding (``90 03`` e, ``91 82 01 00`` n). See docs/virtual-card.md.
    """
    df51 = tlv(b"\xdf\x51", rsa_public_body(ap_key))
    signature = cvc_key.sign(df51, padding.PKCS1v15(), hashes.SHA256())
    record = tlv(b"\xff\x50", df51 + tlv(b"\xdf\x52", signature))
    assert len(record) == 536
    return record


def sm_public_key(public_key: rsa.RSAPublicKey) -> bytes:
    """EF 0006 (§1.2): ``A1`` { 90 e, 91 n }: the key that would receive an SM session seed (§5)."""
    return tlv(b"\xa1", rsa_public_body(public_key))


def ap_basic_info(key_id: bytes, extra: bytes) -> bytes:
    """EF 0005 content (§4.3): ``FF 40`` { DF41 ``01 03 0E 01``, DF42 key id, DF43 32 bytes + 96 ``FF`` }."""
    if len(key_id) != 16 or len(extra) != 32:
        raise ValueError("key id is 16 bytes, DF43 data 32 bytes")
    return tlv(
        b"\xff\x40",
        tlv(b"\xdf\x41", bytes.fromhex("01030E01"))
        + tlv(b"\xdf\x42", key_id)
        + tlv(b"\xdf\x43", extra + b"\xff" * 96),
    )


def token_info(label: str = TOKEN_LABEL) -> bytes:
    """EF 0006 of the JPKI AP (§1.1): a 160-byte PKCS#11 ``CK_TOKEN_INFO``, 32-bit big-endian ulongs.

    label(32) manufacturerID(32) model(16) serialNumber(16), 11 ulongs, two versions, utcTime(16);
    text fields are space padded (MYNA-GO and TRET trim spaces).
    """

    def text(value: str, size: int) -> bytes:
        return value.encode("ascii").ljust(size, b" ")

    ckf_token_initialized = 0x400
    ckf_login_required = 0x004
    ulongs = struct.pack(
        ">11I",
        ckf_token_initialized | ckf_login_required,
        0,
        0,
        0,
        0,  # session counts
        16,
        4,  # max / min PIN length
        0,
        0,
        0,
        0,  # memory
    )
    data = (
        text(label, 32)
        + text("JPKI", 32)
        + text("MyNumberCard", 16)
        + text("", 16)
        + ulongs
        + bytes([1, 0, 1, 0])
        + text("", 16)
    )
    assert len(data) == 160
    return data
