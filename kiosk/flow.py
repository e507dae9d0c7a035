"""The kiosk flow: a pure state machine, ``Flow.step(state, event) -> (state, effects)``.

Everything a front-end (Qt, terminal, tests) needs is in :class:`FlowState`; everything the outside
world must do is an effect (plain data) that a driver executes (:mod:`kiosk.runner`), feeding the
outcome back as an event. No Qt, no I/O, no threads: time (the wall clock) and record ids are
injected, and timeouts are timer effects whose expiry comes back as :class:`TimerFired`.

Rules this module enforces (docs/flow.md):

* Nothing personal exists before the card is read, and personal data (basic four, certificate) lives
  only in CONFIRM, ELIGIBILITY and SAVING. Every session end emits :class:`Wipe`.
* The PIN never enters the state: :class:`PinSubmitted` hands the ``bytearray`` straight to the
  :class:`VerifyAndRead` (or :class:`HoldPin`) effect, whose executor zeroes it. Staff screens
  therefore cannot show it.
* Two PINs: the auth PIN and the card-info PIN may differ. The PIN screen offers "same" (default) or
  "different"; a separate card-info PIN screen (with its own tries and last-try rule) is shown when
  the resident says they differ or when the card-info VERIFY refuses the PIN. No VERIFY is retried.
* Every interactive state has an inactivity timer, then a warning with at least 20 s to extend
  (``max_extensions`` times), then a wipe.
* Card removal is handled in every state; a card inserted into a finished or failed session starts
  a new session (nothing of the previous resident survives).
* Results from the driver carry the card-session token; stale ones (an old card) are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum, unique
from typing import Any, Final

from kiosk.errors import UnknownProgramError
from kiosk.rules.eligibility import Eligibility, check_eligibility
from kiosk.rules.programs import Program
from kiosk.rules.record import Consent, Resident, Verification, new_record_id, registration_code
from kiosk.settings import KioskMode, Timeouts

# --- states --------------------------------------------------------------------------------------


@unique
class Phase(Enum):
    """Where the resident is. The UI has one screen per phase."""

    IDLE = "idle"  # attract screen, no session
    LANGUAGE = "language"
    PROGRAM = "program"  # programme explanation and service choice
    CONSENT = "consent"  # terms of each chosen service
    WAIT_CARD = "wait_card"
    PREFETCH = "prefetch"  # busy: PIN-free reads (tries left, certificate, challenge)
    LAST_TRY_CONFIRM = "last_try_confirm"  # 1 try left: explain the lock-out, ask to go on
    PIN_ENTRY = "pin_entry"  # the auth PIN (or "the PIN" when the resident says both are the same)
    CARD_INFO_LAST_TRY_CONFIRM = "card_info_last_try_confirm"  # the card-info PIN has 1 try left
    CARD_INFO_PIN_ENTRY = "card_info_pin_entry"  # the card-info (券面事項入力補助AP) PIN
    VERIFYING = "verifying"  # busy: VERIFY, read the basic four, local verification
    CONFIRM = "confirm"  # the basic four: "this is me"
    ELIGIBILITY = "eligibility"  # preliminary result; "register" is the final confirmation
    SAVING = "saving"  # busy: card signs the record, the outbox stores it
    RECEIPT = "receipt"
    REINSERT = "reinsert"  # the card left before saving: tap again, PIN again
    NOT_ELIGIBLE = "not_eligible"
    ERROR = "error"
    TAKE_CARD = "take_card"  # self-service: the card must be taken before the next resident


BUSY_PHASES: Final = frozenset({Phase.PREFETCH, Phase.VERIFYING, Phase.SAVING})
#: Phases in which a card session (and the card) is in use.
CARD_PHASES: Final = frozenset(
    {
        Phase.PREFETCH,
        Phase.LAST_TRY_CONFIRM,
        Phase.PIN_ENTRY,
        Phase.CARD_INFO_LAST_TRY_CONFIRM,
        Phase.CARD_INFO_PIN_ENTRY,
        Phase.VERIFYING,
        Phase.CONFIRM,
        Phase.ELIGIBILITY,
    }
)
#: Phases in which the card is in use but nothing was read with a PIN yet (removal: error screen).
PIN_PHASES: Final = frozenset(
    {
        Phase.LAST_TRY_CONFIRM,
        Phase.PIN_ENTRY,
        Phase.CARD_INFO_LAST_TRY_CONFIRM,
        Phase.CARD_INFO_PIN_ENTRY,
    }
)
#: The only phases in which personal data may be held.
PERSONAL_PHASES: Final = frozenset({Phase.CONFIRM, Phase.ELIGIBILITY, Phase.SAVING})
#: Phases with an inactivity timer (warning, extension, wipe).
TIMED_PHASES: Final = frozenset(
    {
        Phase.LANGUAGE,
        Phase.PROGRAM,
        Phase.CONSENT,
        Phase.WAIT_CARD,
        Phase.LAST_TRY_CONFIRM,
        Phase.PIN_ENTRY,
        Phase.CARD_INFO_LAST_TRY_CONFIRM,
        Phase.CARD_INFO_PIN_ENTRY,
        Phase.CONFIRM,
        Phase.ELIGIBILITY,
        Phase.RECEIPT,
        Phase.REINSERT,
        Phase.NOT_ELIGIBLE,
        Phase.ERROR,
    }
)


@unique
class ErrorKind(Enum):
    """Every error screen."""

    CARD_REMOVED = "card_removed"
    READER_LOST = "reader_lost"
    PCSC_DOWN = "pcsc_down"
    NOT_MY_NUMBER_CARD = "not_my_number_card"
    CARD_READ_FAILED = "card_read_failed"
    PIN_INCORRECT = "pin_incorrect"  # shown on the PIN screen with the tries left
    PIN_LAST_TRY = "pin_last_try"  # shown as LAST_TRY_CONFIRM
    PIN_BLOCKED = "pin_blocked"
    CERTIFICATE_EXPIRED = "certificate_expired"
    VERIFICATION_FAILED = "verification_failed"
    NOT_ELIGIBLE = "not_eligible"  # shown as NOT_ELIGIBLE
    IDENTITY_REJECTED = "identity_rejected"  # "this is not me / data wrong": go to the counter
    SAVE_FAILED = "save_failed"


#: Errors after which the same resident may simply try again (back to waiting for the card).
RETRYABLE: Final = frozenset(
    {ErrorKind.CARD_REMOVED, ErrorKind.READER_LOST, ErrorKind.PCSC_DOWN, ErrorKind.CARD_READ_FAILED}
)


@unique
class CardFailure(Enum):
    """What the driver reports when card work fails (mapped from ``card.errors``)."""

    CARD_REMOVED = "card_removed"
    READER_LOST = "reader_lost"
    PCSC_DOWN = "pcsc_down"
    NOT_MY_NUMBER_CARD = "not_my_number_card"
    PIN_BLOCKED = "pin_blocked"
    PIN_NOT_VERIFIED = "pin_not_verified"
    READ_FAILED = "read_failed"


_FAILURE_ERROR: Final = {
    CardFailure.CARD_REMOVED: ErrorKind.CARD_REMOVED,
    CardFailure.READER_LOST: ErrorKind.READER_LOST,
    CardFailure.PCSC_DOWN: ErrorKind.PCSC_DOWN,
    CardFailure.NOT_MY_NUMBER_CARD: ErrorKind.NOT_MY_NUMBER_CARD,
    CardFailure.PIN_BLOCKED: ErrorKind.PIN_BLOCKED,
    CardFailure.PIN_NOT_VERIFIED: ErrorKind.CARD_READ_FAILED,
    CardFailure.READ_FAILED: ErrorKind.CARD_READ_FAILED,
}


@unique
class PinSlot(Enum):
    """Which of the card's two 4-digit PINs a screen, a rejection or a held buffer is about."""

    AUTH = "auth"  # JPKI user-authentication PIN (利用者証明用電子証明書)
    CARD_INFO = "card_info"  # 券面事項入力補助用暗証番号


