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
held until an operator decides (:func:`sync.server.admin.resolve_review`).
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
from sync.server.ledger import (
    RECORD_COLUMNS,
    Outcome,
    StoredRecord,
    accepted_in_batch,
    record_row,
    repeat_outcome,
    stored_records,
)
from sync.server.outcomes import AwardAction, Decision, Flag, GrantVia, ReviewReason
from sync.server.verify import MAX_CLOCK_SKEW, Rejection, Verified
from sync.wire import Envelope, RecordStatus, RejectReason

__all__ = [
    "DECISION_LOCK",
    "GRANT_COLUMNS",
    "REGISTRATION_COLUMNS",
    "AwardState",
    "BatchDecider",
    "Outcome",
    "award_decision",
    "bump_counters",
    "grant_row",
    "load_award_state",
]

#: Advisory lock id that serialises decisions on PostgreSQL ("madd").
DECISION_LOCK = 0x6D616464

Checked = Verified | Rejection


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


def award_decision(program: Program, person_id: str, keys: Iterable[bytes], state: AwardState) -> Decision:
    """Decide the award of one accepted registration.

    The decision's :attr:`~sync.server.outcomes.Decision.action` says which row it adds (a grant, a
    lottery entry, or none). ``state`` is updated so later records of the same batch see this
    decision (first come, first served in batch order).
    """
    if program.award.kind is AwardKind.NONE:
        return Decision.NO_AWARD
    for other in program.exclusions.recipients_of:
        if (other, person_id) in state.grants:
            return Decision.EXCLUDED
    if state.excluded.get(program.id, set()).intersection(keys):
        return Decision.EXCLUDED
    if program.one_grant_per_person and (program.id, person_id) in state.grants:
        return Decision.ALREADY_GRANTED
    if program.award.kind is AwardKind.LOTTERY:
        if program.id in state.drawn:
            return Decision.LOTTERY_CLOSED
        if (program.id, person_id) in state.entries:
            return Decision.ALREADY_ENTERED
        state.entries.add((program.id, person_id))
        return Decision.LOTTERY_ENTERED
    quota = program.award.quota
    if quota is not None and state.counters.get(program.id, 0) >= quota:
        return Decision.QUOTA_EXHAUSTED
    state.counters[program.id] = state.counters.get(program.id, 0) + 1
    state.grants.add((program.id, person_id))
    return Decision.GRANTED


def grant_row(
    program: Program,
    person_id: str,
    record_id: str,
    code: str,
    municipality: str,
    at: datetime,
    via: GrantVia,
) -> tuple[object, ...]:
    """A ``grants`` row; ``slot`` makes the one-grant-per-person rule a unique constraint."""
    slot = person_id if program.one_grant_per_person else record_id
    return (record_id, program.id, person_id, slot, code, municipality, program.award.points, at, via.value)


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


@dataclass(frozen=True)
class _Sequences:
    """The device's sequence numbers as this batch leaves them, and which ones look cloned."""

    last: int  # the device's high-water mark before the batch
    new_last: int
    reused: frozenset[int]
    gaps: frozenset[int]

    def flags(self, seq: int) -> list[Flag]:
        """The sequence flags of one record."""
        return ([Flag.SEQUENCE_REUSE] if seq in self.reused else []) + (
            [Flag.SEQUENCE_GAP] if seq in self.gaps else []
        )


