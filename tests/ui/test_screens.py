"""Every screen in every language (synthetic states from ui.gallery): touch targets, language,
colour-independent states and the wipe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QPushButton
from uikit import all_texts

from kiosk.rules.programs import load_programs
from ui.gallery import SAMPLE_CODE, SAMPLE_RESIDENT, sample_states, with_language
from ui.i18n import LANGUAGES
from ui.theme import MIN_TARGET
from ui.window import KioskWindow

PROGRAMS = load_programs(Path(__file__).resolve().parents[2] / "config" / "programs")
DEMO = PROGRAMS["demo"]
KANA_KANJI = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
KANJI = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def window(gallery_window: KioskWindow) -> KioskWindow:
    return gallery_window


def _visible_buttons(window: KioskWindow) -> list[QPushButton]:
    return [b for b in window.findChildren(QPushButton) if b.isVisible()]


@pytest.mark.parametrize("language", [code for code, _ in LANGUAGES])
def test_every_screen_has_large_targets_in_every_language(window: KioskWindow, language: str) -> None:
    for name, state in sample_states(DEMO):
        window.show_state(with_language(state, language))
        QApplication.processEvents()
        buttons = _visible_buttons(window)
        assert buttons, name
        for button in buttons:
            size = button.size()
            assert size.width() >= MIN_TARGET, (name, button.text(), size)
            assert size.height() >= MIN_TARGET, (name, button.text(), size)
            assert button.accessibleName() or button.text(), name


def test_screens_speak_the_chosen_language(window: KioskWindow) -> None:
    page_texts = {}
    for language in ("ja", "ja-easy", "en"):
        for name, state in sample_states(DEMO):
            window.show_state(with_language(state, language))
            page = window.stack.currentWidget()
            page_texts[(language, name)] = "\n".join(all_texts(page))
    for name, _ in sample_states(DEMO):
        ja, easy, en = (page_texts[(lang, name)] for lang in ("ja", "ja-easy", "en"))
        assert KANA_KANJI.search(ja), name
        assert easy != ja, name  # やさしい日本語 is its own text, not the polite one
        personal = ("confirm", "confirm_only", "eligibility", "saving", "not_eligible")
        if name not in ("language", "consent", "consent_one_agreed", "consent_chosen", "program", *personal):
            # screens without programme or card data (or all languages at once): English only
            # (the card-info PIN's Japanese name is quoted on purpose: it is printed on the PIN form)
            allowed = (*(name for _, name in LANGUAGES), "券面事項入力補助用")
            for word in allowed:
                en = en.replace(word, "")
            assert not KANA_KANJI.search(en), name


def test_easy_japanese_uses_fewer_kanji(window: KioskWindow) -> None:
    for name in ("wait_card", "pin_entry", "receipt", "take_card_alarm", "error_card_removed"):
        state = dict(sample_states(DEMO))[name]
        counts = []
        for language in ("ja", "ja-easy"):
            window.show_state(with_language(state, language))
            counts.append(len(KANJI.findall("\n".join(all_texts(window.stack.currentWidget())))))
        assert counts[1] < counts[0], (name, counts)


def test_states_carry_words_and_icons_not_colour_alone(window: KioskWindow) -> None:
    samples = dict(sample_states(DEMO))
    for name, mark in (
        ("receipt", "✓"),
        ("not_eligible", "✕"),
        ("error_pin_blocked", "⚠"),
        ("take_card_alarm", "⚠"),
        ("pin_incorrect", "⚠"),
        ("timeout_warning", "⚠"),
        ("wait_card_no_reader", "⚠"),
    ):
        window.show_state(samples[name])
        assert mark in "\n".join(all_texts(window.stack.currentWidget())), name


def test_language_switch_is_on_every_screen(window: KioskWindow) -> None:
    """The header's one language button on every screen (it names the current language); the
    attract screen and the picker itself have every language as a button instead."""
    names = [name for _, name in LANGUAGES]
    for name, state in sample_states(DEMO):
        window.show_state(state)
        if name in ("idle", "language"):
            page = window.stack.currentWidget()
            assert [b.text() for b in page.choices] == names, name  # type: ignore[attr-defined]
            assert all(b.isVisible() and b.isEnabled() for b in page.choices), name  # type: ignore[attr-defined]
            continue
        button = window.language_button
        assert button.isVisible(), name
        assert button.isEnabled(), name
        assert button.text().startswith(dict(LANGUAGES)[state.language]), name


def test_the_picker_keeps_the_screen_and_shows_every_language_large(window: KioskWindow) -> None:
    samples = dict(sample_states(DEMO))
    window.show_state(samples["pin_entry"])
    window.open_picker()
    assert window.current_page() == "language"
    picker = window.pages["language"]
    for choice in picker.choices:  # type: ignore[attr-defined]
        assert choice.isVisible()
        assert choice.height() >= 80, choice.text()  # large: the whole screen is the picker
    window.close_picker()
    assert window.current_page() == "pin"


def test_wipe_leaves_no_personal_data_or_code(window: KioskWindow) -> None:
    samples = dict(sample_states(DEMO))
    for name in ("confirm", "eligibility", "receipt"):
        window.show_state(samples[name])
    window.show_state(samples["confirm"])
    shown = "\n".join(all_texts(window))
    assert SAMPLE_RESIDENT.name in shown
    window.wipe()
    window.show_state(samples["idle"])
    texts = "\n".join(all_texts(window))
    for secret in (SAMPLE_RESIDENT.name, SAMPLE_RESIDENT.address, SAMPLE_CODE, "1950"):
        assert secret not in texts
    assert window.pages["receipt"].qr.pixmap().isNull()  # type: ignore[attr-defined]


def test_focus_starts_on_the_main_action(window: KioskWindow) -> None:
    samples = dict(sample_states(DEMO))
    for name, expected in (
        ("error_card_removed", "ok"),
        ("eligibility", "register"),
        ("confirm", "yes"),
        ("consent", "agree"),
    ):
        window.show_state(samples["idle"])
        window.show_state(samples[name])
        page = window.stack.currentWidget()
        assert getattr(page, expected).hasFocus(), name
    window.show_state(samples["pin_entry"])
    assert window.pages["pin"].pad.hasFocus()  # type: ignore[attr-defined]


def test_waiting_without_a_reader_says_so(window: KioskWindow) -> None:
    samples = dict(sample_states(DEMO))
    page = window.pages["wait_card"]
    window.show_state(samples["wait_card"])
    assert not page.no_reader.isVisible()  # type: ignore[attr-defined]
    window.show_state(samples["wait_card_no_reader"])
    assert page.no_reader.isVisible()  # type: ignore[attr-defined]
    assert page.no_reader.text().startswith("⚠ ")  # type: ignore[attr-defined]
