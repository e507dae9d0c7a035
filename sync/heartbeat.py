"""The kiosk heartbeat (issue 10 item 5): what a booth reports about itself, signed by its device key.

A heartbeat carries **no personal data**: the software version, how many sealed records wait in the
outbox and how old the oldest is, the card reader's state, the kiosk's clock offset to the server
and the code of the last error. The server keeps the newest per device and ``madoguchi server
devices`` shows them, flagging booths not seen for a while (a lost, stolen or switched-off kiosk).

Why signed: the ``X-Madoguchi-Device`` header is only a claim (records are signed one by one, so
uploads do not need more). A heartbeat forged under another kiosk's id could hide that the real one
went silent, so the body is signed with the device key like an envelope, and ``sent_at`` must be
newer than the last one the server stored (a replayed heartbeat is refused).

Wire form, ``POST /v1/heartbeat`` with the device header::

    {"heartbeat": {"kiosk_id", "sent_at", "version", "queue_depth", "oldest_queued_s",
                   "reader_state", "clock_offset_ms", "last_error"},
     "sig": base64(Ed25519(canonical_json(heartbeat)))}

The kiosk side calls :func:`send_heartbeat`; the server side :func:`parse_signed`.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync import wire

__all__ = [
    "HEARTBEAT_PATH",
    "MAX_HEARTBEAT_BYTES",
    "READER_STATES",
    "Heartbeat",
    "HeartbeatSignatureError",
    "parse_signed",
    "send_heartbeat",
    "signed_body",
    "software_version",
]

HEARTBEAT_PATH: Final = f"{wire.API_PREFIX}/heartbeat"
#: A heartbeat body is a few hundred bytes; the server's default body limit (64 KiB) applies.
MAX_HEARTBEAT_BYTES: Final = 4096
#: The reader states a kiosk reports (``unknown`` when it cannot tell).
READER_STATES: Final = frozenset({"ready", "card_present", "no_reader", "pcscd_down", "error", "unknown"})
_FIELDS: Final = frozenset(
    {
        "kiosk_id",
        "sent_at",
        "version",
        "queue_depth",
        "oldest_queued_s",
        "reader_state",
        "clock_offset_ms",
        "last_error",
    }
)
_VERSION_RE: Final = re.compile(r"[0-9A-Za-z.+_-]{1,64}\Z")
_ERROR_RE: Final = re.compile(r"[a-z0-9_.]{1,64}\Z")
_MAX_INT: Final = 2**53  # exact in every JSON parser


class HeartbeatSignatureError(wire.MessageFormatError):
    """Raised when a heartbeat's signature does not verify with the device's enrolled key."""


@dataclass(frozen=True)
class Heartbeat:
    """One report; every field is operational, none personal."""

    kiosk_id: str
    sent_at: _dt.datetime
    version: str
    queue_depth: int
    oldest_queued_s: int | None
    reader_state: str
    clock_offset_ms: int | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        """The ``heartbeat`` object of the wire form."""
        return {
            "kiosk_id": self.kiosk_id,
            "sent_at": wire.format_timestamp(self.sent_at),
            "version": self.version,
            "queue_depth": self.queue_depth,
            "oldest_queued_s": self.oldest_queued_s,
            "reader_state": self.reader_state,
            "clock_offset_ms": self.clock_offset_ms,
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, obj: object) -> Heartbeat:
        """Validate a ``heartbeat`` object strictly (exact keys, types, bounds).

        :raises wire.MessageFormatError: anything out of shape.
        """
        err = wire.MessageFormatError
        if not isinstance(obj, Mapping) or set(obj) != _FIELDS:
            raise err(f"heartbeat: expected exactly the fields {sorted(_FIELDS)}")
        kiosk_id = wire.check_kiosk_id(obj["kiosk_id"])
        try:
            sent_at = wire.parse_timestamp(obj["sent_at"], field="sent_at")
        except wire.EnvelopeFormatError as exc:
            raise err(str(exc)) from None
        version = obj["version"]
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            raise err("version: expected 1-64 characters of [0-9A-Za-z.+_-]")
        reader = obj["reader_state"]
        if reader not in READER_STATES:
            raise err(f"reader_state: expected one of {sorted(READER_STATES)}")
        last_error = obj["last_error"]
        if last_error is not None and (not isinstance(last_error, str) or not _ERROR_RE.match(last_error)):
            raise err("last_error: expected null or an error code [a-z0-9_.]{1,64}")
        return cls(
            kiosk_id=kiosk_id,
            sent_at=sent_at,
            version=version,
            queue_depth=_count(obj["queue_depth"], "queue_depth", nullable=False) or 0,
            oldest_queued_s=_count(obj["oldest_queued_s"], "oldest_queued_s", nullable=True),
            reader_state=str(reader),
            clock_offset_ms=_offset(obj["clock_offset_ms"]),
            last_error=last_error,
        )


def _count(value: object, field: str, *, nullable: bool) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _MAX_INT:
        raise wire.MessageFormatError(f"{field}: expected a non-negative integer")
    return value


def _offset(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not -_MAX_INT < value < _MAX_INT:
        raise wire.MessageFormatError("clock_offset_ms: expected null or an integer")
    return value


def signed_body(heartbeat: Heartbeat, device_key: Ed25519PrivateKey) -> bytes:
    """The request body: the heartbeat and the device's signature over its canonical JSON."""
    obj = heartbeat.to_json()
    sig = device_key.sign(wire.canonical_json(obj))
    return wire.canonical_json({"heartbeat": obj, "sig": wire.b64encode(sig)})


