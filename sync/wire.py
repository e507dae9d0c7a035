"""Wire format shared by the kiosk sync client and the reference server (``docs/wire-format.md``).

Everything that crosses the network is defined here once, so that client and server cannot drift:
the sealed envelope, its canonical header bytes, the HPKE ``info`` string, the enrollment and batch
upload bodies, their limits, and strict parsers for each. Parsers raise :class:`WireFormatError`
subclasses, never bare ``ValueError``/``KeyError``, and their messages never contain payload bytes
(the ciphertext is opaque and the plaintext never appears here at all).

Error tree::

    WireFormatError                 a body or field does not follow the wire format
    ├── EnvelopeFormatError         a sealed envelope is malformed (bad field, type, encoding)
    └── MessageFormatError          an API request/response body is malformed
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum, unique
from typing import Any, Final

from kiosk.rules import wire_rules

__all__ = [
    "API_PREFIX",
    "DEVICE_HEADER",
    "ENVELOPE_VERSION",
    "HPKE_INFO_LABEL",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_RECORDS",
    "SUITE_ID",
    "BatchResults",
    "EnrollRequest",
    "EnrollResponse",
    "Envelope",
    "EnvelopeFormatError",
    "GrantStatus",
    "MessageFormatError",
    "RecordResult",
    "RecordStatus",
    "RejectReason",
    "WireFormatError",
    "b64decode",
    "b64encode",
    "batch_request_body",
    "canonical_json",
    "check_kiosk_id",
    "format_timestamp",
    "parse_batch_request",
    "parse_timestamp",
    "strict_json_loads",
]

#: Version of the envelope and of the ``/v1`` API. Bumped only with a new HPKE info label.
ENVELOPE_VERSION: Final = 1
#: Path prefix of every endpoint.
API_PREFIX: Final = "/v1"
#: Request header naming the uploading kiosk on ``POST /v1/records``.
DEVICE_HEADER: Final = "X-Madoguchi-Device"
#: Identifier of the one cipher suite of version 1: HPKE base mode DHKEM(X25519, HKDF-SHA256),
#: HKDF-SHA256, AES-128-GCM (RFC 9180), with Ed25519 device signatures. Returned by enrollment and
#: checked by the kiosk, so a server can never silently move a kiosk to another suite.
SUITE_ID: Final = "HPKE-Base/X25519-HKDF-SHA256/AES-128-GCM+Ed25519"
#: Prefix of the HPKE ``info``: ``info = HPKE_INFO_LABEL + header_bytes`` (see :meth:`Envelope.hpke_info`).
HPKE_INFO_LABEL: Final = b"madoguchi.envelope.v1\x00"
#: At most this many envelopes per ``POST /v1/records``.
MAX_BATCH_RECORDS: Final = 500
#: At most this many bytes in one ``POST /v1/records`` body (4 MiB).
MAX_BATCH_BYTES: Final = 4 * 1024 * 1024

# Bounds that keep a hostile body from making either side allocate without limit.
_MAX_ID_LEN: Final = 64
_MAX_CT_B64_LEN: Final = 1024 * 1024
_MAX_REASON_LEN: Final = 200
_ID_RE: Final = wire_rules.IDENTIFIER
_CANONICAL_UUID_RE: Final = wire_rules.CANONICAL_UUID
#: :meth:`Envelope.header_bytes` of validated fields; see :func:`_validated_header_bytes`.
_HEADER_FORMAT: Final = (
    '{{"created_at":"{0}","kiosk_id":"{1}","program_id":"{2}","record_id":"{3}","seq":{4},"v":{5}}}'
)
_HEADER_FIELDS: Final = ("created_at", "kiosk_id", "program_id", "record_id", "seq", "v")
_ENVELOPE_FIELDS: Final = frozenset((*_HEADER_FIELDS, "ct", "sig"))


class WireFormatError(Exception):
    """Raised when a body or a field does not follow the wire format."""


class EnvelopeFormatError(WireFormatError):
    """Raised when a sealed envelope is malformed: missing or extra field, wrong type, bad base64."""


class MessageFormatError(WireFormatError):
    """Raised when an API request or response body (enroll, batch, results) is malformed."""


@unique
class RecordStatus(StrEnum):
    """Per-record outcome of ``POST /v1/records``."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@unique
