"""Retention: delete what is older than the retention period (5 years by default, R-SY-20/21).

On PostgreSQL whole monthly partitions of ``registrations`` are dropped (cheap, no VACUUM debt);
the rest is deleted by timestamp on both engines. Person keys go when no registration
or grant refers to them any more. The audit log keeps a verifiable anchor (:func:`audit.purge_before`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sync.server import audit
from sync.server.db import Database, Dialect
from sync.server.errors import ServerError
from sync.server.migrations import drop_partitions_before, month_start


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed."""

    cutoff: datetime
    partitions_dropped: tuple[str, ...]
    registrations: int
    records: int
    grants: int
    person_keys: int
    audit_entries: int

    def to_json(self) -> dict[str, object]:
        """Counts only."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "partitions_dropped": list(self.partitions_dropped),
            "registrations": self.registrations,
            "records": self.records,
            "grants": self.grants,
            "person_keys": self.person_keys,
            "audit_entries": self.audit_entries,
        }


def cutoff_for(now: datetime, years: int) -> datetime:
    """``now`` minus ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def purge(db: Database, *, retention_years: int = 5, actor: str, now: datetime | None = None) -> PurgeResult:
    """Delete everything received (or granted) before ``now - retention_years``."""
    if retention_years < 1:
        raise ServerError("retention must be at least one year")
    cutoff = cutoff_for(now or datetime.now(UTC), retention_years)
    dropped: list[str] = []
    with db.transaction() as tx:
        old_registrations = int(
            tx.scalar("SELECT COUNT(*) FROM registrations WHERE received_at < ?", (cutoff,)) or 0
        )
    if db.dialect is Dialect.POSTGRES:
        # partitions entirely before the cutoff's month; the rest of that month is deleted below
        dropped = drop_partitions_before(db, month_start(cutoff))
    with db.transaction(exclusive=True) as tx:

        def delete(sql: str) -> int:
            count = int(tx.scalar(f"SELECT COUNT(*) {sql}", (cutoff,)) or 0)
            if count:
                tx.execute(f"DELETE {sql}", (cutoff,))
            return count

        delete("FROM registrations WHERE received_at < ?")  # what the dropped partitions did not hold
        registrations = old_registrations
        records = delete("FROM records WHERE received_at < ?")
        grants = delete("FROM grants WHERE granted_at < ?")
        delete("FROM lottery_entries WHERE entered_at < ?")
        delete("FROM review_queue WHERE created_at < ?")
        # keys of people with no registration and no grant left
        orphan = (
            "FROM person_keys WHERE created_at < ? "
            "AND person_id NOT IN (SELECT person_id FROM registrations) "
            "AND person_id NOT IN (SELECT person_id FROM grants)"
        )
        persons = delete(orphan)
        audit_entries = audit.purge_before(tx, db.dialect, cutoff, actor)
        audit.append(
            tx,
            db.dialect,
            [
                audit.AuditEvent(
                    "retention.purge",
                    actor,
                    {
                        "cutoff": cutoff.isoformat(),
                        "partitions_dropped": dropped,
                        "registrations": registrations,
                        "records": records,
                        "grants": grants,
                        "person_keys": persons,
                    },
                )
            ],
        )
    return PurgeResult(cutoff, tuple(dropped), registrations, records, grants, persons, audit_entries)
