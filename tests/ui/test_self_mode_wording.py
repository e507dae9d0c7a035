"""Self-service mode knows it is alone (issue 13 §6): no string a self-service kiosk shows or says
sends the resident to staff, in any language; every error has its own title and, in self mode,
the support line; staff mode says "please ask the staff"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.assistance import (
    ASK_STAFF,
    SELF_SERVICE_TEXTS,
    TITLES,
    error_screen,
    forgot_pin_text,
    pin_tries_text,
)
from kiosk.flow import ErrorKind
from kiosk.i18n import LANGUAGE_CODES
from kiosk.rules.programs import Program, load_programs
from kiosk.settings import KioskMode
from ui.voice_prompts import prompt_parts, prompt_text

ROOT = Path(__file__).resolve().parents[2]

#: How each language says "staff" (the words the catalogues use for 係員).
STAFF_WORDS = {
    "ja": ("係員", "職員", "スタッフ", "係の"),
    "ja-easy": ("かかりの", "かかり の", "しょくいん", "スタッフ"),
    "en": ("staff", "attendant", "employee"),
    "zh-Hans": ("工作人员", "职员"),
    "ko": ("직원",),
    "vi": ("nhân viên",),
    "tl": ("staff", "kawani"),
    "ne": ("कर्मचारी",),
    "pt": ("atendente", "funcionário"),
    "id": ("petugas", "staf"),
}


def mentions_staff(text: str, language: str) -> list[str]:
    words = STAFF_WORDS[language] + STAFF_WORDS["en"]  # tl and others may borrow "staff"
    return [w for w in words if re.search(re.escape(w), text, re.IGNORECASE)]


@pytest.fixture(scope="module")
def programs() -> dict[str, Program]:
    return load_programs(ROOT / "config" / "programs")


def test_staff_words_are_what_the_catalogue_says() -> None:
    """The word lists above catch the catalogue's own "ask the staff" (else the test is blind)."""
    for language in LANGUAGE_CODES:
        assert mentions_staff(ASK_STAFF.get(language), language), language


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_self_mode_errors_never_mention_staff(language: str, programs: dict[str, Program]) -> None:
    for program in programs.values():
        for kind in ErrorKind:
            screen = error_screen(kind, KioskMode.SELF, program, language)
            for text in (screen.title, screen.text, screen.help):
                assert not mentions_staff(text, language), (kind, text)
            assert program.support_phone in screen.help  # the support line instead
    for text in forgot_pin_text(language):
        assert not mentions_staff(text, language), text
    for card_info in (False, True):
        assert not mentions_staff(pin_tries_text(language, card_info=card_info, tries_left=2), language)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_self_mode_voice_never_mentions_staff(language: str) -> None:
    for prompt_id in prompt_parts():
        if prompt_id.startswith("error.") or prompt_id == "reader_missing":
            continue  # the staff-mode prompts (ui.voice.prompt_for picks error_self.* in self mode)
        text = prompt_text(prompt_id, language)
        assert not mentions_staff(text, language), (prompt_id, text)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_staff_mode_says_ask_the_staff(language: str, programs: dict[str, Program]) -> None:
    for kind in ErrorKind:
        screen = error_screen(kind, KioskMode.STAFF, programs["demo"], language)
        if kind in SELF_SERVICE_TEXTS:  # the flow's own text already says it
            assert mentions_staff(screen.text, language)
            assert screen.help == ""
        else:
            assert screen.help == ASK_STAFF.get(language)


def test_every_error_kind_has_its_own_title() -> None:
    for language in ("ja", "en"):
        titles = [TITLES[kind].get(language) for kind in ErrorKind]
        assert len(set(titles)) == len(ErrorKind), titles


def test_pin_tries_name_the_pin() -> None:
    assert "利用者証明用" in pin_tries_text("ja", card_info=False, tries_left=2)
    assert "券面事項入力補助用" in pin_tries_text("ja", card_info=True, tries_left=1)
    assert "2" in pin_tries_text("en", card_info=False, tries_left=2)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_no_screen_of_a_self_service_kiosk_mentions_staff(
    qtbot: object, themed: object, language: str
) -> None:
    """Every gallery screen, rendered by the real window with the self-service assistance
    attached: no label, button, accessible name or description mentions staff."""
    from uikit import all_texts

    from kiosk.station import StationSettings
    from ui.assist import attach
    from ui.gallery import sample_states, with_language
    from ui.window import KioskWindow

    programs = load_programs(ROOT / "config" / "programs")
    window = KioskWindow(programs)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    attach(window, mode=KioskMode.SELF, station=StationSettings(voice_enabled=False))
    window.show()
    found = []
    for program_id in ("demo", "miyagi-point-2025-second"):
        for name, state in sample_states(programs[program_id]):
            window.wipe()
            window.show_state(with_language(state, language))
            for text in all_texts(window):  # every page, the header and the bar
                if mentions_staff(text, language):
                    found.append((program_id, name, text))
    assert not found, found
