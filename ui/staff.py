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
  the visit (the flow wipes everything), lock the view, and see how to switch training mode.
* **Language**: every text is a catalogue message, shown in the profile's language (``[kiosk]
  language``: the booth's staff), not the resident's, which changes with every visit.
* **Training mode** is chosen when the kiosk starts (``madoguchi kiosk --virtual-card PERSONA``):
  the composition root builds the card side (virtual card and training bar, or PC/SC and the
  reader watcher) once, on the card worker thread, and the window's training bar exists only in
  training. Switching live would rebuild the runner while a resident's card session may be open
  and re-build the window's chrome; the view therefore says which mode is on and how to switch
  (docs/ui.md "Staff view").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Final, Protocol

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from kiosk.assistance import TITLES
from kiosk.flow.state import ErrorKind, FlowState, Phase
from kiosk.i18n import Message
from kiosk.staff_auth import PasscodeGate
from ui.theme import family_sheet
from ui.widgets import button, label, set_button_text

#: The resident's step, in words (the staff view's language).
STEPS: Final = {
    Phase.IDLE: Message("staff.step.idle", "waiting for a resident"),
    Phase.LANGUAGE: Message("staff.step.language", "choosing the language"),
    Phase.PROGRAM: Message("staff.step.program", "choosing the programme and services"),
    Phase.CONSENT: Message("staff.step.consent", "reading the terms"),
    Phase.WAIT_CARD: Message("staff.step.wait_card", "placing the card"),
    Phase.REINSERT: Message("staff.step.reinsert", "placing the card again"),
    Phase.PREFETCH: Message("staff.step.prefetch", "card being checked"),
    Phase.VERIFYING: Message("staff.step.verifying", "card being read"),
    Phase.SAVING: Message("staff.step.saving", "registration being saved"),
    Phase.LAST_TRY_CONFIRM: Message("staff.step.last_try", "last PIN try warning"),
    Phase.CARD_INFO_LAST_TRY_CONFIRM: Message(
        "staff.step.card_info_last_try", "last PIN try warning (card-info PIN)"
    ),
    Phase.PIN_ENTRY: Message("staff.step.pin", "entering the PIN"),
    Phase.CARD_INFO_PIN_ENTRY: Message("staff.step.card_info_pin", "entering the card-info PIN"),
    Phase.CONFIRM: Message("staff.step.confirm", "checking the card's details"),
    Phase.ELIGIBILITY: Message("staff.step.eligibility", "reading the result of the check"),
    Phase.NOT_ELIGIBLE: Message("staff.step.not_eligible", "conditions not met"),
    Phase.RECEIPT: Message("staff.step.receipt", "receipt shown"),
    Phase.ERROR: Message("staff.step.error", "error screen"),
    Phase.TAKE_CARD: Message("staff.step.take_card", "taking the card"),
}

# TRANSLATORS: the staff view (a booth's second screen, for the staff, not for residents).
WINDOW_TITLE: Final = Message("staff.window_title", "Madoguchi — staff")
TITLE: Final = Message("staff.title", "Staff view")
#: How often an unlocked staff view reads the outbox's counts again.
QUEUE_REFRESH_MS: Final = 5000
ENTER_PASSCODE: Final = Message("staff.enter_passcode", "Enter the staff passcode.")
UNLOCK: Final = Message("staff.unlock", "Unlock")
WRONG_PASSCODE: Final = Message("staff.wrong_passcode", "Wrong passcode.")
LOCKED: Final = Message(
    "staff.locked", "Locked for {minutes} min {seconds} s after repeated wrong passcodes."
)
STEP_LINE: Final = Message("staff.step_line", "Resident's step: {step}")
READER_LINE: Final = Message("staff.reader_line", "Card reader: {reader}")
READER_OK: Final = Message("staff.reader_ok", "connected")
READER_MISSING: Final = Message("staff.reader_missing", "⚠ NOT CONNECTED")
QUEUE_LINE: Final = Message("staff.queue_line", "Queue / sync: {queue}")
QUEUE_EMPTY: Final = Message("staff.queue_empty", "no records yet")
# TRANSLATORS: {error} is a program error's class name (e.g. OutboxLockedError), not translated.
QUEUE_UNAVAILABLE: Final = Message("staff.queue_unavailable", "unavailable ({error})")
# TRANSLATORS: record counts of the kiosk's outbox; {oldest} is the age in seconds of the oldest
# record still waiting to be sent.
QUEUE_COUNTS: Final = Message(
    "staff.queue_counts",
    "waiting {pending} · sending {sending} · rejected {rejected} · oldest waiting {oldest} s",
)
SYNC_ON: Final = Message("staff.sync_on", "sync running")
SYNC_OFF: Final = Message("staff.sync_off", "sync off")
TODAY_LINE: Final = Message(
    "staff.today_line",
    "Today: visits {visits} · registrations {registrations} · cancelled {cancelled} · errors: {errors}",
)
NO_ERRORS: Final = Message("staff.no_errors", "none")
# TRANSLATORS: one error kind of today's line: {error} is the error screen's title, {n} how often.
ERROR_COUNT: Final = Message("staff.error_count", "{error}: {n}")
# TRANSLATORS: between two error kinds on today's line (Japanese and Chinese: 、).
ERROR_SEPARATOR: Final = Message("staff.error_separator", ", ")
START: Final = Message("staff.start", "Start a visit")
CANCEL: Final = Message("staff.cancel", "Cancel the visit")
TRAINING_ON: Final = Message("staff.training_on", "Training mode: on (virtual cards)")
TRAINING_OFF: Final = Message("staff.training_off", "Training mode: off")
# TRANSLATORS: {option} is a command-line option, printed as is (--virtual-card PERSONA).
TRAINING_HOW_ON: Final = Message(
    "staff.training_how_on",
    "Training mode is on. To use real cards again, restart the kiosk without {option}.",
)
TRAINING_HOW_OFF: Final = Message(
    "staff.training_how_off",
    "Training mode is off. To train with the virtual cards, restart the kiosk with {option}.",
)
LOCK: Final = Message("staff.lock", "Lock")


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


