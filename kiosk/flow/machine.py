"""The machine: :class:`Flow` binds the settings, programmes, clock and id factory, and
``Flow.step(state, event) -> (state, effects)`` runs one handler per event type.

The rules it enforces are listed in :mod:`kiosk.flow` (and docs/flow.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from kiosk.errors import UnknownProgramError
from kiosk.flow.effects import (
    Alarm,
    CancelTimer,
    Effect,
    EndCardSession,
    HoldPin,
    Prefetch,
    RegistrationDraft,
    SaveRegistration,
    StartTimer,
    VerifyAndRead,
    WarnTimeout,
    Wipe,
)
from kiosk.flow.events import (
    Acknowledge,
    Back,
    Cancel,
    CardFailed,
    CardInfoPinSubmitted,
    CardInserted,
    CardRemoved,
    ConsentAccepted,
    ConsentDeclined,
    ConsentsDone,
    Event,
    Extend,
    IdentityConfirmed,
    IdentityRejected,
    LanguageChosen,
    LastTryConfirmed,
    PcscDown,
    PinRejected,
    PinSubmitted,
    PrefetchDone,
    ProgramChosen,
    ReadDone,
    ReaderBack,
    ReaderLost,
    Register,
    Saved,
    SaveFailed,
    ServicesChosen,
    Start,
    TimerFired,
)
from kiosk.flow.state import (
    BUSY_PHASES,
    CARD_PHASES,
    PIN_PHASES,
    RETRYABLE,
    TIMED_PHASES,
    CardFailure,
    ErrorKind,
    FlowState,
    Phase,
    PinSlot,
)
from kiosk.rules.eligibility import check_eligibility
from kiosk.rules.programs import Program
from kiosk.rules.record import Consent, new_record_id, registration_code
from kiosk.settings import KioskMode, Timeouts

_FAILURE_ERROR: Final = {
    CardFailure.CARD_REMOVED: ErrorKind.CARD_REMOVED,
    CardFailure.READER_LOST: ErrorKind.READER_LOST,
    CardFailure.PCSC_DOWN: ErrorKind.PCSC_DOWN,
    CardFailure.NOT_MY_NUMBER_CARD: ErrorKind.NOT_MY_NUMBER_CARD,
    CardFailure.PIN_BLOCKED: ErrorKind.PIN_BLOCKED,
    CardFailure.PIN_NOT_VERIFIED: ErrorKind.CARD_READ_FAILED,
    CardFailure.READ_FAILED: ErrorKind.CARD_READ_FAILED,
}


@dataclass(frozen=True)
class FlowSettings:
    """The parts of the kiosk profile the flow needs."""

    mode: KioskMode
    language: str
    program_id: str
    timeouts: Timeouts
    #: The Qt kiosk's path with fewer taps (docs/flow.md §2b): no programme screen when one
    #: programme is offered, one consent screen, and the eligibility result on the confirmation
    #: screen, whose "register" is the final confirmation. The terminal front-end keeps the long path.
    short_path: bool = False


class Flow:
    """The state machine, bound to its settings, programmes, clock and id factory.

    :param clock: returns the kiosk's aware wall-clock time (consents, record clock, eligibility).
    :param new_id: returns a fresh UUID4 for each record.
    """

    def __init__(
        self,
        settings: FlowSettings,
        programs: Mapping[str, Program],
        *,
        clock: Callable[[], datetime],
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        if settings.program_id not in programs:
            raise UnknownProgramError(f"the kiosk's default programme {settings.program_id!r} is not loaded")
        self.settings = settings
        self.programs = programs
        self.clock = clock
        self.new_id = new_id

    def initial(self) -> FlowState:
        """The attract screen with nothing in memory."""
        return FlowState(
            phase=Phase.IDLE, language=self.settings.language, program_id=self.settings.program_id
        )

    # The single entry point.
    def step(self, state: FlowState, event: Event) -> tuple[FlowState, list[Effect]]:
        """Apply ``event`` to ``state``; return the new state and the effects to execute."""
        handler = _HANDLERS.get(type(event))
        if handler is None:  # pragma: no cover - Event is a closed union
            return state, []
        new, effects = handler(self, state, event)
        return self._timers(state, new, effects)

    # -- helpers used by handlers ----------------------------------------------------------------

    def program(self, state: FlowState) -> Program:
        return self.programs[state.program_id]

    def fresh(self, state: FlowState, phase: Phase) -> FlowState:
        """A new session's state: nothing of the previous resident, counters kept monotonic."""
        return FlowState(
            phase=phase,
            language=self.settings.language,
            program_id=self.settings.program_id,
            card_present=state.card_present,
            stale_card=state.stale_card,
            card_session=state.card_session,
            reader_available=state.reader_available,
            timer=state.timer,
        )

    def end(self, state: FlowState) -> tuple[FlowState, list[Effect]]:
        """End the session: wipe; self-service kiosks insist on the card being taken."""
        effects: list[Effect] = [EndCardSession(), Wipe()]
        # A card left on the reader must be lifted before it can start another session.
        state = replace(state, stale_card=state.card_present)
        if state.card_present and self.settings.mode is KioskMode.SELF:
            return self.fresh(state, Phase.TAKE_CARD), effects
        return self.fresh(state, Phase.IDLE), effects

    def fail(self, state: FlowState, kind: ErrorKind) -> tuple[FlowState, list[Effect]]:
        """Show an error; anything personal is dropped first."""
        effects: list[Effect] = [EndCardSession()]
        if state.holds_personal_data:
            effects.append(Wipe())
        return (
            replace(
                _drop_card_data(state),
                phase=Phase.ERROR,
                error=kind,
                last_try_confirmed=False,
                pin_rejected=False,
            ),
            effects,
        )

    def wait_for_card(self, state: FlowState, phase: Phase) -> tuple[FlowState, list[Effect]]:
        """Go to WAIT_CARD / REINSERT, or straight to prefetch when a card is already there."""
        base = replace(
            _drop_card_data(state), phase=phase, error=None, pin_rejected=False, last_try_confirmed=False
        )
        if state.card_present and not state.stale_card and state.reader_available:
            session = state.card_session + 1
            return replace(base, phase=Phase.PREFETCH, card_session=session), [Prefetch(session)]
        return base, []

    def _timers(
        self, old: FlowState, new: FlowState, effects: list[Effect]
    ) -> tuple[FlowState, list[Effect]]:
        """Restart the inactivity timer on every phase change or user action; cancel it in busy
        phases. TimerFired/Extend manage the warning themselves."""
        if any(isinstance(e, StartTimer) for e in effects):
            return new, effects
        if new.phase is Phase.IDLE or new.phase in BUSY_PHASES:
            if old.phase is not new.phase and (old.phase in TIMED_PHASES or old.phase is Phase.TAKE_CARD):
                effects.append(CancelTimer())
            return replace(new, warning=False), effects
        if new.phase is Phase.TAKE_CARD:
            if old.phase is not Phase.TAKE_CARD:
                token = new.timer + 1
                effects.append(StartTimer(token, self.settings.timeouts.take_card_s))
                return replace(new, timer=token, warning=False), effects
            return new, effects
        if new == old:
            return new, effects  # nothing happened (ignored event): keep the running timer
        token = new.timer + 1
        effects.append(StartTimer(token, self.settings.timeouts.inactivity_s))
        return replace(new, timer=token, warning=False), effects


