"""What the kiosk domain needs from the outside, as protocols (implemented in ``sync/``).

The flow never imports ``sync``: the composition root hands it an object with this shape. A port
also promises which errors it raises, as classes defined here, so the runner catches exactly the
refusals the port can report and lets a programming error surface instead of turning it into
"save failed":

    KioskError
    └── QueueRefusedError               the queue did not take the record; nothing was written
        ├── QueueUnavailableError       its storage failed (disk full, I/O error, corrupt file)
        ├── QueueNotEnrolledError       the device is not enrolled: there is no key to seal to
        ├── QueueDuplicateError         the record id is already queued
        └── QueueInvalidRecordError     a record or programme id the queue's format refuses

``sync.errors`` derives the outbox's own errors from these (``OutboxStorageError`` is a
:class:`QueueUnavailableError`, and so on), so ``sync.outbox.Outbox`` keeps the promise directly and
the composition root (:mod:`kiosk.composition`) hands it to the runner as it is.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kiosk.errors import KioskError


class QueueRefusedError(KioskError):
    """Raised by :meth:`RegistrationQueue.enqueue` when the record was not queued (nothing written).

    The message may name a file or a storage error; it never holds the record or personal data.
    The runner logs only the class name all the same.
    """


class QueueUnavailableError(QueueRefusedError):
    """Raised when the queue's storage fails (disk full, I/O error, corrupt file): call staff."""


class QueueNotEnrolledError(QueueRefusedError):
    """Raised when the device has not been enrolled, so there is no server key to seal to."""


class QueueDuplicateError(QueueRefusedError):
    """Raised when a record with the same id is already queued (the earlier one stays)."""


class QueueInvalidRecordError(QueueRefusedError):
    """Raised when the record id or programme id breaks the queue's format (a kiosk bug or bad config)."""


@runtime_checkable
class RegistrationQueue(Protocol):
    """The durable outbox (``sync.outbox.Outbox``).

    ``enqueue`` seals ``plaintext`` (the canonical signed-registration JSON) to the server key,
    signs it with the device key and commits it in one transaction; when it returns, the record
    survives a power cut. A refusal is a :class:`QueueRefusedError` (a subclass says why) and then
    nothing was written; any other exception is a bug and propagates. The return value (if any) is
    ignored by the kiosk.
    """

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> object: ...


__all__ = [
    "QueueDuplicateError",
    "QueueInvalidRecordError",
    "QueueNotEnrolledError",
    "QueueRefusedError",
    "QueueUnavailableError",
    "RegistrationQueue",
]
