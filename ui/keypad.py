"""USB numeric keypad (issue 13 §4): every screen operable without touching it.

A resident who cannot use a touch screen (low vision, tremor, a wheelchair that keeps them too far
from the glass) gets a numeric keypad on a cable. :class:`KeypadNavigator` is an application-wide
event filter that turns its keys into actions:

=================  ======================================================================
key                action
=================  ======================================================================
0-9                type a digit on the PIN pad (wherever the focus is on the PIN screen)
``+`` / ``-``      move the focus to the next / previous button (also ↓ ↑ → ←, the keys the
                   keypad sends with NumLock off)
Enter              press the focused button (on the PIN screen with the focus on the pad:
                   submit the PIN, which the pad itself handles)
Backspace          delete the last digit on the PIN screen; elsewhere "back"
Esc                "cancel" / "back" (the screen's own button)
``*``              listen again (repeat the voice prompt)
``/``              voice on / off
=================  ======================================================================

The focus is always visible: moving it uses ``Qt.TabFocusReason``, so the theme's focus look
(ring + changed fill, :mod:`ui.theme`) shows, and after a screen change the window puts it on the
screen's main action. Digit keys are consumed on every screen except the PIN pad, so a digit can
never land in some other widget.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, unique
from functools import cache
from typing import Final

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QWidget


@unique
class KeypadAction(Enum):
    DIGIT = "digit"
    NEXT = "next"
    PREVIOUS = "previous"
    ACTIVATE = "activate"
    BACK = "back"
    CANCEL = "cancel"
    REPEAT = "repeat"
    VOICE_TOGGLE = "voice_toggle"


_KEY_NAMES: Final = {
    "Key_Plus": KeypadAction.NEXT,
    "Key_Down": KeypadAction.NEXT,
    "Key_Right": KeypadAction.NEXT,
    "Key_Minus": KeypadAction.PREVIOUS,
    "Key_Up": KeypadAction.PREVIOUS,
    "Key_Left": KeypadAction.PREVIOUS,
    "Key_Enter": KeypadAction.ACTIVATE,
    "Key_Return": KeypadAction.ACTIVATE,
    "Key_Backspace": KeypadAction.BACK,
    "Key_Delete": KeypadAction.BACK,
    "Key_Escape": KeypadAction.CANCEL,
    "Key_Asterisk": KeypadAction.REPEAT,
    "Key_Slash": KeypadAction.VOICE_TOGGLE,
}


@cache
def _keys() -> dict[int, KeypadAction]:
    """Key code -> action, built at the first key press: PySide6 builds its 500-member ``Qt.Key``
    enum on first use (about 40 ms), which the kiosk's start-up should not pay."""
    return {getattr(Qt.Key, name).value: action for name, action in _KEY_NAMES.items()}


def action_of(event: QKeyEvent) -> tuple[KeypadAction, int | None] | None:
    """The keypad action of a key press (and the digit for DIGIT), or ``None``."""
    key = event.key()
    if 0x30 <= key <= 0x39:  # Qt.Key.Key_0 .. Key_9 are the ASCII digits
        return KeypadAction.DIGIT, key - 0x30
    action = _keys().get(key)
    return (action, None) if action is not None else None


class KeypadNavigator(QObject):
    """Event filter for the kiosk window (install with :meth:`install`).

    ``pin_pad()`` returns the PIN pad widget when the PIN screen is shown (else ``None``);
    ``on_back`` / ``on_cancel`` / ``on_repeat`` / ``on_voice_toggle`` are the window's handlers.
    """

    def __init__(
        self,
        window: QWidget,
        *,
        pin_pad: Callable[[], QWidget | None],
        on_back: Callable[[], None],
        on_cancel: Callable[[], None],
        on_repeat: Callable[[], None],
        on_voice_toggle: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self._pin_pad = pin_pad
        self._handlers: dict[KeypadAction, Callable[[], None]] = {
            KeypadAction.BACK: on_back,
            KeypadAction.CANCEL: on_cancel,
            KeypadAction.REPEAT: on_repeat,
            KeypadAction.VOICE_TOGGLE: on_voice_toggle,
        }

    def install(self) -> None:
        """Filter the key presses of the window and everything in it."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() is not QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if not isinstance(watched, QWidget) or watched.window() is not self.window:
            return False
        found = action_of(event)
        if found is None:
            return False
        action, _digit = found
        pad = self._pin_pad()
        if pad is not None and action in (KeypadAction.DIGIT, KeypadAction.BACK) and watched is not pad:
            # on the PIN screen the digits and Backspace always reach the pad, wherever the focus is
            from PySide6.QtWidgets import QApplication

            QApplication.sendEvent(pad, QKeyEvent(event.type(), event.key(), event.modifiers(), event.text()))
            return True
        if (
            pad is not None
            and watched is pad
            and action
            in (
                KeypadAction.DIGIT,
                KeypadAction.BACK,
                KeypadAction.ACTIVATE,
            )
        ):
            return False  # the pad's own keyPressEvent handles them
        if action is KeypadAction.DIGIT:
            return True  # swallowed: a digit never lands anywhere else
        if action in (KeypadAction.NEXT, KeypadAction.PREVIOUS):
            self.move_focus(forward=action is KeypadAction.NEXT)
            return True
        if action is KeypadAction.ACTIVATE:
            focused = self.window.focusWidget()
            if isinstance(focused, QAbstractButton) and focused.isVisible() and focused.isEnabled():
                focused.click()
                return True
            return False
        self._handlers[action]()
        return True

    def focusable(self) -> list[QAbstractButton]:
        """The buttons the keypad can reach now, in reading order (top to bottom, left to right)."""
        buttons = [
            button
            for button in self.window.findChildren(QAbstractButton)
            if button.isVisible() and button.isEnabled() and button.focusPolicy() != Qt.FocusPolicy.NoFocus
        ]
        pad = self._pin_pad()
        if pad is not None:
            buttons = [b for b in buttons if not pad.isAncestorOf(b)]  # the pad is one stop
        rows: list[tuple[int, int, QWidget]] = []
        for button in buttons:
            origin = button.mapTo(self.window, button.rect().topLeft())
            rows.append((origin.y() // 24, origin.x(), button))
        if pad is not None and pad.isVisible():
            origin = pad.mapTo(self.window, pad.rect().topLeft())
            rows.append((origin.y() // 24, origin.x(), pad))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [widget for _, _, widget in rows]  # type: ignore[misc]

    def move_focus(self, *, forward: bool) -> None:
        """Next / previous stop, wrapping round; the focus look shows (Tab focus reason)."""
        stops: list[QWidget] = list(self.focusable())
        if not stops:
            return
        current = self.window.focusWidget()
        pad = self._pin_pad()
        if pad is not None and current is not None and pad.isAncestorOf(current):
            current = pad
        index = stops.index(current) if current in stops else (-1 if forward else 0)
        target = stops[(index + (1 if forward else -1)) % len(stops)]
        target.setFocus(Qt.FocusReason.TabFocusReason)
