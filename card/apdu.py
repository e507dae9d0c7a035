"""Command APDU encoding (short and extended), status words, and the APDU pipeline.

:class:`CommandApdu` encodes ISO 7816-4 cases 1-4 in short or extended form. :class:`ApduProtocol`
is the one façade applications use: it sends through a :class:`card.connection.CardConnection`,
follows ``61xx`` (GET RESPONSE) and ``6Cxx`` (re-send with the exact Le), counts APDUs and bytes
(the figures the CLI and the benchmark report), refuses any command naming the My Number's EFs
(:mod:`card.privacy`), traces at :data:`TRAFFIC` (below DEBUG) with
VERIFY data and personal EF contents redacted, and raises :class:`card.errors.ApduError` for any
status word other than those the caller accepts. Modelled on yubikit's ``SmartCardProtocol``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import IO

from card.connection import CardConnection
from card.constants import CLA_ISO, INS_GET_RESPONSE, INS_VERIFY
from card.errors import ApduEncodingError, OperationCancelledError, apdu_error_for
from card.privacy import guard_command

logger = logging.getLogger(__name__)

#: Log level for raw APDU traffic: below DEBUG so it is never on by accident (yubikit TRAFFIC = 5).
TRAFFIC = 5
logging.addLevelName(TRAFFIC, "TRAFFIC")

#: Short Le maximum (encoded as 00) and extended Le maximum (encoded as 0000).
SHORT_LE_MAX = 256
EXTENDED_LE_MAX = 65536


_TRACE_WARNING = """\
************************************************************************
* APDU TRACING IS ON (level TRAFFIC). PIN data and the card-info AP's  *
* personal records are redacted, but the trace still shows certificate *
* and card identifiers. Never enable this on a kiosk serving residents. *
************************************************************************"""


def enable_traffic_log(stream: IO[str]) -> logging.Handler:
    """Send TRAFFIC-level APDU traces of the card layer to ``stream``, after a loud warning
    (the ykman practice: tracing is a support tool, never a default)."""
    stream.write(_TRACE_WARNING + "\n")
    handler = logging.StreamHandler(stream)
    handler.setLevel(TRAFFIC)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    card_logger = logging.getLogger("card")
    card_logger.addHandler(handler)
    card_logger.setLevel(TRAFFIC)
    return handler


@unique
class SW(IntEnum):
    """Status words the card layer interprets (protocol §2.4)."""

    OK = 0x9000
    WRONG_LENGTH = 0x6700
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    REFERENCE_DATA_BLOCKED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    FILE_NOT_FOUND = 0x6A82
    INCORRECT_P1P2 = 0x6A86
    OFFSET_OUT_OF_FILE = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00


def sw1(sw: int) -> int:
    """High byte of a status word."""
    return (sw >> 8) & 0xFF


def sw2(sw: int) -> int:
    """Low byte of a status word."""
    return sw & 0xFF


def tries_from_sw(sw: int) -> int | None:
    """Tries left encoded in a VERIFY status word: ``63Cx`` → x, ``6983``/``6984`` → 0, else None."""
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    if sw in (SW.AUTH_METHOD_BLOCKED, SW.REFERENCE_DATA_BLOCKED):
        return 0
    return None


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """One command APDU. ``le`` is the expected response length (1..65536) or None (no Le field).

    ``repr`` never shows ``data``: it may be a PIN.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __repr__(self) -> str:
        return (
            f"CommandApdu({self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}, "
            f"lc={len(self.data)}, le={self.le})"
        )

    def needs_extended(self) -> bool:
        """True when the command cannot be written in short form."""
        return len(self.data) > 255 or (self.le is not None and self.le > SHORT_LE_MAX)

    def to_bytes(self, *, extended: bool | None = None) -> bytes:
        """Encode the command. ``extended=None`` picks short form unless the sizes need extended.

        :raises ApduEncodingError: a header byte, the data or Le is out of range for the form.
        """
        for name, value in (("cla", self.cla), ("ins", self.ins), ("p1", self.p1), ("p2", self.p2)):
            if not 0 <= value <= 0xFF:
                raise ApduEncodingError(f"{name} out of range")
        if self.le is not None and not 1 <= self.le <= EXTENDED_LE_MAX:
            raise ApduEncodingError("Le out of range")
        if len(self.data) > 0xFFFF:
            raise ApduEncodingError("data longer than 65535 bytes")
        use_extended = self.needs_extended() if extended is None else extended
        if not use_extended and self.needs_extended():
            raise ApduEncodingError("command does not fit in a short APDU")
        out = bytearray((self.cla, self.ins, self.p1, self.p2))
        if use_extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                le = b"\x00\x00" if self.le == EXTENDED_LE_MAX else self.le.to_bytes(2, "big")
                # Case 2E has a leading 00 before Le; case 4E reuses the one before Lc.
                out += le if self.data else b"\x00" + le
        else:
            if self.data:
                out += bytes((len(self.data),)) + self.data
            if self.le is not None:
                out.append(0 if self.le == SHORT_LE_MAX else self.le)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class TrafficStats:
    """Cumulative traffic through one :class:`ApduProtocol` (what the card actually saw)."""

    apdus: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0

    def __sub__(self, other: TrafficStats) -> TrafficStats:
        return TrafficStats(
            self.apdus - other.apdus,
            self.bytes_sent - other.bytes_sent,
            self.bytes_received - other.bytes_received,
        )