class RejectReason(StrEnum):
    """Reason codes the reference server uses for ``rejected`` records.

    ``reason`` on the wire is any short snake_case code (clients must accept unknown ones); these are
    the codes defined by version 1. A reason never carries personal data.
    """

    # the envelope
    BAD_HEADER = "bad_header"
    BAD_SIGNATURE = "bad_signature"
    BAD_CIPHERTEXT = "bad_ciphertext"
    KIOSK_MISMATCH = "kiosk_mismatch"
    # the record inside it
    INVALID_RECORD = "invalid_record"
    RECORD_MISMATCH = "record_mismatch"
    CARD_SIGNATURE = "card_signature"
    KIOSK_VERIFICATION = "kiosk_verification"
    UNKNOWN_PROGRAM = "unknown_program"
    # the card's certificate (the chain values are ``sync.server.chain.ChainStatus``'s)
    CERTIFICATE = "certificate"
    CERTIFICATE_INVALID = "certificate_invalid"
    CERTIFICATE_UNKNOWN_ROOT = "certificate_unknown_root"
    CERTIFICATE_BAD_SIGNATURE = "certificate_bad_signature"
    CERTIFICATE_INVALID_KEY = "certificate_invalid_key"
    CERTIFICATE_KEY_USAGE = "certificate_key_usage"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_REVOKED = "certificate_revoked"
    # the programme's rules at registration time (the values are ``kiosk.rules.eligibility.ReasonCode``'s)
    PROGRAM_RULES = "program_rules"
    NOT_RESIDENT = "not_resident"
    ADDRESS_UNRECOGNIZED = "address_unrecognized"
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    MISSING_SERVICE = "missing_service"
    ALREADY_REGISTERED_HERE = "already_registered_here"
    # the server's ledger
    CONFLICT = "conflict"
    #: dated after the server's receive time beyond the allowed skew (docs/server.md, clock policy)
    CLOCK_AHEAD = "clock_ahead"
    #: another stored record already has this registration code: the kiosk shows a new receipt
    CODE_COLLISION = "code_collision"


@unique
class GrantStatus(StrEnum):
    """``grant`` of ``GET /v1/registrations/{code}``: the award as a resident may see it (the server
    maps its decisions onto these in ``sync.server.outcomes.grant_status``)."""

    GRANTED = "granted"
    LOTTERY_PENDING = "lottery_pending"
    LOTTERY_WON = "lottery_won"
    LOTTERY_LOST = "lottery_lost"
    UNDER_REVIEW = "under_review"
    NOT_GRANTED = "not_granted"


#: The one canonical JSON encoding (``kiosk.rules.wire_rules``), re-exported for the wire's callers.
canonical_json: Final = wire_rules.canonical_json


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 section 4) with padding, as every binary field on the wire uses."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, *, field: str, error: type[WireFormatError] = MessageFormatError) -> bytes:
    """Strictly decode a standard padded base64 string; raise ``error`` naming only the field."""
    if not isinstance(text, str):
        raise error(f"{field}: expected a base64 string")
    try:
        # a str holding non-ASCII is a ValueError too (tests/sync/test_wire_fast_paths.py)
        return wire_rules.strict_b64decode(text)
    except ValueError:
        raise error(f"{field}: invalid base64") from None