def _drop_card_data(state: FlowState) -> FlowState:
    return replace(
        state,
        resident=None,
        auth_certificate=None,
        verification=None,
        already_registered_here=False,
        eligibility=None,
        record_id=None,
        code=None,
        tries_left=None,
        auth_tries_left=None,
        card_info_tries_left=None,
        card_info_last_try_confirmed=False,
        held_pin=None,
    )


# --- handlers ------------------------------------------------------------------------------------

Result = tuple[FlowState, list[Effect]]


def _start(flow: Flow, s: FlowState, e: Start) -> Result:
    if s.phase is not Phase.IDLE:
        return s, []
    if e.language is not None:
        return _after_language(flow, replace(s, language=e.language))
    return replace(s, phase=Phase.LANGUAGE), []


def _after_language(flow: Flow, s: FlowState) -> Result:
    """The programme screen; on the short path with one programme straight to the one consent
    screen, the required services chosen (they cannot be unchosen) and the optional ones offered."""
    if flow.settings.short_path and len(flow.programs) == 1:
        required = tuple(sorted(flow.program(s).required_services))
        return replace(s, phase=Phase.CONSENT, services=required, consents=(), services_open=True), []
    return replace(s, phase=Phase.PROGRAM), []


def _language(flow: Flow, s: FlowState, e: LanguageChosen) -> Result:
    if s.phase is Phase.IDLE:
        return s, []
    if s.phase is Phase.LANGUAGE:
        return _after_language(flow, replace(s, language=e.language))
    return replace(s, language=e.language), []


