"""The terminal demo (``python -m kiosk.demo --terminal``) runs the whole path for real and exits 0:
server init, device token, server run on loopback, enroll, the virtual card through pcscd + vpcd,
card status, register, queue status, sync --once, the registration's status by code (accepted by the
server), card out, server stopped. Nothing personal and no PIN in the output.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from card.virtual.persona import DEFAULT_PERSONA, load_persona

pytestmark = pytest.mark.usefixtures("vpcd_session")

ENV = {**os.environ, "MADOGUCHI_VPCD_LOCK_HELD": "1"}  # the vpcd_session fixture holds the lock


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.demo", "--terminal", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _server_url(stdout: str) -> str:
    match = re.search(r"The central server is up at (http://127\.0\.0\.1:\d+)\.", stdout)
    assert match, stdout
    return match.group(1)


def _no_personal_data(output: str, persona_name: str) -> None:
    persona = load_persona(persona_name)
    for secret in (persona.auth_pin, persona.card_info_pin, persona.my_number, persona.signature_password):
        assert secret not in output
    for personal in (persona.name, persona.address, persona.birth_date.isoformat()):
        assert personal not in output


def test_demo_registers_and_the_server_accepts_it() -> None:
    started = time.monotonic()
    result = _demo()
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # Every step ran, in order.
    steps = [int(n) for n in re.findall(r"^\[(\d+)\]", out, flags=re.MULTILINE)]
    assert steps == list(range(1, 11))
    assert f"persona {DEFAULT_PERSONA}" in out
    code = re.search(r"code ([2-9A-Z]{4}(?:-[2-9A-Z]{4}){3}) \(demo: disaster, point\)", out)
    assert code, out
    assert "Queued records: 1." in out
    assert "Sent to the server (accepted 1, rejected 0)." in out
    assert "Queued records: 0." in out
    assert f"Registration {code.group(1)}: status accepted" in out  # the server's answer by code
    assert "登録はサーバーで受理されました" in out
    assert "removed the card" in out
    assert "stopped the server" in out
    _no_personal_data(out + result.stderr, DEFAULT_PERSONA)
    # The server is gone, and its throw-away directory with it.
    with pytest.raises(httpx.HTTPError):
        httpx.get(_server_url(out) + "/v1/health", timeout=1.0)
    work = re.search(r"work directory .*: (\S+)", out)
    assert work
    assert not os.path.exists(work.group(1))
    print(f"demo took {elapsed:.1f} s")  # reported, not asserted (shared machine)


def test_demo_with_two_pins_and_keep_server() -> None:
    persona = "miyagi-distinct-pins"
    result = _demo("--persona", persona, "--keep-server")
    pid = re.search(r"the server keeps running at \S+ \(pid (\d+)\)", result.stdout)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "--card-info-pin-stdin" in result.stdout
        assert "status accepted" in result.stdout
        assert pid, result.stdout
        # --keep-server: the server still answers after the demo exited.
        assert httpx.get(_server_url(result.stdout) + "/v1/health", timeout=2.0).status_code == 200
        _no_personal_data(result.stdout + result.stderr, persona)
    finally:
        if pid:
            os.kill(int(pid.group(1)), signal.SIGTERM)  # the server this test started through the demo
        work = re.search(r"work directory .*: (\S+)", result.stdout)
        if work:
            shutil.rmtree(work.group(1), ignore_errors=True)


def test_unknown_persona_is_a_usage_error() -> None:
    result = _demo("--persona", "no-such-persona")
    assert result.returncode == 2
    assert "no-such-persona" in result.stderr


def test_a_failed_demo_leaves_no_server_behind_even_with_keep_server() -> None:
    result = _demo("--persona", "miyagi-blocked", "--keep-server")
    assert result.returncode == 1
    assert "register failed" in result.stderr
    assert "pin_blocked" in result.stderr
    assert "stopped the server" in result.stdout
    with pytest.raises(httpx.HTTPError):
        httpx.get(_server_url(result.stdout) + "/v1/health", timeout=1.0)
    work = re.search(r"work directory .*: (\S+)", result.stdout)
    assert work
    assert not os.path.exists(work.group(1))
    _no_personal_data(result.stdout + result.stderr, "miyagi-blocked")
