#!/usr/bin/env python3
"""Render every kiosk screen in every language at every screen size (offscreen), plus contact sheets.

    .venv/bin/python scripts/screenshots.py OUT_DIR [--sizes 1080x1920,1366x768] [--languages ja,en]
                                            [--program miyagi-point-2025-second] [--sheets-only]
                                            [--sheet-screens idle,consent,pin_entry,confirm,receipt]

Writes OUT_DIR/<width>x<height>/<language>/<screen>.png for the synthetic states of
:mod:`ui.gallery` (a made-up resident, never a card), and OUT_DIR/sheet-<width>x<height>.png: one
contact sheet per size, a grid of the sheet screens (rows) × languages (columns), scaled down.
``--sheets-only`` skips the full-size PNGs (the sheets in docs/screenshots/ are made that way).
Each screen is also measured with :func:`ui.fit.misfits`; the problems are printed (none expected:
the fit test fails on them). Uses Qt's own grab; no display is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = "1080x1920,1080x1600,1920x1080,1366x768,1280x1024,800x1280"
SHEET_SCREENS = "idle,consent,pin_entry,confirm,receipt"
SHEET_CELL = 240  # px, the longer side of one screen on a contact sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--sizes", default=SIZES, help=f"comma-separated WxH (default {SIZES})")
    parser.add_argument("--languages", default="", help="comma-separated codes (default: every language)")
    parser.add_argument(
        "--program", default="miyagi-point-2025-second", help="programme id (config/programs)"
    )
    parser.add_argument("--sheets-only", action="store_true", help="contact sheets only")
    parser.add_argument("--sheet-screens", default=SHEET_SCREENS, help="screens on the contact sheets")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from kiosk.rules.programs import load_programs
    from ui.fit import misfits
    from ui.gallery import sample_states, with_language
    from ui.i18n import LANGUAGES
    from ui.theme import apply_theme
    from ui.window import KioskWindow

    app = QApplication(sys.argv[:1])
    apply_theme(app)
    programs = load_programs(ROOT / "config" / "programs")
    program = programs[args.program]
    languages = [c for c in args.languages.split(",") if c] or [code for code, _ in LANGUAGES]
    sheet_screens = [s for s in args.sheet_screens.split(",") if s]
    # The kiosk offers one programme: the short path a resident sees (no programme screen).
    window = KioskWindow({program.id: program})
    window.show()
    count, problems = 0, 0
    for size_text in args.sizes.split(","):
        width, height = (int(v) for v in size_text.split("x"))
        window.resize(width, height)
        app.processEvents()
        scale = SHEET_CELL / max(width, height)
        cell_w, cell_h = round(width * scale), round(height * scale)
        label_h, gap = 28, 8
        sheet = QImage(
            gap + len(languages) * (cell_w + gap),
            label_h + gap + len(sheet_screens) * (cell_h + gap),
            QImage.Format.Format_RGB32,
        )
        sheet.fill(QColor("#DDDDDD"))
        painter = QPainter(sheet)
        painter.setFont(QFont("Noto Sans CJK JP", 11))
        for column, language in enumerate(languages):
            x = gap + column * (cell_w + gap)
            painter.drawText(QRect(x, 0, cell_w, label_h), Qt.AlignmentFlag.AlignCenter, language)
            folder = args.out / size_text / language
            if not args.sheets_only:
                folder.mkdir(parents=True, exist_ok=True)
            for name, state in sample_states(program):
                if args.sheets_only and name not in sheet_screens:
                    continue
                window.wipe()
                window.show_state(with_language(state, language))
                app.processEvents()
                for problem in misfits(window):
                    problems += 1
                    print(f"{size_text} {language} {name}: {problem}")
                image = window.grab().toImage()
                if not args.sheets_only:
                    image.save(str(folder / f"{name}.png"))
                    count += 1
                if name in sheet_screens:
                    row = sheet_screens.index(name)
                    small = image.scaled(
                        cell_w,
                        cell_h,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                    painter.drawImage(x, label_h + gap + row * (cell_h + gap), small)
        painter.end()
        args.out.mkdir(parents=True, exist_ok=True)
        # 256 colours are plenty for flat screens with anti-aliased text; a third of the bytes.
        sheet.convertToFormat(QImage.Format.Format_Indexed8).save(str(args.out / f"sheet-{size_text}.png"))
    window.close()
    window.deleteLater()
    app.processEvents()
    if not args.sheets_only:
        from ui.pages.shelter import render_screenshots  # shelter mode's screens (docs/shelter.md)

        for size_text in args.sizes.split(","):
            width, height = (int(v) for v in size_text.split("x"))
            count += render_screenshots(args.out / size_text, width, height, tuple(languages))
    sheets = len(args.sizes.split(","))
    print(f"{count} screenshots and {sheets} contact sheets in {args.out}; {problems} fit problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