def _program(flow: Flow, s: FlowState, e: ProgramChosen) -> Result:
    if s.phase is Phase.PROGRAM and e.program_id in flow.programs:
        return replace(s, program_id=e.program_id, services=(), consents=()), []
    return s, []


def _services(flow: Flow, s: FlowState, e: ServicesChosen) -> Result:
    if s.phase is not Phase.PROGRAM:
        return s, []
    program = flow.program(s)
    offered = {t.service for t in program.services}
    chosen = tuple(sorted(set(e.services)))
    if not chosen or not set(chosen) <= offered or not program.required_services <= set(chosen):
        return s, []  # the screen does not allow it; a scripted front-end gets no transition
    return replace(s, services=chosen, consents=(), phase=Phase.CONSENT), []


def _offers_optional(flow: Flow, s: FlowState) -> bool:
    """The one consent screen offers optional services: it ends with "next", not the last consent."""
    return s.services_open and any(not t.required for t in flow.program(s).services)


def _consent(flow: Flow, s: FlowState, e: ConsentAccepted) -> Result:
    if s.phase is not Phase.CONSENT:
        return s, []
    offered = {t.service for t in flow.program(s).services}
    if e.service not in s.services and not (s.services_open and e.service in offered):
        return s, []
    if any(c.service == e.service for c in s.consents):
        return s, []
    terms = flow.program(s).terms_for(e.service)
    consents = (*s.consents, Consent(e.service, terms.terms_version, flow.clock()))
    services = tuple(sorted({*s.services, e.service}))  # an optional service agreed to is chosen
    s = replace(s, consents=consents, services=services)
    if {c.service for c in consents} == set(s.services) and not _offers_optional(flow, s):
        return flow.wait_for_card(s, Phase.WAIT_CARD)
    return s, []


def _consents_done(flow: Flow, s: FlowState, e: ConsentsDone) -> Result:
    if s.phase is not Phase.CONSENT or not s.services_open:
        return s, []
    if not flow.program(s).required_services <= {c.service for c in s.consents}:
        return s, []  # the screen keeps "next" disabled until then
    return flow.wait_for_card(s, Phase.WAIT_CARD)


def _decline(flow: Flow, s: FlowState, e: ConsentDeclined) -> Result:
    if s.phase is Phase.CONSENT and s.services_open:
        return flow.fresh(s, Phase.IDLE), [Wipe()]  # no programme screen to go back to
    if s.phase is Phase.CONSENT:
        return replace(s, phase=Phase.PROGRAM, consents=()), []
    return s, []


_BACK: Final = {
    Phase.LANGUAGE: Phase.IDLE,
    Phase.PROGRAM: Phase.LANGUAGE,
    Phase.CONSENT: Phase.PROGRAM,
    Phase.WAIT_CARD: Phase.CONSENT,
}


def _back(flow: Flow, s: FlowState, e: Back) -> Result:
    target = _BACK.get(s.phase)
    if target is None:
        return s, []
    if target is Phase.PROGRAM and s.services_open:
        target = Phase.IDLE  # the short path had no programme screen
    if target is Phase.IDLE:
        return flow.fresh(s, Phase.IDLE), [Wipe()]
    return replace(
        s, phase=target, consents=() if target in (Phase.PROGRAM, Phase.CONSENT) else s.consents
    ), []


