"""Voice guidance, through the real parts: the prompt cache built by the real offline engines
(Open JTalk, Flite, espeak-ng), every screen of every language has a non-silent prompt, and
prompts played by :class:`ui.voice.VoiceGuide` (a ``paplay`` child per prompt) reach a PulseAudio null sink,
whose monitor is recorded with ``parec`` and must hold sound.

scripts/setup.sh installs the engines and PulseAudio and builds the cache; this test rebuilds
what is missing (cached, content-addressed), so a changed translation gets a new prompt.
"""

from __future__ import annotations

import array
import os
import re
import shutil
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.flow import ErrorKind, FlowState, Phase
from kiosk.i18n import LANGUAGE_CODES
from kiosk.rules.programs import load_programs
from kiosk.settings import KioskMode
from ui.gallery import sample_states
from ui.voice import VoiceGuide, prompt_for
from ui.voice_prompts import CHIME_ID, build, default_dir, engine_for, prompt_parts, prompt_text, render

ROOT = Path(__file__).resolve().parents[2]
#: Every page of the window (ui.window.PAGE_OF's values and the timeout warning).
PAGES = (
    "idle", "language", "program", "consent", "wait_card", "busy", "last_try", "pin", "confirm",
    "eligibility", "not_eligible", "receipt", "error", "take_card", "warning",
)  # fmt: skip


@pytest.fixture(scope="module")
def prompts() -> Path:
    directory = default_dir()
    build(directory)
    return directory


def _samples(path: Path) -> tuple[array.array[int], float]:
    with wave.open(str(path)) as file:
        assert file.getsampwidth() == 2
        frames = array.array("h", file.readframes(file.getnframes()))
        return frames, file.getnframes() / file.getframerate()


def test_window_pages_are_all_known() -> None:
    from ui.window import PAGE_OF

    assert set(PAGE_OF.values()) | {"warning"} == set(PAGES)


def _screen_states() -> list[tuple[str, FlowState]]:
    """(page, state) for every screen of the gallery plus the variants that change the prompt."""
    from ui.window import PAGE_OF

    program = load_programs(ROOT / "config" / "programs")["demo"]
    states = []
    for _, state in sample_states(program):
        page = "warning" if state.warning else PAGE_OF[state.phase]
        states.append((page, state))
    base = FlowState(phase=Phase.WAIT_CARD, language="ja", program_id="demo")
    states.append(
        (
            "wait_card",
            FlowState(phase=Phase.WAIT_CARD, language="ja", program_id="demo", reader_available=False),
        )
    )
    states.append(
        ("take_card", FlowState(phase=Phase.TAKE_CARD, language="ja", program_id="demo", alarm=True))
    )
    for kind in ErrorKind:
        states.append(("error", FlowState(phase=Phase.ERROR, language="ja", program_id="demo", error=kind)))
    del base
    return states


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_screen_has_a_prompt_in_every_language(prompts: Path, language: str) -> None:
    guide = VoiceGuide(prompts)
    ids = {prompt_for(state, page, mode) for page, state in _screen_states() for mode in KioskMode}
    ids |= {f"digits.{n}" for n in range(5)} | {f"tries.{n}" for n in range(1, 4)} | {CHIME_ID}
    assert {page for page, _ in _screen_states()} == set(PAGES)
    for prompt_id in sorted(ids):
        frames, seconds = _samples(guide.path(prompt_id, language))  # PromptMissingError fails
        assert 0.3 < seconds < 60, (prompt_id, seconds)
        assert max(abs(s) for s in frames) > 1000, f"{language}/{prompt_id} is silent"


@pytest.mark.parametrize("language", ["ja", "ja-easy"])
def test_japanese_prompts_are_japanese(language: str) -> None:
    """An untranslated (English) text would be read letter by letter by Open JTalk."""
    for prompt_id in prompt_parts():
        text = prompt_text(prompt_id, language)
        english = [w for w in re.findall(r"[A-Za-z]{4,}", text) if w not in ("JPKI",)]
        assert not english, f"{prompt_id}: {english}"


def test_easy_japanese_is_spoken_slower(tmp_path: Path) -> None:
    text = prompt_text("wait_card", "ja")
    ja, easy = engine_for("ja"), engine_for("ja-easy")
    assert easy.rate < ja.rate
    render(ja, text, tmp_path / "ja.wav")
    render(easy, text, tmp_path / "easy.wav")
    assert _samples(tmp_path / "easy.wav")[1] > 1.15 * _samples(tmp_path / "ja.wav")[1]


def test_pin_prompts_never_hold_digits_of_a_pin() -> None:
    """The PIN screens speak only the count: there is no prompt per digit value, and no prompt
    text contains a four-digit number."""
    ids = set(prompt_parts())
    assert {f"digits.{n}" for n in range(5)} <= ids
    for language in LANGUAGE_CODES:
        for prompt_id in ids:
            assert not re.search(r"\d{4}", prompt_text(prompt_id, language)), (language, prompt_id)