def format_timestamp(moment: _dt.datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with milliseconds and ``Z``: ``2026-11-22T01:02:03.456Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    utc = moment.astimezone(_dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_TS_RE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z\Z")


def parse_timestamp(text: object, *, field: str = "created_at") -> _dt.datetime:
    """Parse an RFC 3339 UTC timestamp ending in ``Z`` (the only form version 1 allows)."""
    if not isinstance(text, str) or not _TS_RE.match(text):
        raise EnvelopeFormatError(f"{field}: expected RFC 3339 UTC timestamp ending in Z")
    try:
        return _dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=_dt.UTC)
    except ValueError:
        raise EnvelopeFormatError(f"{field}: invalid date or time") from None


def _check_id(value: object, field: str, error: type[WireFormatError]) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise error(f"{field}: expected 1-64 characters [A-Za-z0-9._-]")
    return value


def _check_uuid(value: object, field: str, error: type[WireFormatError]) -> str:
    """Accept only the canonical lower-case hyphenated form, so one record has one spelling.

    The regex accepts exactly what ``str(uuid.UUID(value)) == value`` accepts (a hypothesis test
    compares them); ``uuid.UUID`` only runs on a refusal, to tell a mis-spelled UUID from the rest.
    """
    if isinstance(value, str) and _CANONICAL_UUID_RE.fullmatch(value):
        return value
    if isinstance(value, str) and len(value) == 36:
        try:
            uuid.UUID(value)
        except ValueError:
            pass
        else:
            raise error(f"{field}: expected a canonical (lower-case, hyphenated) UUID string")
    raise error(f"{field}: expected a canonical UUID string")


def _check_int(value: object, field: str, error: type[WireFormatError]) -> int:
    # bool is an int subclass in Python; it is not a sequence number.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise error(f"{field}: expected a non-negative 64-bit integer")
    return value


def _as_object(value: object, what: str, error: type[WireFormatError]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise error(f"{what}: expected a JSON object")
    return value


class _StrictJSONError(ValueError):
    """Internal: a JSON text the strict parser refuses (turned into the caller's wire error)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _StrictJSONError("duplicate key")
    return out


def _no_constant(name: str) -> Any:
    raise _StrictJSONError(f"{name} is not JSON")


def strict_json_loads(body: bytes | str) -> Any:
    """The one JSON parser for every body that crosses the network (issue 14).

    ``json.loads`` alone is lenient in ways two parties can disagree on: it guesses UTF-16/UTF-32
    from bytes, skips a UTF-8 BOM, accepts ``NaN``/``Infinity`` and keeps the *last* of duplicate
    keys (another parser may keep the first). Here bytes must be strict UTF-8 (a BOM is then a
    ``\ufeff`` that JSON refuses), duplicate keys and the three constants are refused.

    :raises MessageFormatError: not strict JSON.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray | memoryview) else body
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError, TypeError):
        raise MessageFormatError("not strict JSON (UTF-8, no BOM, no duplicate keys, no NaN)") from None


def _loads(body: bytes | str, what: str, error: type[WireFormatError]) -> Any:
    try:
        return strict_json_loads(body)
    except MessageFormatError:
        raise error(f"{what}: not valid JSON") from None


