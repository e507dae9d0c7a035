"""Shelter check-ins on the server: ingest, the evacuee lists, notices by area, retention.

Check-ins arrive in the same ``POST /v1/records`` batches as registrations, with the reserved
programme id :data:`~kiosk.rules.shelter_record.CHECKIN_PROGRAM_ID` in the envelope header;
:meth:`ShelterIngestor.ingest` takes them out of the batch before the registration path sees it.
The checks are the registration path's where they apply (device signature, HPKE open bound to the
header, strict canonical parse, record id / kiosk agree with the envelope, JPKI chain of a card
arrival by the same :class:`~sync.server.chain.ChainVerifier`), and the idempotency rules are the
same (the ``records`` table: a byte-identical re-send is ``duplicate``, another envelope with a
stored id is ``conflict``). There is no card signature to check: the PIN-less tap cannot make one
(docs/shelter.md §3).

Who is who, without storing anyone's name: every arrival stores a *subject*, a keyed hash:

- card: the **primary person key** of the certificate (:meth:`PersonKeyer.primary` of issuer DER
  and serial, the very key registrations store in ``person_keys``), so a check-in joins the
  registered resident at query time, even when the registration reaches the server later (a booth
  that was offline);
- printed card: a keyed hash of the token, joined through ``checkin_cards`` (sent by the booth at
  registration) to the registration and its person;
- staff entry: the **secondary key** (:meth:`PersonKeyer.secondary`) of the kana name and birth
  date; never linked to a registration (unverified).

Follow-up records (departure, moved, companions) name their arrival (``refers_to``). A person is
*present* at a shelter when their latest arrival is there and has no departure or move: parallel
uploads may deliver a departure before its arrival, so presence is computed at query time.

Names, addresses and birth dates exist only inside sealed envelopes; :func:`evacuees`,
:func:`not_seen` and :func:`notice_list` decrypt them only for a named disaster-response operator
whose token verifies, each opening audited with its reason.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.errors import RecordFormatError
from kiosk.rules.address import parse_address
from kiosk.rules.record import parse_signed
from kiosk.rules.shelter_config import Shelter
from kiosk.rules.shelter_record import (
    CHECKIN_PROGRAM_ID,
    CheckinCardRecord,
    CheckinRecord,
    ContactRecord,
    Event,
    Method,
    parse_shelter_plaintext,
)
from sync.sealing import BadCiphertextError, decrypt
from sync.server import audit
from sync.server.chain import ChainStatus
from sync.server.context import ServerContext
from sync.server.db import Database, Dialect, Transaction, as_datetime, insert_rows
from sync.server.decide import DECISION_LOCK
from sync.server.errors import DeviceRefusedError, ServerError
from sync.server.keys import ServerKeys
from sync.server.ledger import (
    RECORD_COLUMNS,
    Outcome,
    accepted_in_batch,
    record_row,
    repeat_outcome,
    stored_records,
)
from sync.server.outcomes import Flag
from sync.server.stored import envelope_digest, pack, unpack
from sync.server.verify import chain_reason, device_signature_ok
from sync.wire import Envelope, RecordStatus, RejectReason

_TOKEN_LABEL = b"madoguchi.shelter.token.v1\x00"
#: Default retention of check-ins: long enough for the response and recovery phase of a disaster,
#: far shorter than registrations' five years (docs/shelter.md §5).
DEFAULT_RETENTION_DAYS = 180


class ShelterError(ServerError):
    """Base of the shelter module's refusals."""


class OperatorRefusedError(ShelterError):
    """Unknown or revoked operator, or a token that does not verify: nothing was opened."""


class ReasonRequiredError(ShelterError):
    """A bulk opening (names of many people) needs a recorded reason."""


# --- ingest ----------------------------------------------------------------------------------------


def is_shelter_envelope(item: object) -> bool:
    """Whether a parsed batch item is a shelter record (routed by the envelope header alone)."""
    return isinstance(item, Envelope) and item.program_id == CHECKIN_PROGRAM_ID