@pytest.fixture
def null_sink(tmp_path: Path) -> Iterator[str]:
    """A private PulseAudio server with one null sink; yields its server address."""
    for tool in ("pulseaudio", "parec"):
        assert shutil.which(tool), f"{tool} missing: run scripts/setup.sh"
    socket = tmp_path / "native"
    env = dict(os.environ, HOME=str(tmp_path), PULSE_RUNTIME_PATH=str(tmp_path / "run"),
               PULSE_STATE_PATH=str(tmp_path / "state"))  # fmt: skip
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
         "--load=module-null-sink sink_name=madoguchi_null",
         f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    address = f"unix:{socket}"
    try:
        for _ in range(100):
            if socket.exists():
                break
            time.sleep(0.05)
        assert socket.exists(), "pulseaudio did not start"
        previous = os.environ.get("PULSE_SERVER")
        os.environ["PULSE_SERVER"] = address
        yield address
    finally:
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        server.terminate()
        server.wait(timeout=10)


def _child(mode: str, null_sink: str, recording: Path | None = None) -> list[list[str]]:
    """Run tests/ui/voice_child.py (a fresh process: the audio server is chosen once per
    process) against the null sink, optionally recording its monitor meanwhile."""
    import json
    import sys

    env = dict(os.environ, PULSE_SERVER=null_sink, QT_QPA_PLATFORM="offscreen")
    recorder = None
    out = None
    if recording is not None:
        out = recording.open("wb")
        recorder = subprocess.Popen(
            ["parec", "--server", null_sink, "-d", "madoguchi_null.monitor", "--raw",
             "--format=s16le", "--channels=1", "--rate=16000"],
            stdout=out,
        )  # fmt: skip
    try:
        child = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("voice_child.py")), mode],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        if recorder is not None and out is not None:
            time.sleep(0.3)
            recorder.terminate()
            recorder.wait(timeout=10)
            out.close()
    assert child.returncode == 0, child.stderr[-2000:]
    played: list[list[str]] = json.loads(child.stdout.strip().splitlines()[-1])
    return played


def test_prompts_play_through_the_audio_device(prompts: Path, null_sink: str, tmp_path: Path) -> None:
    recording = tmp_path / "rec.raw"
    played = _child("prompts", null_sink, recording)
    assert played[:3] == [["digits.2", "en"], [CHIME_ID, "ja"], ["alarm", "ja"]]
    data = recording.read_bytes()
    samples = array.array("h", data[: len(data) // 2 * 2])
    loud = sum(1 for s in samples if abs(s) > 2000)
    assert loud > 1600, f"the null sink heard {loud} loud samples of {len(samples)}"


def test_registration_with_voice_plays_every_screens_prompt(prompts: Path, null_sink: str) -> None:
    """A whole registration through the screens with the voice on: every screen after the attract
    screen (silent: docs/ui.md) had its prompt played, and the pad spoke the digit count."""
    played = [prompt for prompt, _language in _child("registration", null_sink)]
    for prompt in ("consent", "wait_card", "pin", "digits.4", "confirm", "receipt"):
        assert prompt in played, (prompt, played)
    assert "idle" not in played


def test_voice_off_plays_nothing_but_listen_again_does(qtbot: QtBot, prompts: Path) -> None:
    guide = VoiceGuide(prompts, enabled=False)
    guide.say("ja", "wait_card")
    assert not guide.is_playing()
    guide.repeat()  # the resident asked for it
    assert guide.is_playing()
    guide.stop()


def test_audio_helper_reports_only_the_prompt_that_plays(tmp_path: Path) -> None:
    """ui/voice_player.py (the kiosk's audio helper): a prompt that ends by itself is reported
    finished, a stopped one never (it must not start the next prompt), a failing player failed."""
    import sys

    slow = tmp_path / "slow-player"
    slow.write_text('#!/bin/sh\n[ "$2" = fail ] && exit 1\n[ "$2" = long ] && exec sleep 30\nexit 0\n')
    slow.chmod(0o755)
    helper = Path(__file__).resolve().parents[2] / "ui" / "voice_player.py"
    process = subprocess.Popen(
        [sys.executable, "-I", str(helper), str(slow)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write("play 1 65536 long\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "started 1"
        for line in ("stop", "play 2 65536 short", "play 3 65536 fail"):
            process.stdin.write(line + "\n")
            process.stdin.flush()
            time.sleep(0.3)
        process.stdin.close()
        said = [line.strip() for line in process.stdout]
    finally:
        process.wait(timeout=10)
    assert "finished 1" not in said
    assert "failed 1" not in said
    assert said[:1] == ["started 2"]
    assert "finished 2" in said
    assert "started 3" in said
    assert "failed 3" in said
