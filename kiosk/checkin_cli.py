"""``madoguchi checkin``: shelter check-in in a terminal, the same :class:`~kiosk.shelter.ShelterDesk`
as the Qt shelter screens (staff terminals, scripted drills, the end-to-end test).

    madoguchi checkin [--reader NAME] [--config FILE] [--code CODE | --unverified]
                      [--companions N] [--check-out | --moved-to SHELTER] [--headcount] [--json]

Needs a profile with ``[kiosk] mode = "shelter"`` and a ``[shelter]`` table (docs/shelter.md §2).

- Default: one PIN-less card tap on the reader (``--reader`` or the first reader with a card):
  only the JPKI auth certificate is read (3 APDUs, no VERIFY, no card-info AP).
- ``--code CODE``: a printed 避難所受付カード (the QR text ``MDGC1:…`` or the typed
  ``XXXXX-XXXXX-XXXXX``).
- ``--unverified``: staff entry; standard input gives the kana name (line 1) and the birth date
  ``YYYY-MM-DD`` (line 2). Personal data never goes on the command line (``ps`` shows it).
- ``--companions N``: after the arrival, N people without a card of their own came along.
- ``--household RECORD_ID``: with a card tap, this person came with the one whose arrival is
  ``RECORD_ID`` (the ``record_id`` printed for them): same household.
- ``--check-out`` / ``--moved-to SHELTER``: the answer for a person already checked in here.
  Without either, tapping someone already here stops with ``already_checked_in`` (exit 12).
- ``--headcount``: only print the staff headcount and the number of records waiting to be sent.
- ``--close-shelter``: after the disaster, forget the local state (who is in, as keyed hashes, and
  the counts; a new local key). Refused with ``not_delivered`` (exit 12) while records wait.

``--json`` prints one object on stdout: ``{"status": "checked_in" | "checked_out" | "moved" |
"already_checked_in" | "headcount" | "closed", "record_id", "shelter": {"id", "name"}, "method": "card" |
"code" | "staff" | null, "verified": bool | null, "companions": {"count", "record_id"} | null,
"moved_to", "headcount": {"in", "people", "companions", "out", "departed", "moved",
"unverified"}, "queued": int, "card": {"apdus", "ms"} | null}`` or ``{"error": {"code", "message",
"tries_left": null}}`` as ``madoguchi card read``.

Exit codes: 0 ok; 2 usage / config; 5 card_removed / no_card; 6 no_reader / pcsc_unavailable;
7 malformed_card_data / not_mynumber_card; 9 card_untrusted (chain to no configured J-LIS root:
enter the person by hand); 10 not_enrolled / queue_failed / state_failed; 12 already_checked_in /
not_delivered; 13 bad_code / bad_entry / not_checked_in / unknown_shelter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from kiosk.shelter import CardIdentity

EXIT_OK: Final = 0
EXIT_CODES: Final = {
    "usage": 2,
    "config": 2,
    "card_untrusted": 9,
    "not_enrolled": 10,
    "queue_failed": 10,
    "state_failed": 10,
    "already_checked_in": 12,
    "not_delivered": 12,
    "bad_code": 13,
    "bad_entry": 13,
    "not_checked_in": 13,
    "unknown_shelter": 13,
}
_MESSAGES: Final = {
    "card_untrusted": "the card's certificate chains to no configured J-LIS root: enter the person by hand",
    "bad_code": "not a check-in card code (check the characters, or scan again)",
    "bad_entry": "the kana name or the birth date is not valid",
    "not_checked_in": "this person is not checked in at this shelter",
    "unknown_shelter": "not another shelter's id",
    "not_here": "this person is not checked in at this shelter",
}


def register(subparsers: Any) -> None:
    """Add ``checkin`` to the ``madoguchi`` parser."""
    parser = subparsers.add_parser(
        "checkin", help="shelter check-in: card tap (no PIN), printed code or staff entry"
    )
    parser.add_argument("--reader", metavar="NAME", help="PC/SC reader name (default: first with a card)")
    parser.add_argument("--config", metavar="FILE", help="kiosk profile with mode = shelter")
    way = parser.add_mutually_exclusive_group()
    way.add_argument("--code", metavar="CODE", help="a printed check-in card's code or QR text")
    way.add_argument(
        "--unverified", action="store_true", help="staff entry: kana name and birth date on stdin"
    )
    way.add_argument("--headcount", action="store_true", help="print the headcount and the queue only")
    way.add_argument(
        "--close-shelter",
        action="store_true",
        help="after the disaster: forget who was in (refused while check-ins wait to be sent)",
    )
    parser.add_argument("--companions", type=int, metavar="N", default=0, help="companions without a card")
    parser.add_argument(
        "--household",
        metavar="RECORD_ID",
        help="card tap: the arrival (record_id) of the person this one came with",
    )
    leave = parser.add_mutually_exclusive_group()
    leave.add_argument("--check-out", action="store_true", help="the person leaves the shelter")
    leave.add_argument("--moved-to", metavar="SHELTER", help="the person moved to another shelter (its id)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_handle)


def _error(args: argparse.Namespace, code: str, message: str) -> int:
    from card.cli import EXIT_CODES as CARD_EXIT_CODES

    payload = {"error": {"code": code, "message": message, "tries_left": None}}
    if args.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"error ({code}): {message}\n")
    return CARD_EXIT_CODES.get(code) or EXIT_CODES[code]


def _handle(args: argparse.Namespace) -> int:
    import datetime as dt

    from card.cli import classify, read_secret_line
    from card.errors import CardError, TrustConfigError
    from kiosk import composition
    from kiosk.errors import ConfigError
    from kiosk.ports import QueueNotEnrolledError, QueueRefusedError
    from kiosk.rules.shelter_config import load_shelter_settings
    from kiosk.sequence import RecordSequence
    from kiosk.settings import KioskMode, load_settings
    from kiosk.shelter import AlreadyHere, CheckedIn, CheckedOut, Outcome, Refused, ShelterDesk
    from kiosk.shelter_state import ShelterState, ShelterStateError
    from sync.errors import NotEnrolledError, SyncError

    if not 0 <= args.companions <= 50:
        return _error(args, "usage", "--companions: 0 to 50")
    if args.household is not None:
        from kiosk.rules.wire_rules import CANONICAL_UUID4

        if args.code is not None or args.unverified or CANONICAL_UUID4.fullmatch(args.household) is None:
            return _error(args, "usage", "--household: a card tap, and the arrival's record_id (a UUID)")
    try:
        settings = load_settings(Path(args.config) if args.config else None)
        if settings.mode is not KioskMode.SHELTER:
            return _error(args, "config", f'{settings.path}: [kiosk] mode must be "shelter" for checkin')
        shelter = load_shelter_settings(settings.path)
    except ConfigError as exc:
        return _error(args, "config", str(exc))
    if args.moved_to is not None and args.moved_to not in shelter.shelters:
        return _error(args, "unknown_shelter", f"{args.moved_to!r} is not in {shelter.shelters_file}")
    try:
        outbox = composition.open_sealing_outbox(settings)
    except SyncError as exc:
        return _error(args, "not_enrolled" if isinstance(exc, NotEnrolledError) else "queue_failed", str(exc))
    try:
        state = ShelterState(settings.data_dir)
    except ShelterStateError as exc:
        outbox.close()
        return _error(args, "state_failed", str(exc))
    desk = ShelterDesk(
        shelter=shelter.shelter,
        shelters=shelter.shelters,
        kiosk_id=settings.kiosk_id,
        queue=outbox,
        sequence=RecordSequence(settings.data_dir),
        state=state,
    )
    card_info: dict[str, Any] | None = None

    def result(status: str, outcome: Outcome | None, companions: dict[str, Any] | None = None) -> int:
        count = desk.headcount()
        queued = outbox.status().depth
        payload: dict[str, Any] = {
            "status": status,
            "record_id": getattr(outcome, "record_id", None),
            "shelter": {"id": desk.shelter.id, "name": desk.shelter.name(settings.language)},
            "method": outcome.method.value if isinstance(outcome, CheckedIn) else None,
            "verified": outcome.verified if isinstance(outcome, CheckedIn) else None,
            "companions": companions,
            "moved_to": outcome.moved_to if isinstance(outcome, CheckedOut) else None,
            "headcount": count.to_json(),
            "queued": queued,
            "card": card_info,
        }
        if isinstance(outcome, AlreadyHere):
            payload["record_id"] = outcome.present.arrival_record_id
        if args.json:
            sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(
                f"{status} at {payload['shelter']['name']}: {count.total_in} in, "
                f"{count.departed + count.moved} out, {count.unverified} unverified; "
                f"{queued} waiting to be sent\n"
            )
        return EXIT_CODES["already_checked_in"] if status == "already_checked_in" else EXIT_OK

    try:
        if args.headcount:
            return result("headcount", None)
        if args.close_shelter:
            waiting = outbox.status().depth
            if waiting:
                return _error(
                    args, "not_delivered", f"{waiting} record(s) still wait to be sent: run madoguchi sync"
                )
            state.clear()
            return result("closed", None)
        identity: bytes | None
        card: CardIdentity | None = None
        if args.code is not None:
            identity = desk.code_identity(args.code)
            if identity is None:
                return _error(args, "bad_code", _MESSAGES["bad_code"])
        elif args.unverified:
            name_line = read_secret_line(sys.stdin.buffer)
            birth_line = read_secret_line(sys.stdin.buffer)
            try:
                name_kana = bytes(name_line).decode("utf-8").strip()
                birth = dt.date.fromisoformat(bytes(birth_line).decode("ascii").strip())
            except (UnicodeDecodeError, ValueError):
                return _error(args, "bad_entry", _MESSAGES["bad_entry"])
            identity = desk.staff_identity(name_kana, birth)
        else:
            card, card_info = _tap(args.reader, settings.path)
            identity = desk.card_identity(card)
        here = desk.find(identity)
        if args.check_out or args.moved_to is not None:
            if here is None:
                return _error(args, "not_checked_in", _MESSAGES["not_checked_in"])
            left = desk.check_out(here) if args.check_out else desk.move(here, args.moved_to)
            if isinstance(left, Refused):
                return _error(args, left.reason, _MESSAGES.get(left.reason, left.reason))
            return result("checked_out" if args.check_out else "moved", left)
        if here is not None:
            return result("already_checked_in", here)
        outcome: Outcome
        if card is not None:
            outcome = desk.tap_card(card, household=args.household)
        elif args.code is not None:
            outcome = desk.scan_code(args.code)
        else:
            outcome = desk.staff_entry(name_kana, birth)
        if isinstance(outcome, Refused):
            return _error(args, outcome.reason, _MESSAGES.get(outcome.reason, outcome.reason))
        companions = None
        if args.companions and isinstance(outcome, CheckedIn):
            added = desk.add_companions(outcome, args.companions)
            companions = {"count": args.companions, "record_id": getattr(added, "record_id", None)}
        return result("checked_in", outcome, companions)
    except CardError as exc:
        failure = classify(exc)
        return _error(args, failure.code, failure.message)
    except TrustConfigError as exc:
        return _error(args, "config", str(exc))
    except QueueRefusedError as exc:
        code = "not_enrolled" if isinstance(exc, QueueNotEnrolledError) else "queue_failed"
        return _error(args, code, f"the outbox refused the record ({type(exc).__name__})")
    except ShelterStateError as exc:
        return _error(args, "state_failed", str(exc))
    finally:
        state.close()
        outbox.close()


def _tap(reader: str | None, profile: Path) -> tuple[CardIdentity, dict[str, Any]]:
    """One PIN-less read on the reader: the identity and the card traffic (APDUs, milliseconds)."""
    from card.pinless import read_auth_certificate_pinless
    from kiosk import composition
    from kiosk.shelter import CardIdentity

    cards = composition.CardStack.on_pcsc(composition.load_trust(profile), reader)
    try:
        connection = cards.open_connection()
        try:
            start = time.perf_counter()
            read = read_auth_certificate_pinless(connection, cards.trust)
            elapsed = time.perf_counter() - start
        finally:
            connection.close()
    finally:
        cards.close()
    identity = CardIdentity(read.certificate.der, read.issuer_der, read.serial, read.chain.value)
    return identity, {"apdus": read.traffic.apdus, "ms": round(elapsed * 1000, 1)}
