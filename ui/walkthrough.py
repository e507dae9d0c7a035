"""A resident's whole registration through the real Qt screens, with no person at the screen.

Used by the demo without a display (``madoguchi kiosk --virtual-card P --walkthrough DIR``): it
taps what a resident would tap, places the training card, types the persona's synthetic PIN on the
pad, and saves one PNG of every screen it meets into ``DIR`` so a newcomer can *see* the kiosk's main
job on a headless machine. It drives by role, not by wording or position, so a screen that is
re-laid out or re-worded keeps working: on each screen it taps the visible, enabled *primary*
button (``objectName() == "primary"``: every page marks its main action so), ticks any unticked
agreement it must accept first, and on the PIN screen uses the pad. Nothing personal is printed:
the report holds page names, tap counts and the registration code only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QPushButton, QWidget

from kiosk.flow.state import BUSY_PHASES, Phase
from ui.app import KioskApp

STEP_TIMEOUT_S: Final = 30.0
#: Phases that end the walk: the receipt, or a screen that means the registration cannot go on.
FAILED_PHASES: Final = frozenset({Phase.ERROR, Phase.NOT_ELIGIBLE, Phase.REINSERT})


class WalkthroughError(Exception):
    """The walk could not reach the receipt (the phase it stopped in is in the message)."""


@dataclass
class WalkReport:
    """What the walk saw: screens in order, the taps it made (PIN digits apart), the code."""

    screens: list[str] = field(default_factory=list)
    taps: int = 0
    pin_taps: int = 0
    code: str | None = None
    images: list[Path] = field(default_factory=list)


def _wait(predicate: Callable[[], bool], timeout_s: float = STEP_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.01)
    return False


class Walkthrough:
    """Drive one :class:`KioskApp` in training mode from the idle screen to the receipt."""

    def __init__(self, kiosk: KioskApp, pin: str, out_dir: Path | None) -> None:
        self._kiosk = kiosk
        self._pin = pin
        self._out = out_dir
        self.report = WalkReport()

    def _screen(self) -> tuple[Phase | None, str, int]:
        """What the resident sees: the phase, the page, and how many terms are accepted so far
        (one consent page per service is one screen each)."""
        state = self._kiosk.window.state
        consents = 0 if state is None else len(state.consents)
        return self._phase(), self._kiosk.window.current_page(), consents

    def _changed_from(self, before: tuple[Phase | None, str, int]) -> bool:
        return self._screen() != before

    def _phase(self) -> Phase | None:
        state = self._kiosk.window.state
        return None if state is None else state.phase

    def _snap(self) -> None:
        """One PNG per step; a new entry in ``screens`` only when the page changes (a consent page
        whose agreements are ticked one by one is one screen, several pictures)."""
        page = self._kiosk.window.current_page()
        if not self.report.screens or self.report.screens[-1] != page:
            self.report.screens.append(page)
        if self._out is not None:
            self._out.mkdir(parents=True, exist_ok=True)
            path = self._out / f"{len(self.report.images) + 1:02d}-{page}.png"
            self._kiosk.window.grab().save(str(path))
            self.report.images.append(path)

    def _tap(self, button: QAbstractButton, *, pin: bool = False) -> None:
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        if pin:
            self.report.pin_taps += 1
        else:
            self.report.taps += 1

    def _page(self) -> QWidget:
        page = self._kiosk.window.stack.currentWidget()
        if page is None:
            raise WalkthroughError("the window shows no page")
        return page

    def _primary(self) -> QAbstractButton | None:
        page = self._page()
        for candidate in page.findChildren(QPushButton):
            if candidate.objectName() == "primary" and candidate.isVisible() and candidate.isEnabled():
                return candidate
        return None

    def _agree_all(self) -> None:
        """Tick each visible, unticked agreement (a consent screen with one agreement per service)."""
        page = self._page()
        for candidate in page.findChildren(QAbstractButton):
            if (
                candidate.isCheckable()
                and not candidate.isChecked()
                and candidate.isVisible()
                and candidate.isEnabled()
                and candidate.property("agreement")
            ):
                self._tap(candidate)

    def _type_pin(self) -> None:
        pad = getattr(self._page(), "pad", None)
        if pad is None:
            raise WalkthroughError("the PIN screen has no pad")
        for digit in self._pin:
            self._tap(pad.keys[int(digit) - 1] if digit != "0" else pad.keys[9], pin=True)
        self._tap(pad.ok_key, pin=True)

    def _act(self, phase: Phase) -> None:
        if phase is Phase.WAIT_CARD:
            self._kiosk.training_card(True)  # the resident places the card on the reader
            return
        if phase in (Phase.PIN_ENTRY, Phase.CARD_INFO_PIN_ENTRY):
            self._type_pin()
            return
        self._agree_all()
        primary = self._primary()
        if primary is None:
            raise WalkthroughError(f"no main action on the {phase.value} screen")
        self._tap(primary)

    def run(self) -> WalkReport:
        """Walk to the receipt; raise :class:`WalkthroughError` when it cannot be reached."""
        if not _wait(lambda: self._kiosk.reader is not None and self._phase() is Phase.IDLE):
            raise WalkthroughError("the kiosk did not reach its idle screen")
        last: tuple[Phase | None, str, int] | None = None
        while True:
            phase = self._phase()
            assert phase is not None
            if phase in BUSY_PHASES:
                _wait(lambda: self._phase() not in BUSY_PHASES)
                continue
            seen = self._screen()
            if seen != last:
                self._snap()
                last = seen
            if phase is Phase.RECEIPT:
                state = self._kiosk.window.state
                self.report.code = None if state is None else state.code
                return self.report
            if phase in FAILED_PHASES:
                raise WalkthroughError(f"the registration stopped on the {phase.value} screen")
            self._act(phase)
            if not _wait(partial(self._changed_from, seen)):
                raise WalkthroughError(f"nothing happened after the action on the {phase.value} screen")

    def finish(self) -> None:
        """The resident takes the card and ends the visit (the session is wiped)."""
        self._kiosk.training_card(False)
        primary = self._primary()
        if primary is not None and self._phase() is Phase.RECEIPT:
            # after the receipt: not counted in the path's taps (bench/ui_path.py counts the same way)
            QTest.mouseClick(primary, Qt.MouseButton.LeftButton)
        _wait(lambda: self._phase() is Phase.IDLE, timeout_s=10.0)
