"""Small building blocks shared by the screens: labels and buttons with the theme's roles.

Both keep Japanese and Chinese phrases whole when they wrap (:func:`ui.text.keep_phrases`), and
buttons wrap: a QPushButton draws one line and, with a long label (やさしい日本語's PIN choices, ten
languages' "cancel"), either pushes the window wider than the screen or is cut off. A
:class:`WrapButton` asks for the width of its widest *phrase* only and for as many lines as its
width needs (height-for-width), and draws the lines the style's own way (colours, focus, checked
and disabled states are the theme's).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFontMetrics, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QWidget

from ui.text import keep_phrases, wrap_lines

#: Room kept beside a button's text for the thicker focus ring (the theme's ring is wider than the
#: normal border; the text must not move into it when the button takes focus).
_FOCUS_SLACK = 8


class PhraseLabel(QLabel):
    """A plain-text label whose Japanese/Chinese text wraps between phrases only.

    ``text()`` returns what was set (without the word joiners), so tests and speech see the text.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plain = ""
        #: (text, font) -> the widest unbreakable piece's advance: asked on every layout pass.
        self._widest: tuple[str, str, int] | None = None

    def setText(self, text: str) -> None:
        self._plain = text
        super().setText(keep_phrases(text))

    def text(self) -> str:
        return self._plain

    def clear(self) -> None:
        self._plain = ""
        super().clear()

    def minimumSizeHint(self) -> QSize:
        """As narrow as the widest unbreakable phrase and one line high: the real height is the
        label's height-for-width at the width it gets. QLabel's own guess for a wrapped label (a
        height for an arbitrary narrow width) added up to the 1,418 px the window used to need."""
        hint = super().minimumSizeHint()
        if not self.wordWrap() or not self._plain:
            return hint
        metrics = QFontMetrics(self.font())
        margins = self.contentsMargins()
        text, font = super().text(), self.font().key()
        if self._widest is not None and self._widest[:2] == (text, font):
            wide = self._widest[2]
        else:
            pieces = wrap_lines(text, self.font(), 1)
            wide = max((metrics.horizontalAdvance(piece) for piece in pieces), default=0)
            self._widest = (text, font, wide)
        frame = margins.left() + margins.right() + 2 * self.margin()
        high = metrics.lineSpacing() + margins.top() + margins.bottom() + 2 * self.margin()
        return QSize(min(hint.width(), wide + frame) if hint.width() > 0 else wide + frame, high)


class WrapButton(QPushButton):
    """A push button whose text wraps (between phrases) instead of widening or being clipped."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._joined = ""
        self._hfw: dict[int, int] = {}
        self._hints: dict[str, QSize] = {}  # "size", "minimum": cached until text/font/style change
        self._chrome: int | None = None
        self._stale = True
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    # -- text -------------------------------------------------------------------------------------

    def setText(self, text: str) -> None:
        if text == self._text:
            return
        self._text, self._joined = text, keep_phrases(text)
        self._invalidate()

    def text(self) -> str:
        return self._text

    def lines(self) -> list[str]:
        """The lines drawn at the current width (the fit test measures them)."""
        return wrap_lines(self._joined, self.font(), self._text_width(self.width()))

    # -- geometry ---------------------------------------------------------------------------------

    def _option(self) -> QStyleOptionButton:
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = ""
        # Sized as if focused: the theme's focus ring is thicker than the border, and the text
        # must not lose room (or the button grow) when focus arrives.
        option.state |= QStyle.StateFlag.State_HasFocus
        return option

    def _outer(self, content: QSize) -> QSize:
        """The button size for a text block of ``content`` (padding, border, min-height: the style's)."""
        style = self.style()
        return style.sizeFromContents(QStyle.ContentsType.CT_PushButton, self._option(), content, self)

    def _chrome_width(self) -> int:
        if self._chrome is None:
            self._chrome = self._outer(QSize(400, 400)).width() - 400 + _FOCUS_SLACK
        return self._chrome

    def _text_width(self, width: int) -> int:
        return max(1, width - self._chrome_width())

    def _block(self, lines: list[str]) -> QSize:
        metrics = QFontMetrics(self.font())
        wide = max((metrics.horizontalAdvance(line) for line in lines), default=0)
        return QSize(wide, max(1, len(lines)) * metrics.lineSpacing())

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        cached = self._hfw.get(width)
        if cached is None:
            lines = wrap_lines(self._joined, self.font(), self._text_width(width))
            cached = self._outer(self._block(lines)).height()
            self._hfw[width] = cached
        return cached

    def sizeHint(self) -> QSize:
        cached = self._hints.get("size")
        if cached is None:
            lines = wrap_lines(self._joined, self.font(), 100_000)  # one line per paragraph
            outer = self._outer(self._block(lines))
            width = outer.width() + _FOCUS_SLACK
            cached = self._hints["size"] = QSize(width, self.heightForWidth(width))
        return cached

    def minimumSizeHint(self) -> QSize:
        # The widest unbreakable piece decides how narrow the button may get.
        cached = self._hints.get("minimum")
        if cached is None:
            pieces = wrap_lines(self._joined, self.font(), 1)
            width = self._block(pieces).width() + self._chrome_width()
            single = self._outer(self._block(pieces[:1])).height()
            cached = self._hints["minimum"] = QSize(width, single)
        return QSize(max(self.minimumWidth(), cached.width()), cached.height())

    # -- events -----------------------------------------------------------------------------------

    def _invalidate(self) -> None:
        self._hfw.clear()
        self._hints.clear()
        self._chrome = None
        self._show_lines()
        self.updateGeometry()

    def _show_lines(self) -> None:
        """Break the text for the current width; a hidden button waits until it is shown (most
        pages are hidden: wrapping every one at start-up cost ~80 ms of the idle screen's time)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        super().setText("\n".join(self.lines()))

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale:
            self._show_lines()
        super().showEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_lines()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._invalidate()


def label(role: str = "", *, center: bool = False) -> PhraseLabel:
    """A word-wrapped label; ``role`` is the style-sheet object name (heading, notice, danger…)."""
    widget = PhraseLabel()
    widget.setWordWrap(True)
    widget.setTextFormat(Qt.TextFormat.PlainText)  # data is never interpreted as markup
    if role:
        widget.setObjectName(role)
    if center:
        widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return widget


def button(on_click: Callable[[], None], *, primary: bool = False, checkable: bool = False) -> WrapButton:
    """A large button (≥ 64 px each way) whose text wraps; the text is set by ``show_state``."""
    widget = WrapButton()
    widget.setCheckable(checkable)
    if primary:
        widget.setObjectName("primary")
    widget.clicked.connect(lambda _checked=False: on_click())
    return widget


def set_button_text(widget: QPushButton, text: str) -> None:
    """Set a button's text and the same accessible name (screen readers announce it)."""
    widget.setText(text)
    widget.setAccessibleName(text)
