"""Shared fixtures for the sync tests: a server key pair, an enrolled device directory, an outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from synctest import KIOSK_ID, enroll_offline

from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox


@pytest.fixture
def server_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "kiosk-data"


@pytest.fixture
def store(data_dir: Path, server_key: X25519PrivateKey) -> DeviceStore:
    return enroll_offline(data_dir, server_key)


@pytest.fixture
def outbox(store: DeviceStore, data_dir: Path) -> Iterator[Outbox]:
    box = Outbox.open(data_dir / OUTBOX_FILE, sealer=store.sealer(KIOSK_ID))
    yield box
    box.close()
