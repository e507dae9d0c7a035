"""Look and feel: high contrast, large type, large touch targets (docs/ui.md, Accessibility).

Black on white with a dark-blue primary action (contrast well above WCAG AAA 7:1); every coloured
state also carries an icon and words (✓, ✕, ⚠), so nothing relies on colour alone. Touch
targets are at least :data:`MIN_TARGET` px in both directions (WCAG 2.5.5 asks 44; kiosks are
used standing, often by older residents).
"""

from __future__ import annotations

from typing import Final

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

FONT_FAMILY: Final = "Noto Sans CJK JP"
MIN_TARGET: Final = 64  # px, the smallest button side anywhere on the resident's screens
BUTTON_HEIGHT: Final = 80
PIN_KEY: Final = 96  # px, PIN pad keys (square)
BASE_PT: Final = 20

STYLE: Final = """
QWidget { background: #FFFFFF; color: #000000; }
QLabel#heading { font-size: 32pt; font-weight: bold; }
QLabel#appTitle { font-size: 18pt; font-weight: bold; }
QLabel#bigCode { font-size: 44pt; font-weight: bold; letter-spacing: 4px; }
QLabel#pinDots { font-size: 40pt; letter-spacing: 12px; }
QLabel#notice { border: 3px solid #000000; padding: 12px; }
QLabel#danger { background: #8B0000; color: #FFFFFF; font-weight: bold; padding: 12px; }
QLabel#good { border: 4px solid #005A1E; color: #004015; font-weight: bold; padding: 12px; }
QPushButton {
    background: #FFFFFF; color: #000000; border: 3px solid #000000; border-radius: 8px;
    padding: 8px 20px; min-height: 64px; min-width: 64px;
}
QPushButton#primary { background: #003A8C; color: #FFFFFF; border-color: #003A8C; font-weight: bold; }
QPushButton:checked { background: #000000; color: #FFFFFF; }
QPushButton:focus { outline: none; border: 5px solid #E07000; }
QPushButton:disabled { color: #595959; border-style: dashed; }
QPushButton:checked:disabled { background: #000000; color: #FFFFFF; border-style: solid; }
QPushButton#pinKey { font-size: 32pt; font-weight: bold; }
QFrame#header { border-bottom: 3px solid #000000; }
QFrame#training { background: #FFF1B8; border-bottom: 3px dashed #000000; }
QFrame#training QLabel, QFrame#training QPushButton { background: #FFF1B8; }
"""


def apply_theme(app: QApplication) -> None:
    """Install the font (Noto Sans CJK JP: Japanese glyph variants) and the style sheet."""
    font = QFont(FONT_FAMILY, BASE_PT)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    app.setFont(font)
    app.setStyleSheet(STYLE)
