"""The attract screen (IDLE) and the full-screen language picker (LANGUAGE, and the header's
language button on every other screen).

Both show every language of :data:`ui.i18n.LANGUAGES` as a large button labelled in its own
language and script, in a grid whose column count follows the window (2 portrait, 3–4 landscape),
so ten languages fit without scrolling. On the attract screen a language button *is* the start:
one tap starts the session in that language (the language page is skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtWidgets import QGridLayout, QPushButton

from kiosk.flow.events import Back, Start
from kiosk.flow.state import FlowState
from ui.i18n import LANGUAGES, ui_text
from ui.layout import Metrics
from ui.pages.base import Page, Post, View
from ui.widgets import button, label, set_button_text


def _columns(m: Metrics, count: int) -> int:
    if not m.landscape:
        return 2
    return 4 if count > 8 and m.width >= 1500 else 3


class _LanguageGrid:
    """Large language buttons in a grid; re-flowed when the window changes orientation."""

    def __init__(self, on_choice: Callable[[str], None], *, primary: bool) -> None:
        self.grid = QGridLayout()
        self.choices: list[QPushButton] = []
        self.codes: list[str] = []
        for code, name in LANGUAGES:
            choice = button(partial(on_choice, code), primary=primary, checkable=not primary)
            set_button_text(choice, name)
            self.choices.append(choice)
            self.codes.append(code)
        self._columns = 0
        self.reflow(2)

    def reflow(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for choice in self.choices:
            self.grid.removeWidget(choice)
        for index, choice in enumerate(self.choices):
            self.grid.addWidget(choice, index // columns, index % columns)

    def mark(self, language: str) -> None:
        for code, choice in zip(self.codes, self.choices, strict=True):
            if choice.isCheckable():
                choice.setChecked(code == language)

    def apply_metrics(self, m: Metrics) -> None:
        self.reflow(_columns(m, len(self.choices)))
        self.grid.setSpacing(m.px(16))
        height = max(m.button_height, m.px(104))
        for choice in self.choices:
            choice.setMinimumHeight(height)


class IdlePage(Page):
    """ "Register with your My Number Card" and one big button per language: touching one starts."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.hint = label(center=True)
        self.languages = _LanguageGrid(lambda code: self.post(Start(code)), primary=True)
        self.choices = self.languages.choices
        self.body.addStretch(1)
        self.body.addWidget(self.title)
        self.body.addWidget(self.hint)
        self.body.addLayout(self.languages.grid)
        self.finish_layout()
        self._language = "ja"

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.languages.apply_metrics(m)
        # One column for everything: the grid itself uses the width.
        self.columns.setDirection(self.columns.Direction.TopToBottom)

    @property
    def start(self) -> QPushButton:
        """The button of the language on screen now (touching it starts in that language)."""
        code = self._language if self._language in self.languages.codes else self.languages.codes[0]
        return self.choices[self.languages.codes.index(code)]

    def show_state(self, state: FlowState, view: View) -> None:
        self._language = view.language
        self.title.setText(ui_text("idle_title", view.language))
        hints = [ui_text("idle_languages", view.language)]
        if view.language != "en":
            hints.append(ui_text("idle_languages", "en"))
        self.hint.setText(" / ".join(hints))


class LanguagePage(Page):
    """Every language as a large button, each labelled in its own language; the current one is
    marked (filled, and it is the header's label). ``on_choice`` is the window's (it knows whether
    this is the flow's LANGUAGE phase or the header's picker)."""

    def __init__(
        self,
        post: Post,
        on_choice: Callable[[str], None] | None = None,
        on_back: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(post)
        self._on_choice = on_choice
        self._on_back = on_back
        self.title = label("heading", center=True)
        self.body.addWidget(self.title)
        self.languages = _LanguageGrid(self._choose, primary=False)
        self.choices = self.languages.choices
        self.body.addLayout(self.languages.grid)
        self.back = button(self._back)
        self.buttons.addWidget(self.back)
        self.finish_layout()

    def _choose(self, language: str) -> None:
        self.languages.mark(language)
        if self._on_choice is not None:
            self._on_choice(language)

    def _back(self) -> None:
        if self._on_back is not None:
            self._on_back()  # the window: closes its picker, or posts Back in the LANGUAGE phase
        else:
            self.post(Back())

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.languages.apply_metrics(m)
        self.columns.setDirection(self.columns.Direction.TopToBottom)

    def show_state(self, state: FlowState, view: View) -> None:
        titles = [ui_text("language_title", view.language)]
        if view.language != "en":
            titles.append(ui_text("language_title", "en"))
        self.title.setText(" / ".join(titles))
        self.languages.mark(view.language)
        set_button_text(self.back, ui_text("back", view.language))
