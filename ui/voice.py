"""Voice guidance: plays the pre-rendered prompt of each screen (:mod:`ui.voice_prompts`).

:class:`VoiceGuide` is told which screen is shown (:func:`prompt_for` maps a flow state and page to
a prompt id) and plays that prompt's WAV in the screen language with QtMultimedia's
``QSoundEffect`` (low latency, WAV only, no decoder thread). "Listen again" replays the last one;
the card-left-behind alarm plays a rising chime, then the alarm prompt. Voice on/off and volume
come from the profile (``[voice]``) and the resident's button; turning it off stops at once.

It can only speak prompt ids, never free text: there is no path by which a PIN digit, a name or
an address could reach the speaker (the PIN screens speak ``digits.N``, "N digits entered").
QtMultimedia is imported when the first prompt plays, not at start-up (``bench/ui_startup.py``).
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QUrl, Signal

from kiosk.flow.state import FlowState, Phase
from kiosk.settings import KioskMode
from ui.voice_prompts import CHIME_ID, INDEX, default_dir

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QSoundEffect


class PromptMissingError(Exception):
    """No prompt file for this screen and language (the prompt cache was not built)."""


_BUSY: Final = {
    Phase.PREFETCH: "busy_prefetch",
    Phase.VERIFYING: "busy_verifying",
    Phase.SAVING: "busy_saving",
}


def prompt_for(state: FlowState, page: str, mode: KioskMode = KioskMode.STAFF) -> str:
    """The prompt id of ``page`` showing ``state`` at a kiosk in ``mode`` (every page of the
    window has one: tested). Self-service errors have their own prompts (no staff mentioned)."""
    if state.warning:
        return "warning"
    if page == "wait_card":
        if not state.reader_available:
            return "error_self.reader_lost" if mode is KioskMode.SELF else "reader_missing"
        return "reinsert" if state.phase is Phase.REINSERT else "wait_card"
    if page == "busy":
        return _BUSY.get(state.phase, "busy_verifying")
    if page == "pin":
        return "pin_card_info" if state.phase is Phase.CARD_INFO_PIN_ENTRY else "pin"
    if page == "error" and state.error is not None:
        return f"{'error_self' if mode is KioskMode.SELF else 'error'}.{state.error.value}"
    if page == "take_card":
        return "alarm" if state.alarm else "take_card"
    return page


class VoiceGuide(QObject):
    """Plays prompts. ``played(prompt_id, language)`` is emitted when a prompt starts playing."""

    played = Signal(str, str)

    def __init__(self, directory: Path | None = None, *, enabled: bool = True, volume: float = 0.8) -> None:
        super().__init__()
        self.directory = directory or default_dir()
        self.enabled = enabled
        self.volume = max(0.0, min(1.0, volume))
        self._index: dict[str, dict[str, str]] | None = None
        self._effect: QSoundEffect | None = None
        self._queue: deque[tuple[str, str]] = deque()
        self._current: tuple[str, str] | None = None
        self.last: tuple[str, ...] = ()
        self.last_language = ""

    # -- the prompt cache ---------------------------------------------------------------------------

    def index(self) -> dict[str, dict[str, str]]:
        if self._index is None:
            try:
                self._index = json.loads((self.directory / INDEX).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise PromptMissingError(f"{self.directory / INDEX}: run scripts/setup.sh") from None
        return self._index

    def path(self, prompt_id: str, language: str) -> Path:
        """The WAV of ``prompt_id`` in ``language``. :raises PromptMissingError:"""
        name = self.index().get(language, {}).get(prompt_id)
        if name is None or not (self.directory / name).exists():
            raise PromptMissingError(f"{language}/{prompt_id}")
        return self.directory / name

    # -- playing ------------------------------------------------------------------------------------

    def say(self, language: str, *prompt_ids: str) -> None:
        """Play ``prompt_ids`` one after the other, interrupting whatever was playing."""
        self.last, self.last_language = prompt_ids, language
        self.stop()
        if not self.enabled:
            return
        self._queue.extend((prompt_id, language) for prompt_id in prompt_ids)
        self._next()

    def repeat(self) -> None:
        """ "Listen again": the last prompts once more (also when voice was off: the resident asked)."""
        if not self.last:
            return
        was, self.enabled = self.enabled, True
        try:
            self.say(self.last_language, *self.last)
        finally:
            self.enabled = was

    def alarm(self, language: str) -> None:
        """The card-left-behind alarm: the rising chime, then the alarm prompt (even when voice is
        off: it protects the card, and the chime carries no words)."""
        was, self.enabled = self.enabled, True
        try:
            self.say(language, CHIME_ID, "alarm")
        finally:
            self.enabled = was

    def stop(self) -> None:
        self._queue.clear()
        self._current = None
        if self._effect is not None:
            self._effect.stop()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            self.stop()

    def set_volume(self, volume: float) -> None:
        self.volume = max(0.0, min(1.0, volume))
        if self._effect is not None:
            self._effect.setVolume(self.volume)

    def is_playing(self) -> bool:
        return self._current is not None

    def _sound(self) -> QSoundEffect:
        if self._effect is None:
            from PySide6.QtMultimedia import QSoundEffect

            self._effect = QSoundEffect(self)
            self._effect.playingChanged.connect(self._playing_changed)
            self._effect.statusChanged.connect(self._status_changed)
        return self._effect

    def _next(self) -> None:
        if not self._queue:
            self._current = None
            return
        prompt_id, language = self._queue.popleft()
        self._current = (prompt_id, language)
        effect = self._sound()
        effect.setVolume(self.volume)
        effect.setSource(QUrl.fromLocalFile(str(self.path(prompt_id, language))))
        effect.play()

    def _status_changed(self) -> None:
        from PySide6.QtMultimedia import QSoundEffect

        if self._effect is not None and self._effect.status() is QSoundEffect.Status.Error:
            self._next()  # a broken file or no audio device: go on, never hang the queue

    def _playing_changed(self) -> None:
        effect = self._effect
        if effect is None or self._current is None:
            return
        if effect.isPlaying():
            self.played.emit(*self._current)
        else:
            self._next()
