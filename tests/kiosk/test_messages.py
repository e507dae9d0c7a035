"""Every error the flow can show has polite Japanese and English text."""

from __future__ import annotations

import re

import pytest

from kiosk.flow import ErrorKind
from kiosk.messages import ANTI_FRAUD, ERRORS, QUEUED, REINSERT, TAKE_CARD, error_text, timeout_warning_text

POLITE = re.compile(r"(です|ます|ません|ました|ください|ますか)。$")


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_has_polite_ja_and_en(kind: ErrorKind) -> None:
    text = ERRORS[kind]
    assert POLITE.search(text.ja), text.ja
    assert text.en.endswith((".", "?"))


def test_notices() -> None:
    for text in (ANTI_FRAUD, QUEUED, REINSERT, TAKE_CARD):
        assert POLITE.search(text.ja)
    assert POLITE.search(timeout_warning_text(30, "ja"))
    assert "30秒" in timeout_warning_text(30, "ja")
    assert "暗証番号" in ANTI_FRAUD.ja
    assert "My Number" in ANTI_FRAUD.en
    assert "審査" in QUEUED.ja  # honest status: sent and reviewed later, not granted


def test_tries_left_is_added() -> None:
    assert error_text(ErrorKind.PIN_INCORRECT, "ja", tries_left=2).endswith("残り回数：2回です。")
    en = error_text(ErrorKind.PIN_INCORRECT, "en", tries_left=2)
    assert en == "The PIN is incorrect. You have 2 tries left."
    assert error_text(ErrorKind.PIN_INCORRECT, "en", tries_left=1).endswith("You have 1 try left.")
    assert error_text(ErrorKind.PIN_BLOCKED, "xx") == ERRORS[ErrorKind.PIN_BLOCKED].en  # unknown: English


def test_last_try_says_the_count_once() -> None:
    for language in ("ja", "en", "pt"):
        text = error_text(ErrorKind.PIN_LAST_TRY, language, tries_left=1)
        assert text == ERRORS[ErrorKind.PIN_LAST_TRY].get(language)
    assert error_text(ErrorKind.PIN_LAST_TRY, "ja", tries_left=1).count("1回") == 1
