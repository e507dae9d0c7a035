"""The shelter check-in record (schema ``madoguchi.checkin/1``) and the check-in card issue record
(``madoguchi.checkin-card/1``) and the optional notice contact (``madoguchi.contact/1``): what a
shelter kiosk, or a booth at registration, seals into its outbox.

Both travel in the same outbox and the same sealed envelope as registrations (HPKE to the server,
Ed25519 by the device key, ``docs/wire-format.md``), with the reserved programme id
:data:`CHECKIN_PROGRAM_ID` in the envelope header so the server routes them before decrypting. The
plaintext is the canonical JSON (:func:`kiosk.rules.record.canonical_json`) of
``{"v": 1, "record": <record object>}``; there is no card signature, because the PIN-less tap
cannot make one (docs/shelter.md §3): the device signature is what binds a check-in to the kiosk.

Check-in record object::

    {"schema": "madoguchi.checkin/1", "record_id": UUID4, "event": "arrival" | "departure" |
     "moved" | "companions", "shelter_id", "method": "card" | "code" | "staff",
     "auth_certificate": base64 DER | null, "chain": "verified" | "expired" | null,
     "token": check-in card token | null, "unverified": {"name_kana", "birth_date"} | null,
     "companions": 0..50, "moved_to": shelter id | null (moved), "refers_to": UUID4 | null
     (the arrival a departure / move / companions record belongs to), "household": UUID4 | null
     (arrivals: the arrival of the household member this person came with),
     "kiosk": {"id", "clock", "sequence"}}

An arrival carries exactly the identifying field of its method (card: ``auth_certificate`` and
``chain``; code: ``token``; staff: ``unverified``); a follow-up (departure, moved, companions)
carries none and repeats the arrival's method: ``refers_to`` is the link.

No name or address from the card is in it (the tap reads none); an unverified entry carries only
the kana name and birth date staff typed, sealed like everything else. Parsers are strict (unknown
keys, wrong types, non-canonical bytes: :class:`~kiosk.errors.RecordFormatError`).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from kiosk.errors import RecordFormatError
from kiosk.rules.record import KioskStamp
from kiosk.rules.wire_rules import CANONICAL_UUID4, IDENTIFIER, PROGRAM_ID, canonical_json, strict_b64decode

CHECKIN_SCHEMA: Final = "madoguchi.checkin/1"
CARD_SCHEMA: Final = "madoguchi.checkin-card/1"
CONTACT_SCHEMA: Final = "madoguchi.contact/1"
PLAINTEXT_VERSION: Final = 1
#: Envelope ``program_id`` of every shelter record: not a programme (programme ids are lower-case
#: letters, digits and '-', so no programme file can take this id, which has a dot).
CHECKIN_PROGRAM_ID: Final = "madoguchi.shelter"
MAX_COMPANIONS: Final = 50
#: A shelter id has the shape of a programme id (lower-case letters, digits, '-').
SHELTER_ID = PROGRAM_ID
_KIOSK_ID = IDENTIFIER
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: Kana name as staff type it: hiragana, katakana (incl. long vowel mark), spaces.
KANA_NAME = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\u3000 ]{1,64}\Z")
MAX_CERT: Final = 8192


@enum.unique
class Event(enum.StrEnum):
    """What happened at the shelter's desk."""

    ARRIVAL = "arrival"
    DEPARTURE = "departure"
    MOVED = "moved"
    COMPANIONS = "companions"


@enum.unique
class Method(enum.StrEnum):
    """How the person was identified: card tap (PIN-less), printed check-in card, staff entry."""

    CARD = "card"
    CODE = "code"
    STAFF = "staff"


@dataclass(frozen=True)
class Unverified:
    """What staff typed for a person with neither card: kana name and birth date. Never in a repr."""

    name_kana: str = field(repr=False)
    birth_date: date = field(repr=False)


