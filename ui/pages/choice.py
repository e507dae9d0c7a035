"""The programme with its services (PROGRAM) and the terms of each chosen service (CONSENT)."""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QPushButton, QScrollArea, QVBoxLayout, QWidget

from kiosk.flow import (
    Back,
    Cancel,
    ConsentAccepted,
    ConsentDeclined,
    FlowState,
    ProgramChosen,
    ServicesChosen,
)
from kiosk.programs import Program, ServiceTerms
from ui.i18n import message, ui_text
from ui.pages.base import Page, Post, View
from ui.widgets import button, label, set_button_text


class ProgramPage(Page):
    """Programme name, issuer and description; one toggle per service (required ones fixed on).

    When the kiosk offers several programmes (:meth:`offer`), one large toggle per programme sits
    above them; tapping another one posts :class:`ProgramChosen` and the flow's answer redraws the
    page. The current one says "✓ 選択中" as well as being filled, so colour is never the only cue.
    """

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        #: Programme id -> its toggle; empty (and no selector on the page) with one programme.
        self.program_toggles: dict[str, QPushButton] = {}
        self.selector: QWidget | None = None
        self._offered: tuple[Program, ...] = ()
        self.programs_title = label()
        self.program_name = label("heading")
        self.description = label()
        self.title = label()
        self.body.addWidget(self.program_name)
        self.body.addWidget(self.description)
        self.body.addWidget(self.title)
        self.toggles: dict[str, QPushButton] = {}
        self._program_id = ""
        self._language = "ja"
        self._services: tuple[ServiceTerms, ...] = ()
        self.back = button(lambda: self.post(Back()))
        self.cancel = button(lambda: self.post(Cancel()))
        self.next = button(self._next, primary=True)
        for widget in (self.back, self.cancel, self.next):
            self.buttons.addWidget(widget)
        self.finish_layout()

    def offer(self, programs: tuple[Program, ...]) -> None:
        """The programmes this kiosk offers, in the profile's order (the composition root calls
        this once). With one programme the page stays as it was: no selector at all."""
        if self.selector is not None or len(programs) < 2:
            return
        self._offered = programs
        self.selector = QWidget()
        column = QVBoxLayout(self.selector)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(12)
        column.addWidget(self.programs_title)
        for program in programs:
            toggle = button(partial(self._choose, program.id), checkable=True)
            column.addWidget(toggle)
            self.program_toggles[program.id] = toggle
        self.body.insertWidget(0, self.selector)

    def _choose(self, program_id: str) -> None:
        # A checkable button flips itself on a tap: put the marks back to what the flow says until
        # it answers (a tap on the current programme changes nothing, so it keeps the services).
        self._refresh_programs()
        if program_id != self._program_id:
            self.post(ProgramChosen(program_id))

    def _next(self) -> None:
        chosen = tuple(s for s, toggle in self.toggles.items() if toggle.isChecked())
        self.post(ServicesChosen(chosen))

    def show_state(self, state: FlowState, view: View) -> None:
        program, language = view.program, view.language
        if program.id != self._program_id:
            for toggle in self.toggles.values():
                self.body.removeWidget(toggle)
                toggle.deleteLater()
            self.toggles = {}
            for index, terms in enumerate(program.services):
                toggle = button(self._refresh_toggles, checkable=True)
                toggle.setChecked(terms.required or terms.service in state.services)
                toggle.setEnabled(not terms.required)
                self.body.insertWidget(self.body.indexOf(self.title) + 1 + index, toggle)
                self.toggles[terms.service] = toggle
            self._program_id = program.id
        self._services = program.services
        self.program_name.setText(message(program.name, language))
        self.description.setText(
            message(program.issuer, language) + "\n" + message(program.description, language)
        )
        self.title.setText(ui_text("services_title", language))
        self._language = language
        self._refresh_toggles()
        self._refresh_programs()
        set_button_text(self.back, ui_text("back", language))
        set_button_text(self.cancel, ui_text("cancel", language))
        set_button_text(self.next, ui_text("next", language))

    def _refresh_toggles(self) -> None:
        language = self._language
        program_terms = {t.service: t for t in self._services}
        for service, toggle in self.toggles.items():
            terms = program_terms[service]
            mark = ui_text("selected" if toggle.isChecked() else "not_selected", language)
            extra = ui_text("required", language) if terms.required else ""
            set_button_text(toggle, f"{mark}  {message(terms.name, language)}{extra}")
        self.next.setEnabled(any(t.isChecked() for t in self.toggles.values()))

    def _refresh_programs(self) -> None:
        """Check the current programme's toggle only; every toggle says whether it is chosen."""
        if self.selector is None:
            return
        language = self._language
        self.programs_title.setText(ui_text("programs_title", language))
        for program in self._offered:
            toggle = self.program_toggles[program.id]
            current = program.id == self._program_id
            toggle.setChecked(current)
            mark = ui_text("selected" if current else "not_selected", language)
            set_button_text(toggle, f"{mark}  {message(program.name, language)}")


class ConsentPage(Page):
    """The terms of the next service without consent, with their version; agree or not."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.version = label()
        self.terms = label()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.terms)
        scroll.setMinimumHeight(240)
        self.body.addWidget(self.title)
        self.body.addWidget(self.version)
        self.body.addWidget(scroll, 1)
        self._service = ""
        self.back = button(lambda: self.post(Back()))
        self.disagree = button(lambda: self.post(ConsentDeclined()))
        self.agree = button(lambda: self.post(ConsentAccepted(self._service)), primary=True)
        for widget in (self.back, self.disagree, self.agree):
            self.buttons.addWidget(widget)
        self.body.addLayout(self.buttons)

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        accepted = {c.service for c in state.consents}
        pending = [s for s in state.services if s not in accepted]
        if not pending:
            return
        terms = view.program.terms_for(pending[0])
        self._service = terms.service
        self.title.setText(f"{ui_text('consent_title', language)}：{message(terms.name, language)}")
        self.version.setText(ui_text("terms_version", language, v=terms.terms_version))
        self.terms.setText(message(terms.terms, language))
        set_button_text(self.back, ui_text("back", language))
        set_button_text(self.disagree, ui_text("disagree", language))
        set_button_text(self.agree, ui_text("agree", language))
