"""EF contents and certificates: byte-exact vectors (§4.1, §4.2), verifiable signatures (§4.3, §4.4)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from card.virtual import efs, testpki
from card.virtual.certificates import SAN_ADDRESS, SAN_BIRTH_DATE, SAN_NAME, SAN_SEX
from card.virtual.image import build_image
from card.virtual.persona import load_persona

ROOT = Path(__file__).resolve().parents[2]

# mynacard-protocol.md §4.1: EF 0002 of a J-LIS test card.
JLIS_BASIC_FOUR = bytes.fromhex(
    "FF2065DF2108000E002000590064DF220FE9BB92E6A190E38080E5B9B9E4B99F"
    "DF2336E69DB1E4BAACE983BDE6B885E780ACE5B882E8A6B3E5B883E5AD90E58D"
    "97EFBC91EFBC92EFBC8DEFBC97EFBC8DEFBC92EFBC90EFBC92DF240831393830"
    "30323137DF250131"
)


def _pkcs1_verify(key: rsa.RSAPublicKey, signature: bytes, data: bytes) -> None:
    key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def test_jlis_basic_four_is_the_104_byte_vector_padded_with_ff() -> None:
    image = build_image(load_persona("jlis-test"))
    ef = image.file_data("card_info", 0x0002)
    assert len(JLIS_BASIC_FOUR) == 104
    assert ef[:104] == JLIS_BASIC_FOUR
    assert set(ef[104:]) == {0xFF}


def test_my_number_ef_is_the_17_byte_reference() -> None:
    image = build_image(load_persona("jlis-test"))
    assert image.file_data("card_info", 0x0001) == bytes.fromhex("FF100C353337363836363737313838FFFF")


def test_long_address_uses_long_form_lengths_and_exceeds_256_bytes() -> None:
    image = build_image(load_persona("miyagi-long-address"))
    ef = image.file_data("card_info", 0x0002)
    assert ef[:3] == b"\xff\x20\x82"
    length = int.from_bytes(ef[3:5], "big")
    assert 5 + length > 256
    offsets = efs.basic_four_offsets(ef)
    assert [ef[o : o + 2] for o in offsets] == [b"\xdf\x22", b"\xdf\x23", b"\xdf\x24", b"\xdf\x25"]
    assert ef[offsets[1] + 2] == 0x81  # DF23 long form


def test_integrity_record_matches_the_derived_digests_and_verifies_with_the_cvc() -> None:
    image = build_image(load_persona("jlis-test"))
    record = image.file_data("card_info", 0x0003)
    assert len(record) == 336
    assert record[:5] == bytes.fromhex("FF3082014B")
    # §4.3 [derived] digests for the test vector.
    assert record[8:40].hex() == "6d5a4c1ef9ab15bf506862d7e66b9c0f179ca065bc936c8e634e9e57449ca9cd"
    assert record[43:75].hex() == "b9e0d09427b23b1d4beda2848512b4103752dc2667e51f9712872d65f472cb3b"
    cvc = image.file_data("card_info", 0x0004)
    assert cvc[:5] == bytes.fromhex("7F21820233")
    assert len(cvc) == 568
    body = cvc[10 : 10 + 297]
    assert body[:16] == testpki.CVC_CA_KEY_ID
    anchor = serialization.load_pem_public_key((ROOT / "config/trust/test/cvc-ca-9999993.pem").read_bytes())
    assert isinstance(anchor, rsa.RSAPublicKey)
    _pkcs1_verify(anchor, cvc[-256:], body)
    modulus = int.from_bytes(body[-256:], "big")
    cvc_key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    _pkcs1_verify(cvc_key, record[80:], record[5:75])


def test_signed_ap_key_ef_0007_verifies_with_the_cvc_key() -> None:
    image = build_image(load_persona("miyagi-sendai"))
    ef = image.file_data("card_info", 0x0007)
    assert ef[:5] == bytes.fromhex("FF50820213")
    df51 = ef[5 : 5 + 270]
    assert df51[:5] == bytes.fromhex("DF51820109")
    _pkcs1_verify(image.cvc_public_key, ef[-256:], df51)
    assert int.from_bytes(df51[-256:], "big") == image.card_info_public_key.public_numbers().n


def test_token_and_certificate_availability_efs() -> None:
    image = build_image(load_persona("jlis-test"))
    token = image.file_data("jpki", 0x0006)
    assert len(token) == 160
    assert token[:32] == b"JPKIAPICCTOKEN2".ljust(32, b" ")
    assert image.file_data("jpki", 0x0008) == bytes.fromhex("8F8F00")


def test_auth_certificate_chains_to_the_test_root_and_carries_no_personal_data() -> None:
    persona = load_persona("jlis-test")
    image = build_image(persona)
    cert = image.auth_certificate
    root = x509.load_pem_x509_certificate((ROOT / "config/trust/test/jpki-auth-root.pem").read_bytes())
    cert.verify_directly_issued_by(root)
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    assert [a.oid._name for a in cert.subject] == ["countryName", "commonName"]
    assert persona.name not in cert.subject.rfc4514_string()
    assert "JPKI-TEST" in root.subject.rfc4514_string()
    der = cert.public_bytes(serialization.Encoding.DER)
    assert image.file_data("jpki", 0x000A)[: len(der)] == der
    assert set(image.file_data("jpki", 0x000A)[len(der) :]) == {0}


def test_sign_certificate_carries_the_basic_four_as_utf8_other_names() -> None:
    persona = load_persona("miyagi-elderly")
    cert = build_image(persona).sign_certificate
    root = x509.load_pem_x509_certificate((ROOT / "config/trust/test/jpki-sign-root.pem").read_bytes())
    cert.verify_directly_issued_by(root)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    values = {
        name.type_id: core.UTF8String.load(name.value).native
        for name in san.get_values_for_type(x509.OtherName)
    }
    assert len(values) == 6
    assert values[SAN_NAME] == persona.name
    assert values[SAN_ADDRESS] == persona.address
    assert values[SAN_SEX] == "2"
    assert values[SAN_BIRTH_DATE] == "319280303"  # 昭和 = era 3


def test_certificate_validity_comes_from_the_persona() -> None:
    cert = build_image(load_persona("miyagi-expired-cert")).auth_certificate
    assert cert.not_valid_after_utc == dt.datetime(2026, 1, 31, 14, 59, 59, tzinfo=dt.UTC)
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)


def test_certificates_are_deterministic_across_builds() -> None:
    from card.virtual import certificates

    persona = load_persona("miyagi-sendai")
    key = testpki.card_keys(persona.id).auth.public_key()
    first = certificates.auth_certificate(persona, key).public_bytes(serialization.Encoding.DER)
    second = certificates.auth_certificate(persona, key).public_bytes(serialization.Encoding.DER)
    assert first == second
    assert (
        hashlib.sha256(first).digest()
        != hashlib.sha256(
            build_image(load_persona("jlis-test")).auth_certificate.public_bytes(serialization.Encoding.DER)
        ).digest()
    )


def test_test_key_material_is_marked_test_only() -> None:
    key_files = list((ROOT / "card/virtual/testpki").rglob("*.pem"))
    private = [p for p in key_files if b"PRIVATE KEY" in p.read_bytes()]
    assert private
    assert all("TEST-ONLY" in p.name for p in private)
    production = list((ROOT / "config/trust/production").glob("*"))
    anchors = {p.read_bytes() for p in (ROOT / "config/trust/test").glob("*.pem")}
    assert not anchors & {p.read_bytes() for p in production}


def test_ap_basic_info_layout() -> None:
    """§4.3: FF40 {DF41 01 03 0E 01, DF42 key id (not the CVC holder), DF43 32 bytes + 96 FF} + FF filler."""
    image = build_image(load_persona("jlis-test"))
    ef = image.file_data("card_info", 0x0005)
    assert ef[:4] == bytes.fromhex("FF40819E")
    assert ef[4:11] == bytes.fromhex("DF410401030E01")
    assert ef[11:14] == bytes.fromhex("DF4210")
    cvc_holder = image.file_data("card_info", 0x0004)[10 + 16 : 10 + 32]
    assert ef[14:30] != cvc_holder
    assert ef[30:34] == bytes.fromhex("DF438180")
    assert ef[66:162] == b"\xff" * 96
    assert set(ef[162:]) == {0xFF}
