"""The Qt shelter screens (offscreen) over the real desk: scanner input, companions, second tap,
move, staff entry, the staff headcount, every page in every kiosk language."""

from __future__ import annotations

from pathlib import Path

import pytest
from deskkit import MemoryQueue, make_desk, tap
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from kiosk.i18n import LANGUAGE_CODES
from kiosk.rules.shelter_record import Event, parse_shelter_plaintext
from kiosk.shelter_card import QR_PREFIX, new_token
from ui.pages.shelter import SCREENS, ShelterScreen, show_sample, text
from ui.theme import apply_theme


@pytest.fixture
def screen(qapp: QApplication, qtbot: QtBot, tmp_path: Path) -> ShelterScreen:
    apply_theme(qapp)
    queue = MemoryQueue()
    widget = ShelterScreen(make_desk(tmp_path, queue), queued=lambda: len(queue.rows))
    widget.queue = queue  # type: ignore[attr-defined]
    qtbot.addWidget(widget)
    widget.resize(1080, 1600)
    widget.show()
    return widget


def test_first_screen_names_the_shelter(screen: ShelterScreen) -> None:
    assert screen.page == "welcome"
    assert screen.title.text() == "避難所の受付"
    assert screen.shelter_name.text() == "日和山小学校 体育館"
    assert "暗証番号は要りません" in screen.tap_hint.text()
    assert screen.code.hasFocus() or QApplication.focusWidget() in (None, screen.code)


def test_scanner_types_the_code_then_companions(screen: ShelterScreen, qtbot: QtBot) -> None:
    screen.code.setFocus()
    qtbot.keyClicks(screen.code, QR_PREFIX + new_token())
    qtbot.keyClick(screen.code, Qt.Key.Key_Return)  # what a USB scanner sends at the end
    assert screen.page == "done"
    assert not screen.companions_add.isEnabled()
    qtbot.mouseClick(screen.plus, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.plus, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.companions_add, Qt.MouseButton.LeftButton)
    assert screen.page == "welcome"
    rows = screen.queue.rows  # type: ignore[attr-defined]
    assert [parse_shelter_plaintext(r[0]).event for r in rows] == [Event.ARRIVAL, Event.COMPANIONS]  # type: ignore[union-attr]
    assert "在所 3人" in screen.headcount.text()
    assert "未送信 2件" in screen.headcount.text()


def test_second_tap_asks_then_move(screen: ShelterScreen, qtbot: QtBot) -> None:
    screen.card_tapped(tap("miyagi-sendai")[1])
    assert screen.page == "done"
    qtbot.mouseClick(screen.finish, Qt.MouseButton.LeftButton)
    screen.card_tapped(tap("miyagi-sendai")[1])
    assert screen.page == "already"
    qtbot.mouseClick(screen.move_button, Qt.MouseButton.LeftButton)
    assert screen.page == "moved"
    qtbot.mouseClick(screen.targets["ishinomaki-kaisei"], Qt.MouseButton.LeftButton)
    assert screen.page == "message"
    assert "開成地区" in screen.message.text()
    assert "在所 0人" in screen.headcount.text()


def test_staff_entry_is_cleared_after_use(screen: ShelterScreen, qtbot: QtBot) -> None:
    qtbot.mouseClick(screen.staff_button, Qt.MouseButton.LeftButton)
    assert screen.page == "staff_entry"
    screen.kana.setText("ヤマダ タロウ")  # an IME commits the text (QTest cannot type kana)
    qtbot.keyClicks(screen.birth, "1945-08-15")
    qtbot.mouseClick(screen.staff_ok, Qt.MouseButton.LeftButton)
    assert screen.page == "done"
    assert screen.done_title.text() == text("done_unverified", "ja")
    assert screen.kana.text() == ""
    assert screen.birth.text() == ""
    assert "本人確認なし 1人" in screen.headcount.text()
    qtbot.mouseClick(screen.staff_button, Qt.MouseButton.LeftButton)
    screen.kana.setText("山田")
    qtbot.keyClicks(screen.birth, "1945-08-15")
    qtbot.mouseClick(screen.staff_ok, Qt.MouseButton.LeftButton)
    assert screen.page == "message"
    assert screen.message.text() == text("bad_entry", "ja")


def test_untrusted_card_offers_staff_entry_and_queues_nothing(screen: ShelterScreen) -> None:
    _, ident = tap("miyagi-sendai")
    screen.card_tapped(type(ident)(ident.certificate_der, ident.issuer_der, ident.serial, "invalid"))
    assert screen.page == "message"
    assert screen.queue.rows == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_page_in_every_language(screen: ShelterScreen, language: str) -> None:
    screen.set_language(language)
    for name in SCREENS:
        show_sample(screen, name)
        QApplication.processEvents()
        assert screen.page == name
        assert not screen.grab().isNull()
        page = screen.pages[name]
        for b in page.findChildren(QPushButton):
            if b.isVisible():
                assert b.text(), (language, name)
                assert b.height() >= 60, (language, name, b.text())
    show_sample(screen, "welcome")
    # the first screen is in the kiosk language itself, not the English fallback
    assert (screen.title.text() == text("title", "en")) == (language == "en")
    assert (screen.tap_hint.text() == text("tap", "en")) == (language == "en")
    assert screen.queue.rows == []  # type: ignore[attr-defined]  # the samples queue nothing


def test_checkin_card_pdf_has_the_code_and_no_personal_data(qapp: QApplication, tmp_path: Path) -> None:
    import re
    import subprocess

    from kiosk.shelter_card import card_content
    from ui.pages.shelter_card_print import checkin_card_pdf

    token = new_token()
    content = card_content(token)
    pdf = tmp_path / "card.pdf"
    checkin_card_pdf(content, str(pdf))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)
    assert "243 x 153 pts" in info  # 85.6 x 54 mm
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "避難所受付カード" in words
    # the code is set in a Latin face, so the PDF's text layer holds it whole, digits included
    assert content.token_text in words
    assert "佐藤" not in words


def test_a_tap_on_the_companions_screen_is_the_same_household(screen: ShelterScreen) -> None:
    screen.card_tapped(tap("miyagi-sendai")[1])
    assert screen.page == "done"
    screen.card_tapped(tap("miyagi-elderly")[1])  # "anyone else with you?": their own card
    screen.card_tapped(tap("tochigi-utsunomiya")[1])
    rows = [parse_shelter_plaintext(r[0]) for r in screen.queue.rows]  # type: ignore[attr-defined]
    first = rows[0].record_id
    assert [r.household for r in rows] == [None, first, first]  # type: ignore[union-attr]
    screen.show_page("welcome")
    screen.card_tapped(tap("miyagi-long-address")[1])  # a new person from the first screen: alone
    assert parse_shelter_plaintext(screen.queue.rows[-1][0]).household is None  # type: ignore[attr-defined,union-attr]