def _cancel(flow: Flow, s: FlowState, e: Cancel) -> Result:
    if s.phase in (Phase.IDLE, Phase.TAKE_CARD, Phase.SAVING):
        return s, []  # SAVING cannot be cancelled: the commit decides
    return flow.end(s)


def _inserted(flow: Flow, s: FlowState, e: CardInserted) -> Result:
    if s.card_present:
        return s, []
    s = replace(s, card_present=True)
    if s.phase in (Phase.WAIT_CARD, Phase.REINSERT) and s.reader_available:
        return flow.wait_for_card(s, s.phase)
    if s.phase in (Phase.RECEIPT, Phase.NOT_ELIGIBLE, Phase.ERROR, Phase.TAKE_CARD):
        # Someone else's card: a new session. Nothing of the previous one survives.
        effects: list[Effect] = [EndCardSession(), Wipe()] if s.phase is not Phase.TAKE_CARD else []
        if s.alarm:
            effects.append(Alarm(on=False))
        return flow.fresh(s, Phase.LANGUAGE), effects
    return s, []


def _removed(flow: Flow, s: FlowState, e: CardRemoved) -> Result:
    if not s.card_present:
        return s, []
    s = replace(s, card_present=False, stale_card=False)
    if s.phase in PIN_PHASES or s.phase in (Phase.PREFETCH, Phase.VERIFYING):
        return flow.fail(s, ErrorKind.CARD_REMOVED)
    if s.phase in (Phase.CONFIRM, Phase.ELIGIBILITY):
        # Signing needs the card and the PIN verified in this card session: tap again, PIN again.
        effects: list[Effect] = [EndCardSession(), Wipe()]
        return replace(
            _drop_card_data(s), phase=Phase.REINSERT, pin_rejected=False, last_try_confirmed=False
        ), effects
    if s.phase is Phase.TAKE_CARD:
        effects = [Alarm(on=False)] if s.alarm else []
        return replace(flow.fresh(s, Phase.IDLE), alarm=False), effects
    # SAVING: the driver reports whether the signature was made; RECEIPT/ERROR: nothing to do.
    return s, []


def _reader_lost(flow: Flow, s: FlowState, e: ReaderLost | PcscDown) -> Result:
    kind = ErrorKind.READER_LOST if isinstance(e, ReaderLost) else ErrorKind.PCSC_DOWN
    s = replace(s, reader_available=False, card_present=False, stale_card=False)
    if s.phase in CARD_PHASES:
        return flow.fail(s, kind)
    if s.phase is Phase.TAKE_CARD:
        return replace(flow.fresh(s, Phase.IDLE), alarm=False), [Alarm(on=False)] if s.alarm else []
    return s, []


def _reader_back(flow: Flow, s: FlowState, e: ReaderBack) -> Result:
    return replace(s, reader_available=True), []


def _prefetch_done(flow: Flow, s: FlowState, e: PrefetchDone) -> Result:
    if s.phase is not Phase.PREFETCH or e.card_session != s.card_session:
        return s, []
    auth = e.tries_left if e.auth_tries_left is None else e.auth_tries_left
    card_info = e.tries_left if e.card_info_tries_left is None else e.card_info_tries_left
    s = replace(s, auth_tries_left=auth, card_info_tries_left=card_info)
    if min(e.tries_left, auth, card_info) <= 0:
        return flow.fail(s, ErrorKind.PIN_BLOCKED)
    return _ask_pin(s, min(e.tries_left, auth, card_info))


def _ask_pin(s: FlowState, tries: int) -> Result:
    """The PIN screen (auth PIN, or the one PIN), behind the last-try screen at 1 try left."""
    if tries == 1 and not s.last_try_confirmed:
        return replace(s, phase=Phase.LAST_TRY_CONFIRM, tries_left=1), []
    return replace(s, phase=Phase.PIN_ENTRY, tries_left=tries), []


