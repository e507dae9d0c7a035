"""The composition root (``kiosk/composition.py``) builds the parts the front ends run on.

Real parts throughout: the test trust anchors, a device store in a temporary data directory, the
SQLite outbox, the in-process virtual card behind the training reader.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card.errors import NoCardError
from card.virtual.errors import PersonaError
from kiosk import composition
from kiosk.demo_support import profile_with_test_trust
from kiosk.flow.machine import Flow, FlowSettings
from kiosk.rules.programs import load_programs
from kiosk.settings import KioskSettings, load_settings
from sync import wire
from sync.errors import NotEnrolledError

KIOSK_ID = "composition-test"


def _settings(tmp_path: Path, *, enrolled: bool) -> KioskSettings:
    data_dir = tmp_path / "data"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        profile_with_test_trust(
            kiosk_id=KIOSK_ID,
            mode="staff",
            data_dir=data_dir,
            program="demo",
            server_url="http://127.0.0.1:1",
        ),
        encoding="utf-8",
    )
    settings = load_settings(config)
    if enrolled:
        store = composition.device_store(settings)
        store.load_or_create_device_key()
        raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev-composition", raw, wire.SUITE_ID))
    return settings


def _flow(settings: KioskSettings) -> Flow:
    return Flow(
        FlowSettings(settings.mode, settings.language, settings.program, settings.timeouts),
        load_programs(settings.programs_dir),
        clock=lambda: dt.datetime.now().astimezone(),
    )


def _card_side(settings: KioskSettings, persona: str) -> composition.KioskCardSide:
    return composition.build_kiosk_card_side(
        settings, _flow(settings), persona=persona, background_sync=False, reader_state=lambda: "ready"
    )


def test_before_enrollment_there_is_no_outbox_to_write(tmp_path: Path) -> None:
    settings = _settings(tmp_path, enrolled=False)
    with pytest.raises(NotEnrolledError):
        composition.open_sealing_outbox(settings)
    assert composition.outbox_status(settings) is None  # nothing created by the refusal
    with pytest.raises(NotEnrolledError):
        _card_side(settings, "jlis-test")


def test_the_kiosk_card_side_in_training_mode(tmp_path: Path) -> None:
    settings = _settings(tmp_path, enrolled=True)
    side = _card_side(settings, "jlis-test")
    try:
        reader = side.cards.training_reader
        assert reader is not None
        assert side.sync is None  # background_sync=False
        assert side.cards.pcsc is None  # training mode opens no PC/SC context
        with pytest.raises(NoCardError):
            side.cards.open_session()  # the card is not on the training reader yet
        reader.place()
        session = side.cards.open_session()
        try:
            tries = session.prefetch().tries_left
        finally:
            session.close()
        assert tries.auth == 3
    finally:
        side.close()
        side.release()
    status = composition.outbox_status(settings)
    assert status is not None  # the sealing outbox was created in the data directory
    assert status.depth == 0


def test_a_bad_persona_is_raised_as_it_is(tmp_path: Path) -> None:
    """The Qt front end maps a ``PersonaError`` to exit 2 (configuration): the root must not wrap it."""
    settings = _settings(tmp_path, enrolled=True)
    with pytest.raises(PersonaError):
        _card_side(settings, "no-such-persona")
