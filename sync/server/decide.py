"""The database phase of a batch: idempotency, sequences, persons, programme awards, audit.

All of a batch's decisions happen in **one transaction holding the decision lock** (SQLite
``BEGIN IMMEDIATE``; a PostgreSQL transaction-scoped advisory lock). Serialising decisions is what
makes "first come, first served" quotas, one grant per person and the audit hash chain exact when
several API processes ingest at once; the expensive part (crypto, parsing) ran before, in parallel,
outside the lock. Inside, the work is set-based: a handful of ``SELECT … IN (…)`` reads for the whole
batch, decisions in Python, and one multi-row ``INSERT`` per table, so the lock is held for a few
round trips per batch, not per record.

Person de-duplication (DESIGN.md §6): a primary-key match is the same person; a secondary-only
match with the same address is the same person with a renewed card; a secondary-only match with a
different address creates a provisional person and puts the record in the review queue, its award
held until an operator decides (:mod:`sync.server.review`).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.rules.programs import AwardKind, Program
from sync.server.audit import AuditEvent, append
from sync.server.db import Dialect, Transaction, as_datetime, insert_rows
from sync.server.verify import MAX_CLOCK_SKEW, Rejection, Verified
from sync.wire import Envelope, RecordStatus, RejectReason

#: Advisory lock id that serialises decisions on PostgreSQL ("madd").
DECISION_LOCK = 0x6D616464
#: Rejection reason of a record whose registration code another stored record already has.


@dataclass(frozen=True)
class Outcome:
    """The answer for one record id of the batch."""

    record_id: str
    status: RecordStatus
    reason: str | None = None
    decision: str | None = None


@dataclass
class _Persons:
    """Person-key lookups for the batch, updated as records of the same batch create keys."""

    primary: dict[bytes, str] = field(default_factory=dict)
    secondary: dict[bytes, tuple[str, bytes | None]] = field(default_factory=dict)
    new_keys: list[tuple[object, ...]] = field(default_factory=list)


@dataclass
class AwardState:
    """What the award rules need to know, loaded once per batch and updated as grants are made."""

    grants: set[tuple[str, str]] = field(default_factory=set)  # (program_id, person_id)
    entries: set[tuple[str, str]] = field(default_factory=set)  # lottery (program_id, person_id)
    counters: dict[str, int] = field(default_factory=dict)  # grants so far per programme
    drawn: set[str] = field(default_factory=set)  # lotteries already drawn
    excluded: dict[str, set[bytes]] = field(default_factory=dict)  # program_id -> keyed hashes


def load_award_state(
    tx: Transaction,
    programs: Iterable[Program],
    person_ids: Sequence[str],
    key_hashes: Sequence[bytes],
    file_exclusions: Mapping[str, frozenset[bytes]],
) -> AwardState:
    """Read grants, lottery entries, counters and exclusion hits relevant to this batch."""
    state = AwardState()
    program_ids = sorted({p.id for p in programs} | {o for p in programs for o in p.exclusions.recipients_of})
    if person_ids:
        persons = sorted(set(person_ids))
        for start in range(0, len(persons), 500):
            chunk = persons[start : start + 500]
            frag, params = tx.any_of(chunk)
            rows = tx.execute(f"SELECT program_id, person_id FROM grants WHERE person_id {frag}", params)  # noqa: S608
            state.grants.update((str(a), str(b)) for a, b in rows)
            sql = f"SELECT program_id, person_id FROM lottery_entries WHERE person_id {frag}"  # noqa: S608
            rows = tx.execute(sql, params)
            state.entries.update((str(a), str(b)) for a, b in rows)
    if program_ids:
        frag, params = tx.any_of(program_ids)
        rows = tx.execute(f"SELECT program_id, grants FROM program_counters WHERE program_id {frag}", params)  # noqa: S608
        state.counters.update({str(a): int(b) for a, b in rows})
        rows = tx.execute(f"SELECT program_id FROM lottery_draws WHERE program_id {frag}", params)  # noqa: S608
        state.drawn.update(str(r[0]) for r in rows)
    hashes = sorted(set(key_hashes))
    if hashes:
        frag, params = tx.any_of(hashes)
        rows = tx.execute(f"SELECT list_id, key_hash FROM exclusions WHERE key_hash {frag}", params)  # noqa: S608
        for list_id, key_hash in rows:
            state.excluded.setdefault(str(list_id), set()).add(bytes(key_hash))
    for program_id, listed in file_exclusions.items():
        hits = listed.intersection(hashes)
        if hits:
            state.excluded.setdefault(program_id, set()).update(hits)
    return state


def award_decision(
    program: Program, person_id: str, keys: Iterable[bytes], state: AwardState
) -> tuple[str, str]:
    """Decide the award of one accepted registration; return (decision, action).

    ``action`` is ``grant``, ``enter`` (lottery entry) or ``none``. ``state`` is updated so later
    records of the same batch see this decision (first come, first served in batch order).
    """
    if program.award.kind is AwardKind.NONE:
        return "no_award", "none"
    for other in program.exclusions.recipients_of:
        if (other, person_id) in state.grants:
            return "excluded", "none"
    if state.excluded.get(program.id, set()).intersection(keys):
        return "excluded", "none"
    if program.one_grant_per_person and (program.id, person_id) in state.grants:
        return "already_granted", "none"
    if program.award.kind is AwardKind.LOTTERY:
        if program.id in state.drawn:
            return "lottery_closed", "none"
        if (program.id, person_id) in state.entries:
            return "already_entered", "none"
        state.entries.add((program.id, person_id))
        return "lottery_entered", "enter"
    quota = program.award.quota
    if quota is not None and state.counters.get(program.id, 0) >= quota:
        return "quota_exhausted", "none"
    state.counters[program.id] = state.counters.get(program.id, 0) + 1
    state.grants.add((program.id, person_id))
    return "granted", "grant"


def grant_row(
    program: Program, person_id: str, record_id: str, code: str, municipality: str, at: datetime, via: str
) -> tuple[object, ...]:
    """A ``grants`` row; ``slot`` makes the one-grant-per-person rule a unique constraint."""
    slot = person_id if program.one_grant_per_person else record_id
    return (record_id, program.id, person_id, slot, code, municipality, program.award.points, at, via)


GRANT_COLUMNS = (
    "record_id",
    "program_id",
    "person_id",
    "slot",
    "code",
    "municipality",
    "points",
    "granted_at",
    "via",
)


def bump_counters(tx: Transaction, dialect: Dialect, deltas: Mapping[str, tuple[int, int]]) -> None:
    """Add (grants, points) to each programme's counters (upsert)."""
    for program_id, (count, points) in deltas.items():
        tx.execute(
            "INSERT INTO program_counters (program_id, grants, points) VALUES (?, ?, ?) "
            "ON CONFLICT (program_id) DO UPDATE SET grants = program_counters.grants + excluded.grants, "
            "points = program_counters.points + excluded.points",
            (program_id, count, points),
        )


