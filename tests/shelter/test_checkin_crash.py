"""The outbox's SIGKILL test, extended to shelter check-ins (a kiosk on a generator may lose power
at any moment): a real child process checks people in through the real desk, outbox and local state
and is killed at random moments. After every kill, every acknowledged check-in is in the outbox
exactly once, both SQLite files pass ``integrity_check``, and every acknowledged arrival is known to
the local state (so a second tap asks "leaving?" instead of checking the person in twice).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.shelter_state import STATE_FILE
from sync import wire
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crash_checkin_child.py")
KILLS = 30


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_checkin(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = DeviceStore(data_dir)
    store.load_or_create_device_key()
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev", raw, wire.SUITE_ID))
    log = tmp_path / "acknowledged.log"
    rng = random.Random(20261203)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for kill in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(data_dir), str(log)], stdout=subprocess.PIPE, env=env
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.02, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()

        for name in (OUTBOX_FILE, STATE_FILE):
            conn = sqlite3.connect(data_dir / name)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", (kill, name)
            conn.close()
        with Outbox.open(data_dir / OUTBOX_FILE) as box:
            in_db = box.record_ids()
        lines = [line.split() for line in log.read_text().splitlines()]
        acknowledged = {rid for _, rid in lines}
        arrivals = {rid for kind, rid in lines if kind == "A"}
        assert len(in_db) == len(set(in_db)), kill
        missing = acknowledged - set(in_db)
        assert not missing, f"kill {kill}: {len(missing)} acknowledged check-in(s) lost"
        conn = sqlite3.connect(data_dir / STATE_FILE)
        known = {r[0] for r in conn.execute("SELECT arrival_record_id FROM present")}
        conn.close()
        assert arrivals <= known, f"kill {kill}: an acknowledged arrival is not in the local state"
        # at most one record per kill (plus its companions record) committed but not yet acknowledged
        assert len(in_db) - len(acknowledged) <= 2 * (kill + 1), kill
    assert len(acknowledged) > KILLS
    print(f"kills={KILLS} acknowledged={len(acknowledged)} rows={len(in_db)}")