def token_hash(person_secret: bytes, token: str) -> bytes:
    """The keyed hash a check-in card token is stored and looked up by (never the token itself)."""
    return hmac.digest(person_secret, _TOKEN_LABEL + token.encode("ascii"), "sha256")


@dataclass(frozen=True)
class _Row:
    envelope: Envelope = field(repr=False)
    digest: bytes = field(repr=False)
    record: CheckinRecord | CheckinCardRecord | ContactRecord | None = field(repr=False)
    subject: bytes | None = field(repr=False)
    flags: tuple[Flag, ...]
    reason: str | None  # a stored rejection


class ShelterIngestor:
    """Verifies and stores the shelter records of a batch (one instance per server context)."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx

    def split(self, parsed: Sequence[object]) -> tuple[list[object], list[Envelope]]:
        """(the items for the registration path, the shelter envelopes)."""
        rest: list[object] = []
        shelter: list[Envelope] = []
        for item in parsed:
            if is_shelter_envelope(item):
                assert isinstance(item, Envelope)
                shelter.append(item)
            else:
                rest.append(item)
        return rest, shelter

    def _check(self, env: Envelope, device_id: str, key: Ed25519PublicKey) -> _Row | Outcome:
        if env.kiosk_id != device_id:
            return Outcome(env.record_id, RecordStatus.REJECTED, RejectReason.KIOSK_MISMATCH)
        header = env.header_bytes()
        if not device_signature_ok(key, env.sig, header + env.ct):
            return Outcome(env.record_id, RecordStatus.REJECTED, RejectReason.BAD_SIGNATURE)  # not stored
        digest = envelope_digest(header, env.ct, env.sig)

        def reject(reason: RejectReason) -> _Row:
            return _Row(env, digest, None, None, (), reason.value)

        try:
            plaintext = decrypt(env.ct, header=header, server_private_key=self._ctx.keys.hpke_private_key)
        except BadCiphertextError:
            return reject(RejectReason.BAD_CIPHERTEXT)
        try:
            record = parse_shelter_plaintext(plaintext)
        except RecordFormatError:
            return reject(RejectReason.INVALID_RECORD)
        if record.record_id != env.record_id or record.kiosk.kiosk_id != env.kiosk_id:
            return reject(RejectReason.RECORD_MISMATCH)
        flags: list[Flag] = []
        subject: bytes | None = None
        if isinstance(record, CheckinCardRecord):
            return _Row(env, digest, record, token_hash(self._ctx.keys.person_secret, record.token), (), None)
        if isinstance(record, ContactRecord):
            return _Row(env, digest, record, None, (), None)
        if record.event is Event.ARRIVAL:
            if record.method is Method.CARD:
                assert record.auth_certificate is not None
                chain = self._ctx.chains.check(record.auth_certificate)
                if chain.status is not ChainStatus.OK:
                    return reject(chain_reason(chain.status))
                if not chain.valid_at(record.kiosk.clock):
                    flags.append(Flag.CERTIFICATE_EXPIRED)  # let in at the shelter; counted, flagged
                subject = self._ctx.keyer.primary(chain.issuer_der, chain.serial)
            elif record.method is Method.CODE:
                assert record.token is not None
                subject = token_hash(self._ctx.keys.person_secret, record.token)
            else:
                assert record.unverified is not None
                subject = self._ctx.keyer.secondary(record.unverified.name_kana, record.unverified.birth_date)
                flags.append(Flag.UNVERIFIED)
        return _Row(env, digest, record, subject, tuple(flags), None)

    def ingest(
        self, device_id: str, key: Ed25519PublicKey, envelopes: Sequence[Envelope], received_at: datetime
    ) -> list[Outcome]:
        """Verify and store the shelter envelopes of one batch; one outcome per record id.

        :raises StorageError: the database is unavailable (the client retries later).
        """
        outcomes: list[Outcome] = []
        rows: list[_Row] = []
        for env in envelopes:
            checked = self._check(env, device_id, key)
            if isinstance(checked, Outcome):
                outcomes.append(checked)
            else:
                rows.append(checked)
        if rows:
            outcomes.extend(self._store(device_id, rows, received_at))
        answered: set[str] = set()
        unique: list[Outcome] = []
        for outcome in outcomes:
            if outcome.record_id not in answered:
                answered.add(outcome.record_id)
                unique.append(outcome)
        return unique

    def _store(self, device_id: str, rows: Sequence[_Row], received_at: datetime) -> list[Outcome]:
        """Store one batch's shelter rows under the decision lock (the same ledger and the same
        re-send rule as registrations); one outcome per row."""
        db = self._ctx.db
        outcomes: list[Outcome] = []
        with db.transaction(exclusive=True) as tx:
            if db.dialect is Dialect.POSTGRES:
                tx.execute("SELECT pg_advisory_xact_lock(?)", (DECISION_LOCK,))
            if (
                tx.one("SELECT 1 FROM devices WHERE device_id = ? AND revoked_at IS NULL", (device_id,))
                is None
            ):
                raise DeviceRefusedError(device_id, unknown=False)
            existing = stored_records(tx, [r.envelope.record_id for r in rows])
            writes = _ShelterWrites()
            seen: dict[str, bytes] = {}
            for row in rows:
                rid = row.envelope.record_id
                prior = existing.get(rid) or (
                    accepted_in_batch(device_id, seen[rid]) if rid in seen else None
                )
                if prior is not None:
                    outcomes.append(repeat_outcome(rid, prior, device_id, row.digest))
                    continue
                seen[rid] = row.digest
                outcomes.append(writes.add(row, device_id, received_at))
            writes.write(tx)
            if writes.max_seq:
                # the outbox numbers check-ins and registrations in one sequence: keep the device's
                # high-water mark so the registration path sees no false gaps
                tx.execute(
                    "UPDATE devices SET last_sequence = ? WHERE device_id = ? AND last_sequence < ?",
                    (writes.max_seq, device_id, writes.max_seq),
                )
            if writes.counts:
                audit.append(
                    tx,
                    db.dialect,
                    [audit.AuditEvent("shelter.batch", device_id, dict(writes.counts))],
                    at=received_at,
                )
        return outcomes


@dataclass
class _ShelterWrites:
    """The rows one batch of fresh shelter records adds, collected and then written per table."""

    records: list[tuple[object, ...]] = field(default_factory=list)
    checkins: list[tuple[object, ...]] = field(default_factory=list)
    cards: list[tuple[object, ...]] = field(default_factory=list)
    contacts: list[tuple[object, ...]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # the audit entry's tally
    max_seq: int = 0

    def add(self, row: _Row, device_id: str, received_at: datetime) -> Outcome:
        """The ledger row of one fresh record (stored rejections too, so a re-send gets the same
        answer) and, when accepted, its check-in, check-in card or contact row."""
        env = row.envelope
        rid = env.record_id
        self.max_seq = max(self.max_seq, env.seq)
        status = RecordStatus.REJECTED if row.reason else RecordStatus.ACCEPTED
        self.records.append(
            record_row(
                env,
                code=None,
                device_id=device_id,
                received_at=received_at,
                digest=row.digest,
                status=status,
                reason=row.reason,
                decision=None,
            )
        )
        if row.reason:
            self.counts[RecordStatus.REJECTED.value] += 1
            return Outcome(rid, RecordStatus.REJECTED, row.reason)
        record = row.record
        if isinstance(record, ContactRecord):
            self.contacts.append(
                (
                    record.registration_record_id,
                    rid,
                    record.kiosk.clock,
                    int(record.phone is None),
                    pack(env.header_bytes(), env.ct, env.sig),
                )
            )
            self.counts["contact"] += 1
        elif isinstance(record, CheckinCardRecord):
            assert row.subject is not None
            self.cards.append((row.subject, record.registration_record_id, rid, record.kiosk.clock))
            self.counts["checkin_card"] += 1
        else:
            assert isinstance(record, CheckinRecord)
            self.counts[record.event.value] += 1
            self.checkins.append(_checkin_row(row, record, device_id, received_at))
        return Outcome(rid, RecordStatus.ACCEPTED)

    def write(self, tx: Transaction) -> None:
        """Ledger and check-ins in one statement each; a card token and a contact only when they
        win against what is stored (first card wins, the newest contact by kiosk clock wins)."""
        insert_rows(tx, "records", RECORD_COLUMNS, self.records)
        insert_rows(tx, "checkins", _CHECKIN_COLUMNS, self.checkins)
        # a token issued twice (a re-sent card record has another record id): the first wins
        for card in self.cards:
            if tx.one("SELECT 1 FROM checkin_cards WHERE token_hash = ?", (card[0],)) is None:
                insert_rows(
                    tx,
                    "checkin_cards",
                    ("token_hash", "registration_record_id", "record_id", "issued_at"),
                    [card],
                )
        for contact in self.contacts:
            # the latest contact by the kiosk clock wins (a withdrawal is a contact too)
            prior_contact = tx.one(
                "SELECT given_at FROM shelter_contacts WHERE registration_record_id = ?", (contact[0],)
            )
            if prior_contact is None:
                insert_rows(
                    tx,
                    "shelter_contacts",
                    ("registration_record_id", "record_id", "given_at", "withdrawn", "envelope"),
                    [contact],
                )
            elif as_datetime(prior_contact[0]) < as_datetime(contact[2]):
                tx.execute(
                    "UPDATE shelter_contacts SET record_id = ?, given_at = ?, withdrawn = ?, envelope = ?"
                    " WHERE registration_record_id = ?",
                    (contact[1], contact[2], contact[3], contact[4], contact[0]),
                )


def _checkin_row(
    row: _Row, record: CheckinRecord, device_id: str, received_at: datetime
) -> tuple[object, ...]:
    """A ``checkins`` row in :data:`_CHECKIN_COLUMNS` order."""
    env = row.envelope
    return (
        env.record_id,
        received_at,
        record.kiosk.clock,
        device_id,
        record.shelter_id,
        record.event.value,
        record.method.value,
        record.refers_to or env.record_id,
        row.subject,
        record.chain,
        record.companions,
        record.moved_to,
        json.dumps([f.value for f in row.flags]),
        pack(env.header_bytes(), env.ct, env.sig),
        record.household,
    )


_CHECKIN_COLUMNS = (
    "record_id",
    "received_at",
    "checked_at",
    "device_id",
    "shelter_id",
    "event",
    "method",
    "arrival_id",
    "subject",
    "chain",
    "companions",
    "moved_to",
    "flags",
    "envelope",
    "household",
)


# --- operators -------------------------------------------------------------------------------------


def _token_digest(token: str) -> bytes:
    return hashlib.sha256(b"madoguchi.shelter.operator.v1\x00" + token.encode("utf-8")).digest()


def add_operator(db: Database, name: str, *, actor: str) -> str:
    """Authorise a disaster-response operator; return their token (shown once, stored hashed)."""
    if not name or len(name) > 64 or not name.isprintable():
        raise ShelterError("operator name: 1-64 printable characters")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.transaction(exclusive=True) as tx:
        if tx.one("SELECT 1 FROM shelter_operators WHERE name = ?", (name,)) is not None:
            raise ShelterError(f"operator {name!r} exists (revoke it first)")
        tx.execute(
            "INSERT INTO shelter_operators (name, token_hash, created_at) VALUES (?, ?, ?)",
            (name, _token_digest(token), now),
        )
        audit.append(tx, db.dialect, [audit.AuditEvent("shelter.operator.add", actor, {"operator": name})])
    return token


def revoke_operator(db: Database, name: str, *, actor: str) -> None:
    """Withdraw an operator's authorisation (the row stays, for the audit trail).

    :raises ShelterError: no operator of that name.
    """
    with db.transaction(exclusive=True) as tx:
        if tx.one("SELECT 1 FROM shelter_operators WHERE name = ?", (name,)) is None:
            raise ShelterError(f"no operator {name!r}")
        tx.execute("UPDATE shelter_operators SET revoked_at = ? WHERE name = ?", (datetime.now(UTC), name))
        audit.append(tx, db.dialect, [audit.AuditEvent("shelter.operator.revoke", actor, {"operator": name})])


def check_operator(tx: Transaction, name: str, token: str) -> None:
    """:raises OperatorRefusedError: unknown, revoked, or the token does not verify."""
    row = tx.one("SELECT token_hash, revoked_at FROM shelter_operators WHERE name = ?", (name,))
    if row is None or row[1] is not None or not hmac.compare_digest(bytes(row[0]), _token_digest(token)):
        raise OperatorRefusedError("not an authorised disaster-response operator")


@dataclass(frozen=True)
class Operator:
    """Who opens names, with the token they presented and why (the reason goes to the audit log)."""

    name: str
    token: str = field(repr=False)
    reason: str = ""


# --- presence --------------------------------------------------------------------------------------

_PRESENT_SQL = """
WITH a AS (
  SELECT c.record_id, c.shelter_id, c.method, c.chain, c.checked_at, c.subject, c.flags, c.household,
         COALESCE(pk.person_id, r.person_id) AS person_id
  FROM checkins c
  LEFT JOIN person_keys pk ON c.method = 'card' AND pk.key_hash = c.subject AND pk.kind = 'primary'
  LEFT JOIN checkin_cards cc ON c.method = 'code' AND cc.token_hash = c.subject
  LEFT JOIN registrations r ON r.record_id = cc.registration_record_id
  WHERE c.event = 'arrival'
),
ranked AS (
  SELECT a.*, ROW_NUMBER() OVER (
    PARTITION BY a.person_id, CASE WHEN a.person_id IS NULL THEN a.subject END
    ORDER BY a.checked_at DESC, a.record_id DESC) AS rn
  FROM a
)
SELECT ranked.record_id, ranked.shelter_id, ranked.method, ranked.chain, ranked.checked_at,
       ranked.person_id, ranked.flags, ranked.household,
       (SELECT COALESCE(SUM(m.companions), 0) FROM checkins m
         WHERE m.arrival_id = ranked.record_id AND m.event = 'companions') AS companions
