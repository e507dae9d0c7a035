"""The Qt kiosk's short path (FlowSettings.short_path, docs/flow.md §2b): language from the attract
screen, no programme screen with one programme, one consent screen (still one consent per service
with its terms version), eligibility at the read, and Register on the confirmation screen."""

from __future__ import annotations

import uuid
from dataclasses import replace

from kiosk.flow import (
    Back,
    CardInserted,
    ConsentAccepted,
    ConsentsDone,
    Flow,
    FlowSettings,
    FlowState,
    IdentityConfirmed,
    Phase,
    PinSubmitted,
    PrefetchDone,
    ReadDone,
    Register,
    SaveRegistration,
    Start,
    Wipe,
)
from kiosk.settings import DEFAULT_TIMEOUTS, KioskMode

from .flowkit import CERT, NOW, OK, OUTSIDER, PROGRAMS, RESIDENT, run


def short_flow(*programs: str) -> Flow:
    offered = {p: PROGRAMS[p] for p in programs}
    mode = KioskMode.SELF
    settings = FlowSettings(mode, "ja", programs[0], DEFAULT_TIMEOUTS[mode], short_path=True)
    counter = iter(range(1, 1000))
    return Flow(settings, offered, clock=lambda: NOW, new_id=lambda: uuid.UUID(int=next(counter), version=4))


def to_read(flow: Flow, state: FlowState) -> FlowState:
    state, _ = run(flow, state, CardInserted())
    state, _ = run(flow, state, PrefetchDone(state.card_session, 3), PinSubmitted(bytearray(b"1234")))
    assert state.phase is Phase.VERIFYING
    return state


def test_one_programme_two_required_services_four_events_to_the_card() -> None:
    flow = short_flow("miyagi-point-2025-second")
    state, _ = run(flow, flow.initial(), Start("en"))
    assert (state.phase, state.language) == (Phase.CONSENT, "en")  # no language, no programme screen
    assert state.services == ("disaster", "point")  # both required
    state, _ = run(flow, state, ConsentAccepted("point"))
    assert state.phase is Phase.CONSENT  # one more agreement on the same screen
    state, _ = run(flow, state, ConsentAccepted("disaster"))
    assert state.phase is Phase.WAIT_CARD  # the last agreement moves on: no "next" tap
    terms = {t.service: t.terms_version for t in PROGRAMS["miyagi-point-2025-second"].services}
    assert [(c.service, c.terms_version) for c in state.consents] == [
        ("point", terms["point"]),
        ("disaster", terms["disaster"]),
    ]


def test_an_optional_service_is_chosen_by_agreeing_to_it_and_next_moves_on() -> None:
    flow = short_flow("demo")
    state, _ = run(flow, flow.initial(), Start("ja"))
    assert state.services == ("point",)
    state, _ = run(flow, state, ConsentsDone())
    assert state.phase is Phase.CONSENT  # the required consent is missing: nothing happens
    state, _ = run(flow, state, ConsentAccepted("point"))
    assert state.phase is Phase.CONSENT  # an optional service is offered: "next" decides
    state, _ = run(flow, state, ConsentAccepted("disaster"))
    assert state.services == ("disaster", "point")
    state, _ = run(flow, state, ConsentsDone())
    assert state.phase is Phase.WAIT_CARD
    assert {c.service for c in state.consents} == {"point", "disaster"}


def test_without_the_optional_consent_only_the_required_service_is_registered() -> None:
    flow = short_flow("demo")
    state, _ = run(flow, flow.initial(), Start("ja"), ConsentAccepted("point"), ConsentsDone())
    state = to_read(flow, state)
    state, _ = run(flow, state, ReadDone(state.card_session, RESIDENT, CERT, OK, False, False))
    assert state.phase is Phase.CONFIRM
    state, effects = run(flow, state, Register())
    save = next(e for e in effects if isinstance(e, SaveRegistration))
    assert [c.service for c in save.draft.consents] == ["point"]


def test_the_confirmation_screen_carries_the_result_and_register_is_final() -> None:
    flow = short_flow("miyagi-point-2025-second")
    state, _ = run(flow, flow.initial(), Start("ja"), ConsentAccepted("point"), ConsentAccepted("disaster"))
    state = to_read(flow, state)
    state, effects = run(flow, state, ReadDone(state.card_session, RESIDENT, CERT, OK, False, False))
    assert state.phase is Phase.CONFIRM
    assert state.eligibility is not None
    assert state.eligibility.eligible
    assert not any(isinstance(e, SaveRegistration) for e in effects)  # nothing before "register"
    state, effects = run(flow, state, Register())
    assert state.phase is Phase.SAVING
    save = next(e for e in effects if isinstance(e, SaveRegistration))
    assert {c.service for c in save.draft.consents} == {"point", "disaster"}


def test_an_ineligible_resident_sees_the_reasons_at_once_and_nothing_is_saved() -> None:
    flow = short_flow("miyagi-point-2025-second")
    state, _ = run(flow, flow.initial(), Start("ja"), ConsentAccepted("point"), ConsentAccepted("disaster"))
    state = to_read(flow, state)
    state, effects = run(flow, state, ReadDone(state.card_session, OUTSIDER, CERT, OK, False, False))
    assert state.phase is Phase.NOT_ELIGIBLE
    assert not state.holds_personal_data  # the basic four never entered the state
    assert state.eligibility is not None
    assert state.eligibility.reasons
    state, effects = run(flow, state, Register())
    assert not any(isinstance(e, SaveRegistration) for e in effects)


def test_the_long_path_is_unchanged_without_the_setting() -> None:
    flow = short_flow("miyagi-point-2025-second")
    long_flow = Flow(replace(flow.settings, short_path=False), flow.programs, clock=lambda: NOW)
    state, _ = run(long_flow, long_flow.initial(), Start())
    assert state.phase is Phase.LANGUAGE
    state, _ = run(long_flow, long_flow.initial(), Start("en"))
    assert state.phase is Phase.PROGRAM  # a language button skips the language page only
    state, _ = run(long_flow, state, Register())
    assert state.phase is Phase.PROGRAM
    state, _ = run(long_flow, state, IdentityConfirmed())
    assert state.phase is Phase.PROGRAM


def test_several_programmes_keep_the_programme_screen_and_back_goes_home() -> None:
    flow = short_flow("miyagi-point-2025-second", "miyagi-point-2024-lottery")
    state, _ = run(flow, flow.initial(), Start("ja"))
    assert state.phase is Phase.PROGRAM
    single = short_flow("demo")
    state, _ = run(single, single.initial(), Start("ja"))
    state, effects = run(single, state, Back())
    assert state.phase is Phase.IDLE  # no programme screen to go back to
    assert any(isinstance(e, Wipe) for e in effects)
