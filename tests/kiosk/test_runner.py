"""The runner with the real card layer over the in-process virtual card: whole registrations."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography import x509

from card.virtual.card import VirtualMyNumberCard
from card.virtual.faults import FaultPlan
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona
from kiosk.flow import CardInfoPinSubmitted, CardRemoved, ErrorKind, Phase
from kiosk.ports import (
    QueueDuplicateError,
    QueueInvalidRecordError,
    QueueNotEnrolledError,
    QueueRefusedError,
    QueueUnavailableError,
)
from kiosk.rules.eligibility import ReasonCode
from kiosk.rules.record import parse_signed, verify_card_signature

from .runkit import MemoryQueue, make_runner, register_through, session_factory


def _card(persona: str, **faults: object) -> VirtualMyNumberCard:
    return VirtualMyNumberCard(load_persona(persona), faults=FaultPlan(**faults))  # type: ignore[arg-type]


def _runner(card: VirtualMyNumberCard, tmp_path: Path, queue: MemoryQueue, **kw: object):  # type: ignore[no-untyped-def]
    return make_runner(session_factory(lambda: InProcessConnection(card)), tmp_path, queue, **kw)  # type: ignore[arg-type]


def test_a_resident_registers_and_the_record_is_card_signed(tmp_path: Path) -> None:
    persona = load_persona("miyagi-sendai")
    card = _card("miyagi-sendai")
    queue = MemoryQueue()
    runner = _runner(card, tmp_path, queue)
    state = register_through(runner, persona.auth_pin)
    assert state.phase is Phase.RECEIPT
    assert state.receipt_status == "queued"
    assert not state.holds_personal_data
    ((plaintext, record_id, program_id),) = queue.rows
    signed = parse_signed(plaintext)
    verify_card_signature(signed)
    record = signed.record
    assert (
        (record.record_id, record.program_id)
        == (record_id, program_id)
        == (state.record_id, "miyagi-point-2025-second")
    )
    assert record.code == state.code
    assert (record.resident.name, record.resident.address) == (persona.name, persona.address)
    assert record.services == ("disaster", "point")
    assert record.kiosk.sequence == 1
    assert record.verification.chain
    assert record.verification.genuine_card
    cert = x509.load_der_x509_certificate(record.auth_certificate)
    assert persona.my_number not in plaintext.decode()
    assert "JPKI-TEST" in cert.issuer.rfc4514_string()
    touched = {(e.ap, e.ef) for e in card.access_log}
    assert ("card_info", 0x0001) not in touched
    assert ("card_info", 0x0014) not in touched


def test_sequence_increases_and_second_registration_is_refused_here(tmp_path: Path) -> None:
    persona = load_persona("miyagi-sendai")
    queue = MemoryQueue()
    runner = _runner(_card("miyagi-sendai"), tmp_path, queue)
    assert register_through(runner, persona.auth_pin).phase is Phase.RECEIPT
    runner2 = _runner(_card("miyagi-sendai"), tmp_path, queue)
    state = register_through(runner2, persona.auth_pin)
    assert state.phase is Phase.NOT_ELIGIBLE
    assert state.eligibility is not None
    assert state.eligibility.codes == (ReasonCode.ALREADY_REGISTERED_HERE,)
    assert len(queue.rows) == 1
    other = _runner(_card("miyagi-elderly"), tmp_path, queue)
    assert register_through(other, load_persona("miyagi-elderly").auth_pin).phase is Phase.RECEIPT
    assert parse_signed(queue.rows[-1][0]).record.kiosk.sequence == 2


def test_non_resident_is_refused_with_the_reason(tmp_path: Path) -> None:
    queue = MemoryQueue()
    runner = _runner(_card("tochigi-utsunomiya"), tmp_path, queue)
    state = register_through(runner, load_persona("tochigi-utsunomiya").auth_pin)
    assert state.phase is Phase.NOT_ELIGIBLE
    assert state.eligibility is not None
    assert state.eligibility.codes == (ReasonCode.NOT_RESIDENT,)
    assert not state.holds_personal_data
    assert queue.rows == []


def test_wrong_pin_then_right_pin(tmp_path: Path) -> None:
    persona = load_persona("miyagi-sendai")
    queue = MemoryQueue()
    runner = _runner(_card("miyagi-sendai"), tmp_path, queue)
    state = register_through(runner, "0000")
    # The card-info AP (verified first) refused it: its own screen, the auth PIN never tried.
    assert state.phase is Phase.CARD_INFO_PIN_ENTRY
    assert state.pin_rejected
    assert state.tries_left == 2
    assert state.held_pin is None
    assert not runner.holds_pin
    pin = bytearray(persona.auth_pin.encode())
    state = runner.dispatch(CardInfoPinSubmitted(pin, same_pin=True))  # "it was a typo"
    assert pin == bytearray(4)  # zeroed by the executor
    assert state.phase is Phase.CONFIRM


@pytest.mark.parametrize(
    ("persona", "phase", "error"),
    [
        ("miyagi-blocked", Phase.ERROR, ErrorKind.PIN_BLOCKED),
        ("miyagi-expired-cert", Phase.ERROR, ErrorKind.CERTIFICATE_EXPIRED),
    ],
)
def test_card_problems(tmp_path: Path, persona: str, phase: Phase, error: ErrorKind) -> None:
    queue = MemoryQueue()
    runner = _runner(_card(persona), tmp_path, queue)
    state = register_through(runner, load_persona(persona).auth_pin)
    assert (state.phase, state.error) == (phase, error)
    assert queue.rows == []


@pytest.mark.parametrize(
    "error",
    [
        QueueUnavailableError("disk full"),
        QueueNotEnrolledError("no server key"),
        QueueDuplicateError("already queued"),
        QueueInvalidRecordError("bad programme id"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_refusal_from_the_queue_is_save_failed_with_nothing_queued(
    tmp_path: Path, error: QueueRefusedError, caplog: pytest.LogCaptureFixture
) -> None:
    persona = load_persona("miyagi-sendai")
    queue = MemoryQueue(error=error)
    runner = _runner(_card("miyagi-sendai"), tmp_path, queue)
    with caplog.at_level(logging.WARNING, logger="kiosk.runner"):
        state = register_through(runner, persona.auth_pin)
    assert (state.phase, state.error) == (Phase.ERROR, ErrorKind.SAVE_FAILED)
    assert queue.rows == []
    assert runner.last_save_failure == type(error).__name__
    # The warning names the error's type only: neither its message nor the resident.
    assert [r.getMessage() for r in caplog.records] == [
        f"the outbox refused a record: {type(error).__name__}"
    ]
    assert persona.name not in caplog.text
    assert str(error) not in caplog.text


def test_an_unexpected_error_from_the_queue_propagates(tmp_path: Path) -> None:
    """A bug behind the port (here a RuntimeError) is not disguised as "save failed"."""
    queue = MemoryQueue(error=RuntimeError("a bug in the queue"))
    runner = _runner(_card("miyagi-sendai"), tmp_path, queue)
    with pytest.raises(RuntimeError, match="a bug in the queue"):
        register_through(runner, load_persona("miyagi-sendai").auth_pin)
    assert queue.rows == []
    assert runner.last_save_failure is None


def _full_apdu_count(tmp_path: Path) -> int:
    card = _card("miyagi-sendai")
    runner = _runner(card, tmp_path / "count", MemoryQueue())
    assert register_through(runner, load_persona("miyagi-sendai").auth_pin).phase is Phase.RECEIPT
    return len(card.access_log)


def test_card_pulled_at_every_apdu_leaves_no_record(tmp_path: Path) -> None:
    total = _full_apdu_count(tmp_path)
    assert total >= 15
    pin = load_persona("miyagi-sendai").auth_pin
    for n in range(total):
        queue = MemoryQueue()
        runner = _runner(_card("miyagi-sendai", remove_after=n), tmp_path / f"n{n}", queue)
        state = register_through(runner, pin)
        state = runner.dispatch(CardRemoved())
        assert queue.rows == [], n
        assert state.phase in (Phase.ERROR, Phase.REINSERT), (n, state.phase)
        assert not state.holds_personal_data