def _ask_card_info_pin(s: FlowState) -> Result:
    """The card-info PIN screen with that PIN's own counter and last-try rule."""
    tries = s.card_info_tries_left if s.card_info_tries_left is not None else 1
    if tries == 1 and not s.card_info_last_try_confirmed:
        return replace(s, phase=Phase.CARD_INFO_LAST_TRY_CONFIRM, tries_left=1), []
    return replace(s, phase=Phase.CARD_INFO_PIN_ENTRY, tries_left=tries), []


def _card_failed(flow: Flow, s: FlowState, e: CardFailed) -> Result:
    if e.card_session != s.card_session or s.phase not in (Phase.PREFETCH, Phase.VERIFYING):
        return s, []
    if e.failure is CardFailure.CARD_REMOVED:
        s = replace(s, card_present=False)
    return flow.fail(s, _FAILURE_ERROR[e.failure])


def _last_try(flow: Flow, s: FlowState, e: LastTryConfirmed) -> Result:
    if s.phase is Phase.LAST_TRY_CONFIRM:
        return replace(s, phase=Phase.PIN_ENTRY, last_try_confirmed=True), []
    if s.phase is Phase.CARD_INFO_LAST_TRY_CONFIRM:
        return replace(s, phase=Phase.CARD_INFO_PIN_ENTRY, card_info_last_try_confirmed=True), []
    return s, []


def _allow_last_try(s: FlowState) -> bool:
    """The card layer takes one permission; the flow only gets here once every PIN at 1 try that
    will be tried was confirmed on its own screen."""
    return s.last_try_confirmed or s.card_info_last_try_confirmed


def _pin(flow: Flow, s: FlowState, e: PinSubmitted) -> Result:
    if s.phase is not Phase.PIN_ENTRY:
        e.pin[:] = bytes(len(e.pin))  # not wanted here: zero it, keep nothing
        return s, []
    if s.held_pin is PinSlot.CARD_INFO:
        # The card-info PIN is already known (typed on its screen, or it verified): verify both now.
        effect = VerifyAndRead(s.card_session, e.pin, _allow_last_try(s), same_pin=False)
        return replace(s, phase=Phase.VERIFYING, pin_rejected=False, held_pin=None), [effect]
    if e.same_pin:
        effect = VerifyAndRead(s.card_session, e.pin, _allow_last_try(s))
        return replace(s, phase=Phase.VERIFYING, pin_rejected=False), [effect]
    # "My two PINs differ": keep this one in the driver and ask for the card-info PIN first.
    hold = HoldPin(s.card_session, PinSlot.AUTH, e.pin)
    state, effects = _ask_card_info_pin(replace(s, pin_rejected=False, held_pin=PinSlot.AUTH))
    return state, [hold, *effects]


def _card_info_pin(flow: Flow, s: FlowState, e: CardInfoPinSubmitted) -> Result:
    if s.phase is not Phase.CARD_INFO_PIN_ENTRY:
        e.pin[:] = bytes(len(e.pin))
        return s, []
    if s.held_pin is PinSlot.AUTH:
        effect = VerifyAndRead(s.card_session, None, _allow_last_try(s), card_info_pin=e.pin, same_pin=False)
        return replace(s, phase=Phase.VERIFYING, pin_rejected=False, held_pin=None), [effect]
    if e.same_pin:
        effect = VerifyAndRead(s.card_session, e.pin, _allow_last_try(s))
        return replace(s, phase=Phase.VERIFYING, pin_rejected=False), [effect]
    # The card-info PIN came first (after the card-info AP refused "the same" PIN): now the auth PIN.
    hold = HoldPin(s.card_session, PinSlot.CARD_INFO, e.pin)
    auth = s.auth_tries_left if s.auth_tries_left is not None else 1
    state, effects = _ask_pin(replace(s, pin_rejected=False, held_pin=PinSlot.CARD_INFO), auth)
    return state, [hold, *effects]


