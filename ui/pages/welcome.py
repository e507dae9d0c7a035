"""The attract screen (IDLE) and the language choice (LANGUAGE)."""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QPushButton

from kiosk.flow import Back, FlowState, LanguageChosen, Start
from ui.i18n import LANGUAGES, ui_text
from ui.pages.base import Page, Post, View
from ui.theme import BUTTON_HEIGHT
from ui.widgets import button, label, set_button_text


class IdlePage(Page):
    """ "Register with your My Number Card" and one big start target."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.start = button(lambda: self.post(Start()), primary=True)
        self.start.setMinimumHeight(BUTTON_HEIGHT * 3)
        self.body.addStretch(1)
        self.body.addWidget(self.title)
        self.body.addWidget(self.start)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        self.title.setText(ui_text("idle_title", view.language))
        set_button_text(self.start, ui_text("idle_start", view.language))


class LanguagePage(Page):
    """Three large language buttons, each labelled in its own language."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.body.addWidget(self.title)
        self.choices: list[QPushButton] = []
        for code, name in LANGUAGES:
            choice = button(partial(self.post, LanguageChosen(code)), primary=True)
            set_button_text(choice, name)
            choice.setMinimumHeight(BUTTON_HEIGHT + 24)
            self.choices.append(choice)
            self.body.addWidget(choice)
        self.back = button(lambda: self.post(Back()))
        self.buttons.addWidget(self.back)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        self.title.setText(" / ".join(ui_text("language_title", code) for code, _ in LANGUAGES))
        set_button_text(self.back, ui_text("back", view.language))
