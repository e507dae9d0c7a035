#!/usr/bin/env python3
"""Render every kiosk screen in every language to PNG (offscreen), for review and documentation.

    .venv/bin/python scripts/screenshots.py OUT_DIR [--width 1080 --height 1600] [--program demo]

Writes OUT_DIR/<language>/<screen>.png for the synthetic states of :mod:`ui.gallery` (a made-up
resident, never a card). Uses Qt's own grab; no display is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--width", type=int, default=1080)
    parser.add_argument("--height", type=int, default=1600)
    parser.add_argument("--program", default="demo", help="programme id (config/programs)")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from kiosk.programs import load_programs
    from ui.gallery import sample_states, with_language
    from ui.i18n import LANGUAGES
    from ui.theme import apply_theme
    from ui.window import KioskWindow

    app = QApplication(sys.argv[:1])
    apply_theme(app)
    programs = load_programs(ROOT / "config" / "programs")
    window = KioskWindow(programs)
    window.resize(args.width, args.height)
    window.show()
    count = 0
    for language, _name in LANGUAGES:
        folder = args.out / language
        folder.mkdir(parents=True, exist_ok=True)
        for name, state in sample_states(programs[args.program]):
            window.wipe()
            window.show_state(with_language(state, language))
            app.processEvents()
            window.grab().save(str(folder / f"{name}.png"))
            count += 1
    window.close()
    window.deleteLater()
    app.processEvents()
    from ui.pages.shelter import render_screenshots  # shelter mode's screens (docs/shelter.md)

    count += render_screenshots(args.out, args.width, args.height, tuple(code for code, _ in LANGUAGES))
    print(f"{count} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
