#!/usr/bin/env python3
"""Screenshots of issue 13 for docs/ui.md: the card screens in each reader position and state,
the three text sizes, the white-on-black theme, and the printed slip (PDF rendered to PNG).

    .venv/bin/python scripts/a11y_screenshots.py [OUT_DIR]   # default docs/screenshots/a11y

Offscreen; small PNGs (screens scaled to 360 px wide). The slip goes through the real CUPS
cups-pdf queue of tests/ui/test_printing.py when cupsd runs, else through Qt's own PDF writer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT, THUMB = 1080, 1600, 360


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else ROOT / "docs" / "screenshots" / "a11y"
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSize, Qt
    from PySide6.QtWidgets import QApplication

    from kiosk.flow.state import FlowState, Phase
    from kiosk.rules.programs import load_programs
    from kiosk.station import ReaderPosition
    from ui.illustration import ReaderState, Scene, render_picture
    from ui.theme import Appearance, TextSize, apply_theme
    from ui.window import KioskWindow

    app = QApplication(sys.argv[:1])
    programs = load_programs(ROOT / "config" / "programs")
    count = 0

    # 1. the pictures: every reader position x state, and the other scenes
    for position in ReaderPosition:
        for state in ReaderState:
            image = render_picture(Scene.PLACE, state, position, QSize(300, 220))
            image.save(str(out / f"card-{position.value}-{state.value}.png"))  # type: ignore[attr-defined]
            count += 1
    for scene in (Scene.KEEP_STILL, Scene.TAKE, Scene.PIN_HIDDEN):
        image = render_picture(scene, ReaderState.DETECTED, ReaderPosition.BELOW, QSize(300, 220))
        image.save(str(out / f"scene-{scene.value}.png"))  # type: ignore[attr-defined]
        count += 1

    # 2. screens: the card screen (each reader state) and the consent screen at each size and theme
    from kiosk.settings import KioskMode
    from kiosk.station import StationSettings
    from ui.assist import attach

    window = KioskWindow(programs)
    attach(window, mode=KioskMode.SELF, station=StationSettings(voice_enabled=False))  # the bar
    window.resize(WIDTH, HEIGHT)
    window.show()

    def shot(name: str, state: FlowState) -> None:
        nonlocal count
        assist, window.assist = window.assist, None  # the wipe would reset the size and contrast
        window.wipe()
        window.assist = assist
        window.show_state(state)
        app.processEvents()
        pixmap = window.grab().scaledToWidth(THUMB, Qt.TransformationMode.SmoothTransformation)
        pixmap.save(str(out / f"{name}.png"))
        count += 1

    base = FlowState(phase=Phase.WAIT_CARD, language="ja", program_id="demo", services=("point",))
    for size in TextSize:
        for contrast in (False, True):
            apply_theme(app, Appearance(size=size, high_contrast=contrast))
            app.processEvents()
            if hasattr(window, "apply_metrics"):
                window.apply_metrics()  # the window re-scales on the font change; do it now
            suffix = f"{size.value}{'-hc' if contrast else ''}"
            shot(f"screen-wait-card-{suffix}", base)
            consent = FlowState(phase=Phase.CONSENT, language="ja", program_id="demo", services=("point",))
            shot(f"screen-consent-{suffix}", consent)
    apply_theme(app)
    app.processEvents()
    window.apply_metrics()
    for position in ReaderPosition:  # the real card screen, per reader position
        window.pages["wait_card"].set_station(KioskMode.SELF, position)  # type: ignore[attr-defined]
        shot(f"screen-wait-card-{position.value}", base)
    window.pages["wait_card"].set_station(KioskMode.SELF, ReaderPosition.BELOW)  # type: ignore[attr-defined]
    shot("screen-reinsert", FlowState(phase=Phase.REINSERT, language="ja", program_id="demo"))
    shot(
        "screen-detected",
        FlowState(phase=Phase.PREFETCH, language="ja", program_id="demo", card_present=True),
    )
    shot("screen-reader-missing", FlowState(phase=Phase.WAIT_CARD, language="ja", program_id="demo",
                                            reader_available=False))  # fmt: skip
    shot("screen-busy", FlowState(phase=Phase.VERIFYING, language="ja", program_id="demo", card_present=True))
    shot("screen-take-card", FlowState(phase=Phase.TAKE_CARD, language="ja", program_id="demo", alarm=True))
    window.close()

    # 3. the printed slip
    from kiosk.slip import build_slip
    from ui.printing import Paper, print_pdf

    program = programs["miyagi-point-2024-lottery"]
    when = datetime(2026, 12, 3, 10, 5, tzinfo=timezone(timedelta(hours=9)))
    for language in ("ja", "en"):
        slip = build_slip(code="K7QM-4RZX", program=program, services=[s.service for s in program.services],
                          issued_at=when, language=language)  # fmt: skip
        for paper in Paper:
            with tempfile.TemporaryDirectory() as tmp:
                pdf = Path(tmp) / "slip.pdf"
                print_pdf(slip, str(pdf), paper)
                prefix = out / f"slip-{paper.value}-{language}"
                dpi = "50" if paper is Paper.A4 else "100"
                if shutil.which("pdftoppm"):
                    command = ["pdftoppm", "-r", dpi, "-gray", "-singlefile", "-png", str(pdf), str(prefix)]
                    subprocess.run(command, check=True)
                    count += 1
    print(f"{count} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
