"""One batch upload, end to end: device check, per-record verification, decisions, results.

Split in two phases on purpose: :meth:`Ingestor.verify_batch` is pure CPU (crypto and parsing, no
database, runs in parallel across worker processes) and :meth:`Ingestor.decide_batch` is one short
serialised transaction (see :mod:`sync.server.decide`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.server.context import ServerContext
from sync.server.db import Dialect
from sync.server.decide import Outcome
from sync.server.errors import ServerError
from sync.server.migrations import ensure_partitions, month_start
from sync.server.verify import Checked
from sync.wire import RecordStatus

logger = logging.getLogger(__name__)


class DeviceRefusedError(ServerError):
    """Raised when the uploading device is unknown (``unknown=True``, HTTP 401) or revoked (403)."""

    def __init__(self, device_id: str, *, unknown: bool) -> None:
        super().__init__(f"device {device_id!r} is {'not enrolled' if unknown else 'revoked'}")
        self.unknown = unknown


@dataclass(frozen=True)
class BatchReport:
    """Results in upload order, plus counts for the log (never personal data)."""

    outcomes: list[Outcome]

    def counts(self) -> dict[str, int]:
        """Number of results per status."""
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.status.value] = out.get(o.status.value, 0) + 1
        return out


class Ingestor:
    """Accepts batches for one :class:`ServerContext`; safe to call from several threads."""

    def __init__(self, ctx: ServerContext, *, clock: Callable[[], datetime] | None = None) -> None:
        self._ctx = ctx
        self._clock = clock or (lambda: datetime.now(UTC))
        self._keys: dict[bytes, Ed25519PublicKey] = {}
        self._lock = threading.Lock()
        self._partition_month: datetime | None = None

    def device_key(self, device_id: str) -> Ed25519PublicKey:
        """The device's public key, read fresh from the database so a revocation applies at once.

        :raises DeviceRefusedError: unknown or revoked device.
        """
        with self._ctx.db.transaction() as tx:
            row = tx.one("SELECT public_key, revoked_at FROM devices WHERE device_id = ?", (device_id,))
        if row is None:
            raise DeviceRefusedError(device_id, unknown=True)
        if row[1] is not None:
            raise DeviceRefusedError(device_id, unknown=False)
        raw = bytes(row[0])
        key = self._keys.get(raw)
        if key is None:
            key = Ed25519PublicKey.from_public_bytes(raw)
            with self._lock:
                self._keys[raw] = key
        return key

    def verify_batch(
        self, device_id: str, device_key: Ed25519PublicKey, raw: Sequence[object], received_at: datetime
    ) -> list[Checked]:
        """Phase 1: the database-free checks of every envelope."""
        check = self._ctx.verifier.check
        return [check(r, device_id=device_id, device_key=device_key, received_at=received_at) for r in raw]

    def decide_batch(
        self, device_id: str, checked: Sequence[Checked], received_at: datetime
    ) -> list[Outcome]:
        """Phase 2: one serialised transaction; unstored rejections are answered directly."""
        self._ensure_partition(received_at)
        with self._ctx.db.transaction(exclusive=True) as tx:
            if (
                tx.one(
                    "SELECT revoked_at FROM devices WHERE device_id = ? AND revoked_at IS NULL", (device_id,)
                )
                is None
            ):
                # revoked between phase 1 and now: refuse the whole batch, store nothing
                raise DeviceRefusedError(device_id, unknown=False)
            stored = self._ctx.decider.decide(
                tx, device_id=device_id, checked=checked, received_at=received_at
            )
        by_id: dict[str, Outcome] = {}
        for stored_outcome in stored:
            by_id.setdefault(stored_outcome.record_id, stored_outcome)  # the first of in-batch repeats
        outcomes: list[Outcome] = []
        answered: set[str] = set()
        for item in checked:
            rid = item.record_id
            if rid is None or rid in answered:
                continue  # no usable id to answer with / one result per record id
            answered.add(rid)
            outcome = by_id.get(rid)
            if outcome is None:
                # not stored: a rejection before the device signature verified
                reason = getattr(item, "reason", "invalid_record")
                outcome = Outcome(rid, RecordStatus.REJECTED, reason)
            outcomes.append(outcome)
        return outcomes

    def ingest(self, device_id: str, raw: Sequence[object]) -> BatchReport:
        """Both phases for one batch uploaded by ``device_id``.

        :raises DeviceRefusedError: unknown or revoked device.
        :raises StorageError: the database is unavailable (the client retries later).
        """
        received_at = self._clock()
        key = self.device_key(device_id)
        checked = self.verify_batch(device_id, key, raw, received_at)
        report = BatchReport(self.decide_batch(device_id, checked, received_at))
        logger.info("batch from %s: %s", device_id, report.counts())
        return report

    def _ensure_partition(self, moment: datetime) -> None:
        if self._ctx.db.dialect is not Dialect.POSTGRES:
            return
        month = month_start(moment)
        if self._partition_month != month:
            ensure_partitions(self._ctx.db, moment, months_ahead=2)
            self._partition_month = month