def parse_signed(body: bytes, public_key: Ed25519PublicKey) -> Heartbeat:
    """Server side: strict JSON, strict fields, then the signature with the enrolled device key.

    :raises HeartbeatSignatureError: the signature does not verify.
    :raises wire.MessageFormatError: the body is malformed.
    """
    if len(body) > MAX_HEARTBEAT_BYTES:
        raise wire.MessageFormatError(f"heartbeat: at most {MAX_HEARTBEAT_BYTES} bytes")
    data = wire.strict_json_loads(body)
    if not isinstance(data, dict) or set(data) != {"heartbeat", "sig"}:
        raise wire.MessageFormatError("heartbeat body: expected {heartbeat, sig}")
    heartbeat = Heartbeat.from_json(data["heartbeat"])
    sig = wire.b64decode(data["sig"], field="sig")
    try:
        # the signed bytes are the canonical form of the fields as parsed, not the bytes as sent
        public_key.verify(sig, wire.canonical_json(heartbeat.to_json()))
    except InvalidSignature:
        raise HeartbeatSignatureError("heartbeat: signature does not verify") from None
    if wire.canonical_json(heartbeat.to_json()) != wire.canonical_json(data["heartbeat"]):
        raise wire.MessageFormatError("heartbeat: not in canonical form")
    return heartbeat


def software_version() -> str:
    """The installed ``madoguchi`` version for a heartbeat (``unknown`` when run from a tree that was
    never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("madoguchi")
    except PackageNotFoundError:
        return "unknown"


def send_heartbeat(
    client: Any,
    device_key: Ed25519PrivateKey,
    *,
    version: str,
    queue_depth: int,
    oldest_queued_s: int | None,
    reader_state: str,
    last_error: str | None,
    clock_offset_ms: int | None = None,
    now: _dt.datetime | None = None,
) -> Heartbeat:
    """Build, sign and post one heartbeat through ``client`` (a :class:`sync.client.SyncClient`).

    ``clock_offset_ms`` defaults to the offset the client measured from the server's ``Date`` on
    an earlier request (``None`` before the first). Returns the heartbeat sent.

    :raises sync.errors.TransferError: the server could not be reached or refused it.
    :raises wire.MessageFormatError: a field is out of range (nothing was sent).
    """
    if clock_offset_ms is None and getattr(client, "clock_offset_s", None) is not None:
        clock_offset_ms = round(client.clock_offset_s * 1000)
    heartbeat = Heartbeat(
        kiosk_id=client.kiosk_id,
        sent_at=(now or _dt.datetime.now(_dt.UTC)),
        version=version,
        queue_depth=queue_depth,
        oldest_queued_s=oldest_queued_s,
        reader_state=reader_state,
        clock_offset_ms=clock_offset_ms,
        last_error=last_error,
    )
    Heartbeat.from_json(heartbeat.to_json())  # refuse out-of-range fields before sending
    client.post_heartbeat(signed_body(heartbeat, device_key))
    return heartbeat
