"""Resident-facing texts of the flow: errors, notices, PIN prompts (catalogue messages).

Front-ends (Qt, terminal) render these for the flow's phases and errors so every front-end says the
same thing. Each is a :class:`~kiosk.i18n.Message` (key + English source); the translations, polite
Japanese (です・ます) and やさしい日本語 included, are in the gettext catalogues (``kiosk/locale``,
docs/ui.md "How to add a string"). No text quotes the resident's data, and none asks for a PIN or
My Number outside the PIN pad.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from kiosk.flow.state import ErrorKind
from kiosk.i18n import Message, Plural, Translatable
from kiosk.rules.eligibility import DATE

ERRORS: Final[dict[ErrorKind, Message]] = {
    ErrorKind.CARD_REMOVED: Message(
        "error.card_removed", "The card left the reader. Please place it on the reader again."
    ),
    ErrorKind.READER_LOST: Message(
        "error.reader_lost", "The card reader is not connected. Please call a staff member."
    ),
    ErrorKind.PCSC_DOWN: Message(
        "error.pcsc_down", "Card reading is temporarily unavailable. Please try again in a moment."
    ),
    ErrorKind.NOT_MY_NUMBER_CARD: Message(
        "error.not_my_number_card",
        "This is not a My Number Card. Please place your My Number Card on the reader.",
    ),
    ErrorKind.CARD_READ_FAILED: Message(
        "error.card_read_failed", "The card could not be read. Please place it on the reader again."
    ),
    ErrorKind.PIN_INCORRECT: Message("error.pin_incorrect", "The PIN is incorrect."),
    ErrorKind.PIN_LAST_TRY: Message(
        "error.pin_last_try",
        "You have 1 try left. If the PIN is wrong again, it will be locked, and only your municipal "
        "office can unlock it. Do you want to continue?",
    ),
    ErrorKind.PIN_BLOCKED: Message(
        "error.pin_blocked", "The PIN is locked. Please ask your municipal office to unlock it."
    ),
    ErrorKind.CERTIFICATE_EXPIRED: Message(
        "error.certificate_expired",
        "The card's user authentication certificate has expired. Please renew it at your municipal office.",
    ),
    ErrorKind.VERIFICATION_FAILED: Message(
        "error.verification_failed", "The card could not be verified. Please ask a staff member."
    ),
    ErrorKind.NOT_ELIGIBLE: Message(
        "error.not_eligible", "According to the kiosk's check, you do not meet the conditions."
    ),
    ErrorKind.IDENTITY_REJECTED: Message(
        "error.identity_rejected",
        "Nothing was registered. If the details on the card are wrong, please contact your municipal office.",
    ),
    ErrorKind.SAVE_FAILED: Message(
        "error.save_failed",
        "The registration could not be saved and is not complete. Please ask a staff member.",
    ),
}

#: Tries left of a PIN, after a wrong PIN and on the PIN screen.
TRIES_LEFT: Final = Plural("tries_left", "You have {n} try left.", "You have {n} tries left.")

QUEUED: Final = Message(
    "queued", "Accepted. Your registration will be sent to the programme office, which reviews it."
)

ANTI_FRAUD: Final = Message(
    "anti_fraud",
    "The prefecture, municipalities and the programme office will never ask for your PIN, "
    "My Number or bank details, by phone or in any other way.",
)

TAKE_CARD: Final = Message("take_card", "Please take your card. Do not leave it behind.")

# TRANSLATORS: "More time" must be the text of the button "extend" on the same screen.
TIMEOUT_WARNING: Final = Plural(
    "timeout_warning",
    "No activity for a while. To continue, press “More time” within {n} second. "
    "Otherwise, everything you entered will be erased.",
    "No activity for a while. To continue, press “More time” within {n} seconds. "
    "Otherwise, everything you entered will be erased.",
)

REINSERT: Final = Message("reinsert", "To finish, please place your card again and enter your PIN again.")

#: PIN screen (PIN_ENTRY): which PIN, and the "same / different" choice (default "same").
AUTH_PIN_PROMPT: Final = Message(
    "auth_pin_prompt", "Please enter the PIN of your user authentication certificate (4 digits)."
)
# TRANSLATORS: a button; keep it short. "Card-info PIN" is the card's second 4-digit PIN.
SAME_PIN_CHOICE: Final = Message("same_pin_choice", "My card-info PIN is the same number")
# TRANSLATORS: a button; keep it short.
DIFFERENT_PIN_CHOICE: Final = Message("different_pin_choice", "My card-info PIN is a different number")
#: Card-info PIN screen (CARD_INFO_PIN_ENTRY).
# TRANSLATORS: keep the Japanese name 券面事項入力補助用: it is printed on the resident's PIN form.
CARD_INFO_PIN_PROMPT: Final = Message(
    "card_info_pin_prompt", "Please enter your card-info PIN (券面事項入力補助用, 4 digits)."
)
#: Shown on the card-info PIN screen after the card-info application refused "the same" PIN.
CARD_INFO_PIN_REFUSED: Final = Message(
    "card_info_pin_refused",
    "The card-info PIN was not accepted. The tries left of your user authentication PIN have not gone down.",
)


def localize(message: Translatable, language: str) -> str:
    """``message`` (a catalogue message or a programme text) in ``language``."""
    return message.get(language)


def tries_left_text(tries_left: int, language: str) -> str:
    """ "You have N tries left." in ``language`` (its plural rule)."""
    return TRIES_LEFT.format(language, tries_left)


def date_text(day: date, language: str) -> str:
    """A calendar day as residents of ``language`` write it (2025年2月3日, 03/02/2025, 2025-02-03)."""
    return DATE.format(language, year=day.year, month=day.month, day=day.day)


def timeout_warning_text(seconds: int, language: str) -> str:
    """The timeout warning with the seconds left, in ``language``."""
    return TIMEOUT_WARNING.format(language, seconds)


def error_text(kind: ErrorKind, language: str, *, tries_left: int | None = None) -> str:
    """The text for an error screen (a wrong PIN with the tries left when known)."""
    text = ERRORS[kind].get(language)
    # PIN_LAST_TRY says "1 try left" itself: adding the count again read twice on the screen.
    if tries_left is not None and kind is ErrorKind.PIN_INCORRECT:
        text = _TWO_SENTENCES.format(language, first=text, second=tries_left_text(tries_left, language))
    return text


# TRANSLATORS: two sentences in a row (no space between them in Japanese or Chinese).
_TWO_SENTENCES: Final = Message("two_sentences", "{first} {second}")
