"""The PIN pad on its own: the buffer is a bytearray that moves on submit and is zeroed in place;
only complete PINs leave; the screen shows dots and a count, never digits typed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from uikit import all_texts

from ui.pinpad import PIN_LENGTH, PinPad
from ui.theme import MIN_TARGET


def _pad(qtbot: QtBot) -> PinPad:
    pad = PinPad()
    qtbot.addWidget(pad)
    pad.set_language("ja")
    pad.show()
    return pad


def test_submit_hands_over_the_buffer_and_starts_a_new_one(themed: QApplication, qtbot: QtBot) -> None:
    pad = _pad(qtbot)
    got: list[bytearray] = []
    pad.submitted.connect(got.append)
    buffer = pad._buffer
    for digit in (5, 0, 7, 1):
        pad.press(digit)
    pad.press(9)  # a fifth digit is ignored
    assert pad.count == PIN_LENGTH
    pad.submit()
    assert got == [bytearray(b"5071")]
    assert got[0] is buffer  # the same object: the flow's executor zeroes it
    assert pad._buffer is not buffer
    assert pad._buffer == bytearray(PIN_LENGTH)
    assert pad.count == 0


def test_incomplete_pins_do_not_leave_and_clear_zeroes_in_place(themed: QApplication, qtbot: QtBot) -> None:
    pad = _pad(qtbot)
    got: list[bytearray] = []
    pad.submitted.connect(got.append)
    pad.press(3)
    pad.press(8)
    assert not pad.ok_key.isEnabled()
    pad.submit()
    assert got == []
    buffer = pad._buffer
    pad.delete()
    assert buffer == bytearray(b"3\x00\x00\x00")
    pad.clear()
    assert buffer == bytearray(PIN_LENGTH)
    assert pad._buffer is buffer


def test_hardware_keys_and_masked_display(themed: QApplication, qtbot: QtBot) -> None:
    pad = _pad(qtbot)
    got: list[bytearray] = []
    pad.submitted.connect(got.append)
    for key in (Qt.Key.Key_2, Qt.Key.Key_4, Qt.Key.Key_6, Qt.Key.Key_Backspace, Qt.Key.Key_8):
        qtbot.keyClick(pad, key)
    assert pad.dots.text() == "●●●○"
    texts = all_texts(pad)
    assert not any("248" in t or "246" in t for t in texts)
    qtbot.keyClick(pad, Qt.Key.Key_0)
    qtbot.keyClick(pad, Qt.Key.Key_Return)
    assert got == [bytearray(b"2480")]


def test_keys_are_large(themed: QApplication, qtbot: QtBot) -> None:
    pad = _pad(qtbot)
    for key in [*pad.keys, pad.delete_key, pad.clear_key, pad.ok_key]:
        assert key.minimumWidth() >= MIN_TARGET
        assert key.minimumHeight() >= MIN_TARGET
        assert key.size().width() >= MIN_TARGET
        assert key.size().height() >= MIN_TARGET
