"""The staff side of a booth (issue 13 §7, ``mode = "staff"``): a view behind a passcode.

* **Passcode** and **lock-out**: :mod:`kiosk.staff_auth` (scrypt hash in the profile,
  :class:`~kiosk.staff_auth.PasscodeGate` locks after repeated failures).
* **What staff see** (:class:`StaffSnapshot`): the step the resident is on (the flow phase's
  name in words, never the data on it), the reader and the queue / sync status, and today's
  counts (visits, registrations, errors by kind, cancellations). Never a PIN, a digit count, the
  basic four, a registration code or anything else from the card: :func:`snapshot` takes only
  the phase, the reader flag and the error kind from the state (tested: a snapshot taken on the
  confirm screen holds none of the resident's data).
* **What staff can do**: start a visit (the resident then only has to place the card), cancel
  the visit (the flow wipes everything), switch training mode (the virtual cards) on or off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.flow.state import FlowState, Phase
from kiosk.staff_auth import PasscodeGate
from ui.widgets import button, label, set_button_text

#: The resident's step, in words (English: the staff view is for the booth's operators).
STEPS: Final = {
    Phase.IDLE: "waiting for a resident",
    Phase.LANGUAGE: "choosing the language",
    Phase.PROGRAM: "choosing the programme and services",
    Phase.CONSENT: "reading the terms",
    Phase.WAIT_CARD: "placing the card",
    Phase.REINSERT: "placing the card again",
    Phase.PREFETCH: "card being checked",
    Phase.VERIFYING: "card being read",
    Phase.SAVING: "registration being saved",
    Phase.LAST_TRY_CONFIRM: "last PIN try warning",
    Phase.CARD_INFO_LAST_TRY_CONFIRM: "last PIN try warning (card-info PIN)",
    Phase.PIN_ENTRY: "entering the PIN",
    Phase.CARD_INFO_PIN_ENTRY: "entering the card-info PIN",
    Phase.CONFIRM: "checking the card's details",
    Phase.ELIGIBILITY: "reading the result of the check",
    Phase.NOT_ELIGIBLE: "conditions not met",
    Phase.RECEIPT: "receipt shown",
    Phase.ERROR: "error screen",
    Phase.TAKE_CARD: "taking the card",
}


@dataclass
class DailyCounts:
    """Today's counts, from the phases the view has seen (no personal data, no codes)."""

    day: date = field(default_factory=date.today)
    visits: int = 0
    registrations: int = 0
    cancelled: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    _last_phase: Phase | None = None

    def observe(self, state: FlowState, today: date | None = None) -> None:
        today = today or date.today()
        if today != self.day:
            self.__init__(day=today)  # type: ignore[misc]
        previous, self._last_phase = self._last_phase, state.phase
        if previous is state.phase:
            return
        if previous is Phase.IDLE:
            self.visits += 1
        if state.phase is Phase.RECEIPT:
            self.registrations += 1
        elif state.phase is Phase.ERROR and state.error is not None:
            self.errors[state.error.value] += 1
        elif state.phase is Phase.IDLE and previous not in (None, Phase.RECEIPT, Phase.TAKE_CARD):
            self.cancelled += 1


@dataclass(frozen=True)
class StaffSnapshot:
    step: str
    reader: str
    queue: str
    counts: str


def snapshot(state: FlowState | None, counts: DailyCounts, queue: str) -> StaffSnapshot:
    """What the staff view shows now; reads the phase, the reader flag and nothing else."""
    step = STEPS[state.phase] if state is not None else STEPS[Phase.IDLE]
    reader = "connected" if state is None or state.reader_available else "NOT CONNECTED"
    errors = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.errors.items())) or "none"
    text = (
        f"visits {counts.visits} · registrations {counts.registrations} · "
        f"cancelled {counts.cancelled} · errors: {errors}"
    )
    return StaffSnapshot(step=step, reader=reader, queue=queue, counts=text)


