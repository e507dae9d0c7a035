"""The README's first command shows the main job: ``python -m kiosk.demo`` without a display registers
one resident through the real Qt screens offscreen (training mode, the embedded server), writes one
PNG per screen into the folder it names, and checks that the server accepted the record; the Qt
kiosk's own background sync uploaded it. Nothing personal and no PIN in the output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from card.virtual.persona import load_persona

ROOT = Path(__file__).resolve().parents[2]


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "kiosk.demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def _no_personal_data(output: str, persona_name: str) -> None:
    persona = load_persona(persona_name)
    for secret in (persona.auth_pin, persona.card_info_pin, persona.my_number, persona.signature_password):
        assert secret not in output
    for personal in (persona.name, persona.address, persona.birth_date.isoformat()):
        assert personal not in output


def test_headless_demo_registers_through_the_screens_and_saves_one_png_per_screen(tmp_path: Path) -> None:
    screens = tmp_path / "screens"
    result = _demo("--screens", str(screens))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "status accepted" in result.stdout
    assert f"One PNG per screen in: {screens}" in result.stdout
    pngs = sorted(screens.glob("*.png"))
    names = [re.sub(r"^\d+-", "", p.stem) for p in pngs]
    # from the attract screen to the receipt, every screen a resident meets, in order
    assert names[0] == "idle"
    assert names[-1] == "receipt"
    assert {"wait_card", "pin"} <= set(names)
    for png in pngs:
        image = QImage(str(png))
        assert not image.isNull()
        assert image.width() >= 800
        assert image.height() >= 800
        # a rendered screen, not a blank grab: text and buttons give many colours (anti-aliasing)
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 8, png.name
    _no_personal_data(result.stdout + result.stderr, "jlis-test")


def test_headless_demo_with_a_blocked_card_fails_and_says_where(tmp_path: Path) -> None:
    result = _demo("--persona", "miyagi-blocked", "--screens", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "walkthrough" in result.stderr
    assert "stopped the server" in result.stdout
    _no_personal_data(result.stdout + result.stderr, "miyagi-blocked")
