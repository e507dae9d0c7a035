"""Delivery against the real reference server (``madoguchi server run`` as a child process).

The server is down, then up, frozen (timeouts), killed mid-drain and restarted, and put behind a
proxy that fails batches before and *after* the server committed them. In the end every record is
accepted exactly once: the server's tables hold each record id once, with as many records as the
kiosk queued, and the kiosk's outbox is empty with no record rejected.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest
from chaosproxy import ChaosProxy
from realserver import ServerProcess, signed_plaintext

from sync.client import SyncClient
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.uploader import Uploader

KIOSK = "kiosk-delivery-1"
N = 240


def _client(url: str) -> SyncClient:
    return SyncClient(url, kiosk_id=KIOSK, timeout=httpx.Timeout(1.0, connect=1.0))


def _uploader(outbox: Outbox, client: SyncClient) -> Uploader:
    return Uploader(outbox, client, rng=random.Random(5), batch_records=20, base_s=0.01, cap_s=0.05)


@pytest.mark.slow
def test_exactly_once_through_outages_crashes_and_failures(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "server")
    srv.init()
    token = srv.device_token(KIOSK)
    store = DeviceStore(tmp_path / "kiosk")
    key = store.load_or_create_device_key()
    srv.start()
    try:
        with _client(srv.url) as client:
            store.pin_server(srv.url, client.enroll(token, key.public_key().public_bytes_raw()))
        srv.stop()  # 1. the server is down while the kiosk registers residents

        outbox = Outbox.open(tmp_path / "kiosk" / OUTBOX_FILE, sealer=store.sealer(KIOSK))
        ids = []
        for i in range(N):
            rid, plaintext = signed_plaintext(KIOSK, i + 1)
            outbox.enqueue(plaintext, record_id=rid, program_id="demo")
            ids.append(rid)

        with _client(srv.url) as client:
            report = _uploader(outbox, client).run_once()
        assert report.error == "SyncTransportError"
        assert outbox.status().depth == N

        # 2. up again: part of the queue goes through
        srv.start()
        with _client(srv.url) as client:
            report = _uploader(outbox, client).run_once(ignore_schedule=True, max_batches=2)
        assert report.accepted == 40

        # 3. frozen server: the request times out, nothing is lost
        srv.pause()
        with _client(srv.url) as client:
            report = _uploader(outbox, client).run_once(ignore_schedule=True, max_batches=1)
        assert report.error == "SyncTransportError"
        srv.resume()

        # 4. failures before and after the server committed a batch
        with (
            ChaosProxy(srv.url, ["drop", "500", "drop", "pass", "drop"]) as proxy,
            _client(proxy.url) as client,
        ):
            up = _uploader(outbox, client)
            for _ in range(6):
                up.run_once(ignore_schedule=True, max_batches=1)
            assert proxy.actions[:5] == ["drop", "500", "drop", "pass", "drop"]

        # 5. the server crashes (SIGKILL) in the middle of a drain, then restarts
        stop = threading.Event()
        first_batch = threading.Event()

        def drain() -> None:
            box = Outbox.open(tmp_path / "kiosk" / OUTBOX_FILE)
            with _client(srv.url) as client:
                up = _uploader(box, client)
                up.batch_records = 5
                while not stop.is_set():
                    if up.run_once(ignore_schedule=True, max_batches=1).accepted:
                        first_batch.set()
            box.close()

        worker = threading.Thread(target=drain)
        worker.start()
        assert first_batch.wait(10)
        srv.kill()
        left_at_kill = outbox.status().depth
        time.sleep(0.2)
        stop.set()
        worker.join(30)
        assert not worker.is_alive()
        assert left_at_kill > 0  # the kill really landed mid-drain
        outbox.recover()
        srv.start()

        # 6. healthy again: drain everything
        with _client(srv.url) as client:
            up = _uploader(outbox, client)
            for _ in range(50):
                if outbox.status().depth == 0:
                    break
                up.run_once(ignore_schedule=True)
        status = outbox.status()
        assert status.depth == 0
        assert status.counts["REJECTED"] == 0
        # Kiosk side: every record acknowledged once; retries of committed batches came back "duplicate".
        assert status.today["accepted"] + status.today["duplicate"] == N
        assert status.today["duplicate"] >= 20  # the dropped replies really were resent
        outbox.close()
    finally:
        srv.stop()

    # Server side: each record id exactly once, all accepted, as many as the kiosk queued.
    db = sqlite3.connect(tmp_path / "server" / "server.sqlite3")
    rows = db.execute("SELECT record_id, outcome FROM records").fetchall()
    regs = db.execute("SELECT record_id FROM registrations").fetchall()
    db.close()
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[1] for r in rows} == {"accepted"}
    assert sorted(r[0] for r in regs) == sorted(ids)
