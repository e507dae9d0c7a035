"""COMPUTE DIGITAL SIGNATURE ``80 2A`` (mynacard-protocol.md §2.3, §8 item 5)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from .conftest import AID_CARD_INFO, AID_JPKI, Transmit, select_ap, select_ef, verify

DIGEST_INFO = bytes.fromhex("3031300D060960864801650304020105000420")
MESSAGE = b"madoguchi registration record"


def _sign_apdu(p1: int, p2: int, data: bytes) -> str:
    return f"802A{p1:02X}{p2:02X}{len(data):02X}{data.hex()}00"


def _auth_key(tx: Transmit) -> rsa.RSAPublicKey:
    public = tx.connection.card.image.auth_certificate.public_key()  # type: ignore[attr-defined]
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def test_auth_key_needs_the_pin_then_signs_a_digest_info(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(select_ef(0x0017))
    digest_info = DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    assert tx(_sign_apdu(0x00, 0x80, digest_info))[1] == 0x6982
    assert tx(verify("1234", p2=0x98))[1] == 0x9000
    signature, sw = tx(_sign_apdu(0x00, 0x80, digest_info))
    assert sw == 0x9000
    assert len(signature) == 256
    _auth_key(tx).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    # P2 naming the key gives a byte-identical signature without the SELECT (§2.3)
    tx(select_ef(0x000A))
    assert tx(_sign_apdu(0x00, 0x97, digest_info)) == (signature, 0x9000)


def test_sign_key_needs_the_signature_password(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(verify("1234", p2=0x98))
    data = DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    assert tx(_sign_apdu(0x00, 0x9A, data))[1] == 0x6982
    tx(verify("JLISTEST1", p2=0x9B))
    signature, sw = tx(_sign_apdu(0x00, 0x9A, data))
    assert sw == 0x9000
    public = tx.connection.card.image.sign_certificate.public_key()  # type: ignore[attr-defined]
    public.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("p1", [0x01, 0x02, 0x03, 0x04, 0x05])
def test_p1_schemes(tx: Transmit, p1: int) -> None:
    tx(select_ap(AID_JPKI))
    tx(verify("1234", p2=0x98))
    digest = hashlib.sha256(MESSAGE).digest()
    data = digest if p1 in (0x02, 0x04) else MESSAGE
    signature, sw = tx(_sign_apdu(p1, 0x97, data))
    assert sw == 0x9000
    key = _auth_key(tx)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    if p1 == 0x01:
        # bare hash, PKCS#1 v1.5 padded: recover the block with the public key
        numbers = key.public_numbers()
        block = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(256, "big")
        assert block.endswith(b"\x00" + digest)
        assert block.startswith(b"\x00\x01\xff")
    elif p1 in (0x02, 0x03):
        key.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    elif p1 == 0x04:
        key.verify(signature, digest, pss, utils.Prehashed(hashes.SHA256()))
    else:
        key.verify(signature, MESSAGE, pss, hashes.SHA256())


def test_bad_p1_p2_and_lengths(tx: Transmit) -> None:
    tx(select_ap(AID_JPKI))
    tx(verify("1234", p2=0x98))
    assert tx(_sign_apdu(0x06, 0x97, b"x"))[1] == 0x6A86
    assert tx(_sign_apdu(0x00, 0x00, b"x"))[1] == 0x6A86  # JPKI has no own-key form
    assert tx(_sign_apdu(0x00, 0x40, b"x"))[1] == 0x6A86
    assert tx(_sign_apdu(0x02, 0x97, b"short"))[1] == 0x6700
    assert tx(_sign_apdu(0x00, 0x97, b"x" * 246))[1] == 0x6700
    assert tx("802A0097")[1] == 0x6700
    assert tx(_sign_apdu(0x00, 0x80, b"x"))[1] == 0x6986  # no current EF
    tx(select_ef(0x000A))
    assert tx(_sign_apdu(0x00, 0x80, b"x"))[1] == 0x6981  # current EF is not a key


def test_card_info_ap_signs_the_genuineness_challenge_without_a_pin(tx: Transmit) -> None:
    tx(select_ap(AID_CARD_INFO))
    challenge = DIGEST_INFO + hashlib.sha256(b"nonce").digest()
    signature, sw = tx(_sign_apdu(0x00, 0x00, challenge))
    assert sw == 0x9000
    key = tx.connection.card.image.card_info_public_key  # type: ignore[attr-defined]
    key.verify(signature, b"nonce", padding.PKCS1v15(), hashes.SHA256())


def test_digest_info_fast_path_equals_the_raw_private_operation(tx: Transmit) -> None:
    from card.virtual.signing import rsa_pkcs1_raw

    tx(select_ap(AID_JPKI))
    tx(verify("1234", p2=0x98))
    digest_info = DIGEST_INFO + hashlib.sha256(MESSAGE).digest()
    signature, sw = tx(_sign_apdu(0x00, 0x97, digest_info))
    assert sw == 0x9000
    key = tx.connection.card.image.application("jpki").files[0x17].key  # type: ignore[attr-defined]
    assert rsa_pkcs1_raw(key, digest_info) == signature
