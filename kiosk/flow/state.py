"""The flow's state vocabulary: the phases (one screen each), the error screens, the card
failures the driver reports, the two PIN slots and :class:`FlowState`, everything a screen renders.

Pure data, no behaviour beyond views of it (:func:`loggable`): the machine
(:mod:`kiosk.flow.machine`) is the only code that makes new states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, unique
from typing import Final

from kiosk.rules.eligibility import Eligibility
from kiosk.rules.record import Consent, Resident, Verification


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
