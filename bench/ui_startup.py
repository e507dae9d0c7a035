#!/usr/bin/env python3
"""Kiosk UI figures, printed as JSON: cold start to the idle screen, resident memory, and the
software time from PIN submit to receipt.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_startup.py [--runs 5]

Each run is a fresh process (``madoguchi kiosk --virtual-card`` composition: settings, programmes,
trust store, device sealer, window with every page, card worker thread with the real sealed outbox
in a throw-away enrolled data dir). The parent takes ``time.monotonic()`` just before spawning; the
child reports, on the same clock, when the idle page had its first paint and the event loop turned
once more with the window exposed (the method of shared/docs/performance-floors.md §4), and when the
card worker had loaded the card side (trust, sealer, outbox, runner: the first touch is handled from
then on; a touch before is queued), and when the window had built the pages start-up left out
(``KioskWindow.warm_up``: "idle" memory includes them). The child
then registers the in-process virtual card's persona by posting the resident's events and times
PIN submit → confirm screen, "this is me" → result screen and "register" → receipt screen (flow,
card layer, virtual card, signature check, sealing and the outbox commit; no human time). RSS is
VmRSS / VmHWM from /proc/self/status at idle and after the registration.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERSONA = "jlis-test"


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(config: Path, spawned_at: float) -> None:
    """One measured kiosk process (prints one JSON line)."""
    marks = {"main": time.monotonic()}
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    marks["qt_imported"] = time.monotonic()
    from kiosk.settings import load_settings
    from ui.app import KioskApp
    from ui.theme import apply_theme

    marks["kiosk_imported"] = time.monotonic()
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    kiosk = KioskApp(load_settings(config), persona=PERSONA)
    marks["built"] = time.monotonic()

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "painted" not in marks:
                marks["painted"] = time.monotonic()
                QTimer.singleShot(0, shown)
            return False

    def shown() -> None:
        handle = kiosk.window.windowHandle()
        if handle is None or not handle.isExposed():
            QTimer.singleShot(1, shown)
            return
        marks["shown"] = time.monotonic()
        ready()

    def ready() -> None:
        if kiosk.controller.state is None:  # the card worker has not built the runner yet
            QTimer.singleShot(1, ready)
            return
        marks.setdefault("ready", time.monotonic())
        if not kiosk.window.warmed_up:  # the pages start-up left out, built in idle time
            QTimer.singleShot(1, ready)
            return
        marks["warm"] = time.monotonic()
        app.quit()

    idle_page = kiosk.window.pages["idle"]
    spy = FirstPaint()
    idle_page.installEventFilter(spy)
    kiosk.window.show()
    kiosk.start()
    app.exec()
    rss_idle = _status_kb("VmRSS")

    flow_ms = _register(app, kiosk)
    rss_after = _status_kb("VmRSS")
    hwm = _status_kb("VmHWM")
    kiosk.stop()
    kiosk.window.deleteLater()
    app.processEvents()
    result = {
        "spawn_to_idle_shown_ms": (marks["shown"] - spawned_at) * 1000,
        "spawn_to_main_ms": (marks["main"] - spawned_at) * 1000,
        "import_qt_ms": (marks["qt_imported"] - marks["main"]) * 1000,
        "import_kiosk_ms": (marks["kiosk_imported"] - marks["qt_imported"]) * 1000,
        "build_app_ms": (marks["built"] - marks["kiosk_imported"]) * 1000,
        "show_to_shown_ms": (marks["shown"] - marks["built"]) * 1000,
        "spawn_to_card_side_ready_ms": (marks["ready"] - spawned_at) * 1000,
        "spawn_to_warm_ms": (marks["warm"] - spawned_at) * 1000,
        "rss_idle_mb": rss_idle / 1024,
        "rss_after_registration_mb": rss_after / 1024,
        "rss_peak_mb": hwm / 1024,
        **flow_ms,
    }
    print(json.dumps(result))


def _register(app: object, kiosk: object) -> dict[str, float]:
    """Post a cooperative resident's events; time the software steps after the PIN."""
    from PySide6.QtWidgets import QApplication

    from card.virtual.persona import load_persona
    from kiosk.flow.events import ConsentAccepted, ConsentsDone, Event, PinSubmitted, Register, Start
    from kiosk.flow.state import Phase
    from ui.app import KioskApp

    assert isinstance(kiosk, KioskApp)
    controller = kiosk.controller

    def until(phase: Phase, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while controller.state is None or controller.state.phase is not phase:
            QApplication.processEvents()
            if time.monotonic() > deadline:
                raise TimeoutError(phase.value)

    def step(event: Event, phase: Phase) -> float:
        start = time.monotonic()
        controller.post(event)
        until(phase)
        return (time.monotonic() - start) * 1000

    # The Qt kiosk's short path (docs/flow.md §2b): a language button, the one consent screen.
    for event, phase in (
        (Start("ja"), Phase.CONSENT),
        (ConsentAccepted("point"), Phase.CONSENT),
        (ConsentsDone(), Phase.WAIT_CARD),
    ):
        step(event, phase)
    start = time.monotonic()
    kiosk.training_card(True)
    until(Phase.PIN_ENTRY)
    insert_ms = (time.monotonic() - start) * 1000
    pin = bytearray(load_persona(PERSONA).auth_pin.encode())
    verify_ms = step(PinSubmitted(pin), Phase.CONFIRM)  # the read and the eligibility check
    save_ms = step(Register(), Phase.RECEIPT)
    return {
        "card_placed_to_pin_pad_ms": insert_ms,
        "pin_submit_to_confirm_ms": verify_ms,
        "register_to_receipt_ms": save_ms,
        "pin_submit_to_receipt_software_ms": verify_ms + save_ms,
    }


def _enrolled_config(folder: Path) -> Path:
    """The kiosk profile ``bench/ui_path.py`` registers with (the demo programme)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from ui_path import enrolled_config

    return enrolled_config(folder, "demo")


def _compile_bytecode() -> None:
    """Compile the project's modules (``__pycache__`` beside them, git-ignored), as an installed
    kiosk has them: the .deb compiles every module at build time (installer/debian/rules), pip
    compiled the dependencies at install. Without this a checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` (as the development sessions are) compiles ~150 modules from
    source on every start, about 15 % of the start-up time, which no kiosk ever pays. (Not a
    ``PYTHONPYCACHEPREFIX``: that moves the lookup of *every* module's bytecode, the standard
    library's and the venv's too, so they would be compiled from source instead: measured +8 MB
    and +100 ms.) A module changed after this is compiled in memory as before."""
    packages = [str(ROOT / name) for name in ("card", "kiosk", "sync", "ui")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0", *packages], check=True, timeout=300)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="kiosk UI start-up, memory and PIN→receipt figures")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "SPAWNED_AT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), float(args.child[1]))
        return 0
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    runs = []
    _compile_bytecode()
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
            config = _enrolled_config(Path(tmp))
            spawned_at = time.monotonic()
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(config), repr(spawned_at)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
                timeout=120,
            )
            line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
            runs.append(json.loads(line))
    keys = list(runs[0])
    report = {
        "benchmark": "ui_startup",
        "runs": args.runs,
        "platform": env["QT_QPA_PLATFORM"],
        "persona": PERSONA,
        "budgets": {"spawn_to_idle_shown_ms": 500, "rss_mb": 150, "pin_submit_to_receipt_software_ms": 100},
        "figures": {key: _summary([r[key] for r in runs]) for key in keys},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
