"""Shelter check-in (避難所の受付): the desk's rules, without Qt and without I/O of its own.

:class:`ShelterDesk` is driven by the Qt shelter pages and by ``madoguchi checkin`` alike. Each
step builds one :class:`~kiosk.rules.shelter_record.CheckinRecord`, commits it to the outbox (the same
:class:`~kiosk.ports.RegistrationQueue` as registrations, reserved programme id
:data:`~kiosk.rules.shelter_record.CHECKIN_PROGRAM_ID`), then updates the local
:class:`~kiosk.shelter_state.ShelterState`, and only then returns an outcome the screen shows: what
the screen acknowledges is already durable.

Ways in (docs/shelter.md §2):

- :meth:`ShelterDesk.tap_card` with a :class:`CardIdentity` from the PIN-less read
  (:func:`card.pinless.read_auth_certificate_pinless`). A certificate that chains to J-LIS is
  accepted; an *expired* one too (a person is never turned away from a shelter over an expired
  card: the record says ``chain: "expired"``); a foreign or forged one is refused with
  :class:`Refused` and staff enter the person by hand instead.
- :meth:`ShelterDesk.scan_code` with what a USB scanner (or a person) typed from a printed
  避難所受付カード.
- :meth:`ShelterDesk.staff_entry` with the kana name and birth date: sealed like the rest, marked
  unverified.

A second tap (card, code or the same staff entry) of someone already in returns
:class:`AlreadyHere`: the screen asks "check out" (:meth:`ShelterDesk.check_out`) or "moved to
another shelter" (:meth:`ShelterDesk.move`). After an arrival, :meth:`ShelterDesk.add_companions`
records "anyone else with you?" as a count (companions with their own card simply tap too).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.ports import RegistrationQueue
from kiosk.rules.record import KioskStamp
from kiosk.rules.shelter_config import Shelter
from kiosk.rules.shelter_record import (
    CHECKIN_PROGRAM_ID,
    KANA_NAME,
    MAX_COMPANIONS,
    SHELTER_ID,
    CheckinRecord,
    Event,
    Method,
    Unverified,
    new_record_id,
)
from kiosk.sequence import RecordSequence
from kiosk.shelter_card import normalize_token
from kiosk.shelter_state import Headcount, Present, ShelterState


@dataclass(frozen=True)
class CardIdentity:
    """What the PIN-less tap gives the desk: the certificate and how its chain checked."""

    certificate_der: bytes = field(repr=False)
    issuer_der: bytes = field(repr=False)
    serial: int = field(repr=False)
    #: ``card.trust.TrustStatus`` value: "verified", "expired", "invalid", "unknown_ca".
    chain: str


@dataclass(frozen=True)
class CheckedIn:
    """An arrival is queued."""

    record_id: str
    method: Method
    verified: bool


@dataclass(frozen=True)
class AlreadyHere:
    """The person is already checked in here: ask whether they leave or move."""

    identity: bytes = field(repr=False)
    present: Present


@dataclass(frozen=True)
class CheckedOut:
    """A departure (or a move, with ``moved_to``) is queued."""

    record_id: str
    moved_to: str | None = None


@dataclass(frozen=True)
class CompanionsAdded:
    """A companions record is queued."""

    record_id: str
    count: int


@dataclass(frozen=True)
class Refused:
    """Nothing was queued: ``reason`` is ``card_untrusted``, ``bad_code``, ``bad_entry``,
    ``unknown_shelter`` or ``not_here``; the screen offers another way in."""

    reason: str


Outcome = CheckedIn | AlreadyHere | CheckedOut | CompanionsAdded | Refused


def _kiosk_clock() -> dt.datetime:
    return dt.datetime.now().astimezone()


def normalize_kana(text: str) -> str:
    """Kana name as typed: NFKC (half-width katakana become full-width), spaces folded to one
    ideographic space, trimmed."""
    folded = unicodedata.normalize("NFKC", text).replace(" ", "\u3000")
    return "\u3000".join(part for part in folded.split("\u3000") if part)


class ShelterDesk:
    """The check-in desk of one shelter kiosk.

    :param queue: the outbox; its refusals (:class:`~kiosk.ports.QueueRefusedError`) propagate and
        nothing was acknowledged.
    :param state: the local state (:class:`~kiosk.shelter_state.ShelterStateError` propagates).
    """

    def __init__(
        self,
        *,
        shelter: Shelter,
        shelters: dict[str, Shelter],
        kiosk_id: str,
        queue: RegistrationQueue,
        sequence: RecordSequence,
        state: ShelterState,
        clock: Callable[[], dt.datetime] = _kiosk_clock,
        new_id: Callable[[], str] = new_record_id,
    ) -> None:
        self.shelter = shelter
        self.shelters = shelters
        self._kiosk_id = kiosk_id
        self._queue = queue
        self._sequence = sequence
        self._state = state
        self._clock = clock
        self._new_id = new_id

    # -- ways in --------------------------------------------------------------------------------

    def tap_card(self, card: CardIdentity, *, household: str | None = None) -> Outcome:
        """A card was tapped (PIN-less read done). ``household``: the record id of the arrival
        this person came with ("anyone else with you?" answered by tapping their own card)."""
        if card.chain not in ("verified", "expired"):
            return Refused("card_untrusted")
        return self._arrive(
            self.card_identity(card),
            Method.CARD,
            auth_certificate=card.certificate_der,
            chain=card.chain,
            household=household,
        )

    def scan_code(self, text: str) -> Outcome:
        """A printed check-in card was scanned or its code typed."""
        token = normalize_token(text)
        if token is None:
            return Refused("bad_code")
        return self._arrive(self._state.identity("code", token.encode("ascii")), Method.CODE, token=token)

    def staff_entry(self, name_kana: str, birth_date: dt.date) -> Outcome:
        """Staff typed the kana name and birth date of a person with neither card."""
        name = normalize_kana(name_kana)
        today = self._clock().date()
        if not KANA_NAME.match(name) or not dt.date(1900, 1, 1) <= birth_date <= today:
            return Refused("bad_entry")
        return self._arrive(
            self.staff_identity(name, birth_date), Method.STAFF, unverified=Unverified(name, birth_date)
        )

    # -- identities (for "check out" / "moved" asked before any tap, e.g. ``checkin --check-out``) --

    def card_identity(self, card: CardIdentity) -> bytes:
        """The local keyed hash of a card (issuer and serial)."""
        return self._state.identity("card", card.issuer_der, card.serial.to_bytes(20, "big", signed=True))

    def code_identity(self, text: str) -> bytes | None:
        """The local keyed hash of a check-in card token, or None if ``text`` is not one."""
        token = normalize_token(text)
        return None if token is None else self._state.identity("code", token.encode("ascii"))

    def staff_identity(self, name_kana: str, birth_date: dt.date) -> bytes:
        """The local keyed hash of a staff entry (normalised kana name and birth date)."""
        name = normalize_kana(name_kana).encode("utf-8")
        return self._state.identity("staff", name, birth_date.isoformat().encode("ascii"))

    def find(self, identity: bytes | None) -> AlreadyHere | None:
        """The person behind ``identity`` if they are checked in here, else None."""
        if identity is None:
            return None
        present = self._state.lookup(self.shelter.id, identity)
        return None if present is None else AlreadyHere(identity, present)

    def headcount(self) -> Headcount:
        """The staff side's numbers for this shelter (no personal data)."""
        return self._state.headcount(self.shelter.id)

    # -- after an arrival / on a second tap --------------------------------------------------

    def add_companions(self, arrival: CheckedIn | AlreadyHere, count: int) -> Outcome:
        """ "Anyone else with you?": ``count`` people without a card of their own."""
        if not 1 <= count <= MAX_COMPANIONS:
            return Refused("bad_entry")
        if isinstance(arrival, CheckedIn):
            arrival_id, method = arrival.record_id, arrival.method
        else:
            arrival_id, method = arrival.present.arrival_record_id, Method(arrival.present.method)
        record = self._record(Event.COMPANIONS, arrival_id, method, companions=count)
        self._enqueue(record)
        self._state.add_companions(self.shelter.id, arrival_id, count)
        return CompanionsAdded(record.record_id, count)

    def check_out(self, here: AlreadyHere) -> Outcome:
        """The person leaves the shelter (with the companions they came with)."""
        return self._leave(here, Event.DEPARTURE, None)

    def move(self, here: AlreadyHere, to_shelter: str) -> Outcome:
        """The person moves to another shelter (they check in there too)."""
        if not SHELTER_ID.match(to_shelter) or to_shelter == self.shelter.id:
            return Refused("unknown_shelter")
        return self._leave(here, Event.MOVED, to_shelter)

    # -- internals ------------------------------------------------------------------------------

    def _arrive(self, identity: bytes, method: Method, **ident: object) -> Outcome:
        present = self._state.lookup(self.shelter.id, identity)
        if present is not None:
            return AlreadyHere(identity, present)
        record = self._record(Event.ARRIVAL, None, method, **ident)
        self._enqueue(record)
        self._state.arrived(self.shelter.id, identity, record.record_id, method.value, method is Method.STAFF)
        verified = method is not Method.STAFF
        return CheckedIn(record.record_id, method, verified)

    def _leave(self, here: AlreadyHere, event: Event, moved_to: str | None) -> Outcome:
        present = self._state.lookup(self.shelter.id, here.identity)
        if present is None:
            return Refused("not_here")
        record = self._record(
            event,
            present.arrival_record_id,
            Method(present.method),
            moved_to=moved_to,
            companions=present.companions,
        )
        self._enqueue(record)
        self._state.left(self.shelter.id, here.identity, record.record_id, event.value)
        return CheckedOut(record.record_id, moved_to)

    def _record(self, event: Event, refers_to: str | None, method: Method, **fields: object) -> CheckinRecord:
        stamp = KioskStamp(self._kiosk_id, self._clock(), self._sequence.next())
        return CheckinRecord(
            record_id=self._new_id(),
            event=event,
            shelter_id=self.shelter.id,
            method=method,
            kiosk=stamp,
            refers_to=refers_to,
            **fields,  # type: ignore[arg-type]
        )

    def _enqueue(self, record: CheckinRecord) -> None:
        self._queue.enqueue(record.plaintext(), record_id=record.record_id, program_id=CHECKIN_PROGRAM_ID)
