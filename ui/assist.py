"""The resident's assistance controls on every screen, and their wiring (issue 13 §2-§4).

:class:`AssistBar` is a slim row under the header: "listen again", the text size (one button that
steps 標準 → 大 → 特大), high contrast on/off and voice on/off. :class:`Assistance` connects it,
the :class:`~ui.voice.VoiceGuide` and the :class:`~ui.keypad.KeypadNavigator` to the window:

* each new screen speaks its prompt (:func:`ui.voice.prompt_for`), in the screen language, once
  (the attract screen only on "listen again");
  the PIN pad speaks "N digits entered" (never a digit); the take-card alarm plays the chime;
* the resident's choices (size, contrast, voice) last for the visit and are reset at the flow's
  ``Wipe`` to the profile's (default look, ``[voice] enabled``);
* the keypad's ``*`` repeats the prompt, ``/`` toggles the voice, Esc / Backspace post the
  screen's cancel / back.

The window calls :meth:`Assistance.shown`, :meth:`Assistance.wiped`, :meth:`Assistance.alarm`
and :meth:`Assistance.pin_progress`; nothing here reads personal data from the state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QEvent
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QApplication, QFrame, QGridLayout, QWidget

from kiosk.flow.events import Back, Cancel, Event
from kiosk.flow.state import FlowState, Phase
from kiosk.i18n import Message
from kiosk.settings import KioskMode
from kiosk.station import StationSettings
from ui.keypad import KeypadNavigator
from ui.theme import DEFAULT_APPEARANCE, Appearance, TextSize, apply_theme, current_appearance
from ui.voice import PromptMissingError, VoiceGuide, prompt_for
from ui.widgets import button, set_button_text

if TYPE_CHECKING:
    from PySide6.QtWidgets import QPushButton

    from ui.window import KioskWindow

LISTEN_AGAIN: Final = Message("assist.listen_again", "Listen again")
# TRANSLATORS: {size} is one of the three size names below.
TEXT_SIZE: Final = Message("assist.text_size", "Text size: {size}")
SIZE_NAMES: Final = {
    TextSize.STANDARD: Message("assist.size_standard", "Standard"),
    TextSize.LARGE: Message("assist.size_large", "Large"),
    TextSize.EXTRA_LARGE: Message("assist.size_extra_large", "Extra large"),
}
HIGH_CONTRAST: Final = Message("assist.high_contrast", "White on black")
VOICE_ON: Final = Message("assist.voice_on", "Voice: on")
VOICE_OFF: Final = Message("assist.voice_off", "Voice: off")

_NEXT_SIZE: Final = {
    TextSize.STANDARD: TextSize.LARGE,
    TextSize.LARGE: TextSize.EXTRA_LARGE,
    TextSize.EXTRA_LARGE: TextSize.STANDARD,
}


class AssistBar(QFrame):
    """Listen again · text size · white on black · voice on/off (every screen).

    One row when the four fit side by side, else two rows of two (large text, narrow windows,
    long translations): never a clipped word."""

    def __init__(self, assistance: Assistance) -> None:
        super().__init__()
        self.setObjectName("assistBar")
        self._assistance = assistance
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(12, 6, 12, 6)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(6)
        self.listen: QPushButton = button(assistance.repeat)
        self.text_size: QPushButton = button(assistance.next_size)
        self.contrast: QPushButton = button(assistance.toggle_contrast, checkable=True)
        self.voice: QPushButton = button(assistance.toggle_voice, checkable=True)
        self._columns = 0
        self._place(4)

    def controls(self) -> tuple[QPushButton, ...]:
        return (self.listen, self.text_size, self.contrast, self.voice)

    def _place(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for widget in self.controls():
            self.grid.removeWidget(widget)
        for i, widget in enumerate(self.controls()):
            self.grid.addWidget(widget, i // columns, i % columns)
        for column in range(4):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    def _reflow(self) -> None:
        """Each button at least as wide as its widest unbreakable word (the style sheet's
        ``min-width`` alone would let the layout squeeze a word), one row if they fit, else two."""
        widths = []
        for widget in self.controls():
            widget.setMinimumWidth(0)
            widths.append(widget.minimumSizeHint().width() + 8)  # + the focus ring's slack
        for widget, width in zip(self.controls(), widths, strict=True):
            widget.setMinimumWidth(width)
        margins = self.grid.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        self._place(4 if sum(widths) + 3 * self.grid.horizontalSpacing() <= room else 2)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._reflow()

    def show_language(self, language: str) -> None:
        a = self._assistance
        set_button_text(self.listen, "▶ " + LISTEN_AGAIN.get(language))
        size = SIZE_NAMES[current_appearance().size].get(language)
        set_button_text(self.text_size, TEXT_SIZE.format(language, size=size))
        set_button_text(self.contrast, HIGH_CONTRAST.get(language))
        self.contrast.setChecked(current_appearance().high_contrast)
        set_button_text(self.voice, (VOICE_ON if a.voice.enabled else VOICE_OFF).get(language))
        self.voice.setChecked(a.voice.enabled)
        self._reflow()


class Assistance:
    """Voice, keypad and look for one kiosk window (see the module docstring)."""

    def __init__(
        self,
        window: QWidget,
        *,
        post: Callable[[Event], None],
        language: Callable[[], str],
        current_page: Callable[[], str],
        pin_pad: Callable[[], QWidget | None],
        station: StationSettings | None = None,
        mode: KioskMode = KioskMode.STAFF,
        prompts: Path | None = None,
    ) -> None:
        self.window = window
        self.post = post
        self.language = language
        self.current_page = current_page
        self.station = station = station or StationSettings()
        self.mode = mode
        self.voice = VoiceGuide(prompts, enabled=station.voice_enabled, volume=station.voice_volume)
        # destroyed is emitted before the window's children go: the helper is stopped, not killed
        window.destroyed.connect(self.voice.close)
        self.bar = AssistBar(self)
        self.keypad = KeypadNavigator(
            window,
            pin_pad=pin_pad,
            on_back=lambda: self.post(Back()),
            on_cancel=self._cancel,
            on_repeat=self.repeat,
            on_voice_toggle=self.toggle_voice,
        )
        self.keypad.install()
        self._spoken: tuple[str, str] | None = None
        self._state: FlowState | None = None
        self._pin_count = 0
        #: Also told every state shown (the staff view: the step and today's counts).
        self.observers: list[Callable[[FlowState], None]] = []

    # -- from the window ----------------------------------------------------------------------------

    def shown(self, state: FlowState) -> None:
        """A state was rendered: relabel the bar; speak the screen's prompt when it changed."""
        self._state = state
        for observer in self.observers:
            observer(state)
        language = self.language()
        self.bar.show_language(language)
        prompt = prompt_for(state, self.current_page(), self.mode)
        if prompt == "idle":
            # the attract screen stays silent: a kiosk talking to an empty shop every few minutes
            # is noise; "listen again" still speaks it, and the first touch starts the voice
            self.voice.last, self.voice.last_language = (prompt,), language
            self._spoken = (prompt, language)
            return
        if (prompt, language) != self._spoken:
            self._spoken = (prompt, language)
            self._say(language, prompt)

    def pin_progress(self, count: int) -> None:
        """The PIN pad's digit count changed: "N digits entered" (the count, never a digit). The
        pad's own resets (a new screen, after OK) are not spoken."""
        last, self._pin_count = self._pin_count, count
        if count == last or (count == 0 and self.current_page() != "pin"):
            return
        if count == 0 and last == 4:
            return  # submitted: the next screen speaks
        self._say(self.language(), f"digits.{count}")

    def alarm(self, on: bool) -> None:
        if on:
            self.voice.alarm(self.language())

    def wiped(self) -> None:
        """The flow's Wipe: the visit is over; the next resident starts with the profile's look
        and voice."""
        self.voice.stop()
        self.voice.set_enabled(self.station.voice_enabled)
        self._spoken = None
        if current_appearance() != DEFAULT_APPEARANCE:
            self._apply(DEFAULT_APPEARANCE)

    # -- the resident's buttons and keys ------------------------------------------------------------

    def repeat(self) -> None:
        self.voice.repeat()

    def next_size(self) -> None:
        now = current_appearance()
        self._apply(Appearance(size=_NEXT_SIZE[now.size], high_contrast=now.high_contrast))

    def toggle_contrast(self) -> None:
        now = current_appearance()
        self._apply(Appearance(size=now.size, high_contrast=not now.high_contrast))

    def toggle_voice(self) -> None:
        self.voice.set_enabled(not self.voice.enabled)
        self.bar.show_language(self.language())
        if self.voice.enabled and self._spoken is not None:
            self._say(self._spoken[1], self._spoken[0])

    def _cancel(self) -> None:
        state = self._state
        if state is not None and state.phase is not Phase.IDLE:
            self.post(Cancel())

    def _apply(self, appearance: Appearance) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, appearance)
        self.bar.show_language(self.language())

    def _say(self, language: str, prompt: str) -> None:
        try:
            self.voice.say(language, prompt)
        except PromptMissingError:
            # a kiosk whose prompt cache was not built stays usable (the voice test fails the build)
            self.voice.last = (prompt,)


