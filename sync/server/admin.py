"""Operator actions behind the admin API: statistics, the review queue, exclusion-list import.

Every state change appends an audit entry naming the actor. Nothing here returns personal data:
the review queue shows record ids, pseudonymous person ids and reason codes; an operator who needs
to compare the two registrations opens them with ``madoguchi server show`` (audited).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from kiosk.rules.programs import Program
from sync.server.audit import AuditEvent, append
from sync.server.db import Database, Dialect, as_datetime, insert_rows
from sync.server.decide import (
    DECISION_LOCK,
    GRANT_COLUMNS,
    award_decision,
    bump_counters,
    grant_row,
    load_award_state,
)
from sync.server.errors import ServerError
from sync.server.outcomes import AwardAction, Decision, GrantVia, ReviewResolution
from sync.server.persons import PersonKeyer
from sync.wire import RecordStatus


class AdminError(ServerError):
    """Raised when an admin request names something that does not exist or is already done."""


def statistics(db: Database) -> dict[str, object]:
    """Counts for the operator dashboard."""
    with db.transaction() as tx:
        outcomes = {
            str(k): int(v) for k, v in tx.execute("SELECT outcome, COUNT(*) FROM records GROUP BY outcome")
        }
        reasons = {
            str(k): int(v)
            for k, v in tx.execute(
                "SELECT reason, COUNT(*) FROM records WHERE outcome = ? GROUP BY reason",
                (RecordStatus.REJECTED.value,),
            )
        }
        decisions: dict[str, dict[str, int]] = {}
        for program_id, decision, count in tx.execute(
            "SELECT program_id, decision, COUNT(*) FROM registrations GROUP BY program_id, decision"
        ):
            decisions.setdefault(str(program_id), {})[str(decision)] = int(count)
        grants = {
            str(p): {"grants": int(g), "points": int(pt)}
            for p, g, pt in tx.execute("SELECT program_id, grants, points FROM program_counters")
        }
        devices = int(tx.scalar("SELECT COUNT(*) FROM devices") or 0)
        revoked = int(tx.scalar("SELECT COUNT(*) FROM devices WHERE revoked_at IS NOT NULL") or 0)
        pending = int(tx.scalar("SELECT COUNT(*) FROM review_queue WHERE resolved_at IS NULL") or 0)
    return {
        "records": outcomes,
        "rejections": reasons,
        "decisions": decisions,
        "grants": grants,
        "devices": {"enrolled": devices, "revoked": revoked},
        "review_pending": pending,
    }


@dataclass(frozen=True)
class ReviewItem:
    """One registration waiting for a human: same name and birth date, different address."""

    review_id: int
    record_id: str
    program_id: str
    person_id: str
    matched_person_id: str
    reason: str
    created_at: datetime
    resolution: str | None

    def to_json(self) -> dict[str, object]:
        """The operator view."""
        return {
            "review_id": self.review_id,
            "record_id": self.record_id,
            "program_id": self.program_id,
            "person_id": self.person_id,
            "matched_person_id": self.matched_person_id,
            "reason": self.reason,
            "created_at": self.created_at.isoformat(),
            "resolution": self.resolution,
        }


def list_reviews(db: Database, *, pending_only: bool = True) -> list[ReviewItem]:
    """The review queue, oldest first."""
    where = "WHERE resolved_at IS NULL " if pending_only else ""
    with db.transaction() as tx:
        rows = tx.execute(
            "SELECT review_id, record_id, program_id, person_id, matched_person_id, reason, created_at, "  # noqa: S608
            f"resolution FROM review_queue {where}ORDER BY review_id"
        )
    return [
        ReviewItem(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), as_datetime(r[6]), r[7])
        for r in rows
    ]


def resolve_review(
    db: Database,
    programs: Mapping[str, Program],
    file_exclusions: Mapping[str, frozenset[bytes]],
    review_id: int,
    *,
    same_person: bool,
    actor: str,
) -> Decision:
    """Decide a review item and apply the programme's award to the registration; return the decision.

    ``same_person``: the provisional person is merged into the matched one (their keys and
    registrations move), then the award rules run for the merged person (typically
    ``already_granted``). Otherwise the provisional person stays separate and the rules run for it.

    :raises AdminError: unknown or already resolved item, or its programme is no longer configured.
    """
    now = datetime.now(UTC)
    with db.transaction(exclusive=True) as tx:
        if db.dialect is Dialect.POSTGRES:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (DECISION_LOCK,))
        row = tx.one(
            "SELECT record_id, program_id, person_id, matched_person_id, resolved_at FROM review_queue "
            "WHERE review_id = ?",
            (review_id,),
        )
        if row is None or row[4] is not None:
            raise AdminError(f"review item {review_id} does not exist or is already resolved")
        record_id, program_id, provisional, matched = str(row[0]), str(row[1]), str(row[2]), str(row[3])
        program = programs.get(program_id)
        if program is None:
            raise AdminError(f"programme {program_id!r} is not configured")
        person = matched if same_person else provisional
        if same_person:
            tx.execute("UPDATE person_keys SET person_id = ? WHERE person_id = ?", (matched, provisional))
            tx.execute("UPDATE registrations SET person_id = ? WHERE person_id = ?", (matched, provisional))
            tx.execute("UPDATE lottery_entries SET person_id = ? WHERE person_id = ?", (matched, provisional))
        keys = [
            bytes(r[0]) for r in tx.execute("SELECT key_hash FROM person_keys WHERE person_id = ?", (person,))
        ]
        state = load_award_state(tx, [program], [person], keys, file_exclusions)
        decision = award_decision(program, person, keys, state)
        reg = tx.one("SELECT code, municipality FROM registrations WHERE record_id = ?", (record_id,))
        code, municipality = (str(reg[0]), str(reg[1])) if reg else ("", "")
        if decision.action is AwardAction.GRANT:
            insert_rows(
                tx,
                "grants",
                GRANT_COLUMNS,
                [grant_row(program, person, record_id, code, municipality, now, GrantVia.REVIEW)],
            )
            bump_counters(tx, db.dialect, {program.id: (1, program.award.points)})
        elif decision.action is AwardAction.ENTER:
            insert_rows(
                tx,
                "lottery_entries",
                ("program_id", "person_id", "record_id", "code", "entered_at"),
                [(program.id, person, record_id, code, now)],
            )
        tx.execute("UPDATE registrations SET decision = ? WHERE record_id = ?", (decision.value, record_id))
        tx.execute("UPDATE records SET decision = ? WHERE record_id = ?", (decision.value, record_id))
        resolution = ReviewResolution.SAME_PERSON if same_person else ReviewResolution.DIFFERENT_PERSON
        tx.execute(
            "UPDATE review_queue SET resolved_at = ?, resolution = ? WHERE review_id = ?",
            (now, resolution.value, review_id),
        )
        append(
            tx,
            db.dialect,
            [
                AuditEvent(
                    "review.resolve",
                    actor,
                    {
                        "review_id": review_id,
                        "record_id": record_id,
                        "resolution": resolution.value,
                        "decision": decision.value,
                    },
                )
            ],
        )
    return decision


@dataclass(frozen=True)
class ExclusionEntry:
    """One person to exclude: by name and birth date (hashed at once, never stored), or by a keyed
    hash the server produced earlier (hex)."""

    name: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    key_hash: bytes | None = None


def import_exclusions(
    db: Database, keyer: PersonKeyer, list_id: str, entries: Sequence[ExclusionEntry], *, actor: str
) -> int:
    """Store the keyed hashes of ``entries`` under ``list_id`` (a programme id); return how many are new."""
    now = datetime.now(UTC)
    hashes: set[bytes] = set()
    for entry in entries:
        if entry.key_hash is not None:
            hashes.add(entry.key_hash)
        elif entry.name is not None and entry.birth_date is not None:
            hashes.add(keyer.secondary(entry.name, entry.birth_date))
    with db.transaction(exclusive=True) as tx:
        before = int(tx.scalar("SELECT COUNT(*) FROM exclusions WHERE list_id = ?", (list_id,)) or 0)
        for key_hash in sorted(hashes):
            tx.execute(
                "INSERT INTO exclusions (list_id, key_hash, imported_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (list_id, key_hash, now),
            )
        after = int(tx.scalar("SELECT COUNT(*) FROM exclusions WHERE list_id = ?", (list_id,)) or 0)
        append(
            tx,
            db.dialect,
            [
                AuditEvent(
                    "exclusions.import",
                    actor,
                    {"list_id": list_id, "submitted": len(entries), "new": after - before},
                )
            ],
        )
    return after - before
