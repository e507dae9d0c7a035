"""A :class:`~kiosk.runner.Runner` that reports every flow step before it executes its effects.

``Runner.dispatch`` runs to quiescence and returns the last state, which is right for a terminal
but would hide the busy phases from a screen (the resident would see nothing while the card is
read). :meth:`SteppingRunner.feed` runs the same loop with the same executors, calling
``on_step(state, effects)`` after each ``Flow.step`` and *before* the (blocking) effects run, so the
window shows "reading…" while the card worker is busy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from kiosk.flow.effects import Effect
from kiosk.flow.events import Event
from kiosk.flow.state import FlowState
from kiosk.runner import Runner

OnStep = Callable[[FlowState, list[Effect]], None]


class SteppingRunner(Runner):
    """The runner, stepwise. Runs on the card worker thread only."""

    def feed(self, event: Event, on_step: OnStep) -> FlowState:
        """Apply ``event`` and its outcomes one step at a time; ``on_step`` sees each new state."""
        pending: deque[Event] = deque([event])
        while pending:
            self.state, effects = self.flow.step(self.state, pending.popleft())
            on_step(self.state, effects)
            for effect in effects:
                outcome = self._execute(effect)
                if outcome is not None:
                    pending.append(outcome)
        return self.state
