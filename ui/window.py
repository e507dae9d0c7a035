"""The kiosk window: a header with the language switch, a QStackedWidget with one page per family
of flow phases, and (training only) a bar to place and take the virtual card.

The window is a passive view: :meth:`KioskWindow.show_state` shows a :class:`~kiosk.flow.FlowState`,
every button emits :attr:`KioskWindow.intent` with a flow event. It never touches the card, the
outbox or the runner (those live on the card worker thread, :mod:`ui.controller`).
"""

from __future__ import annotations

from functools import partial
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow import Event, FlowState, LanguageChosen, Phase, Start
from kiosk.programs import Program
from ui.i18n import LANGUAGES, display_language, ui_text
from ui.pages.base import Page, View
from ui.pages.card import BusyPage, TakeCardPage, WaitCardPage
from ui.pages.choice import ConsentPage, ProgramPage
from ui.pages.error import ErrorPage, WarningPage
from ui.pages.pin import LastTryPage, PinPage
from ui.pages.result import ConfirmPage, EligibilityPage, NotEligiblePage, ReceiptPage
from ui.pages.welcome import IdlePage, LanguagePage
from ui.widgets import button, label, set_button_text

#: Which page shows which phase.
PAGE_OF: Final[dict[Phase, str]] = {
    Phase.IDLE: "idle",
    Phase.LANGUAGE: "language",
    Phase.PROGRAM: "program",
    Phase.CONSENT: "consent",
    Phase.WAIT_CARD: "wait_card",
    Phase.REINSERT: "wait_card",
    Phase.PREFETCH: "busy",
    Phase.VERIFYING: "busy",
    Phase.SAVING: "busy",
    Phase.LAST_TRY_CONFIRM: "last_try",
    Phase.CARD_INFO_LAST_TRY_CONFIRM: "last_try",
    Phase.PIN_ENTRY: "pin",
    Phase.CARD_INFO_PIN_ENTRY: "pin",
    Phase.CONFIRM: "confirm",
    Phase.ELIGIBILITY: "eligibility",
    Phase.NOT_ELIGIBLE: "not_eligible",
    Phase.RECEIPT: "receipt",
    Phase.ERROR: "error",
    Phase.TAKE_CARD: "take_card",
}


