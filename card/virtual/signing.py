"""The card's RSA private operations for COMPUTE DIGITAL SIGNATURE ``80 2A`` (mynacard-protocol.md §2.3).

P1 selects the scheme: ``00`` PKCS#1 v1.5 over the data as supplied (a DigestInfo, 1-245 bytes),
``01`` card hashes (SHA-256) and signs the bare hash, ``02`` data is a hash and the card wraps the
DigestInfo, ``03`` card hashes and wraps, ``04`` PSS over a supplied hash, ``05`` card hashes then PSS.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

#: SHA-256 DigestInfo prefix (§2.3).
SHA256_DIGEST_INFO = bytes.fromhex("3031300D060960864801650304020105000420")
_MAX_PKCS1_INPUT = 256 - 11  # §2.3: P1=00 takes 1-245 bytes


def rsa_pkcs1_raw(key: rsa.RSAPrivateKey, payload: bytes) -> bytes:
    """PKCS#1 v1.5 type-1 padding of ``payload`` as given, then the RSA private operation (§2.3 P1=00).

    ``cryptography`` only signs digests, so the private operation is done with the CRT numbers.
    """
    numbers = key.private_numbers()
    public = numbers.public_numbers
    size = (public.n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(payload)) + b"\x00" + payload
    m = int.from_bytes(block, "big")
    m1 = pow(m, numbers.dmp1, numbers.p)
    m2 = pow(m, numbers.dmq1, numbers.q)
    h = (numbers.iqmp * (m1 - m2)) % numbers.p
    return (m2 + h * numbers.q).to_bytes(size, "big")


def sign(key: rsa.RSAPrivateKey, scheme: int, data: bytes) -> bytes | None:
    """The six P1 schemes of §2.3; None for out-of-range input (→ 6700)."""
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    if scheme == 0x00:  # PKCS#1 v1.5 over the data as supplied (a DigestInfo)
        if len(data) == 51 and data.startswith(SHA256_DIGEST_INFO):
            # same bytes as the raw operation (v1.5 is deterministic), via OpenSSL: ~5x faster
            return key.sign(data[19:], padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        return rsa_pkcs1_raw(key, data) if 1 <= len(data) <= _MAX_PKCS1_INPUT else None
    if scheme == 0x01:  # card hashes, signs the bare hash
        return rsa_pkcs1_raw(key, hashlib.sha256(data).digest()) if len(data) <= 255 else None
    if scheme == 0x02:  # data = hash, card wraps the DigestInfo
        return rsa_pkcs1_raw(key, SHA256_DIGEST_INFO + data) if len(data) == 32 else None
    if scheme == 0x03:  # card hashes and wraps
        if not 1 <= len(data) <= 255:
            return None
        return rsa_pkcs1_raw(key, SHA256_DIGEST_INFO + hashlib.sha256(data).digest())
    if scheme == 0x04:  # PSS over the supplied hash
        return key.sign(data, pss, utils.Prehashed(hashes.SHA256())) if len(data) == 32 else None
    if not 1 <= len(data) <= 255:  # 0x05: card hashes, then PSS
        return None
    return key.sign(data, pss, hashes.SHA256())
