"""The kiosk side of sync stays headless and storage-agnostic of the UI: no Qt, no UI, no PC/SC."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "sync").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_qt_ui_or_pcsc(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    tops = {n.split(".")[0] for n in names}
    assert not tops & {"PySide6", "shiboken6", "ui", "smartcard"}
    assert "card.pcsc" not in names
    # The kiosk-side modules never import the server.
    assert not {n for n in names if n.startswith("sync.server")}
