"""``madoguchi virtual-card`` as a process: inserts into vpcd, SIGTERM removes the card cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from smartcard.Exceptions import CardConnectionException
from smartcard.System import readers

READER = "Virtual PCD 00 00"
Wait = Callable[..., None]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "virtual-card", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _connection():  # type: ignore[no-untyped-def]
    reader = next(r for r in readers() if str(r) == READER)
    connection = reader.createConnection()
    connection.connect()
    return connection


def test_sigterm_removes_the_card_and_the_log_has_no_data(tmp_path: Path, wait_reader: Wait) -> None:
    log = tmp_path / "apdu.jsonl"
    process = _start("--persona", "miyagi-sendai", "--log", str(log))
    try:
        wait_reader(present=True)
        connection = _connection()
        _, sw1, sw2 = connection.transmit(list(bytes.fromhex("00A4040C0AD392F000260100000001")))
        assert (sw1, sw2) == (0x90, 0x00)
        _, sw1, sw2 = connection.transmit(list(bytes.fromhex("002000980432343638")))
        assert (sw1, sw2) == (0x90, 0x00)
        connection.disconnect()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "inserted persona miyagi-sendai" in out
    assert "removed the card (on request)" in out
    wait_reader(present=False)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["ap"], e["ef"], e["sw"]) for e in entries] == [("jpki", None, 0x9000), ("jpki", 0x18, 0x9000)]
    assert "2468" not in log.read_text()


def test_remove_after_ends_the_process_by_itself(wait_reader: Wait) -> None:
    process = _start("--persona", "jlis-test", "--remove-after", "1")
    try:
        wait_reader(present=True)
        connection = _connection()
        connection.transmit(list(bytes.fromhex("00A4040C0AD392F000260100000001")))
        with pytest.raises(CardConnectionException):
            connection.transmit(list(bytes.fromhex("00A4020C02000A")))
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "by the fault plan" in out
    wait_reader(present=False)


def test_unknown_persona_is_a_usage_error() -> None:
    process = _start("--persona", "no-such-persona")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "no persona named" in err