FROM ranked
WHERE ranked.rn = 1
  AND NOT EXISTS (SELECT 1 FROM checkins d
                  WHERE d.arrival_id = ranked.record_id AND d.event IN ('departure', 'moved'))
"""


@dataclass(frozen=True)
class PresentPerson:
    """One person present at a shelter (no personal data until opened)."""

    arrival_id: str
    shelter_id: str
    method: str
    chain: str | None
    arrived_at: datetime
    person_id: str | None = field(repr=False)
    companions: int
    unverified: bool
    #: the arrival of the household member this person came with (None: alone or first)
    household: str | None = None

    @property
    def registered(self) -> bool:
        """Linked to a registered resident (card or printed card of a registration)."""
        return self.person_id is not None


def present(db: Database, shelter_id: str | None = None) -> list[PresentPerson]:
    """Everyone present now, at one shelter or all."""
    with db.transaction() as tx:
        rows = tx.execute(_PRESENT_SQL)
    out = []
    for rid, sid, method, chain, at, person, flags, household, companions in rows:
        if shelter_id is not None and sid != shelter_id:
            continue
        out.append(
            PresentPerson(
                str(rid),
                str(sid),
                str(method),
                chain,
                as_datetime(at),
                None if person is None else str(person),
                int(companions),
                Flag.UNVERIFIED.value in json.loads(flags),
                None if household is None else str(household),
            )
        )
    return out


def summary(
    db: Database, shelters: Mapping[str, Shelter], *, now: datetime | None = None, hours: int = 72
) -> list[dict[str, Any]]:
    """Per shelter: headcount, breakdown and arrivals per hour (UTC) over the last ``hours``."""
    moment = now or datetime.now(UTC)
    since = moment - timedelta(hours=hours)
    people = present(db)
    with db.transaction() as tx:
        arrivals = tx.execute(
            "SELECT shelter_id, checked_at, event, companions FROM checkins"
            " WHERE event IN ('arrival', 'companions') AND checked_at >= ?",
            (since,),
        )
    buckets: dict[str, Counter[str]] = {}
    for sid, at, event, companions in arrivals:
        hour = as_datetime(at).astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")
        buckets.setdefault(str(sid), Counter())[hour] += 1 if event == "arrival" else int(companions)
    ids = sorted(set(shelters) | {p.shelter_id for p in people} | set(buckets))
    out = []
    for sid in ids:
        here = [p for p in people if p.shelter_id == sid]
        shelter = shelters.get(sid)
        companions = sum(p.companions for p in here)
        out.append(
            {
                "shelter_id": sid,
                "name": shelter.name("ja") if shelter else None,
                "municipality": shelter.municipality if shelter else None,
                "capacity": shelter.capacity if shelter else None,
                "headcount": len(here) + companions,
                "people": len(here),
                "companions": companions,
                "registered": sum(p.registered for p in here),
                "unregistered_cards": sum(1 for p in here if p.method == "card" and not p.registered),
                "unlinked_codes": sum(1 for p in here if p.method == "code" and not p.registered),
                "unverified": sum(p.unverified for p in here),
                "arrivals_per_hour": dict(sorted(buckets.get(sid, Counter()).items())),
            }
        )
    return out


# --- opening names ---------------------------------------------------------------------------------


def _open(keys: ServerKeys, blob: bytes) -> bytes:
    envelope = unpack(blob)
    return decrypt(envelope.ct, header=envelope.header_bytes(), server_private_key=keys.hpke_private_key)


def _registration_of(tx: Transaction, keys: ServerKeys, person_id: str) -> dict[str, str] | None:
    row = tx.one(
        "SELECT envelope FROM registrations WHERE person_id = ? ORDER BY registered_at DESC LIMIT 1",
        (person_id,),
    )
    if row is None:
        return None
    signed = parse_signed(_open(keys, bytes(row[0])))
    r = signed.record.resident
    return {"name": r.name, "address": r.address, "birth_date": r.birth_date.isoformat()}


#: Columns of the evacuee export (CSV header order; JSON objects carry the same keys).
EVACUEE_COLUMNS = (
    "shelter_id",
    "arrival_id",
    "arrived_at",
    "method",
    "verified",
    "registered",
    "companions",
    "household",
    "name",
    "name_kana",
    "birth_date",
    "address",
)


def evacuees(
    db: Database, keys: ServerKeys, shelter_id: str, *, operator: Operator | None = None
) -> list[dict[str, Any]]:
    """Who is at ``shelter_id`` now. Without ``operator``: no names (nothing decrypted). With one
    whose token verifies: names, kana, birth dates and addresses, the opening audited first
    (operator, shelter, number of people, reason).

    :raises OperatorRefusedError: the operator is not authorised (nothing was opened).
    """
    people = present(db, shelter_id)
    rows: list[dict[str, Any]] = []
    with db.transaction(exclusive=operator is not None) as tx:
        if operator is not None:
            check_operator(tx, operator.name, operator.token)
            audit.append(
                tx,
                db.dialect,
                [
                    audit.AuditEvent(
                        "shelter.evacuees.open",
                        operator.name,
                        {"shelter_id": shelter_id, "people": len(people), "reason": operator.reason},
                    )
                ],
            )
        for p in sorted(people, key=lambda p: p.arrived_at):
            item: dict[str, Any] = {
                "shelter_id": p.shelter_id,
                "arrival_id": p.arrival_id,
                "arrived_at": p.arrived_at.astimezone(UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "Z"),
                "method": p.method,
                "verified": not p.unverified,
                "registered": p.registered,
                "companions": p.companions,
                "household": p.household,
                "name": None,
                "name_kana": None,
                "birth_date": None,
                "address": None,
            }
            if operator is not None:
                if p.person_id is not None:
                    found = _registration_of(tx, keys, p.person_id)
                    if found:
                        item.update(found)
                elif p.unverified:
                    blob = tx.one("SELECT envelope FROM checkins WHERE record_id = ?", (p.arrival_id,))
                    assert blob is not None
                    record = parse_shelter_plaintext(_open(keys, bytes(blob[0])))
                    if isinstance(record, CheckinRecord) and record.unverified is not None:
                        item["name_kana"] = record.unverified.name_kana
                        item["birth_date"] = record.unverified.birth_date.isoformat()
            rows.append(item)
    return rows


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV with a header row (UTF-8 text; booleans as true/false, empty for none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [
                ""
                if row.get(c) is None
                else ("true" if row[c] is True else "false" if row[c] is False else row[c])
                for c in columns
            ]
        )
    return buffer.getvalue()


def _area(area: str) -> tuple[str, str]:
    parsed = parse_address(area)
    prefecture = parsed.prefecture or ""
    municipality = (parsed.county or "") + (parsed.municipality or "") + (parsed.ward or "")
    if not prefecture:
        raise ShelterError(f"area {area!r}: name a prefecture, e.g. 宮城県石巻市")
    return prefecture, municipality


def _disaster_registrations(
    tx: Transaction, keys: ServerKeys, area: str
) -> list[tuple[str, str, dict[str, str]]]:
    """(person id, record id, resident) of the latest disaster-service registration per person in
    ``area`` (prefecture plus optional municipality prefix)."""
    prefecture, municipality = _area(area)
    rows = tx.execute(
        "SELECT person_id, record_id, registered_at, envelope FROM registrations"
        " WHERE prefecture = ? AND substr(municipality, 1, ?) = ? AND decision <> ?",
        (prefecture, len(municipality), municipality, RecordStatus.REJECTED.value),
    )
    latest: dict[str, tuple[datetime, str, dict[str, str]]] = {}
    for person, rid, at, blob in rows:
        signed = parse_signed(_open(keys, bytes(blob)))
        if "disaster" not in signed.record.services:
            continue
        r = signed.record.resident
        when = as_datetime(at)
        if str(person) not in latest or latest[str(person)][0] < when:
            resident = {"name": r.name, "address": r.address, "birth_date": r.birth_date.isoformat()}
            latest[str(person)] = (when, str(rid), resident)
    return [(p, v[1], v[2]) for p, v in sorted(latest.items(), key=lambda kv: kv[1][1])]


def _bulk_open(
    tx: Transaction, dialect: Dialect, operator: Operator, kind: str, detail: dict[str, Any]
) -> None:
    if not operator.reason.strip():
        raise ReasonRequiredError("a bulk opening needs --reason (it is written to the audit log)")
    check_operator(tx, operator.name, operator.token)
    audit.append(tx, dialect, [audit.AuditEvent(kind, operator.name, {**detail, "reason": operator.reason})])


def not_seen(db: Database, keys: ServerKeys, area: str, *, operator: Operator) -> dict[str, Any]:
    """Registered disaster-service residents of ``area`` not seen at any shelter (safety checks).

    Reading which registrations chose the disaster service means opening them, so this is a bulk
    opening: an authorised operator and a reason, audited.
    """
    seen = {p for p in _all_arrival_persons(db) if p}
    with db.transaction(exclusive=True) as tx:
        _bulk_open(tx, db.dialect, operator, "shelter.not_seen.open", {"area": area})
        residents = _disaster_registrations(tx, keys, area)
    missing = [
        {"registration_id": rid, **resident} for person, rid, resident in residents if person not in seen
    ]
    return {"area": area, "registered": len(residents), "not_seen": len(missing), "residents": missing}


def _all_arrival_persons(db: Database) -> list[str | None]:
    sql = _PRESENT_SQL.split("ranked AS")[0].rstrip().rstrip(",") + "\nSELECT person_id FROM a"
    with db.transaction() as tx:
        return [None if r[0] is None else str(r[0]) for r in tx.execute(sql)]


#: Columns of ``notice-list`` (CSV header order; JSON objects carry the same keys).
NOTICE_COLUMNS = ("registration_id", "name", "address", "channel", "contact")


def notice_list(db: Database, keys: ServerKeys, area: str, *, operator: Operator) -> list[dict[str, Any]]:
    """Disaster-service registrations whose address lies in ``area``, for an evacuation notice.

    ``channel`` is ``sms`` or ``voice`` with the phone number in ``contact`` when the resident gave
    an optional contact with its own consent (``madoguchi.contact/1``, not withdrawn); otherwise
    ``address`` (a notice by post or in person at the registered address) and ``contact`` empty.
    """
    contacts: dict[str, tuple[str, str]] = {}
    with db.transaction(exclusive=True) as tx:
        _bulk_open(tx, db.dialect, operator, "shelter.notice_list.open", {"area": area})
        residents = _disaster_registrations(tx, keys, area)
        ids = [rid for _, rid, _ in residents]
        for start in range(0, len(ids), 500):
            frag, params = tx.any_of(ids[start : start + 500])
            sql = (
                "SELECT registration_record_id, envelope FROM shelter_contacts"  # noqa: S608
                f" WHERE withdrawn = 0 AND registration_record_id {frag}"
            )
            for reg, blob in tx.execute(sql, params):
                record = parse_shelter_plaintext(_open(keys, bytes(blob)))
                if isinstance(record, ContactRecord) and record.phone and record.channel:
                    contacts[str(reg)] = (record.channel, record.phone)
    out = []
    for _, rid, r in residents:
        channel, contact = contacts.get(rid, ("address", None))
        out.append(
            {
                "registration_id": rid,
                "name": r["name"],
                "address": r["address"],
                "channel": channel,
                "contact": contact,
            }
        )
    return out


# --- retention -------------------------------------------------------------------------------------


def purge_checkins(
    db: Database, *, retention_days: int = DEFAULT_RETENTION_DAYS, actor: str, now: datetime | None = None
) -> dict[str, int]:
    """Delete check-ins (and their ``records`` rows) older than ``retention_days``; audited."""
    if not 1 <= retention_days <= 3650:
        raise ShelterError("retention_days: 1..3650")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with db.transaction(exclusive=True) as tx:
        n = int(tx.scalar("SELECT COUNT(*) FROM checkins WHERE received_at < ?", (cutoff,)) or 0)
        tx.execute(
            "DELETE FROM records WHERE program_id = ? AND received_at < ?", (CHECKIN_PROGRAM_ID, cutoff)
        )
        tx.execute("DELETE FROM checkins WHERE received_at < ?", (cutoff,))
        # printed-card tokens and notice contacts live as long as their registration
        for table in ("checkin_cards", "shelter_contacts"):
            tx.execute(
                f"DELETE FROM {table} WHERE registration_record_id NOT IN (SELECT record_id FROM registrations)"  # noqa: S608, E501
            )
        audit.append(
            tx,
            db.dialect,
            [audit.AuditEvent("shelter.purge", actor, {"retention_days": retention_days, "checkins": n})],
        )
    return {"checkins": n, "retention_days": retention_days}
