"""Voice guidance: plays the pre-rendered prompt of each screen (:mod:`ui.voice_prompts`).

:class:`VoiceGuide` is told which screen is shown (:func:`prompt_for` maps a flow state and page to
a prompt id) and plays that prompt's WAV in the screen language. "Listen again" replays the last
one; the card-left-behind alarm plays a rising chime, then the alarm prompt. Voice on/off and
volume come from the profile (``[voice]``) and the resident's button; turning it off stops at once.

How a WAV reaches the speaker: ``paplay`` (PulseAudio's player, also PipeWire's pulse server),
run by a small helper process (:mod:`ui.voice_player`, standard library only) that the guide
starts with the first prompt and then tells "play SEQ VOLUME PATH" / "stop" over a pipe. Decision
(issue 12/13 budgets): QtMultimedia's ``QSoundEffect`` loads the FFmpeg back-end into the kiosk
process on the first prompt, +23 MB of resident memory (measured: 136 → 159 MB), which put the
kiosk above its 150 MB budget after one registration; a ``paplay`` forked from the kiosk itself
cost its GUI thread 1-5 ms per screen; the helper costs the kiosk a line written to a pipe.
Without ``paplay`` on ``PATH`` (or without the helper) the guide falls back to ``QSoundEffect``
(same behaviour, more memory), so a kiosk missing pulseaudio-utils still speaks.

It can only speak prompt ids, never free text: there is no path by which a PIN digit, a name or
an address could reach the speaker (the PIN screens speak ``digits.N``, "N digits entered").
Nothing about the voice is loaded at start-up (``bench/ui_startup.py``).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QCoreApplication, QObject, QProcess, QUrl, Signal

from kiosk.flow.state import FlowState, Phase
from kiosk.settings import KioskMode
from ui.voice_prompts import CHIME_ID, INDEX, default_dir

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QSoundEffect


logger = logging.getLogger(__name__)

#: PulseAudio's full volume (``PA_VOLUME_NORM``): ``paplay --volume`` takes 0 … 65536.
_PA_VOLUME_NORM: Final = 65536


def pa_volume(volume: float) -> int:
    """``volume`` (0.0 – 1.0, linear amplitude as ``QSoundEffect`` takes it) as PulseAudio's
    cubic volume (``pa_sw_volume_from_linear``), so both players sound alike."""
    linear = max(0.0, min(1.0, volume))
    return round(_PA_VOLUME_NORM * math.cbrt(linear))


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
        #: ``paplay``'s path (None: fall back to QSoundEffect), looked up on the first prompt.
        self._paplay: str | None = None
        self._looked_up = False
        self._process: QProcess | None = None  # the audio helper (ui/voice_player.py)
        self._quit_hooked = False  # close() is connected to the application's aboutToQuit
        self._seq = 0  # the prompt the helper plays now (its reports about others are stale)
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
        if self._process is not None:
            self._seq += 1  # whatever the helper still reports about the stopped prompt is stale
            self._process.write(b"stop\n")

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

    def _player(self) -> str | None:
        if not self._looked_up:
            self._looked_up = True
            self._paplay = shutil.which("paplay")
            if self._paplay is None:
                logger.warning("paplay not found: voice prompts play through QtMultimedia")
        return self._paplay

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
        wav = self.path(prompt_id, language)
        player = self._player()
        if player is not None:
            self._play_child(player, wav)
            return
        effect = self._sound()
        effect.setVolume(self.volume)
        effect.setSource(QUrl.fromLocalFile(str(wav)))
        effect.play()

    def _play_child(self, player: str, wav: Path) -> None:
        helper = self._helper(player)
        self._seq += 1
        helper.write(f"play {self._seq} {pa_volume(self.volume)} {wav}\n".encode())

    def _helper(self, player: str) -> QProcess:
        """The audio helper (ui/voice_player.py), started on the first prompt and kept: the kiosk
        then only writes a line per prompt (no fork of the kiosk process on the GUI thread)."""
        if self._process is None:
            process = QProcess(self)
            process.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
            process.readyReadStandardOutput.connect(self._helper_said)
            process.errorOccurred.connect(self._helper_failed)
            process.start(sys.executable, ["-I", str(Path(__file__).with_name("voice_player.py")), player])
            self._process = process
            app = QCoreApplication.instance()
            if app is not None and not self._quit_hooked:
                app.aboutToQuit.connect(self.close)
                self._quit_hooked = True
        return self._process

    def close(self) -> None:
        """Stop the audio helper (it leaves at the end of its input), so a kiosk that quits or a
        window that goes leaves no player behind and Qt does not have to kill a running process."""
        self._queue.clear()
        self._current = None
        process, self._process = self._process, None
        if process is None:
            return
        # a kill below reports a crash: nothing may re-queue the prompt and start a new helper
        process.errorOccurred.disconnect(self._helper_failed)
        process.closeWriteChannel()
        if not process.waitForFinished(1000):
            process.kill()
            process.waitForFinished(1000)
        process.deleteLater()

    def _helper_said(self) -> None:
        process = self._process
        while process is not None and process.canReadLine():
            event, _, seq = bytes(process.readLine().data()).decode().strip().partition(" ")
            if not seq.isdigit() or int(seq) != self._seq or self._current is None:
                continue  # about a prompt that was stopped
            if event == "started":
                self.played.emit(*self._current)
            else:  # finished, or failed (a broken file, no audio device): go on, never hang
                self._next()

    def _helper_failed(self, error: QProcess.ProcessError) -> None:
        """The helper could not start (QtMultimedia from now on) or died (a new one is started
        with the next prompt); the prompt it had is played by whichever comes next."""
        logger.warning("voice helper: %s", error.name)
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        if error is QProcess.ProcessError.FailedToStart:
            self._paplay, self._looked_up = None, True
        if self._current is not None:
            self._queue.appendleft(self._current)
            self._next()

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
