"""``madoguchi server run --workers 2`` as a real process, driven by the kiosk's own SyncClient."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.cli import main
from kiosk.rules.record import registration_code
from sync.client import SyncClient

from .conftest import REPO, TEST_TRUST, drop_schema, make_db_url, write_test_programs
from .factory import Kiosk


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[str, Path, str]]:
    db_url, schema = make_db_url(engine, tmp_path)
    data = tmp_path / "data"
    assert main(["server", "init", "--data", str(data), "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["server", "device-token", "--data", str(data), "--db", db_url, "--name", "booth"]) == 0
    token = capsys.readouterr().out.strip()
    port = _free_port()
    cmd = [
        sys.executable, "-m", "kiosk.cli", "server", "run", "--data", str(data), "--db", db_url,
        "--port", str(port), "--workers", "2", "--programs", str(write_test_programs(tmp_path / "programs")),
        "--trust", str(TEST_TRUST),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url, data, token, db_url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        drop_schema(schema)


def test_kiosk_client_enrolls_uploads_and_reads_status(served: tuple[str, Path, str, str]) -> None:
    url, _data, token, _db = served
    with SyncClient(url, kiosk_id="kiosk-run-1") as client:
        assert client.health()
        # enroll through the kiosk's client; the reply's key is what the kiosk pins
        kiosk_key = Kiosk(X25519PublicKey.from_public_bytes(bytes(32)), kiosk_id="kiosk-run-1")
        reply = client.enroll(token, kiosk_key.public_key_raw())
        kiosk = Kiosk(X25519PublicKey.from_public_bytes(reply.server_public_key), kiosk_id="kiosk-run-1")
        kiosk.device_key = kiosk_key.device_key
        envelopes = [kiosk.make(program_id="miyagi-fcfs") for _ in range(3)]
        results = client.upload(envelopes).results
        assert [r.status.value for r in results] == ["accepted"] * 3
        # several processes answer; every retry is a duplicate whichever worker takes it
        for _ in range(4):
            assert {r.status.value for r in client.upload(envelopes).results} == {"duplicate"}
        assert client.clock_offset_s is not None
        assert abs(client.clock_offset_s) < 5
        import uuid

        code = registration_code(uuid.UUID(envelopes[0].record_id))
        assert client.registration_status(code) == "accepted"


def test_a_second_server_on_the_same_port_is_refused(
    served: tuple[str, Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _data, _token, _db = served
    port = url.rsplit(":", 1)[1]
    other = tmp_path / "other"
    assert main(["server", "init", "--data", str(other)]) == 0
    capsys.readouterr()
    assert main(["server", "run", "--data", str(other), "--port", port, "--workers", "2"]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_concurrent_processes_keep_quota_and_one_grant_per_person(served: tuple[str, Path, str, str]) -> None:
    """Two API processes, four kiosks uploading at once: the FCFS quota (2) and one grant per
    person hold exactly, because decisions serialise on the database's decision lock."""
    import threading
    import uuid
    from dataclasses import replace

    from sync.server.db import open_database
    from sync.server.devices import issue_token
    from sync.server.keys import load_keys
    from sync.wire import b64encode

    from .factory import RecordSpec, card_key, issue_certificate

    url, data, _token, db_url = served
    server_key = X25519PublicKey.from_public_bytes(load_keys(data).public_key_raw())
    db = open_database(db_url, pool_size=1)
    kiosks = []
    for i in range(4):
        kiosk = Kiosk(server_key, kiosk_id=f"kiosk-c{i}")
        token = issue_token(db, kiosk.kiosk_id)
        reply = httpx.post(
            url + "/v1/enroll",
            json={
                "token": token,
                "kiosk_id": kiosk.kiosk_id,
                "device_public_key": b64encode(kiosk.public_key_raw()),
            },
        )
        assert reply.status_code == 200
        kiosks.append(kiosk)
    key = card_key("miyagi-sendai").public_key()
    # six distinct people, each registering at two kiosks (twelve records, quota two)
    people = [
        RecordSpec(
            program_id="miyagi-fcfs", name=f"並行　次郎{n}", certificate=issue_certificate(key, 50_000 + n)
        )
        for n in range(6)
    ]
    batches: list[tuple[Kiosk, list]] = [(k, []) for k in kiosks]  # type: ignore[type-arg]
    for n, person in enumerate(people):
        for j in (0, 1):
            kiosk, envelopes = batches[(n + 2 * j) % 4]
            envelopes.append(kiosk.make(replace(person, record_id=uuid.uuid4())))
    statuses: list[int] = []

    def send(kiosk: Kiosk, envelopes: list) -> None:  # type: ignore[type-arg]
        with SyncClient(url, kiosk_id=kiosk.kiosk_id) as client:
            for envelope in envelopes:  # one record per request: maximum interleaving
                statuses.extend(r.status.value == "accepted" for r in client.upload([envelope]).results)

    threads = [threading.Thread(target=send, args=b) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 12
    assert all(statuses)
    with db.transaction() as tx:
        grants = tx.scalar("SELECT COUNT(*) FROM grants WHERE program_id = 'miyagi-fcfs'")
        persons = tx.scalar("SELECT COUNT(DISTINCT person_id) FROM registrations")
        decisions = dict(tx.execute("SELECT decision, COUNT(*) FROM registrations GROUP BY decision"))
    db.close()
    assert grants == 2
    assert persons == 6
    assert decisions["granted"] == 2
    assert (
        decisions["granted"] + decisions.get("quota_exhausted", 0) + decisions.get("already_granted", 0) == 12
    )
