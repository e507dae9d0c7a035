"""The kiosk screens' own labels (buttons, headings), as catalogue messages (:mod:`kiosk.i18n`).

The flow's messages (errors, notices, PIN prompts) come from :mod:`kiosk.messages` so the terminal
and the Qt front-end say the same thing; this table only holds what exists on screens alone. Each
entry is ``Message(key, English source)`` (``Plural`` when a count changes the wording); the
translations live in ``kiosk/locale/<language>/LC_MESSAGES/madoguchi.po``. Adding a label: one line
here, then ``scripts/update-catalogues.sh`` (docs/ui.md "How to add a string").
"""

from __future__ import annotations

import re
from typing import Final

from kiosk.i18n import LANGUAGE_CODES, LANGUAGES, Message, Plural, Translatable

__all__ = [
    "LANGUAGES",
    "display_language",
    "font_family",
    "labelled",
    "message",
    "terms_version_text",
    "ui_text",
]

_ENTRIES: Final[tuple[Message | Plural, ...]] = (
    # TRANSLATORS: the window title and header (what the kiosk is for).
    Message("app_title", "Register for services with your My Number Card"),
    Message("idle_title", "Register with your My Number Card"),
    Message("idle_start", "Touch here to start"),
    Message("language_title", "Choose your language"),
    Message("programs_title", "Choose the programme to apply for"),
    Message("services_title", "Choose the services to register for"),
    # TRANSLATORS: appended to a service name; keep the leading space where your language has one.
    Message("required", " (required)"),
    # TRANSLATORS: a toggle button's state, before the service or programme name; keep the ✓.
    Message("selected", "✓ selected"),
    # TRANSLATORS: a toggle button's state, before the service or programme name; keep the □.
    Message("not_selected", "□ not selected"),
    Message("next", "Next"),
    Message("back", "Back"),
    Message("cancel", "Cancel"),
    Message("consent_title", "Terms of use"),
    # TRANSLATORS: {v} is the terms' version identifier, e.g. miyagi-bousai-2025-02.
    Message("terms_version", "Terms version: {v}"),
    Message("agree", "I agree"),
    Message("disagree", "I do not agree"),
    Message("wait_card", "Place your My Number Card on the reader"),
    Message("wait_card_hint", "Leave the card on the reader until the end."),
    Message("reinsert_title", "Place your card again"),
    Message("busy_prefetch", "Checking the card…"),
    Message("busy_verifying", "Reading the card…"),
    Message("busy_saving", "Registering…"),
    Message("busy_hint", "Please do not move the card."),
    Message("caution", "⚠ Caution"),
    # TRANSLATORS: button on the last-try warning: the resident has read it and goes on to the PIN.
    Message("last_try_continue", "I have read this, continue"),
    Message("pin_title", "Enter your PIN"),
    # TRANSLATORS: PIN pad key that submits the 4 digits; very short.
    Message("pin_ok", "OK"),
    # TRANSLATORS: PIN pad key that erases all digits; very short.
    Message("pin_clear", "Clear all"),
    # TRANSLATORS: PIN pad key that erases the last digit; very short.
    Message("pin_delete", "Delete one"),
    Plural("pin_progress", "{n} of 4 digits entered", "{n} of 4 digits entered"),
    Message("pin_hidden", "The number is never shown. Keep it hidden from others."),
    Message("pin_last_try_banner", "⚠ Last try. A wrong PIN locks it."),
    # TRANSLATORS: a button on the card-info PIN screen; keep it short.
    Message("same_as_auth", "My authentication PIN is the same number"),
    Message("confirm_title", "Please check the details on your card"),
    Message("name", "Name"),
    Message("address", "Address"),
    Message("birth_date", "Date of birth"),
    Message("sex", "Sex"),
    Message("sex_1", "Male"),
    Message("sex_2", "Female"),
    Message("sex_9", "Not applicable"),
    Message("sex_0", "Not known"),
    Message("confirm_yes", "Yes, these details are correct"),
    Message("confirm_no", "No, they are wrong"),
    Message("eligibility_title", "Result of the check"),
    Message("eligible", "✓ The kiosk's check found that you meet the conditions."),
    Message("register", "Register with these details"),
    Message("not_eligible_title", "✕ Conditions not met"),
    Message("receipt_title", "✓ Registration received"),
    Message("code_label", "Registration code"),
    Message(
        "qr_hint",
        "Please write down the registration code or take a photo of it. You need it if you contact us.",
    ),
    # TRANSLATORS: {phone} is the help line's number, {hours} its opening hours.
    Message("support", "Questions: {phone} ({hours})"),
    Message("finish", "Finish"),
    Message("ok", "OK"),
    Message("retry", "Try again"),
    Message("error_title", "⚠ The procedure cannot continue"),
    Message("take_card_title", "Please take your card"),
    Message("alarm", "⚠ Your card is still on the reader!"),
    Message("warning_title", "⚠ Do you need more time?"),
    # TRANSLATORS: must be the same words as “More time” in the timeout warning message.
    Message("extend", "More time"),
    Message("end_now", "End now"),
    Message("training", "Training mode (virtual card)"),
    Message("training_insert", "Place card"),
    Message("training_remove", "Take card"),
    # -- step bar, idle languages, one-screen consent (issue 12 items 3-6) --
    # TRANSLATORS: the step bar above each screen of the path, e.g. "Step 2 of 5", then the step's name.
    Message("step", "Step {n} of {total}"),
    # TRANSLATORS: step names in the step bar; a few words.
    Message("step_program", "Programme"),
    Message("step_consent", "Terms"),
    Message("step_card", "Card"),
    Message("step_pin", "PIN"),
    Message("step_confirm", "Check"),
    Message("step_receipt", "Receipt"),
    # TRANSLATORS: the step bar: {counter} is "Step 2 of 5", {name} the step's name ("Card"). Join
    # them as your script does (Japanese and Chinese: a full-width space; others: " · ").
    Message("step_joined", "{counter} · {name}"),
    # TRANSLATORS: attract screen, above the language buttons (each labelled in its own language).
    Message("idle_languages", "Touch your language to start"),
    Message("consent_intro", "Read the terms of each service and agree to each."),
    # TRANSLATORS: one agreement button per service; {name} is the service's name.
    Message("agree_service", "I agree: {name}"),
    # TRANSLATORS: the same button once agreed; keep the ✓.
    Message("agreed_service", "✓ Agreed: {name}"),
    # TRANSLATORS: after an optional service's name on the consent screen (keep the leading space).
    Message("optional_service", " (optional: agreeing registers it)"),
    # TRANSLATORS: the confirmation screen's main button: the details are right, register now.
    Message("confirm_register", "Yes, register with these details"),
    # TRANSLATORS: the header's language button: only your word for "language" (the button adds
    # the current language's own name and "Language" / 言語 itself).
    Message("language_button", "Language"),
    # TRANSLATORS: a label and its value on one line, e.g. "Name: Hanako Mihon" (Japanese: full-width colon).
    Message("labelled", "{label}: {value}"),
    # TRANSLATORS: the edition of a service's terms, read from its version id (…-2025-02).
    Message("terms_edition", "Terms ({year}-{month:02d} edition)"),
)

