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

The four vocabularies live in their own modules so that each importer takes only what it uses:
:mod:`kiosk.flow.state` (phases, errors, :class:`FlowState`: what a screen renders),
:mod:`kiosk.flow.events` (what a screen, the card watcher or the driver sends),
:mod:`kiosk.flow.effects` (what the driver executes) and :mod:`kiosk.flow.machine` (:class:`Flow`
and its handlers). Product code imports the submodule it needs; this package re-exports every
public name for tests that want the whole flow at once.
"""

from __future__ import annotations

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
from kiosk.flow.machine import (
    Flow,
    FlowSettings,
    Result,
)
from kiosk.flow.state import (
    BUSY_PHASES,
    CARD_PHASES,
    PERSONAL_PHASES,
    PIN_PHASES,
    RETRYABLE,
    TIMED_PHASES,
    CardFailure,
    ErrorKind,
    FlowState,
    Phase,
    PinSlot,
    loggable,
)

__all__ = [
    "BUSY_PHASES",
    "CARD_PHASES",
    "PERSONAL_PHASES",
    "PIN_PHASES",
    "RETRYABLE",
    "TIMED_PHASES",
    "Acknowledge",
    "Alarm",
    "Back",
    "Cancel",
    "CancelTimer",
    "CardFailed",
    "CardFailure",
    "CardInfoPinSubmitted",
    "CardInserted",
    "CardRemoved",
    "ConsentAccepted",
    "ConsentDeclined",
    "ConsentsDone",
    "Effect",
    "EndCardSession",
    "ErrorKind",
    "Event",
    "Extend",
    "Flow",
    "FlowSettings",
    "FlowState",
    "HoldPin",
    "IdentityConfirmed",
    "IdentityRejected",
    "LanguageChosen",
    "LastTryConfirmed",
    "PcscDown",
    "Phase",
    "PinRejected",
    "PinSlot",
    "PinSubmitted",
    "Prefetch",
    "PrefetchDone",
    "ProgramChosen",
    "ReadDone",
    "ReaderBack",
    "ReaderLost",
    "Register",
    "RegistrationDraft",
    "Result",
    "SaveFailed",
    "SaveRegistration",
    "Saved",
    "ServicesChosen",
    "Start",
    "StartTimer",
    "TimerFired",
    "VerifyAndRead",
    "WarnTimeout",
    "Wipe",
    "loggable",
]
