"""Threads and timers: the flow and its card work on a worker QThread, the window on the GUI thread.

* :class:`FlowWorker` lives on its own ``QThread``. It builds the runner *in that thread* (the
  outbox's SQLite connection and the PC/SC handles belong to it), and handles every flow event in
  order (one queue, one thread). Blocking card I/O therefore never runs on the GUI thread.
* Events reach the worker only through queued signals: the window's intents, the reader watcher's
  callbacks (:meth:`KioskController.post` is safe from any thread) and the flow timers.
* After each flow step the worker emits the new state plus the effects the screen must act on
  (``Wipe``, ``WarnTimeout``, ``Alarm``, timers). PIN-carrying effects never leave the worker.
* Flow timers are ``QTimer`` single-shots on the GUI thread; on expiry they post ``TimerFired``.
* Crash-only: an exception the runner does not turn into a flow event is a bug. The worker logs its
  type and code-only traceback, closes the runner (held PINs, card session) and drops it, and
  reports ``crashed``; the controller wipes the window and emits ``internal_error``, and
  ``madoguchi kiosk`` exits so the supervisor restarts a clean kiosk (docs/ui.md, "Fail safe").
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from kiosk.flow.effects import Alarm, CancelTimer, Effect, StartTimer, WarnTimeout, Wipe
from kiosk.flow.events import Event, TimerFired
from kiosk.flow.state import FlowState, loggable
from ui.window import KioskWindow

if TYPE_CHECKING:  # the card stack is imported by the factory, on the worker thread
    from kiosk.runner import Runner

logger = logging.getLogger(__name__)

RunnerFactory = Callable[[], "Runner"]
#: Effects the screen acts on; everything else (card work, PINs) stays on the worker.
_SCREEN_EFFECTS = (Wipe, WarnTimeout, Alarm, StartTimer, CancelTimer)


class FlowWorker(QObject):
    """Owns the runner; lives on the card worker thread."""

    stepped = Signal(object, object)  # FlowState, list of screen effects
    ready = Signal(object)  # the initial FlowState
    failed = Signal(object)  # an exception object from start-up (never a string)
    crashed = Signal(object)  # an unexpected exception while handling an event (a bug)

    def __init__(self, make_runner: RunnerFactory, on_close: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._make_runner = make_runner
        self._on_close = on_close
        self.runner: Runner | None = None

    @Slot()
    def start(self) -> None:
        """Build the runner in this thread."""
        try:
            self.runner = self._make_runner()
        except Exception as exc:  # reported to the GUI as an object; the window shows it
            self.failed.emit(exc)
            return
        self.ready.emit(self.runner.state)

    @Slot(object)
    def handle(self, event: Event) -> None:
        """One flow event (queued from the GUI, the watcher or a timer)."""
        if self.runner is None:
            return  # never built, stopped, or crashed: out of service
        try:
            self.runner.dispatch(event, on_step=self._report)
        except Exception as exc:  # the thread boundary: the one catch-all, for bugs (crash-only)
            self._crash(exc)

    def _crash(self, exc: Exception) -> None:
        """Fail safe after a bug: log what the bug is (never what it says), forget the session.

        The message and the frames' locals may hold the resident's data or a PIN, so only the type
        name and the code-only traceback (file, line, source line) are logged, and the frames'
        locals are cleared before the exception object leaves this thread. Closing the runner
        zeroes held PINs and ends the card session; without a runner later events are ignored.
        """
        code_only = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("the card worker failed (%s); out of service\n%s", type(exc).__name__, code_only)
        runner, self.runner = self.runner, None
        if runner is not None:
            try:
                runner.close()
            except Exception as close_exc:  # best effort: the crash is already being reported
                logger.error("closing the runner after a failure: %s", type(close_exc).__name__)
        _clear_locals(exc)
        self.crashed.emit(exc)

    def _report(self, state: FlowState, effects: list[Effect]) -> None:
        logger.debug("flow: %s", loggable(state))
        self.stepped.emit(state, [e for e in effects if isinstance(e, _SCREEN_EFFECTS)])

    @Slot()
    def stop(self) -> None:
        """Close the card session and whatever the factory opened (outbox, PC/SC)."""
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        if self._on_close is not None:
            self._on_close()


def _clear_locals(exc: BaseException) -> None:
    """Clear the finished frames of ``exc`` and of its causes/contexts: their locals (the record's
    plaintext, a PIN copy) must not travel with the exception object to the GUI thread."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)  # frames still running are skipped
        pending += [current.__cause__, current.__context__]


