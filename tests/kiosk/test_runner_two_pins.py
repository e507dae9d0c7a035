"""Two PINs through the runner and the real card layer (in-process virtual card).

The persona ``miyagi-distinct-pins`` has auth PIN 4444 and card-info PIN 5555. Every path must end
in a card-signed record, use no try beyond the ones the resident typed, never try a refused "same"
PIN on the auth AP, and leave no PIN buffer behind in the driver.
"""

from __future__ import annotations

from pathlib import Path

from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona
from kiosk.flow import (
    Cancel,
    CardInfoPinSubmitted,
    CardInserted,
    ConsentAccepted,
    ErrorKind,
    FlowState,
    IdentityConfirmed,
    LanguageChosen,
    LastTryConfirmed,
    Phase,
    PinSlot,
    PinSubmitted,
    Register,
    ServicesChosen,
    Start,
)
from kiosk.rules.record import parse_signed, verify_card_signature
from kiosk.runner import Runner

from .runkit import MemoryQueue, make_runner, session_factory

PERSONA = load_persona("miyagi-distinct-pins")
AUTH = PERSONA.auth_pin
CARD_INFO = PERSONA.card_info_pin


class CountingConnection:
    """Counts refused VERIFYs that carried a PIN (tries used), per PIN reference (P2)."""

    def __init__(self, inner: InProcessConnection, refused: dict[str, int]) -> None:
        self._inner = inner
        self.refused = refused

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self._inner.transmit(apdu)
        if apdu[1] == 0x20 and len(apdu) > 5 and sw & 0xFFF0 == 0x63C0:
            key = {0x98: "jpki", 0x91: "card_info"}.get(apdu[3], "other")
            self.refused[key] = self.refused.get(key, 0) + 1
        return data, sw

    def close(self) -> None:
        self._inner.close()


class Card:
    def __init__(self) -> None:
        self.card = VirtualMyNumberCard(PERSONA)
        self.refused: dict[str, int] = {}

    def connect(self) -> CountingConnection:
        return CountingConnection(InProcessConnection(self.card), self.refused)


def _setup(tmp_path: Path) -> tuple[Card, Runner, MemoryQueue]:
    card = Card()
    queue = MemoryQueue()
    runner = make_runner(session_factory(card.connect), tmp_path, queue)
    return card, runner, queue


def _to_pin(runner: Runner) -> FlowState:
    for event in (Start(), LanguageChosen("ja"), ServicesChosen(("disaster", "point"))):
        runner.dispatch(event)
    runner.dispatch(ConsentAccepted("disaster"))
    runner.dispatch(ConsentAccepted("point"))
    state = runner.dispatch(CardInserted())
    assert state.phase is Phase.PIN_ENTRY
    return state


def _failed_verifies(card: Card, ap: str) -> int:
    """VERIFYs with a PIN that the card refused on ``ap`` (tries used)."""
    return card.refused.get(ap, 0)


def _finish(runner: Runner, queue: MemoryQueue, state: FlowState) -> None:
    assert state.phase is Phase.CONFIRM, state.phase
    assert not runner.holds_pin
    state = runner.dispatch(IdentityConfirmed())
    state = runner.dispatch(Register())
    assert state.phase is Phase.RECEIPT
    ((plaintext, _, _),) = queue.rows
    signed = parse_signed(plaintext)
    verify_card_signature(signed)
    assert signed.record.resident.name == PERSONA.name


def _pin(text: str) -> bytearray:
    return bytearray(text.encode())


def test_resident_says_the_pins_differ(tmp_path: Path) -> None:
    card, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    auth = _pin(AUTH)
    state = runner.dispatch(PinSubmitted(auth, same_pin=False))
    assert (state.phase, state.tries_left, state.held_pin) == (Phase.CARD_INFO_PIN_ENTRY, 3, PinSlot.AUTH)
    assert runner.holds_pin
    card_info = _pin(CARD_INFO)
    state = runner.dispatch(CardInfoPinSubmitted(card_info))
    assert auth == bytearray(4)
    assert card_info == bytearray(4)
    _finish(runner, queue, state)
    assert _failed_verifies(card, "jpki") == _failed_verifies(card, "card_info") == 0