@dataclass
class _Writes:
    """Every row the batch adds, collected in decision order and written one statement per table."""

    records: list[tuple[object, ...]] = field(default_factory=list)
    registrations: list[tuple[object, ...]] = field(default_factory=list)
    grants: list[tuple[object, ...]] = field(default_factory=list)
    entries: list[tuple[object, ...]] = field(default_factory=list)
    reviews: list[tuple[object, ...]] = field(default_factory=list)
    #: the audit entry: [record id, outcome, decision or reason, person id, flags] per record
    decided: list[list[object]] = field(default_factory=list)
    deltas: dict[str, tuple[int, int]] = field(default_factory=dict)  # program_id -> (grants, points)


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
        checked: Sequence[Checked],
        received_at: datetime,
    ) -> list[Outcome]:
        """Decide every record of the batch inside ``tx`` (which the caller opened exclusively).

        The steps, each a named function: :meth:`_split_repeats` (idempotency),
        :meth:`_refuse_code_collisions`, :meth:`_sequences` (reuse and gaps), :func:`_clock_floor`,
        :meth:`_persons_and_awards`, then per record in kiosk sequence order (first come, first
        served) :func:`_store_rejection` or :func:`_decide_one`, then :meth:`_write` (one statement
        per table), :meth:`_update_device` and one audit entry.
        """
        if self._dialect is Dialect.POSTGRES:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (DECISION_LOCK,))
        outcomes, fresh = self._split_repeats(tx, device_id, checked)
        # a registration code names one record (issue 14): a code already stored, or twice in
        # this batch, is refused with a reason the kiosk can show; the unique index backs this up
        fresh = self._refuse_code_collisions(tx, fresh)
        device_row = tx.one(
            "SELECT last_sequence, enrolled_at, last_registered_at FROM devices WHERE device_id = ?",
            (device_id,),
        )
        sequences = self._sequences(tx, device_id, fresh, int(device_row[0]) if device_row else 0)
        floor = _clock_floor(device_row)
        verified = [(i, c) for i, c in fresh if isinstance(c, Verified)]
        persons, resolved, state = self._persons_and_awards(tx, verified, received_at)
        writes = _Writes()
        newest_registered = floor
        for index, item in sorted(fresh, key=lambda p: _env(p[1]).seq):
            seq_flags = sequences.flags(_env(item).seq)
            if isinstance(item, Rejection):
                outcomes[index] = _store_rejection(writes, item, device_id, received_at, seq_flags)
                continue
            outcomes[index], registered = _decide_one(
                writes, item, resolved[index], state, device_id, received_at, seq_flags, floor
            )
            if registered is not None and (newest_registered is None or registered > newest_registered):
                newest_registered = registered
        self._write(tx, writes, persons)
        self._update_device(tx, device_id, sequences, floor, newest_registered)
        if writes.decided:
            # one chained entry per batch lists every decision: the log stays complete and
            # tamper-evident while costing one row per batch instead of one per record
            append(
                tx,
                self._dialect,
                [AuditEvent("batch", device_id, {"decisions": writes.decided})],
                at=received_at,
            )
        return [outcomes[i] for i in sorted(outcomes)]

    @staticmethod
    def _split_repeats(
        tx: Transaction, device_id: str, checked: Sequence[Checked]
    ) -> tuple[dict[int, Outcome], list[tuple[int, Checked]]]:
        """Answer record ids already stored, or earlier in this batch, by the ledger's rule; return
        (their outcomes by batch index, the fresh storable items).

        Why first: a re-sent record must get its first answer and change nothing, so it never
        reaches sequence checks, persons or awards. Unstorable rejections (no verified device
        signature) are left out here; :mod:`sync.server.ingest` answers them.
        """
        storable = [
            (i, c)
            for i, c in enumerate(checked)
            if isinstance(c, Verified) or (c.store and c.envelope is not None and c.record_id)
        ]
        existing = stored_records(tx, [_rid(c) for _, c in storable])
        outcomes: dict[int, Outcome] = {}
        seen: dict[str, bytes] = {}
        fresh: list[tuple[int, Checked]] = []
        for index, item in storable:
            rid, digest = _rid(item), item.envelope_hash
            prior: StoredRecord | None = existing.get(rid)
            if prior is None and rid in seen:
                prior = accepted_in_batch(device_id, seen[rid])
            if prior is not None:
                outcomes[index] = repeat_outcome(rid, prior, device_id, digest)
                continue
            seen[rid] = digest
            fresh.append((index, item))
        return outcomes, fresh

    @staticmethod
    def _sequences(
        tx: Transaction, device_id: str, fresh: Sequence[tuple[int, Checked]], last_sequence: int
    ) -> _Sequences:
        """Per-device sequence numbers: a number used before (or twice in this batch) and a jump
        past the next expected one are flagged, because both are what a cloned kiosk leaves."""
        seq_counts = Counter(_env(c).seq for _, c in fresh)
        seqs = sorted(seq_counts)
        # a sequence number twice in one batch is reuse too (a clone uploading through the same queue)
        reused: set[int] = {seq for seq, count in seq_counts.items() if count > 1}
        for start in range(0, len(seqs), 500):
            frag, params = tx.any_of(seqs[start : start + 500])
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
        return _Sequences(last_sequence, max([last_sequence, *seqs]), frozenset(reused), frozenset(gaps))

    def _persons_and_awards(
        self, tx: Transaction, verified: Sequence[tuple[int, Verified]], received_at: datetime
    ) -> tuple[_Persons, dict[int, tuple[str, str | None]], AwardState]:
        """Resolve each verified record's person (in kiosk sequence order, so a person first seen
        in this batch is one person for its later records) and load the award state for them."""
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
        return persons, resolved, state

    def _write(self, tx: Transaction, writes: _Writes, persons: _Persons) -> None:
        """One multi-row statement per table (and one upsert per programme's counters), so the
        decision lock is held for a few round trips per batch, not per record."""
        insert_rows(
            tx,
            "person_keys",
            ("kind", "key_hash", "person_id", "address_hash", "created_at"),
            persons.new_keys,
        )
        insert_rows(tx, "records", RECORD_COLUMNS, writes.records)
        insert_rows(tx, "registrations", REGISTRATION_COLUMNS, writes.registrations)
        insert_rows(tx, "grants", GRANT_COLUMNS, writes.grants)
        insert_rows(
            tx,
            "lottery_entries",
            ("program_id", "person_id", "record_id", "code", "entered_at"),
            writes.entries,
        )
        insert_rows(
            tx,
            "review_queue",
            ("record_id", "program_id", "person_id", "matched_person_id", "reason", "created_at"),
            writes.reviews,
        )
        bump_counters(tx, self._dialect, writes.deltas)

    def _update_device(
        self,
        tx: Transaction,
        device_id: str,
        sequences: _Sequences,
        floor: datetime | None,
        newest_registered: datetime | None,
    ) -> None:
        """Move the device's sequence high-water mark and its clock floor (its newest accepted
        registration time) forward, so the next batch is checked against this one."""
        if sequences.new_last != sequences.last:
            tx.execute(
                "UPDATE devices SET last_sequence = ? WHERE device_id = ?", (sequences.new_last, device_id)
            )
        if newest_registered is not None and newest_registered != floor:
            tx.execute(
                "UPDATE devices SET last_registered_at = ? WHERE device_id = ?",
                (newest_registered, device_id),
            )

    @staticmethod
    def _refuse_code_collisions(
        tx: Transaction, fresh: list[tuple[int, Checked]]
    ) -> list[tuple[int, Checked]]:
        """Turn a record whose registration code is already stored (or earlier in the batch) into a
        stored ``code_collision`` rejection: one code must name one record (issue 14)."""
        codes = sorted({c.code for _, c in fresh if isinstance(c, Verified)})
        taken: set[str] = set()
        for start in range(0, len(codes), 500):
            frag, params = tx.any_of(codes[start : start + 500])
            taken.update(str(r[0]) for r in tx.execute(f"SELECT code FROM records WHERE code {frag}", params))  # noqa: S608
        out: list[tuple[int, Checked]] = []
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


