"""The card-signed registration record (schema ``madoguchi.registration/1``).

The record is what the resident confirmed, encoded as canonical JSON so every party hashes the same
bytes: ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8. The
card signs SHA-256 of those bytes with the JPKI user-authentication key (PKCS#1 v1.5), which binds the
record to the holder who typed the PIN: a kiosk cannot forge it. The sealed plaintext is the
canonical JSON of ``{"v": 1, "record": ..., "card_signature": <base64>}``.

The server imports this module to parse (:func:`parse_signed`) and verify
(:func:`verify_card_signature`) what it receives, so the parsers are strict: unknown keys, missing
keys, wrong types and non-canonical bytes are all :class:`~kiosk.errors.RecordFormatError`. There is
no field for a My Number and none can be smuggled in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import load_der_x509_certificate

from kiosk.errors import CardSignatureError, RecordFormatError
from kiosk.rules import wire_rules

SCHEMA: Final = "madoguchi.registration/1"
SIGNED_VERSION: Final = 1
SERVICES: Final = frozenset({"point", "disaster"})
SEX_CODES: Final = frozenset({"0", "1", "2", "9"})  # ISO 5218, as DF25 on the card

#: Registration-code alphabet: digits and capitals without 0/O, 1/I/L and U (which reads as V).
CODE_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
#: 15 characters of 30 symbols: 73.6 bits, so two of a billion registrations share a code with a
#: chance of about 3e-5 (the former 8 characters, 39 bits, gave 53 % at a million; issue 14).
CODE_DATA_LENGTH: Final = 15


def canonical_json(obj: object) -> bytes:
    """The one canonical encoding (docs/development.md, "Registration record").

    :raises RecordFormatError: if a string cannot be encoded as UTF-8 (a lone surrogate).
    """
    try:
        return wire_rules.canonical_json(obj)
    except UnicodeEncodeError:
        raise RecordFormatError("record: a text field is not valid Unicode") from None


# --- registration code -------------------------------------------------------------------------


def _luhn_mod_n(chars: str) -> str:
    """Luhn mod N check character: catches every single-character error and adjacent swaps."""
    n = len(CODE_ALPHABET)
    total = 0
    factor = 2
    for ch in reversed(chars):
        addend = factor * CODE_ALPHABET.index(ch)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return CODE_ALPHABET[(n - total % n) % n]


def registration_code(record_id: uuid.UUID) -> str:
    """The short code printed on the receipt, derived from the record id (no personal data).

    Fifteen characters from the 122 random bits of the UUID plus a check character, shown as
    ``XXXX-XXXX-XXXX-XXXX``: four groups of four read out over the phone one group at a time. The
    server still refuses a second record with a code it already holds (a typed rejection).
    """
    return _code_of(record_id.int)


def _code_of(value: int) -> str:
    """:func:`registration_code` of the UUID whose 128-bit integer is ``value``."""
    # only the random bits: without the version nibble (bits 76-79) and the variant (bits 62-63)
    value = (value >> 80) << 74 | ((value >> 64) & 0xFFF) << 62 | (value & ((1 << 62) - 1))
    data = ""
    for _ in range(CODE_DATA_LENGTH):
        value, digit = divmod(value, len(CODE_ALPHABET))
        data += CODE_ALPHABET[digit]
    return _groups(data + _luhn_mod_n(data))


#: The first release's codes: 8 characters + check, ``XXX-XXX-XXX`` (39 bits). Records queued before
#: an upgrade carry them inside the card-signed record, so the parser keeps accepting them (an
#: upgraded kiosk must still deliver its outbox) and a resident can still look one up; new records
#: never get one.
LEGACY_CODE_DATA_LENGTH: Final = 8


def legacy_code_of(value: int) -> str:
    """The first release's code of the UUID whose 128-bit integer is ``value``."""
    data = ""
    for _ in range(LEGACY_CODE_DATA_LENGTH):
        value, digit = divmod(value, len(CODE_ALPHABET))
        data += CODE_ALPHABET[digit]
    raw = data + _luhn_mod_n(data)
    return f"{raw[0:3]}-{raw[3:6]}-{raw[6:9]}"


