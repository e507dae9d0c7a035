"""The ``records`` table: one row per stored upload, whichever path (registration or shelter) took it.

Both ingest paths (:mod:`sync.server.decide`, :mod:`sync.server.shelters`) and the re-send fast path
(:mod:`sync.server.ingest`) read and write the same row and answer a repeated record id by the same
rule; they are written here once so the three can never answer one re-send differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sync.server.db import Transaction
from sync.server.outcomes import Decision
from sync.wire import Envelope, RecordStatus, RejectReason

#: The columns of a ``records`` row, in the order the ingest paths build their rows.
RECORD_COLUMNS = (
    "record_id",
    "code",
    "device_id",
    "sequence",
    "program_id",
    "received_at",
    "envelope_hash",
    "outcome",
    "reason",
    "decision",
)

_STORED = "record_id, device_id, envelope_hash, outcome, reason"
_CHUNK = 500  # ids per ``IN (…)``: well below SQLite's and psycopg's parameter limits


@dataclass(frozen=True)
class Outcome:
    """The answer for one record id of the batch."""

    record_id: str
    status: RecordStatus
    reason: str | None = None
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """What the idempotency rule needs of a stored row (no personal data)."""

    device_id: str
    envelope_hash: bytes
    outcome: str
    reason: str | None


def record_row(
    envelope: Envelope,
    *,
    code: str | None,
    device_id: str,
    received_at: datetime,
    digest: bytes,
    status: RecordStatus,
    reason: str | None,
    decision: Decision | None,
) -> tuple[object, ...]:
    """A ``records`` row in :data:`RECORD_COLUMNS` order (stored strings, never enum members)."""
    return (
        envelope.record_id,
        code,
        device_id,
        envelope.seq,
        envelope.program_id,
        received_at,
        digest,
        status.value,
        reason,
        None if decision is None else decision.value,
    )


def stored_records(tx: Transaction, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
    """The stored rows of ``record_ids`` (absent ids are simply missing), read in chunks."""
    ids = sorted(set(record_ids))
    out: dict[str, StoredRecord] = {}
    for start in range(0, len(ids), _CHUNK):
        frag, params = tx.any_of(ids[start : start + _CHUNK])
        sql = f"SELECT {_STORED} FROM records WHERE record_id {frag}"  # noqa: S608
        for rid, dev, digest, outcome, reason in tx.execute(sql, params):
            out[str(rid)] = StoredRecord(str(dev), bytes(digest), str(outcome), reason)
    return out


def accepted_in_batch(device_id: str, digest: bytes) -> StoredRecord:
    """The row an earlier copy in the same batch is about to write (a repeat answers against it)."""
    return StoredRecord(device_id, digest, RecordStatus.ACCEPTED.value, None)


def repeat_outcome(record_id: str, prior: StoredRecord, device_id: str, digest: bytes) -> Outcome:
    """The answer to a record id that is already stored (or earlier in the batch).

    Another device or other bytes under a stored id is ``conflict`` (a record id names one envelope
    for ever); the same envelope again gets its first answer: a stored rejection repeats its reason,
    anything else is ``duplicate``, so a kiosk retrying after a lost reply deletes the record.
    """
    if prior.device_id != device_id or prior.envelope_hash != digest:
        return Outcome(record_id, RecordStatus.REJECTED, RejectReason.CONFLICT)
    if prior.outcome == RecordStatus.REJECTED:
        return Outcome(record_id, RecordStatus.REJECTED, prior.reason)
    return Outcome(record_id, RecordStatus.DUPLICATE)
