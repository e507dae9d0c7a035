"""The PIN screens: the last-try explanation (LAST_TRY_CONFIRM, CARD_INFO_LAST_TRY_CONFIRM) and
the pad (PIN_ENTRY for the auth PIN or "the one PIN", CARD_INFO_PIN_ENTRY for the card-info PIN).

Tries left are shown before anything is typed; at 1 try the flow first shows the explicit
confirmation screen, and the pad repeats the warning. The pad faces the resident only.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from kiosk.assistance import pin_tries_text, support_line
from kiosk.flow.events import Cancel, CardInfoPinSubmitted, LastTryConfirmed, PinSubmitted
from kiosk.flow.state import ErrorKind, FlowState, Phase, PinSlot
from kiosk.messages import (
    AUTH_PIN_PROMPT,
    CARD_INFO_PIN_PROMPT,
    CARD_INFO_PIN_REFUSED,
    DIFFERENT_PIN_CHOICE,
    SAME_PIN_CHOICE,
    error_text,
)
from kiosk.settings import KioskMode
from ui.forgot_pin import ForgotPinPanel, label_forgot_button
from ui.i18n import message, ui_text
from ui.illustration import CardPicture, Scene
from ui.layout import Metrics
from ui.pages.base import Page, Post, View
from ui.pinpad import PinPad
from ui.widgets import button, label, set_button_text


class LastTryPage(Page):
    """1 try left: what a lock-out means, and an explicit "continue" (or cancel)."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.text = label("danger")
        self.body.addWidget(self.title)
        self.body.addWidget(self.text)
        self.cancel = button(lambda: self.post(Cancel()))
        self.go_on = button(lambda: self.post(LastTryConfirmed()), primary=True)
        self.buttons.addWidget(self.cancel)
        self.buttons.addWidget(self.go_on)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        which = AUTH_PIN_PROMPT if state.phase is Phase.LAST_TRY_CONFIRM else CARD_INFO_PIN_PROMPT
        self.title.setText(ui_text("caution", language))
        self.text.setText(
            message(which, language) + "\n\n" + error_text(ErrorKind.PIN_LAST_TRY, language, tries_left=1)
        )
        set_button_text(self.cancel, ui_text("cancel", language))
        set_button_text(self.go_on, ui_text("last_try_continue", language))


