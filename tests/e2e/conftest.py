"""End-to-end fixtures: the virtual My Number Card on the real PC/SC stack (pcscd + vpcd + pyscard).

- Every test under tests/e2e is marked ``e2e`` and gets a timeout that covers waiting for the lock.
- The session holds the exclusive lock ``/tmp/madoguchi-vpcd.lock`` (docs/development.md), so two
  test runs never put two cards on one vpcd port.
- Without pcscd (``/run/pcscd/pcscd.comm`` missing) e2e tests skip, unless
  ``MADOGUCHI_REQUIRE_E2E=1`` (set by scripts/test.sh), where they fail.
- Card presence is awaited by polling the PC/SC reader state (``SCardGetStatusChange``), never by
  sleeping: pcscd notices an insert or removal at its next poll, ~0.1-0.4 s (pcsc-test-stack.md §3),
  and a new card must not be inserted before the old one was seen EMPTY (the re-insert race).

Usage::

    def test_something(insert_card):
        with insert_card("jlis-test", remove_after=5) as card:
            ...  # talk to READER (pyscard) or through card.pcsc; card.access_log records it
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from card.virtual.card import VirtualMyNumberCard
from card.virtual.faults import FaultPlan
from card.virtual.persona import Persona, load_persona
from card.virtual.vpcd import DEFAULT_PORT, VpcdCard
from kiosk.demo_support import LOCK_HELD_ENV, LOCK_PATH, vpcd_lock

#: pcscd's socket; overridable only so the skip/fail rule itself can be tested.
PCSCD_SOCKET = Path(os.environ.get("MADOGUCHI_PCSCD_SOCKET", "/run/pcscd/pcscd.comm"))
#: The vpcd reader served by DEFAULT_PORT (35963).
READER = "Virtual PCD 00 00"


def reader_for_port(port: int) -> str:
    """vpcd slot n listens on 35963 + n and is the reader ``Virtual PCD 00 0n``."""
    return f"Virtual PCD 00 {port - DEFAULT_PORT:02d}"


LOCK_TIMEOUT_S = 300.0
#: Per-test timeout of e2e tests: the first one may wait LOCK_TIMEOUT_S for another run's lock.
E2E_TEST_TIMEOUT_S = LOCK_TIMEOUT_S + 120
STATE_TIMEOUT_S = 10.0

InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(E2E_TEST_TIMEOUT_S))


def _require_e2e() -> bool:
    return os.environ.get("MADOGUCHI_REQUIRE_E2E") == "1"


@pytest.fixture(scope="session")
def vpcd_session() -> Iterator[None]:
    """pcscd is there (else skip/fail) and this process holds the vpcd lock for the whole session."""
    if not PCSCD_SOCKET.exists():
        message = f"pcscd is not running ({PCSCD_SOCKET} missing)"
        if _require_e2e():
            pytest.fail(message + " and MADOGUCHI_REQUIRE_E2E=1")
        pytest.skip(message)
    with ExitStack() as stack:
        try:
            stack.enter_context(vpcd_lock(timeout=LOCK_TIMEOUT_S))
        except TimeoutError:
            pytest.fail(f"{LOCK_PATH} is held by another test run for {LOCK_TIMEOUT_S:.0f} s")
        # Tell everything else in this process (and its children) that the lock is held, so code
        # that takes it itself (kiosk.demo_support.vpcd_lock, tests/ui) does not wait on us.
        previous = os.environ.get(LOCK_HELD_ENV)
        os.environ[LOCK_HELD_ENV] = "1"
        try:
            wait_reader_state(READER, present=False, timeout=STATE_TIMEOUT_S)
            yield
        finally:
            if previous is None:
                os.environ.pop(LOCK_HELD_ENV, None)
            else:
                os.environ[LOCK_HELD_ENV] = previous


def wait_reader_state(reader: str, *, present: bool, timeout: float = STATE_TIMEOUT_S) -> None:
    """Block until PC/SC reports ``reader`` PRESENT (a powered-up-able card) or EMPTY."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise RuntimeError(f"SCardEstablishContext failed: {scard.SCardGetErrorMessage(hresult)}")
    try:
        deadline = time.monotonic() + timeout
        states: list[tuple[str, int]] = [(reader, scard.SCARD_STATE_UNAWARE)]
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, new_states = scard.SCardGetStatusChange(context, remaining_ms, states)
            if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
                raise RuntimeError(f"SCardGetStatusChange failed: {scard.SCardGetErrorMessage(hresult)}")
            _, event, _atr = new_states[0]
            if present and event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE:
                return
            if not present and event & scard.SCARD_STATE_EMPTY:
                return
            if time.monotonic() >= deadline:
                want = "PRESENT" if present else "EMPTY"
                raise TimeoutError(f"reader {reader!r} did not become {want} within {timeout} s")
            states = [(reader, event & ~scard.SCARD_STATE_CHANGED)]
    finally:
        scard.SCardReleaseContext(context)


