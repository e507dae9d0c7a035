"""Device files: storage failures are typed (DeviceError / OutboxStorageError), stale temp files heal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sync.device_keys import DeviceStore, write_private_file
from sync.errors import KeyFileError, OutboxStorageError
from sync.outbox import OUTBOX_FILE, Outbox


def test_a_stale_temporary_file_of_the_same_pid_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "device.key"
    stale = tmp_path / f".device.key.{os.getpid()}.tmp"
    stale.write_bytes(b"half-written by a crash")
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists()
    assert target.stat().st_mode & 0o777 == 0o600


def test_an_unwritable_data_directory_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_bytes(b"")
    store = DeviceStore(blocker / "data")  # a directory below a regular file cannot exist
    with pytest.raises(KeyFileError):
        store.load_or_create_device_key()
    with pytest.raises(OutboxStorageError):
        Outbox.open(blocker / "data" / OUTBOX_FILE)
