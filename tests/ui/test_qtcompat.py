"""The PySide6 6.12 / CPython 3.11 reference bug: without the work-around a process making many
widget calls aborts; with it (``import ui.qtcompat``) it lives. Real processes, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CALLS = 30000
SCRIPT = """
import sys
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
{extra}
class C(QObject):
    ping = Signal(object)
app = QApplication([])
label, c = QLabel(), C()
c.ping.connect(lambda _x: None)
for i in range({calls}):
    label.setText("x")
    c.ping.emit(i)
print("alive")
"""
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _run(extra: str) -> subprocess.CompletedProcess[str]:
    code = SCRIPT.format(extra=extra, calls=CALLS)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the singletons are immortal on CPython >= 3.12")
def test_without_the_work_around_the_process_aborts() -> None:
    import ui.qtcompat

    if not ui.qtcompat.APPLIED:
        pytest.skip("this PySide6 does not lose references")
    out = _run("")
    assert out.returncode != 0
    assert "dealloc" in out.stderr


def test_with_the_work_around_the_process_lives() -> None:
    out = _run("import ui.qtcompat")
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "alive"
