"""Each language is drawn in its own typeface, and the step bar joins its parts the script's way.

One Noto CJK family covers Chinese, Japanese and Korean, but each regional cut draws shared
characters its own region's way (直, 角, 骨 in the JP cut look wrong to a reader of simplified
Chinese): 简体中文 gets Noto Sans CJK SC, 한국어 KR, everything else the kiosk's JP default
(docs/ui.md "Fonts"). The check is the font Qt really resolved (``QFontInfo``), so a missing
font fails here rather than falling back silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from kiosk.flow.state import FlowState, Phase
from kiosk.i18n import LANGUAGE_CODES
from kiosk.rules.programs import load_programs
from ui.gallery import sample_states, with_language
from ui.i18n import font_family
from ui.pages.base import View, step_text
from ui.window import KioskWindow

PROGRAMS = load_programs(Path(__file__).resolve().parents[2] / "config" / "programs")
DEMO = PROGRAMS["demo"]


@pytest.fixture
def window(gallery_window: KioskWindow) -> KioskWindow:
    return gallery_window


def _drawn_family(widget: QWidget) -> str:
    return QFontInfo(widget.font()).family()


def _state(name: str) -> FlowState:
    return dict(sample_states(DEMO))[name]


#: The face each language's screens are drawn in, written out here (not read from ui.i18n): the
#: simplified-Chinese and Korean cuts, the Japanese cut for every other language.
EXPECTED_FACE = {"zh-Hans": "Noto Sans CJK SC", "ko": "Noto Sans CJK KR"}


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_screen_text_is_in_the_languages_typeface(window: KioskWindow, language: str) -> None:
    for name in ("consent", "pin_entry", "confirm"):
        window.show_state(with_language(_state(name), language))
        page = window.pages[window.current_page()]
        expected = EXPECTED_FACE.get(language, "Noto Sans CJK JP")
        assert font_family(language) == expected
        card_data = set(getattr(page, "fields", ()))  # the basic four: Japanese, in the JP cut
        if name == "confirm":
            assert card_data, "the confirm page lists the basic four"
        labels = [w for w in page.findChildren(QLabel) if w.isVisible() and w.text() and w not in card_data]
        for field in card_data:
            assert _drawn_family(field) == "Noto Sans CJK JP", f"{language}: card data"
        assert labels
        wrong = {_drawn_family(w) for w in labels} - {expected}
        assert not wrong, f"{language} {name}: drawn in {wrong}, not {expected}"
        assert _drawn_family(window.title) == expected


def test_switching_back_restores_the_japanese_cut(window: KioskWindow) -> None:
    consent = _state("consent")
    for language, family in (
        ("zh-Hans", "Noto Sans CJK SC"),
        ("ko", "Noto Sans CJK KR"),
        ("ja", "Noto Sans CJK JP"),
    ):
        window.show_state(with_language(consent, language))
        assert _drawn_family(window.title) == family


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_step_bar_joiner_fits_the_script(language: str) -> None:
    state = FlowState(phase=Phase.WAIT_CARD, language=language, program_id="demo")
    text = step_text(state, View(language, DEMO))
    assert text
    if language in ("ja", "ja-easy", "zh-Hans"):
        assert "\u3000" in text  # the full-width space of Japanese and Chinese typesetting
    else:
        assert "\u3000" not in text
        assert " · " in text


def test_staff_view_uses_the_staff_languages_face(themed: QApplication, qtbot: QtBot) -> None:
    from kiosk.staff_auth import PasscodeGate, hash_passcode
    from ui.staff import QueueInfo, StaffView

    view = StaffView(PasscodeGate(hash_passcode("246810")), lambda: QueueInfo(), language="zh-Hans")
    qtbot.addWidget(view)
    view.show()
    assert _drawn_family(view.title) == "Noto Sans CJK SC"
    view.set_language("ja")
    assert _drawn_family(view.title) == "Noto Sans CJK JP"
