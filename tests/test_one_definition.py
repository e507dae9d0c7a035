"""Issue 11: each wire rule has one definition, in ``kiosk/rules/wire_rules.py``.

The scan looks for the tell-tale spelling of each rule in the product's source (not tests): the
canonical-JSON ``json.dumps`` call, a strict base64 decode, a UUID regex, the identifier regex. A
second spelling anywhere else is a rule written twice, which is how the two kiosk-id patterns
drifted apart before.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.rules import wire_rules

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "kiosk" / "rules" / "wire_rules.py"
PACKAGES = ("card", "kiosk", "sync", "ui")

#: rule → a regex over source text that matches a re-implementation of it
SPELLINGS = {
    "canonical JSON": re.compile(r"sort_keys=True,\s*separators=\(\",\",\s*\":\"\)"),
    "strict base64": re.compile(r"a2b_base64\([^)]*strict_mode|b64decode\([^)]*validate=True"),
    "UUID pattern": re.compile(r"\[0-9a-f\]\{8\}-"),
    "identifier pattern": re.compile(r"\[A-Za-z0-9\]\[A-Za-z0-9\._-\]|\[A-Za-z0-9\\\\-_\.\]"),
}


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Source lines that are code (docstrings and comments may *mention* a rule)."""
    lines = []
    in_doc = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        quotes = stripped.count('"""')
        if in_doc:
            in_doc = quotes % 2 == 0
            continue
        if stripped.startswith('"""'):
            in_doc = quotes == 1
            continue
        if stripped.startswith("#"):
            continue
        lines.append((number, line))
    return lines


@pytest.mark.parametrize("rule", sorted(SPELLINGS))
def test_rule_is_defined_once(rule: str) -> None:
    spelling = SPELLINGS[rule]
    homes = [n for n, line in _code_lines(HOME) if spelling.search(line)]
    assert homes, f"{rule}: kiosk/rules/wire_rules.py no longer defines it (the scan would be blind)"
    elsewhere = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != HOME
        for n, line in _code_lines(path)
        if spelling.search(line)
    ]
    assert elsewhere == [], f"{rule} written again outside kiosk/rules/wire_rules.py"


def test_the_record_and_the_wire_use_the_same_rules() -> None:
    from kiosk.rules import record as registration
    from sync import wire

    assert wire.canonical_json is wire_rules.canonical_json
    assert wire._ID_RE is wire_rules.IDENTIFIER
    assert registration._KIOSK_ID is wire_rules.IDENTIFIER
