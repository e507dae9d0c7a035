"""Seal a registration for the central server, and open it there (``docs/wire-format.md``).

Sealing is HPKE base mode (RFC 9180) to the server's pinned X25519 public key, with the envelope's
canonical header bound into the HPKE ``info``, followed by an Ed25519 device signature over
``header_bytes || ct``. The kiosk holds only the server's *public* key, so it cannot read its own
queue back: a stolen kiosk disk reveals no resident data.

Opening checks in the cheapest-first, least-trusting order: header shape, then the device signature
(origin), then the HPKE decryption (which also proves the header was not changed after sealing).

Error tree::

    SealingError                    base of everything this module raises
    ├── BadHeaderError              the envelope header is malformed or not the expected one
    ├── BadSignatureError           the Ed25519 device signature does not verify
    └── BadCiphertextError          HPKE decryption failed (wrong key, tampered ct, or changed header)
"""

from __future__ import annotations

import datetime as _dt
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from sync.wire import (
    ENVELOPE_VERSION,
    HPKE_INFO_LABEL,
    Envelope,
    EnvelopeFormatError,
    format_timestamp,
)

__all__ = [
    "HPKE_SUITE",
    "BadCiphertextError",
    "BadHeaderError",
    "BadSignatureError",
    "SealingError",
    "decrypt",
    "open_envelope",
    "seal",
    "verify_envelope",
]

#: The HPKE suite of envelope version 1 (see :data:`sync.wire.SUITE_ID`).
HPKE_SUITE: Final = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)


class SealingError(Exception):
    """Base of the sealing errors; messages never contain plaintext or key material."""


class BadHeaderError(SealingError):
    """Raised when an envelope's header is malformed, of an unknown version, or not the expected one."""


class BadSignatureError(SealingError):
    """Raised when the Ed25519 device signature over ``header_bytes || ct`` does not verify."""


class BadCiphertextError(SealingError):
    """Raised when HPKE decryption fails: wrong server key, tampered ciphertext or a changed header."""


def seal(
    plaintext: bytes,
    *,
    record_id: str,
    kiosk_id: str,
    seq: int,
    program_id: str,
    server_public_key: X25519PublicKey,
    device_key: Ed25519PrivateKey,
    created_at: _dt.datetime | str | None = None,
) -> Envelope:
    """Encrypt ``plaintext`` to the server and sign the result with the device key.

    :param plaintext: opaque bytes (the canonical JSON of the card-signed registration).
    :param created_at: an aware datetime or an already formatted RFC 3339 UTC string; now by default.
    :raises BadHeaderError: if a header field does not follow the wire format.
    """
    if created_at is None:
        created_at = _dt.datetime.now(_dt.UTC)
    stamp = created_at if isinstance(created_at, str) else format_timestamp(created_at)
    header_only = Envelope(
        record_id=record_id,
        kiosk_id=kiosk_id,
        seq=seq,
        created_at=stamp,
        program_id=program_id,
        ct=b"",
        sig=bytes(64),
    )
    _validate_header(header_only)
    header = header_only.header_bytes()  # once: it feeds both the HPKE info and the signature
    ct = HPKE_SUITE.encrypt(plaintext, server_public_key, info=HPKE_INFO_LABEL + header)
    sig = device_key.sign(header + ct)
    return Envelope(
        record_id=record_id,
        kiosk_id=kiosk_id,
        seq=seq,
        created_at=stamp,
        program_id=program_id,
        ct=ct,
        sig=sig,
    )


def _validate_header(envelope: Envelope) -> None:
    """The strict parser's header rules, so a sealed envelope always parses on the server."""
    try:
        envelope.check_header()
    except EnvelopeFormatError as exc:
        raise BadHeaderError(str(exc)) from None


def verify_envelope(
    envelope: Envelope | object,
    *,
    device_public_key: Ed25519PublicKey,
    expected_kiosk_id: str | None = None,
) -> Envelope:
    """Check the header and the device signature without decrypting.

    :param envelope: an :class:`Envelope` or its raw JSON object (parsed strictly here).
    :param expected_kiosk_id: when given, the header's ``kiosk_id`` must equal it (the uploader's id).
    :raises BadHeaderError: malformed header or a kiosk id other than the expected one.
    :raises BadSignatureError: the signature does not verify with ``device_public_key``.
    """
    if not isinstance(envelope, Envelope):
        try:
            envelope = Envelope.from_json(envelope)
        except EnvelopeFormatError as exc:
            raise BadHeaderError(str(exc)) from None
    if envelope.v != ENVELOPE_VERSION:
        raise BadHeaderError("unsupported envelope version")
    if expected_kiosk_id is not None and envelope.kiosk_id != expected_kiosk_id:
        raise BadHeaderError("kiosk_id does not match the uploading device")
    try:
        device_public_key.verify(envelope.sig, envelope.signed_bytes())
    except InvalidSignature:
        raise BadSignatureError("device signature does not verify") from None
    return envelope


def decrypt(ct: bytes, *, header: bytes, server_private_key: X25519PrivateKey) -> bytes:
    """Open the HPKE ciphertext of an envelope whose canonical header is ``header``.

    The one place an envelope is decrypted: :func:`open_envelope`, the server's ingest
    (``sync/server/verify.py``, which has verified the signature and built the header already) and
    the audited operator opening all call it, so the opener the tests exercise is the one in
    production.

    :raises BadCiphertextError: wrong key, tampered ciphertext or a header other than the sealed one.
    """
    try:
        return HPKE_SUITE.decrypt(ct, server_private_key, info=HPKE_INFO_LABEL + header)
    except (InvalidTag, ValueError):  # any failure to open is the same answer; bugs still surface
        raise BadCiphertextError("HPKE decryption failed") from None


def open_envelope(
    envelope: Envelope | object,
    *,
    server_private_key: X25519PrivateKey,
    device_public_key: Ed25519PublicKey,
    expected_kiosk_id: str | None = None,
) -> bytes:
    """Verify and decrypt one envelope on the server; return the plaintext bytes.

    :raises BadHeaderError: see :func:`verify_envelope`.
    :raises BadSignatureError: see :func:`verify_envelope`.
    :raises BadCiphertextError: HPKE decryption failed.
    """
    checked = verify_envelope(
        envelope, device_public_key=device_public_key, expected_kiosk_id=expected_kiosk_id
    )
    return decrypt(checked.ct, header=checked.header_bytes(), server_private_key=server_private_key)
