"""The "forgot your PIN?" panel of the PIN screens (issue 13 §6).

A button on the PIN screen opens it over the pad: where and how the PIN is reset
(:func:`kiosk.assistance.forgot_pin_text`, sources in docs/ui.md), the support line in self
mode, and "back to the PIN" (nothing is posted to the flow: no try is used, the session stays).
The pad's digits are cleared when it opens, so a half-typed PIN never waits behind it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.assistance import FORGOT_PIN_BUTTON, FORGOT_PIN_TITLE, forgot_pin_text
from ui.i18n import ui_text
from ui.widgets import button, label, set_button_text


class ForgotPinPanel(QWidget):
    """Title, the reset routes, and "back"; ``on_close`` is called when the resident goes back."""

    def __init__(self, on_close: Callable[[], None]) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.title = label("heading")
        self.paragraphs = [label("notice") for _ in forgot_pin_text("en")]
        self.support = label()
        self.back = button(on_close, primary=True)
        layout.addWidget(self.title)
        for paragraph in self.paragraphs:
            layout.addWidget(paragraph)
        layout.addWidget(self.support)
        layout.addStretch(1)
        layout.addWidget(self.back)

    def show_language(self, language: str, support_line: str = "") -> None:
        self.title.setText(FORGOT_PIN_TITLE.get(language))
        for paragraph, text in zip(self.paragraphs, forgot_pin_text(language), strict=True):
            paragraph.setText(text)
        self.support.setText(support_line)
        self.support.setVisible(bool(support_line))
        set_button_text(self.back, ui_text("back", language))


def forgot_pin_button(on_click: Callable[[], None]) -> QWidget:
    """The "Forgot your PIN?" button (its text is set with :func:`label_forgot_button`)."""
    return button(on_click)


def label_forgot_button(widget: QWidget, language: str) -> None:
    from PySide6.QtWidgets import QPushButton

    if isinstance(widget, QPushButton):
        set_button_text(widget, FORGOT_PIN_BUTTON.get(language))
