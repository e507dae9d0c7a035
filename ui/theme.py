"""Look and feel: two colour themes, three text sizes, large touch targets (docs/ui.md, Accessibility).

The style sheet is *generated* from a :class:`Palette` and a :class:`TextSize`, never written by hand
per theme, so the contrast test (``tests/ui/test_contrast.py``) can read every colour pair back out
of the very text Qt is given and check it against WCAG 2.2 AA: 4.5:1 for text, 3:1 for borders,
focus rings and icons (1.4.3, 1.4.11). Two themes:

* **標準 (standard)**: black on white, primary actions white on dark blue.
* **白黒反転 (high contrast)**: white on black, primary actions black on white, warnings outlined;
  for residents with low vision or glare on the screen.

The focus ring works like GOV.UK's: a thick ring *and* a changed fill (yellow with black text on
the standard theme, black with yellow text on the high-contrast one), so the focused control stands
out from every other control whatever its own colours, not only by a thin orange line (3.2:1 before).

A disabled button never relies on colour: its border is dashed and its text is grey in both
themes; the ``#primary`` rule would otherwise outrank ``:disabled`` and keep a disabled 決定 blue.

Text sizes 標準 / 大 / 特大 multiply every font size (application font and each style-sheet
``font-size``) by :attr:`TextSize.factor`. The choice lasts for one visit: the window resets it to
:data:`DEFAULT_APPEARANCE` at the flow's ``Wipe`` (docs/ui.md). Layout tests read the factor from
:func:`current_appearance` or render each size with :func:`apply_theme`.

Nothing relies on colour alone: every coloured state also carries an icon and words (✓, ✕, ⚠).
Touch targets are at least :data:`MIN_TARGET` px in both directions (WCAG 2.5.5 asks 44; kiosks are
used standing, often by older residents).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, unique
from typing import Final

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from ui.i18n import font_family

FONT_FAMILY: Final = "Noto Sans CJK JP"
MIN_TARGET: Final = 64  # px, the smallest button side anywhere on the resident's screens
BUTTON_HEIGHT: Final = 80
PIN_KEY: Final = 96  # px, PIN pad keys (square)
BASE_PT: Final = 20


@unique
class TextSize(Enum):
    """The resident's text size. ``factor`` scales every font size."""

    STANDARD = "standard"
    LARGE = "large"
    EXTRA_LARGE = "extra_large"

    @property
    def factor(self) -> float:
        return _FACTORS[self]


_FACTORS: Final = {TextSize.STANDARD: 1.0, TextSize.LARGE: 1.25, TextSize.EXTRA_LARGE: 1.5}


@dataclass(frozen=True)
class Palette:
    """Every colour a theme uses, by role. Hex ``#RRGGBB`` only (the contrast test parses them)."""

    name: str
    page_bg: str
    text: str
    muted: str  # disabled text and dashed border
    button_bg: str
    button_text: str
    button_border: str
    primary_bg: str
    primary_text: str
    checked_bg: str
    checked_text: str
    focus_bg: str
    focus_text: str
    focus_ring: str
    notice_border: str
    danger_bg: str
    danger_text: str
    danger_border: str
    good_text: str
    good_border: str
    training_bg: str
    training_text: str
    training_border: str
    frame_border: str  # header rule, scroll areas (the consent terms box)


STANDARD: Final = Palette(
    name="standard",
    page_bg="#FFFFFF",
    text="#000000",
    muted="#595959",
    button_bg="#FFFFFF",
    button_text="#000000",
    button_border="#000000",
    primary_bg="#003A8C",
    primary_text="#FFFFFF",
    checked_bg="#000000",
    checked_text="#FFFFFF",
    focus_bg="#FFDD00",
    focus_text="#000000",
    focus_ring="#000000",
    notice_border="#000000",
    danger_bg="#8B0000",
    danger_text="#FFFFFF",
    danger_border="#8B0000",
    good_text="#004015",
    good_border="#005A1E",
    training_bg="#FFF1B8",
    training_text="#000000",
    training_border="#000000",
    frame_border="#000000",
)

HIGH_CONTRAST: Final = Palette(
    name="high_contrast",
    page_bg="#000000",
    text="#FFFFFF",
    muted="#A6A6A6",
    button_bg="#000000",
    button_text="#FFFFFF",
    button_border="#FFFFFF",
    primary_bg="#FFFFFF",
    primary_text="#000000",
    checked_bg="#FFFFFF",
    checked_text="#000000",
    focus_bg="#000000",
    focus_text="#FFDD00",
    focus_ring="#FFDD00",
    notice_border="#FFFFFF",
    danger_bg="#000000",
    danger_text="#FFFFFF",
    danger_border="#FF7A7A",
    good_text="#7CFC8A",
    good_border="#7CFC8A",
    training_bg="#000000",
    training_text="#FFDD00",
    training_border="#FFDD00",
    frame_border="#FFFFFF",
)

