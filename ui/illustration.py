"""Pictures that guide (issue 13 §1): where the card goes and which way up, keep it still, take
it, hide the PIN pad; drawn from the project's own SVGs in ``ui/art``.

:class:`CardPicture` is one widget for the card, busy, reinsert and take-card screens. It shows a
:class:`Scene` in a :class:`ReaderState` and points to where the reader is
(:class:`~kiosk.station.ReaderPosition`, from the profile):

* **waiting**: the card (face up, photo on the right) floats gently down towards the reader
  (a 2.4 s loop at 20 frames a second, only while the widget is visible), with an arrow;
* **detected**: the card lies on the reader with a check mark;
* **moved**: the card is shifted and tilted off the reader with a "!" warning;
* **missing**: the reader is drawn dashed and unplugged with a cross.

Each state has its own shape, not only its own colour, and the widget's accessible description
says in words what the picture shows. A big chevron outside the drawing points at the reader:
down (below the screen), right, left; a reader on the counter ("separate") gets no chevron, the
reader is drawn with its cable instead.
"""

from __future__ import annotations

import math
from enum import Enum, unique
from pathlib import Path
from typing import Final

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.station import ReaderPosition
from ui.theme import Palette, current_appearance

ART: Final = Path(__file__).resolve().parent / "art"


@unique
class Scene(Enum):
    PLACE = "place"  # put the card on the reader (wait card, reinsert)
    KEEP_STILL = "keep_still"  # busy: the card is being read
    TAKE = "take"  # take your card
    PIN_HIDDEN = "pin_hidden"  # cover the PIN pad


@unique
class ReaderState(Enum):
    WAITING = "waiting"
    DETECTED = "detected"
    MOVED = "moved"
    MISSING = "missing"


#: What the picture shows, for screen readers (English; the page sets a translated caption).
DESCRIPTIONS: Final = {
    (Scene.PLACE, ReaderState.WAITING): "A card moving down onto the card reader.",
    (Scene.PLACE, ReaderState.DETECTED): "The card lies on the reader. Check mark.",
    (Scene.PLACE, ReaderState.MOVED): "The card has slipped off the reader. Warning sign.",
    (Scene.PLACE, ReaderState.MISSING): "The card reader is unplugged. Cross.",
    (Scene.KEEP_STILL, ReaderState.DETECTED): "The card lies still on the reader, framed by corner marks.",
    (Scene.TAKE, ReaderState.DETECTED): "A hand lifts the card off the reader. Arrow up.",
    (Scene.PIN_HIDDEN, ReaderState.DETECTED): "A hand covers the PIN pad.",
}

_FRAME_MS: Final = 50
_PERIOD_MS: Final = 2400
#: Chevron colour: the standard theme's primary blue (10.6:1 on white), yellow on black.
_CHEVRON: Final = "#003A8C"
_CHEVRON_ON_DARK: Final = "#FFDD00"
#: The drawing's own background on a dark page.
PANEL: Final = "#FFFFFF"


def chevron_colour(palette: Palette) -> str:
    """The chevron's fill for ``palette`` (its page background decides)."""
    return _CHEVRON if palette.page_bg == "#FFFFFF" else _CHEVRON_ON_DARK


