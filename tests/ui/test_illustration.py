"""The card pictures: the project's SVGs load and hold every element the widget draws, every
state looks different, the chevron points where the profile says the reader is, and the waiting
animation runs only while the picture is on screen."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer
from pytestqt.qtbot import QtBot

from kiosk.station import ReaderPosition
from ui.illustration import ART, CardPicture, ReaderState, Scene, render_picture

SIZE = QSize(300, 220)


def _image(scene: Scene, state: ReaderState, position: ReaderPosition = ReaderPosition.BELOW) -> QImage:
    image = render_picture(scene, state, position, SIZE)
    assert isinstance(image, QImage)
    return image


def _dark(image: QImage, x0: int, y0: int, x1: int, y1: int) -> int:
    return sum(1 for y in range(y0, y1, 2) for x in range(x0, x1, 2) if image.pixel(x, y) & 0xFF < 200)


def test_svgs_hold_every_element(qapp: object) -> None:
    svg = QSvgRenderer(str(ART / "card_reader.svg"))
    assert svg.isValid()
    for element in ("reader", "reader_off", "card", "card_shadow", "place_arrow", "still",
                    "mark_ok", "mark_warn", "mark_missing", "cable"):  # fmt: skip
        assert svg.elementExists(element), element
    for name in ("take_card", "pin_hidden"):
        assert QSvgRenderer(str(ART / f"{name}.svg")).elementExists("scene")


def test_every_state_and_scene_is_drawn_differently(qapp: object) -> None:
    pictures = [_image(Scene.PLACE, state) for state in ReaderState]
    pictures += [
        _image(scene, ReaderState.DETECTED) for scene in (Scene.KEEP_STILL, Scene.TAKE, Scene.PIN_HIDDEN)
    ]
    for picture in pictures:
        assert _dark(picture, 0, 0, SIZE.width(), SIZE.height()) > 300  # something is drawn
    for i, a in enumerate(pictures):
        for b in pictures[i + 1 :]:
            assert a != b


def test_chevron_follows_the_reader_position(qapp: object) -> None:
    w, h = SIZE.width(), SIZE.height()
    strips = {
        ReaderPosition.BELOW: (0, h - 25, w, h),
        ReaderPosition.RIGHT: (w - 30, 0, w, h),
        ReaderPosition.LEFT: (0, 0, 30, h),
    }
    for position in ReaderPosition:
        image = _image(Scene.PLACE, ReaderState.DETECTED, position)
        for where, strip in strips.items():
            ink = _dark(image, *strip)
            if where is position:
                assert ink > 20, (position, where)
            else:
                assert ink == 0, (position, where)


def test_waiting_animates_only_while_shown(qtbot: QtBot) -> None:
    picture = CardPicture()
    qtbot.addWidget(picture)
    picture.set_scene(Scene.PLACE, ReaderState.WAITING)
    assert not picture.animating()  # not on screen yet
    picture.show()
    qtbot.waitExposed(picture)
    assert picture.animating()
    first = picture.grab().toImage()
    qtbot.wait(400)
    assert picture.grab().toImage() != first  # the card moved
    picture.set_state(ReaderState.DETECTED)
    assert not picture.animating()
    assert "Check mark" in picture.accessibleDescription()
    picture.set_state(ReaderState.WAITING)
    picture.hide()
    assert not picture.animating()
