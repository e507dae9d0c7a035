"""Not a My Number Card → "try another card" (issue 13 §6): back to waiting for a card with the
choices kept, and the wrong card still on the reader is not read again."""

from __future__ import annotations

from kiosk.flow import Acknowledge, CardFailed, CardFailure, CardInserted, CardRemoved, ErrorKind, Phase

from .flowkit import make_flow, run, to_wait_card


def test_try_another_card_waits_for_a_new_card() -> None:
    flow = make_flow()
    waiting = to_wait_card(flow)
    state, _ = run(flow, waiting, CardInserted())
    state, _ = run(flow, state, CardFailed(state.card_session, CardFailure.NOT_MY_NUMBER_CARD))
    assert state.error is ErrorKind.NOT_MY_NUMBER_CARD
    state, effects = run(flow, state, Acknowledge())  # "try another card"
    assert state.phase is Phase.WAIT_CARD
    assert state.services == waiting.services  # choices kept
    assert state.consents == waiting.consents
    assert not any(type(e).__name__ == "Prefetch" for e in effects)  # the wrong card is not re-read
    state, _ = run(flow, state, CardRemoved())
    state, effects = run(flow, state, CardInserted())  # another card
    assert state.phase is Phase.PREFETCH
    assert any(type(e).__name__ == "Prefetch" for e in effects)