class KioskWindow(QMainWindow):
    """Header (title, language switch), the pages, and an optional training bar."""

    intent = Signal(object)  # a kiosk.flow event
    training_card = Signal(bool)  # training only: place (True) / take (False) the virtual card

    def __init__(self, programs: dict[str, Program], *, training: bool = False) -> None:
        super().__init__()
        self.programs = programs
        self.state: FlowState | None = None
        self.warn_seconds = 30
        self._idle_language: str | None = None  # chosen on the attract screen, before a session
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.training_bar: QFrame | None = None
        if training:
            self.training_bar = self._training_bar()
            layout.addWidget(self.training_bar)
        layout.addWidget(self._header())
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        post = self._post
        self.pages: dict[str, Page] = {
            "idle": IdlePage(post),
            "language": LanguagePage(post),
            "program": ProgramPage(post),
            "consent": ConsentPage(post),
            "wait_card": WaitCardPage(post),
            "busy": BusyPage(post),
            "last_try": LastTryPage(post),
            "pin": PinPage(post),
            "confirm": ConfirmPage(post),
            "eligibility": EligibilityPage(post),
            "not_eligible": NotEligiblePage(post),
            "receipt": ReceiptPage(post),
            "error": ErrorPage(post),
            "take_card": TakeCardPage(post),
            "warning": WarningPage(post),
        }
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.resize(1080, 1400)

    # -- chrome -------------------------------------------------------------------------------------

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        self.title = label("appTitle")
        row.addWidget(self.title, 1)
        self.language_buttons: dict[str, QPushButton] = {}
        for code, name in LANGUAGES:
            choice = button(partial(self.choose_language, code), checkable=True)
            choice.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            set_button_text(choice, name)
            self.language_buttons[code] = choice
            row.addWidget(choice)
        return header

    def _training_bar(self) -> QFrame:
        bar = QFrame()
        bar.setObjectName("training")
        row = QHBoxLayout(bar)
        self.training_label = label()
        self.training_insert = button(lambda: self.training_card.emit(True))
        self.training_remove = button(lambda: self.training_card.emit(False))
        row.addWidget(self.training_label, 1)
        row.addWidget(self.training_insert)
        row.addWidget(self.training_remove)
        return bar

    # -- intents ------------------------------------------------------------------------------------

    def _post(self, event: Event) -> None:
        if isinstance(event, Start) and self._idle_language is not None:
            language, self._idle_language = self._idle_language, None
            self.intent.emit(event)
            self.intent.emit(LanguageChosen(language))  # chosen already: skip the language page
            return
        self.intent.emit(event)

    def choose_language(self, language: str) -> None:
        """The language switch (every screen). On the attract screen there is no session yet: the
        choice is remembered and applied when the resident starts."""
        if self.state is None or self.state.phase is Phase.IDLE:
            self._idle_language = language
            if self.state is not None:
                self.show_state(self.state)
            return
        self.intent.emit(LanguageChosen(language))

    # -- rendering ----------------------------------------------------------------------------------

    def language(self) -> str:
        """The language the screens are shown in now."""
        if self.state is None:
            return display_language(self._idle_language or "ja")
        if self.state.phase is Phase.IDLE and self._idle_language is not None:
            return self._idle_language
        return display_language(self.state.language)

    def show_state(self, state: FlowState) -> None:
        """Show ``state``: the page of its phase, or the timeout warning over any phase."""
        self.state = state
        language = self.language()
        view = View(language, self.programs[state.program_id], self.warn_seconds)
        self.title.setText(ui_text("app_title", language))
        self.setWindowTitle(ui_text("app_title", language))
        for code, choice in self.language_buttons.items():
            choice.setChecked(code == language)
        if self.training_bar is not None:
            self.training_label.setText(ui_text("training", language))
            set_button_text(self.training_insert, ui_text("training_insert", language))
            set_button_text(self.training_remove, ui_text("training_remove", language))
        page = self.pages["warning" if state.warning else PAGE_OF[state.phase]]
        page.show_state(state, view)
        if self.stack.currentWidget() is not page:
            previous = self.stack.currentWidget()
            if isinstance(previous, PinPage):
                previous.wipe()  # leaving the pad: no half-typed PIN stays behind
            self.stack.setCurrentWidget(page)
            self._focus(page)

    @staticmethod
    def _focus(page: Page) -> None:
        """Keyboard focus (hardware keypad, screen reader) starts on the page's main action, never
        on "cancel"; the PIN page keeps it on the pad."""
        if isinstance(page, PinPage):
            page.pad.setFocus()
            return
        for candidate in page.findChildren(QPushButton):
            if candidate.objectName() == "primary" and candidate.isVisible() and candidate.isEnabled():
                candidate.setFocus()
                return

    def current_page(self) -> str:
        """The name of the page on screen (tests, screenshots)."""
        current = self.stack.currentWidget()
        return next(name for name, page in self.pages.items() if page is current)

    def wipe(self) -> None:
        """The flow's ``Wipe``: clear every screen, buffer and image of the session."""
        self._idle_language = None
        for page in self.pages.values():
            page.wipe()

    def alarm(self, on: bool) -> None:
        """Card-left-behind alarm: the take-card page shows it; the bell sounds."""
        if on:
            QApplication.beep()

    def warn(self, seconds: int, ms_per_second: int = 1000) -> None:
        """Timeout warning: start the on-screen countdown, sound the bell."""
        self.warn_seconds = seconds
        warning = self.pages["warning"]
        assert isinstance(warning, WarningPage)
        warning.start_countdown(seconds, ms_per_second)
        QApplication.beep()
