"""How a sealed envelope is identified and stored (still sealed: the database holds no plaintext).

- :func:`envelope_digest`: SHA-256 over ``header_bytes || ct || sig``. A true retry re-sends exactly
  the same envelope, so the same record id with another digest is a conflict, not a duplicate.
- :func:`pack` / :func:`unpack`: 2-byte header length, canonical header, 64-byte signature,
  ciphertext. Opening a stored envelope later needs the server's HPKE key, which lives outside the
  database.
"""

from __future__ import annotations

import hashlib
import json

from sync.wire import Envelope


def envelope_digest(header: bytes, ct: bytes, sig: bytes) -> bytes:
    """SHA-256 identifying one sealed envelope (``header`` is its canonical header bytes)."""
    return hashlib.sha256(header + ct + sig).digest()


def pack(header: bytes, ct: bytes, sig: bytes) -> bytes:
    """The storage form of an envelope whose canonical header bytes are ``header``."""
    return len(header).to_bytes(2, "big") + header + sig + ct


def unpack(blob: bytes) -> Envelope:
    """Inverse of :func:`pack`."""
    size = int.from_bytes(blob[:2], "big")
    header = json.loads(blob[2 : 2 + size])
    return Envelope(
        record_id=header["record_id"],
        kiosk_id=header["kiosk_id"],
        seq=header["seq"],
        created_at=header["created_at"],
        program_id=header["program_id"],
        ct=bytes(blob[2 + size + 64 :]),
        sig=bytes(blob[2 + size : 2 + size + 64]),
        v=header["v"],
    )