class CardPicture(QWidget):
    """The card / reader picture; ``set_scene`` / ``set_state`` / ``set_position`` repaint it."""

    def __init__(self, position: ReaderPosition = ReaderPosition.BELOW) -> None:
        super().__init__()
        self.position = position
        self.scene = Scene.PLACE
        self.state = ReaderState.WAITING
        self.chevron_colour = QColor(_CHEVRON)
        self._renderers = {
            "card_reader": QSvgRenderer(str(ART / "card_reader.svg")),
            "take_card": QSvgRenderer(str(ART / "take_card.svg")),
            "pin_hidden": QSvgRenderer(str(ART / "pin_hidden.svg")),
        }
        for name, renderer in self._renderers.items():
            if not renderer.isValid():
                raise FileNotFoundError(ART / f"{name}.svg")
        self._phase = 0.0  # 0..1 through the waiting loop
        self._timer = QTimer(self)
        self._timer.setInterval(_FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(320, 240)
        self._describe()

    def sizeHint(self) -> QSize:
        return QSize(560, 400)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return int(width * 0.7)

    # -- state --------------------------------------------------------------------------------------

    def set_scene(self, scene: Scene, state: ReaderState = ReaderState.DETECTED) -> None:
        self.scene, self.state = scene, state
        self._animate()
        self._describe()
        self.update()

    def set_state(self, state: ReaderState) -> None:
        self.set_scene(self.scene, state)

    def set_position(self, position: ReaderPosition) -> None:
        self.position = position
        self.update()

    def animating(self) -> bool:
        return self._timer.isActive()

    def _animate(self) -> None:
        wanted = self.scene is Scene.PLACE and self.state is ReaderState.WAITING and self.isVisible()
        if wanted and not self._timer.isActive():
            self._timer.start()
        elif not wanted:
            self._timer.stop()
            self._phase = 0.0

    def _describe(self) -> None:
        key = (self.scene, self.state)
        text = DESCRIPTIONS.get(key) or DESCRIPTIONS.get((self.scene, ReaderState.DETECTED), "")
        self.setAccessibleDescription(text)

    def showEvent(self, event: object) -> None:
        self._animate()

    def hideEvent(self, event: object) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        self._phase = (self._phase + _FRAME_MS / _PERIOD_MS) % 1.0
        self.update()

    # -- painting -----------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        try:
            self.paint(painter, QRectF(self.rect()))
        finally:
            painter.end()

    def paint(self, painter: QPainter, area: QRectF) -> None:
        """Draw the picture into ``area`` (also used for screenshots and tests).

        On the white-on-black theme the drawing gets its own white panel (its dark outlines and
        grey reader would be lost on black) and the chevron turns yellow (the blue one is 2:1 on
        black): every part keeps ≥ 3:1 against what is next to it (tests/ui/test_contrast.py)."""
        margin = min(area.width(), area.height()) * 0.12
        drawing = area.adjusted(margin, margin, -margin, -margin)
        palette = current_appearance().palette
        self.chevron_colour = QColor(chevron_colour(palette))
        if palette.page_bg != "#FFFFFF":
            painter.save()
            painter.setPen(QPen(QColor(palette.text), 3))
            painter.setBrush(QColor(PANEL))
            painter.drawRoundedRect(
                drawing.adjusted(-margin * 0.3, -margin * 0.3, margin * 0.3, margin * 0.3), 16, 16
            )
            painter.restore()
        if self.position is not ReaderPosition.SEPARATE and self.scene is not Scene.PIN_HIDDEN:
            self._chevron(painter, area, margin)
        # keep the SVG's 400 x 320 aspect ratio, centred
        scale = min(drawing.width() / 400, drawing.height() / 320)
        box = QRectF(0, 0, 400 * scale, 320 * scale)
        box.moveCenter(drawing.center())
        if self.scene is Scene.TAKE:
            self._renderers["take_card"].render(painter, "scene", box)
            return
        if self.scene is Scene.PIN_HIDDEN:
            self._renderers["pin_hidden"].render(painter, "scene", box)
            return
        svg = self._renderers["card_reader"]

        def element(name: str, dx: float = 0.0, dy: float = 0.0, angle: float = 0.0) -> None:
            bounds = svg.boundsOnElement(name)
            target = QRectF(
                box.left() + (bounds.left() + dx) * scale,
                box.top() + (bounds.top() + dy) * scale,
                bounds.width() * scale,
                bounds.height() * scale,
            )
            if angle:
                painter.save()
                painter.translate(target.center())
                painter.rotate(angle)
                painter.translate(-target.center())
                svg.render(painter, name, target)
                painter.restore()
            else:
                svg.render(painter, name, target)

        if self.state is ReaderState.MISSING:
            element("reader_off")
            element("cable", dx=20, dy=-30)
            element("mark_missing")
            return
        element("reader")
        if self.position is ReaderPosition.SEPARATE:
            element("cable")
        if self.scene is Scene.KEEP_STILL:
            element("card_shadow")
            element("card")
            element("still")
            return
        if self.state is ReaderState.WAITING:
            lift = 150 * (0.5 + 0.5 * math.cos(2 * math.pi * self._phase))  # 150 → 0 → 150
            element("place_arrow", dy=-30)
            element("card", dy=-lift)
        elif self.state is ReaderState.MOVED:
            element("card", dx=95, dy=-55, angle=18)
            element("mark_warn")
        else:
            element("card_shadow")
            element("card")
            element("mark_ok")

    def _chevron(self, painter: QPainter, area: QRectF, margin: float) -> None:
        """A big arrow at the edge of the picture, pointing at the reader."""
        size = margin * 0.8
        c = area.center()
        direction = {
            ReaderPosition.BELOW: (0.0, 1.0),
            ReaderPosition.RIGHT: (1.0, 0.0),
            ReaderPosition.LEFT: (-1.0, 0.0),
        }[self.position]
        dx, dy = direction
        tip = QPointF(
            c.x() + dx * (area.width() / 2 - margin * 0.1), c.y() + dy * (area.height() / 2 - margin * 0.1)
        )
        back = QPointF(tip.x() - dx * size, tip.y() - dy * size)
        side = QPointF(-dy * size, dx * size)
        triangle = QPolygonF([tip, back + side, back - side])
        painter.save()
        painter.setPen(QPen(QColor("#000000"), max(2.0, size / 10)))
        painter.setBrush(self.chevron_colour)
        painter.drawPolygon(triangle)
        painter.restore()


def render_picture(
    scene: Scene, state: ReaderState, position: ReaderPosition, size: QSize, *, phase: float = 0.3
) -> object:
    """A QImage of the picture (screenshots, tests), ``phase`` of the waiting loop."""
    from PySide6.QtGui import QImage

    picture = CardPicture(position)
    picture.set_scene(scene, state)
    picture._phase = phase
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(QColor(Qt.GlobalColor.white))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    try:
        picture.paint(painter, QRectF(0, 0, size.width(), size.height()))
    finally:
        painter.end()
    return image
