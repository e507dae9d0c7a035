"""One adaptive layout for every kiosk screen size (docs/ui.md "Layout rules").

The screens were drawn for a 1080 × 1600 portrait panel and needed 1,418 px of height; counter and
convenience-store terminals are 1920 × 1080 or 1366 × 768 landscape, clinics use 1280 × 1024 and
tablets 800 × 1280. Instead of one layout per size there are two rules:

* **Orientation.** Wider than tall: each page puts its second column (the PIN pad, the
  eligibility result, the QR code…) beside the first; otherwise below it.
* **Scale.** Fonts, paddings, spacing and the PIN keys scale with the window:
  ``scale = min(width / REF_W, height / REF_H)`` with the reference size of the orientation
  (1080 × 1600 portrait, 1600 × 1080 landscape), clamped to [0.6, 1.25]. Touch targets never go
  below :data:`ui.theme.MIN_TARGET` whatever the scale.

The resident's text size (``ui.theme.TextSize``, 標準 / 大 / 特大) multiplies the fonts only, on top
of the window scale: :func:`metrics_for` takes it as ``text_factor``.

The window applies :func:`size_sheet` as its own style sheet. It sets sizes only (font sizes,
paddings, minimum heights), never colours, so the application's theme sheet (colours, contrast
themes) stays in charge of the look; a widget's own sheet wins over the application's for the
properties it sets, whatever the selectors' specificity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ui.theme import BASE_PT, BUTTON_HEIGHT, MIN_TARGET, PIN_KEY

PORTRAIT_REF: Final = (1080, 1600)
LANDSCAPE_REF: Final = (1600, 1080)
MIN_SCALE: Final = 0.6
MAX_SCALE: Final = 1.25
#: Font sizes (pt at scale 1) per style-sheet role.
FONT_PT: Final = {
    "body": BASE_PT,
    "heading": 30,
    "appTitle": 18,
    "bigCode": 44,
    "pinDots": 36,
    "pinKey": 30,
    "step": 16,
}


@dataclass(frozen=True)
class Metrics:
    """Sizes for one window size and text size."""

    width: int
    height: int
    landscape: bool
    scale: float  # window scale (layout)
    text_factor: float  # the resident's text size

    def px(self, value: float) -> int:
        """A layout length (margin, spacing) at this window's scale."""
        return max(1, round(value * self.scale))

    def pt(self, role: str) -> int:
        """The font size of a style-sheet role, in points."""
        return max(8, round(FONT_PT[role] * self.scale * self.text_factor))

    @property
    def button_height(self) -> int:
        return max(MIN_TARGET, self.px(BUTTON_HEIGHT))

    @property
    def pin_key(self) -> int:
        return max(MIN_TARGET, self.px(PIN_KEY))


def metrics_for(width: int, height: int, text_factor: float = 1.0) -> Metrics:
    """The metrics of a ``width`` × ``height`` window at the resident's ``text_factor``."""
    landscape = width > height
    ref_w, ref_h = LANDSCAPE_REF if landscape else PORTRAIT_REF
    scale = min(width / ref_w, height / ref_h)
    scale = round(min(MAX_SCALE, max(MIN_SCALE, scale)), 2)  # quantised: few re-polishes
    return Metrics(width, height, landscape, scale, text_factor)


def size_sheet(m: Metrics) -> str:
    """The window's own style sheet: sizes only (see the module docstring)."""
    pad_v, pad_h = m.px(8), m.px(20)
    return f"""
QWidget {{ font-size: {m.pt("body")}pt; }}
QLabel#heading {{ font-size: {m.pt("heading")}pt; }}
QLabel#appTitle {{ font-size: {m.pt("appTitle")}pt; }}
QLabel#bigCode {{ font-size: {m.pt("bigCode")}pt; }}
QLabel#pinDots {{ font-size: {m.pt("pinDots")}pt; }}
QLabel#step {{ font-size: {m.pt("step")}pt; }}
QLabel#notice, QLabel#danger, QLabel#good {{ padding: {m.px(12)}px; }}
QPushButton {{ padding: {pad_v}px {pad_h}px; min-height: {MIN_TARGET}px; min-width: {MIN_TARGET}px; }}
QPushButton#pinKey {{ font-size: {m.pt("pinKey")}pt; padding: 2px; }}
QPushButton#pinWordKey {{ font-size: {m.pt("body")}pt; font-weight: bold; padding: 2px; }}
"""