@dataclass(frozen=True)
class FlowState:
    """The whole flow state. Personal fields are excluded from ``repr``."""

    phase: Phase
    language: str
    program_id: str
    services: tuple[str, ...] = ()
    consents: tuple[Consent, ...] = ()
    card_present: bool = False
    stale_card: bool = False  # the card on the reader belongs to an ended session
    card_session: int = 0
    reader_available: bool = True
    tries_left: int | None = None  # what the current PIN / last-try screen shows
    auth_tries_left: int | None = None
    card_info_tries_left: int | None = None
    last_try_confirmed: bool = False  # for the PIN_ENTRY PIN (both counters when "same")
    card_info_last_try_confirmed: bool = False
    pin_rejected: bool = False
    #: The PIN the driver holds for the next VERIFY (typed on the other screen); never the PIN itself.
    held_pin: PinSlot | None = None
    resident: Resident | None = field(default=None, repr=False)
    auth_certificate: bytes | None = field(default=None, repr=False)
    verification: Verification | None = None
    already_registered_here: bool = False
    #: Short path: no programme screen came before the consent screen, so the optional services
    #: are offered there (agreeing to one registers it); ``services`` starts with the required ones.
    services_open: bool = False
    eligibility: Eligibility | None = None
    record_id: str | None = None
    code: str | None = None
    receipt_status: str | None = None
    error: ErrorKind | None = None
    timer: int = 0
    warning: bool = False
    extensions_used: int = 0
    alarm: bool = False

    @property
    def holds_personal_data(self) -> bool:
        """Whether anything read from the card is still in the state."""
        return self.resident is not None or self.auth_certificate is not None


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The resident (or staff) touched the attract screen; with ``language``, one of its language
    buttons: the session starts in that language and the language page is skipped."""

    language: str | None = None


@dataclass(frozen=True)
class LanguageChosen:
    """A language button; available on every screen."""

    language: str


@dataclass(frozen=True)
class ProgramChosen:
    """Another programme than the kiosk's default."""

    program_id: str


