"""The programme with its services (PROGRAM) and the terms of each chosen service (CONSENT)."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QScrollArea

from kiosk.flow import Back, Cancel, ConsentAccepted, ConsentDeclined, FlowState, ServicesChosen
from kiosk.programs import ServiceTerms
from ui.i18n import message, ui_text
from ui.pages.base import Page, Post, View
from ui.widgets import button, label, set_button_text


class ProgramPage(Page):
    """Programme name, issuer and description; one toggle per service (required ones fixed on)."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
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
                self.body.insertWidget(3 + index, toggle)
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
