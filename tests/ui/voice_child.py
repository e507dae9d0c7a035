"""Child process of tests/ui/test_voice.py: plays prompts through the kiosk's player (``paplay``
children of :class:`ui.voice.VoiceGuide`, or QtMultimedia where paplay is missing) into the
PulseAudio server named by ``PULSE_SERVER`` and prints what was played as JSON on the last line.

A fresh process, because the server is chosen once per process (QtMultimedia connects to
PulseAudio once; in the test session other tests load it first with no server at all).

    python tests/ui/voice_child.py prompts        # digits.2 (en), then the alarm (ja)
    python tests/ui/voice_child.py registration   # a whole registration with the voice on
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QApplication  # noqa: E402


def wait(app: QApplication, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        app.processEvents()
        time.sleep(0.01)


def prompts(app: QApplication) -> list[list[str]]:
    from ui.voice import VoiceGuide

    guide = VoiceGuide(volume=1.0)
    played: list[list[str]] = []
    guide.played.connect(lambda prompt_id, language: played.append([prompt_id, language]))
    guide.say("en", "digits.2")
    wait(app, lambda: ["digits.2", "en"] in played)
    wait(app, lambda: not guide.is_playing())
    guide.alarm("ja")
    wait(app, lambda: ["alarm", "ja"] in played)
    guide.stop()
    return played


def registration(app: QApplication) -> list[list[str]]:
    from uikit import make_enrolled

    from card.virtual.persona import load_persona
    from kiosk.flow import Phase
    from kiosk.settings import load_settings
    from ui.app import KioskApp
    from ui.theme import apply_theme

    apply_theme(app)
    with tempfile.TemporaryDirectory() as tmp:
        enrolled = make_enrolled(Path(tmp))
        kiosk = KioskApp(load_settings(enrolled.config), persona="jlis-test", background_sync=False)
        window = kiosk.window
        window.show()
        kiosk.start()
        assert kiosk.assist is not None
        played: list[list[str]] = []
        kiosk.assist.voice.played.connect(lambda prompt_id, language: played.append([prompt_id, language]))

        def phase(wanted: Phase) -> None:
            wait(app, lambda: window.state is not None and window.state.phase is wanted)

        def heard(prompt: str) -> None:
            wait(app, lambda: any(p == prompt for p, _ in played))

        def click(button: QAbstractButton) -> None:
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)

        pages = window.pages
        wait(app, lambda: kiosk.controller.state is not None)
        click(pages["idle"].choices[0])  # type: ignore[attr-defined]
        phase(Phase.CONSENT)
        heard("consent")
        consent = pages["consent"]
        state = window.state
        assert state is not None
        for accepted in range(len(state.consents) + 1, len(state.services) + 1):
            click(consent.agree)  # type: ignore[attr-defined]
            wait(app, lambda n=accepted: len(window.state.consents) >= n)  # type: ignore[misc,union-attr]
        if consent.next.isVisible():  # type: ignore[attr-defined]
            click(consent.next)  # type: ignore[attr-defined]
        phase(Phase.WAIT_CARD)
        heard("wait_card")
        kiosk.training_card(True)
        phase(Phase.PIN_ENTRY)
        heard("pin")
        pad = pages["pin"].pad  # type: ignore[attr-defined]
        for digit in load_persona("jlis-test").auth_pin:
            click(pad.keys[int(digit) - 1] if digit != "0" else pad.keys[9])
            app.processEvents()
        heard("digits.4")
        click(pad.ok_key)
        phase(Phase.CONFIRM)
        heard("confirm")
        click(pages["confirm"].yes)  # type: ignore[attr-defined]
        phase(Phase.RECEIPT)
        heard("receipt")
        kiosk.stop()
        return played


def main() -> int:
    app = QApplication(sys.argv[:1])
    played = {"prompts": prompts, "registration": registration}[sys.argv[1]](app)
    print(json.dumps(played))
    return 0


if __name__ == "__main__":
    sys.exit(main())
