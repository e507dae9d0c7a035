"""``madoguchi card readers / status / read`` (the exact interface of issue 3).

The PIN is read from standard input (one line; a second line is the card-info PIN with
``--card-info-pin-stdin``), never from arguments, straight into ``bytearray``s that the session
wipes. With ``--json`` one JSON object is printed: the result, or ``{"error": {"code", "message",
"tries_left"}}``. Exit codes: 0 success, 2 usage (and unusable configuration), 3 pin_incorrect /
pin_format, 4 pin_blocked / last_try_refused, 5 card_removed / no_card, 6 no_reader /
pcsc_unavailable, 7 malformed_card_data / not_mynumber_card.

Heavy imports (pyscard, cryptography) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from card.errors import (
    ApduError,
    CardError,
    CardRemovedError,
    LastTryRefusedError,
    MalformedCardDataError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PcscUnavailableError,
    PinBlockedError,
    PinFormatError,
    PinIncorrectError,
    ReaderBusyError,
    TrustConfigError,
)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CODES = {
    "pin_incorrect": 3,
    "pin_format": 3,
    "pin_blocked": 4,
    "last_try_refused": 4,
    "card_removed": 5,
    "no_card": 5,
    "no_reader": 6,
    "pcsc_unavailable": 6,
    "malformed_card_data": 7,
    "not_mynumber_card": 7,
}
#: Longest PIN line accepted on stdin (anything longer is a format error, not a buffer).
_MAX_PIN_LINE = 32


@dataclass(frozen=True, slots=True)
class CliFailure:
    """A failure as the CLI reports it."""

    code: str
    message: str
    tries_left: int | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.code]


def classify(error: CardError) -> CliFailure:
    """Map a card-layer error to the CLI's error code (messages carry no PIN or personal data)."""
    if isinstance(error, PinFormatError):
        return CliFailure("pin_format", "the PIN must be 4 digits")
    if isinstance(error, PinIncorrectError):
        return CliFailure("pin_incorrect", str(error), error.tries_left)
    if isinstance(error, PinBlockedError):
        return CliFailure("pin_blocked", f"{error} (reset only at the municipal office)", 0)
    if isinstance(error, LastTryRefusedError):
        return CliFailure("last_try_refused", f"{error}: pass --allow-last-try", 1)
    if isinstance(error, CardRemovedError):
        if error.during_verify:
            return CliFailure(
                "card_removed", "the card was removed during a PIN check: the try may have been counted"
            )
        return CliFailure("card_removed", "the card was removed")
    if isinstance(error, NoCardError):
        return CliFailure("no_card", str(error))
    if isinstance(error, NoReaderError):
        return CliFailure("no_reader", str(error))
    if isinstance(error, PcscUnavailableError | ReaderBusyError):
        return CliFailure("pcsc_unavailable", str(error))
    if isinstance(error, NotMyNumberCardError):
        return CliFailure("not_mynumber_card", str(error))
    if isinstance(error, MalformedCardDataError | ApduError):
        return CliFailure("malformed_card_data", str(error))
    return CliFailure("malformed_card_data", f"unexpected card error: {type(error).__name__}")


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str, out: IO[str]) -> None:
    if args.json:
        out.write(json.dumps(payload, ensure_ascii=False, sort_keys=False) + "\n")
    else:
        out.write(text + "\n")


def _fail(args: argparse.Namespace, failure: CliFailure) -> int:
    payload = {"error": {"code": failure.code, "message": failure.message, "tries_left": failure.tries_left}}
    if args.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"error ({failure.code}): {failure.message}\n")
    return failure.exit_code


def read_secret_line(stream: IO[bytes]) -> bytearray:
    """One line from ``stream`` into a bytearray (without the line end); never via ``str``.

    The digits go into a buffer allocated once at its full size (a growing bytearray is reallocated
    and leaves copies of the first digits in freed memory); the line is then copied into an
    exact-size bytearray and the scratch buffer zeroed. The stream's own read buffer (``sys.stdin``
    is buffered) still holds the line until it is overwritten: unavoidable from Python.
    """
    scratch = bytearray(_MAX_PIN_LINE + 1)
    n = 0
    one = bytearray(1)
    try:
        while stream.readinto(one):  # type: ignore[attr-defined]  # sys.stdin.buffer has it
            if one[0] == 0x0A:
                break
            if n < len(scratch):
                scratch[n] = one[0]
                n += 1
        if n and scratch[n - 1] == 0x0D:
            n -= 1
        return scratch[:n]
    finally:
        one[0] = 0
        scratch[:] = bytes(len(scratch))


# -- handlers ---------------------------------------------------------------------------------


def _readers(args: argparse.Namespace) -> int:
    _maybe_trace()
    from card.pcsc import PcscContext, is_contactless, order_readers

    try:
        with PcscContext() as context:
            names = order_readers(context.list_readers())
            states = {s.name: s for s in context.reader_states(names)}
    except CardError as exc:
        return _fail(args, classify(exc))
    readers = [
        {"name": n, "contactless": is_contactless(n), "card_present": states[n].present} for n in names
    ]
    lines = [
        "\t".join(
            (n, "contactless" if is_contactless(n) else "contact", "card" if states[n].present else "-")
        )
        for n in names
    ]
    _emit(args, {"readers": readers}, "\n".join(lines) if lines else "no reader attached", sys.stdout)
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    _maybe_trace()
    from card.pcsc import PcscContext
    from card.session import read_card_status

    try:
        with PcscContext() as context, context.open_card(args.reader) as connection:
            status, traffic = read_card_status(connection)
            reader = connection.reader_name
    except CardError as exc:
        return _fail(args, classify(exc))
    if not status.is_mynumber_card:
        return _fail(args, CliFailure("not_mynumber_card", "the JPKI token is not a My Number Card"))
    payload = {
        "reader": reader,
        "card": "mynumber_card",
        "token_label": status.token_label,
        "tries_left": {"auth": status.auth, "card_info": status.card_info, "signature": status.signature},
        "apdus": traffic.apdus,
    }
    text = (
        f"reader: {reader}\ncard: My Number Card ({status.token_label})\n"
        f"tries left: auth {status.auth}, card_info {status.card_info}, signature {status.signature}"
    )
    _emit(args, payload, text, sys.stdout)
    return EXIT_OK


