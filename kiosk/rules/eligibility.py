"""Kiosk-side eligibility: what the kiosk can decide offline, said honestly.

The kiosk checks residency (on the normalized card address), age and the period (by its own clock,
in Asia/Tokyo), and whether this person already registered for the programme at this kiosk. Quota,
one grant per person across kiosks and exclusion lists need the server: the result always carries
:data:`FINAL_NOTICE`, and an "eligible" here is a preliminary answer, never a grant.

Reasons are typed (:class:`ReasonCode`) with catalogue texts (:mod:`kiosk.i18n`, every shipped
language) that name the programme, an age or a date and never quote the resident's data back (the
screen may be seen by others, DESIGN.md R-SE-08).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, unique
from typing import Final

from kiosk.i18n import Message, Translatable
from kiosk.rules.address import ParsedAddress, parse_address
from kiosk.rules.programs import JST, Localized, Program


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
    text: Translatable


@dataclass(frozen=True)
class Eligibility:
    """The kiosk's preliminary decision; the server's decision is final (:data:`FINAL_NOTICE`)."""

    eligible: bool
    reasons: tuple[Reason, ...]
    notice: Translatable

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """The reason codes, in order."""
        return tuple(r.code for r in self.reasons)


FINAL_NOTICE: Final = Message(
    "final_notice",
    "This is the kiosk's preliminary check. The programme office makes the final review, "
    "and you may be found not eligible.",
)


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``. A 29 February birthday counts from 1 March in common years,
    as under 年齢計算ニ関スル法律 (the age is reached when the day before the birthday ends)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_REASONS: Final = {
    ReasonCode.NOT_RESIDENT: Message(
        "reason.not_resident", "The address on the card is outside the area of {program}."
    ),
    ReasonCode.ADDRESS_UNRECOGNIZED: Message(
        "reason.address_unrecognized",
        "The kiosk could not recognise the municipality in the card's address. Please ask a staff member.",
    ),
    ReasonCode.TOO_YOUNG: Message("reason.too_young", "{program} is for people aged {age} or over."),
    ReasonCode.TOO_OLD: Message("reason.too_old", "{program} is for people aged {age} or under."),
    ReasonCode.NOT_STARTED: Message(
        "reason.not_started", "Registration has not started yet. It opens on {date}."
    ),
    ReasonCode.ENDED: Message("reason.ended", "Registration closed on {date}."),
    ReasonCode.ALREADY_REGISTERED_HERE: Message(
        "reason.already_registered_here", "This card is already registered for {program} at this kiosk."
    ),
}
_MISSING_ONE: Final = Message("reason.missing_service", "To qualify, you must register for {service}.")
_MISSING_TWO: Final = Message(
    "reason.missing_services", "To qualify, you must register for both {first} and {second}."
)
# TRANSLATORS: a calendar date; keep the three placeholders ({month:02d} = two digits).
DATE: Final = Message("date", "{year}-{month:02d}-{day:02d}")


def reason_for(code: ReasonCode, program: Program) -> Reason:
    """The reason ``code`` for ``program``, with its text in every language (also for screenshots)."""
    period = program.period
    if code is ReasonCode.MISSING_SERVICE:
        names = [program.terms_for(s).name for s in sorted(program.required_services)]
        # Two services exist (kiosk.rules.record.SERVICES), so at most two are required.
        text = (
            _MISSING_ONE.bind(service=names[0])
            if len(names) == 1
            else _MISSING_TWO.bind(first=names[0], second=names[1])
        )
        return Reason(code, text)
    day = None if period is None else period.start if code is ReasonCode.NOT_STARTED else period.end
    date_text = (
        DATE.bind(year=day.year, month=day.month, day=day.day) if day is not None else Localized("", "")
    )
    age = program.age.minimum if code is ReasonCode.TOO_YOUNG else program.age.maximum
    return Reason(code, _REASONS[code].bind(program=program.name, age=age, date=date_text))


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
        reasons=tuple(reason_for(code, program) for code in codes),
        notice=FINAL_NOTICE,
    )