def _validated_header_bytes(envelope: Envelope) -> bytes:
    """:meth:`Envelope.header_bytes` by formatting instead of ``json.dumps``, for validated fields.

    After :meth:`Envelope.from_json`'s checks no header string needs a JSON escape (ids are
    ``[A-Za-z0-9._-]``, the record id hex and hyphens, the timestamp ASCII digits and ``-:.TZ``; the
    patterns end in ``\\Z``, so not even a trailing newline gets through).
    ``tests/sync/test_wire_fast_paths.py`` compares the two on generated valid fields.
    """
    return _HEADER_FORMAT.format(
        envelope.created_at,
        envelope.kiosk_id,
        envelope.program_id,
        envelope.record_id,
        int.__repr__(envelope.seq),  # what json.dumps writes for an int (or int subclass)
        int.__repr__(envelope.v),
    ).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One sealed record as it travels: clear non-personal header, HPKE ciphertext, device signature.

    Build one with :func:`sync.sealing.seal`; open one with :func:`sync.sealing.open_envelope`.
    ``repr`` shows only the header and sizes (the ciphertext is opaque, but it is still long).
    """

    record_id: str
    kiosk_id: str
    seq: int
    created_at: str
    program_id: str
    ct: bytes
    sig: bytes
    v: int = ENVELOPE_VERSION
    # Set only by from_json, from the fields it has just validated, so the server does not encode
    # the header or parse created_at twice; never compared, never passed on by dataclasses.replace.
    _header: bytes = field(default=b"", init=False, repr=False, compare=False)
    _created: _dt.datetime | None = field(default=None, init=False, repr=False, compare=False)

    def header(self) -> dict[str, Any]:
        """Every field except ``ct`` and ``sig``: the part that is signed and bound into HPKE info."""
        return {
            "created_at": self.created_at,
            "kiosk_id": self.kiosk_id,
            "program_id": self.program_id,
            "record_id": self.record_id,
            "seq": self.seq,
            "v": self.v,
        }

    def header_bytes(self) -> bytes:
        """Canonical JSON of :meth:`header`."""
        return self._header or canonical_json(self.header())

    def created_time(self) -> _dt.datetime:
        """``created_at`` as an aware UTC datetime (:func:`parse_timestamp`)."""
        return self._created or parse_timestamp(self.created_at)

    def hpke_info(self) -> bytes:
        """HPKE ``info``: ``b"madoguchi.envelope.v1\\x00" + header_bytes``.

        The header contains ``v``, ``kiosk_id`` and ``record_id`` (and seq, created_at, program_id), so a
        ciphertext decrypts only under the exact header it was sealed with: it cannot be replayed
        under another kiosk, record id, version or programme even by someone holding a device key.
        """
        return HPKE_INFO_LABEL + self.header_bytes()

    def signed_bytes(self) -> bytes:
        """The bytes the device key signs: ``header_bytes || ct`` (canonical JSON is self-delimiting)."""
        return self.header_bytes() + self.ct

    def to_json(self) -> dict[str, Any]:
        """The envelope as a JSON object (``ct`` and ``sig`` in standard base64)."""
        obj = self.header()
        obj["ct"] = b64encode(self.ct)
        obj["sig"] = b64encode(self.sig)
        return obj

    @classmethod
    def from_json(cls, obj: object) -> Envelope:
        """Parse and validate one envelope object; raise :class:`EnvelopeFormatError` on any defect."""
        err = EnvelopeFormatError
        data = _as_object(obj, "envelope", err)
        keys = set(data)
        if keys != _ENVELOPE_FIELDS:
            missing = sorted(_ENVELOPE_FIELDS - keys)
            extra = sorted(k[:32] for k in keys - _ENVELOPE_FIELDS)
            raise err(f"envelope: missing fields {missing}, unexpected fields {extra}")
        if data["v"] != ENVELOPE_VERSION or isinstance(data["v"], bool):
            raise err(f"v: unsupported envelope version (expected {ENVELOPE_VERSION})")
        ct_text = data["ct"]
        if isinstance(ct_text, str) and len(ct_text) > _MAX_CT_B64_LEN:
            raise err("ct: too large")
        created = parse_timestamp(data["created_at"])
        sig = b64decode(data["sig"], field="sig", error=err)
        if len(sig) != 64:
            raise err("sig: expected a 64-byte Ed25519 signature")
        envelope = cls(
            record_id=_check_uuid(data["record_id"], "record_id", err),
            kiosk_id=_check_id(data["kiosk_id"], "kiosk_id", err),
            seq=_check_int(data["seq"], "seq", err),
            created_at=data["created_at"],
            program_id=_check_id(data["program_id"], "program_id", err),
            ct=b64decode(ct_text, field="ct", error=err),
            sig=sig,
        )
        object.__setattr__(envelope, "_header", _validated_header_bytes(envelope))
        object.__setattr__(envelope, "_created", created)
        return envelope

    def check_header(self) -> None:
        """Apply :meth:`from_json`'s header rules to this envelope's fields, without a JSON round trip.

        The sealing side calls this before it seals, so every envelope it produces parses on the
        server; it uses the same field checks as :meth:`from_json` (one definition of "valid").

        :raises EnvelopeFormatError: a field does not follow the wire format.
        """
        err = EnvelopeFormatError
        if self.v != ENVELOPE_VERSION or isinstance(self.v, bool):
            raise err(f"v: unsupported envelope version (expected {ENVELOPE_VERSION})")
        parse_timestamp(self.created_at)
        _check_uuid(self.record_id, "record_id", err)
        _check_id(self.kiosk_id, "kiosk_id", err)
        _check_int(self.seq, "seq", err)
        _check_id(self.program_id, "program_id", err)

    def __repr__(self) -> str:
        return (
            f"Envelope(record_id={self.record_id!r}, kiosk_id={self.kiosk_id!r}, seq={self.seq}, "
            f"created_at={self.created_at!r}, program_id={self.program_id!r}, ct=<{len(self.ct)} bytes>)"
        )


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    """``POST /v1/enroll`` body: a one-time token, the kiosk id and the device's raw Ed25519 key."""

    token: str
    kiosk_id: str
    device_public_key: bytes

    def to_json(self) -> dict[str, Any]:
        """The request as a JSON object."""
        return {
            "token": self.token,
            "kiosk_id": self.kiosk_id,
            "device_public_key": b64encode(self.device_public_key),
        }

    @classmethod
    def from_json(cls, obj: object) -> EnrollRequest:
        """Parse and validate (the server side)."""
        err = MessageFormatError
        data = _as_object(obj, "enroll request", err)
        token = data.get("token")
        if not isinstance(token, str) or not 1 <= len(token) <= 256:
            raise err("token: expected a string of 1-256 characters")
        key = b64decode(data.get("device_public_key"), field="device_public_key", error=err)
        if len(key) != 32:
            raise err("device_public_key: expected a raw 32-byte Ed25519 public key")
        kiosk_id = _check_id(data.get("kiosk_id"), "kiosk_id", err)
        return cls(token=token, kiosk_id=kiosk_id, device_public_key=key)

    def __repr__(self) -> str:
        return f"EnrollRequest(kiosk_id={self.kiosk_id!r}, token=<redacted>)"


