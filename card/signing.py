"""COMPUTE DIGITAL SIGNATURE as both applications answer it (protocol §2.3): the kiosk builds
DigestInfo(SHA-256(data)), the card PKCS#1-v1.5-pads it and signs with the key named in P2, and
256 bytes come back. The JPKI auth key signs the registration record; the card-info AP's own key
signs the genuineness challenge.
"""

from __future__ import annotations

import hashlib

from card.apdu import ApduProtocol, CommandApdu
from card.constants import (
    CLA_PROPRIETARY,
    INS_COMPUTE_SIGNATURE,
    P1_SIGN_PKCS1_AS_SUPPLIED,
    SHA256_DIGEST_INFO_PREFIX,
)
from card.errors import MalformedCardDataError

#: RSA-2048 signature length (§2.3).
SIGNATURE_LENGTH = 256


def sha256_digest_info(data: bytes) -> bytes:
    """DigestInfo(SHA-256(data)): what the card PKCS#1-v1.5-pads and signs with P1=00 (§2.3)."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()


def compute_signature(protocol: ApduProtocol, p2: int, data: bytes) -> bytes:
    """``80 2A 00 <p2>`` over DigestInfo(SHA-256(``data``)): verifies as PKCS#1 v1.5 SHA-256 of
    ``data`` with the key that ``p2`` names. Status words raise as :meth:`ApduProtocol.send` maps
    them (the caller knows what a 6982 means for its key).

    :raises MalformedCardDataError: the card's answer is not a 256-byte signature.
    """
    command = CommandApdu(
        CLA_PROPRIETARY,
        INS_COMPUTE_SIGNATURE,
        P1_SIGN_PKCS1_AS_SUPPLIED,
        p2,
        sha256_digest_info(data),
        le=256,
    )
    signature, _sw = protocol.send(command)
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedCardDataError("the card's signature is not 256 bytes")
    return signature
