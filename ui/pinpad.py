"""The resident-facing PIN pad: fixed layout, large keys, masked dots, a ``bytearray`` buffer.

Layout decision (docs/ui.md): **fixed**, telephone order 1-2-3 on top. A shuffled pad slows
everyone down and, for a 4-digit PIN, gives little against shoulder-surfing that the privacy hood
does not already give (Ryu et al. 2010); a fixed pad is also what blind residents can learn.

The PIN is never a ``str`` and never in a widget: digits go into a preallocated 4-byte
``bytearray`` (no reallocation leaves copies behind); the screen shows dots only; the buffer is
handed over on submit (the flow's executor zeroes it after VERIFY) and a fresh one is allocated;
:meth:`clear` zeroes in place. Key labels are the fixed digits, never what was typed; nothing is
logged.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.i18n import ui_text
from ui.theme import PIN_KEY
from ui.widgets import WrapButton, label, set_button_text

PIN_LENGTH: Final = 4
#: Telephone layout; None marks the two function keys.
_KEYS: Final = ((1, 2, 3), (4, 5, 6), (7, 8, 9), (None, 0, None))


class PinPad(QWidget):
    """Digits, dots, delete/clear and OK. ``submitted`` carries the ``bytearray`` (ownership moves)."""

    submitted = Signal(object)
    #: The number of digits typed (never a digit): the voice says "N digits entered".
    progressed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._buffer = bytearray(PIN_LENGTH)
        self._count = 0
        self._language = "ja"
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.dots: QLabel = label("pinDots", center=True)
        self.progress: QLabel = label(center=True)
        grid = QGridLayout()
        grid.setSpacing(12)
        self.keys: list[QPushButton] = []
        self.delete_key = self._key("", self.delete)
        self.clear_key = self._key("", self.clear)
        for word_key in (self.delete_key, self.clear_key):
            word_key.setObjectName("pinWordKey")  # words, not a digit: body-size type, wraps
        for row, digits in enumerate(_KEYS):
            for column, digit in enumerate(digits):
                if digit is None:
                    widget = self.clear_key if column == 0 else self.delete_key
                else:
                    widget = self._key(str(digit), partial(self.press, digit))
                    self.keys.append(widget)
                grid.addWidget(widget, row, column)
        self.ok_key = self._key("", self.submit)
        self.ok_key.setObjectName("primary")
        self.grid = grid
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.dots)
        layout.addWidget(self.progress)
        layout.addLayout(grid)
        layout.addWidget(self.ok_key)
        self._refresh()

    def _key(self, text: str, on_click: Callable[[], None]) -> QPushButton:
        key = WrapButton()
        key.setText(text)
        key.setObjectName("pinKey")
        key.setAccessibleName(text)
        key.setMinimumSize(PIN_KEY, PIN_KEY)
        key.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # focus stays on the pad: no digit is "selected"
        key.clicked.connect(lambda _checked=False: on_click())
        return key

    def set_key_size(self, side: int, spacing: int) -> None:
        """Key side and gaps for the window's scale (the layout's metrics; never below 64 px)."""
        for key in (*self.keys, self.delete_key, self.clear_key):
            key.setMinimumSize(side, side)
        self.ok_key.setMinimumHeight(max(64, side * 3 // 4))
        self.grid.setSpacing(spacing)

    @property
    def count(self) -> int:
        """How many digits are entered (what the dots show)."""
        return self._count

    def set_language(self, language: str) -> None:
        """Relabel the function keys and the progress line."""
        self._language = language
        for key, name in ((self.delete_key, "pin_delete"), (self.clear_key, "pin_clear")):
            key.setText(ui_text(name, language))
            key.setAccessibleName(ui_text(name, language))
        set_button_text(self.ok_key, ui_text("pin_ok", language))
        self._refresh()

    def press(self, digit: int) -> None:
        """One digit key."""
        if 0 <= digit <= 9 and self._count < PIN_LENGTH:
            self._buffer[self._count] = 0x30 + digit
            self._count += 1
            self._refresh()

    def delete(self) -> None:
        """Remove the last digit (zeroed)."""
        if self._count:
            self._count -= 1
            self._buffer[self._count] = 0
            self._refresh()

    def clear(self) -> None:
        """Zero the buffer in place (also on wipe, cancel and every screen change)."""
        self._buffer[:] = bytes(PIN_LENGTH)
        self._count = 0
        self._refresh()

    def submit(self) -> None:
        """Hand the PIN over (complete PINs only) and start a fresh buffer."""
        if self._count != PIN_LENGTH:
            return
        pin, self._buffer, self._count = self._buffer, bytearray(PIN_LENGTH), 0
        self._refresh()
        self.submitted.emit(pin)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A hardware keypad works too (digits, Backspace, Enter, Escape)."""
        key = event.key()
        if Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
            self.press(key - Qt.Key.Key_0)
        elif key == Qt.Key.Key_Backspace:
            self.delete()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        elif key == Qt.Key.Key_Escape:
            self.clear()
        else:
            super().keyPressEvent(event)

    def _refresh(self) -> None:
        dots = "●" * self._count + "○" * (PIN_LENGTH - self._count)
        self.dots.setText(dots)
        progress = ui_text("pin_progress", self._language, n=self._count)
        self.dots.setAccessibleName(progress)
        self.progress.setText(progress)
        self.ok_key.setEnabled(self._count == PIN_LENGTH)
        self.progressed.emit(self._count)
