"""Keeps bench/ui_path.py's count honest: idle → receipt through the real screens (training-mode
kiosk, in-process virtual card, real sealed outbox) in ≤ 4 taps besides the PIN and ≤ 6 screens."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ui_path", ROOT / "bench" / "ui_path.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("program", ["miyagi-point-2025-second", "demo"])
def test_idle_to_receipt_in_four_taps_and_six_screens(
    themed: QApplication, tmp_path: Path, program: str
) -> None:
    result = _bench().walk(program, tmp_path)
    assert result["receipt_status"] == "queued"  # a real registration, in the real outbox
    assert result["screen_list"] == ["idle", "consent", "wait_card", "pin", "confirm", "receipt"]
    assert result["taps"] <= 4, result
    assert result["screens"] <= 6, result
    assert result["pin_taps"] == 5  # four digits and OK
