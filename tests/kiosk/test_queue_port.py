"""The queue port's promise, kept by the real outbox: its refusals are the kiosk's typed errors.

The runner catches only :class:`~kiosk.ports.QueueRefusedError`, so every error ``Outbox.enqueue``
documents must be one, or a disk-full would crash the kiosk instead of showing "save failed". These
tests use a real SQLite outbox and a real device key (the runner tests use an in-memory queue).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona
from kiosk.flow import ErrorKind, Phase
from kiosk.ports import (
    QueueDuplicateError,
    QueueInvalidRecordError,
    QueueNotEnrolledError,
    QueueRefusedError,
    QueueUnavailableError,
    RegistrationQueue,
)
from sync import wire
from sync.device_keys import DeviceStore
from sync.errors import (
    DuplicateRecordError,
    InvalidRecordError,
    NotEnrolledError,
    OutboxError,
    OutboxStorageError,
    SyncError,
)
from sync.outbox import OUTBOX_FILE, Outbox

from .runkit import make_runner, register_through, session_factory

PROGRAM = "miyagi-point-2025-second"


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    data = tmp_path / "data"
    store = DeviceStore(data)
    store.load_or_create_device_key()
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("test", raw, wire.SUITE_ID))
    with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer("test-kiosk-1")) as box:
        yield box


@pytest.mark.parametrize(
    ("sync_error", "port_error"),
    [
        (NotEnrolledError, QueueNotEnrolledError),
        (DuplicateRecordError, QueueDuplicateError),
        (InvalidRecordError, QueueInvalidRecordError),
        (OutboxStorageError, QueueUnavailableError),
    ],
)
def test_each_enqueue_error_is_the_port_refusal_and_stays_in_the_sync_tree(
    sync_error: type[SyncError], port_error: type[QueueRefusedError]
) -> None:
    assert issubclass(sync_error, port_error)
    assert issubclass(sync_error, SyncError)  # sync's own callers keep catching it as before


def test_errors_enqueue_never_raises_are_not_refusals() -> None:
    """Only what ``enqueue`` raises joins the kiosk tree; the rest of sync's errors stay out."""
    assert not issubclass(OutboxError, QueueRefusedError)
    assert not issubclass(SyncError, QueueRefusedError)


def test_the_outbox_is_a_registration_queue(outbox: Outbox) -> None:
    assert isinstance(outbox, RegistrationQueue)


def test_a_duplicate_record_id_is_a_duplicate_refusal(outbox: Outbox) -> None:
    record_id = str(uuid.uuid4())
    outbox.enqueue(b"{}", record_id=record_id, program_id=PROGRAM)
    with pytest.raises(QueueDuplicateError):
        outbox.enqueue(b"{}", record_id=record_id, program_id=PROGRAM)
    assert outbox.status().depth == 1


def test_a_programme_id_the_wire_refuses_is_an_invalid_record_refusal(outbox: Outbox) -> None:
    with pytest.raises(QueueInvalidRecordError):
        outbox.enqueue(b"{}", record_id=str(uuid.uuid4()), program_id="Not A Programme!")
    assert outbox.status().depth == 0


def test_failing_storage_is_an_unavailable_refusal(outbox: Outbox) -> None:
    outbox.connection.close()  # every statement now fails inside SQLite
    with pytest.raises(QueueUnavailableError):
        outbox.enqueue(b"{}", record_id=str(uuid.uuid4()), program_id=PROGRAM)


def test_the_runner_saves_into_the_real_outbox(tmp_path: Path, outbox: Outbox) -> None:
    persona = load_persona("miyagi-sendai")
    card = VirtualMyNumberCard(persona)
    runner = make_runner(session_factory(lambda: InProcessConnection(card)), tmp_path, outbox)
    state = register_through(runner, persona.auth_pin)
    assert state.phase is Phase.RECEIPT
    assert outbox.status().depth == 1


def test_an_outbox_without_a_device_key_gives_save_failed_and_queues_nothing(tmp_path: Path) -> None:
    persona = load_persona("miyagi-sendai")
    card = VirtualMyNumberCard(persona)
    with Outbox.open(tmp_path / "data" / OUTBOX_FILE) as unsealed:  # opened without a sealer
        runner = make_runner(session_factory(lambda: InProcessConnection(card)), tmp_path, unsealed)
        state = register_through(runner, persona.auth_pin)
        assert (state.phase, state.error) == (Phase.ERROR, ErrorKind.SAVE_FAILED)
        assert runner.last_save_failure == "NotEnrolledError"
        assert unsealed.status().depth == 0
