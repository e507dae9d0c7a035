"""Outbox state machine, durability settings, file modes and recovery, on real SQLite files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from synctest import KIOSK_ID, new_id

from sync.device_keys import DeviceStore
from sync.errors import (
    DuplicateRecordError,
    InvalidRecordError,
    NotEnrolledError,
    SchemaVersionError,
    SyncError,
)
from sync.outbox import OUTBOX_FILE, Outbox, RecordState, Settlement
from sync.sealing import open_envelope

PLAIN = json.dumps({"resident": {"name": "佐藤花子"}}, ensure_ascii=False).encode()


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_pragmas_and_private_files(outbox: Outbox, data_dir: Path, store: DeviceStore) -> None:
    outbox.enqueue(PLAIN, record_id=new_id(), program_id="demo")
    conn = outbox.connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert _mode(data_dir) == 0o700
    for name in (OUTBOX_FILE, OUTBOX_FILE + "-wal", OUTBOX_FILE + "-shm"):
        assert _mode(data_dir / name) == 0o600, name
    assert _mode(store.key_path) == 0o600
    assert _mode(store.server_path) == 0o600
    db = sqlite_utils.Database(data_dir / OUTBOX_FILE)
    assert set(db["outbox"].columns_dict) == {
        "seq",
        "record_id",
        "kiosk_id",
        "program_id",
        "created_at",
        "size",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "ct",
        "sig",
    }
    assert [r["version"] for r in db["schema_version"].rows] == [1]


def test_state_machine_and_counters(outbox: Outbox, server_key: X25519PrivateKey, store: DeviceStore) -> None:
    ids = [new_id() for _ in range(4)]
    for i, rid in enumerate(ids):
        assert outbox.enqueue(PLAIN, record_id=rid, program_id="demo").seq == i + 1
    claimed = outbox.claim(max_records=3)
    assert [c.record_id for c in claimed] == ids[:3]
    assert all(c.attempts == 1 for c in claimed)
    # The claimed envelope opens on the server side: what is queued is what the server reads.
    assert (
        open_envelope(
            claimed[0].envelope,
            server_private_key=server_key,
            device_public_key=store.load_device_key().public_key(),
            expected_kiosk_id=KIOSK_ID,
        )
        == PLAIN
    )
    assert outbox.status().counts == {"PENDING": 1, "SENDING": 3, "REJECTED": 0}
    outbox.settle(Settlement(accepted=[ids[0]], duplicate=[ids[1]], rejected={ids[2]: "Bad Signature!"}))
    st = outbox.status()
    assert st.counts == {"PENDING": 1, "SENDING": 0, "REJECTED": 1}
    assert st.depth == 1
    assert st.today == {"enqueued": 4, "accepted": 1, "duplicate": 1, "rejected": 1}
    assert outbox.record_ids() == [ids[2], ids[3]]
    [(env, reason)] = outbox.rejected()
    assert env.record_id == ids[2]
    assert reason == "bad_signature_"
    # Settling an id twice (a late duplicate reply) changes nothing.
    outbox.settle(Settlement(accepted=[ids[0], ids[2]]))
    assert outbox.status().today["accepted"] == 1
    assert outbox.record_ids([RecordState.REJECTED]) == [ids[2]]


def test_retry_schedules_and_claim_respects_it(data_dir: Path, store: DeviceStore) -> None:
    now = [1_000_000.0]
    box = Outbox.open(data_dir / OUTBOX_FILE, sealer=store.sealer(KIOSK_ID), clock=lambda: now[0])
    rid = new_id()
    box.enqueue(PLAIN, record_id=rid, program_id="demo")
    [c] = box.claim()
    box.release([c.record_id], next_attempt_at=now[0] + 30, error_code="transport")
    assert box.claim() == []
    assert box.next_due() == now[0] + 30
    assert [c.record_id for c in box.claim(ignore_schedule=True)] == [rid]
    box.release([rid], next_attempt_at=now[0] + 30, error_code="transport")
    now[0] += 31
    [again] = box.claim()
    assert again.attempts == 3
    assert box.status().last_errors == {"transport": 1}
    box.close()


def test_sequence_never_goes_back_after_deletes(outbox: Outbox) -> None:
    a, b = new_id(), new_id()
    outbox.enqueue(PLAIN, record_id=a, program_id="demo")
    outbox.enqueue(PLAIN, record_id=b, program_id="demo")
    outbox.claim()
    outbox.settle(Settlement(accepted=[a, b]))
    assert outbox.enqueue(PLAIN, record_id=new_id(), program_id="demo").seq == 3


def test_duplicate_and_invalid_enqueue_write_nothing(outbox: Outbox) -> None:
    rid = new_id()
    outbox.enqueue(PLAIN, record_id=rid, program_id="demo")
    with pytest.raises(DuplicateRecordError):
        outbox.enqueue(PLAIN, record_id=rid, program_id="demo")
    with pytest.raises(InvalidRecordError):
        outbox.enqueue(PLAIN, record_id="NOT-A-UUID", program_id="demo")
    with pytest.raises(InvalidRecordError):
        outbox.enqueue(PLAIN, record_id=new_id(), program_id="bad programme id")
    assert outbox.record_ids() == [rid]
    assert outbox.status().today["enqueued"] == 1
    # The failed attempts did not consume sequence numbers either (their transactions rolled back).
    assert outbox.enqueue(PLAIN, record_id=new_id(), program_id="demo").seq == 2


def test_crashed_sending_rows_return_to_pending(outbox: Outbox, data_dir: Path) -> None:
    ids = [new_id() for _ in range(3)]
    for rid in ids:
        outbox.enqueue(PLAIN, record_id=rid, program_id="demo")
    outbox.claim(max_records=2)
    # A status-only opener must not touch SENDING rows; the uploader's opener recovers them.
    with Outbox.open(data_dir / OUTBOX_FILE, recover=False) as viewer:
        assert viewer.status().counts["SENDING"] == 2
    with Outbox.open(data_dir / OUTBOX_FILE) as reopened:
        st = reopened.status()
        assert st.counts == {"PENDING": 3, "SENDING": 0, "REJECTED": 0}
        assert st.last_errors == {"interrupted": 2}
        assert [c.record_id for c in reopened.claim()] == ids


def test_status_only_outbox_cannot_enqueue(data_dir: Path) -> None:
    with Outbox.open(data_dir / OUTBOX_FILE) as box, pytest.raises(NotEnrolledError):
        box.enqueue(PLAIN, record_id=new_id(), program_id="demo")


def test_newer_schema_is_refused(outbox: Outbox, data_dir: Path) -> None:
    outbox.connection.execute("INSERT INTO schema_version VALUES (99, 'x')")
    with pytest.raises(SchemaVersionError):
        Outbox.open(data_dir / OUTBOX_FILE)


def test_existing_loose_file_modes_are_tightened(tmp_path: Path) -> None:
    d = tmp_path / "loose"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    (d / OUTBOX_FILE).touch()
    os.chmod(d / OUTBOX_FILE, 0o644)
    Outbox.open(d / OUTBOX_FILE).close()
    assert _mode(d) == 0o700
    assert _mode(d / OUTBOX_FILE) == 0o600


def test_claim_byte_budget(outbox: Outbox) -> None:
    big = b"x" * 300_000
    for _ in range(5):
        outbox.enqueue(big, record_id=new_id(), program_id="demo")
    batch = outbox.claim(max_bytes=1_000_000)
    assert len(batch) == 2  # 2 x ~400 KB of base64 fit, a third would not
    assert len(outbox.claim(max_bytes=10)) == 1  # always progress, even for one oversized record


def test_outbox_is_the_kiosk_registration_queue(outbox: Outbox) -> None:
    from kiosk.ports import RegistrationQueue

    assert isinstance(outbox, RegistrationQueue)
    with pytest.raises(SyncError):  # every enqueue failure is in the sync error tree
        outbox.enqueue(PLAIN, record_id="x", program_id="demo")


def test_sqlite_failures_are_typed(outbox: Outbox) -> None:
    from sync.errors import OutboxStorageError

    outbox.enqueue(PLAIN, record_id=new_id(), program_id="demo")
    outbox.connection.execute("PRAGMA query_only = 1")  # every write now fails inside SQLite
    with pytest.raises(OutboxStorageError):
        outbox.claim()
    with pytest.raises(OutboxStorageError):
        outbox.enqueue(PLAIN, record_id=new_id(), program_id="demo")
    with pytest.raises(OutboxStorageError):
        outbox.settle(Settlement(retry={new_id(): (0.0, "x")}))
    outbox.connection.execute("PRAGMA query_only = 0")
    assert outbox.status().counts["PENDING"] == 1  # nothing half-written
    outbox.close()
    for read in (outbox.schema_version, outbox.status, outbox.record_ids):
        with pytest.raises(OutboxStorageError):  # a closed database: still the typed error
            read()
