"""Property tests: any event sequence keeps the flow in a valid state, and a wipe leaves nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.flow import (
    PERSONAL_PHASES,
    PIN_PHASES,
    Acknowledge,
    Back,
    Cancel,
    CardFailed,
    CardFailure,
    CardInfoPinSubmitted,
    CardInserted,
    CardRemoved,
    ConsentAccepted,
    ConsentDeclined,
    Event,
    Extend,
    FlowState,
    HoldPin,
    IdentityConfirmed,
    IdentityRejected,
    LanguageChosen,
    LastTryConfirmed,
    PcscDown,
    Phase,
    PinRejected,
    PinSlot,
    PinSubmitted,
    PrefetchDone,
    ReadDone,
    ReaderBack,
    ReaderLost,
    Register,
    Saved,
    SaveFailed,
    ServicesChosen,
    Start,
    StartTimer,
    TimerFired,
    VerifyAndRead,
    Wipe,
)
from kiosk.rules.record import Verification
from kiosk.settings import KioskMode

from .flowkit import CERT, OK, OUTSIDER, RESIDENT, make_flow

PERSONAL_STRINGS = ("宮城 花子", "東京 太郎", "本町", "西新宿")


_FIXED: list[Event] = [
    Start(),
    Back(),
    Cancel(),
    CardInserted(),
    CardRemoved(),
    ReaderLost(),
    PcscDown(),
    ReaderBack(),
    LastTryConfirmed(),
    IdentityConfirmed(),
    IdentityRejected(),
    Register(),
    Acknowledge(),
    Extend(),
    ConsentDeclined(),
    LanguageChosen("en"),
    ServicesChosen(("disaster", "point")),
    ServicesChosen(("point",)),
    ConsentAccepted("point"),
    ConsentAccepted("disaster"),
]
_FAILURES = [*CardFailure]
_N_DYNAMIC = 15  # the last four advance the session, so deep phases are reached


def _event(state: FlowState, choice: int, variant: int) -> Event:
    """Every kind of event; driver results carry the current (or a stale) card session.

    Built from two drawn integers so hypothesis stays fast and shrinks well."""
    if choice < len(_FIXED):
        return _FIXED[choice]
    session = state.card_session - (variant % 2)
    kind = choice - len(_FIXED)
    if kind == 0:
        return PinSubmitted(bytearray(b"4321"), same_pin=variant % 3 != 0)
    if kind == 8:
        return CardInfoPinSubmitted(bytearray(b"4321"), same_pin=variant % 2 == 0)
    if kind == 9:
        slots = (PinSlot.AUTH, PinSlot.CARD_INFO)
        held = (None, *slots)[(variant // 8) % 3]
        return PinRejected(session, variant % 3, slots[(variant // 4) % 2], held)
    if kind == 10:
        return PrefetchDone(session, variant % 4, variant % 4, (variant // 4) % 4)
    if kind == 1:
        return TimerFired(state.timer - (variant % 2))
    if kind == 2:
        return PrefetchDone(session, variant % 4)
    if kind == 3:
        return PinRejected(session, variant % 3)
    if kind == 4:
        return CardFailed(session, _FAILURES[variant % len(_FAILURES)])
    if kind == 5:
        return ReadDone(
            session,
            (RESIDENT, OUTSIDER)[(variant // 2) % 2],
            CERT,
            (OK, Verification(False, True, True, True))[(variant // 4) % 2],
            (variant // 8) % 2 == 1,
            (variant // 16) % 2 == 1,
        )
    if kind == 6:
        return Saved(session, (state.record_id or "x") if variant % 4 < 2 else "y")
    if kind == 7:
        return SaveFailed(session, (None, CardFailure.CARD_REMOVED, CardFailure.READ_FAILED)[variant % 3])
    return _advance(state, variant)


def _advance(state: FlowState, variant: int) -> Event:
    """The event a cooperative resident and a working card would produce next."""
    s = state.card_session
    table: dict[Phase, Event] = {
        Phase.IDLE: Start(),
        Phase.LANGUAGE: LanguageChosen("ja"),
        Phase.PROGRAM: ServicesChosen(("disaster", "point")),
        Phase.CONSENT: ConsentAccepted("disaster" if not state.consents else "point"),
        Phase.WAIT_CARD: CardInserted() if not state.card_present else CardRemoved(),
        Phase.REINSERT: CardInserted() if not state.card_present else CardRemoved(),
        Phase.PREFETCH: PrefetchDone(s, 3 if variant % 8 else 1),
        Phase.LAST_TRY_CONFIRM: LastTryConfirmed(),
        Phase.PIN_ENTRY: PinSubmitted(bytearray(b"4321"), same_pin=variant % 4 != 1),
        Phase.CARD_INFO_LAST_TRY_CONFIRM: LastTryConfirmed(),
        Phase.CARD_INFO_PIN_ENTRY: CardInfoPinSubmitted(bytearray(b"4321")),
        Phase.VERIFYING: ReadDone(s, (RESIDENT, OUTSIDER)[variant % 5 == 0], CERT, OK, False, False),
        Phase.CONFIRM: IdentityConfirmed(),
        Phase.ELIGIBILITY: Register(),
        Phase.SAVING: Saved(s, state.record_id or ""),
        Phase.RECEIPT: Acknowledge(),
        Phase.NOT_ELIGIBLE: Acknowledge(),
        Phase.ERROR: Acknowledge(),
        Phase.TAKE_CARD: CardRemoved(),
    }
    return table[state.phase]


_CHOICES = st.tuples(st.integers(0, len(_FIXED) + _N_DYNAMIC - 1), st.integers(0, 63))


def _assert_valid(state: FlowState, effects: Sequence[object]) -> None:
    assert isinstance(state.phase, Phase)
    if state.phase not in PERSONAL_PHASES:
        assert not state.holds_personal_data, state.phase
    else:
        assert state.card_session > 0
    if state.phase is Phase.ERROR:
        assert state.error is not None
    if any(isinstance(e, Wipe) for e in effects):
        assert not state.holds_personal_data
        assert state.verification is None
        # Nothing personal anywhere in the state, whatever the field.
        text = repr(state) + "".join(repr(getattr(state, f.name)) for f in fields(state))
        assert not any(s in text for s in PERSONAL_STRINGS)
        assert state.record_id is None or state.phase is Phase.REINSERT
    if state.phase is Phase.TAKE_CARD:
        assert state.card_present
    timers = [e for e in effects if isinstance(e, StartTimer)]
    if timers:
        assert timers[-1].token == state.timer
        assert timers[-1].seconds >= 1
    for e in effects:
        if isinstance(e, VerifyAndRead | HoldPin):
            assert "4321" not in repr(e)
        if isinstance(e, VerifyAndRead):
            # A PIN at 1 try is only ever verified with the permission given on its own screen.
            if state.auth_tries_left == 1:
                assert e.allow_last_try
            if state.card_info_tries_left == 1 and (e.same_pin or e.card_info_pin is not None):
                assert e.allow_last_try
    # The driver holds a typed PIN only while the other PIN's screen is shown.
    if state.held_pin is not None:
        assert state.phase in PIN_PHASES
    assert "4321" not in repr(state)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(list(KioskMode)), st.sampled_from(["miyagi-point-2025-second", "demo"]))
def test_any_event_sequence_stays_valid(data: st.DataObject, mode: KioskMode, program: str) -> None:
    flow = make_flow(mode, program)
    state = flow.initial()
    last_timer = state.timer
    for choice, variant in data.draw(st.lists(_CHOICES, min_size=1, max_size=60)):
        event = _event(state, choice, variant)
        state, effects = flow.step(state, event)
        _assert_valid(state, effects)
        assert state.timer >= last_timer
        last_timer = state.timer


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_after_a_wipe_no_personal_data_remains(data: st.DataObject) -> None:
    """Walk to a state holding personal data, then apply random events until a wipe happens."""
    from .flowkit import to_confirm

    flow = make_flow(data.draw(st.sampled_from(list(KioskMode))))
    state = to_confirm(flow)
    assert state.holds_personal_data
    for choice, variant in data.draw(st.lists(_CHOICES, min_size=1, max_size=40)):
        event = _event(state, choice, variant)
        state, effects = flow.step(state, event)
        if any(isinstance(e, Wipe) for e in effects):
            assert not state.holds_personal_data
            assert state.eligibility is None or state.phase is Phase.NOT_ELIGIBLE
            return
        _assert_valid(state, effects)
