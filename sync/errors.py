"""The typed error tree of the kiosk side of ``sync`` (the server has its own in ``sync/server``).

Each class says *when* it is raised and what the caller should do. Messages name files, fields,
HTTP statuses and error codes; they never carry plaintext, key material or personal data.

    SyncError
    ├── DeviceError                     device identity on disk (keys, pinned server key)
    │   ├── NotEnrolledError            no device key or no pinned server key yet: run ``enroll``
    │   ├── InsecureKeyFileError        a key file is readable by group/others, or not a regular file
    │   ├── KeyFileError                a key file is unreadable or corrupt
    │   └── ServerKeyMismatchError      enrollment returned a different server key than the pinned one
    ├── OutboxError                     the SQLite outbox
    │   ├── DuplicateRecordError        ``enqueue`` got a record id that is already queued
    │   ├── InvalidRecordError          ``enqueue`` got a record or programme id the wire format refuses
    │   ├── OutboxStorageError          SQLite failed (disk full, I/O error, corrupt file)
    │   └── SchemaVersionError          the file was written by a newer version of this program
    └── TransferError                   talking to the server (``sync.client``)
        ├── InsecureURLError            plain http:// to a non-loopback host: refuse, fix the config
        ├── SyncTransportError          network error or timeout: retry with backoff
        │   └── SyncCertificateError    the server's TLS certificate did not verify: retry and alert
        ├── SyncServerError             5xx: retry with backoff
        │   └── SyncThrottledError      429 or 503 (``retry_after`` seconds): wait, then retry
        ├── SyncRejectedError           4xx other than 413/429: the request itself is refused; alert
        │   └── PayloadTooLargeError    413: split the batch and retry
        └── SyncProtocolError           the reply is malformed or inconsistent: retry later and alert

The errors ``Outbox.enqueue`` raises also derive from the refusals the kiosk's queue port promises
(``kiosk.ports``), so the kiosk runner catches them without importing ``sync``:
``NotEnrolledError`` is a ``QueueNotEnrolledError``, ``DuplicateRecordError`` a ``QueueDuplicateError``,
``InvalidRecordError`` a ``QueueInvalidRecordError`` and ``OutboxStorageError`` a ``QueueUnavailableError``.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.ports import (
    QueueDuplicateError,
    QueueInvalidRecordError,
    QueueNotEnrolledError,
    QueueUnavailableError,
)

__all__ = [
    "DeviceError",
    "DuplicateRecordError",
    "InsecureKeyFileError",
    "InsecureURLError",
    "InvalidRecordError",
    "KeyFileError",
    "NotEnrolledError",
    "OutboxError",
    "OutboxStorageError",
    "PayloadTooLargeError",
    "SchemaVersionError",
    "ServerKeyMismatchError",
    "SyncCertificateError",
    "SyncError",
    "SyncProtocolError",
    "SyncRejectedError",
    "SyncServerError",
    "SyncThrottledError",
    "SyncTransportError",
    "TransferError",
]


class SyncError(Exception):
    """Base of every error raised by the kiosk side of :mod:`sync`."""


class DeviceError(SyncError):
    """Raised for problems with the device identity files in the kiosk's data directory."""


class NotEnrolledError(DeviceError, QueueNotEnrolledError):
    """Raised when sealing or syncing is attempted before ``madoguchi enroll`` pinned a server key."""


class InsecureKeyFileError(DeviceError):
    """Raised when a key file can be read by group or others (mode must be 0600), or is a link."""

    def __init__(self, path: Path, mode: int) -> None:
        self.path = path
        self.mode = mode
        super().__init__(f"{path}: mode {mode:04o}, expected 0600")


class KeyFileError(DeviceError):
    """Raised when a key file cannot be read or does not contain the expected key."""


class ServerKeyMismatchError(DeviceError):
    """Raised when enrollment returns a server key other than the one already pinned.

    Records already queued are sealed to the pinned key; silently re-pinning would strand them.
    """


class OutboxError(SyncError):
    """Base of the outbox errors."""


class DuplicateRecordError(OutboxError, QueueDuplicateError):
    """Raised by ``enqueue`` when the record id is already in the outbox (nothing was written)."""


class InvalidRecordError(OutboxError, QueueInvalidRecordError):
    """Raised by ``enqueue`` when the record id or programme id breaks the wire format (nothing written)."""


class OutboxStorageError(OutboxError, QueueUnavailableError):
    """Raised when SQLite fails (disk full, I/O error, corrupt file); nothing partial was committed."""


class SchemaVersionError(OutboxError):
    """Raised when the outbox file has a schema version newer than this program knows."""


class TransferError(SyncError):
    """Base of the errors raised while talking to the server."""


class InsecureURLError(TransferError):
    """Raised for a plain ``http://`` URL to a host that is not loopback (HTTPS is required)."""


class SyncTransportError(TransferError):
    """Raised on a network error or timeout (no usable reply): retry with backoff."""


class SyncCertificateError(SyncTransportError):
    """Raised when the server's TLS certificate does not verify (wrong host, expired, or a CA missing
    from ``[server] ca_file``).

    Still retried with backoff, because a renewed certificate on the server fixes it without a visit,
    but also raised as an alert: usually the kiosk's trust configuration needs an operator.
    """


class SyncServerError(TransferError):
    """Raised on a 5xx reply: retry with backoff. ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}: {message}")


class SyncThrottledError(SyncServerError):
    """Raised on 429 or 503: wait at least ``retry_after`` seconds (when given) before retrying."""


class SyncRejectedError(TransferError):
    """Raised on a 4xx reply (other than 413/429) to a whole request: do not retry blindly; alert."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {message}")


class PayloadTooLargeError(SyncRejectedError):
    """Raised on 413: the batch was too large for the server; split it and retry."""


class SyncProtocolError(TransferError):
    """Raised when a reply is malformed, too large or inconsistent with the request: retry later, alert."""
