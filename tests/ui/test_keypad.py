"""A whole registration from a USB numeric keypad alone (no touch, no mouse): key presses sent to
the window through pytest-qt, the in-process virtual card, the real sealed outbox. Also the key
map, and that the focus is always on a visible control with the focus look."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget
from pytestqt.qtbot import QtBot
from uikit import MakeKiosk, wait_phase

from card.virtual.persona import load_persona
from kiosk.flow import Phase
from ui.app import KioskApp
from ui.keypad import KeypadNavigator

KEYPAD = Qt.KeyboardModifier.KeypadModifier


def navigator(kiosk: KioskApp) -> KeypadNavigator:
    found = kiosk.window.findChildren(KeypadNavigator)
    assert found, "the kiosk window installs a KeypadNavigator"
    return found[0]


def press(qtbot: QtBot, kiosk: KioskApp, key: Qt.Key) -> None:
    """One keypad key, delivered where a real key goes: the focused widget (else the window)."""
    target = QApplication.focusWidget() or kiosk.window
    qtbot.keyClick(target, key, KEYPAD)  # type: ignore[no-untyped-call]


def focused(kiosk: KioskApp) -> QWidget:
    widget = kiosk.window.focusWidget()
    assert widget is not None, "nothing has the focus"
    assert widget.isVisible()
    return widget


def focus_on(qtbot: QtBot, kiosk: KioskApp, wanted: QAbstractButton) -> None:
    """Press + until ``wanted`` has the focus (fails if it is not reachable)."""
    for _ in range(len(navigator(kiosk).focusable()) + 1):
        if kiosk.window.focusWidget() is wanted:
            return
        press(qtbot, kiosk, Qt.Key.Key_Plus)
    raise AssertionError(f"{wanted.text()!r} cannot be reached with +")


def enter_on(qtbot: QtBot, kiosk: KioskApp, wanted: QAbstractButton) -> None:
    focus_on(qtbot, kiosk, wanted)
    press(qtbot, kiosk, Qt.Key.Key_Enter)


def test_full_registration_from_the_keypad(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    window = kiosk.window
    pages = window.pages
    window.activateWindow()
    persona = load_persona("jlis-test")

    enter_on(qtbot, kiosk, pages["idle"].choices[0])  # type: ignore[attr-defined]  # 日本語: starts
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    consent = pages["consent"]
    state = kiosk.window.state
    assert state is not None
    for accepted in range(len(state.consents) + 1, len(state.services) + 1):
        enter_on(qtbot, kiosk, consent.agree)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda n=accepted: len(kiosk.window.state.consents) >= n)  # type: ignore[misc,union-attr]
    if consent.next.isVisible():  # type: ignore[attr-defined]
        enter_on(qtbot, kiosk, consent.next)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.WAIT_CARD)

    kiosk.training_card(True)  # the card on the reader (not a touch: the reader sees it)
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)
    press(qtbot, kiosk, Qt.Key.Key_Plus)  # the focus wanders off the pad...
    for digit in persona.auth_pin:  # ...the digits still reach it
        press(qtbot, kiosk, Qt.Key(Qt.Key.Key_0.value + int(digit)))
    pad = pages["pin"].pad  # type: ignore[attr-defined]
    pad.setFocus(Qt.FocusReason.TabFocusReason)
    press(qtbot, kiosk, Qt.Key.Key_Enter)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    enter_on(qtbot, kiosk, pages["confirm"].yes)  # type: ignore[attr-defined]  # "register"
    wait_phase(qtbot, kiosk, Phase.RECEIPT)
    assert len(kiosk.enrolled.queued()) == 1  # type: ignore[attr-defined]
    enter_on(qtbot, kiosk, pages["receipt"].ok)  # type: ignore[attr-defined]
    press(qtbot, kiosk, Qt.Key.Key_Enter)  # no printer: "finish" asks once, the second press ends
    wait_phase(qtbot, kiosk, Phase.IDLE)


def test_focus_moves_both_ways_and_stays_visible(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    enter_on(qtbot, kiosk, kiosk.window.pages["idle"].choices[0])  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    stops = navigator(kiosk).focusable()
    assert len(stops) >= 3
    seen = []
    for _ in range(len(stops)):
        press(qtbot, kiosk, Qt.Key.Key_Plus)
        seen.append(focused(kiosk))
    assert set(seen) == set(stops)  # + visits every stop once round the loop
    press(qtbot, kiosk, Qt.Key.Key_Minus)
    assert focused(kiosk) is seen[-2]


def test_digits_never_land_outside_the_pin_pad(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    before = kiosk.window.state
    press(qtbot, kiosk, Qt.Key.Key_5)
    assert kiosk.window.state == before  # swallowed, no event posted


def test_escape_cancels(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    enter_on(qtbot, kiosk, kiosk.window.pages["idle"].choices[0])  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    press(qtbot, kiosk, Qt.Key.Key_Escape)
    wait_phase(qtbot, kiosk, Phase.IDLE)
