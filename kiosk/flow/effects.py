"""What the flow asks the outside world to do: every effect (plain, frozen data) and the closed
:data:`Effect` union. A driver (:mod:`kiosk.runner`) executes them and feeds each outcome back as an
event; screens never see them, only the driver and the front end's controller do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.flow.state import PinSlot
from kiosk.rules.record import Consent, Resident, Verification


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