@dataclass(frozen=True)
class ServicesChosen:
    """The services to register."""

    services: tuple[str, ...]


@dataclass(frozen=True)
class ConsentAccepted:
    """The terms of ``service`` (at the programme's current version) were accepted."""

    service: str


@dataclass(frozen=True)
class ConsentsDone:
    """The one consent screen's "next" (short path, a programme with optional services): every
    required service has its consent; the optional ones agreed to are registered too."""


@dataclass(frozen=True)
class ConsentDeclined:
    """The terms were declined: back to the service choice."""


@dataclass(frozen=True)
class Back:
    """One screen back (before the card is read)."""


@dataclass(frozen=True)
class Cancel:
    """The resident ends the session."""


@dataclass(frozen=True)
class CardInserted:
    """The watcher saw a card on the reader."""


@dataclass(frozen=True)
class CardRemoved:
    """The watcher saw the card leave."""


@dataclass(frozen=True)
class ReaderLost:
    """The reader disappeared."""


@dataclass(frozen=True)
class PcscDown:
    """The PC/SC service went away."""


@dataclass(frozen=True)
class ReaderBack:
    """Reader and PC/SC are available again."""


@dataclass(frozen=True)
class PrefetchDone:
    """PIN-free reads finished; ``tries_left`` is the lower of the two PINs' counters, and the
    separate counters are given when known (None: the same as ``tries_left``)."""

    card_session: int
    tries_left: int
    auth_tries_left: int | None = None
    card_info_tries_left: int | None = None


@dataclass(frozen=True)
class CardFailed:
    """Card work failed (prefetch, verify/read or signing)."""

    card_session: int
    failure: CardFailure


@dataclass(frozen=True)
class LastTryConfirmed:
    """The resident understood the lock-out risk and wants to enter the PIN."""


@dataclass(frozen=True)
class PinSubmitted:
    """The PIN from the resident-facing pad. The flow passes it on and never keeps it.

    ``same_pin`` is the choice on the PIN screen: True (the default) means the resident uses this
    PIN for the card-info application too; False means the card-info PIN is asked next."""

    pin: bytearray = field(repr=False)
    same_pin: bool = True


@dataclass(frozen=True)
class CardInfoPinSubmitted:
    """The card-info PIN from the resident-facing pad (the card-info PIN screen).

    ``same_pin`` (only offered when no auth PIN is held, i.e. after the card-info AP refused "the
    same" PIN): "this is my auth PIN too" -- the resident mistyped, one entry verifies both."""

    pin: bytearray = field(repr=False)
    same_pin: bool = False


@dataclass(frozen=True)
class PinRejected:
    """VERIFY (or the local format / last-try check) refused ``pin``; ``tries_left`` is its counter.

    ``held`` says which other PIN the driver kept for the next VERIFY: one that verified in this
    read, or one typed on its own screen and not tried yet. Never a PIN typed as "the same" that
    the other application refused (it may be a typo)."""

    card_session: int
    tries_left: int
    pin: PinSlot = PinSlot.AUTH
    held: PinSlot | None = None


@dataclass(frozen=True)
class ReadDone:
    """The basic four were read and verified locally."""

    card_session: int
    resident: Resident = field(repr=False)
    auth_certificate: bytes = field(repr=False)
    verification: Verification
    certificate_expired: bool
    already_registered_here: bool


@dataclass(frozen=True)
class IdentityConfirmed:
    """ "This is me, the data is right."""


@dataclass(frozen=True)
class IdentityRejected:
    """ "This is not me / the data is wrong": the kiosk sends the resident to the counter."""


