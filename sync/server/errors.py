"""The typed error tree of the reference central server.

Messages never carry personal data: they name a file, a table, a device id or a reason code, never a
resident's name, address, birth date or certificate contents.

    ServerError
    ├── ServerConfigError           the data directory, programmes or trust file are unusable
    │   └── NotInitializedError     ``madoguchi server init`` has not been run for this directory
    ├── StorageError                the database failed (connection, migration, constraint we did not expect)
    │   ├── UnsupportedDatabaseError   ``--db`` is neither ``sqlite:///`` nor ``postgresql://``
    │   └── MigrationError          a numbered migration failed or the schema is newer than the code
    ├── EnrollmentError             an enrollment token is unknown, used or expired
    │   ├── InvalidDeviceKeyError   the offered Ed25519 key is not a canonical prime-order point
    │   └── DeviceRevokedError      the kiosk id was revoked: it cannot enroll again
    ├── DeviceConflictError         a kiosk id is already enrolled with another device key
    ├── UnknownDeviceError          a device id that was never enrolled
    ├── DeviceRefusedError          an upload from an unknown (401) or revoked (403) device
    ├── AuditChainError             the audit log's hash chain does not verify
    ├── AuditCheckpointError        an audit checkpoint is malformed or signed by another key
    ├── lottery.LotteryError        not a lottery, before the draw date, or drawn with another seed
    ├── admin.AdminError            a review item that does not exist or is resolved
    ├── exports.ReportError         a malformed month or export format
    └── opening.RecordNotFoundError no stored registration with that record id

The last four live beside the code that raises them.
"""

from __future__ import annotations


class ServerError(Exception):
    """Base of every error raised by :mod:`sync.server`."""


class ServerConfigError(ServerError):
    """Raised when the server's data directory, programme directory or trust file cannot be used."""


class NotInitializedError(ServerConfigError):
    """Raised when a command needs the server keys but ``madoguchi server init`` was never run."""


class StorageError(ServerError):
    """Raised when the database cannot be reached or answers in a way the server cannot handle."""


class UnsupportedDatabaseError(StorageError):
    """Raised when a database URL names an engine the server does not support."""


class DatabaseEncodingError(StorageError):
    """The PostgreSQL database is not UTF-8: psycopg would hand back names as bytes (issue 10)."""


class MigrationError(StorageError):
    """Raised when a migration fails, or the database schema is newer than this code knows."""


class EnrollmentError(ServerError):
    """Raised when an enrollment token is unknown, already used or expired.

    The three cases are deliberately one class with one message so that an attacker probing tokens
    learns nothing about which tokens exist.
    """


class InvalidDeviceKeyError(EnrollmentError):
    """Raised when an enrollment offers an Ed25519 public key that is not a canonical encoding of a
    point of prime order (identity, small-order, mixed-order or off-curve points; HTTP 400).

    With the identity point as a device key, a constant signature verified for any message (issue
    14): such a key proves nothing about who sent a record.
    """


class DeviceRevokedError(EnrollmentError):
    """Raised when a revoked kiosk id tries to enroll again (HTTP 403): revocation is final."""


class DeviceConflictError(ServerError):
    """Raised when a kiosk id is already enrolled with a different device key (HTTP 409)."""


class UnknownDeviceError(ServerError):
    """Raised when an admin action names a device id that was never enrolled."""


class DeviceRefusedError(ServerError):
    """Raised when the uploading device is unknown (``unknown=True``, HTTP 401) or revoked (403)."""

    def __init__(self, device_id: str, *, unknown: bool) -> None:
        super().__init__(f"device {device_id!r} is {'not enrolled' if unknown else 'revoked'}")
        self.unknown = unknown


class AuditCheckpointError(ServerError):
    """Raised when an audit checkpoint file is malformed, or its signature does not verify with
    this server's audit key (``sync.server.checkpoints``)."""


class AuditChainError(ServerError):
    """Raised when the audit log's hash chain is broken at ``sequence`` (tampering or corruption)."""

    def __init__(self, sequence: int) -> None:
        super().__init__(f"audit chain broken at entry {sequence}")
        self.sequence = sequence
