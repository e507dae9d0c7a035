"""WCAG 2.2 AA contrast of every colour pair in every theme, computed from the style sheet Qt is
given (not from a hand-kept table), plus rendered checks that the disabled and focused looks win
over the ``#primary`` rule and that the text sizes scale the fonts.

Pairs checked per rule: text colour on the rule's background (or the page's) ≥ 4.5:1 (1.4.3);
a border against the page background and against the rule's own fill ≥ 3:1 (1.4.11), except when
the border *is* the fill (then the fill against the page is the boundary); the focus ring against
the page and against the focused fill ≥ 3:1.
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from ui.theme import (
    BASE_PT,
    DEFAULT_APPEARANCE,
    HIGH_CONTRAST,
    STANDARD,
    THEMES,
    Appearance,
    Palette,
    TextSize,
    apply_theme,
    current_appearance,
    style_sheet,
)

RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
HEX = re.compile(r"#[0-9A-Fa-f]{6}\b")


def luminance(hex_colour: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_the_review_figures() -> None:
    # figures from the December 2026 UI review (ui-review-2026-12.md)
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#FFFFFF", "#003A8C") == pytest.approx(10.59, abs=0.01)
    assert contrast("#C5C5C5", "#FFFFFF") == pytest.approx(1.72, abs=0.01)
    assert contrast("#E07000", "#FFFFFF") == pytest.approx(3.24, abs=0.01)


def parse(sheet: str) -> list[tuple[str, dict[str, str]]]:
    rules = []
    for selector, body in RULE.findall(sheet):
        declarations: dict[str, str] = {}
        for item in body.split(";"):
            if ":" in item:
                key, value = item.split(":", 1)
                declarations[key.strip()] = value.strip()
        rules.append((" ".join(selector.split()), declarations))
    return rules


def colour(value: str) -> str | None:
    found = HEX.search(value)
    return found.group(0).upper() if found else None


def pairs(sheet: str) -> list[tuple[str, str, str, float]]:
    """(what, foreground, background, required ratio) for every pair the sheet creates."""
    rules = parse(sheet)
    page = dict(rules)["QWidget"]
    page_bg = colour(page["background"])
    assert page_bg is not None
    found: list[tuple[str, str, str, float]] = []
    for selector, decl in rules:
        bg = colour(decl.get("background", "")) or page_bg
        fg = colour(decl.get("color", ""))
        if fg is not None:
            found.append((f"{selector} text", fg, bg, 4.5))
        for key in ("border", "border-bottom"):
            border = colour(decl.get(key, ""))
            if border is None:
                continue
            if border == bg:  # the border is the fill: the fill is what meets the page
                found.append((f"{selector} fill", bg, page_bg, 3.0))
            else:
                found.append((f"{selector} {key}", border, page_bg, 3.0))
                found.append((f"{selector} {key} inside", border, bg, 3.0))
    return found


@pytest.mark.parametrize("size", list(TextSize))
@pytest.mark.parametrize("palette", list(THEMES.values()), ids=lambda p: p.name)
def test_every_colour_pair_meets_wcag_aa(palette: Palette, size: TextSize) -> None:
    sheet = style_sheet(palette, size)
    found = pairs(sheet)
    assert len(found) >= 20, "the parser found too few pairs: the sheet's format changed"
    failures = [
        f"{what}: {fg} on {bg} = {contrast(fg, bg):.2f} < {need}"
        for what, fg, bg, need in found
        if contrast(fg, bg) < need
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("palette", list(THEMES.values()), ids=lambda p: p.name)
def test_focus_ring_stands_out_from_every_button_look(palette: Palette) -> None:
    rules = dict(parse(style_sheet(palette)))
    focus = rules["QPushButton:focus"]
    ring = colour(focus["border"])
    fill = colour(focus["background"])
    assert ring is not None
    assert fill is not None
    assert contrast(ring, palette.page_bg) >= 3.0
    assert contrast(ring, fill) >= 3.0
    assert contrast(colour(focus["color"]) or "", fill) >= 4.5
    assert "6px" in focus["border"], "the ring is thicker than any unfocused border (3 px)"


@pytest.mark.parametrize("palette", list(THEMES.values()), ids=lambda p: p.name)
def test_training_bar_pairs(palette: Palette) -> None:
    assert contrast(palette.training_text, palette.training_bg) >= 4.5
    assert contrast(palette.training_border, palette.training_bg) >= 3.0


def test_the_two_review_failures_are_fixed() -> None:
    rules = dict(parse(style_sheet(STANDARD)))
    scroll = colour(rules["QScrollArea"]["border"])
    assert scroll is not None
    assert contrast(scroll, STANDARD.page_bg) >= 3.0  # was #C5C5C5, 1.72:1
    assert colour(rules["QPushButton:focus"]["border"]) != "#E07000"  # 3.2:1 against the blue


def _pixel(widget: QWidget, x: int, y: int) -> str:
    image = widget.grab().toImage()
    return QColor(image.pixel(x, y)).name().upper()


@pytest.mark.parametrize("palette", [STANDARD, HIGH_CONTRAST], ids=lambda p: p.name)
def test_disabled_primary_looks_disabled_rendered(qtbot: QtBot, palette: Palette) -> None:
    """The ``#primary`` rule used to outrank ``:disabled``: a disabled 決定 stayed blue. Rendered:
    the disabled key's fill is the page's, its border is dashed (gaps of page colour along the
    edge), so it reads as disabled without colour."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, Appearance(high_contrast=palette is HIGH_CONTRAST))
    try:
        enabled = QPushButton("OK")
        enabled.setObjectName("primary")
        disabled = QPushButton("OK")
        disabled.setObjectName("primary")
        disabled.setEnabled(False)
        for widget in (enabled, disabled):
            widget.setFixedSize(300, 100)
            qtbot.addWidget(widget)
            widget.show()
            qtbot.waitExposed(widget)
        assert _pixel(enabled, 150, 50) == palette.primary_bg
        assert _pixel(disabled, 150, 50) == palette.page_bg
        edge = {_pixel(disabled, x, 1) for x in range(20, 280)}
        assert palette.page_bg in edge, f"border not dashed: {edge}"
        assert palette.muted in edge, f"border not dashed: {edge}"
    finally:
        apply_theme(app)


def test_text_sizes_scale_every_font(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    try:
        for size in TextSize:
            apply_theme(app, Appearance(size=size))
            assert current_appearance().size is size
            assert app.font().pointSize() == round(BASE_PT * size.factor)
            heading = dict(parse(app.styleSheet()))["QLabel#heading"]["font-size"]
            assert heading == f"{round(32 * size.factor)}pt"
        assert [s.factor for s in TextSize] == [1.0, 1.25, 1.5]
    finally:
        apply_theme(app)
    assert current_appearance() == DEFAULT_APPEARANCE


@pytest.mark.parametrize("palette", list(THEMES.values()), ids=lambda p: p.name)
def test_card_picture_colours_meet_3_to_1(palette: Palette) -> None:
    """The card picture's chevron against the page, and (dark theme) its white panel against the
    page: icons need 3:1 (WCAG 1.4.11)."""
    from ui.illustration import PANEL, chevron_colour

    assert contrast(chevron_colour(palette), palette.page_bg) >= 3.0
    if palette.page_bg != "#FFFFFF":
        assert contrast(PANEL, palette.page_bg) >= 3.0
