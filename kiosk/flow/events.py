"""What happens to the flow: every event (plain, frozen data) and the closed :data:`Event` union.

Screens send the resident's events (buttons, PIN pads); the card watcher and the driver send the
card's and the effects' outcomes, each carrying the card-session token so stale ones are ignored.
A PIN travels in an event's ``bytearray`` only, never into the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.flow.state import CardFailure, PinSlot
from kiosk.rules.record import Resident, Verification


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
