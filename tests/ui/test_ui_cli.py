"""``madoguchi kiosk``: registered by kiosk/cli.py, Qt imported only by its handler, and start-up
errors are exit codes (a real process each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from uikit import make_enrolled

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, env=ENV, timeout=60
    )


def test_building_the_command_line_does_not_load_qt() -> None:
    code = "import sys, kiosk.cli; kiosk.cli.build_parser(); print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_help_lists_the_options() -> None:
    out = _run("kiosk", "--help")
    assert out.returncode == 0
    for option in ("--config", "--virtual-card", "--fullscreen"):
        assert option in out.stdout


def test_a_bad_profile_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text("[kiosk]\nmode = 'nonsense'\n", encoding="utf-8")
    out = _run("kiosk", "--config", str(bad), "--virtual-card", "jlis-test")
    assert out.returncode == 2
    assert "config" in out.stderr


def test_an_unknown_persona_is_exit_2(tmp_path: Path) -> None:
    enrolled = make_enrolled(tmp_path)
    out = _run("kiosk", "--config", str(enrolled.config), "--virtual-card", "no-such-persona")
    assert out.returncode == 2


def test_a_kiosk_that_is_not_enrolled_is_exit_10(tmp_path: Path) -> None:
    enrolled = make_enrolled(tmp_path)
    for name in os.listdir(enrolled.data_dir):
        (enrolled.data_dir / name).unlink()
    out = _run("kiosk", "--config", str(enrolled.config), "--virtual-card", "jlis-test")
    assert out.returncode == 10
    assert "NotEnrolledError" in out.stderr


def test_the_kiosk_runs_and_ends_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal
    import time

    enrolled = make_enrolled(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "kiosk",
            "--config",
            str(enrolled.config),
            "--virtual-card",
            "jlis-test",
        ],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        # The card worker opens the outbox when the card side is ready: the kiosk is up.
        while not (enrolled.data_dir / "outbox.sqlite3").exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-500:]


# A bug on the card worker in a real process: the first event raises inside the runner. The
# kiosk must exit with EX_SOFTWARE for its supervisor and name the type, never the message.
_CRASHING_KIOSK = """
import sys
from kiosk.cli import main
from kiosk.flow import Start
from ui.app import KioskApp
from kiosk.runner import Runner

def dispatch(self, event, on_step=None):
    raise RuntimeError("resident " + sys.argv[2])

def start(self):
    self.controller.start()
    self.controller.post(Start())  # queued: handled once the worker has built the runner

Runner.dispatch = dispatch
KioskApp.start = start
sys.exit(main(["kiosk", "--config", sys.argv[1], "--virtual-card", "jlis-test"]))
"""


def test_a_bug_on_the_card_worker_is_exit_70_with_the_type_only(tmp_path: Path) -> None:
    enrolled = make_enrolled(tmp_path)
    secret = "Yamada-Hanako-1980-01-01"
    out = subprocess.run(
        [sys.executable, "-c", _CRASHING_KIOSK, str(enrolled.config), secret],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert out.returncode == 70, out.stderr[-500:]
    assert "error (internal): RuntimeError" in out.stderr
    assert secret not in out.stderr
    assert secret not in out.stdout