class BatchDecider:
    """Applies one batch's verified records to the database (see the module docstring)."""

    def __init__(self, dialect: Dialect, file_exclusions: Mapping[str, frozenset[bytes]]) -> None:
        self._dialect = dialect
        self.file_exclusions = file_exclusions

    def decide(
        self,
        tx: Transaction,
        *,
        device_id: str,
        checked: Sequence[Verified | Rejection],
        received_at: datetime,
    ) -> list[Outcome]:
        """Decide every record of the batch inside ``tx`` (which the caller opened exclusively)."""
        if self._dialect is Dialect.POSTGRES:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (DECISION_LOCK,))
        outcomes: dict[int, Outcome] = {}
        # 1. idempotency: what is already stored, and repeats inside the batch
        storable = [
            (i, c)
            for i, c in enumerate(checked)
            if isinstance(c, Verified) or (c.store and c.envelope is not None and c.record_id)
        ]
        ids = sorted({_rid(c) for _, c in storable})
        existing: dict[str, tuple[str, bytes, str, str | None]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            frag, params = tx.any_of(chunk)
            sql = f"SELECT record_id, device_id, envelope_hash, outcome, reason FROM records WHERE record_id {frag}"  # noqa: S608, E501
            for rid, dev, digest, outcome, reason in tx.execute(sql, params):
                existing[str(rid)] = (str(dev), bytes(digest), str(outcome), reason)
        seen: dict[str, bytes] = {}
        fresh: list[tuple[int, Verified | Rejection]] = []
        for index, item in storable:
            rid, digest = _rid(item), _digest(item)
            prior = existing.get(rid)
            if prior is None and rid in seen:
                prior = (device_id, seen[rid], RecordStatus.ACCEPTED.value, None)
            if prior is not None:
                if prior[0] != device_id or prior[1] != digest:
                    outcomes[index] = Outcome(rid, RecordStatus.REJECTED, RejectReason.CONFLICT)
                elif prior[2] == RecordStatus.REJECTED:
                    outcomes[index] = Outcome(rid, RecordStatus.REJECTED, prior[3])
                else:
                    outcomes[index] = Outcome(rid, RecordStatus.DUPLICATE)
                continue
            seen[rid] = digest
            fresh.append((index, item))
        # 1b. a registration code names one record (issue 14): a code already stored, or twice in
        # this batch, is refused with a reason the kiosk can show; the unique index backs this up
        fresh = self._refuse_code_collisions(tx, fresh)
        # 2. per-device sequence numbers: reuse and gaps (possible cloned kiosk)
        device_row = tx.one(
            "SELECT last_sequence, enrolled_at, last_registered_at FROM devices WHERE device_id = ?",
            (device_id,),
        )
        last_sequence = int(device_row[0]) if device_row else 0
        # the clock policy's lower bound (docs/server.md): no record can be sealed before its device
        # was enrolled, and a kiosk's clock does not run backwards past its previous accepted record
        floor = max(
            [as_datetime(v) for v in (device_row or (None, None, None))[1:] if v is not None],
            default=None,
        )
        newest_registered = floor
        seq_counts = Counter(_env(c).seq for _, c in fresh)
        seqs = sorted(seq_counts)
        # a sequence number twice in one batch is reuse too (a clone uploading through the same queue)
        reused: set[int] = {seq for seq, count in seq_counts.items() if count > 1}
        for start in range(0, len(seqs), 500):
            seq_chunk = seqs[start : start + 500]
            frag, params = tx.any_of(seq_chunk)
            rows = tx.execute(
                f"SELECT sequence FROM records WHERE device_id = ? AND sequence {frag}",  # noqa: S608
                [device_id, *params],
            )
            reused.update(int(r[0]) for r in rows)
        gaps: set[int] = set()
        expected = last_sequence + 1
        for seq in seqs:
            if seq > expected and seq > last_sequence:
                gaps.add(seq)
            expected = max(expected, seq + 1)
        new_last = max([last_sequence, *seqs])
        # 3. persons
        verified = [(i, c) for i, c in fresh if isinstance(c, Verified)]
        persons = self._load_persons(tx, [c for _, c in verified])
        resolved: dict[int, tuple[str, str | None]] = {}
        for index, item in sorted(verified, key=lambda p: p[1].envelope.seq):
            resolved[index] = self._resolve_person(persons, item, received_at)
        state = load_award_state(
            tx,
            {c.program.id: c.program for _, c in verified}.values(),
            [pid for pid, _ in resolved.values()],
            [k for _, c in verified for k in (c.person_keys.primary, c.person_keys.secondary)],
            self.file_exclusions,
        )
        # 4. decisions, in kiosk sequence order (first come, first served within the batch)
        record_rows: list[tuple[object, ...]] = []
        registration_rows: list[tuple[object, ...]] = []
        grant_rows: list[tuple[object, ...]] = []
        entry_rows: list[tuple[object, ...]] = []
        review_rows: list[tuple[object, ...]] = []
        decided: list[list[object]] = []  # [record id, outcome, decision or reason, person id, flags]
        deltas: dict[str, tuple[int, int]] = {}
        for index, item in sorted(fresh, key=lambda p: _env(p[1]).seq):
            env = _env(item)
            seq_flags = (["sequence_reuse"] if env.seq in reused else []) + (
                ["sequence_gap"] if env.seq in gaps else []
            )
            if isinstance(item, Rejection):
                record_rows.append(
                    (
                        env.record_id,
                        None,
                        device_id,
                        env.seq,
                        env.program_id,
                        received_at,
                        item.envelope_hash,
                        RecordStatus.REJECTED.value,
                        item.reason.value,
                        None,
                    )
                )
                decided.append(
                    [env.record_id, RecordStatus.REJECTED.value, item.reason.value, None, seq_flags]
                )
                outcomes[index] = Outcome(env.record_id, RecordStatus.REJECTED, item.reason)
                continue
            person_id, matched = resolved[index]
            flags = [*item.flags, *seq_flags]
            keys = (item.person_keys.primary, item.person_keys.secondary)
            out_of_bounds = floor is not None and item.registered_at < floor - MAX_CLOCK_SKEW
            if out_of_bounds:
                # dated before the device's own history: the programme rules ran at a time the
                # server cannot trust, so a person decides (never a grant on the kiosk's word)
                flags.append("clock_out_of_bounds")
            elif newest_registered is None or item.registered_at > newest_registered:
                newest_registered = item.registered_at
            if matched is not None or out_of_bounds:
                decision, action = "review", "none"
                if matched is not None:
                    flags.append("possible_same_person")
                review_rows.append(
                    (
                        item.record_id,
                        item.program.id,
                        person_id,
                        matched if matched is not None else person_id,
                        "secondary_match_other_address" if matched is not None else "clock_out_of_bounds",
                        received_at,
                    )
                )
            else:
                decision, action = award_decision(item.program, person_id, keys, state)
            if action == "grant":
                grant_rows.append(
                    grant_row(
                        item.program,
                        person_id,
                        item.record_id,
                        item.code,
                        item.municipality,
                        received_at,
                        "fcfs",
                    )
                )
                count, points = deltas.get(item.program.id, (0, 0))
                deltas[item.program.id] = (count + 1, points + item.program.award.points)
            elif action == "enter":
                entry_rows.append((item.program.id, person_id, item.record_id, item.code, received_at))
            record_rows.append(
                (
                    item.record_id,
                    item.code,
                    device_id,
                    env.seq,
                    env.program_id,
                    received_at,
                    item.envelope_hash,
                    RecordStatus.ACCEPTED.value,
                    None,
                    decision,
                )
            )
            registration_rows.append(
                (
                    item.record_id,
                    received_at,
                    item.registered_at,
                    item.code,
                    item.program.id,
                    device_id,
                    person_id,
                    item.prefecture,
                    item.municipality,
                    decision,
                    None,
                    json.dumps(flags),
                    item.certificate_tag,  # keyed: a plain fingerprint would link the holder
                    item.packed,
                )
            )
            decided.append([item.record_id, RecordStatus.ACCEPTED.value, decision, person_id, flags])
            outcomes[index] = Outcome(item.record_id, RecordStatus.ACCEPTED, None, decision)
        # 5. writes: one statement per table
        insert_rows(
            tx,
            "person_keys",
            ("kind", "key_hash", "person_id", "address_hash", "created_at"),
            persons.new_keys,
        )
        insert_rows(
            tx,
            "records",
            (
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
            ),
            record_rows,
        )
        insert_rows(tx, "registrations", REGISTRATION_COLUMNS, registration_rows)
        insert_rows(tx, "grants", GRANT_COLUMNS, grant_rows)
        insert_rows(
            tx, "lottery_entries", ("program_id", "person_id", "record_id", "code", "entered_at"), entry_rows
        )
        insert_rows(
            tx,
            "review_queue",
            ("record_id", "program_id", "person_id", "matched_person_id", "reason", "created_at"),
            review_rows,
        )
        bump_counters(tx, self._dialect, deltas)
        if new_last != last_sequence:
            tx.execute("UPDATE devices SET last_sequence = ? WHERE device_id = ?", (new_last, device_id))
        if newest_registered is not None and newest_registered != floor:
            tx.execute(
                "UPDATE devices SET last_registered_at = ? WHERE device_id = ?",
                (newest_registered, device_id),
            )
        if decided:
            # one chained entry per batch lists every decision: the log stays complete and
            # tamper-evident while costing one row per batch instead of one per record
            append(
                tx, self._dialect, [AuditEvent("batch", device_id, {"decisions": decided})], at=received_at
            )
        return [outcomes[i] for i in sorted(outcomes)]

    @staticmethod
    def _refuse_code_collisions(
        tx: Transaction, fresh: list[tuple[int, Verified | Rejection]]
    ) -> list[tuple[int, Verified | Rejection]]:
        codes = sorted({c.code for _, c in fresh if isinstance(c, Verified)})
        taken: set[str] = set()
        for start in range(0, len(codes), 500):
            frag, params = tx.any_of(codes[start : start + 500])
            taken.update(str(r[0]) for r in tx.execute(f"SELECT code FROM records WHERE code {frag}", params))  # noqa: S608
        out: list[tuple[int, Verified | Rejection]] = []
        for index, item in fresh:
            if isinstance(item, Verified):
                if item.code in taken:
                    item = Rejection(
                        item.record_id,
                        RejectReason.CODE_COLLISION,
                        store=True,
                        envelope=item.envelope,
                        envelope_hash=item.envelope_hash,
                    )
                else:
                    taken.add(item.code)
            out.append((index, item))
        return out

    def _load_persons(self, tx: Transaction, items: Sequence[Verified]) -> _Persons:
        persons = _Persons()
        hashes = sorted({k for c in items for k in (c.person_keys.primary, c.person_keys.secondary)})
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            frag, params = tx.any_of(chunk)
            for kind, key_hash, person_id, address_hash in tx.execute(
                f"SELECT kind, key_hash, person_id, address_hash FROM person_keys WHERE key_hash {frag}",  # noqa: S608
                params,
            ):
                if kind == "primary":
                    persons.primary[bytes(key_hash)] = str(person_id)
                else:
                    persons.secondary[bytes(key_hash)] = (
                        str(person_id),
                        bytes(address_hash) if address_hash is not None else None,
                    )
        return persons

    @staticmethod
    def _resolve_person(persons: _Persons, item: Verified, at: datetime) -> tuple[str, str | None]:
        """Return (person id, matched person id when the record needs review)."""
        keys = item.person_keys
        by_primary = persons.primary.get(keys.primary)
        by_secondary = persons.secondary.get(keys.secondary)
        if by_primary is not None:
            if by_secondary is None:
                persons.secondary[keys.secondary] = (by_primary, keys.address)
                persons.new_keys.append(("secondary", keys.secondary, by_primary, keys.address, at))
            return by_primary, None
        if by_secondary is not None and by_secondary[1] == keys.address:
            # a renewed card of the same person at the same address
            persons.primary[keys.primary] = by_secondary[0]
            persons.new_keys.append(("primary", keys.primary, by_secondary[0], None, at))
            return by_secondary[0], None
        person_id = str(uuid.uuid4())
        persons.primary[keys.primary] = person_id
        persons.new_keys.append(("primary", keys.primary, person_id, None, at))
        if by_secondary is not None:
            return person_id, by_secondary[0]
        persons.secondary[keys.secondary] = (person_id, keys.address)
        persons.new_keys.append(("secondary", keys.secondary, person_id, keys.address, at))
        return person_id, None


REGISTRATION_COLUMNS = (
    "record_id",
    "received_at",
    "registered_at",
    "code",
    "program_id",
    "device_id",
    "person_id",
    "prefecture",
    "municipality",
    "decision",
    "decision_reason",
    "flags",
    "cert_fingerprint",
    "envelope",
)


def _rid(item: Verified | Rejection) -> str:
    return item.record_id if isinstance(item, Verified) else str(item.record_id)


def _digest(item: Verified | Rejection) -> bytes:
    return item.envelope_hash


def _env(item: Verified | Rejection) -> Envelope:
    env = item.envelope
    if env is None:  # storable rejections always carry their envelope (filtered in decide)
        raise ValueError("a stored record needs its envelope")
    return env
