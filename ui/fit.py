"""Does every text fit its widget, and every widget the window? (the fit test, the screenshots)

:func:`misfits` walks every visible widget of the window as it is drawn now and reports, in words:

* a widget outside the window, or outside its parent (which clips it);
* a wrapped label whose text needs more height at its width than it has (``heightForWidth``
  against the height), or a phrase wider than the label (QLabel does not break inside a word: the
  rest would be cut off);
* a one-line label (codes, PIN dots) wider or taller than its contents rectangle;
* a button whose lines (a :class:`~ui.widgets.WrapButton`'s wrapped lines, or a plain button's
  text) are wider than its contents rectangle, or that needs more height than it has;
* a label or button showing Japanese in a font that is not Noto Sans CJK, or any character that
  no installed font has (drawn as an empty box: without the fonts every other check still passes).

Measured with the widget's own font (style sheets set it) and ``QFontMetrics``; nothing is
rendered to pixels, so a whole screen costs a few milliseconds.
"""

from __future__ import annotations

import re
from typing import Final

from PySide6.QtCore import QRect
from PySide6.QtGui import QFont, QFontInfo, QFontMetrics, QTextLayout
from PySide6.QtWidgets import QAbstractButton, QLabel, QPushButton, QStyle, QStyleOptionButton, QWidget

from ui.text import plain, wrap_lines
from ui.widgets import PhraseLabel, WrapButton

_JAPANESE: Final = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_TOLERANCE: Final = 1  # px: rounding in Qt's layouts


def _where(widget: QWidget) -> str:
    name = widget.objectName() or type(widget).__name__
    text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
    return f"{name} {plain(text)[:40]!r}"


def _inside(inner: QRect, outer: QRect) -> bool:
    return (
        inner.left() >= outer.left() - _TOLERANCE
        and inner.top() >= outer.top() - _TOLERANCE
        and inner.right() <= outer.right() + _TOLERANCE
        and inner.bottom() <= outer.bottom() + _TOLERANCE
    )


def _label_text(widget: QLabel) -> str:
    """What the label lays out (with the phrase joiners), not the plain ``text()``."""
    return QLabel.text(widget) if isinstance(widget, PhraseLabel) else widget.text()


def _check_label(widget: QLabel) -> list[str]:
    text = _label_text(widget)
    if not text or (widget.pixmap() is not None and not widget.pixmap().isNull()):
        return []
    rect = widget.contentsRect().adjusted(
        widget.margin(), widget.margin(), -widget.margin(), -widget.margin()
    )
    metrics = QFontMetrics(widget.font())
    problems = []
    if widget.wordWrap():
        lines = wrap_lines(text, widget.font(), rect.width())
        wide = max((metrics.horizontalAdvance(line) for line in lines), default=0)
        if wide > rect.width() + _TOLERANCE:
            problems.append(f"{_where(widget)}: a phrase is {wide} px wide in {rect.width()} px")
        need = widget.heightForWidth(widget.width())
        if need > widget.height() + _TOLERANCE:
            problems.append(f"{_where(widget)}: needs {need} px of height, has {widget.height()}")
    else:
        lines = text.split("\n")
        wide = max(metrics.horizontalAdvance(line) for line in lines)
        high = metrics.height() * len(lines)
        if wide > rect.width() + _TOLERANCE or high > rect.height() + _TOLERANCE:
            problems.append(f"{_where(widget)}: {wide}x{high} px of text in {rect.width()}x{rect.height()}")
    return problems


def _check_button(widget: QPushButton) -> list[str]:
    option = QStyleOptionButton()
    widget.initStyleOption(option)
    contents = widget.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, option, widget)
    metrics = QFontMetrics(widget.font())
    lines = widget.lines() if isinstance(widget, WrapButton) else widget.text().split("\n")
    problems = []
    wide = max((metrics.horizontalAdvance(line) for line in lines), default=0)
    if wide > contents.width() + _TOLERANCE:
        problems.append(f"{_where(widget)}: text {wide} px wide in {contents.width()} px")
    high = len(lines) * metrics.lineSpacing() if len(lines) > 1 else metrics.height()
    if high > contents.height() + _TOLERANCE:
        problems.append(f"{_where(widget)}: {len(lines)} lines need {high} px, has {contents.height()}")
    return problems


_missing: dict[tuple[str, str], int] = {}


def missing_glyphs(text: str, font: QFont) -> int:
    """How many characters of ``text`` Qt draws as an empty box (glyph 0, .notdef) with ``font``
    and its fallbacks: a language whose font is not installed shows boxes and fits perfectly."""
    key = (text, font.key())
    found = _missing.get(key)
    if found is None:
        layout = QTextLayout(text, font)
        layout.beginLayout()
        while layout.createLine().isValid():
            pass
        layout.endLayout()
        found = sum(1 for run in layout.glyphRuns() for glyph in run.glyphIndexes() if glyph == 0)
        _missing[key] = found
    return found


def _font_problem(widget: QWidget, text: str) -> str | None:
    if _JAPANESE.search(text) and not QFontInfo(widget.font()).family().startswith("Noto Sans CJK"):
        return f"{_where(widget)}: Japanese in {QFontInfo(widget.font()).family()!r}"
    if text and missing_glyphs(text.replace("\n", " "), widget.font()):
        return f"{_where(widget)}: characters without a glyph (empty boxes)"
    return None


def misfits(window: QWidget) -> list[str]:
    """Every fit problem of what ``window`` shows now (empty: everything fits)."""
    problems: list[str] = []
    frame = window.rect()
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window) or widget.width() <= 0:
            continue
        if isinstance(widget, QLabel | QPushButton):
            top_left = widget.mapTo(window, widget.rect().topLeft())
            where = QRect(top_left, widget.size())
            if not _inside(where, frame):
                problems.append(
                    f"{_where(widget)}: at {where.getRect()} outside the window {frame.getRect()}"
                )
            parent = widget.parentWidget()
            if parent is not None and parent is not window and not _inside(widget.geometry(), parent.rect()):
                problems.append(f"{_where(widget)}: clipped by its parent ({widget.geometry().getRect()})")
        if isinstance(widget, QLabel):
            problems += _check_label(widget)
            found = _font_problem(widget, widget.text())
        elif isinstance(widget, QPushButton):
            problems += _check_button(widget)
            found = _font_problem(widget, widget.text())
        else:
            found = None
        if found:
            problems.append(found)
    return problems
