"""The upload signature check (libsodium since issue 14's ingest CPU work) refuses what it must."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.server.verify import device_signature_ok


def test_a_real_signature_verifies_and_any_change_refuses() -> None:
    key = Ed25519PrivateKey.generate()
    other = Ed25519PrivateKey.generate().public_key()
    message = os.urandom(300)
    sig = key.sign(message)
    assert device_signature_ok(key.public_key(), sig, message)
    assert not device_signature_ok(other, sig, message)  # another device's key
    assert not device_signature_ok(key.public_key(), sig, message + b"x")
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert not device_signature_ok(key.public_key(), flipped, message)


def test_a_short_signature_cannot_borrow_bytes_from_the_message() -> None:
    """crypto_sign_open reads the first 64 bytes as the signature; a 63-byte one must not verify
    a message whose first byte completes a real signature."""
    key = Ed25519PrivateKey.generate()
    tail = os.urandom(100)
    sig = key.sign(tail)
    assert not device_signature_ok(key.public_key(), sig[:63], sig[63:] + tail)
    assert not device_signature_ok(key.public_key(), b"", sig + tail)