def attach(
    window: KioskWindow,
    *,
    mode: KioskMode,
    station: StationSettings | None = None,
    prompts: Path | None = None,
) -> Assistance:
    """Give ``window`` its assistance: the bar under the header, the voice, the keypad, and the
    station's reader position, mode and printer on the pages that use them."""
    from ui.pages.card import BusyPage, TakeCardPage, WaitCardPage
    from ui.pages.error import ErrorPage
    from ui.pages.pin import PinPage
    from ui.pages.result import ReceiptPage
    from ui.receipt_print import make_printer

    station = station or StationSettings()
    pages = window.pages

    def pin_pad() -> QWidget | None:
        if window.current_page() != "pin":
            return None
        page = pages["pin"]
        return page.pad if isinstance(page, PinPage) else None

    assist = Assistance(
        window,
        post=window.intent.emit,
        language=window.language,
        current_page=window.current_page,
        pin_pad=pin_pad,
        station=station,
        mode=mode,
        prompts=prompts,
    )

    def configure(page: QWidget) -> None:  # every page, now or when it is first built
        if isinstance(page, WaitCardPage | BusyPage | TakeCardPage):
            page.set_station(mode, station.reader_position)
        elif isinstance(page, ErrorPage | PinPage):
            page.set_mode(mode)
            if isinstance(page, PinPage):
                page.pad.progressed.connect(assist.pin_progress)
        elif isinstance(page, ReceiptPage):
            page.printing.printer = make_printer(station.printer)

    pages.configure(configure)
    window.attach_assistance(assist)
    return assist