@dataclass(frozen=True)
class CheckinRecord:
    """One event at a shelter's desk."""

    record_id: str
    event: Event
    shelter_id: str
    method: Method
    kiosk: KioskStamp
    auth_certificate: bytes | None = field(default=None, repr=False)
    chain: str | None = None
    token: str | None = field(default=None, repr=False)
    unverified: Unverified | None = field(default=None, repr=False)
    companions: int = 0
    moved_to: str | None = None
    refers_to: str | None = None
    #: Arrivals only: the arrival of the household member this person came with (a companion who
    #: tapped a card of their own right after them); None when they came alone or first.
    household: str | None = None

    def __post_init__(self) -> None:
        _check_record(self)

    def to_obj(self) -> dict[str, Any]:
        """The JSON object of the schema."""
        return {
            "schema": CHECKIN_SCHEMA,
            "record_id": self.record_id,
            "event": self.event.value,
            "shelter_id": self.shelter_id,
            "method": self.method.value,
            "auth_certificate": (
                None if self.auth_certificate is None else base64.b64encode(self.auth_certificate).decode()
            ),
            "chain": self.chain,
            "token": self.token,
            "unverified": (
                None
                if self.unverified is None
                else {
                    "name_kana": self.unverified.name_kana,
                    "birth_date": self.unverified.birth_date.isoformat(),
                }
            ),
            "companions": self.companions,
            "moved_to": self.moved_to,
            "refers_to": self.refers_to,
            "household": self.household,
            "kiosk": _stamp_obj(self.kiosk),
        }

    def plaintext(self) -> bytes:
        """The sealed plaintext: canonical ``{"record": …, "v": 1}``."""
        return canonical_json({"v": PLAINTEXT_VERSION, "record": self.to_obj()})


@dataclass(frozen=True)
class CheckinCardRecord:
    """The issue of a printed 避難所受付カード at registration: links its random token to the
    registration record id (the server maps it to the person key of that registration)."""

    record_id: str
    registration_record_id: str
    token: str = field(repr=False)
    kiosk: KioskStamp

    def to_obj(self) -> dict[str, Any]:
        """The JSON object of the schema."""
        return {
            "schema": CARD_SCHEMA,
            "record_id": self.record_id,
            "registration_record_id": self.registration_record_id,
            "token": self.token,
            "kiosk": _stamp_obj(self.kiosk),
        }

    def plaintext(self) -> bytes:
        """The sealed plaintext: canonical ``{"record": …, "v": 1}``."""
        return canonical_json({"v": PLAINTEXT_VERSION, "record": self.to_obj()})


#: A contact for evacuation notices: Japanese phone numbers, digits only (0 then 9-10 digits).
PHONE = re.compile(r"^0[0-9]{9,10}\Z")
CHANNELS: Final = frozenset({"sms", "voice"})


@dataclass(frozen=True)
class ContactRecord:
    """An optional contact for evacuation notices, given at registration with its own consent
    (docs/shelter.md §5): a phone number for SMS or a voice call, linked to the registration.
    ``phone = None`` (and ``channel = None``) withdraws an earlier contact; the latest record by
    the kiosk clock wins on the server."""

    record_id: str
    registration_record_id: str
    phone: str | None = field(repr=False)
    channel: str | None
    terms_version: str
    accepted_at: datetime
    kiosk: KioskStamp

    def __post_init__(self) -> None:
        if not _uuid4(self.record_id) or not _uuid4(self.registration_record_id):
            raise RecordFormatError("contact: record ids are UUID4s")
        if (self.phone is None) != (self.channel is None):
            raise RecordFormatError("contact: phone and channel together, or neither (a withdrawal)")
        if self.phone is not None and not PHONE.match(self.phone):
            raise RecordFormatError("contact.phone: a Japanese number, digits only")
        if self.channel is not None and self.channel not in CHANNELS:
            raise RecordFormatError("contact.channel: sms or voice")
        if not self.terms_version or len(self.terms_version) > 64:
            raise RecordFormatError("contact.terms_version: 1-64 characters")
        if self.accepted_at.tzinfo is None:
            raise RecordFormatError("contact.accepted_at: must carry a UTC offset")

    def to_obj(self) -> dict[str, Any]:
        """The JSON object of the schema."""
        return {
            "schema": CONTACT_SCHEMA,
            "record_id": self.record_id,
            "registration_record_id": self.registration_record_id,
            "phone": self.phone,
            "channel": self.channel,
            "consent": {
                "terms_version": self.terms_version,
                "accepted_at": self.accepted_at.isoformat(timespec="milliseconds"),
            },
            "kiosk": _stamp_obj(self.kiosk),
        }

    def plaintext(self) -> bytes:
        """The sealed plaintext: canonical ``{"record": …, "v": 1}``."""
        return canonical_json({"v": PLAINTEXT_VERSION, "record": self.to_obj()})


ShelterRecord = CheckinRecord | CheckinCardRecord | ContactRecord


def _stamp_obj(stamp: KioskStamp) -> dict[str, Any]:
    clock = stamp.clock
    if clock.tzinfo is None or clock.utcoffset() is None:
        raise RecordFormatError("kiosk.clock: must carry a UTC offset")
    return {
        "id": stamp.kiosk_id,
        "clock": clock.isoformat(timespec="milliseconds"),
        "sequence": stamp.sequence,
    }