class OutboxCounts(Protocol):
    """What the view reads of the outbox's status (``sync.outbox.QueueStatus``)."""

    @property
    def counts(self) -> Mapping[str, int]: ...

    @property
    def oldest_age_s(self) -> float | None: ...


@dataclass(frozen=True)
class QueueInfo:
    """The queue / sync line's facts, put into words by the view in its language."""

    counts: Mapping[str, int] | None = None  # None: no outbox yet
    oldest_age_s: float = 0.0
    sync_running: bool = False
    error: str | None = None  # the exception's class name when the outbox could not be read

    @classmethod
    def of(cls, status: OutboxCounts | None, *, sync_running: bool) -> QueueInfo:
        if status is None:
            return cls(sync_running=sync_running)
        return cls(dict(status.counts), float(status.oldest_age_s or 0), sync_running)


def queue_text(info: QueueInfo, language: str) -> str:
    if info.error is not None:
        return QUEUE_UNAVAILABLE.format(language, error=info.error)
    sync = (SYNC_ON if info.sync_running else SYNC_OFF).get(language)
    if info.counts is None:
        return f"{QUEUE_EMPTY.get(language)} · {sync}"
    counts = QUEUE_COUNTS.format(
        language,
        pending=info.counts.get("PENDING", 0),
        sending=info.counts.get("SENDING", 0),
        rejected=info.counts.get("REJECTED", 0),
        oldest=int(info.oldest_age_s),
    )
    return f"{counts} · {sync}"


@dataclass(frozen=True)
class StaffSnapshot:
    step: str
    reader: str
    queue: str
    counts: str


def snapshot(state: FlowState | None, counts: DailyCounts, queue: QueueInfo, language: str) -> StaffSnapshot:
    """What the staff view shows now; reads the phase, the reader flag and nothing else."""
    step = STEPS[state.phase if state is not None else Phase.IDLE].get(language)
    connected = state is None or state.reader_available
    reader = (READER_OK if connected else READER_MISSING).get(language)
    errors = ERROR_SEPARATOR.get(language).join(
        ERROR_COUNT.format(language, error=_error_name(kind, language), n=n)
        for kind, n in sorted(counts.errors.items())
    ) or NO_ERRORS.get(language)
    text = TODAY_LINE.format(
        language,
        visits=counts.visits,
        registrations=counts.registrations,
        cancelled=counts.cancelled,
        errors=errors,
    )
    return StaffSnapshot(step=step, reader=reader, queue=queue_text(queue, language), counts=text)


def _error_name(kind: str, language: str) -> str:
    """An error kind's own title (the resident's error screen's), or its code if unknown."""
    try:
        return TITLES[ErrorKind(kind)].get(language)
    except (ValueError, KeyError):
        return kind


