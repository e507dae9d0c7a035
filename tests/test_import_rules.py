"""DESIGN.md section 1: the import rules that keep protocol, domain, UI and storage apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


#: The composition root: the one module allowed to load every package (it wires the sub-commands).
COMPOSITION_ROOT = ROOT / "kiosk" / "cli.py"
#: Calls that load a module by name at run time; the rules must see these too.
_DYNAMIC_LOADERS = {"import_module", "__import__"}


def _literal_strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports: statements, ``importlib.import_module(...)`` / ``__import__``
    calls, and module names listed as strings in a module-level constant that such a call iterates
    (``for name in COMMAND_MODULES: import_module(name)``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    constants: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = _literal_strings(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if called in _DYNAMIC_LOADERS and node.args:
                names.update(_literal_strings(node.args[0]))
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Name) and node.iter.id in constants:
            loads = any(
                isinstance(c, ast.Call)
                and (
                    (isinstance(c.func, ast.Attribute) and c.func.attr in _DYNAMIC_LOADERS)
                    or (isinstance(c.func, ast.Name) and c.func.id in _DYNAMIC_LOADERS)
                )
                for c in ast.walk(node)
            )
            if loads:
                names.update(constants[node.iter.id])
    return names


def test_dynamic_loads_are_seen() -> None:
    """The rules below would be blind to ``importlib`` without this: the composition root's
    sub-command modules are loaded by name, and the scanner must list them."""
    seen = _imports(COMPOSITION_ROOT)
    assert {"ui.cli", "sync.server.cli", "card.cli", "sync.cli"} <= seen


def test_only_the_composition_root_loads_modules_by_name() -> None:
    offenders = []
    for package in ("card", "kiosk", "ui", "sync"):
        for path in _modules(package):
            if path == COMPOSITION_ROOT:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in _DYNAMIC_LOADERS:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


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


@pytest.mark.parametrize(
    "path", [p for p in _modules("kiosk") if p != COMPOSITION_ROOT], ids=lambda p: str(p.relative_to(ROOT))
)
def test_kiosk_never_imports_qt(path: Path) -> None:
    tops = {_top(n) for n in _imports(path)}
    assert not tops & {"PySide6", "ui", "shiboken6"}


@pytest.mark.parametrize("path", _modules("sync/server"), ids=lambda p: str(p.relative_to(ROOT)))
def test_server_imports_no_ui_or_pcsc(path: Path) -> None:
    names = _imports(path)
    assert not {n for n in names if _top(n) in {"ui", "PySide6", "smartcard"} or n == "card.pcsc"}


#: The ui modules that drive the flow, and so need its effects or its machine: the controller
#: executes the timer/alarm/wipe effects, stepping runs the runner's loop over effects, and the app
#: builds the Flow. Every other ui module (the screens above all) renders a state and sends events.
FLOW_DRIVERS = {ROOT / "ui" / "controller.py", ROOT / "ui" / "stepping.py", ROOT / "ui" / "app.py"}


@pytest.mark.parametrize(
    "path", [p for p in _modules("ui") if p not in FLOW_DRIVERS], ids=lambda p: str(p.relative_to(ROOT))
)
def test_screens_import_only_the_flows_state_and_events(path: Path) -> None:
    """Issue 11 point 4: a screen imports what it renders (kiosk.flow.state) and what it sends
    (kiosk.flow.events), never the machine or the effects (nor the package, which re-exports them)."""
    flow = {n for n in _imports(path) if n == "kiosk.flow" or n.startswith("kiosk.flow.")}
    assert flow <= {"kiosk.flow.state", "kiosk.flow.events"}


def test_product_code_imports_the_flows_submodules() -> None:
    """The ``kiosk.flow`` package re-exports every name for tests; product code names the part it
    uses, so the rule above (and a reader) can see what each module depends on."""
    offenders = [
        str(p.relative_to(ROOT))
        for package in ("card", "kiosk", "ui", "sync", "bench", "scripts")
        for p in _modules(package)
        if p.parent != ROOT / "kiosk" / "flow" and "kiosk.flow" in _imports(p)
    ]
    assert offenders == []
