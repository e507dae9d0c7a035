"""``madoguchi register``: the whole registration flow in a terminal (scripted checks, training,
staff terminals), the same :class:`~kiosk.flow.Flow` and :class:`~kiosk.runner.Runner` as the GUI.

    madoguchi register [--reader NAME] [--config FILE] --program ID --services point,disaster
                       --pin-stdin [--card-info-pin-stdin] [--allow-last-try] [--yes] [--json]

The PIN is the first line of standard input (into a ``bytearray``, wiped after VERIFY); with
``--card-info-pin-stdin`` the second line is the card-info PIN (the resident says the two PINs
differ), as ``madoguchi card read``. Without it, the one PIN is used for both; if the card-info
application refuses it, the command stops with ``pin_incorrect`` and the card-info tries left (it
never retries). Unless ``--yes``, the terms and then the basic four are shown on standard error and
one more stdin line (after the PIN lines) must answer ``yes`` before anything is signed or
written. ``--json`` prints one object on stdout: the result ``{"registration_id", "code",
"status", "program", "services", "eligibility": {"eligible", "reasons"}}``, or the error object
of ``madoguchi card read`` (``{"error": {"code", "message", "tries_left"}}``).

Exit codes: those of ``madoguchi card read`` (0 ok, 2 usage/configuration, 3 pin_incorrect /
pin_format, 4 pin_blocked / last_try_refused, 5 card_removed / no_card, 6 no_reader /
pcsc_unavailable, 7 malformed_card_data / not_mynumber_card), plus 8 not_eligible (the result object
with ``status: "not_eligible"``), 9 certificate_expired / verification_failed, 10 not_enrolled /
queue_failed, 11 declined.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Final

from kiosk.i18n import Message

EXIT_OK: Final = 0
EXIT_USAGE: Final = 2
EXIT_NOT_ELIGIBLE: Final = 8
EXTRA_EXIT_CODES: Final = {
    "certificate_expired": 9,
    "verification_failed": 9,
    "not_enrolled": 10,
    "queue_failed": 10,
    "declined": 11,
    "usage": EXIT_USAGE,
    "config": EXIT_USAGE,
}
_YES: Final = frozenset({b"yes", b"y", "はい".encode()})

# What the resident reads in the terminal, in the profile's language (catalogue messages,
# docs/ui.md). Error lines (``error (code): message``) and the JSON stay English: they are for
# operators and scripts, and their codes are the contract.
_TERMS_HEADING: Final = Message("cli.terms_heading", "[{service} — terms {version}]")
_NAME: Final = Message("cli.name", "Name: {value}")
_ADDRESS: Final = Message("cli.address", "Address: {value}")
_BIRTH_DATE: Final = Message("cli.birth_date", "Date of birth: {value}")
_SEX: Final = Message("cli.sex", "Sex: {value}")
# TRANSLATORS: {yes} is the word "yes", which the resident types (はい is accepted too).
_CONFIRM: Final = Message("cli.confirm", "Register with these details? Type {yes}:")
_REGISTERED: Final = Message("cli.registered", "Registered: code {code} (record {record}). Status: queued.")
_NOT_ELIGIBLE: Final = Message("cli.not_eligible", "Not eligible:")


def register(subparsers: Any) -> None:
    """Add ``register`` to the ``madoguchi`` parser."""
    parser = subparsers.add_parser("register", help="register a resident with the card (terminal flow)")
    parser.add_argument("--reader", metavar="NAME", help="PC/SC reader name (default: first with a card)")
    parser.add_argument("--config", metavar="FILE", help="kiosk profile (default: $MADOGUCHI_CONFIG, ...)")
    parser.add_argument("--program", metavar="ID", required=True, help="programme id (config/programs)")
    parser.add_argument(
        "--services", metavar="LIST", required=True, help="comma-separated services, e.g. point,disaster"
    )
    parser.add_argument("--pin-stdin", action="store_true", required=True, help="read the PIN from stdin")
    parser.add_argument(
        "--card-info-pin-stdin",
        action="store_true",
        help="the second stdin line is the card-info PIN (when it differs from the auth PIN)",
    )
    parser.add_argument("--allow-last-try", action="store_true", help="permit a VERIFY at 1 try left")
    parser.add_argument("--yes", action="store_true", help="do not show terms and data, do not ask")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_handle)


def _error(args: argparse.Namespace, code: str, message: str, tries_left: int | None = None) -> int:
    from card.cli import EXIT_CODES

    payload = {"error": {"code": code, "message": message, "tries_left": tries_left}}
    if args.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"error ({code}): {message}\n")
    return EXIT_CODES.get(code) or EXTRA_EXIT_CODES[code]


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from card.cli import classify, read_secret_line
    from card.errors import CardError, TrustConfigError
    from card.pcsc import PcscContext
    from card.pin import wipe
    from card.session import MyNumberCardSession
    from card.trust import load_trust_store
    from kiosk.errors import ConfigError
    from kiosk.flow.events import (
        CardInfoPinSubmitted,
        ConsentAccepted,
        IdentityConfirmed,
        IdentityRejected,
        LanguageChosen,
        LastTryConfirmed,
        PinSubmitted,
        ProgramChosen,
        Register,
        ServicesChosen,
        Start,
    )
    from kiosk.flow.machine import Flow, FlowSettings
    from kiosk.flow.state import ErrorKind, Phase
    from kiosk.local_index import RegisteredHereIndex
    from kiosk.rules.programs import load_programs
    from kiosk.runner import Runner
    from kiosk.sequence import RecordSequence
    from kiosk.settings import load_settings
    from sync.device import DeviceStore
    from sync.errors import NotEnrolledError, SyncError
    from sync.outbox import OUTBOX_FILE, Outbox

    try:
        settings = load_settings(Path(args.config) if args.config else None)
        programs = load_programs(settings.programs_dir)
        trust = load_trust_store(settings.path)
    except ConfigError as exc:
        return _error(args, "config", str(exc))
    except TrustConfigError as exc:
        return _error(args, "config", str(exc))
    lang = settings.language
    program = programs.get(args.program)
    if program is None:
        return _error(
            args, "usage", f"unknown programme {args.program!r}; known: {', '.join(sorted(programs))}"
        )
    services = tuple(sorted({s.strip() for s in args.services.split(",") if s.strip()}))
    offered = {t.service for t in program.services}
    if not services or not set(services) <= offered:
        return _error(args, "usage", f"programme {program.id} offers: {', '.join(sorted(offered))}")
    if not program.required_services <= set(services):
        needed = ", ".join(sorted(program.required_services))
        return _error(args, "usage", f"programme {program.id} requires the services: {needed}")

    try:
        sealer = DeviceStore(settings.data_dir).sealer(settings.kiosk_id)
        outbox = Outbox.open(settings.data_dir / OUTBOX_FILE, sealer=sealer, recover=False)
    except SyncError as exc:
        code = "not_enrolled" if isinstance(exc, NotEnrolledError) else "queue_failed"
        return _error(args, code, str(exc))

    pin = read_secret_line(sys.stdin.buffer)
    card_info_pin = read_secret_line(sys.stdin.buffer) if args.card_info_pin_stdin else None
    flow = Flow(
        FlowSettings(
            mode=settings.mode, language=settings.language, program_id=program.id, timeouts=settings.timeouts
        ),
        programs,
        clock=_kiosk_clock,
    )
    context = PcscContext()

    def open_session() -> MyNumberCardSession:
        return MyNumberCardSession(context.open_card(args.reader), trust)

    runner = Runner(
        flow,
        kiosk_id=settings.kiosk_id,
        open_session=open_session,
        queue=outbox,
        sequence=RecordSequence(settings.data_dir),
        index=RegisteredHereIndex(settings.data_dir),
    )
    try:
        for event in (
            Start(),
            LanguageChosen(settings.language),
            ProgramChosen(program.id),
            ServicesChosen(services),
        ):
            runner.dispatch(event)
        if not args.yes:
            for service in services:
                terms = program.terms_for(service)
                _say(_TERMS_HEADING.format(lang, service=terms.name, version=terms.terms_version))
                _say(terms.terms.get(lang))
        for service in services:
            runner.dispatch(ConsentAccepted(service))
        state = runner.dispatch(_card_inserted())
        if state.phase is Phase.LAST_TRY_CONFIRM:
            if not args.allow_last_try:
                return _error(args, "last_try_refused", "the PIN has 1 try left: pass --allow-last-try", 1)
            state = runner.dispatch(LastTryConfirmed())
        if state.phase is Phase.PIN_ENTRY:
            state = runner.dispatch(PinSubmitted(pin, same_pin=card_info_pin is None))
        if state.phase is Phase.CARD_INFO_LAST_TRY_CONFIRM and state.held_pin is not None:
            if not args.allow_last_try:
                return _error(
                    args, "last_try_refused", "the card-info PIN has 1 try left: pass --allow-last-try", 1
                )
            state = runner.dispatch(LastTryConfirmed())
        if state.phase is Phase.CARD_INFO_PIN_ENTRY and state.held_pin is not None and card_info_pin:
            state = runner.dispatch(CardInfoPinSubmitted(card_info_pin))
        wipe(pin, card_info_pin)
        if state.phase in (
            Phase.PIN_ENTRY,
            Phase.LAST_TRY_CONFIRM,
            Phase.CARD_INFO_PIN_ENTRY,
            Phase.CARD_INFO_LAST_TRY_CONFIRM,
        ):
            # One attempt per run: a refused PIN is reported with its own counter, never retried.
            error = runner.last_card_error
            if isinstance(error, CardError):
                failure = classify(error)
                return _error(args, failure.code, failure.message, failure.tries_left)
            return _error(args, "pin_incorrect", "the PIN is incorrect", state.tries_left)
        if state.phase is Phase.CONFIRM and state.resident is not None:
            if not args.yes:
                r = state.resident
                _say(_NAME.format(lang, value=r.name) + "\n" + _ADDRESS.format(lang, value=r.address))
                _say(_BIRTH_DATE.format(lang, value=r.birth_date.isoformat()))
                _say(_SEX.format(lang, value=r.sex))
                _say(_CONFIRM.format(lang, yes="yes"))
                answer = read_secret_line(sys.stdin.buffer)
                agreed = bytes(answer).strip().lower() in _YES
                wipe(answer)
                if not agreed:
                    runner.dispatch(IdentityRejected())
                    return _error(args, "declined", "the resident did not confirm; nothing was written")
            state = runner.dispatch(IdentityConfirmed())
        if state.phase is Phase.ELIGIBILITY:
            state = runner.dispatch(Register())
        if state.phase is Phase.RECEIPT:
            return _result(args, state, program.id, services, lang)
        if state.phase is Phase.NOT_ELIGIBLE:
            _result(args, state, program.id, services, lang)
            return EXIT_NOT_ELIGIBLE
        kind = state.error
        if kind in (ErrorKind.CERTIFICATE_EXPIRED, ErrorKind.VERIFICATION_FAILED):
            assert kind is not None
            message = (
                "the card's authentication certificate has expired"
                if kind is ErrorKind.CERTIFICATE_EXPIRED
                else "the card did not pass local verification (chain, signature, integrity or genuineness)"
            )
            return _error(args, kind.value, message)
        if kind is ErrorKind.SAVE_FAILED:
            return _error(args, "queue_failed", f"the outbox refused the record ({runner.last_save_failure})")
        error = runner.last_card_error
        if isinstance(error, CardError):
            failure = classify(error)
            return _error(args, failure.code, failure.message, failure.tries_left)
        if kind is ErrorKind.PIN_BLOCKED:
            # Seen by the flow in the prefetched counters: no card error was raised, no try was used.
            return _error(args, "pin_blocked", "a PIN of this card is blocked; nothing was tried", 0)
        return _error(args, "card_removed", "the card was removed")
    finally:
        wipe(pin, card_info_pin)
        runner.close()
        outbox.close()
        context.close()


def _card_inserted() -> Any:
    """The terminal front-end has no watcher: the card is expected on the reader already."""
    from kiosk.flow.events import CardInserted

    return CardInserted()


def _kiosk_clock() -> Any:
    """The kiosk's wall clock, with the local UTC offset (records carry RFC 3339 with offset)."""
    import datetime as dt

    return dt.datetime.now().astimezone()


def _result(
    args: argparse.Namespace, state: Any, program_id: str, services: tuple[str, ...], lang: str
) -> int:
    eligibility = state.eligibility
    reasons = (
        [{"code": r.code.value, "ja": r.text.get("ja"), "en": r.text.get("en")} for r in eligibility.reasons]
        if eligibility is not None
        else []
    )
    queued = state.phase.value == "receipt"
    payload = {
        "registration_id": state.record_id if queued else None,
        "code": state.code if queued else None,
        "status": state.receipt_status if queued else "not_eligible",
        "program": program_id,
        "services": list(services),
        "eligibility": {"eligible": bool(eligibility and eligibility.eligible), "reasons": reasons},
    }
    if args.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    elif queued:
        sys.stdout.write(
            _REGISTERED.format(lang, code=state.code, record=state.record_id)
            + "\n"
            + (f"{eligibility.notice.get(lang)}\n" if eligibility else "")
        )
    else:
        lines = "".join(f"- {r.text.get(lang)}\n" for r in eligibility.reasons) if eligibility else ""
        sys.stdout.write(_NOT_ELIGIBLE.get(lang) + "\n" + lines)
    return EXIT_OK
