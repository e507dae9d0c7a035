"""What every screen shares: the view model, the ``show_state`` / ``wipe`` contract, the step bar
and the two-column layout (docs/ui.md "Layout rules").

A page has a main column (``body``), a second column (``aside``) and a row of buttons at the bottom
(thumb reach on a standing kiosk). Wider than tall, the columns stand side by side; otherwise the
second one goes below the first (:meth:`Page.apply_metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.flow.events import Event
from kiosk.flow.state import FlowState, Phase
from kiosk.rules.programs import Program
from ui.i18n import ui_text
from ui.layout import Metrics
from ui.widgets import label

Post = Callable[[Event], None]

#: The resident's path, one step per screen (busy screens belong to the step they serve).
STEP_OF: Final = {
    Phase.PROGRAM: "program",
    Phase.CONSENT: "consent",
    Phase.WAIT_CARD: "card",
    Phase.REINSERT: "card",
    Phase.PREFETCH: "card",
    Phase.LAST_TRY_CONFIRM: "pin",
    Phase.PIN_ENTRY: "pin",
    Phase.CARD_INFO_LAST_TRY_CONFIRM: "pin",
    Phase.CARD_INFO_PIN_ENTRY: "pin",
    Phase.VERIFYING: "pin",
    Phase.CONFIRM: "confirm",
    Phase.ELIGIBILITY: "confirm",
    Phase.SAVING: "confirm",
    Phase.RECEIPT: "receipt",
}


@dataclass(frozen=True)
class View:
    """What a screen needs besides the flow state: the screen language and the programme."""

    language: str
    program: Program
    warn_seconds: int = 30
    #: The steps of this kiosk's path, in order ("program" only when it offers several).
    steps: tuple[str, ...] = ("consent", "card", "pin", "confirm", "receipt")


def step_text(state: FlowState, view: View) -> str:
    """「手順 2 / 5　カードを置く」, "Step 2 of 5 · Card", or "" off the path (idle, errors, the
    language picker). The joiner is the language's own (``step_joined``): a full-width space is
    Japanese and Chinese typography, and a wide gap in a Latin or Devanagari line."""
    step = STEP_OF.get(state.phase)
    if step is None or step not in view.steps or state.warning:
        return ""
    number = view.steps.index(step) + 1
    counter = ui_text("step", view.language, n=number, total=len(view.steps))
    name = ui_text(f"step_{step}", view.language)
    return ui_text("step_joined", view.language, counter=counter, name=name)


class Page(QWidget):
    """A passive screen: ``show_state`` shows a state, buttons call ``post`` with flow events."""

    def __init__(self, post: Post) -> None:
        super().__init__()
        self.post = post
        self.outer = QVBoxLayout(self)
        self.outer.setContentsMargins(48, 24, 48, 24)
        self.outer.setSpacing(16)
        self.step = label("step")
        self.step.setVisible(False)
        self.outer.addWidget(self.step)
        self.columns = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.columns.setSpacing(20)
        self.body = QVBoxLayout()
        self.body.setSpacing(20)
        self.aside = QVBoxLayout()
        self.aside.setSpacing(20)
        self.columns.addLayout(self.body, 1)
        self.columns.addLayout(self.aside, 1)
        self.outer.addLayout(self.columns, 1)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(24)
        self._finished = False
        #: Below 1 when the window drew this page smaller to fit it (KioskWindow._fit).
        self.shrink = 1.0

    def finish_layout(self) -> None:
        """Stretch under both columns, then the row of buttons at the bottom."""
        self.body.addStretch(1)
        self.aside.addStretch(1)
        self.outer.addLayout(self.buttons)
        self._finished = True

    def apply_metrics(self, m: Metrics) -> None:
        """Columns side by side in landscape; margins and spacing at the window's scale."""
        direction = QBoxLayout.Direction.LeftToRight if m.landscape else QBoxLayout.Direction.TopToBottom
        self.columns.setDirection(direction)
        self.outer.setContentsMargins(m.px(40), m.px(16), m.px(40), m.px(20))
        for layout, space in (
            (self.outer, 14),
            (self.columns, 32 if m.landscape else 18),
            (self.body, 16),
            (self.aside, 16),
            (self.buttons, 20),
        ):
            layout.setSpacing(m.px(space))

    def show_step(self, state: FlowState, view: View) -> None:
        """The step bar (the window calls this before ``show_state``)."""
        text = step_text(state, view)
        self.step.setText(text)
        self.step.setVisible(bool(text))

    def focus_target(self) -> QWidget | None:
        """Where keyboard focus starts when not on the primary button (None: the primary one)."""
        return None

    def show_state(self, state: FlowState, view: View) -> None:
        """Show ``state`` in ``view.language``."""
        raise NotImplementedError

    def wipe(self) -> None:
        """Forget everything shown (the flow's ``Wipe``); screens with personal data override."""