THEMES: Final = {STANDARD.name: STANDARD, HIGH_CONTRAST.name: HIGH_CONTRAST}


@dataclass(frozen=True)
class Appearance:
    """What the resident chose for this visit: text size and whether high contrast is on."""

    size: TextSize = TextSize.STANDARD
    high_contrast: bool = False

    @property
    def palette(self) -> Palette:
        return HIGH_CONTRAST if self.high_contrast else STANDARD


DEFAULT_APPEARANCE: Final = Appearance()
_current: Appearance = DEFAULT_APPEARANCE


def _pt(points: float, size: TextSize) -> str:
    return f"{round(points * size.factor)}pt"


def style_sheet(palette: Palette = STANDARD, size: TextSize = TextSize.STANDARD) -> str:
    """The Qt style sheet for ``palette`` at ``size`` (also what the contrast test parses).

    Every rule that sets a text colour also sets its background (or inherits the page's), so a
    pair can be checked without guessing what lies behind the text.
    """
    p = palette
    return f"""
QWidget {{ background: {p.page_bg}; color: {p.text}; font-size: {_pt(BASE_PT, size)}; }}
QLabel#heading {{ font-size: {_pt(32, size)}; font-weight: bold; }}
QLabel#appTitle {{ font-size: {_pt(18, size)}; font-weight: bold; }}
QLabel#bigCode {{ font-size: {_pt(44, size)}; font-weight: bold; letter-spacing: 4px; }}
QLabel#pinDots {{ font-size: {_pt(40, size)}; letter-spacing: 12px; }}
QLabel#notice {{ border: 3px solid {p.notice_border}; padding: 12px; }}
QLabel#danger {{
    background: {p.danger_bg}; color: {p.danger_text}; border: 4px solid {p.danger_border};
    font-weight: bold; padding: 12px;
}}
QLabel#good {{ border: 4px solid {p.good_border}; color: {p.good_text}; font-weight: bold; padding: 12px; }}
QPushButton {{
    background: {p.button_bg}; color: {p.button_text}; border: 3px solid {p.button_border};
    border-radius: 8px; padding: 8px 20px; min-height: 64px; min-width: 64px;
}}
QPushButton#primary {{
    background: {p.primary_bg}; color: {p.primary_text}; border: 3px solid {p.primary_bg}; font-weight: bold;
}}
QPushButton:checked {{
    background: {p.checked_bg}; color: {p.checked_text}; border: 3px solid {p.checked_bg};
}}
QPushButton:focus {{
    outline: none; background: {p.focus_bg}; color: {p.focus_text}; border: 6px solid {p.focus_ring};
}}
QPushButton:disabled, QPushButton#primary:disabled, QPushButton#pinKey:disabled {{
    background: {p.page_bg}; color: {p.muted}; border: 3px dashed {p.muted};
}}
QPushButton:checked:disabled {{
    background: {p.checked_bg}; color: {p.checked_text}; border: 3px solid {p.checked_bg};
}}
QPushButton#pinKey {{ font-size: {_pt(32, size)}; font-weight: bold; }}
QFrame#header {{ border-bottom: 3px solid {p.frame_border}; }}
QScrollArea {{ border: 3px solid {p.frame_border}; }}
QFrame#training {{ background: {p.training_bg}; border-bottom: 3px dashed {p.training_border}; }}
QFrame#training QLabel, QFrame#training QPushButton {{
    background: {p.training_bg}; color: {p.training_text};
}}
QFrame#training QPushButton {{ border: 3px solid {p.training_border}; }}
"""


#: The standard sheet at the standard size (kept for callers of the old constant).
STYLE: Final = style_sheet()


def family_sheet(language: str) -> str:
    """A style-sheet rule that sets only the typeface ``language`` is read in
    (:func:`ui.i18n.font_family`: Noto Sans CJK SC for 简体中文, KR for 한국어, JP otherwise), for
    a widget's own sheet; sizes and weights stay the theme's. A rule, not ``setFont``: under the
    application's style sheet Qt resolves each widget's font from the sheets, and a parent's
    ``setFont`` no longer reaches its children (measured: the labels stayed in the JP cut)."""
    return f'QWidget {{ font-family: "{font_family(language)}"; }}\n'


def current_appearance() -> Appearance:
    """The appearance last applied (the fit test of ui-layout reads ``.size.factor``)."""
    return _current


def apply_theme(app: QApplication, appearance: Appearance = DEFAULT_APPEARANCE) -> None:
    """Install the font (Noto Sans CJK JP: Japanese glyph variants) and the style sheet for
    ``appearance``. Called at start-up, when the resident changes size or contrast, and at the wipe."""
    global _current
    font = QFont(FONT_FAMILY, round(BASE_PT * appearance.size.factor))
    font.setStyleHint(QFont.StyleHint.SansSerif)
    app.setFont(font)
    app.setStyleSheet(style_sheet(appearance.palette, appearance.size))
    _current = appearance