def test_same_pin_refused_by_card_info_asks_card_info_then_auth(tmp_path: Path) -> None:
    card, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    state = runner.dispatch(PinSubmitted(_pin(AUTH)))  # "same" (the default), but it is the auth PIN
    assert (state.phase, state.tries_left, state.pin_rejected) == (Phase.CARD_INFO_PIN_ENTRY, 2, True)
    assert state.held_pin is None
    assert not runner.holds_pin
    assert _failed_verifies(card, "jpki") == 0  # card-info goes first: the auth PIN is untouched
    state = runner.dispatch(CardInfoPinSubmitted(_pin(CARD_INFO)))
    assert (state.phase, state.tries_left, state.held_pin) == (Phase.PIN_ENTRY, 3, PinSlot.CARD_INFO)
    state = runner.dispatch(PinSubmitted(_pin(AUTH)))
    _finish(runner, queue, state)
    assert (_failed_verifies(card, "card_info"), _failed_verifies(card, "jpki")) == (1, 0)


def test_same_pin_verified_on_card_info_but_refused_on_auth_keeps_the_card_info_pin(tmp_path: Path) -> None:
    card, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    state = runner.dispatch(PinSubmitted(_pin(CARD_INFO)))  # "same", but it is the card-info PIN
    assert (state.phase, state.tries_left, state.held_pin) == (Phase.PIN_ENTRY, 2, PinSlot.CARD_INFO)
    assert runner.holds_pin  # it verified: the resident only types the auth PIN now
    state = runner.dispatch(PinSubmitted(_pin(AUTH)))
    _finish(runner, queue, state)
    assert (_failed_verifies(card, "card_info"), _failed_verifies(card, "jpki")) == (0, 1)


def test_wrong_card_info_pin_keeps_the_typed_auth_pin_untried(tmp_path: Path) -> None:
    card, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    runner.dispatch(PinSubmitted(_pin(AUTH), same_pin=False))
    state = runner.dispatch(CardInfoPinSubmitted(_pin("0000")))
    assert (state.phase, state.tries_left, state.held_pin) == (Phase.CARD_INFO_PIN_ENTRY, 2, PinSlot.AUTH)
    assert _failed_verifies(card, "jpki") == 0
    state = runner.dispatch(CardInfoPinSubmitted(_pin(CARD_INFO)))
    _finish(runner, queue, state)


def test_a_held_pin_is_wiped_when_the_session_ends(tmp_path: Path) -> None:
    _, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    auth = _pin(AUTH)
    runner.dispatch(PinSubmitted(auth, same_pin=False))
    assert runner.holds_pin
    assert auth == _pin(AUTH)
    state = runner.dispatch(Cancel())
    assert state.phase is Phase.TAKE_CARD
    assert not runner.holds_pin
    assert auth == bytearray(4)
    assert queue.rows == []


def test_a_verify_without_the_held_pin_fails_typed_and_verifies_nothing(tmp_path: Path) -> None:
    """A driver that lost the held PIN (e.g. a new runner) never VERIFYs a partial pair."""
    card, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    runner.dispatch(PinSubmitted(_pin(AUTH), same_pin=False))
    runner._drop_held()  # simulate the loss
    state = runner.dispatch(CardInfoPinSubmitted(_pin(CARD_INFO)))
    assert (state.phase, state.error) == (Phase.ERROR, ErrorKind.CARD_READ_FAILED)
    assert card.refused == {}
    assert queue.rows == []


def test_card_info_pin_at_its_last_try_needs_and_gets_the_permission(tmp_path: Path) -> None:
    card, runner, queue = _setup(tmp_path)
    _to_pin(runner)
    state = runner.dispatch(PinSubmitted(_pin("0000")))
    state = runner.dispatch(CardInfoPinSubmitted(_pin("0000"), same_pin=True))
    assert (state.phase, state.tries_left) == (Phase.CARD_INFO_LAST_TRY_CONFIRM, 1)
    assert _failed_verifies(card, "jpki") == 0
    state = runner.dispatch(LastTryConfirmed())
    state = runner.dispatch(CardInfoPinSubmitted(_pin(CARD_INFO)))
    assert (state.phase, state.held_pin) == (Phase.PIN_ENTRY, PinSlot.CARD_INFO)
    state = runner.dispatch(PinSubmitted(_pin(AUTH)))
    _finish(runner, queue, state)
    assert (_failed_verifies(card, "card_info"), _failed_verifies(card, "jpki")) == (2, 0)
