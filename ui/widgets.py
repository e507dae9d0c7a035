"""Small building blocks shared by the screens: labels and buttons with the theme's roles."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy

from ui.theme import BUTTON_HEIGHT, MIN_TARGET


def label(role: str = "", *, center: bool = False) -> QLabel:
    """A word-wrapped label; ``role`` is the style-sheet object name (heading, notice, danger…)."""
    widget = QLabel()
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.PlainText)  # data is never interpreted as markup
    if role:
        widget.setObjectName(role)
    if center:
        widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def button(on_click: Callable[[], None], *, primary: bool = False, checkable: bool = False) -> QPushButton:
    """A large button (≥ 64 px each way); its text is set by the screen's ``show_state``."""
    widget = QPushButton()
    widget.setMinimumSize(MIN_TARGET, BUTTON_HEIGHT)
    widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    widget.setCheckable(checkable)
    if primary:
        widget.setObjectName("primary")
    widget.clicked.connect(lambda _checked=False: on_click())
    return widget


def set_button_text(widget: QPushButton, text: str) -> None:
    """Set a button's text and the same accessible name (screen readers announce it)."""
    widget.setText(text)
    widget.setAccessibleName(text)