def _uuid4(value: str) -> bool:
    return CANONICAL_UUID4.fullmatch(value) is not None


def _check_record(r: CheckinRecord) -> None:
    """The invariants of one check-in record (the same for building and parsing)."""
    if not _uuid4(r.record_id):
        raise RecordFormatError("record_id: must be a lower-case UUID4")
    if not SHELTER_ID.match(r.shelter_id):
        raise RecordFormatError("shelter_id: lower-case letters, digits and '-', at most 64")
    if not 0 <= r.companions <= MAX_COMPANIONS:
        raise RecordFormatError(f"companions: 0..{MAX_COMPANIONS}")
    present = sum(x is not None for x in (r.auth_certificate, r.token, r.unverified))
    if r.event is Event.ARRIVAL:
        by_method = {
            Method.CARD: r.auth_certificate is not None and r.chain is not None,
            Method.CODE: r.token is not None,
            Method.STAFF: r.unverified is not None,
        }
        if not by_method[r.method] or present != 1 or (r.chain is not None and r.method is not Method.CARD):
            raise RecordFormatError(f"arrival by {r.method.value}: exactly its own identifying field")
    elif present or r.chain is not None:
        # follow-ups identify nobody themselves: the server links them to the arrival (refers_to)
        raise RecordFormatError(f"{r.event.value}: no identifying field (refers_to links the arrival)")
    if r.chain is not None and r.chain not in ("verified", "expired"):
        raise RecordFormatError("chain: verified or expired")
    if r.auth_certificate is not None and not 0 < len(r.auth_certificate) <= MAX_CERT:
        raise RecordFormatError("auth_certificate: size")
    if r.unverified is not None and not KANA_NAME.match(r.unverified.name_kana):
        raise RecordFormatError("unverified.name_kana: kana and spaces only")
    if (r.event is Event.MOVED) != (r.moved_to is not None):
        raise RecordFormatError("moved_to: set exactly for a move")
    if r.moved_to is not None and not SHELTER_ID.match(r.moved_to):
        raise RecordFormatError("moved_to: a shelter id")
    if (r.event is Event.ARRIVAL) != (r.refers_to is None):
        raise RecordFormatError("refers_to: set exactly when the record is not an arrival")
    if r.refers_to is not None and not _uuid4(r.refers_to):
        raise RecordFormatError("refers_to: a UUID4")
    if r.household is not None and (r.event is not Event.ARRIVAL or not _uuid4(r.household)):
        raise RecordFormatError("household: an arrival's UUID4, on arrivals only")
    if r.token is not None and len(r.token) > 64:
        raise RecordFormatError("token: size")


# --- parsing (server side) ------------------------------------------------------------------------

_CHECKIN_KEYS: Final = frozenset(
    {
        "schema",
        "record_id",
        "event",
        "shelter_id",
        "method",
        "auth_certificate",
        "chain",
        "token",
        "unverified",
        "companions",
        "moved_to",
        "refers_to",
        "household",
        "kiosk",
    }
)
_CARD_KEYS: Final = frozenset({"schema", "record_id", "registration_record_id", "token", "kiosk"})
_KIOSK_KEYS: Final = frozenset({"id", "clock", "sequence"})


