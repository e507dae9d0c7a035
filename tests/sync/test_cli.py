"""The sync commands as real processes: enroll, queue status, sync --once, export-rejected."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from synctest import new_id
from toyserver import ToyServer

from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox

ROOT = Path(__file__).resolve().parents[2]


def _profile(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f"""[kiosk]
id = "cli-kiosk-01"
mode = "staff"
data_dir = "data"
language = "ja"
program = "demo"
programs_dir = "programs"

[server]
url = "{url}"
""",
        encoding="utf-8",
    )
    return cfg


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )


def test_enroll_status_sync_export(tmp_path: Path) -> None:
    server_key = X25519PrivateKey.generate()
    with ToyServer(server_key) as srv:
        cfg = _profile(tmp_path, srv.url)
        data = tmp_path / "data"

        r = _run("queue", "status", "--json", "--config", str(cfg))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["depth"] == 0

        r = _run("sync", "--once", "--config", str(cfg))
        assert r.returncode == 2
        assert "NotEnrolledError" in r.stderr

        r = _run("enroll", "--server", srv.url, "--token", "-", "--config", str(cfg), stdin="tok-123\n")
        assert r.returncode == 0, r.stderr
        assert srv.tokens == ["tok-123"]
        assert "prefer --token -" not in r.stderr
        assert stat.S_IMODE((data / "device-ed25519.pem").stat().st_mode) == 0o600

        store = DeviceStore(data)
        ids = [new_id() for _ in range(3)]
        with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer("cli-kiosk-01")) as box:
            for rid in ids:
                box.enqueue(b"{}", record_id=rid, program_id="demo")

        r = _run("queue", "status", "--json", "--config", str(cfg))
        status = json.loads(r.stdout)
        assert status["depth"] == 3
        assert status["counts"]["PENDING"] == 3
        assert status["today"]["enqueued"] == 3

        r = _run("sync", "--once", "--json", "--config", str(cfg))
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert report["accepted"] == 3
        assert report["remaining"] == 0
        assert isinstance(report["clock_offset_s"], float)
        assert sorted(srv.accepted) == sorted(ids)

        r = _run("queue", "status", "--config", str(cfg))
        assert "0 queued" in r.stdout

        # A failing server: sync --once reports it and exits 1; the record stays queued.
        with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer("cli-kiosk-01")) as box:
            box.enqueue(b"{}", record_id=new_id(), program_id="demo")
        srv.mode = "503"
        r = _run("sync", "--once", "--json", "--config", str(cfg))
        assert r.returncode == 1
        assert json.loads(r.stdout)["error"] == "SyncThrottledError"
        assert json.loads(_run("queue", "status", "--json", "--config", str(cfg)).stdout)["depth"] == 1

    out = tmp_path / "rejected.jsonl"
    r = _run("queue", "export-rejected", "--out", str(out), "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize("url", ["http://central.example.jp"])
def test_enroll_refuses_plain_http_to_remote(tmp_path: Path, url: str) -> None:
    cfg = _profile(tmp_path, url)
    r = _run("enroll", "--server", url, "--token", "tok-SECRET-42", "--config", str(cfg))
    assert r.returncode == 2
    assert "InsecureURLError" in r.stderr
    assert "SECRET" not in r.stderr + r.stdout  # the token is never echoed
    assert "prefer --token -" in r.stderr  # a token on the command line is discouraged


def test_sync_service_in_the_foreground_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import time

    server_key = X25519PrivateKey.generate()
    with ToyServer(server_key) as srv:
        cfg = _profile(tmp_path, srv.url)
        data = tmp_path / "data"
        assert _run("enroll", "--server", srv.url, "--token", "tok", "--config", str(cfg)).returncode == 0
        store = DeviceStore(data)
        ids = [new_id() for _ in range(30)]
        with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer("cli-kiosk-01")) as box:
            for rid in ids:
                box.enqueue(b"{}", record_id=rid, program_id="demo")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "sync", "--interval", "0.2", "--config", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 20
            while len(srv.accepted) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(srv.accepted) == sorted(ids)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert b'"accepted": 30' in out