def make_card(
    persona_or_card: str | Path | Persona | VirtualMyNumberCard, **faults: Any
) -> VirtualMyNumberCard:
    """A card from a persona id/path/object (with a fault plan from ``faults``), or the card itself."""
    if isinstance(persona_or_card, VirtualMyNumberCard):
        if faults:
            raise ValueError("pass faults when building the card, not with a ready card")
        return persona_or_card
    persona = persona_or_card if isinstance(persona_or_card, Persona) else load_persona(persona_or_card)
    return VirtualMyNumberCard(persona, faults=FaultPlan(**faults))


@contextmanager
def inserted(
    persona_or_card: str | Path | Persona | VirtualMyNumberCard = "jlis-test",
    *,
    port: int = DEFAULT_PORT,
    **faults: Any,
) -> Iterator[VirtualMyNumberCard]:
    """Insert a card (``port`` 35963 = READER, 35964 = ``Virtual PCD 00 01``), wait PRESENT, yield
    it; on exit remove it and wait EMPTY. ``faults`` are :class:`FaultPlan` fields."""
    reader = reader_for_port(port)
    card = make_card(persona_or_card, **faults)
    wait_reader_state(reader, present=False)
    vpcd = VpcdCard(card, port=port)
    events_while_in: int | None = None
    try:
        _insert_and_wait_present(vpcd, reader)
        events_while_in = card_events(reader)[0]
        yield card
    finally:
        vpcd.remove()
        if events_while_in is None:
            wait_reader_state(reader, present=False)
        else:
            wait_removal_seen(reader, events_while_in)


def card_events(reader: str) -> tuple[int, int]:
    """``(card events, state flags)`` of ``reader`` now: pcsc-lite keeps in the upper 16 bits of
    dwEventState a counter its reader thread increments at each insertion and removal it sees."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise RuntimeError(f"SCardEstablishContext failed: {scard.SCardGetErrorMessage(hresult)}")
    try:
        hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            raise RuntimeError(f"SCardGetStatusChange failed: {scard.SCardGetErrorMessage(hresult)}")
        event = int(states[0][1])
        return event >> 16, event & 0xFFFF
    finally:
        scard.SCardReleaseContext(context)


def wait_removal_seen(reader: str, events_while_in: int, timeout: float = STATE_TIMEOUT_S) -> None:
    """Poll (20 ms) until pcscd's reader thread itself has seen the card leave ``reader``.

    Why not just "EMPTY": after a card vanished mid-APDU (fault plan ``remove_after``) and the
    holder released its handle, PC/SC reports EMPTY at once, but pcscd's reader thread notices only
    at its next presence poll (up to ~0.4 s later). A card inserted before that poll is taken for
    the old one and never powered up (see :func:`_insert_and_wait_present`). The event counter moves
    exactly when the reader thread records the removal, so that is the condition waited for.
    """
    from smartcard import scard

    deadline = time.monotonic() + timeout
    while True:
        events, flags = card_events(reader)
        if events != events_while_in and flags & scard.SCARD_STATE_EMPTY:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"pcscd did not see the card leave {reader!r} within {timeout} s "
                f"(card events {events}, {events_while_in} while it was in; state 0x{flags:04x})"
            )
        time.sleep(0.02)


def _insert_and_wait_present(vpcd: VpcdCard, reader: str) -> None:
    """Insert and wait PRESENT, working around pcscd's stale state after a card left mid-APDU.

    When a card vanished while a PC/SC handle was open (fault plan ``remove_after``) and that handle
    was then released, pcscd already reports EMPTY although its reader thread never polled the
    reader without a card; vpcd then accepts the next card at that very poll and pcscd, believing
    the old card is still there, keeps asking for the ATR but never powers the new one. That
    signature (ATR polls, no power-on) is detected from the card side, and the card is taken out
    and put back once: vpcd's next poll sees it gone, the one after sees a new card.
    """
    vpcd.insert()
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while True:
        try:
            wait_reader_state(reader, present=True, timeout=0.25)
            _check_it_is_ours(vpcd, reader)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
        if vpcd.atr_requests >= 2 and not vpcd.power_ons:  # two polls, never powered: stale state
            break
    vpcd.remove()
    vpcd.insert()
    wait_reader_state(reader, present=True)
    _check_it_is_ours(vpcd, reader)


def _check_it_is_ours(vpcd: VpcdCard, reader: str) -> None:
    """pcscd powers a card up before it reports PRESENT: if ours never was, another card is in."""
    if not vpcd.power_ons:
        raise RuntimeError(f"{reader!r} holds a card that is not ours (a process without the vpcd lock?)")


@pytest.fixture
def insert_card(vpcd_session: None) -> InsertCard:
    """``with insert_card(persona_or_card, **faults) as card:`` — see :func:`inserted`."""
    return inserted


@pytest.fixture
def reader_name(vpcd_session: None) -> str:
    """PC/SC name of the reader the fixtures insert into (``Virtual PCD 00 00``)."""
    return READER


@pytest.fixture
def wait_reader(vpcd_session: None) -> Callable[..., None]:
    """``wait_reader(present=True|False)``: poll PC/SC until the reader is PRESENT / EMPTY."""

    def wait(*, present: bool, timeout: float = STATE_TIMEOUT_S) -> None:
        wait_reader_state(READER, present=present, timeout=timeout)

    return wait