def _clock_floor(device_row: Sequence[object] | None) -> datetime | None:
    """The clock policy's lower bound (docs/server.md): no record can be sealed before its device
    was enrolled, and a kiosk's clock does not run backwards past its previous accepted record."""
    return max(
        [as_datetime(v) for v in (device_row or (None, None, None))[1:] if v is not None],
        default=None,
    )


def _store_rejection(
    writes: _Writes, item: Rejection, device_id: str, received_at: datetime, seq_flags: list[Flag]
) -> Outcome:
    """A rejection whose device signature verified is stored, so a re-send gets the same answer."""
    env = _env(item)
    writes.records.append(
        record_row(
            env,
            code=None,
            device_id=device_id,
            received_at=received_at,
            digest=item.envelope_hash,
            status=RecordStatus.REJECTED,
            reason=item.reason.value,
            decision=None,
        )
    )
    writes.decided.append(
        [env.record_id, RecordStatus.REJECTED.value, item.reason.value, None, [f.value for f in seq_flags]]
    )
    return Outcome(env.record_id, RecordStatus.REJECTED, item.reason)


def _decide_one(
    writes: _Writes,
    item: Verified,
    person: tuple[str, str | None],
    state: AwardState,
    device_id: str,
    received_at: datetime,
    seq_flags: list[Flag],
    floor: datetime | None,
) -> tuple[Outcome, datetime | None]:
    """Decide one verified record: review or the programme's award, and every row it adds.

    Returns the outcome and the registration time that may move the device's clock floor (None
    when the record is dated before it: then a person decides, never a grant on the kiosk's word).
    """
    person_id, matched = person
    flags: list[Flag] = [*item.flags, *seq_flags]
    out_of_bounds = floor is not None and item.registered_at < floor - MAX_CLOCK_SKEW
    if out_of_bounds:
        # dated before the device's own history: the programme rules ran at a time the
        # server cannot trust
        flags.append(Flag.CLOCK_OUT_OF_BOUNDS)
    if matched is not None or out_of_bounds:
        if matched is not None:
            flags.append(Flag.POSSIBLE_SAME_PERSON)
        decision = _hold_for_review(writes, item, person_id, matched, received_at)
    else:
        keys = (item.person_keys.primary, item.person_keys.secondary)
        decision = award_decision(item.program, person_id, keys, state)
    _add_award_rows(writes, item, person_id, decision.action, received_at)
    _add_accepted_rows(writes, item, device_id, person_id, decision, [f.value for f in flags], received_at)
    outcome = Outcome(item.record_id, RecordStatus.ACCEPTED, None, decision)
    return outcome, None if out_of_bounds else item.registered_at


