"""What every screen shares: the view model and the ``show_state`` / ``wipe`` contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.flow import Event, FlowState
from kiosk.programs import Program

Post = Callable[[Event], None]


@dataclass(frozen=True)
class View:
    """What a screen needs besides the flow state: the screen language and the programme."""

    language: str
    program: Program
    warn_seconds: int = 30


class Page(QWidget):
    """A passive screen: ``show_state`` shows a state, buttons call ``post`` with flow events."""

    def __init__(self, post: Post) -> None:
        super().__init__()
        self.post = post
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(48, 32, 48, 32)
        self.body.setSpacing(20)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(24)

    def finish_layout(self) -> None:
        """Stretch, then the row of buttons at the bottom (thumb reach on a standing kiosk)."""
        self.body.addStretch(1)
        self.body.addLayout(self.buttons)

    def show_state(self, state: FlowState, view: View) -> None:
        """Show ``state`` in ``view.language``."""
        raise NotImplementedError

    def wipe(self) -> None:
        """Forget everything shown (the flow's ``Wipe``); screens with personal data override."""