def _chain_word(status: Any) -> str:
    from card.trust import TrustStatus

    if status is TrustStatus.VERIFIED:
        return "trusted"
    if status is TrustStatus.EXPIRED:
        return "expired"
    return "untrusted"


def _read(args: argparse.Namespace) -> int:
    _maybe_trace()
    from card.pcsc import PcscContext
    from card.pin import wipe
    from card.session import MyNumberCardSession
    from card.trust import load_trust_store

    try:
        trust = load_trust_store(Path(args.config) if args.config else args.default_profile())
    except TrustConfigError as exc:
        sys.stderr.write(f"madoguchi card read: {exc}\n")
        return EXIT_USAGE
    stdin = sys.stdin.buffer
    pin = read_secret_line(stdin)
    card_info_pin = read_secret_line(stdin) if args.card_info_pin_stdin else None
    try:
        with PcscContext() as context, context.open_card(args.reader) as connection:
            session = MyNumberCardSession(connection, trust)
            result = session.read(pin, card_info_pin=card_info_pin, allow_last_try=args.allow_last_try)
    except CardError as exc:
        return _fail(args, classify(exc))
    finally:
        wipe(pin, card_info_pin)
    info, cert, v = result.basic_four, result.auth_certificate, result.verification
    payload = {
        "resident": {
            "name": info.name,
            "address": info.address,
            "birth_date": info.birth_date.isoformat(),
            "sex": info.sex,
        },
        "jpki": {
            "certificate_serial": cert.serial_hex,
            "certificate_not_after": cert.not_after.date().isoformat(),
            "chain": _chain_word(v.chain),
            "signature": "valid" if v.signature_valid else "invalid",
        },
        "integrity": v.integrity.value,
        "genuine_card": v.genuine_card.value,
        "tries_left": {"auth": result.tries_left.auth, "card_info": result.tries_left.card_info},
        "apdus": {"before_pin": result.traffic_before_pin.apdus, "after_pin": result.traffic_after_pin.apdus},
    }
    text = "\n".join(
        [
            f"name: {info.name}",
            f"address: {info.address}",
            f"birth date: {info.birth_date.isoformat()}",
            f"sex: {info.sex}",
            f"auth certificate: serial {cert.serial_hex}, until {cert.not_after.date().isoformat()}, "
            f"chain {_chain_word(v.chain)}, card signature {'valid' if v.signature_valid else 'invalid'}",
            f"integrity: {v.integrity.value}; genuine card: {v.genuine_card.value}",
            f"APDUs: {result.traffic_before_pin.apdus} before the PIN, "
            f"{result.traffic_after_pin.apdus} after",
        ]
    )
    _emit(args, payload, text, sys.stdout)
    return EXIT_OK


def _maybe_trace() -> None:
    """``MADOGUCHI_APDU_TRACE=1`` turns on the redacted APDU trace on stderr (support only)."""
    import os

    if os.environ.get("MADOGUCHI_APDU_TRACE") == "1":
        from card.apdu import enable_traffic_log

        enable_traffic_log(sys.stderr)


def register(subparsers: Any) -> None:
    """Add ``card readers|status|read`` to the ``madoguchi`` parser."""
    card = subparsers.add_parser("card", help="My Number Card reader commands")
    sub = card.add_subparsers(dest="card_command", metavar="SUBCOMMAND")
    sub.required = True

    readers = sub.add_parser("readers", help="list PC/SC readers (contactless first)")
    readers.add_argument("--json", action="store_true", help="print one JSON object")
    readers.set_defaults(handler=_readers)

    status = sub.add_parser("status", help="card kind, token label and tries left (no PIN)")
    status.add_argument("--reader", metavar="NAME", help="PC/SC reader name (default: first with a card)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_status)

    read = sub.add_parser("read", help="verify the PIN and read the basic four")
    read.add_argument("--reader", metavar="NAME", help="PC/SC reader name (default: first with a card)")
    # Without --config, the kiosk's profile: where it is is the kiosk's rule (kiosk.settings), so
    # the entry (kiosk/cli.py) hands it in as ``default_profile``; the card layer imports no kiosk.
    read.add_argument(
        "--config", metavar="FILE", help="TOML with the [trust] section (default: the kiosk's profile)"
    )
    read.add_argument("--pin-stdin", action="store_true", required=True, help="read the PIN from stdin")
    read.add_argument(
        "--card-info-pin-stdin", action="store_true", help="a second stdin line is the card-info PIN"
    )
    read.add_argument("--allow-last-try", action="store_true", help="permit a VERIFY at 1 try left")
    read.add_argument("--json", action="store_true", help="print one JSON object")
    read.set_defaults(handler=_read)