def _pin_rejected(flow: Flow, s: FlowState, e: PinRejected) -> Result:
    if s.phase is not Phase.VERIFYING or e.card_session != s.card_session:
        return s, []
    if e.tries_left <= 0:
        return flow.fail(s, ErrorKind.PIN_BLOCKED)
    s = replace(s, pin_rejected=True, held_pin=e.held)
    if e.pin is PinSlot.CARD_INFO:
        s = replace(s, card_info_tries_left=e.tries_left, card_info_last_try_confirmed=False)
        return _ask_card_info_pin(s)
    s = replace(s, auth_tries_left=e.tries_left, last_try_confirmed=False)
    shown = e.tries_left
    if e.held is not PinSlot.CARD_INFO and s.card_info_tries_left is not None:
        shown = min(shown, s.card_info_tries_left)  # "the same PIN" again would hit both counters
    return _ask_pin(s, shown)


def _read_done(flow: Flow, s: FlowState, e: ReadDone) -> Result:
    if s.phase is not Phase.VERIFYING or e.card_session != s.card_session:
        return s, []
    if e.certificate_expired:
        return flow.fail(s, ErrorKind.CERTIFICATE_EXPIRED)
    v = e.verification
    if not (v.chain and v.signature and v.integrity and v.genuine_card):
        return flow.fail(s, ErrorKind.VERIFICATION_FAILED)
    if flow.settings.short_path:
        # One screen: the basic four and the kiosk-side result; its "register" confirms both.
        result = check_eligibility(
            flow.program(s),
            address=e.resident.address,
            birth_date=e.resident.birth_date,
            services=s.services,
            now=flow.clock(),
            already_registered_here=e.already_registered_here,
        )
        if not result.eligible:
            state, effects = flow.fail(s, ErrorKind.NOT_ELIGIBLE)
            return replace(state, phase=Phase.NOT_ELIGIBLE, eligibility=result), effects
        s = replace(s, eligibility=result)
    return (
        replace(
            s,
            phase=Phase.CONFIRM,
            resident=e.resident,
            auth_certificate=e.auth_certificate,
            verification=v,
            already_registered_here=e.already_registered_here,
            tries_left=None,
            pin_rejected=False,
            held_pin=None,
        ),
        [],
    )


def _identity_ok(flow: Flow, s: FlowState, e: IdentityConfirmed) -> Result:
    if s.phase is not Phase.CONFIRM or s.resident is None:
        return s, []
    result = check_eligibility(
        flow.program(s),
        address=s.resident.address,
        birth_date=s.resident.birth_date,
        services=s.services,
        now=flow.clock(),
        already_registered_here=s.already_registered_here,
    )
    if not result.eligible:
        state, effects = flow.fail(s, ErrorKind.NOT_ELIGIBLE)
        return replace(state, phase=Phase.NOT_ELIGIBLE, eligibility=result), effects
    return replace(s, phase=Phase.ELIGIBILITY, eligibility=result), []


def _identity_wrong(flow: Flow, s: FlowState, e: IdentityRejected) -> Result:
    if s.phase is Phase.CONFIRM:
        return flow.fail(s, ErrorKind.IDENTITY_REJECTED)
    return s, []


def _register(flow: Flow, s: FlowState, e: Register) -> Result:
    on_confirm = s.phase is Phase.CONFIRM and flow.settings.short_path  # the one confirmation screen
    if not (s.phase is Phase.ELIGIBILITY or on_confirm) or s.resident is None or s.auth_certificate is None:
        return s, []
    if s.verification is None or s.eligibility is None or not s.eligibility.eligible:
        return s, []
    record_id = new_record_id(flow.new_id)
    draft = RegistrationDraft(
        record_id=record_id,
        program_id=s.program_id,
        consents=s.consents,
        resident=s.resident,
        auth_certificate=s.auth_certificate,
        verification=s.verification,
        clock=flow.clock(),
    )
    state = replace(s, phase=Phase.SAVING, record_id=str(record_id), code=registration_code(record_id))
    return state, [SaveRegistration(s.card_session, draft)]


def _saved(flow: Flow, s: FlowState, e: Saved) -> Result:
    if s.phase is not Phase.SAVING or e.card_session != s.card_session or e.record_id != s.record_id:
        return s, []
    # The receipt keeps the code and status only; the basic four leave memory now.
    state = replace(
        s,
        phase=Phase.RECEIPT,
        resident=None,
        auth_certificate=None,
        verification=None,
        receipt_status=e.status,
    )
    return state, [EndCardSession()]