@dataclass(frozen=True, slots=True)
class EnrollResponse:
    """``POST /v1/enroll`` 200 reply: the server's device id, its raw X25519 key and the suite id."""

    device_id: str
    server_public_key: bytes
    suite: str

    def to_json(self) -> dict[str, Any]:
        """The reply as a JSON object."""
        return {
            "device_id": self.device_id,
            "server_public_key": b64encode(self.server_public_key),
            "suite": self.suite,
        }

    @classmethod
    def from_json(cls, obj: object) -> EnrollResponse:
        """Parse and validate (the kiosk side); an unknown suite is a format error, not a downgrade."""
        err = MessageFormatError
        data = _as_object(obj, "enroll response", err)
        device_id = data.get("device_id")
        if not isinstance(device_id, str) or not 1 <= len(device_id) <= 128:
            raise err("device_id: expected a string of 1-128 characters")
        key = b64decode(data.get("server_public_key"), field="server_public_key", error=err)
        if len(key) != 32:
            raise err("server_public_key: expected a raw 32-byte X25519 public key")
        if data.get("suite") != SUITE_ID:
            raise err(f"suite: expected {SUITE_ID!r}")
        return cls(device_id=device_id, server_public_key=key, suite=SUITE_ID)


@dataclass(frozen=True, slots=True)
class RecordResult:
    """One per-record outcome of ``POST /v1/records``."""

    record_id: str
    status: RecordStatus
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON object."""
        return {"record_id": self.record_id, "status": self.status.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class BatchResults:
    """``POST /v1/records`` 200 reply: one :class:`RecordResult` per uploaded record, in any order."""

    results: tuple[RecordResult, ...]

    def to_json(self) -> dict[str, Any]:
        """The reply as a JSON object."""
        return {"results": [r.to_json() for r in self.results]}

    @classmethod
    def parse(cls, body: bytes | str) -> BatchResults:
        """Parse a reply body strictly. Any defect makes the whole reply untrusted (the client then
        keeps every record of the batch for a later retry)."""
        err = MessageFormatError
        data = _as_object(_loads(body, "batch results", err), "batch results", err)
        raw = data.get("results")
        if not isinstance(raw, list) or len(raw) > MAX_BATCH_RECORDS:
            raise err(f"results: expected a list of at most {MAX_BATCH_RECORDS} items")
        out: list[RecordResult] = []
        for item in raw:
            obj = _as_object(item, "result", err)
            rid = _check_uuid(obj.get("record_id"), "record_id", err)
            try:
                status = RecordStatus(str(obj.get("status")))
            except ValueError:
                raise err("status: expected accepted, duplicate or rejected") from None
            reason = obj.get("reason")
            if reason is not None and (not isinstance(reason, str) or len(reason) > _MAX_REASON_LEN):
                raise err(f"reason: expected null or a string of at most {_MAX_REASON_LEN} characters")
            out.append(RecordResult(record_id=rid, status=status, reason=reason))
        return cls(results=tuple(out))


def parse_batch_request(body: bytes | str) -> list[object]:
    """Server side: parse ``{"records": [...]}`` into raw envelope objects (validated one by one with
    :meth:`Envelope.from_json`, so one bad envelope is one ``rejected`` result, not a failed batch)."""
    err = MessageFormatError
    data = _as_object(_loads(body, "batch", err), "batch", err)
    records = data.get("records")
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH_RECORDS:
        raise err(f"records: expected a list of 1-{MAX_BATCH_RECORDS} envelopes")
    return list(records)


def batch_request_body(envelopes: list[Envelope]) -> bytes:
    """Client side: the body of ``POST /v1/records`` (compact JSON, UTF-8)."""
    return json.dumps({"records": [e.to_json() for e in envelopes]}, separators=(",", ":")).encode("utf-8")


def check_kiosk_id(value: object) -> str:
    """Validate a kiosk id (``[A-Za-z0-9][A-Za-z0-9._-]{0,63}``); raise :class:`MessageFormatError`."""
    return _check_id(value, "kiosk_id", MessageFormatError)
