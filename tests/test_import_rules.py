"""The import rules that keep protocol, shared rules, kiosk application, sync, server and front ends
apart (docs/development.md, "Layers"; DESIGN.md section 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


#: The command line's entry: the one module that loads modules by name (it wires the sub-commands).
CLI_ENTRY = ROOT / "kiosk" / "cli.py"
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
    seen = _imports(CLI_ENTRY)
    assert {"ui.cli", "sync.server.cli", "card.cli", "sync.cli"} <= seen


def test_only_the_composition_root_loads_modules_by_name() -> None:
    offenders = []
    for package in ("card", "kiosk", "ui", "sync"):
        for path in _modules(package):
            if path == CLI_ENTRY:
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
    "path", [p for p in _modules("kiosk") if p != CLI_ENTRY], ids=lambda p: str(p.relative_to(ROOT))
)
def test_kiosk_never_imports_qt(path: Path) -> None:
    tops = {_top(n) for n in _imports(path)}
    assert not tops & {"PySide6", "ui", "shiboken6"}


@pytest.mark.parametrize("path", _modules("sync/server"), ids=lambda p: str(p.relative_to(ROOT)))
def test_server_imports_no_ui_or_pcsc(path: Path) -> None:
    names = _imports(path)
    assert not {n for n in names if _top(n) in {"ui", "PySide6", "smartcard"} or n == "card.pcsc"}


#: The ui modules that drive the flow, and so need its effects or its machine: the controller
#: executes the timer/alarm/wipe effects and the app builds the Flow. Every other ui module (the
#: screens above all) renders a state and sends events.
FLOW_DRIVERS = {ROOT / "ui" / "controller.py", ROOT / "ui" / "app.py"}


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


# -- the layers (docs/development.md, "Layers") ------------------------------------------------------

#: Which group of modules may import which. Bottom to top: the card protocol; the rules both sides
#: share; the kiosk application; sync's shared wire modules; sync's kiosk side and the server beside
#: it; the composition root; the front ends; the command line's entry. A module may import its own
#: group and the groups listed for it, nothing else.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "card": frozenset(),
    "rules": frozenset({"card"}),
    "kiosk": frozenset({"card", "rules"}),
    "wire": frozenset({"card", "rules"}),
    "sync": frozenset({"card", "rules", "kiosk", "wire"}),
    "server": frozenset({"card", "rules", "wire"}),
    "root": frozenset({"card", "rules", "kiosk", "wire", "sync"}),
    "terminal": frozenset({"card", "rules", "kiosk", "wire", "sync", "root"}),
    "qt": frozenset({"card", "rules", "kiosk", "wire", "sync", "root"}),
    "entry": frozenset({"card", "rules", "kiosk", "wire", "sync", "server", "root", "terminal", "qt"}),
}
#: The entry: ``madoguchi``'s sub-command table (it loads every front end by name).
ENTRY = "kiosk.cli"
#: The one composition root: it builds the card stack, the outbox and the sync service.
COMPOSITION = "kiosk.composition"
#: The terminal front ends (they stay in kiosk/, named here: docs/development.md says why).
TERMINAL = frozenset(
    {
        "kiosk.register_cli",
        "kiosk.checkin_cli",
        "kiosk.demo",
        "kiosk.demo_support",
        "kiosk.selftest",
        "sync.cli",
    }
)
#: The two leaf vocabularies that sit with the shared rules.
RULE_LEAVES = frozenset({"kiosk.errors", "kiosk.i18n"})
#: sync's modules that both the kiosk side and the server use: the wire forms and the sealing.
WIRE = frozenset({"sync.wire", "sync.sealing", "sync.heartbeat"})
#: What builds the card stack, the outbox and the sync service: a front end never imports these
#: (except for a type, under ``TYPE_CHECKING``); it takes what the composition root built.
BUILDERS: dict[str, frozenset[str]] = {
    "card.pcsc": frozenset({"PcscContext"}),
    "card.watcher": frozenset({"ReaderWatcher"}),
    "card.trust": frozenset({"load_trust_store"}),
    "card.session": frozenset({"MyNumberCardSession"}),
    "card.virtual.reader": frozenset({"VirtualReader"}),
    "sync.device_keys": frozenset({"DeviceStore"}),
    "sync.outbox": frozenset({"Outbox", "OUTBOX_FILE"}),
    "sync.client": frozenset({"SyncClient"}),
    "sync.service": frozenset({"SyncService", "HeartbeatPlan"}),
    "sync.uploader": frozenset({"Uploader"}),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PROJECT_MODULES: dict[str, Path] = {
    _module_name(p): p for package in ("card", "kiosk", "sync", "ui") for p in _modules(package)
}


def group(module: str) -> str:
    """The layer group of a project module (the table above)."""
    if module == ENTRY:
        return "entry"
    if module == COMPOSITION:
        return "root"
    if module in TERMINAL:
        return "terminal"
    top = _top(module)
    if top == "card":
        return "card"
    if top == "ui":
        return "qt"
    if module in RULE_LEAVES or module == "kiosk.rules" or module.startswith("kiosk.rules."):
        return "rules"
    if top == "kiosk":
        return "kiosk"
    if module in WIRE:
        return "wire"
    if module == "sync.server" or module.startswith("sync.server."):
        return "server"
    if top == "sync":
        return "sync"  # the rest of sync/: its kiosk side
    raise ValueError(f"{module}: no layer (add it to the table)")


def _project_target(name: str) -> str | None:
    """The project module an import names (``from sync import wire`` → ``sync.wire``), or None."""
    while name not in PROJECT_MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def _project_imports(path: Path) -> set[str]:
    """The project modules ``path`` imports, ``from package import module`` resolved to the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = _imports(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = {f"{node.module}.{a.name}" for a in node.names} & PROJECT_MODULES.keys()
            if modules:
                names |= modules
                if len(modules) == len(node.names):  # only modules named: the package is a path
                    names.discard(node.module)
    targets = {_project_target(n) for n in names}
    return {t for t in targets if t is not None}


def _layer_violations(module: str) -> list[str]:
    mine = group(module)
    allowed = MAY_IMPORT[mine] | {mine}
    found = []
    for target in sorted(_project_imports(PROJECT_MODULES[module])):
        theirs = group(target)
        if theirs not in allowed:
            found.append(f"{module} ({mine}) -> {target} ({theirs})")
    if mine in {"terminal", "qt"}:
        found += [f"{module} ({mine}) builds with {name}" for name in _builders_used(PROJECT_MODULES[module])]
    return found


def _builders_used(path: Path) -> list[str]:
    """The builders (``BUILDERS``) ``path`` imports outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    used = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module in BUILDERS:
            used += [f"{node.module}.{a.name}" for a in node.names if a.name in BUILDERS[node.module]]
        elif isinstance(node, ast.Import):
            used += [a.name for a in node.names if a.name in BUILDERS]
    return sorted(set(used))


@pytest.mark.parametrize("module", sorted(PROJECT_MODULES), ids=str)
def test_imports_run_down_the_layers(module: str) -> None:
    """Each import (statement or ``importlib`` load) goes to the module's own layer group or one the
    table allows; front ends take the card stack, outbox and sync service from the composition root.
    (The first version of this test listed 36 violations; each was fixed, issue 11.)"""
    assert _layer_violations(module) == []


def test_the_rule_sees_a_front_end_building(tmp_path: Path) -> None:
    """The scan is not blind: a front end that built its own outbox or PC/SC context is reported, and
    a name imported for its type only (under ``TYPE_CHECKING``) is not."""
    source = tmp_path / "front.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from sync.service import SyncService\n"
        "def run():\n"
        "    from sync.outbox import Outbox, RecordState\n"
        "    import card.pcsc\n",
        encoding="utf-8",
    )
    assert _builders_used(source) == ["card.pcsc", "sync.outbox.Outbox"]
    assert "kiosk" not in MAY_IMPORT["server"]
    assert "sync" not in MAY_IMPORT["kiosk"]
    assert "qt" not in MAY_IMPORT["root"]


def test_every_module_has_a_layer() -> None:
    groups = {group(m) for m in PROJECT_MODULES}
    assert groups <= set(MAY_IMPORT)
    assert group("kiosk.flow.machine") == "kiosk"
    assert group("kiosk.rules.record") == "rules"
    assert group("sync.server.verify") == "server"
    assert group("sync.wire") == "wire"


def test_no_qt_below_ui() -> None:
    offenders = [
        m
        for m, p in PROJECT_MODULES.items()
        if group(m) != "qt" and {_top(n) for n in _imports(p)} & {"PySide6", "shiboken6"}
    ]
    assert offenders == []
