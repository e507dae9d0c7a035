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
from sync.server.errors import DeviceRefusedError
from sync.server.ledger import Outcome, repeat_outcome, stored_records
from sync.server.migrations import ensure_partitions, month_start
from sync.server.shelters import ShelterIngestor
from sync.server.stored import envelope_digest
from sync.server.verify import Checked, claimed_id
from sync.wire import Envelope, EnvelopeFormatError, RecordStatus, RejectReason

logger = logging.getLogger(__name__)


def _parse(raw: object) -> object:
    """The envelope, or the raw object when it does not parse (the verifier then rejects it)."""
    try:
        return Envelope.from_json(raw)
    except EnvelopeFormatError:
        return raw


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
        self._shelters = ShelterIngestor(ctx)

    def lookup(self, device_id: str) -> tuple[bytes, bool] | None:
        """``(raw public key, revoked)`` of a device, or ``None`` if it was never enrolled.

        Read fresh from the database on every request, so a revocation applies at once; the
        request guard (:mod:`sync.server.guard`) calls this before it reads an upload's body.
        """
        with self._ctx.db.transaction() as tx:
            row = tx.one("SELECT public_key, revoked_at FROM devices WHERE device_id = ?", (device_id,))
        if row is None:
            return None
        return bytes(row[0]), row[1] is not None

    def device_key(self, device_id: str, raw: bytes | None = None) -> Ed25519PublicKey:
        """The device's public key (``raw``: the bytes the guard already read for this request).

        :raises DeviceRefusedError: unknown or revoked device.
        """
        if raw is None:
            found = self.lookup(device_id)
            if found is None:
                raise DeviceRefusedError(device_id, unknown=True)
            if found[1]:
                raise DeviceRefusedError(device_id, unknown=False)
            raw = found[0]
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
                reason = getattr(item, "reason", RejectReason.INVALID_RECORD)
                outcome = Outcome(rid, RecordStatus.REJECTED, reason)
            outcomes.append(outcome)
        return outcomes

    def ingest(self, device_id: str, raw: Sequence[object], device_key: bytes | None = None) -> BatchReport:
        """Both phases for one batch uploaded by ``device_id``.

        Exact re-sends of stored envelopes (a kiosk retrying after a lost reply, typically a whole
        batch after an outage) are answered from the ``records`` table before any crypto: the stored
        digest was computed from an envelope whose device signature verified, and a re-send must be
        byte-identical and come from the same device. Everything else takes the full path, where the
        decision transaction checks idempotency again under the lock.

        :raises DeviceRefusedError: unknown or revoked device.
        :raises StorageError: the database is unavailable (the client retries later).
        """
        received_at = self._clock()
        # the guard's read is enough: a revocation since then is caught in the decision transaction
        key = self.device_key(device_id, device_key)
        parsed = [_parse(r) for r in raw]
        known = self._known_resends(device_id, parsed)
        todo = [p for i, p in enumerate(parsed) if i not in known]
        # shelter check-ins (reserved programme id in the header) take their own path: docs/shelter.md
        todo, shelter = self._shelters.split(todo)
        sheltered = self._shelters.ingest(device_id, key, shelter, received_at) if shelter else []
        checked = self.verify_batch(device_id, key, todo, received_at) if todo else []
        decided = self.decide_batch(device_id, checked, received_at) if checked else []
        by_id: dict[str, Outcome] = {}
        for outcome in [*decided, *sheltered]:
            by_id.setdefault(outcome.record_id, outcome)
        outcomes: list[Outcome] = []
        answered: set[str] = set()
        for index, item in enumerate(parsed):
            rid = item.record_id if isinstance(item, Envelope) else claimed_id(item)
            found = known.get(index) or (by_id.get(rid) if rid else None)
            if found is not None and found.record_id not in answered:  # one result per record id
                answered.add(found.record_id)
                outcomes.append(found)
        report = BatchReport(outcomes)
        logger.info("batch from %s: %s", device_id, report.counts())
        return report

    def _known_resends(self, device_id: str, parsed: Sequence[object]) -> dict[int, Outcome]:
        """Indexes of byte-identical re-sends of stored envelopes from this device, with their answer."""
        candidates = [
            (i, e) for i, e in enumerate(parsed) if isinstance(e, Envelope) and e.kiosk_id == device_id
        ]
        if not candidates:
            return {}
        with self._ctx.db.transaction() as tx:
            stored = stored_records(tx, [e.record_id for _, e in candidates])
        known: dict[int, Outcome] = {}
        for index, env in candidates:
            row = stored.get(env.record_id)
            if row is None or row.device_id != device_id:
                continue
            if row.envelope_hash != envelope_digest(env.header_bytes(), env.ct, env.sig):
                continue  # same id, other bytes: the full path answers "conflict"
            known[index] = repeat_outcome(env.record_id, row, device_id, row.envelope_hash)
        return known

    def _ensure_partition(self, moment: datetime) -> None:
        if self._ctx.db.dialect is not Dialect.POSTGRES:
            return
        month = month_start(moment)
        if self._partition_month != month:
            ensure_partitions(self._ctx.db, moment, months_ahead=2)
            self._partition_month = month
