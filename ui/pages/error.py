"""Every error screen (ERROR with its :class:`~kiosk.flow.ErrorKind`) and the timeout warning.

Each error kind has its own title; a self-service kiosk (``mode = "self"``) never sends the
resident to staff and ends with the programme's support line and hours, a staff kiosk with
"please ask the staff" (:mod:`kiosk.assistance`). Not a My Number Card: "try another card"."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from kiosk.assistance import TRY_ANOTHER_CARD, error_screen
from kiosk.flow.events import Acknowledge, Cancel, Extend
from kiosk.flow.state import RETRYABLE, ErrorKind, FlowState
from kiosk.messages import error_text, timeout_warning_text
from kiosk.settings import KioskMode
from ui.i18n import ui_text
from ui.pages.base import Page, Post, View
from ui.widgets import button, label, set_button_text


class ErrorPage(Page):
    """Icon + title + the flow's message. Retryable errors offer "try again" (back to the card
    step, choices kept) and cancel; the others one button that ends the session."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.text = label("notice")
        self.help = label()
        self.body.addWidget(self.title)
        self.body.addWidget(self.text)
        self.body.addWidget(self.help)
        self.cancel = button(lambda: self.post(Cancel()))
        self.ok = button(lambda: self.post(Acknowledge()), primary=True)
        self.buttons.addWidget(self.cancel)
        self.buttons.addWidget(self.ok)
        self.finish_layout()
        self.mode = KioskMode.STAFF

    def set_mode(self, mode: KioskMode) -> None:
        """Self-service or staff wording (the profile's ``kiosk.mode``)."""
        self.mode = mode

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        kind = state.error
        if kind is None:
            self.title.setText(ui_text("error_title", language))
            self.text.setText("")
            self.help.setText("")
        else:
            screen = error_screen(kind, self.mode, view.program, language, general=error_text(kind, language))
            self.title.setText("⚠ " + screen.title)
            self.text.setText(screen.text)
            self.help.setText(screen.help)
        another = kind is ErrorKind.NOT_MY_NUMBER_CARD and state.reader_available
        retry = kind in RETRYABLE and state.reader_available
        self.cancel.setVisible(retry or another)
        set_button_text(self.cancel, ui_text("cancel", language))
        if another:
            set_button_text(self.ok, TRY_ANOTHER_CARD.get(language))
        else:
            set_button_text(self.ok, ui_text("retry" if retry else "finish", language))


class WarningPage(Page):
    """No input for a while: "more time" (Extend) or end now; silence ends and wipes the session.
    The seconds left count down on screen."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.text = label("notice")
        self.body.addStretch(1)
        self.body.addWidget(self.title)
        self.body.addWidget(self.text)
        self.end = button(lambda: self.post(Cancel()))
        self.extend = button(lambda: self.post(Extend()), primary=True)
        self.buttons.addWidget(self.end)
        self.buttons.addWidget(self.extend)
        self.finish_layout()
        self.remaining = 0
        self._language = "ja"
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._count_down)

    def start_countdown(self, seconds: int, ms_per_second: int = 1000) -> None:
        """Show ``seconds`` and count down once per (flow) second."""
        self.remaining = seconds
        self._tick.start(ms_per_second)
        self._show_text()

    def _count_down(self) -> None:
        self.remaining = max(0, self.remaining - 1)
        if self.remaining == 0 or not self.isVisible():
            self._tick.stop()
        self._show_text()

    def _show_text(self) -> None:
        self.text.setText(timeout_warning_text(self.remaining, self._language))

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        self._language = language
        if not self._tick.isActive():
            self.remaining = view.warn_seconds
        self.title.setText(ui_text("warning_title", language))
        self._show_text()
        set_button_text(self.end, ui_text("end_now", language))
        set_button_text(self.extend, ui_text("extend", language))

    def wipe(self) -> None:
        self._tick.stop()