class KioskController(QObject):
    """Connects a :class:`KioskWindow` to a :class:`FlowWorker` on a worker thread.

    :param ms_per_second: how long a flow "second" is for timers (1000; tests shorten it).
    """

    posted = Signal(object)  # any thread → the worker (queued)
    startup_failed = Signal(object)  # the runner could not be built (e.g. the outbox will not open)
    internal_error = Signal(object)  # the worker crashed on a bug: wiped, out of service, exit
    _stop_requested = Signal()

    def __init__(
        self,
        window: KioskWindow,
        make_runner: RunnerFactory,
        *,
        on_close: Callable[[], None] | None = None,
        ms_per_second: int = 1000,
    ) -> None:
        super().__init__()
        self.window = window
        self.state: FlowState | None = None
        self.error: BaseException | None = None
        self._ms = ms_per_second
        self._token: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("card-worker")
        self.worker = FlowWorker(make_runner, on_close)
        self.worker.moveToThread(self.worker_thread)
        self.worker_thread.started.connect(self.worker.start)
        queued = Qt.ConnectionType.QueuedConnection
        self.posted.connect(self.worker.handle, queued)
        self._stop_requested.connect(self.worker.stop, Qt.ConnectionType.BlockingQueuedConnection)
        self.worker.stepped.connect(self._stepped, queued)
        self.worker.ready.connect(self._ready, queued)
        self.worker.failed.connect(self._failed, queued)
        self.worker.crashed.connect(self._crashed, queued)
        window.intent.connect(self.post)

    def start(self) -> None:
        """Start the worker thread (it builds the runner and reports the initial state)."""
        self.worker_thread.start()

    def stop(self) -> None:
        """Close the runner on its thread, then end the thread."""
        self._timer.stop()
        if self.worker_thread.isRunning():
            self._stop_requested.emit()
            self.worker_thread.quit()
            self.worker_thread.wait()

    def post(self, event: Event) -> None:
        """Hand ``event`` to the worker; safe from any thread (the watcher's, the GUI's)."""
        self.posted.emit(event)

    @Slot(object)
    def _ready(self, state: FlowState) -> None:
        self.state = state
        self.window.show_state(state)
        self.window.warm_up()  # the pages start-up left out, while the kiosk waits for a resident

    @Slot(object)
    def _failed(self, error: BaseException) -> None:
        self.error = error
        logger.error("the kiosk could not start: %s", type(error).__name__)
        self.startup_failed.emit(error)

    @Slot(object)
    def _crashed(self, error: BaseException) -> None:
        """The worker hit a bug: no timer may post again, nothing of the session stays on screen."""
        self._token = None
        self._timer.stop()
        self.window.wipe()
        self.error = error
        logger.error("the kiosk is out of service after an internal error: %s", type(error).__name__)
        self.internal_error.emit(error)

    @Slot(object, object)
    def _stepped(self, state: FlowState, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Wipe):
                self.window.wipe()
            elif isinstance(effect, WarnTimeout):
                self.window.warn(effect.seconds, self._ms)
            elif isinstance(effect, Alarm):
                self.window.alarm(effect.on)
            elif isinstance(effect, StartTimer):
                self._token = effect.token
                self._timer.start(effect.seconds * self._ms)
            elif isinstance(effect, CancelTimer):
                self._token = None
                self._timer.stop()
        self.state = state
        self.window.show_state(state)

    def _fire(self) -> None:
        if self._token is not None:
            self.post(TimerFired(self._token))
