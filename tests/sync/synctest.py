"""Helpers shared by the sync tests (imported by name: tests/sync is on sys.path under pytest)."""

from __future__ import annotations

import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sync import wire
from sync.device_keys import DeviceStore

KIOSK_ID = "test-kiosk-01"


def raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def enroll_offline(
    data_dir: Path, server_key: X25519PrivateKey, url: str = "http://127.0.0.1:1"
) -> DeviceStore:
    """Pin ``server_key`` in ``data_dir`` as enrollment would, without a server."""
    store = DeviceStore(data_dir)
    store.load_or_create_device_key()
    store.pin_server(url, wire.EnrollResponse("dev-test", raw_public(server_key), wire.SUITE_ID))
    return store


def new_id() -> str:
    return str(uuid.uuid4())