def _groups(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalize_code(text: str) -> str | None:
    """Return the canonical ``XXXX-XXXX-XXXX-XXXX`` form of a typed code, or None if it is not valid."""
    raw = re.sub(r"[\s\-‐－ー]", "", text).upper()
    if len(raw) not in (CODE_DATA_LENGTH + 1, LEGACY_CODE_DATA_LENGTH + 1):
        return None
    if any(c not in CODE_ALPHABET for c in raw) or _luhn_mod_n(raw[:-1]) != raw[-1]:
        return None
    if len(raw) == LEGACY_CODE_DATA_LENGTH + 1:  # a receipt printed by the first release
        return f"{raw[0:3]}-{raw[3:6]}-{raw[6:9]}"
    return _groups(raw)


# --- the record ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    """The resident accepted ``service``'s terms of ``terms_version`` at ``accepted_at`` (kiosk clock)."""

    service: str
    terms_version: str
    accepted_at: datetime


@dataclass(frozen=True)
class Resident:
    """The basic four (基本4情報) as read from the card. Never in a repr."""

    name: str = field(repr=False)
    address: str = field(repr=False)
    birth_date: date = field(repr=False)
    sex: str = field(repr=False)


@dataclass(frozen=True)
class KioskStamp:
    """Which kiosk made the record, its wall clock (with offset) and its monotonic sequence."""

    kiosk_id: str
    clock: datetime
    sequence: int


@dataclass(frozen=True)
class Verification:
    """What the kiosk verified locally (DESIGN.md §2.5); the server re-checks chain and signature."""

    chain: bool
    signature: bool
    integrity: bool
    genuine_card: bool


@dataclass(frozen=True)
class RegistrationRecord:
    """One confirmed registration, before the card signs it."""

    record_id: str
    code: str
    program_id: str
    services: tuple[str, ...]
    consents: tuple[Consent, ...]
    resident: Resident = field(repr=False)
    auth_certificate: bytes = field(repr=False)
    kiosk: KioskStamp
    verification: Verification

    def to_obj(self) -> dict[str, Any]:
        """The JSON object of the schema."""
        return {
            "schema": SCHEMA,
            "record_id": self.record_id,
            "code": self.code,
            "program_id": self.program_id,
            "services": sorted(self.services),
            "consents": [
                {
                    "service": c.service,
                    "terms_version": c.terms_version,
                    "accepted_at": _rfc3339(c.accepted_at),
                }
                for c in sorted(self.consents, key=lambda c: c.service)
            ],
            "resident": {
                "name": self.resident.name,
                "address": self.resident.address,
                "birth_date": self.resident.birth_date.isoformat(),
                "sex": self.resident.sex,
            },
            "auth_certificate": base64.b64encode(self.auth_certificate).decode("ascii"),
            "kiosk": {
                "id": self.kiosk.kiosk_id,
                "clock": _rfc3339(self.kiosk.clock),
                "sequence": self.kiosk.sequence,
            },
            "verification": {
                "chain": self.verification.chain,
                "signature": self.verification.signature,
                "integrity": self.verification.integrity,
                "genuine_card": self.verification.genuine_card,
            },
        }

    def canonical(self) -> bytes:
        """The bytes the card signs (SHA-256 of them, as a PKCS#1 v1.5 DigestInfo).

        Encoded once per record and kept: one save needs them for the card, for the signature
        check and inside the plaintext. The record is frozen and every field is immutable
        (``dataclasses.replace`` builds a new record, without the cache), so they cannot go stale.
        """
        return self._canonical

    @cached_property
    def _canonical(self) -> bytes:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass
        return canonical_json(self.to_obj())

    def digest(self) -> bytes:
        """SHA-256 of :meth:`canonical`."""
        return hashlib.sha256(self.canonical()).digest()


@dataclass(frozen=True)
class SignedRegistration:
    """A record and the card's signature over its canonical bytes: the outbox plaintext."""

    record: RegistrationRecord
    card_signature: bytes = field(repr=False)

    def to_plaintext(self) -> bytes:
        """Canonical JSON of ``{"v": 1, "record": ..., "card_signature": ...}``.

        Assembled around the record's cached canonical bytes instead of encoding the record again.
        This is byte for byte what :func:`canonical_json` gives for the whole object: ``sort_keys``
        orders the three keys ``card_signature`` < ``record`` < ``v``, a nested object is encoded
        exactly as on its own, and base64 text and the integer version need no escaping
        (``tests/kiosk/test_registration.py`` compares the two).
        """
        signature = base64.b64encode(self.card_signature)
        return b"".join(
            (
                b'{"card_signature":"',
                signature,
                b'","record":',
                self.record.canonical(),
                b',"v":%d}' % SIGNED_VERSION,
            )
        )


def build_record(
    *,
    record_id: uuid.UUID,
    program_id: str,
    consents: Iterable[Consent],
    resident: Resident,
    auth_certificate: bytes,
    kiosk: KioskStamp,
    verification: Verification,
) -> RegistrationRecord:
    """Assemble and validate a record; the services are those consented to, sorted.

    :raises RecordFormatError: if a field breaks the schema (the message names the field only).
    """
    consent_tuple = tuple(sorted(consents, key=lambda c: c.service))
    record = RegistrationRecord(
        record_id=str(record_id),
        code=registration_code(record_id),
        program_id=program_id,
        services=tuple(c.service for c in consent_tuple),
        consents=consent_tuple,
        resident=resident,
        auth_certificate=auth_certificate,
        kiosk=kiosk,
        verification=verification,
    )
    # Round-trip through the strict parser so the kiosk can never emit what the server would refuse.
    parse_record(record.to_obj())
    record.canonical()  # and one whose bytes cannot be encoded (kept for the signature and plaintext)
    return record


# --- strict parsing ------------------------------------------------------------------------------

_RECORD_KEYS: Final = frozenset(
    {
        "schema",
        "record_id",
        "code",
        "program_id",
        "services",
        "consents",
        "resident",
        "auth_certificate",
        "kiosk",
        "verification",
    }
)
_PROGRAM_ID = wire_rules.PROGRAM_ID
_KIOSK_ID = wire_rules.IDENTIFIER
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: Exactly the texts ``_uuid4`` accepts (``str(uuid.UUID(t)) == t`` and version 4, which also needs
#: the RFC 4122 variant 10xx): a hypothesis test in tests/kiosk compares it with the round trip.
_UUID4 = wire_rules.CANONICAL_UUID4
_SIGNED_KEYS: Final = frozenset({"v", "record", "card_signature"})
_KIOSK_KEYS: Final = frozenset({"id", "clock", "sequence"})
_VERIFICATION_KEYS: Final = frozenset({"chain", "signature", "integrity", "genuine_card"})
_CONSENT_KEYS: Final = frozenset({"service", "terms_version", "accepted_at"})
_RESIDENT_KEYS: Final = frozenset({"name", "address", "birth_date", "sex"})
MAX_TEXT: Final = 512
MAX_CERT: Final = 8192


def parse_record(obj: object) -> RegistrationRecord:
    """Parse and validate a record object (as decoded from JSON).

    :raises RecordFormatError: naming the offending field, never its value.
    """
    return _parse_record(obj)[0]


def _parse_record(obj: object) -> tuple[RegistrationRecord, bool]:
    """The record, and whether :meth:`RegistrationRecord.to_obj` gives back exactly ``obj``.

    The second value lets :func:`parse_signed` prove canonical form by encoding the decoded object
    once, instead of rebuilding it from the dataclasses: the strict checks already pin every field
    but the timestamps and base64 texts, which can have several spellings of one value.
    """
    top = _exact(obj, "record", _RECORD_KEYS)
    if top["schema"] != SCHEMA:
        raise RecordFormatError("record.schema: unsupported schema")
    record_id = _uuid4(top["record_id"], "record.record_id")
    code = _text(top["code"], "record.code")
    # registration_code() only yields canonical, check-digit-valid codes, so equality with it implies
    # normalize_code(code) == code: one comparison is the whole check
    record_int = int(record_id.replace("-", ""), 16)
    if code != _code_of(record_int) and code != legacy_code_of(record_int):
        raise RecordFormatError("record.code: does not match the record id")
    program_id = _text(top["program_id"], "record.program_id")
    if not _PROGRAM_ID.match(program_id):
        raise RecordFormatError("record.program_id: invalid programme id")
    services = top["services"]
    if (
        not isinstance(services, list)
        or not services
        or not all(isinstance(s, str) and s in SERVICES for s in services)
        or services != sorted(set(services))
    ):
        raise RecordFormatError("record.services: must be a sorted, non-empty set of known services")
    consents, same = _consents(top["consents"])
    if [c.service for c in consents] != services:
        raise RecordFormatError("record.consents: need exactly one consent per service, sorted")
    resident = _resident(top["resident"])
    same = same and resident.birth_date.isoformat() == top["resident"]["birth_date"]
    cert_text = top["auth_certificate"]
    cert = _b64(cert_text, "record.auth_certificate", MAX_CERT)
    same = same and _b64_same(cert, cert_text)
    kiosk = _exact(top["kiosk"], "record.kiosk", _KIOSK_KEYS)
    kiosk_id = _text(kiosk["id"], "record.kiosk.id")
    if not _KIOSK_ID.match(kiosk_id):
        raise RecordFormatError("record.kiosk.id: invalid kiosk id")
    sequence = kiosk["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 <= sequence < 2**63:
        raise RecordFormatError("record.kiosk.sequence: must be a non-negative integer")
    ver = _exact(top["verification"], "record.verification", _VERIFICATION_KEYS)
    for key, value in ver.items():
        if not isinstance(value, bool):
            raise RecordFormatError(f"record.verification.{key}: must be a boolean")
    clock = _datetime(kiosk["clock"], "record.kiosk.clock")
    same = same and _rfc3339(clock) == kiosk["clock"]
    record = RegistrationRecord(
        record_id=record_id,
        code=code,
        program_id=program_id,
        services=tuple(services),
        consents=consents,
        resident=resident,
        auth_certificate=cert,
        kiosk=KioskStamp(kiosk_id, clock, sequence),
        verification=Verification(ver["chain"], ver["signature"], ver["integrity"], ver["genuine_card"]),
    )
    return record, same


def parse_signed(plaintext: bytes) -> SignedRegistration:
    """Parse the sealed plaintext; it must be exactly the canonical encoding of its content.

    Canonical form is proved in one pass: the decoded object, encoded canonically, must give back
    the plaintext byte for byte, and every field must be the one spelling :meth:`to_plaintext`
    writes for its value (checked while parsing). Together that equals
    ``signed.to_plaintext() == plaintext``, which the tests also assert, at about a third of the cost.

    :raises RecordFormatError: if it is not UTF-8 JSON, not version 1, malformed, or not canonical.
    """
    try:
        obj = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RecordFormatError("signed registration: not UTF-8 JSON") from None
    top = _exact(obj, "signed registration", _SIGNED_KEYS)
    version = top["v"]
    if version != SIGNED_VERSION or isinstance(version, bool):
        raise RecordFormatError("signed registration.v: unsupported version")
    record, same = _parse_record(top["record"])
    sig_text = top["card_signature"]
    signature = _b64(sig_text, "signed registration.card_signature", 1024)
    signed = SignedRegistration(record=record, card_signature=signature)
    # type(...) is int: 1.0 == 1 passes the version check but is written "1.0"
    same = same and type(version) is int and _b64_same(signature, sig_text)
    if not same or canonical_json(obj) != plaintext:
        raise RecordFormatError("signed registration: not in canonical encoding")
    return signed


def verify_card_signature(signed: SignedRegistration) -> None:
    """Check the card's signature over the canonical record with the record's auth certificate.

    :raises CardSignatureError: if the certificate is unusable or the signature does not verify.
    """
    try:
        cert = load_der_x509_certificate(signed.record.auth_certificate)
        key = cert.public_key()
    except ValueError:
        raise CardSignatureError("the auth certificate cannot be parsed") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CardSignatureError("the auth certificate does not hold an RSA key")
    try:
        key.verify(signed.card_signature, signed.record.canonical(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise CardSignatureError("the card signature does not verify") from None


def new_record_id(factory: Callable[[], uuid.UUID] = uuid.uuid4) -> uuid.UUID:
    """A fresh record id (UUID4) from an injectable factory (tests pass a deterministic one)."""
    value = factory()
    if value.version != 4:
        raise RecordFormatError("record.record_id: the id factory must return UUID4 values")
    return value


# --- helpers ---------------------------------------------------------------------------------------


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordFormatError("timestamp: must carry a UTC offset")
    return moment.isoformat(timespec="milliseconds")


def _exact(obj: object, where: str, keys: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise RecordFormatError(f"{where}: must be an object")
    if obj.keys() == keys:
        return obj  # the usual case: one set comparison instead of two differences
    missing = keys - obj.keys()
    extra = obj.keys() - keys
    if missing:
        raise RecordFormatError(f"{where}: missing {', '.join(sorted(missing))}")
    if extra:
        # Only the key names are reported; values could be personal data.
        raise RecordFormatError(f"{where}: unknown key(s)")
    return obj


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise RecordFormatError(f"{where}: must be a non-empty string of at most {MAX_TEXT} characters")
    return value


def _uuid4(value: object, where: str) -> str:
    """The canonical lower-case UUID4 text; ``uuid.UUID`` only runs on a refusal, to pick the error."""
    text = _text(value, where)
    if _UUID4.fullmatch(text):
        return text
    try:
        uuid.UUID(text)
    except ValueError:
        raise RecordFormatError(f"{where}: not a UUID") from None
    raise RecordFormatError(f"{where}: must be a lower-case UUID4")


def _datetime(value: object, where: str) -> datetime:
    text = _text(value, where)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RecordFormatError(f"{where}: not an RFC 3339 timestamp") from None
    if parsed.utcoffset() is None or "T" not in text:
        raise RecordFormatError(f"{where}: must carry a UTC offset")
    return parsed


def _b64(value: object, where: str, limit: int) -> bytes:
    if not isinstance(value, str) or not value or len(value) > (limit * 4) // 3 + 4:
        raise RecordFormatError(f"{where}: must be base64 of at most {limit} bytes")
    try:
        # a non-ASCII str is a ValueError (tests/kiosk/test_registration_fast_paths.py)
        raw = wire_rules.strict_b64decode(value)
    except ValueError:
        raise RecordFormatError(f"{where}: must be base64") from None
    if not raw:
        raise RecordFormatError(f"{where}: empty")
    return raw


def _b64_same(raw: bytes, text: object) -> bool:
    """Whether ``text`` is the one base64 spelling of ``raw`` (padding bits zero, padded)."""
    return base64.b64encode(raw).decode("ascii") == text


def _consents(value: object) -> tuple[tuple[Consent, ...], bool]:
    """The consents, and whether every timestamp is in the one spelling :func:`_rfc3339` writes."""
    if not isinstance(value, list):
        raise RecordFormatError("record.consents: must be a list")
    result = []
    same = True
    for index, item in enumerate(value):
        where = f"record.consents[{index}]"
        c = _exact(item, where, _CONSENT_KEYS)
        consent = Consent(
            service=_text(c["service"], f"{where}.service"),
            terms_version=_text(c["terms_version"], f"{where}.terms_version"),
            accepted_at=_datetime(c["accepted_at"], f"{where}.accepted_at"),
        )
        result.append(consent)
        same = same and _rfc3339(consent.accepted_at) == c["accepted_at"]
    return tuple(result), same


def _resident(value: object) -> Resident:
    r = _exact(value, "record.resident", _RESIDENT_KEYS)
    birth = _text(r["birth_date"], "record.resident.birth_date")
    if not _DATE.match(birth):
        raise RecordFormatError("record.resident.birth_date: must be YYYY-MM-DD")
    try:
        birth_date = date.fromisoformat(birth)
    except ValueError:
        raise RecordFormatError("record.resident.birth_date: not a calendar date") from None
    sex = r["sex"]
    if not isinstance(sex, str) or sex not in SEX_CODES:
        raise RecordFormatError("record.resident.sex: must be an ISO 5218 code")
    return Resident(
        name=_text(r["name"], "record.resident.name"),
        address=_text(r["address"], "record.resident.address"),
        birth_date=birth_date,
        sex=sex,
    )