def _redacted_command(apdu: bytes) -> str:
    # VERIFY data is a PIN: keep the header and Lc only (protocol §5 "PIN hygiene").
    if len(apdu) > 5 and apdu[1] == INS_VERIFY:
        return apdu[:5].hex(" ").upper() + f" <{len(apdu) - 5} bytes redacted>"
    return apdu.hex(" ").upper()


class ApduProtocol:
    """Send commands, follow 61xx/6Cxx, count traffic, trace, and check status words.

    :param connection: the transport.
    :param extended: allow extended-length APDUs (the My Number Card supports them for READ BINARY,
        protocol §2.2; a reader that does not answers 6700 and the caller falls back to short reads).
    :param cancel: when set, the next APDU is not sent and :class:`OperationCancelledError` is raised.
    """

    def __init__(
        self, connection: CardConnection, *, extended: bool = True, cancel: threading.Event | None = None
    ) -> None:
        self.connection = connection
        self.extended = extended
        self.cancel = cancel
        self._stats = TrafficStats()

    def _check_cancel(self) -> None:
        # Between APDUs only: a command in flight (a VERIFY above all) is never cut short.
        if self.cancel is not None and self.cancel.is_set():
            raise OperationCancelledError("cancelled by the caller")

    @property
    def stats(self) -> TrafficStats:
        """Traffic so far; subtract two snapshots to get the traffic of a phase."""
        return self._stats

    def _transmit(self, raw: bytes, *, redact_response: bool) -> tuple[bytes, int]:
        self._check_cancel()
        if logger.isEnabledFor(TRAFFIC):
            logger.log(TRAFFIC, "SEND %s", _redacted_command(raw))
        data, sw = self.connection.transmit(raw)
        self._stats = TrafficStats(
            self._stats.apdus + 1,
            self._stats.bytes_sent + len(raw),
            self._stats.bytes_received + len(data) + 2,
        )
        if logger.isEnabledFor(TRAFFIC):
            shown = f"<{len(data)} bytes redacted>" if redact_response and data else data.hex(" ").upper()
            logger.log(TRAFFIC, "RECV %s SW=%04X", shown, sw)
        return data, sw

    def transmit(self, command: CommandApdu, *, redact_response: bool = False) -> tuple[bytes, int]:
        """Send ``command`` and return ``(data, sw)`` without checking the status word.

        ``61xx`` is followed with GET RESPONSE and ``6Cxx`` by re-sending with Le = xx (ISO 7816-4;
        not observed on this card, protocol §2.4, handled defensively).

        :raises PrivacyGuardError: the command names EF 0001 / EF 0014 (:mod:`card.privacy`); not sent.
        """
        guard_command(command.ins, command.p1, command.p2, command.data)
        use_extended = self.extended and command.needs_extended()
        data, sw = self._transmit(command.to_bytes(extended=use_extended), redact_response=redact_response)
        if sw1(sw) == 0x6C:
            exact = sw2(sw) or 256
            retry = CommandApdu(command.cla, command.ins, command.p1, command.p2, command.data, exact)
            data, sw = self._transmit(retry.to_bytes(extended=False), redact_response=redact_response)
        chunks = [data]
        while sw1(sw) == 0x61:
            get = CommandApdu(CLA_ISO, INS_GET_RESPONSE, 0, 0, le=sw2(sw) or 256)
            data, sw = self._transmit(get.to_bytes(extended=False), redact_response=redact_response)
            chunks.append(data)
        return b"".join(chunks), sw

    def transmit_secret(self, header: bytes, secret: bytearray) -> tuple[bytes, int]:
        """Send a short case-3 APDU ``header || Lc || secret`` built in a ``bytearray`` that is zeroed
        afterwards (the PIN path: no immutable copy of the PIN is made here). Never traced with data."""
        if len(header) != 4 or not 1 <= len(secret) <= 255:
            raise ApduEncodingError("secret APDU needs a 4-byte header and 1-255 data bytes")
        guard_command(header[1], header[2], header[3], b"")
        self._check_cancel()
        buf = bytearray(header)
        buf.append(len(secret))
        buf += secret
        try:
            if logger.isEnabledFor(TRAFFIC):
                logger.log(TRAFFIC, "SEND %s <%d bytes redacted>", header.hex(" ").upper(), len(secret))
            data, sw = self.connection.transmit(buf)  # type: ignore[arg-type]  # bytearray: zeroable
        finally:
            buf[:] = bytes(len(buf))
        self._stats = TrafficStats(
            self._stats.apdus + 1,
            self._stats.bytes_sent + 5 + len(secret),
            self._stats.bytes_received + len(data) + 2,
        )
        if logger.isEnabledFor(TRAFFIC):
            logger.log(TRAFFIC, "RECV %s SW=%04X", data.hex(" ").upper(), sw)
        return data, sw

    def send(
        self,
        command: CommandApdu,
        *,
        accept: Collection[int] = (SW.OK,),
        redact_response: bool = False,
    ) -> tuple[bytes, int]:
        """Send ``command``; raise the matching :class:`card.errors.ApduError` unless SW is in ``accept``."""
        data, sw = self.transmit(command, redact_response=redact_response)
        if sw not in accept:
            raise apdu_error_for(sw, data, ins=command.ins)
        return data, sw
