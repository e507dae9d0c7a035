"""The two-PIN transitions of the flow (auth PIN and card-info PIN), table-driven.

Each row: how to get to the starting state, the event, the expected phase, what the pad shows
(``tries_left``), which PIN the driver holds afterwards, and the effect types emitted.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kiosk.flow import (
    Cancel,
    CardFailed,
    CardFailure,
    CardInfoPinSubmitted,
    CardInserted,
    CardRemoved,
    ErrorKind,
    Event,
    Flow,
    FlowState,
    HoldPin,
    LastTryConfirmed,
    Phase,
    PinRejected,
    PinSlot,
    PinSubmitted,
    PrefetchDone,
    TimerFired,
    VerifyAndRead,
    loggable,
)

from .flowkit import make_flow, run, to_wait_card

A, C = PinSlot.AUTH, PinSlot.CARD_INFO


def _pin() -> bytearray:
    return bytearray(b"4444")


def at_pin(auth: int = 3, card_info: int = 3) -> Callable[[Flow], FlowState]:
    def go(flow: Flow) -> FlowState:
        state, _ = run(flow, to_wait_card(flow), CardInserted())
        state, _ = run(flow, state, PrefetchDone(state.card_session, min(auth, card_info), auth, card_info))
        if state.phase is Phase.LAST_TRY_CONFIRM:
            state, _ = run(flow, state, LastTryConfirmed())
        return state

    return go


def then(start: Callable[[Flow], FlowState], *events: Event) -> Callable[[Flow], FlowState]:
    def go(flow: Flow) -> FlowState:
        return run(flow, start(flow), *events)[0]

    return go


DIFFERENT = then(at_pin(), PinSubmitted(_pin(), same_pin=False))  # auth PIN held, card-info PIN asked
SAME_VERIFYING = then(at_pin(), PinSubmitted(_pin()))
DIFF_VERIFYING = then(DIFFERENT, CardInfoPinSubmitted(_pin()))
CI_AFTER_SAME = then(SAME_VERIFYING, PinRejected(1, 2, C, None))  # card-info refused "the same" PIN
S = Phase

CASES: list[tuple[str, Callable[[Flow], FlowState], Event, Phase, int | None, PinSlot | None, list[str]]] = [
    (
        "prefetch gives both counters",
        then(to_wait_card, CardInserted()),
        PrefetchDone(1, 2, 3, 2),
        S.PIN_ENTRY,
        2,
        None,
        ["StartTimer"],
    ),
    (
        "card-info blocked at prefetch",
        then(to_wait_card, CardInserted()),
        PrefetchDone(1, 3, 3, 0),
        S.ERROR,
        None,
        None,
        ["EndCardSession", "StartTimer"],
    ),
    (
        "same PIN: one VERIFY effect",
        at_pin(),
        PinSubmitted(_pin()),
        S.VERIFYING,
        3,
        None,
        ["VerifyAndRead", "CancelTimer"],
    ),
    (
        "different: hold the auth PIN, ask the card-info PIN",
        at_pin(),
        PinSubmitted(_pin(), same_pin=False),
        S.CARD_INFO_PIN_ENTRY,
        3,
        A,
        ["HoldPin", "StartTimer"],
    ),
    (
        "different, card-info at 1: last-try screen first",
        at_pin(3, 1),
        PinSubmitted(_pin(), same_pin=False),
        S.CARD_INFO_LAST_TRY_CONFIRM,
        1,
        A,
        ["HoldPin", "StartTimer"],
    ),
    (
        "card-info last try confirmed",
        then(at_pin(3, 1), PinSubmitted(_pin(), same_pin=False)),
        LastTryConfirmed(),
        S.CARD_INFO_PIN_ENTRY,
        1,
        A,
        ["StartTimer"],
    ),
    (
        "card-info PIN with the auth PIN held: verify both",
        DIFFERENT,
        CardInfoPinSubmitted(_pin()),
        S.VERIFYING,
        3,
        None,
        ["VerifyAndRead", "CancelTimer"],
    ),
    (
        "card-info refused the same PIN: its own screen, nothing held",
        SAME_VERIFYING,
        PinRejected(1, 2, C, None),
        S.CARD_INFO_PIN_ENTRY,
        2,
        None,
        ["StartTimer"],
    ),
    (
        "card-info refused, 1 try left",
        SAME_VERIFYING,
        PinRejected(1, 1, C, None),
        S.CARD_INFO_LAST_TRY_CONFIRM,
        1,
        None,
        ["StartTimer"],
    ),
    (
        "card-info refused, blocked",
        SAME_VERIFYING,
        PinRejected(1, 0, C, None),
        S.ERROR,
        None,
        None,
        ["EndCardSession", "StartTimer"],
    ),
    (
        "card-info refused with the auth PIN held",
        DIFF_VERIFYING,
        PinRejected(1, 2, C, A),
        S.CARD_INFO_PIN_ENTRY,
        2,
        A,
        ["StartTimer"],
    ),
    (
        "card-info PIN first, then the auth PIN is asked",
        CI_AFTER_SAME,
        CardInfoPinSubmitted(_pin()),
        S.PIN_ENTRY,
        3,
        C,
        ["HoldPin", "StartTimer"],
    ),
    (
        "typo: card-info PIN is the same PIN after all",
        CI_AFTER_SAME,
        CardInfoPinSubmitted(_pin(), same_pin=True),
        S.VERIFYING,
        2,
        None,
        ["VerifyAndRead", "CancelTimer"],
    ),
    (
        "auth PIN with the card-info PIN held: verify both",
        then(CI_AFTER_SAME, CardInfoPinSubmitted(_pin())),
        PinSubmitted(_pin()),
        S.VERIFYING,
        3,
        None,
        ["VerifyAndRead", "CancelTimer"],
    ),
    (
        "auth refused, card-info PIN held: auth counter only",
        SAME_VERIFYING,
        PinRejected(1, 2, A, C),
        S.PIN_ENTRY,
        2,
        C,
        ["StartTimer"],
    ),
    (
        "auth refused at 1 try: last-try screen",
        DIFF_VERIFYING,
        PinRejected(1, 1, A, C),
        S.LAST_TRY_CONFIRM,
        1,
        C,
        ["StartTimer"],
    ),
    (
        "card removed on the card-info screen",
        DIFFERENT,
        CardRemoved(),
        S.ERROR,
        None,
        None,
        ["EndCardSession", "StartTimer"],
    ),
    (
        "cancel on the card-info screen",
        DIFFERENT,
        Cancel(),
        S.TAKE_CARD,
        None,
        None,
        ["EndCardSession", "Wipe", "StartTimer"],
    ),
    (
        "pin blocked while verifying both",
        DIFF_VERIFYING,
        CardFailed(1, CardFailure.PIN_BLOCKED),
        S.ERROR,
        None,
        None,
        ["EndCardSession", "StartTimer"],
    ),
    (
        "auth PIN on the card-info screen is zeroed",
        DIFFERENT,
        PinSubmitted(_pin()),
        S.CARD_INFO_PIN_ENTRY,
        3,
        A,
        [],
    ),
    (
        "card-info PIN on the auth screen is zeroed",
        at_pin(),
        CardInfoPinSubmitted(_pin()),
        S.PIN_ENTRY,
        3,
        None,
        [],
    ),
    ("stale rejection ignored", SAME_VERIFYING, PinRejected(99, 2, C, None), S.VERIFYING, 3, None, []),
]


@pytest.mark.parametrize(
    ("name", "start", "event", "phase", "tries", "held", "effects"), CASES, ids=[c[0] for c in CASES]
)
def test_two_pin_transition(
    name: str,
    start: Callable[[Flow], FlowState],
    event: Event,
    phase: Phase,
    tries: int | None,
    held: PinSlot | None,
    effects: list[str],
) -> None:
    flow = make_flow()
    state = start(flow)
    new, fx = flow.step(state, event)
    assert new.phase is phase
    assert new.tries_left == tries
    assert new.held_pin is held
    assert [type(e).__name__ for e in fx] == effects
    if phase is S.ERROR and isinstance(event, PinRejected | CardFailed):
        assert new.error is ErrorKind.PIN_BLOCKED
    assert "4444" not in repr(new) + repr(fx) + str(loggable(new))


def test_unwanted_pins_are_zeroed() -> None:
    flow = make_flow()
    pin = _pin()
    flow.step(DIFFERENT(flow), PinSubmitted(pin))
    assert pin == bytearray(4)
    pin = _pin()
    flow.step(at_pin()(flow), CardInfoPinSubmitted(pin))
    assert pin == bytearray(4)


def test_different_pins_reach_the_card_layer_as_two_buffers_never_retried() -> None:
    flow = make_flow()
    auth, card_info = bytearray(b"4444"), bytearray(b"5555")
    state, fx = flow.step(at_pin()(flow), PinSubmitted(auth, same_pin=False))
    (hold,) = [e for e in fx if isinstance(e, HoldPin)]
    assert (hold.slot, hold.pin is auth) == (A, True)
    state, fx = flow.step(state, CardInfoPinSubmitted(card_info))
    (verify,) = [e for e in fx if isinstance(e, VerifyAndRead)]
    assert verify.pin is None
    assert verify.card_info_pin is card_info
    assert not verify.same_pin
    assert not verify.allow_last_try
    state, fx = flow.step(state, PinRejected(state.card_session, 2, C, A))
    assert not any(isinstance(e, VerifyAndRead) for e in fx)  # never an automatic retry


def test_card_info_last_try_permission_is_passed_on() -> None:
    flow = make_flow()
    state = at_pin(3, 1)(flow)
    state, _ = run(flow, state, PinSubmitted(_pin(), same_pin=False), LastTryConfirmed())
    _, fx = flow.step(state, CardInfoPinSubmitted(_pin()))
    (verify,) = [e for e in fx if isinstance(e, VerifyAndRead)]
    assert verify.allow_last_try


def test_card_info_screen_times_out_like_the_pin_screen() -> None:
    flow = make_flow()
    state = DIFFERENT(flow)
    state, _ = flow.step(state, TimerFired(state.timer))
    assert state.warning
    state, fx = flow.step(state, TimerFired(state.timer))
    assert state.phase is Phase.TAKE_CARD
    assert state.held_pin is None
    assert any(type(e).__name__ == "EndCardSession" for e in fx)  # the driver wipes the held PIN


def test_card_info_last_try_confirmed_on_its_own_screen_is_passed_on() -> None:
    """Both counters were at 3 (no confirmation on the PIN screen); the card-info PIN drops to 1."""
    flow = make_flow()
    state, _ = run(flow, SAME_VERIFYING(flow), PinRejected(1, 1, C, None))
    assert state.phase is Phase.CARD_INFO_LAST_TRY_CONFIRM
    assert not state.last_try_confirmed
    _, fx = flow.step(state, CardInfoPinSubmitted(_pin(), same_pin=True))
    assert fx == []  # the pad is not offered before the confirmation
    state, _ = flow.step(state, LastTryConfirmed())
    _, fx = flow.step(state, CardInfoPinSubmitted(_pin(), same_pin=True))
    (verify,) = [e for e in fx if isinstance(e, VerifyAndRead)]
    assert verify.allow_last_try
