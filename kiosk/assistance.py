"""Who helps the resident when something goes wrong: staff at a counter, or nobody (issue 13 §6).

In ``mode = "self"`` (a convenience store, a station) there is no staff member to call, so no
text shown there may send the resident to staff: every error instead says what happened (its own
title per :class:`~kiosk.flow.ErrorKind`), what to do next, and the programme's support line with
its hours. In ``mode = "staff"`` the same errors end with "please ask the staff".
``tests/ui/test_self_mode_wording.py`` reads every string a self-service kiosk can show.

The "forgot your PIN?" text follows the public guidance (sources in docs/ui.md, "Forgot your
PIN"): the municipal office resets any PIN; the JPKI PIN-reset smartphone app plus a convenience
store multi-copy machine reset the authentication PIN if the resident knows the signature password
(and the reverse); the card-info PIN (券面事項入力補助用) is reset only at the municipal office.

Pure data, no Qt: the Qt screens, the voice prompts and the terminal all use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kiosk.flow.state import ErrorKind
from kiosk.i18n import Message
from kiosk.messages import ERRORS, localize
from kiosk.rules.programs import Program
from kiosk.settings import KioskMode

#: One title per error kind (the review: one 「手続きを続けられません」 for all told nothing).
TITLES: Final[dict[ErrorKind, Message]] = {
    ErrorKind.CARD_REMOVED: Message("error_title.card_removed", "The card left the reader"),
    ErrorKind.READER_LOST: Message("error_title.reader_lost", "The card reader is not connected"),
    ErrorKind.PCSC_DOWN: Message("error_title.pcsc_down", "Card reading is paused"),
    ErrorKind.NOT_MY_NUMBER_CARD: Message("error_title.not_my_number_card", "This is not a My Number Card"),
    ErrorKind.CARD_READ_FAILED: Message("error_title.card_read_failed", "The card could not be read"),
    ErrorKind.PIN_INCORRECT: Message("error_title.pin_incorrect", "The PIN is incorrect"),
    ErrorKind.PIN_LAST_TRY: Message("error_title.pin_last_try", "Last try for this PIN"),
    ErrorKind.PIN_BLOCKED: Message("error_title.pin_blocked", "The PIN is locked"),
    ErrorKind.CERTIFICATE_EXPIRED: Message(
        "error_title.certificate_expired", "The card's certificate has expired"
    ),
    ErrorKind.VERIFICATION_FAILED: Message(
        "error_title.verification_failed", "The card could not be checked"
    ),
    ErrorKind.NOT_ELIGIBLE: Message("error_title.not_eligible", "The conditions are not met"),
    ErrorKind.IDENTITY_REJECTED: Message("error_title.identity_rejected", "Registration stopped"),
    ErrorKind.SAVE_FAILED: Message("error_title.save_failed", "The registration was not saved"),
}

#: Self-service wording for the errors whose general text sends the resident to staff.
SELF_SERVICE_TEXTS: Final[dict[ErrorKind, Message]] = {
    ErrorKind.READER_LOST: Message(
        "error_self.reader_lost",
        "The card reader is not connected. Nothing was registered. Please try again later.",
    ),
    ErrorKind.VERIFICATION_FAILED: Message(
        "error_self.verification_failed",
        "The card could not be checked, so nothing was registered. If this happens again, please "
        "call the support line.",
    ),
    ErrorKind.SAVE_FAILED: Message(
        "error_self.save_failed",
        "The registration could not be saved and is not complete. Please try again later.",
    ),
}

#: Staff mode: the general texts that do not already say so end with this.
ASK_STAFF: Final = Message("ask_staff", "Please ask the staff.")
#: Self mode: after every error, the support line.
# TRANSLATORS: {phone} is the programme's help line, {hours} its opening hours.
SUPPORT_LINE: Final = Message("support_line", "Support line: {phone} ({hours})")
SUPPORT_LINE_NO_HOURS: Final = Message("support_line_no_hours", "Support line: {phone}")

#: The "try another card" button of NOT_MY_NUMBER_CARD.
TRY_ANOTHER_CARD: Final = Message("try_another_card", "Try another card")

#: Which PIN the tries-left line is about.
AUTH_PIN_NAME: Final = Message("pin_name.auth", "user authentication PIN (4 digits)")
# TRANSLATORS: keep the Japanese name 券面事項入力補助用: it is printed on the resident's PIN form.
CARD_INFO_PIN_NAME: Final = Message("pin_name.card_info", "card-info PIN (券面事項入力補助用, 4 digits)")
# TRANSLATORS: {pin} is one of the PIN names above, {n} the tries left (1-3).
TRIES_OF_PIN: Final = Message("tries_of_pin", "Tries left for your {pin}: {n}")

FORGOT_PIN_BUTTON: Final = Message("forgot_pin", "Forgot your PIN?")
FORGOT_PIN_TITLE: Final = Message("forgot_pin_title", "If you forgot your PIN")
FORGOT_PIN_TEXT: Final = (
    Message(
        "forgot_pin.no_lookup",
        "Nobody can look up your PIN, and this kiosk cannot reset it. Do not guess: three wrong "
        "tries lock it.",
    ),
    Message(
        "forgot_pin.office",
        "Your municipal office resets any PIN of your card at its counter. Bring your My Number Card "
        "and, if you can, another identity document.",
    ),
    Message(
        "forgot_pin.store",
        "If you know your signature password (6 to 16 letters and digits), you can also reset the "
        "4-digit user authentication PIN yourself: book with the JPKI PIN reset app on a "
        "smartphone, then finish at a convenience store multi-copy machine (for example "
        "Seven-Eleven) within 24 hours.",
    ),
    Message(
        "forgot_pin.card_info",
        "The card-info PIN (券面事項入力補助用) can only be reset at the municipal office.",
    ),
)


@dataclass(frozen=True)
class ErrorScreen:
    """What an error screen shows: its title, what happened, and who or what helps next."""

    title: str
    text: str
    help: str


def support_line(program: Program, language: str) -> str:
    """The programme's support phone with its hours, in ``language``."""
    hours = localize(program.support_hours, language)
    if hours:
        return SUPPORT_LINE.format(language, phone=program.support_phone, hours=hours)
    return SUPPORT_LINE_NO_HOURS.format(language, phone=program.support_phone)


