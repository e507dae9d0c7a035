"""Every gallery screen fits every kiosk screen size in every language (and text size).

For each window size × language (the languages are whatever ``ui.i18n.LANGUAGES`` ships, so new
ones are covered without touching this file) the window renders each screen of ``ui.gallery`` once
and :func:`ui.fit.misfits` measures every visible widget: text against its widget (font metrics;
wrapped labels and buttons measured wrapped), widgets against the window and their parents, and the
Japanese font. The text sizes are ``ui.theme.TextSize`` when the theme has them (標準 / 大 / 特大),
else the standard size only; larger sizes run on the sizes a resident can choose them on.

The window is the one a resident sees (no training bar) with every shipped programme offered (the
programme screen then has its selector: its longest form); the screens are those of the default
programme plus the demo programme's consent screens (it has an optional service).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from kiosk.rules.programs import load_programs
from kiosk.settings import KioskMode
from kiosk.station import StationSettings
from ui import theme
from ui.assist import attach
from ui.fit import misfits, missing_glyphs
from ui.gallery import sample_states, with_language
from ui.i18n import LANGUAGES
from ui.window import KioskWindow

PROGRAMS = load_programs(Path(__file__).resolve().parents[2] / "config" / "programs")
SIZES = [(1080, 1920), (1080, 1600), (1920, 1080), (1366, 768), (1280, 1024), (800, 1280)]
SCREENS = [
    *sample_states(PROGRAMS["miyagi-point-2025-second"]),
    *(
        (f"demo_{name}", state)
        for name, state in sample_states(PROGRAMS["demo"])
        if name.startswith("consent")
    ),
]


def _text_sizes() -> list[object]:
    sizes = getattr(theme, "TextSize", None)
    return list(sizes) if sizes is not None else [None]


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[KioskWindow]:
    """A resident's window, deleted afterwards: live windows from earlier tests would each be
    re-polished by every later theme change (the run then slows down test by test)."""
    window = KioskWindow(PROGRAMS)
    # the real kiosk's assistance bar (listen again, text size, contrast, voice) takes room too
    attach(window, mode=KioskMode.SELF, station=StationSettings(voice_enabled=False))
    yield window
    window.close()
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def _show(qtbot: QtBot, window: KioskWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)


@pytest.fixture
def sized(themed: QApplication, request: pytest.FixtureRequest) -> Iterator[QApplication]:
    """The theme at the parametrized text size (restored afterwards)."""
    size = request.param
    if size is not None:
        theme.apply_theme(themed, theme.Appearance(size=size))
    yield themed
    if size is not None:
        theme.apply_theme(themed)


def _render_all(window: KioskWindow, language: str) -> list[str]:
    problems = []
    for name, state in SCREENS:
        window.wipe()
        window.show_state(with_language(state, language))
        QApplication.processEvents()
        problems += [f"{name}: {p}" for p in misfits(window)]
    return problems


@pytest.mark.parametrize("sized", _text_sizes()[:1], indirect=True, ids=lambda s: getattr(s, "value", "1"))
@pytest.mark.parametrize("language", [code for code, _ in LANGUAGES])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_screen_fits(
    sized: QApplication, qtbot: QtBot, window: KioskWindow, size: tuple[int, int], language: str
) -> None:
    _show(qtbot, window, size)
    assert (window.width(), window.height()) == size  # the window takes the screen, whatever it shows
    problems = _render_all(window, language)
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize(
    "sized", _text_sizes()[1:] or [None], indirect=True, ids=lambda s: getattr(s, "value", "1")
)
@pytest.mark.parametrize("language", ["ja-easy", "en", "vi"])
@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_larger_text_fits(
    sized: QApplication, qtbot: QtBot, window: KioskWindow, size: tuple[int, int], language: str
) -> None:
    """大 / 特大 on the portrait and the large landscape screen, in the longest languages."""
    if language not in dict(LANGUAGES):
        language = "en"
    _show(qtbot, window, size)
    problems = _render_all(window, language)
    assert not problems, "\n".join(problems[:40])


def test_the_checker_finds_a_clipped_button(themed: QApplication, qtbot: QtBot, window: KioskWindow) -> None:
    """The measure itself can fail: a window far too small for the PIN screen is reported."""
    _show(qtbot, window, (640, 480))
    state = dict(SCREENS)["pin_incorrect"]
    window.show_state(with_language(state, "ja-easy"))
    QApplication.processEvents()
    assert misfits(window)


def test_the_checker_finds_empty_boxes(themed: QApplication) -> None:
    """Tofu fits perfectly; the glyph check is what fails when a language's font is missing."""
    font = QFont(theme.FONT_FAMILY, 20)
    assert missing_glyphs("マイナンバーカード नेपाली 한국어 Tiếng Việt ✓ ✕ ⚠", font) == 0
    assert missing_glyphs("\ue000\ue001", font) == 2  # private-use characters: no font has them
