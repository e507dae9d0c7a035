"""The printed registration slip: what it says, in the screen's language, with no personal data.

The slip is the resident's only lasting proof of the visit (issue 13 §5), so it holds what they need
later and nothing a finder could misuse: the registration code (and its QR, which encodes the code
alone), the date and time, the programme and the services registered, what happens next and when,
how to ask about the registration, the support line with its hours, and the anti-fraud notice.
It never holds the name, address, birth date, sex, My Number or anything read from the card:
:func:`build_slip` is not even given the flow state's resident (tested on the printed PDF and the
ESC/POS byte stream).

This module is pure data (``kiosk/`` never imports Qt): :mod:`ui.printing` lays a :class:`Slip`
out for Qt's print support (CUPS, A4 and 80 mm roll) and for ESC/POS receipt printers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from kiosk.i18n import Message
from kiosk.messages import ANTI_FRAUD, date_text, localize
from kiosk.rules.programs import AwardKind, Program

TITLE: Final = Message("slip.title", "Registration receipt")
CODE_LABEL: Final = Message("slip.code_label", "Registration code")
ISSUED: Final = Message("slip.issued", "Date and time: {when}")
PROGRAM: Final = Message("slip.program", "Programme: {name}")
SERVICES: Final = Message("slip.services", "Services registered: {names}")
NEXT_REVIEW: Final = Message(
    "slip.next_review",
    "What happens next: your registration is sent to the programme office, which reviews it. "
    "This receipt does not yet mean that you are eligible.",
)
NEXT_DRAW: Final = Message(
    "slip.next_draw", "The lottery is drawn on {date}. Winners are told by the programme office."
)
NEXT_PERIOD: Final = Message(
    "slip.next_period", "The review takes place after the registration period ends on {date}."
)
NEXT_NO_AWARD: Final = Message("slip.next_no_award", "This programme grants no award.")
STATUS: Final = Message(
    "slip.status",
    "To ask about your registration, call the support line and give the registration code above.",
)
SUPPORT: Final = Message("slip.support", "Support: {phone} ({hours})")
SUPPORT_NO_HOURS: Final = Message("slip.support_no_hours", "Support: {phone}")
KEEP: Final = Message(
    "slip.keep", "Keep this receipt. It holds no personal data: only the code identifies your registration."
)

#: Services joined on one line.
_LIST_SEPARATOR: Final = {"ja": "、", "ja-easy": "、", "zh-Hans": "、"}


@dataclass(frozen=True)
class Slip:
    """A slip ready to lay out: the code (ASCII; printed large and as a QR) and the text lines.

    ``lines`` are whole paragraphs in the screen language; the layout wraps them. ``anti_fraud``
    is kept apart so every layout can frame it as a warning.
    """

    language: str
    title: str
    code_label: str
    code: str
    lines: tuple[str, ...]
    anti_fraud: str

    def text(self) -> str:
        """Everything printed, as plain text (tests, and a printer that only takes text)."""
        return "\n".join((self.title, self.code_label, self.code, *self.lines, self.anti_fraud))


def _date(language: str, when: datetime | None = None, *, day: object = None) -> str:
    """A date (and time) the way the language writes it (the catalogue's ``date``:
    2026年12月3日 10:05, 03/12/2026 10:05, 2026-12-03 10:05)."""
    if when is not None:
        return f"{date_text(when.date(), language)} {when:%H:%M}"
    return date_text(day if isinstance(day, date) else date.fromisoformat(str(day)), language)


def build_slip(
    *,
    code: str,
    program: Program,
    services: Sequence[str],
    issued_at: datetime,
    language: str,
) -> Slip:
    """The slip for one registration. ``issued_at`` is the kiosk's local, aware time of the
    receipt; ``services`` are the registered service ids (shown by their names in the programme)."""
    names = [localize(program.terms_for(service).name, language) for service in services]
    separator = _LIST_SEPARATOR.get(language, ", ")
    lines = [
        ISSUED.format(language, when=_date(language, issued_at)),
        PROGRAM.format(language, name=localize(program.name, language)),
        SERVICES.format(language, names=separator.join(names)),
        NEXT_REVIEW.get(language),
    ]
    award = program.award
    if award.kind is AwardKind.LOTTERY and award.draw_date is not None:
        lines.append(NEXT_DRAW.format(language, date=_date(language, day=award.draw_date)))
    elif award.kind is AwardKind.NONE:
        lines.append(NEXT_NO_AWARD.get(language))
    elif program.period is not None:
        lines.append(NEXT_PERIOD.format(language, date=_date(language, day=program.period.end)))
    lines.append(STATUS.get(language))
    hours = localize(program.support_hours, language)
    if hours:
        lines.append(SUPPORT.format(language, phone=program.support_phone, hours=hours))
    else:
        lines.append(SUPPORT_NO_HOURS.format(language, phone=program.support_phone))
    lines.append(KEEP.get(language))
    return Slip(
        language=language,
        title=TITLE.get(language),
        code_label=CODE_LABEL.get(language),
        code=code,
        lines=tuple(lines),
        anti_fraud="⚠ " + localize(ANTI_FRAUD, language),
    )
