"""The reference server (``madoguchi server run``) as a real child process, and real card-signed
records it accepts (built with ``kiosk.rules.record`` and the test J-LIS keys, as the card would).

Used by the delivery test and by ``bench/outbox.py --drain``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from card.virtual import testpki
from card.virtual.certificates import auth_certificate
from card.virtual.persona import load_persona
from kiosk.rules.record import (
    Consent,
    KioskStamp,
    Resident,
    SignedRegistration,
    Verification,
    build_record,
)

ROOT = Path(__file__).resolve().parents[2]
TRUST = ROOT / "config" / "trust" / "test" / "jpki-auth-root.pem"
PROGRAMS = ROOT / "config" / "programs"


@functools.cache
def _card(persona_name: str) -> tuple[rsa.RSAPrivateKey, bytes]:
    who = load_persona(persona_name)
    key = testpki.card_keys(who.id).auth
    cert = auth_certificate(who, key.public_key()).public_bytes(Encoding.DER)
    return key, cert


def signed_plaintext(
    kiosk_id: str, sequence: int, *, persona_name: str = "miyagi-sendai"
) -> tuple[str, bytes]:
    """A demo-programme registration signed by the persona's card key; returns (record_id, plaintext)."""
    who = load_persona(persona_name)
    key, cert = _card(persona_name)
    now = dt.datetime.now(dt.UTC)
    record = build_record(
        record_id=uuid.uuid4(),
        program_id="demo",
        consents=[Consent("point", "demo-1", now)],
        resident=Resident(name=who.name, address=who.address, birth_date=who.birth_date, sex=who.sex),
        auth_certificate=cert,
        kiosk=KioskStamp(kiosk_id, now, sequence),
        verification=Verification(chain=True, signature=True, integrity=True, genuine_card=True),
    )
    signature = key.sign(record.canonical(), padding.PKCS1v15(), hashes.SHA256())
    return record.record_id, SignedRegistration(record=record, card_signature=signature).to_plaintext()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``madoguchi server`` in a data directory; ``start()``/``stop()``/``kill()``/``pause()``."""

    def __init__(self, data_dir: Path, *, port: int | None = None, workers: int = 1) -> None:
        self.data_dir = data_dir
        self.port = port or _free_port()
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self._env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._log = data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "server", *args, "--data", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=self._env,
            timeout=120,
            check=True,
        )
        return out.stdout

    def init(self) -> None:
        self._cli("init")

    def device_token(self, name: str) -> str:
        return self._cli("device-token", "--name", name).strip().splitlines()[-1]

    def start(self, timeout: float = 30.0) -> None:
        assert self.proc is None
        log = open(self._log, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk.cli",
                "server",
                "run",
                "--data",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--trust",
                str(TRUST),
                "--programs",
                str(PROGRAMS),
                "--workers",
                str(self.workers),
            ],
            env=self._env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}: {self._log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy")

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)  # the process group: uvicorn workers too

    def stop(self) -> None:
        """SIGTERM and wait (graceful)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL (a crash: whatever it was doing is cut off)."""
        if self.proc is None:
            return
        self._signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the socket stays open but nothing answers (clients time out)."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