def error_screen(
    kind: ErrorKind, mode: KioskMode, program: Program, language: str, *, general: str | None = None
) -> ErrorScreen:
    """The error screen for ``kind`` at a kiosk in ``mode``.

    ``general`` is the flow's own text when the caller already has it (with the tries left);
    in self mode the texts that mention staff are replaced by :data:`SELF_SERVICE_TEXTS`.
    """
    title = TITLES[kind].get(language)
    if mode is KioskMode.SELF:
        replacement = SELF_SERVICE_TEXTS.get(kind)
        text = replacement.get(language) if replacement else (general or ERRORS[kind].get(language))
        return ErrorScreen(title, text, support_line(program, language))
    text = general or ERRORS[kind].get(language)
    # the texts SELF_SERVICE_TEXTS replaces already send the resident to staff: not twice
    return ErrorScreen(title, text, "" if kind in SELF_SERVICE_TEXTS else ASK_STAFF.get(language))


def pin_tries_text(language: str, *, card_info: bool, tries_left: int) -> str:
    """ "Tries left for your user authentication PIN: 2" (names the PIN the counter belongs to)."""
    pin = (CARD_INFO_PIN_NAME if card_info else AUTH_PIN_NAME).get(language)
    return TRIES_OF_PIN.format(language, pin=pin, n=tries_left)


def forgot_pin_text(language: str) -> tuple[str, ...]:
    """The paragraphs of the "forgot your PIN?" screen."""
    return tuple(part.get(language) for part in FORGOT_PIN_TEXT)
