"""Every error the flow can show has polite Japanese and English text."""

from __future__ import annotations

import re

import pytest

from kiosk.flow import ErrorKind
from kiosk.messages import ANTI_FRAUD, ERRORS, QUEUED, REINSERT, TAKE_CARD, TIMEOUT_WARNING, error_text

POLITE = re.compile(r"(です|ます|ません|ました|ください|ますか)。$")


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_has_polite_ja_and_en(kind: ErrorKind) -> None:
    text = ERRORS[kind]
    assert POLITE.search(text.ja), text.ja
    assert text.en.endswith((".", "?"))


def test_notices() -> None:
    for text in (ANTI_FRAUD, QUEUED, REINSERT, TAKE_CARD, TIMEOUT_WARNING):
        assert POLITE.search(text.ja)
    assert "暗証番号" in ANTI_FRAUD.ja
    assert "My Number" in ANTI_FRAUD.en
    assert "送信待ち" in QUEUED.ja  # honest status: queued, not granted


def test_tries_left_is_added() -> None:
    assert error_text(ErrorKind.PIN_INCORRECT, "ja", tries_left=2).endswith("残り回数：2回です。")
    assert error_text(ErrorKind.PIN_INCORRECT, "en", tries_left=2) == "The PIN is incorrect. Tries left: 2."
    assert error_text(ErrorKind.PIN_BLOCKED, "vi") == ERRORS[ErrorKind.PIN_BLOCKED].en
