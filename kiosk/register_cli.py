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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from kiosk.i18n import Message

if TYPE_CHECKING:
    from card.trust import TrustStore
    from kiosk.flow.machine import Flow
    from kiosk.flow.state import FlowState
    from kiosk.rules.programs import Program
    from kiosk.runner import Runner
    from kiosk.settings import KioskSettings

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


@dataclass(frozen=True)
class _Plan:
    """One run's checked inputs: the profile, its programmes, the chosen programme and services."""

    settings: KioskSettings
    programs: Mapping[str, Program]
    program: Program
    services: tuple[str, ...]
    trust: TrustStore

    @property
    def lang(self) -> str:
        return self.settings.language


def _handle(args: argparse.Namespace) -> int:
    """Check the inputs, take the outbox and the card stack from the composition root, read the
    PIN lines, run one registration, and release everything (PINs wiped) whatever happened."""
    from card.cli import read_secret_line
    from card.pin import wipe
    from kiosk import composition
    from sync.errors import NotEnrolledError, SyncError

    plan = _plan(args)
    if isinstance(plan, int):
        return plan
    try:
        outbox = composition.open_sealing_outbox(plan.settings)
    except SyncError as exc:
        code = "not_enrolled" if isinstance(exc, NotEnrolledError) else "queue_failed"
        return _error(args, code, str(exc))
    pin: bytearray | None = None
    card_info_pin: bytearray | None = None
    cards: composition.CardStack | None = None
    runner: Runner | None = None
    try:  # from the first PIN byte on: whatever fails, the PINs are wiped and everything closed
        pin = read_secret_line(sys.stdin.buffer)
        card_info_pin = read_secret_line(sys.stdin.buffer) if args.card_info_pin_stdin else None
        cards = composition.CardStack.on_pcsc(plan.trust, args.reader)
        runner = composition.build_runner(plan.settings, _flow(plan), cards, outbox)
        return _register(args, plan, runner, pin, card_info_pin)
    finally:
        wipe(pin, card_info_pin)
        if runner is not None:
            runner.close()
        outbox.close()
        if cards is not None:
            cards.close()


def _plan(args: argparse.Namespace) -> _Plan | int:
    """The profile, programmes and trust store, and the programme and services asked for; an exit
    code (``config`` / ``usage``) when one of them is wrong. Nothing is opened yet."""
    from card.errors import TrustConfigError
    from kiosk import composition
    from kiosk.errors import ConfigError
    from kiosk.rules.programs import load_programs
    from kiosk.settings import load_settings

    try:
        settings = load_settings(Path(args.config) if args.config else None)
        programs = load_programs(settings.programs_dir)
        trust = composition.load_trust(settings.path)
    except (ConfigError, TrustConfigError) as exc:
        return _error(args, "config", str(exc))
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
    return _Plan(settings, programs, program, services, trust)


def _flow(plan: _Plan) -> Flow:
    from kiosk.flow.machine import Flow, FlowSettings

    settings = plan.settings
    return Flow(
        FlowSettings(
            mode=settings.mode,
            language=settings.language,
            program_id=plan.program.id,
            timeouts=settings.timeouts,
        ),
        plan.programs,
        clock=_kiosk_clock,
    )


def _register(
    args: argparse.Namespace, plan: _Plan, runner: Runner, pin: bytearray, card_info_pin: bytearray | None
) -> int:
    """The flow from the start to its last screen: choices and terms, PINs, confirmation, result."""
    from card.pin import wipe
    from kiosk.flow.events import IdentityConfirmed, Register
    from kiosk.flow.state import Phase

    _choose(args, plan, runner)
    state = _verify(args, runner, pin, card_info_pin)
    wipe(pin, card_info_pin)
    if isinstance(state, int):
        return state
    if state.phase in (
        Phase.PIN_ENTRY,
        Phase.LAST_TRY_CONFIRM,
        Phase.CARD_INFO_PIN_ENTRY,
        Phase.CARD_INFO_LAST_TRY_CONFIRM,
    ):
        return _pin_refused(args, runner, state)
    if state.phase is Phase.CONFIRM and state.resident is not None:
        if not args.yes and not _confirmed(plan, state):
            from kiosk.flow.events import IdentityRejected

            runner.dispatch(IdentityRejected())
            return _error(args, "declined", "the resident did not confirm; nothing was written")
        state = runner.dispatch(IdentityConfirmed())
    if state.phase is Phase.ELIGIBILITY:
        state = runner.dispatch(Register())
    return _outcome(args, plan, runner, state)


def _choose(args: argparse.Namespace, plan: _Plan, runner: Runner) -> None:
    """Start, language, programme, services; the terms shown (unless ``--yes``) and accepted."""
    from kiosk.flow.events import ConsentAccepted, LanguageChosen, ProgramChosen, ServicesChosen, Start

    for event in (
        Start(),
        LanguageChosen(plan.lang),
        ProgramChosen(plan.program.id),
        ServicesChosen(plan.services),
    ):
        runner.dispatch(event)
    if not args.yes:
        for service in plan.services:
            terms = plan.program.terms_for(service)
            _say(_TERMS_HEADING.format(plan.lang, service=terms.name, version=terms.terms_version))
            _say(terms.terms.get(plan.lang))
    for service in plan.services:
        runner.dispatch(ConsentAccepted(service))


def _verify(
    args: argparse.Namespace, runner: Runner, pin: bytearray, card_info_pin: bytearray | None
) -> FlowState | int:
    """The card on the reader, then the PIN(s): one attempt each, the last try only with
    ``--allow-last-try`` (else its exit code)."""
    from kiosk.flow.events import CardInfoPinSubmitted, LastTryConfirmed, PinSubmitted
    from kiosk.flow.state import Phase

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
    return state


def _pin_refused(args: argparse.Namespace, runner: Runner, state: FlowState) -> int:
    """One attempt per run: a refused PIN is reported with its own counter, never retried."""
    from card.cli import classify
    from card.errors import CardError

    error = runner.last_card_error
    if isinstance(error, CardError):
        failure = classify(error)
        return _error(args, failure.code, failure.message, failure.tries_left)
    return _error(args, "pin_incorrect", "the PIN is incorrect", state.tries_left)


def _confirmed(plan: _Plan, state: FlowState) -> bool:
    """The basic four on standard error, and the resident's ``yes`` on standard input."""
    from card.cli import read_secret_line
    from card.pin import wipe

    r = state.resident
    assert r is not None
    lang = plan.lang
    _say(_NAME.format(lang, value=r.name) + "\n" + _ADDRESS.format(lang, value=r.address))
    _say(_BIRTH_DATE.format(lang, value=r.birth_date.isoformat()))
    _say(_SEX.format(lang, value=r.sex))
    _say(_CONFIRM.format(lang, yes="yes"))
    answer = read_secret_line(sys.stdin.buffer)
    agreed = bytes(answer).strip().lower() in _YES
    wipe(answer)
    return agreed


def _outcome(args: argparse.Namespace, plan: _Plan, runner: Runner, state: FlowState) -> int:
    """The last screen as a result object (receipt, not eligible) or an error and its exit code."""
    from card.cli import classify
    from card.errors import CardError
    from kiosk.flow.state import ErrorKind, Phase

    if state.phase is Phase.RECEIPT:
        return _result(args, state, plan.program.id, plan.services, plan.lang)
    if state.phase is Phase.NOT_ELIGIBLE:
        _result(args, state, plan.program.id, plan.services, plan.lang)
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
