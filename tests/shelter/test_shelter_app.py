"""``madoguchi kiosk`` in shelter mode (training: the in-process virtual card's tap button): a tap
becomes a sealed check-in in the real outbox, and the background sync delivers it to a real server.

The kiosk runs its own event loop (``app.exec()`` and ``quit()``, as ``madoguchi kiosk`` does), which
leaves the test process's QApplication unusable for later pytest-qt tests; so the check runs in a
child Python process (this file run as a script) and the test asserts on its exit status.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton
from serverkit import build_context

from kiosk.settings import load_settings
from sync.outbox import OUTBOX_FILE, Outbox
from sync.server import shelters
from ui.pages.shelter import ShelterScreen
from ui.pages.shelter_app import run_shelter_kiosk

ROOT = Path(__file__).resolve().parents[2]


def test_training_tap_is_queued_and_delivered(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run(
        [sys.executable, __file__, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-3000:]
    assert "shelter check passed" in child.stdout


def check_training_tap(tmp_path: Path) -> None:
    """The whole check, in the child process (asserts raise there and exit non-zero)."""
    import socket
    import threading

    import uvicorn
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from kiosk.demo_support import profile_with_test_trust
    from sync import wire
    from sync.device_keys import DeviceStore
    from sync.server.app import create_app
    from sync.server.devices import enroll, issue_token
    from sync.server.run import uvicorn_settings

    ctx = build_context(tmp_path, f"sqlite:///{tmp_path / 'server.sqlite3'}")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), log_level="warning", **uvicorn_settings()))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    data = tmp_path / "kiosk"
    profile = tmp_path / "kiosk.toml"
    profile.write_text(
        profile_with_test_trust(
            kiosk_id="app-shelter-1", mode="shelter", data_dir=data, program="demo", server_url=url
        )
        + f'\n[shelter]\nid = "ishinomaki-kaisei"\nshelters_file = "{ROOT / "config" / "shelters.toml"}"\n',
        encoding="utf-8",
    )
    store = DeviceStore(data)
    key = store.load_or_create_device_key()
    enroll(
        ctx.db,
        issue_token(ctx.db, "app-shelter-1"),
        "app-shelter-1",
        key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )
    raw = ctx.keys.hpke_private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server(url, wire.EnrollResponse("app-shelter-1", raw, wire.SUITE_ID))
    seen: dict[str, object] = {}

    def drive() -> None:
        screen = next(w for w in QApplication.topLevelWidgets() for w in w.findChildren(ShelterScreen))
        tap = next(
            b
            for w in QApplication.topLevelWidgets()
            for b in w.findChildren(QPushButton)
            if "virtual" in b.text()
        )
        tap.click()
        seen["page"] = screen.page
        deadline = time.monotonic() + 60  # a loaded CI machine

        def wait() -> None:
            with ctx.db.transaction() as tx:
                n = tx.scalar("SELECT COUNT(*) FROM checkins")
            if n or time.monotonic() > deadline:
                seen["delivered"] = n
                for w in QApplication.topLevelWidgets():
                    w.close()
                QApplication.quit()
            else:
                QTimer.singleShot(100, wait)

        QTimer.singleShot(100, wait)

    QTimer.singleShot(200, drive)
    try:
        code = run_shelter_kiosk(load_settings(profile), persona="miyagi-sendai")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert code == 0
    assert seen["page"] == "done"
    assert seen["delivered"] == 1
    (row,) = [r for r in shelters.summary(ctx.db, {}) if r["shelter_id"] == "ishinomaki-kaisei"]
    assert row["headcount"] == 1
    with Outbox.open(data / OUTBOX_FILE) as box:
        assert box.status().counts.get("PENDING", 0) == 0
    ctx.close()
    print("shelter check passed")


if __name__ == "__main__":
    app = QApplication(sys.argv[:1])
    check_training_tap(Path(sys.argv[1]))