def _exact(obj: object, where: str, keys: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise RecordFormatError(f"{where}: must be an object with exactly the schema's keys")
    return obj


def _opt_str(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RecordFormatError(f"{where}: must be a string or null")


def _stamp(value: object) -> KioskStamp:
    obj = _exact(value, "kiosk", _KIOSK_KEYS)
    kiosk_id, clock, sequence = obj["id"], obj["clock"], obj["sequence"]
    if not isinstance(kiosk_id, str) or not _KIOSK_ID.match(kiosk_id):
        raise RecordFormatError("kiosk.id: invalid")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise RecordFormatError("kiosk.sequence: a positive integer")
    if not isinstance(clock, str):
        raise RecordFormatError("kiosk.clock: a string")
    try:
        moment = datetime.fromisoformat(clock)
    except ValueError:
        raise RecordFormatError("kiosk.clock: RFC 3339") from None
    if moment.tzinfo is None:
        raise RecordFormatError("kiosk.clock: must carry a UTC offset")
    return KioskStamp(kiosk_id, moment, sequence)


def parse_shelter_plaintext(plaintext: bytes) -> ShelterRecord:
    """Parse a sealed shelter plaintext strictly; the bytes must be canonical.

    :raises RecordFormatError: anything else.
    """
    try:
        outer = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RecordFormatError("plaintext: not UTF-8 JSON") from None
    obj = _exact(outer, "plaintext", frozenset({"v", "record"}))
    if obj["v"] != PLAINTEXT_VERSION or isinstance(obj["v"], bool):
        raise RecordFormatError("plaintext: unknown version")
    inner = obj["record"]
    schema = inner.get("schema") if isinstance(inner, dict) else None
    record: ShelterRecord
    if schema == CHECKIN_SCHEMA:
        record = _parse_checkin(inner)
    elif schema == CARD_SCHEMA:
        record = _parse_card(inner)
    elif schema == CONTACT_SCHEMA:
        record = _parse_contact(inner)
    else:
        raise RecordFormatError("record: unknown schema")
    if record.plaintext() != plaintext:
        raise RecordFormatError("plaintext: not canonical")
    return record


def _parse_checkin(value: object) -> CheckinRecord:
    obj = _exact(value, "record", _CHECKIN_KEYS)
    try:
        event, method = Event(obj["event"]), Method(obj["method"])
    except ValueError:
        raise RecordFormatError("event / method: unknown value") from None
    cert_text = _opt_str(obj["auth_certificate"], "auth_certificate")
    cert = None
    if cert_text is not None:
        try:
            cert = strict_b64decode(cert_text)
        except (binascii.Error, ValueError):
            raise RecordFormatError("auth_certificate: base64") from None
    unverified = None
    if obj["unverified"] is not None:
        u = _exact(obj["unverified"], "unverified", frozenset({"name_kana", "birth_date"}))
        name, birth = u["name_kana"], u["birth_date"]
        if not isinstance(name, str) or not isinstance(birth, str) or not _DATE.match(birth):
            raise RecordFormatError("unverified: name_kana and birth_date YYYY-MM-DD")
        try:
            unverified = Unverified(name, date.fromisoformat(birth))
        except ValueError:
            raise RecordFormatError("unverified.birth_date: not a date") from None
    companions = obj["companions"]
    if not isinstance(companions, int) or isinstance(companions, bool):
        raise RecordFormatError("companions: an integer")
    for key in ("record_id", "shelter_id"):
        if not isinstance(obj[key], str):
            raise RecordFormatError(f"{key}: a string")
    return CheckinRecord(
        record_id=obj["record_id"],
        event=event,
        shelter_id=obj["shelter_id"],
        method=method,
        kiosk=_stamp(obj["kiosk"]),
        auth_certificate=cert,
        chain=_opt_str(obj["chain"], "chain"),
        token=_opt_str(obj["token"], "token"),
        unverified=unverified,
        companions=companions,
        moved_to=_opt_str(obj["moved_to"], "moved_to"),
        refers_to=_opt_str(obj["refers_to"], "refers_to"),
        household=_opt_str(obj["household"], "household"),
    )


_CONTACT_KEYS: Final = frozenset(
    {"schema", "record_id", "registration_record_id", "phone", "channel", "consent", "kiosk"}
)


def _parse_contact(value: object) -> ContactRecord:
    obj = _exact(value, "record", _CONTACT_KEYS)
    consent = _exact(obj["consent"], "consent", frozenset({"terms_version", "accepted_at"}))
    rid, reg, version, accepted = (
        obj["record_id"],
        obj["registration_record_id"],
        consent["terms_version"],
        consent["accepted_at"],
    )
    if not all(isinstance(x, str) for x in (rid, reg, version, accepted)):
        raise RecordFormatError("contact: string fields")
    try:
        accepted_at = datetime.fromisoformat(accepted)
    except ValueError:
        raise RecordFormatError("contact.consent.accepted_at: RFC 3339") from None
    return ContactRecord(
        record_id=rid,
        registration_record_id=reg,
        phone=_opt_str(obj["phone"], "phone"),
        channel=_opt_str(obj["channel"], "channel"),
        terms_version=version,
        accepted_at=accepted_at,
        kiosk=_stamp(obj["kiosk"]),
    )


def _parse_card(value: object) -> CheckinCardRecord:
    obj = _exact(value, "record", _CARD_KEYS)
    rid, reg, token = obj["record_id"], obj["registration_record_id"], obj["token"]
    if not all(isinstance(x, str) for x in (rid, reg, token)):
        raise RecordFormatError("checkin-card: string fields")
    if not _uuid4(rid) or not _uuid4(reg) or not 0 < len(token) <= 64:
        raise RecordFormatError("checkin-card: record ids are UUID4s, token at most 64")
    return CheckinCardRecord(rid, reg, token, _stamp(obj["kiosk"]))


def new_record_id() -> str:
    """A fresh UUID4 in canonical form."""
    return str(uuid.uuid4())