def _save_failed(flow: Flow, s: FlowState, e: SaveFailed) -> Result:
    if s.phase is not Phase.SAVING or e.card_session != s.card_session:
        return s, []
    if e.failure in (CardFailure.CARD_REMOVED, CardFailure.PIN_NOT_VERIFIED):
        # Nothing was written; the signature needs the card and the PIN again.
        card_present = s.card_present and e.failure is not CardFailure.CARD_REMOVED
        state = replace(_drop_card_data(s), phase=Phase.REINSERT, card_present=card_present)
        effects: list[Effect] = [EndCardSession(), Wipe()]
        if card_present:
            state, more = flow.wait_for_card(state, Phase.REINSERT)
            effects += more
        return state, effects
    if e.failure is not None:
        return flow.fail(replace(s, card_present=s.card_present), _FAILURE_ERROR[e.failure])
    return flow.fail(s, ErrorKind.SAVE_FAILED)


def _ack(flow: Flow, s: FlowState, e: Acknowledge) -> Result:
    if s.phase is Phase.ERROR and s.error in RETRYABLE and s.reader_available:
        return flow.wait_for_card(replace(s, error=None), Phase.WAIT_CARD)
    if s.phase is Phase.ERROR and s.error is ErrorKind.NOT_MY_NUMBER_CARD and s.reader_available:
        # "try another card" (issue 13): choices kept; the card still on the reader is not a My
        # Number Card, so it is stale: only a card placed after it is lifted is read
        return flow.wait_for_card(replace(s, error=None, stale_card=s.card_present), Phase.WAIT_CARD)
    if s.phase in (Phase.RECEIPT, Phase.ERROR, Phase.NOT_ELIGIBLE):
        return flow.end(s)
    return s, []


def _extend(flow: Flow, s: FlowState, e: Extend) -> Result:
    if not s.warning or s.extensions_used >= flow.settings.timeouts.max_extensions:
        return s, []
    token = s.timer + 1
    state = replace(s, warning=False, extensions_used=s.extensions_used + 1, timer=token)
    return state, [StartTimer(token, flow.settings.timeouts.inactivity_s)]


def _timer(flow: Flow, s: FlowState, e: TimerFired) -> Result:
    if e.token != s.timer:
        return s, []
    if s.phase is Phase.TAKE_CARD:
        return (replace(s, alarm=True), [Alarm(on=True)]) if not s.alarm else (s, [])
    if s.phase not in TIMED_PHASES:
        return s, []
    if not s.warning and s.extensions_used < flow.settings.timeouts.max_extensions:
        token = s.timer + 1
        seconds = flow.settings.timeouts.warning_s
        return replace(s, warning=True, timer=token), [StartTimer(token, seconds), WarnTimeout(seconds)]
    # No answer to the warning (or no extension left): wipe everything.
    return flow.end(s)


_HANDLERS: Final[dict[type, Callable[[Flow, FlowState, Any], Result]]] = {
    Start: _start,
    LanguageChosen: _language,
    ProgramChosen: _program,
    ServicesChosen: _services,
    ConsentAccepted: _consent,
    ConsentsDone: _consents_done,
    ConsentDeclined: _decline,
    Back: _back,
    Cancel: _cancel,
    CardInserted: _inserted,
    CardRemoved: _removed,
    ReaderLost: _reader_lost,
    PcscDown: _reader_lost,
    ReaderBack: _reader_back,
    PrefetchDone: _prefetch_done,
    CardFailed: _card_failed,
    LastTryConfirmed: _last_try,
    PinSubmitted: _pin,
    CardInfoPinSubmitted: _card_info_pin,
    PinRejected: _pin_rejected,
    ReadDone: _read_done,
    IdentityConfirmed: _identity_ok,
    IdentityRejected: _identity_wrong,
    Register: _register,
    Saved: _saved,
    SaveFailed: _save_failed,
    Acknowledge: _ack,
    Extend: _extend,
    TimerFired: _timer,
}
