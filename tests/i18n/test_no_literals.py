"""No resident-facing Japanese outside the catalogues: a string literal with kana or kanji in the
screens or the flow texts is a text that the other nine languages never get.

Docstrings, comments and the arguments of ``Message`` / ``Plural`` (the English source may quote a
Japanese name printed on a form) are fine; so are the few literals listed in ``ALLOWED`` with why.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: Files whose strings a resident reads (screens, flow texts, receipts, the terminal flow).
SCANNED = sorted(
    {
        *(ROOT / "ui").rglob("*.py"),
        *(ROOT / "kiosk" / name for name in ("messages.py", "assistance.py", "slip.py")),
        ROOT / "kiosk" / "rules" / "eligibility.py",
        ROOT / "kiosk" / "register_cli.py",
    }
)
#: (file, literal): why it may stay.
ALLOWED = {
    ("ui/gallery.py", "見本\u3000花子"): "made-up resident for screenshots (card data is Japanese)",
    (
        "ui/gallery.py",
        "宮城県仙台市青葉区本町三丁目８番１号\u3000見本マンション１２０３号室",
    ): "made-up address",
    ("ui/window.py", "言語"): "the header always shows 言語 / Language, whatever the language",
    ("kiosk/register_cli.py", "はい"): "an accepted answer, not a text",
    ("ui/pages/shelter_app.py", "仮想カードをタップ / Tap the virtual card ("): "training-only button",
}


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            exempt.add(id(node.value))  # docstrings and attribute docs
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("Message", "Plural")
        ):
            exempt.update(id(arg) for arg in node.args)  # type: ignore[attr-defined]
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in exempt
        and JAPANESE.search(node.value)
    ]


def test_no_japanese_literal_outside_the_catalogues() -> None:
    found = []
    for path in SCANNED:
        relative = path.relative_to(ROOT).as_posix()
        for line, text in _literals(path):
            if (relative, text) not in ALLOWED:
                found.append(f"{relative}:{line}: {text!r}")
    assert not found, "move these into the catalogue (docs/ui.md 'How to add a string'):\n" + "\n".join(found)


def test_the_scan_sees_a_literal(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        '"""ドキュメント"""\nX = Message("k", "券面事項入力補助用")\nY = "登録する"\n', encoding="utf-8"
    )
    assert _literals(probe) == [(3, "登録する")]


#: Qt setters whose text a person reads.
SETTERS = {"setText", "set_button_text", "setWindowTitle", "setToolTip", "setPlaceholderText",
           "setAccessibleName", "setAccessibleDescription"}  # fmt: skip
#: (file, literal) put on a widget as is, and why.
ALLOWED_ON_WIDGETS = {
    ("ui/pages/shelter_app.py", "仮想カードをタップ / Tap the virtual card ("): "training-only button",
}


def _pieces(node: ast.expr) -> list[str]:
    """The literal text of a setter's argument: a string, the fixed parts of an f-string, the
    sides of ``+`` and of ``a if c else b`` (a catalogue look-up, ``ui_text("key", …)``, is a call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if isinstance(node, ast.BinOp):
        return _pieces(node.left) + _pieces(node.right)
    if isinstance(node, ast.IfExp):
        return _pieces(node.body) + _pieces(node.orelse)
    return []


def _shown_words(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in SETTERS:
            found += [
                (node.lineno, text)
                for arg in node.args
                for text in _pieces(arg)
                if re.search("[A-Za-z]{2}", text)
            ]
    return found


def test_no_english_text_put_on_a_widget_outside_the_catalogues() -> None:
    """English words set on a widget directly (``set_button_text(b, "Unlock")``) are a text the
    other nine languages never get: the staff view was English-only that way."""
    found = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        found += [f"{relative}:{line}: {text!r}" for line, text in _shown_words(path)
                  if (relative, text) not in ALLOWED_ON_WIDGETS]  # fmt: skip
    assert not found, "make these catalogue messages (docs/ui.md 'How to add a string'):\n" + "\n".join(found)


def test_the_widget_scan_sees_english(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        'set_button_text(b, "Unlock")\nw.setText(f"Step: {x}")\n'
        'w.setText(ui_text("k", lang))\nw.setText("●" * 3)\n',
        encoding="utf-8",
    )
    assert _shown_words(probe) == [(1, "Unlock"), (2, "Step: ")]
