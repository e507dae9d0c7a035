"""The kiosk window: a header with the language button, a QStackedWidget with one page per family
of flow phases, and (training only) a bar to place and take the virtual card.

The header has room for any number of languages: one button that always names the current
language (in that language, with 言語 / Language beside it) and opens the full-screen picker
(:class:`~ui.pages.welcome.LanguagePage`). Choosing there changes the language and returns to the
same screen with everything kept (the flow's ``LanguageChosen`` keeps the phase); on the attract
screen it starts the session in that language, like the attract screen's own language buttons.

The window applies one adaptive layout (:mod:`ui.layout`): on every resize it computes the
metrics for its size and the resident's text size, sets its size style sheet and tells each page
(columns side by side in landscape, scaled keys and margins).

The window is a passive view: :meth:`KioskWindow.show_state` shows a :class:`~kiosk.flow.FlowState`,
every button emits :attr:`KioskWindow.intent` with a flow event. It never touches the card, the
outbox or the runner (those live on the card worker thread, :mod:`ui.controller`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLayout,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow.events import Back, Event, LanguageChosen, Start
from kiosk.flow.state import FlowState, Phase
from kiosk.rules.programs import Program
from ui import theme
from ui.i18n import LANGUAGES, display_language, ui_text
from ui.layout import Metrics, metrics_for, size_sheet
from ui.pages.base import Page, View
from ui.pages.card import BusyPage, TakeCardPage, WaitCardPage
from ui.pages.choice import ConsentPage, ProgramPage
from ui.pages.error import ErrorPage, WarningPage
from ui.pages.pin import LastTryPage, PinPage
from ui.pages.result import ConfirmPage, EligibilityPage, NotEligiblePage, ReceiptPage
from ui.pages.welcome import IdlePage, LanguagePage
from ui.widgets import WrapButton, button, label, set_button_text

if TYPE_CHECKING:
    from ui.assist import Assistance

#: Language code -> its name in its own script (the picker's and the header's labels).
LANGUAGE_NAMES: Final[dict[str, str]] = dict(LANGUAGES)

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


class Pages(Mapping[str, Page]):
    """The window's pages by name, each built the first time it is asked for.

    Why: building and styling all fifteen pages before the idle screen cost about half of the
    window's start-up time (issue 12/13: cold start ≤ 0.5 s). Start-up builds the idle screen only;
    :meth:`KioskWindow.warm_up` builds the rest one per event-loop turn once the card side is
    ready, so the resident's first path does not pay for it either. Reading a page (``pages[name]``,
    ``values()``) builds it; :meth:`built` is what exists now; :meth:`configure` runs a set-up step
    (the assistance's reader position, mode, printer) on every page, built now or later.
    """

    def __init__(self, factories: dict[str, Callable[[], Page]], added: Callable[[Page], None]) -> None:
        self._factories = factories
        self._added = added
        self._built: dict[str, Page] = {}
        self._hooks: list[Callable[[Page], None]] = []

    def __getitem__(self, name: str) -> Page:
        page = self._built.get(name)
        if page is None:
            page = self._factories[name]()
            self._built[name] = page
            self._added(page)
            for hook in self._hooks:
                hook(page)
        return page

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def built(self) -> list[Page]:
        return list(self._built.values())

    def name_of(self, page: QWidget | None) -> str:
        return next(name for name, built in self._built.items() if built is page)

    def unbuilt(self) -> list[str]:
        return [name for name in self._factories if name not in self._built]

    def configure(self, hook: Callable[[Page], None]) -> None:
        self._hooks.append(hook)
        for page in self.built():
            hook(page)


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
        self._picker_open = False  # the header's language picker is over the current screen
        self.metrics: Metrics | None = None
        #: The typeface rule of the screen language (added to the window's size sheet).
        self._family_sheet = theme.family_sheet("ja")
        # The programme step is on the path only when the resident has a choice to make there.
        several = len(programs) > 1
        self.steps = ("program",) * several + ("consent", "card", "pin", "confirm", "receipt")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.training_bar: QFrame | None = None
        if training:
            self.training_bar = self._training_bar()
            layout.addWidget(self.training_bar)
        layout.addWidget(self._header())
        self._chrome = layout
        #: Voice, keypad, text size and contrast (issue 13): attached by the app (ui/assist.py).
        self.assist: Assistance | None = None
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        # The window is the screen's size, whatever its pages' minimums: the layout adapts to it
        # (ui.layout) and the fit test proves the result fits. Without this the largest page's
        # minimum height became the window's (1,418 px) and 決定 / 中止 fell off a 1080 px screen.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        own = self.layout()
        if own is not None:
            own.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        post = self._post
        self.pages = Pages(
            {
                "idle": lambda: IdlePage(post),
                "language": lambda: LanguagePage(post, self._picked, self._picker_back),
                "program": lambda: ProgramPage(post),
                "consent": lambda: ConsentPage(post),
                "wait_card": lambda: WaitCardPage(post),
                "busy": lambda: BusyPage(post),
                "last_try": lambda: LastTryPage(post),
                "pin": lambda: PinPage(post),
                "confirm": lambda: ConfirmPage(post),
                "eligibility": lambda: EligibilityPage(post),
                "not_eligible": lambda: NotEligiblePage(post),
                "receipt": lambda: ReceiptPage(post),
                "error": lambda: ErrorPage(post),
                "take_card": lambda: TakeCardPage(post),
                "warning": lambda: WarningPage(post),
            },
            self._page_added,
        )
        self.pages["idle"]  # the one page start-up needs (the rest: Pages, warm_up)
        self.resize(1080, 1600)
        self.apply_metrics()
        self._warming = False
        #: Every page built and the receipt's QR module loaded (:meth:`warm_up`).
        self.warmed_up = False

    def _page_added(self, page: Page) -> None:
        self.stack.addWidget(page)
        if self.metrics is not None:
            page.apply_metrics(self.metrics)

    def warm_up(self) -> None:
        """Build the pages not built yet, one per event-loop turn (a touch in between is handled
        at once), polish them, and load the receipt's QR module: idle time after start-up pays
        for what start-up left out, not the resident's path. :attr:`warmed_up` is then true."""
        if self._warming:
            return
        self._warming = True

        def step() -> None:
            missing = self.pages.unbuilt()
            if missing:
                self.pages[missing[0]].ensurePolished()
                QTimer.singleShot(0, self, step)  # dropped if the window is gone
                return
            from ui.qr import preload
            from ui.text import preload_models

            preload()
            preload_models()  # BudouX's two models (a kanji-only name or address uses the Chinese one)
            self.warmed_up = True

        QTimer.singleShot(0, self, step)  # dropped if the window is gone

    # -- chrome -------------------------------------------------------------------------------------

    def _header(self) -> QFrame:
        header = QFrame()
        header.setObjectName("header")
        row = QHBoxLayout(header)
        self.title = label("appTitle")
        row.addWidget(self.title, 3)
        self.language_button: WrapButton = button(self.open_picker)
        self.language_button.setObjectName("languageButton")
        self.language_button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        row.addWidget(self.language_button)
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
        if isinstance(event, Start) and event.language is None and self._idle_language is not None:
            language, self._idle_language = self._idle_language, None
            event = Start(language)  # chosen already: skip the language page
        self.intent.emit(event)

    def open_picker(self) -> None:
        """The header's language button: the full-screen picker over the current screen."""
        self._picker_open = True
        if self.state is not None:
            self.show_state(self.state)

    def close_picker(self) -> None:
        """Back from the picker to the screen it covered, unchanged."""
        self._picker_open = False
        if self.state is not None:
            self.show_state(self.state)

    def _picker_back(self) -> None:
        if self._picker_open:
            self.close_picker()
        else:
            self._post(Back())

    def _picked(self, language: str) -> None:
        """A language on the picker page: the flow's own LANGUAGE phase, or the header's picker."""
        was_open, self._picker_open = self._picker_open, False
        if self.state is not None and self.state.phase is Phase.IDLE:
            self._idle_language = None
            self.intent.emit(Start(language))  # on the attract screen a language starts the session
            return
        if was_open and self.state is not None:
            self.show_state(self.state)  # back to the covered screen at once; the flow relabels it
        self.choose_language(language)

    def choose_language(self, language: str) -> None:
        """Switch the language (every screen; progress is kept). On the attract screen there is no
        session yet: the choice is remembered and applied when the resident starts."""
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
        if self.state is not None and (state.phase is not self.state.phase or state.warning):
            self._picker_open = False  # the flow moved on (or warns): the picker gives way
        self.state = state
        language = self.language()
        view = View(language, self.programs[state.program_id], self.warn_seconds, self.steps)
        self.title.setText(ui_text("app_title", language))
        self.setWindowTitle(ui_text("app_title", language))
        family = theme.family_sheet(language)
        if family != self._family_sheet:  # 简体中文 and 한국어 need their own CJK cut
            self._family_sheet = family
            if self.metrics is not None:
                self.setStyleSheet(size_sheet(self.metrics) + family)
        native = LANGUAGE_NAMES.get(language, language)
        word = ui_text("language_button", language)  # and always a word everyone finds: Language or 言語
        second = "Language" if word != "Language" else "言語"
        set_button_text(self.language_button, f"{native}  ▸  {word} / {second}")
        # The attract screen has its own language buttons; the picker needs no second way in.
        self.language_button.setVisible(state.phase not in (Phase.IDLE, Phase.LANGUAGE))
        if self.training_bar is not None:
            self.training_label.setText(ui_text("training", language))
            set_button_text(self.training_insert, ui_text("training_insert", language))
            set_button_text(self.training_remove, ui_text("training_remove", language))
        name = "warning" if state.warning else "language" if self._picker_open else PAGE_OF[state.phase]
        page = self.pages[name]
        page.show_step(state, view)
        page.show_state(state, view)
        if self.stack.currentWidget() is not page:
            previous = self.stack.currentWidget()
            if isinstance(previous, PinPage):
                previous.wipe()  # leaving the pad: no half-typed PIN stays behind
            self.stack.setCurrentWidget(page)
            self._focus(page)
        self._fit(page)
        if self.assist is not None:
            self.assist.shown(state)  # the bar's labels; the screen's voice prompt

    @staticmethod
    def _focus(page: Page) -> None:
        """Keyboard focus (hardware keypad, screen reader) starts on the page's main action, never
        on "cancel"; the PIN page keeps it on the pad."""
        if isinstance(page, PinPage):
            page.pad.setFocus()
            return
        target = page.focus_target()
        if target is not None:
            target.setFocus()
            return
        for candidate in page.findChildren(QPushButton):
            if candidate.objectName() == "primary" and candidate.isVisible() and candidate.isEnabled():
                candidate.setFocus()
                return

    # -- layout -------------------------------------------------------------------------------------

    def apply_metrics(self) -> None:
        """Size style sheet and page layouts for the window's size and the resident's text size."""
        metrics = metrics_for(self.width(), self.height(), _text_factor())
        if metrics == self.metrics:
            return
        previous, self.metrics = self.metrics, metrics
        if previous is None or (previous.scale, previous.text_factor) != (metrics.scale, metrics.text_factor):
            self.setStyleSheet(size_sheet(metrics) + self._family_sheet)
        for page in self.pages.built():
            page.apply_metrics(metrics)

    def _fit(self, page: Page) -> None:
        """The last rule of the layout: a screen whose content needs more height than the window
        has (a long text at 特大 on a landscape screen) is drawn a little smaller, in steps of
        12 %, at most four times, rather than cut off. Pages that fit are never touched; a shrunk
        page starts again at full size when it shows its next state."""
        metrics = self.metrics
        layout = page.layout()
        if metrics is None or layout is None or not layout.hasHeightForWidth():
            return
        if page.shrink != 1.0:
            page.shrink = 1.0
            page.setStyleSheet("")
            page.apply_metrics(metrics)
        for _ in range(4):
            layout.activate()
            if layout.totalHeightForWidth(page.width()) <= page.height():
                return
            page.shrink *= 0.88
            smaller = replace(metrics, scale=round(metrics.scale * page.shrink, 3))
            page.setStyleSheet(size_sheet(smaller))
            page.apply_metrics(smaller)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.apply_metrics()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ApplicationFontChange, QEvent.Type.StyleChange):
            self.apply_metrics()  # the theme changed the text size: re-scale (no-op otherwise)

    def current_page(self) -> str:
        """The name of the page on screen (tests, screenshots)."""
        return self.pages.name_of(self.stack.currentWidget())

    def wipe(self) -> None:
        """The flow's ``Wipe``: clear every screen, buffer and image of the session."""
        self._idle_language = None
        for page in self.pages.built():  # a page never built holds nothing
            page.wipe()
        if self.assist is not None:
            self.assist.wiped()  # the next resident starts with the default size, contrast, voice

    def alarm(self, on: bool) -> None:
        """Card-left-behind alarm: the take-card page shows it; the bell (and, with the assistance
        attached, the rising chime and the voice) sounds."""
        if on:
            QApplication.beep()
        if self.assist is not None:
            self.assist.alarm(on)

    def attach_assistance(self, assist: Assistance) -> None:
        """Put the assistance bar (listen again, text size, contrast, voice) under the header."""
        self.assist = assist
        self._chrome.insertWidget(self._chrome.indexOf(self.stack), assist.bar)

    def warn(self, seconds: int, ms_per_second: int = 1000) -> None:
        """Timeout warning: start the on-screen countdown, sound the bell."""
        self.warn_seconds = seconds
        warning = self.pages["warning"]
        assert isinstance(warning, WarningPage)
        warning.start_countdown(seconds, ms_per_second)
        QApplication.beep()


def _text_factor() -> float:
    """The resident's text size (標準 / 大 / 特大) as a font factor, from the theme."""
    current = getattr(theme, "current_appearance", None)
    if current is None:
        return 1.0
    return float(current().size.factor)
