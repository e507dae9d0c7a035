"""Shared helpers of the card layer's e2e tests (imported by tests/e2e/test_card_*.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from card.virtual.card import VirtualMyNumberCard

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "config" / "kiosk.demo.toml"
READER = "Virtual PCD 00 00"

# The forged-card builder lives with the in-process card tests.
sys.path.insert(0, str(ROOT / "tests" / "card"))
from card_forgery import forge_card_info  # noqa: E402

__all__ = ["DEMO_CONFIG", "READER", "ROOT", "assert_privacy", "forge_card_info"]


def assert_privacy(card: VirtualMyNumberCard) -> None:
    """The access log proves EF 0001 and 照合番号A (EF 0014) of the card-info AP were never addressed."""
    touched = {(e.ap, e.ef) for e in card.access_log}
    assert ("card_info", 0x0001) not in touched
    assert ("card_info", 0x0014) not in touched
