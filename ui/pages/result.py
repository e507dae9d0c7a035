"""After the read: the basic four (CONFIRM), the kiosk-side result (ELIGIBILITY, NOT_ELIGIBLE) and
the receipt (RECEIPT). CONFIRM and ELIGIBILITY are the only screens with personal data; ``wipe``
clears them, and the receipt shows the code, a QR of the code only, the support line and the
anti-fraud notice."""

from __future__ import annotations

from datetime import date

from PySide6.QtGui import QPixmap

from kiosk.flow.events import Acknowledge, Cancel, IdentityConfirmed, IdentityRejected, Register
from kiosk.flow.state import ErrorKind, FlowState
from kiosk.messages import ANTI_FRAUD, QUEUED, date_text, error_text
from ui.i18n import labelled, message, ui_text
from ui.pages.base import Page, Post, View
from ui.qr import qr_image
from ui.receipt_print import ReceiptPrinting
from ui.theme import family_sheet
from ui.widgets import button, label, set_button_text


def format_date(day: date, language: str) -> str:
    """A birth date the way residents of ``language`` read it (the catalogue's ``date``)."""
    return date_text(day, language)


class ConfirmPage(Page):
    """The basic four as read from the card and, on the short path, the kiosk-side result with the
    "the office decides" notice beside them: one "yes, register" (the final confirmation, which
    the flow turns into the card-signed record) or "this is not right".

    Without a result (the long path) "yes" posts :class:`IdentityConfirmed` and the separate
    eligibility screen follows.
    """

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.body.addWidget(self.title)
        self.fields = [label("notice") for _ in range(4)]
        for widget in self.fields:
            # The card's data is Japanese whatever the screen language: the JP cut draws its
            # kanji the Japanese way (every Noto CJK cut has the same Hangul, Latin and kana).
            widget.setStyleSheet(family_sheet("ja"))
            self.body.addWidget(widget)
        self.result = label("good")
        self.notice = label()
        self.aside.addWidget(self.result)
        self.aside.addWidget(self.notice)
        self.no = button(lambda: self.post(IdentityRejected()))
        self.yes = button(self._yes, primary=True)
        self.buttons.addWidget(self.no)
        self.buttons.addWidget(self.yes)
        self.finish_layout()
        self._checked = False

    def _yes(self) -> None:
        self.post(Register() if self._checked else IdentityConfirmed())

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        self.title.setText(ui_text("confirm_title", language))
        eligibility = state.eligibility
        self._checked = eligibility is not None and eligibility.eligible
        self.result.setVisible(self._checked)
        self.notice.setVisible(self._checked)
        if eligibility is not None and self._checked:
            self.result.setText(ui_text("eligible", language))
            notice = eligibility.notice
            self.notice.setText(message(notice, language) if notice is not None else "")
        resident = state.resident
        if resident is None:
            self.wipe()
        else:
            sex_key = f"sex_{resident.sex}" if resident.sex in ("0", "1", "2", "9") else "sex_0"
            values = (
                ("name", resident.name),
                ("address", resident.address),
                ("birth_date", format_date(resident.birth_date, language)),
                ("sex", ui_text(sex_key, language)),
            )
            for widget, (key, value) in zip(self.fields, values, strict=True):
                widget.setText(labelled(key, value, language))
        set_button_text(self.no, ui_text("confirm_no", language))
        set_button_text(
            self.yes,
            ui_text("confirm_register", language) if self._checked else ui_text("confirm_yes", language),
        )

    def wipe(self) -> None:
        for widget in self.fields:
            widget.clear()
        self.notice.clear()


class EligibilityPage(Page):
    """The kiosk's preliminary result with the notice that the programme office decides; "register"
    is the final confirmation."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.result = label("good")
        self.notice = label("notice")
        for widget in (self.title, self.result, self.notice):
            self.body.addWidget(widget)
        self.cancel = button(lambda: self.post(Cancel()))
        self.register = button(lambda: self.post(Register()), primary=True)
        self.buttons.addWidget(self.cancel)
        self.buttons.addWidget(self.register)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        self.title.setText(ui_text("eligibility_title", language))
        self.result.setText(ui_text("eligible", language))
        notice = state.eligibility.notice if state.eligibility is not None else None
        self.notice.setText(message(notice, language) if notice is not None else "")
        set_button_text(self.cancel, ui_text("cancel", language))
        set_button_text(self.register, ui_text("register", language))

    def wipe(self) -> None:
        self.notice.clear()


class NotEligiblePage(Page):
    """Refused by the kiosk-side rules: the reasons (no personal data in them) and OK."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.text = label()
        self.reasons = label("notice")
        for widget in (self.title, self.text, self.reasons):
            self.body.addWidget(widget)
        self.ok = button(lambda: self.post(Acknowledge()), primary=True)
        self.buttons.addWidget(self.ok)
        self.finish_layout()

    def show_state(self, state: FlowState, view: View) -> None:
        language = view.language
        self.title.setText(ui_text("not_eligible_title", language))
        self.text.setText(error_text(ErrorKind.NOT_ELIGIBLE, language))
        reasons = state.eligibility.reasons if state.eligibility is not None else ()
        self.reasons.setText("\n".join("✕ " + message(r.text, language) for r in reasons))
        set_button_text(self.ok, ui_text("finish", language))

    def wipe(self) -> None:
        self.reasons.clear()


class ReceiptPage(Page):
    """Registration code (large, and as a QR), queued status, support phone, anti-fraud notice."""

    def __init__(self, post: Post) -> None:
        super().__init__(post)
        self.title = label("heading")
        self.code_label = label()
        self.code = label("bigCode")
        self.qr = label()
        self.qr_hint = label()
        self.status = label("notice")
        self.support = label()
        self.anti_fraud = label("danger")
        for widget in (self.title, self.code_label, self.code, self.status, self.support):
            self.body.addWidget(widget)
        for widget in (self.qr, self.qr_hint, self.anti_fraud):
            self.aside.addWidget(widget)
        # the printed slip (issue 13): printed once; without a printer the code is to be noted
        # and "finish" asks once before the wipe (ui/receipt_print.py)
        self.printing = ReceiptPrinting(None)
        self.body.addWidget(self.printing)
        self.ok = button(self._finish, primary=True)
        self.buttons.addWidget(self.ok)
        self.finish_layout()
        self._shown_code: str | None = None

    def _finish(self) -> None:
        if self.printing.confirm_finish():
            self.post(Acknowledge())

    def show_state(self, state: FlowState, view: View) -> None:
        language, program = view.language, view.program
        self.title.setText(ui_text("receipt_title", language))
        self.code_label.setText(ui_text("code_label", language))
        code = state.code or ""
        self.code.setText(code)
        self.code.setAccessibleName(" ".join(code))  # read out character by character
        if code and code != self._shown_code:
            self.qr.setPixmap(QPixmap.fromImage(qr_image(code)))
            self._shown_code = code
        self.qr_hint.setText(ui_text("qr_hint", language))
        self.status.setText("✓ " + message(QUEUED, language))
        hours = message(program.support_hours, language)
        support = ui_text("support", language, phone=program.support_phone, hours=hours)
        self.support.setText(support if hours else support.replace("（）", "").replace(" ()", ""))
        self.anti_fraud.setText("⚠ " + message(ANTI_FRAUD, language))
        set_button_text(self.ok, ui_text("finish", language))
        if code:
            self.printing.show_receipt(state, program, language)

    def wipe(self) -> None:
        self.code.clear()
        self.code.setAccessibleName("")
        self.qr.clear()
        self._shown_code = None
        self.printing.wipe()