_TEXTS: Final[dict[str, Message | Plural]] = {entry.key: entry for entry in _ENTRIES}


#: The font family a screen language needs. One Noto CJK typeface covers Chinese, Japanese and
#: Korean, but each regional cut draws shared characters its own region's way (the JP cut's 直, 角,
#: 骨 look wrong to a reader of simplified Chinese), so 简体中文 and 한국어 get their own cuts; every
#: other language uses the kiosk's Japanese default (Latin, Vietnamese and Devanagari fall back per
#: script through fontconfig: Noto Sans, Noto Sans Devanagari; fonts-noto-core, fonts-noto-cjk).
FONT_FAMILIES: Final = {"zh-Hans": "Noto Sans CJK SC", "ko": "Noto Sans CJK KR"}
DEFAULT_FONT_FAMILY: Final = "Noto Sans CJK JP"


def font_family(language: str) -> str:
    """The font family for text in ``language`` (see :data:`FONT_FAMILIES`)."""
    return FONT_FAMILIES.get(language, DEFAULT_FONT_FAMILY)


def ui_text(key: str, language: str, **values: object) -> str:
    """The label ``key`` in ``language``, formatted (a plural label takes its count as ``n``)."""
    entry = _TEXTS[key]
    if isinstance(entry, Plural):
        count = values.pop("n")
        if not isinstance(count, int):
            raise TypeError(f"{key}: n must be an int")
        return entry.format(language, count, **values)
    return entry.format(language, **values) if values else entry.get(language)


_EDITION: Final = re.compile(r"-(\d{4})-(\d{2})\Z")


def terms_version_text(version: str, language: str) -> str:
    """「規約（2025年2月版）」 for a terms version id ending in ``-YYYY-MM`` (the review: the bare id
    ``miyagi-bousai-2025-02`` means nothing to a resident); other ids as 「規約の版：demo-1」."""
    match = _EDITION.search(version)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return ui_text("terms_version", language, v=version)
    return ui_text("terms_edition", language, year=int(match.group(1)), month=int(match.group(2)))


def labelled(key: str, value: str, language: str) -> str:
    """「氏名：見本 花子」 / "Name: …": the label ``key`` and a value, punctuated for ``language``."""
    return ui_text("labelled", language, label=ui_text(key, language), value=value)


def message(text: Translatable, language: str) -> str:
    """A flow message or programme text in ``language``."""
    return text.get(language)


def display_language(language: str) -> str:
    """The screen language for a profile language (every shipped one; anything else → English)."""
    return language if language in LANGUAGE_CODES else "en"