@dataclass(frozen=True)
class Register:
    """The final confirmation: sign and queue."""


@dataclass(frozen=True)
class Saved:
    """The record and its card signature are in the outbox (committed)."""

    card_session: int
    record_id: str
    status: str = "queued"


@dataclass(frozen=True)
class SaveFailed:
    """Nothing was written: the card could not sign, or the outbox refused."""

    card_session: int
    failure: CardFailure | None  # None: the outbox failed


@dataclass(frozen=True)
class Acknowledge:
    """ "OK" on a receipt, error or result screen."""


@dataclass(frozen=True)
class Extend:
    """ "I need more time" on the timeout warning."""


@dataclass(frozen=True)
class TimerFired:
    """A :class:`StartTimer` expired; stale tokens are ignored."""

    token: int


Event = (
    Start
    | LanguageChosen
    | ProgramChosen
    | ServicesChosen
    | ConsentAccepted
    | ConsentsDone
    | ConsentDeclined
    | Back
    | Cancel
    | CardInserted
    | CardRemoved
    | ReaderLost
    | PcscDown
    | ReaderBack
    | PrefetchDone
    | CardFailed
    | LastTryConfirmed
    | PinSubmitted
    | CardInfoPinSubmitted
    | PinRejected
    | ReadDone
    | IdentityConfirmed
    | IdentityRejected
    | Register
    | Saved
    | SaveFailed
    | Acknowledge
    | Extend
    | TimerFired
)

# --- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartTimer:
    """Deliver ``TimerFired(token)`` after ``seconds`` (replaces any running flow timer)."""

    token: int
    seconds: int


@dataclass(frozen=True)
class CancelTimer:
    """No timer is needed in the new phase."""


@dataclass(frozen=True)
class Prefetch:
    """Open a card session on the present card and do the PIN-free reads."""

    card_session: int


@dataclass(frozen=True)
class VerifyAndRead:
    """VERIFY the PIN(s), read the basic four and verify locally. The executor zeroes the PINs.

    ``pin`` None: use the auth PIN the driver holds. ``same_pin``: the card-info VERIFY uses ``pin``
    too; otherwise ``card_info_pin`` (None: the card-info PIN the driver holds)."""

    card_session: int
    pin: bytearray | None = field(repr=False)
    allow_last_try: bool
    card_info_pin: bytearray | None = field(default=None, repr=False)
    same_pin: bool = True


@dataclass(frozen=True)
class HoldPin:
    """Keep ``pin`` (for ``slot``) in the driver until the next :class:`VerifyAndRead`; wiped by
    :class:`EndCardSession` / :class:`Wipe` / a new prefetch. The state only records the slot."""

    card_session: int
    slot: PinSlot
    pin: bytearray = field(repr=False)


@dataclass(frozen=True)
class RegistrationDraft:
    """Everything of the record the flow knows; the driver adds the kiosk id and sequence."""

    record_id: uuid.UUID
    program_id: str
    consents: tuple[Consent, ...]
    resident: Resident = field(repr=False)
    auth_certificate: bytes = field(repr=False)
    verification: Verification
    clock: datetime


@dataclass(frozen=True)
class SaveRegistration:
    """Have the card sign the record and put record + signature in the outbox, one transaction."""

    card_session: int
    draft: RegistrationDraft


@dataclass(frozen=True)
class EndCardSession:
    """Close the card session (drops the verified PIN state); the card may stay on the reader."""


@dataclass(frozen=True)
class Wipe:
    """Front-ends must clear every trace of the session: screens, buffers, card handles."""


@dataclass(frozen=True)
class Alarm:
    """Card-left-behind alarm on or off (sound + screen)."""

    on: bool


@dataclass(frozen=True)
class WarnTimeout:
    """Show the timeout warning (visual + sound) with ``seconds`` to respond."""

    seconds: int


Effect = (
    StartTimer
    | CancelTimer
    | Prefetch
    | VerifyAndRead
    | HoldPin
    | SaveRegistration
    | EndCardSession
    | Wipe
    | Alarm
    | WarnTimeout
)


# --- the machine ---------------------------------------------------------------------------------


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


def loggable(state: FlowState) -> dict[str, object]:
    """An allow-listed view of the state for logs and staff status lines: no personal data, no
    certificate, no record id (which could be linked to the person)."""
    return {
        "phase": state.phase.value,
        "language": state.language,
        "program": state.program_id,
        "services": list(state.services),
        "card_present": state.card_present,
        "tries_left": state.tries_left,
        "error": state.error.value if state.error else None,
        "warning": state.warning,
        "alarm": state.alarm,
    }