def _hold_for_review(
    writes: _Writes, item: Verified, person_id: str, matched: str | None, received_at: datetime
) -> Decision:
    """Queue the record for an operator instead of running the award rules: a possible same person
    at another address (``matched``), or a registration time outside the clock policy."""
    reason = (
        ReviewReason.SECONDARY_MATCH_OTHER_ADDRESS
        if matched is not None
        else ReviewReason.CLOCK_OUT_OF_BOUNDS
    )
    writes.reviews.append(
        (
            item.record_id,
            item.program.id,
            person_id,
            matched if matched is not None else person_id,
            reason.value,
            received_at,
        )
    )
    return Decision.REVIEW


def _add_accepted_rows(
    writes: _Writes,
    item: Verified,
    device_id: str,
    person_id: str,
    decision: Decision,
    flags: list[str],
    received_at: datetime,
) -> None:
    """The ``records`` and ``registrations`` rows of an accepted record and its audit line."""
    writes.records.append(
        record_row(
            item.envelope,
            code=item.code,
            device_id=device_id,
            received_at=received_at,
            digest=item.envelope_hash,
            status=RecordStatus.ACCEPTED,
            reason=None,
            decision=decision,
        )
    )
    writes.registrations.append(
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
            decision.value,
            None,
            json.dumps(flags),
            item.certificate_tag,  # keyed: a plain fingerprint would link the holder
            item.packed,
        )
    )
    writes.decided.append([item.record_id, RecordStatus.ACCEPTED.value, decision.value, person_id, flags])


def _add_award_rows(
    writes: _Writes, item: Verified, person_id: str, action: AwardAction, received_at: datetime
) -> None:
    """The grant (and the programme counter's delta) or the lottery entry a decision adds."""
    if action is AwardAction.GRANT:
        writes.grants.append(
            grant_row(
                item.program,
                person_id,
                item.record_id,
                item.code,
                item.municipality,
                received_at,
                GrantVia.FCFS,
            )
        )
        count, points = writes.deltas.get(item.program.id, (0, 0))
        writes.deltas[item.program.id] = (count + 1, points + item.program.award.points)
    elif action is AwardAction.ENTER:
        writes.entries.append((item.program.id, person_id, item.record_id, item.code, received_at))


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


def _rid(item: Checked) -> str:
    return item.record_id if isinstance(item, Verified) else str(item.record_id)


def _env(item: Checked) -> Envelope:
    env = item.envelope
    if env is None:  # storable rejections always carry their envelope (filtered in decide)
        raise ValueError("a stored record needs its envelope")
    return env
