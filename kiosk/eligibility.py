"""Kiosk-side eligibility: what the kiosk can decide offline, said honestly.

The kiosk checks residency (on the normalized card address), age and the period (by its own clock,
in Asia/Tokyo), and whether this person already registered for the programme at this kiosk. Quota,
one grant per person across kiosks and exclusion lists need the server: the result always carries
:data:`FINAL_NOTICE`, and an "eligible" here is a preliminary answer, never a grant.

Reasons are typed (:class:`ReasonCode`) with polite Japanese (です・ます) and English text, and never
quote the resident's data back (the screen may be seen by others, DESIGN.md R-SE-08).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, unique
from typing import Final

from kiosk.address import ParsedAddress, parse_address
from kiosk.programs import JST, Localized, Program


@unique
class ReasonCode(Enum):
    """Why the kiosk believes a resident is not eligible."""

    NOT_RESIDENT = "not_resident"
    ADDRESS_UNRECOGNIZED = "address_unrecognized"
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    MISSING_SERVICE = "missing_service"
    ALREADY_REGISTERED_HERE = "already_registered_here"


@dataclass(frozen=True)
class Reason:
    """One reason, with the text shown to the resident."""

    code: ReasonCode
    text: Localized


@dataclass(frozen=True)
class Eligibility:
    """The kiosk's preliminary decision; the server's decision is final (:data:`FINAL_NOTICE`)."""

    eligible: bool
    reasons: tuple[Reason, ...]
    notice: Localized

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.reasons)


FINAL_NOTICE: Final = Localized(
    ja="この判定は窓口端末での確認です。最終的な判定は事務局のサーバーが行い、結果が変わる場合があります。",
    en="This is the kiosk's preliminary check. The final decision is made by the programme's central "
    "server and may differ.",
)


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``. A 29 February birthday counts from 1 March in common years,
    as under 年齢計算ニ関スル法律 (the age is reached when the day before the birthday ends)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _reason(code: ReasonCode, program: Program) -> Reason:
    name = program.name
    period = program.period
    texts: dict[ReasonCode, Localized] = {
        ReasonCode.NOT_RESIDENT: Localized(
            f"カードの住所が{name.ja}の対象地域ではありません。",
            f"The address on the card is outside the area of {name.en}.",
        ),
        ReasonCode.ADDRESS_UNRECOGNIZED: Localized(
            "カードの住所から市区町村を確認できませんでした。窓口の職員にお尋ねください。",
            "The kiosk could not recognise the municipality in the card address. Please ask the staff.",
        ),
        ReasonCode.TOO_YOUNG: Localized(
            f"{name.ja}は{program.age.minimum}歳以上の方が対象です。",
            f"{name.en} is for people aged {program.age.minimum} or over.",
        ),
        ReasonCode.TOO_OLD: Localized(
            f"{name.ja}は{program.age.maximum}歳以下の方が対象です。",
            f"{name.en} is for people aged {program.age.maximum} or under.",
        ),
        ReasonCode.NOT_STARTED: Localized(
            f"受付期間前です。受付は{_ja_date(period.start) if period else ''}から始まります。",
            f"Registration has not started yet. It opens on {period.start.isoformat() if period else ''}.",
        ),
        ReasonCode.ENDED: Localized(
            f"受付期間は{_ja_date(period.end) if period else ''}で終了しました。",
            f"Registration closed on {period.end.isoformat() if period else ''}.",
        ),
        ReasonCode.MISSING_SERVICE: Localized(
            "対象となるには、"
            + "と".join(program.terms_for(s).name.ja for s in sorted(program.required_services))
            + "の両方への登録が必要です。"
            if len(program.required_services) > 1
            else "対象となるには、"
            + "".join(program.terms_for(s).name.ja for s in program.required_services)
            + "への登録が必要です。",
            "To qualify you must register for "
            + " and ".join(program.terms_for(s).name.en for s in sorted(program.required_services))
            + ".",
        ),
        ReasonCode.ALREADY_REGISTERED_HERE: Localized(
            f"このカードはこの端末で既に{name.ja}に登録済みです。",
            f"This card is already registered for {name.en} at this kiosk.",
        ),
    }
    return Reason(code, texts[code])


def _ja_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def check_eligibility(
    program: Program,
    *,
    address: str,
    birth_date: date,
    services: Iterable[str],
    now: datetime,
    already_registered_here: bool,
    parsed_address: ParsedAddress | None = None,
) -> Eligibility:
    """Apply the offline rules of ``program`` at the kiosk's time ``now`` (aware datetime).

    Every failing rule is reported, in a stable order, so the resident hears all reasons at once.
    ``parsed_address`` is ``parse_address(address)`` when the caller has it already (the server
    needs the municipality too and would otherwise parse every address twice).
    """
    codes: list[ReasonCode] = []
    parsed = parse_address(address) if parsed_address is None else parsed_address
    rule = program.residency
    if not rule.unrestricted:
        if parsed.prefecture is None or (rule.municipalities and parsed.municipality is None):
            codes.append(ReasonCode.ADDRESS_UNRECOGNIZED)
        else:
            resident = parsed.prefecture in rule.prefectures or any(
                m.prefecture == parsed.prefecture and parsed.in_municipality(m.name)
                for m in rule.municipalities
            )
            if not resident:
                codes.append(ReasonCode.NOT_RESIDENT)
    today = now.astimezone(JST).date()
    age = age_on(birth_date, today)
    if program.age.minimum is not None and age < program.age.minimum:
        codes.append(ReasonCode.TOO_YOUNG)
    if program.age.maximum is not None and age > program.age.maximum:
        codes.append(ReasonCode.TOO_OLD)
    if program.period is not None:
        if today < program.period.start:
            codes.append(ReasonCode.NOT_STARTED)
        elif today > program.period.end:
            codes.append(ReasonCode.ENDED)
    if not program.required_services <= set(services):
        codes.append(ReasonCode.MISSING_SERVICE)
    if already_registered_here:
        codes.append(ReasonCode.ALREADY_REGISTERED_HERE)
    return Eligibility(
        eligible=not codes,
        reasons=tuple(_reason(code, program) for code in codes),
        notice=FINAL_NOTICE,
    )
