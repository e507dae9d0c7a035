"""Kiosk-side eligibility on the shipped programmes, by the kiosk clock in Asia/Tokyo."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.rules.address import parse_address
from kiosk.rules.eligibility import FINAL_NOTICE, ReasonCode, age_on, check_eligibility
from kiosk.rules.programs import load_programs

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = load_programs(ROOT / "config" / "programs")
JST = timezone(timedelta(hours=9))
SENDAI = "宮城県仙台市青葉区本町３丁目８番１号"
UTSUNOMIYA = "栃木県宇都宮市旭１丁目１番５号"
TOKYO = "東京都新宿区西新宿2-8-1"
BOTH = ("point", "disaster")


def _jst(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=JST)


CASES = [
    # programme, address, services, now, already, expected codes
    ("miyagi-point-2025-second", SENDAI, BOTH, _jst(2025, 2, 10), False, ()),
    ("miyagi-point-2025-second", TOKYO, BOTH, _jst(2025, 2, 10), False, (ReasonCode.NOT_RESIDENT,)),
    ("miyagi-point-2025-second", SENDAI, ("point",), _jst(2025, 2, 10), False, (ReasonCode.MISSING_SERVICE,)),
    ("miyagi-point-2025-second", SENDAI, BOTH, _jst(2025, 2, 2, 23, 59), False, (ReasonCode.NOT_STARTED,)),
    ("miyagi-point-2025-second", SENDAI, BOTH, _jst(2025, 2, 3, 0, 0), False, ()),
    ("miyagi-point-2025-second", SENDAI, BOTH, _jst(2025, 2, 20, 23, 59), False, ()),
    ("miyagi-point-2025-second", SENDAI, BOTH, _jst(2025, 2, 21, 0, 0), False, (ReasonCode.ENDED,)),
    # 2025-02-20 15:30 UTC is already 2025-02-21 in Japan: the period is Japanese calendar days.
    (
        "miyagi-point-2025-second",
        SENDAI,
        BOTH,
        datetime(2025, 2, 20, 15, 30, tzinfo=UTC),
        False,
        (ReasonCode.ENDED,),
    ),
    (
        "miyagi-point-2025-second",
        SENDAI,
        BOTH,
        _jst(2025, 2, 10),
        True,
        (ReasonCode.ALREADY_REGISTERED_HERE,),
    ),
    (
        "miyagi-point-2025-second",
        TOKYO,
        ("point",),
        _jst(2025, 3, 1),
        True,
        (
            ReasonCode.NOT_RESIDENT,
            ReasonCode.ENDED,
            ReasonCode.MISSING_SERVICE,
            ReasonCode.ALREADY_REGISTERED_HERE,
        ),
    ),
    ("miyagi-point-2024-lottery", SENDAI, BOTH, _jst(2024, 11, 18, 9), False, ()),
    ("miyagi-point-2024-lottery", SENDAI, BOTH, _jst(2025, 1, 26), False, (ReasonCode.ENDED,)),
    ("utsunomiya-topup", UTSUNOMIYA, ("point",), _jst(2020, 10, 1), False, ()),
    (
        "utsunomiya-topup",
        "栃木県河内郡上三川町しらさぎ1-1",
        ("point",),
        _jst(2020, 10, 1),
        False,
        (ReasonCode.NOT_RESIDENT,),
    ),
    ("utsunomiya-topup", SENDAI, ("point",), _jst(2020, 10, 1), False, (ReasonCode.NOT_RESIDENT,)),
    (
        "utsunomiya-topup",
        "宇都宮のどこか",
        ("point",),
        _jst(2020, 10, 1),
        False,
        (ReasonCode.ADDRESS_UNRECOGNIZED,),
    ),
    ("demo", TOKYO, ("point",), _jst(2031, 1, 1), False, ()),
    ("demo", TOKYO, ("disaster",), _jst(2031, 1, 1), False, (ReasonCode.MISSING_SERVICE,)),
]


@pytest.mark.parametrize(("program_id", "address", "services", "now", "already", "codes"), CASES)
def test_eligibility_table(program_id, address, services, now, already, codes) -> None:  # type: ignore[no-untyped-def]
    result = check_eligibility(
        PROGRAMS[program_id],
        address=address,
        birth_date=date(1960, 5, 5),
        services=services,
        now=now,
        already_registered_here=already,
    )
    assert result.codes == codes
    assert result.eligible is (codes == ())
    assert result.notice == FINAL_NOTICE
    for reason in result.reasons:
        assert re.search(r"(です|ます|ません|ました|ください)。$", reason.text.ja)  # polite です・ます
        assert reason.text.en.endswith(".")
        assert "本町" not in reason.text.ja  # the resident's address is never quoted back


def test_server_decision_is_final_in_both_languages() -> None:
    assert "最終的な審査" in FINAL_NOTICE.ja
    assert "final" in FINAL_NOTICE.en


def test_not_resident_reason_text() -> None:
    result = check_eligibility(
        PROGRAMS["miyagi-point-2025-second"],
        address=TOKYO,
        birth_date=date(1960, 5, 5),
        services=BOTH,
        now=_jst(2025, 2, 10),
        already_registered_here=False,
    )
    (reason,) = result.reasons
    assert reason.text.ja == "カードの住所がみやぎポイント 第二弾キャンペーンの対象地域ではありません。"
    assert "outside the area" in reason.text.en


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2007, 2, 10), date(2025, 2, 9), 17),
        (date(2007, 2, 10), date(2025, 2, 10), 18),
        (date(2004, 2, 29), date(2025, 2, 28), 20),
        (date(2004, 2, 29), date(2025, 3, 1), 21),
        (date(2004, 2, 29), date(2024, 2, 29), 20),
    ],
)
def test_age_on(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age


@pytest.mark.parametrize(("program_id", "address", "services", "now", "already", "expected"), CASES)
def test_a_shared_parsed_address_gives_the_same_answer(
    program_id: str,
    address: str,
    services: tuple[str, ...],
    now: datetime,
    already: bool,
    expected: tuple[ReasonCode, ...],
) -> None:
    """The server passes the address it parsed once; the answer must not depend on who parsed it."""
    plain = check_eligibility(
        PROGRAMS[program_id], address=address, birth_date=date(1980, 1, 1), services=services, now=now,
        already_registered_here=already,
    )  # fmt: skip
    shared = check_eligibility(
        PROGRAMS[program_id], address=address, birth_date=date(1980, 1, 1), services=services, now=now,
        already_registered_here=already, parsed_address=parse_address(address),
    )  # fmt: skip
    assert shared == plain
    assert shared.codes == expected
