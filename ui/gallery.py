"""One synthetic :class:`~kiosk.flow.FlowState` per screen, for screenshots and layout tests.

The resident is made up (a long name and address, to test wrapping); no card is involved. Each
entry is (name, state); the window renders them exactly as the flow would.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from kiosk.flow.state import ErrorKind, FlowState, Phase, PinSlot
from kiosk.rules.eligibility import FINAL_NOTICE, Eligibility, ReasonCode, reason_for
from kiosk.rules.programs import Program
from kiosk.rules.record import Consent, Resident, Verification, registration_code

SAMPLE_RESIDENT = Resident(
    name="見本　花子",
    address="宮城県仙台市青葉区本町三丁目８番１号　見本マンション１２０３号室",
    birth_date=dt.date(1950, 4, 1),
    sex="2",
)
#: A code as the kiosk issues them (19 characters, ``XXXX-XXXX-XXXX-XXXX``), so the fit test and the
#: screenshots lay out the real length.
SAMPLE_CODE = registration_code(uuid.UUID("8c1f2e4a-5b6d-4e7f-9a0b-1c2d3e4f5a6b"))
_OK = Verification(chain=True, signature=True, integrity=True, genuine_card=True)


def sample_states(program: Program) -> list[tuple[str, FlowState]]:
    """Every screen once (every error kind too), in the order a resident meets them."""
    services = tuple(sorted(t.service for t in program.services))
    base = FlowState(phase=Phase.IDLE, language="ja", program_id=program.id)
    chosen = replace(base, services=services)
    card = replace(chosen, card_present=True, card_session=1)
    eligible = Eligibility(True, (), FINAL_NOTICE)
    # The catalogue's own reason texts (every language), as a resident outside the area meets them.
    codes = (ReasonCode.NOT_RESIDENT, *((ReasonCode.ENDED,) if program.period is not None else ()))
    refused = Eligibility(False, tuple(reason_for(code, program) for code in codes), FINAL_NOTICE)
    personal = replace(card, resident=SAMPLE_RESIDENT, auth_certificate=b"\x30", verification=_OK)
    # The short path (the Qt kiosk): one consent screen offering the optional services too, one
    # agreed already; the basic four with the kiosk-side result on one screen.
    required = tuple(sorted(program.required_services))
    first = program.services[0]
    agreed = Consent(first.service, first.terms_version, dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC))
    states: list[tuple[str, FlowState]] = [
        ("idle", base),
        ("language", replace(base, phase=Phase.LANGUAGE)),
        ("program", replace(base, phase=Phase.PROGRAM)),
        ("consent", replace(base, phase=Phase.CONSENT, services=required, services_open=True)),
        (
            "consent_one_agreed",
            replace(base, phase=Phase.CONSENT, services=required, services_open=True, consents=(agreed,)),
        ),
        ("consent_chosen", replace(chosen, phase=Phase.CONSENT)),
        ("wait_card", replace(chosen, phase=Phase.WAIT_CARD)),
        ("wait_card_no_reader", replace(chosen, phase=Phase.WAIT_CARD, reader_available=False)),
        ("prefetch", replace(card, phase=Phase.PREFETCH)),
        ("last_try", replace(card, phase=Phase.LAST_TRY_CONFIRM, tries_left=1)),
        ("pin_entry", replace(card, phase=Phase.PIN_ENTRY, tries_left=3)),
        ("pin_incorrect", replace(card, phase=Phase.PIN_ENTRY, tries_left=2, pin_rejected=True)),
        ("pin_last_try", replace(card, phase=Phase.PIN_ENTRY, tries_left=1, last_try_confirmed=True)),
        (
            "card_info_pin",
            replace(card, phase=Phase.CARD_INFO_PIN_ENTRY, tries_left=3, held_pin=PinSlot.AUTH),
        ),
        (
            "card_info_refused",
            replace(card, phase=Phase.CARD_INFO_PIN_ENTRY, tries_left=2, pin_rejected=True),
        ),
        ("card_info_last_try", replace(card, phase=Phase.CARD_INFO_LAST_TRY_CONFIRM, tries_left=1)),
        ("verifying", replace(card, phase=Phase.VERIFYING)),
        ("confirm", replace(personal, phase=Phase.CONFIRM, eligibility=eligible)),
        ("confirm_only", replace(personal, phase=Phase.CONFIRM)),
        ("eligibility", replace(personal, phase=Phase.ELIGIBILITY, eligibility=eligible)),
        ("saving", replace(personal, phase=Phase.SAVING, code=SAMPLE_CODE)),
        ("receipt", replace(card, phase=Phase.RECEIPT, code=SAMPLE_CODE, receipt_status="queued")),
        ("not_eligible", replace(card, phase=Phase.NOT_ELIGIBLE, eligibility=refused)),
        ("reinsert", replace(chosen, phase=Phase.REINSERT)),
        ("take_card", replace(card, phase=Phase.TAKE_CARD)),
        ("take_card_alarm", replace(card, phase=Phase.TAKE_CARD, alarm=True)),
        ("timeout_warning", replace(chosen, phase=Phase.WAIT_CARD, warning=True)),
    ]
    for kind in ErrorKind:
        if kind in (ErrorKind.PIN_INCORRECT, ErrorKind.PIN_LAST_TRY, ErrorKind.NOT_ELIGIBLE):
            continue  # shown on the PIN pad, the last-try screen and the not-eligible screen
        states.append((f"error_{kind.value}", replace(chosen, phase=Phase.ERROR, error=kind)))
    return states


def with_language(state: FlowState, language: str) -> FlowState:
    """The same screen in another language."""
    return replace(state, language=language)


def shelter_screens() -> tuple[str, ...]:
    """Shelter mode's screens (not flow states): ``ui/pages/shelter.py`` shows each with
    ``show_sample``; ``scripts/screenshots.py`` renders them as ``shelter_<name>.png``."""
    from ui.pages.shelter import SCREENS

    return tuple(SCREENS)