class StaffView(QWidget):
    """The passcode screen, then the status and the three actions. ``start_visit``,
    ``cancel_visit`` and ``training`` (bool) are emitted for the app to act on."""

    start_visit = Signal()
    cancel_visit = Signal()
    training = Signal(bool)

    def __init__(self, gate: PasscodeGate, queue_status: Callable[[], str]) -> None:
        super().__init__()
        self.gate = gate
        self.queue_status = queue_status
        self.counts = DailyCounts()
        self.state: FlowState | None = None
        self.unlocked = False
        self._typed = ""
        self.training_on = False
        layout = QVBoxLayout(self)
        self.title = label("heading")
        self.message = label("notice")
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        # passcode pad (digits only; the passcode is never shown, only its length as dots)
        self.pad = QWidget()
        grid = QGridLayout(self.pad)
        self.dots = label("pinDots", center=True)
        grid.addWidget(self.dots, 0, 0, 1, 3)
        for i, digit in enumerate((1, 2, 3, 4, 5, 6, 7, 8, 9, 0)):
            key = button(partial(self._press, digit))
            set_button_text(key, str(digit))
            grid.addWidget(key, 1 + i // 3, i % 3 if digit else 1)
        self.enter = button(self._submit, primary=True)
        set_button_text(self.enter, "Unlock")
        grid.addWidget(self.enter, 5, 0, 1, 3)
        layout.addWidget(self.pad)
        # status
        self.status: dict[str, QLabel] = {name: label() for name in ("step", "reader", "queue", "counts")}
        for line in self.status.values():
            layout.addWidget(line)
        self.start = button(self.start_visit.emit, primary=True)
        self.cancel = button(self.cancel_visit.emit)
        self.training_button = button(self._toggle_training, checkable=True)
        self.lock = button(self.lock_view)
        actions: tuple[tuple[QPushButton, str], ...] = (
            (self.start, "Start a visit"),
            (self.cancel, "Cancel the visit"),
            (self.training_button, "Training mode (virtual cards)"),
            (self.lock, "Lock"),
        )
        for action, text in actions:
            set_button_text(action, text)
            layout.addWidget(action)
        self.lock_view()

    def observe(self, state: FlowState) -> None:
        """Every flow state the kiosk shows (counts and the current step)."""
        self.state = state
        self.counts.observe(state)
        if self.unlocked:
            self.refresh()

    def refresh(self) -> None:
        shot = snapshot(self.state, self.counts, self.queue_status())
        self.status["step"].setText(f"Resident's step: {shot.step}")
        self.status["reader"].setText(f"Card reader: {shot.reader}")
        self.status["queue"].setText(f"Queue / sync: {shot.queue}")
        self.status["counts"].setText(f"Today: {shot.counts}")

    def lock_view(self) -> None:
        self.unlocked = False
        self._typed = ""
        self.title.setText("Staff view")
        self.message.setText("Enter the staff passcode.")
        self._show(locked=True)

    def _show(self, *, locked: bool) -> None:
        self.pad.setVisible(locked)
        self.dots.setText("●" * len(self._typed))
        for widget in (*self.status.values(), self.start, self.cancel, self.training_button, self.lock):
            widget.setVisible(not locked)

    def _press(self, digit: int) -> None:
        if len(self._typed) < 12:
            self._typed += str(digit)
        self.dots.setText("●" * len(self._typed))

    def _submit(self) -> None:
        typed, self._typed = self._typed, ""
        if self.gate.attempt(typed):
            self.unlocked = True
            self.message.setText("")
            self._show(locked=False)
            self.refresh()
            return
        wait = self.gate.locked_for()
        self.message.setText(
            f"Locked for {int(wait // 60)} min {int(wait % 60)} s after repeated wrong passcodes."
            if wait
            else "Wrong passcode."
        )
        self._show(locked=True)

    def _toggle_training(self) -> None:
        self.training_on = not self.training_on
        self.training_button.setChecked(self.training_on)
        self.training.emit(self.training_on)
