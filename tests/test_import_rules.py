"""DESIGN.md section 1: the import rules that keep protocol, domain, UI and storage apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", _modules("card"), ids=lambda p: str(p.relative_to(ROOT)))
def test_card_imports_no_domain_ui_or_storage(path: Path) -> None:
    tops = {_top(n) for n in _imports(path)}
    assert not tops & {"kiosk", "ui", "sync", "PySide6", "httpx", "sqlite3", "sqlite_utils"}


def test_only_the_pcsc_adapter_imports_pyscard() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for package in ("card", "kiosk", "ui", "sync")
        for p in _modules(package)
        if "smartcard" in {_top(n) for n in _imports(p)} and p != ROOT / "card" / "pcsc.py"
    ]
    assert offenders == []


@pytest.mark.parametrize("path", _modules("kiosk"), ids=lambda p: str(p.relative_to(ROOT)))
def test_kiosk_never_imports_qt(path: Path) -> None:
    tops = {_top(n) for n in _imports(path)}
    assert not tops & {"PySide6", "ui", "shiboken6"}


@pytest.mark.parametrize("path", _modules("sync/server"), ids=lambda p: str(p.relative_to(ROOT)))
def test_server_imports_no_ui_or_pcsc(path: Path) -> None:
    names = _imports(path)
    assert not {n for n in names if _top(n) in {"ui", "PySide6", "smartcard"} or n == "card.pcsc"}
