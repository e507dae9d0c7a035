"""The programme with its services (PROGRAM) and the one consent screen (CONSENT)."""

from __future__ import annotations

from functools import partial

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.flow.events import Back, Cancel, ConsentAccepted, ConsentsDone, ProgramChosen, ServicesChosen
from kiosk.flow.state import FlowState
from kiosk.rules.programs import Program, ServiceTerms
from ui.i18n import message, terms_version_text, ui_text
from ui.layout import Metrics
from ui.pages.base import Page, Post, View
from ui.widgets import WrapButton, button, label, set_button_text


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
    """The one consent screen: every service's terms with its version and its *own* agreement.

    Each agreement button posts :class:`ConsentAccepted` for its service, so the flow records one
    consent per service with that service's terms version, as before. Required services come
    first; on the short path (``state.services_open``) the optional ones follow, and agreeing to one
    registers it. With only required services the last agreement moves on (the flow decides);
    with optional ones "next" (:class:`ConsentsDone`) does, once every required one is agreed.
    In landscape the services alternate between the two columns.
    """

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.intro = label()
        self.body.addWidget(self.title)
        self.body.addWidget(self.intro)
        #: service -> (name + version, terms, its agreement button)
        self.blocks: dict[str, tuple[QLabel, QLabel, WrapButton]] = {}
        self._key: tuple[str, ...] = ()
        self._state: FlowState | None = None
        self._last_view: View | None = None
        self._landscape = False
        self.back = button(lambda: self.post(Back()))
        self.cancel = button(lambda: self.post(Cancel()))
        self.next = button(lambda: self.post(ConsentsDone()), primary=True)
        for widget in (self.back, self.cancel, self.next):
            self.buttons.addWidget(widget)
        self.finish_layout()

    @property
    def agree(self) -> WrapButton:
        """The first agreement not given yet (tests and the path benchmark tap it)."""
        state = self._state
        accepted = {c.service for c in state.consents} if state is not None else set()
        for service, (_head, _terms, agree) in self.blocks.items():
            if service not in accepted and agree.isVisible():
                return agree
        return next(iter(self.blocks.values()))[2]

    def focus_target(self) -> QWidget | None:
        """The first agreement not given yet; once all are given, "next" (the primary)."""
        state = self._state
        accepted = {c.service for c in state.consents} if state is not None else set()
        pending = [s for s in self.blocks if s not in accepted]
        return self.blocks[pending[0]][2] if pending else None

    def _rebuild(self, services: tuple[ServiceTerms, ...]) -> None:
        key = tuple(t.service for t in services)
        if key == self._key:
            return
        for head, terms, agree in self.blocks.values():
            for widget in (head, terms, agree):
                widget.setParent(None)
                widget.deleteLater()
        self.blocks = {}
        for index, service in enumerate(services):
            head = label("notice")
            terms = label()
            agree = button(partial(self._agree, service.service), checkable=True)
            column = self.aside if index % 2 and self._landscape else self.body
            at = column.count() - 1  # before the column's stretch
            for offset, part in enumerate((head, terms, agree)):
                column.insertWidget(at + offset, part)
            self.blocks[service.service] = (head, terms, agree)
        self._key = key

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        if m.landscape != self._landscape:
            self._landscape = m.landscape
            self._key = ()  # re-place the blocks in the columns
            if self._state is not None and self._last_view is not None:
                self.show_state(self._state, self._last_view)

    def _agree(self, service: str) -> None:
        self._refresh()  # the flow's answer sets the mark; until then nothing changes
        self.post(ConsentAccepted(service))

    def _shown(self, state: FlowState, program: Program) -> tuple[ServiceTerms, ...]:
        chosen = [t for t in program.services if t.service in state.services]
        chosen.sort(key=lambda t: not t.required)
        if state.services_open:
            chosen += [t for t in program.services if not t.required and t.service not in state.services]
        return tuple(chosen)

    def show_state(self, state: FlowState, view: View) -> None:
        self._state, self._last_view = state, view
        language, program = view.language, view.program
        services = self._shown(state, program)
        self._rebuild(services)
        self._language = language
        self.title.setText(ui_text("consent_title", language))
        self.intro.setText(ui_text("consent_intro", language))
        for terms in services:
            head, text, _agree = self.blocks[terms.service]
            extra = "" if terms.required else ui_text("optional_service", language)
            version = terms_version_text(terms.terms_version, language)
            head.setText(f"{message(terms.name, language)}{extra}\n{version}")
            text.setText(message(terms.terms, language))
        optional = state.services_open and any(not t.required for t in program.services)
        self.next.setVisible(optional)
        set_button_text(self.back, ui_text("back", language))
        set_button_text(self.cancel, ui_text("cancel", language))
        set_button_text(self.next, ui_text("next", language))
        self._refresh()

    def _refresh(self) -> None:
        state, view = self._state, self._last_view
        if state is None or view is None:
            return
        language = view.language
        accepted = {c.service for c in state.consents}
        required = view.program.required_services
        pending = [s for s in self.blocks if s not in accepted and s in required]
        for service, (_head, _text, agree) in self.blocks.items():
            name = message(view.program.terms_for(service).name, language)
            done = service in accepted
            agree.setChecked(done)
            agree.setEnabled(not done)
            # The next required agreement is the screen's main action (filled, focused first, what
            # the demo's walkthrough taps); the others are plain until their turn.
            role = "primary" if pending and service == pending[0] else "agreement"
            if agree.objectName() != role:
                agree.setObjectName(role)
                agree.style().unpolish(agree)
                agree.style().polish(agree)
            set_button_text(
                agree, ui_text("agreed_service" if done else "agree_service", language, name=name)
            )
        self.next.setEnabled(required <= accepted)