class StaffView(QWidget):
    """The passcode screen, then the status and the actions. ``start_visit``, ``cancel_visit`` and
    ``training`` (the mode asked for: the opposite of the one running) are emitted for the app.

    :param language: the staff's language (the profile's ``[kiosk] language``).
    :param training: whether this kiosk runs in training mode (``--virtual-card``).
    """

    start_visit = Signal()
    cancel_visit = Signal()
    training = Signal(bool)

    #: The command-line option that chooses training mode (named in the "how to switch" text).
    TRAINING_OPTION: Final = "--virtual-card PERSONA"

    def __init__(
        self,
        gate: PasscodeGate,
        queue_status: Callable[[], QueueInfo],
        *,
        language: str = "ja",
        training: bool = False,
    ) -> None:
        super().__init__()
        self.gate = gate
        self.queue_status = queue_status
        self.language = language
        self.training_on = training
        self.counts = DailyCounts()
        self.state: FlowState | None = None
        self.unlocked = False
        self._typed = ""
        self._message: tuple[Message, dict[str, object]] | None = None
        #: The outbox's counts as last read: a state shown redraws the step from memory, and the
        #: queue is read again only by the timer, on unlock and on a language change (reading it
        #: opens the outbox's SQLite file, which must not happen on the GUI thread per screen).
        self._queue: QueueInfo | None = None
        self._queue_timer = QTimer(self)
        self._queue_timer.setInterval(QUEUE_REFRESH_MS)
        self._queue_timer.timeout.connect(self.refresh)
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
        grid.addWidget(self.enter, 5, 0, 1, 3)
        layout.addWidget(self.pad)
        # status
        self.status: dict[str, QLabel] = {name: label() for name in ("step", "reader", "queue", "counts")}
        for line in self.status.values():
            layout.addWidget(line)
        self.start = button(self.start_visit.emit, primary=True)
        self.cancel = button(self.cancel_visit.emit)
        self.training_button = button(self._training_pressed)
        self.lock = button(self.lock_view)
        layout.addStretch(1)  # the status lines stay together; the actions sit at the bottom
        # two by two: four full-width rows did not fit a 1366 x 768 staff screen
        actions = QGridLayout()
        for index, action in enumerate((self.start, self.cancel, self.training_button, self.lock)):
            actions.addWidget(action, index // 2, index % 2)
        layout.addLayout(actions)
        self.lock_view()

    def set_language(self, language: str) -> None:
        """Show every text in ``language`` (the profile's; tests and screenshots try them all)."""
        self.language = language
        self._relabel()
        if self.unlocked:
            self.refresh()

    def _relabel(self) -> None:
        language = self.language
        self.setStyleSheet(family_sheet(language))
        self.setWindowTitle(WINDOW_TITLE.get(language))
        self.title.setText(TITLE.get(language))
        set_button_text(self.enter, UNLOCK.get(language))
        set_button_text(self.start, START.get(language))
        set_button_text(self.cancel, CANCEL.get(language))
        set_button_text(
            self.training_button, (TRAINING_ON if self.training_on else TRAINING_OFF).get(language)
        )
        set_button_text(self.lock, LOCK.get(language))
        self.message.setText(self._message[0].format(language, **self._message[1]) if self._message else "")

    def _say(self, message: Message | None, **values: object) -> None:
        self._message = (message, values) if message is not None else None
        self._relabel()

    def observe(self, state: FlowState) -> None:
        """Every flow state the kiosk shows (counts and the current step)."""
        self.state = state
        self.counts.observe(state)
        if self.unlocked:
            self.refresh(read_queue=False)

    def refresh(self, *, read_queue: bool = True) -> None:
        language = self.language
        if read_queue or self._queue is None:
            self._queue = self.queue_status()
        shot = snapshot(self.state, self.counts, self._queue, language)
        self.status["step"].setText(STEP_LINE.format(language, step=shot.step))
        self.status["reader"].setText(READER_LINE.format(language, reader=shot.reader))
        self.status["queue"].setText(QUEUE_LINE.format(language, queue=shot.queue))
        self.status["counts"].setText(shot.counts)

    def lock_view(self) -> None:
        self.unlocked = False
        self._typed = ""
        self._say(ENTER_PASSCODE)
        self._show(locked=True)

    def _show(self, *, locked: bool) -> None:
        self.pad.setVisible(locked)
        self.dots.setText("●" * len(self._typed))
        for widget in (*self.status.values(), self.start, self.cancel, self.training_button, self.lock):
            widget.setVisible(not locked)
        if locked:
            self._queue_timer.stop()
        else:
            self._queue_timer.start()

    def _press(self, digit: int) -> None:
        if len(self._typed) < 12:
            self._typed += str(digit)
        self.dots.setText("●" * len(self._typed))

    def _submit(self) -> None:
        typed, self._typed = self._typed, ""
        if self.gate.attempt(typed):
            self.unlocked = True
            self._say(None)
            self._show(locked=False)
            self.refresh()
            return
        wait = self.gate.locked_for()
        if wait:
            self._say(LOCKED, minutes=int(wait // 60), seconds=int(wait % 60))
        else:
            self._say(WRONG_PASSCODE)
        self._show(locked=True)

    def _training_pressed(self) -> None:
        """Say which mode runs and how to switch (at start-up: module docstring), and tell the app
        which mode was asked for."""
        self._say(TRAINING_HOW_ON if self.training_on else TRAINING_HOW_OFF, option=self.TRAINING_OPTION)
        self.training.emit(not self.training_on)