class PinPage(Page):
    """Prompt, tries left, rejection notice, the same/different choice and the pad."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.prompt = label("heading")
        self.tries = label("notice")
        self.rejected = label("danger")
        self.hidden_note = label()
        # the picture: cover the pad with the other hand (small: the pad needs the room)
        self.hidden_picture = CardPicture()
        self.hidden_picture.set_scene(Scene.PIN_HIDDEN)
        self.hidden_picture.setMinimumSize(96, 72)
        self.hidden_picture.setMaximumHeight(150)
        self.same = button(self._press_same, checkable=True)
        self.different = button(lambda: self._choose(False), checkable=True)
        self.pad = PinPad()
        self.pad.submitted.connect(self._submit)
        for widget in (self.prompt, self.tries, self.rejected, self.same, self.different, self.hidden_note):
            self.body.addWidget(widget)
        self.body.addWidget(self.hidden_picture)
        self.aside.addWidget(self.pad)  # beside the texts in landscape, below them in portrait
        # "Forgot your PIN?" (issue 13): where and how to reset it, over the pad; costs no try
        self.forgot_panel = ForgotPinPanel(self._close_forgot)
        self.forgot_panel.setVisible(False)
        self.body.addWidget(self.forgot_panel)
        self.cancel = button(lambda: self.post(Cancel()))
        self.forgot = button(self._open_forgot)
        self.buttons.addWidget(self.cancel)
        self.buttons.addWidget(self.forgot)
        self.finish_layout()
        self._phase = Phase.PIN_ENTRY
        self._same_pin = True
        self._session = -1
        self._language = "ja"
        self.mode = KioskMode.STAFF
        self._shown: tuple[FlowState, View] | None = None

    def set_mode(self, mode: KioskMode) -> None:
        """Self-service mode adds the support line to the forgot-PIN panel."""
        self.mode = mode

    def _normal_widgets(self) -> tuple[QWidget, ...]:
        return (
            self.prompt,
            self.tries,
            self.rejected,
            self.same,
            self.different,
            self.hidden_note,
            self.hidden_picture,
            self.pad,
        )

    def _open_forgot(self) -> None:
        self.pad.clear()  # no half-typed PIN waits behind the panel
        for widget in self._normal_widgets():
            widget.setVisible(False)
        self.forgot.setVisible(False)
        self.forgot_panel.setVisible(True)
        self.forgot_panel.back.setFocus()

    def _close_forgot(self) -> None:
        self.forgot_panel.setVisible(False)
        for widget in (self.prompt, self.hidden_note, self.hidden_picture, self.pad, self.forgot):
            widget.setVisible(True)
        if self._shown is not None:
            self.show_state(*self._shown)  # the rest as the state says

    def apply_metrics(self, m: Metrics) -> None:
        super().apply_metrics(m)
        self.pad.set_key_size(m.pin_key, m.px(12))

    def _press_same(self) -> None:
        # A switch on the card-info screen; one of two choices on the auth screen.
        self._choose(not self._same_pin if self._phase is Phase.CARD_INFO_PIN_ENTRY else True)

    def _choose(self, same: bool) -> None:
        self._same_pin = same
        self._label_choice()

    def _label_choice(self) -> None:
        language = self._language
        mark_same, mark_different = ("✓ ", "□ ") if self._same_pin else ("□ ", "✓ ")
        if self._phase is Phase.CARD_INFO_PIN_ENTRY:
            set_button_text(self.same, mark_same + ui_text("same_as_auth", language))
        else:
            set_button_text(self.same, mark_same + message(SAME_PIN_CHOICE, language))
            set_button_text(self.different, mark_different + message(DIFFERENT_PIN_CHOICE, language))
        self.same.setChecked(self._same_pin)
        self.different.setChecked(not self._same_pin)

    def _submit(self, pin: bytearray) -> None:
        if self._phase is Phase.CARD_INFO_PIN_ENTRY:
            self.post(CardInfoPinSubmitted(pin, same_pin=self._same_pin))
        else:
            self.post(PinSubmitted(pin, same_pin=self._same_pin))

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        card_info = state.phase is Phase.CARD_INFO_PIN_ENTRY
        if state.phase is not self._phase or state.card_session != self._session:
            self.pad.clear()  # a new pad for a new PIN screen
            # Defaults: "same" on the auth screen; "different" on the card-info screen.
            self._same_pin = not card_info
        self._phase, self._session, self._language = state.phase, state.card_session, language
        self.prompt.setText(message(CARD_INFO_PIN_PROMPT if card_info else AUTH_PIN_PROMPT, language))
        self._shown = (state, view)
        tries = state.tries_left
        # which PIN the tries belong to (the card has two 4-digit PINs)
        tries_text = ""
        if tries is not None:
            tries_text = pin_tries_text(language, card_info=card_info, tries_left=tries)
        if tries == 1:
            tries_text += "\n" + ui_text("pin_last_try_banner", language)
        self.tries.setText(tries_text)
        self.tries.setVisible(bool(tries_text))
        if card_info and state.held_pin is None and state.pin_rejected:
            rejected = message(CARD_INFO_PIN_REFUSED, language)
        elif state.pin_rejected:
            rejected = error_text(ErrorKind.PIN_INCORRECT, language)
        else:
            rejected = ""
        self.rejected.setText(rejected and "⚠ " + rejected)
        self.rejected.setVisible(bool(rejected))
        self.hidden_note.setText(ui_text("pin_hidden", language))
        # The choice: on the auth screen unless the card-info PIN is already held; on the card-info
        # screen only when no auth PIN is held ("it was a typo: the same PIN after all").
        offer_same = (not card_info and state.held_pin is not PinSlot.CARD_INFO) or (
            card_info and state.held_pin is None
        )
        self.same.setVisible(offer_same)
        self.different.setVisible(offer_same and not card_info)
        self._label_choice()
        self.pad.set_language(language)
        set_button_text(self.cancel, ui_text("cancel", language))
        label_forgot_button(self.forgot, language)
        help_line = support_line(view.program, language) if self.mode is KioskMode.SELF else ""
        self.forgot_panel.show_language(language, help_line)
        if self.forgot_panel.isVisible():
            for widget in self._normal_widgets():
                widget.setVisible(False)
            return
        self.pad.setFocus()

    def wipe(self) -> None:
        self.pad.clear()
        self._shown = None
        if self.forgot_panel.isVisible():
            self.forgot_panel.setVisible(False)
            for widget in (self.prompt, self.hidden_note, self.hidden_picture, self.pad, self.forgot):
                widget.setVisible(True)
