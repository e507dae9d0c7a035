"""Screens about the card itself: waiting for it (WAIT_CARD, REINSERT), busy reads (PREFETCH,
VERIFYING, SAVING) and the self-service take-your-card step with its alarm (TAKE_CARD).

Each shows the card picture (:mod:`ui.illustration`) large: where the card goes and which way up
(waiting, gently animated), the card detected (PREFETCH), "keep it still" (reading, saving), the
card moved or lifted (REINSERT), the reader missing, and "take your card". ``set_station`` gives
the reader position (``[reader] position``) and the kiosk mode (self mode never mentions staff)."""

from __future__ import annotations

from typing import Final

from kiosk.assistance import error_screen
from kiosk.flow.events import Back, Cancel
from kiosk.flow.state import ErrorKind, FlowState, Phase
from kiosk.messages import REINSERT, TAKE_CARD, error_text
from kiosk.settings import KioskMode
from kiosk.station import ReaderPosition
from ui.i18n import message, ui_text
from ui.illustration import CardPicture, ReaderState, Scene
from ui.pages.base import Page, Post, View
from ui.widgets import button, label, set_button_text


class _PicturePage(Page):
    """A card page with the picture and the station's reader position and mode."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.picture = CardPicture()
        self.mode = KioskMode.STAFF

    def set_station(self, mode: KioskMode, position: ReaderPosition) -> None:
        self.mode = mode
        self.picture.set_position(position)


class WaitCardPage(_PicturePage):
    """ "Place your card on the reader" (or, after the card left before saving, "place it again")."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.hint = label("notice")
        self.no_reader = label("danger")
        self.body.addStretch(1)
        for widget in (self.picture, self.title, self.hint, self.no_reader):
            self.body.addWidget(widget)
        self.back = button(lambda: self.post(Back()))
        self.cancel = button(lambda: self.post(Cancel()))
        self.buttons.addWidget(self.back)
        self.buttons.addWidget(self.cancel)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        if state.phase is Phase.REINSERT:
            self.title.setText(ui_text("reinsert_title", language))
            self.hint.setText(message(REINSERT, language))
        else:
            self.title.setText(ui_text("wait_card", language))
            self.hint.setText(ui_text("wait_card_hint", language))
        # The reader (or PC/SC) went away while waiting: say so; the watcher brings it back.
        lost = error_text(ErrorKind.READER_LOST, language)
        if self.mode is KioskMode.SELF:  # nobody to call: what happened and what to do, no staff
            lost = error_screen(ErrorKind.READER_LOST, self.mode, view.program, language).text
        self.no_reader.setText("⚠ " + lost)
        self.no_reader.setVisible(not state.reader_available)
        if not state.reader_available:
            self.picture.set_scene(Scene.PLACE, ReaderState.MISSING)
        elif state.phase is Phase.REINSERT:
            self.picture.set_scene(Scene.PLACE, ReaderState.MOVED)  # the card left: put it back
        else:
            self.picture.set_scene(Scene.PLACE, ReaderState.WAITING)
        self.back.setVisible(state.phase is Phase.WAIT_CARD)
        set_button_text(self.back, ui_text("back", language))
        set_button_text(self.cancel, ui_text("cancel", language))


_BUSY: Final = {
    Phase.PREFETCH: "busy_prefetch",
    Phase.VERIFYING: "busy_verifying",
    Phase.SAVING: "busy_saving",
}


class BusyPage(_PicturePage):
    """Card work in progress: what is happening and "do not move the card". No buttons: the card
    layer's own timeouts end these phases."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.hint = label("notice", center=True)
        self.body.addStretch(1)
        for widget in (self.picture, self.title, self.hint):
            self.body.addWidget(widget)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        self.title.setText(ui_text(_BUSY.get(state.phase, "busy_verifying"), view.language))
        self.hint.setText(ui_text("busy_hint", view.language))
        if state.phase is Phase.PREFETCH:
            self.picture.set_scene(Scene.PLACE, ReaderState.DETECTED)  # the card was seen
        else:
            self.picture.set_scene(Scene.KEEP_STILL)


class TakeCardPage(_PicturePage):
    """Self-service: the card must be taken; after ``take_card_s`` the alarm (words + colour + sound)."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading", center=True)
        self.text = label(center=True)
        self.alarm = label("danger", center=True)
        self.picture.set_scene(Scene.TAKE)
        self.body.addStretch(1)
        for widget in (self.picture, self.title, self.text, self.alarm):
            self.body.addWidget(widget)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        self.title.setText(ui_text("take_card_title", view.language))
        self.text.setText(message(TAKE_CARD, view.language))
        self.alarm.setText(ui_text("alarm", view.language))
        self.alarm.setVisible(state.alarm)
