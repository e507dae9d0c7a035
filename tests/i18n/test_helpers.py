"""The small formatting helpers the screens use with the catalogue: dates, label + value, terms
editions."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.i18n import LANGUAGE_CODES
from kiosk.messages import date_text
from ui.i18n import labelled, terms_version_text


def test_dates_follow_each_language() -> None:
    day = date(2025, 2, 3)
    assert date_text(day, "ja") == "2025年2月3日"
    assert date_text(day, "en") == "2025-02-03"
    assert date_text(day, "ko") == "2025년 2월 3일"
    assert date_text(day, "pt") == "03/02/2025"
    assert date_text(day, "tl") == "02/03/2025"  # the Philippines write month first
    for language in LANGUAGE_CODES:
        assert "2025" in date_text(day, language)


def test_label_and_value_use_the_languages_colon() -> None:
    assert labelled("name", "見本 花子", "ja") == "氏名：見本 花子"
    assert labelled("name", "Hanako", "en") == "Name: Hanako"
    assert labelled("address", "x", "zh-Hans") == "住址：x"


@pytest.mark.parametrize(
    ("version", "language", "expected"),
    [
        ("miyagi-bousai-2025-02", "ja", "規約（2025年2月版）"),
        ("miyagi-bousai-2025-02", "en", "Terms (2025-02 edition)"),
        ("utsunomiya-topup-2020-09", "ko", "약관 (2020년 9월 판)"),
        ("demo-1", "ja", "規約の版：demo-1"),  # no edition in the id: the id itself
        ("odd-2025-13", "en", "Terms version: odd-2025-13"),  # not a month
    ],
)
def test_terms_edition_from_the_version_id(version: str, language: str, expected: str) -> None:
    assert terms_version_text(version, language) == expected
