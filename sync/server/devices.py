"""Kiosk devices: one-time enrollment tokens, enrollment, listing and revocation.

A device is a kiosk id bound to one Ed25519 public key. The kiosk id is also the device id, because
the envelope header and the ``X-Madoguchi-Device`` header carry the kiosk id. Tokens are random,
shown once, stored only as SHA-256, expire after a day by default and are consumed by the first
enrollment (a retry with the same token, kiosk id and key returns the same answer, so a kiosk that
lost the reply can enroll again).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sync.server.audit import AuditEvent, append
from sync.server.db import Database, as_datetime
from sync.server.errors import (
    DeviceConflictError,
    DeviceRevokedError,
    EnrollmentError,
    InvalidDeviceKeyError,
    UnknownDeviceError,
)

DEFAULT_TOKEN_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Device:
    """One enrolled kiosk."""

    device_id: str
    name: str
    public_key: bytes
    enrolled_at: datetime
    revoked_at: datetime | None
    last_sequence: int

    def to_json(self) -> dict[str, object]:
        """Operator view (no secrets: the public key is public)."""
        return {
            "device_id": self.device_id,
            "name": self.name,
            "public_key": self.public_key.hex(),
            "enrolled_at": self.enrolled_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_sequence": self.last_sequence,
        }


def _hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_token(db: Database, name: str, *, ttl: timedelta = DEFAULT_TOKEN_TTL, actor: str = "cli") -> str:
    """Create a one-time enrollment token for a kiosk called ``name``; return it (shown once)."""
    token = secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    with db.transaction(exclusive=True) as tx:
        tx.execute(
            "INSERT INTO enrollment_tokens (token_hash, name, created_at, expires_at) VALUES (?, ?, ?, ?)",
            (_hash_token(token), name, now, now + ttl),
        )
        append(
            tx,
            db.dialect,
            [AuditEvent("device.token", actor, {"name": name, "expires": (now + ttl).isoformat()})],
        )
    return token


def check_device_key(public_key: bytes) -> None:
    """Refuse an Ed25519 public key that is not a canonical encoding of a prime-order point.

    ``cryptography`` accepts any 32 bytes as a public key and verifies against them; RFC 8032
    verification with the identity or a small-order point as key accepts forged signatures (issue
    14: a constant signature made a record accepted with no private key). libsodium's
    ``crypto_core_ed25519_is_valid_point`` is the check: on the curve, canonical (``y < p``, no
    negative zero), not of small order and in the prime-order subgroup.

    :raises InvalidDeviceKeyError: the key is refused.
    """
    from nacl.bindings import crypto_core_ed25519_is_valid_point

    if len(public_key) != 32 or not crypto_core_ed25519_is_valid_point(public_key):
        raise InvalidDeviceKeyError("the device key is not a valid Ed25519 public key")


def enroll(db: Database, token: str, kiosk_id: str, public_key: bytes, *, now: datetime | None = None) -> str:
    """Bind ``kiosk_id`` to ``public_key`` with a one-time token; return the device id.

    :raises EnrollmentError: the token is unknown, expired, or was used for another kiosk or key.
    :raises DeviceConflictError: the kiosk id is already enrolled with a different key.
    :raises InvalidDeviceKeyError: the key is not a canonical prime-order Ed25519 point.
    :raises DeviceRevokedError: the kiosk id was revoked (a revoked kiosk never comes back; a
        replacement is enrolled under a new kiosk id).
    """
    check_device_key(public_key)
    moment = now or datetime.now(UTC)
    with db.transaction(exclusive=True) as tx:
        row = tx.one(
            "SELECT name, expires_at, used_at, device_id FROM enrollment_tokens WHERE token_hash = ?",
            (_hash_token(token),),
        )
        if row is None:
            raise EnrollmentError("unknown, used or expired enrollment token")
        name, expires_at, used_at, used_by = row
        existing = tx.one("SELECT public_key, revoked_at FROM devices WHERE device_id = ?", (kiosk_id,))
        if existing is not None and existing[1] is not None:
            raise DeviceRevokedError(f"kiosk {kiosk_id} is revoked")
        if used_at is not None:
            if used_by == kiosk_id and existing is not None and bytes(existing[0]) == public_key:
                return kiosk_id  # the same enrollment retried after a lost reply
            raise EnrollmentError("unknown, used or expired enrollment token")
        if as_datetime(expires_at) <= moment:
            raise EnrollmentError("unknown, used or expired enrollment token")
        if existing is not None:
            if bytes(existing[0]) != public_key:
                raise DeviceConflictError(f"kiosk {kiosk_id} is already enrolled with another key")
        else:
            tx.execute(
                "INSERT INTO devices (device_id, name, public_key, enrolled_at) VALUES (?, ?, ?, ?)",
                (kiosk_id, str(name), public_key, moment),
            )
        tx.execute(
            "UPDATE enrollment_tokens SET used_at = ?, device_id = ? WHERE token_hash = ?",
            (moment, kiosk_id, _hash_token(token)),
        )
        append(
            tx,
            db.dialect,
            [AuditEvent("device.enroll", kiosk_id, {"device_id": kiosk_id, "name": str(name)})],
        )
    return kiosk_id


def _device(row: tuple[object, ...]) -> Device:
    device_id, name, key, enrolled, revoked, last_sequence = row
    return Device(
        device_id=str(device_id),
        name=str(name),
        public_key=bytes(key),  # type: ignore[call-overload]
        enrolled_at=as_datetime(enrolled),
        revoked_at=as_datetime(revoked) if revoked is not None else None,
        last_sequence=int(last_sequence),  # type: ignore[call-overload]
    )


_COLUMNS = "device_id, name, public_key, enrolled_at, revoked_at, last_sequence"


def list_devices(db: Database) -> list[Device]:
    """Every enrolled device, by id."""
    with db.transaction() as tx:
        rows = tx.execute(f"SELECT {_COLUMNS} FROM devices ORDER BY device_id")  # noqa: S608 - constant
    return [_device(r) for r in rows]


def get_device(db: Database, device_id: str) -> Device | None:
    """One device, or ``None``."""
    with db.transaction() as tx:
        row = tx.one(f"SELECT {_COLUMNS} FROM devices WHERE device_id = ?", (device_id,))  # noqa: S608
    return _device(row) if row else None


def revoke_device(db: Database, device_id: str, *, actor: str = "cli", now: datetime | None = None) -> Device:
    """Revoke a device: its uploads are refused from now on (403). Idempotent.

    :raises UnknownDeviceError: no such device.
    """
    moment = now or datetime.now(UTC)
    with db.transaction(exclusive=True) as tx:
        row = tx.one("SELECT revoked_at FROM devices WHERE device_id = ?", (device_id,))
        if row is None:
            raise UnknownDeviceError(f"no device {device_id!r}")
        if row[0] is None:
            tx.execute("UPDATE devices SET revoked_at = ? WHERE device_id = ?", (moment, device_id))
            append(tx, db.dialect, [AuditEvent("device.revoke", actor, {"device_id": device_id})])
    device = get_device(db, device_id)
    if device is None:  # deleted between the two transactions
        raise UnknownDeviceError(f"no device {device_id!r}")
    return device
