"""The printed 避難所受付カード (shelter check-in card): a random token, its QR, the card's text.

Issued at registration for residents who may not have their My Number Card with them in a
disaster. The token is random (no personal data, nothing derived from the card or the My Number):
the link to the resident exists only on the server, through the sealed
:class:`~kiosk.rules.shelter_record.CheckinCardRecord` queued with it. A lost card lets its finder check
a stranger in at a shelter, nothing more (docs/shelter.md §3).

Token: 14 characters of the registration-code alphabet (no 0/O, 1/I/L, U; about 69 bits) and a
Luhn mod 30 check character, shown ``XXXXX-XXXXX-XXXXX``: three groups of five, so it cannot be
mistaken for a registration code (``XXXX-XXXX-XXXX-XXXX``, the receipt's). The QR carries
``MDGC1:`` and the 15 characters; a USB scanner types it like a keyboard, so
:func:`normalize_token` accepts the QR text, the grouped form, lower case and full-width
characters alike.

Printing belongs to the printer module (a11y); this module only produces the content
(:func:`card_content`), so the layout is testable without a printer.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from kiosk.ports import RegistrationQueue
from kiosk.rules.record import CODE_ALPHABET, KioskStamp
from kiosk.rules.shelter_record import CHECKIN_PROGRAM_ID, CheckinCardRecord, ContactRecord, new_record_id
from kiosk.sequence import RecordSequence

TOKEN_DATA_LENGTH: Final = 14
QR_PREFIX: Final = "MDGC1:"


def _check_char(chars: str) -> str:
    """Luhn mod N over the alphabet: catches every single-character error and adjacent swaps."""
    n = len(CODE_ALPHABET)
    total, factor = 0, 2
    for ch in reversed(chars):
        addend = factor * CODE_ALPHABET.index(ch)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return CODE_ALPHABET[(n - total % n) % n]


def new_token(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh token in canonical form (15 characters, no separators)."""
    data = "".join(CODE_ALPHABET[randbelow(len(CODE_ALPHABET))] for _ in range(TOKEN_DATA_LENGTH))
    return data + _check_char(data)


def normalize_token(text: str) -> str | None:
    """The canonical token from what a scanner or a person typed, or None if it is not one."""
    raw = unicodedata.normalize("NFKC", text).strip().upper()
    if raw.startswith(QR_PREFIX):
        raw = raw[len(QR_PREFIX) :]
    raw = "".join(c for c in raw if c not in " -‐ー")
    if len(raw) != TOKEN_DATA_LENGTH + 1 or any(c not in CODE_ALPHABET for c in raw):
        return None
    return raw if _check_char(raw[:-1]) == raw[-1] else None


def display_token(token: str) -> str:
    """``XXXXX-XXXXX-XXXXX`` for the card and for typing."""
    return "-".join(token[i : i + 5] for i in range(0, len(token), 5))


@dataclass(frozen=True)
class CardContent:
    """What the printer lays out on a wallet-size card (no personal data on it)."""

    title_ja: str
    title_en: str
    lines_ja: tuple[str, ...]
    lines_en: tuple[str, ...]
    token_text: str = field(repr=False)
    qr_text: str = field(repr=False)
    #: QR modules, row by row, True = dark, with the quiet zone (4 modules).
    qr_matrix: tuple[tuple[bool, ...], ...] = field(repr=False)


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code of ``text`` (error correction M: survives a worn wallet card) as modules."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in code.get_matrix())


def card_content(token: str) -> CardContent:
    """The card for ``token`` (canonical form from :func:`new_token`)."""
    qr_text = QR_PREFIX + token
    return CardContent(
        title_ja="避難所受付カード",
        title_en="Shelter check-in card",
        lines_ja=(
            "災害時、避難所の受付でこのカードを読み取ってください。",
            "マイナンバーカードがなくても受付できます。",
            "個人情報は書かれていません。なくしたときは窓口へ。",
        ),
        lines_en=(
            "At an evacuation shelter, scan this card at the reception.",
            "It works without your My Number Card.",
            "It holds no personal data. Report a lost card at the counter.",
        ),
        token_text=display_token(token),
        qr_text=qr_text,
        qr_matrix=qr_matrix(qr_text),
    )


def issue_checkin_card(
    queue: RegistrationQueue,
    *,
    kiosk_id: str,
    registration_record_id: str,
    sequence: RecordSequence,
    clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    new_id: Callable[[], str] = new_record_id,
) -> tuple[CheckinCardRecord, CardContent]:
    """Issue a 避難所受付カード for a registration the kiosk just queued: the token's record is
    committed to the outbox first (so a printed card is never one the server will not know), then
    the content is returned for the printer.

    :raises QueueRefusedError: nothing was queued; print nothing.
    """
    token = new_token()
    record = CheckinCardRecord(
        record_id=new_id(),
        registration_record_id=registration_record_id,
        token=token,
        kiosk=KioskStamp(kiosk_id, clock(), sequence.next()),
    )
    queue.enqueue(record.plaintext(), record_id=record.record_id, program_id=CHECKIN_PROGRAM_ID)
    return record, card_content(token)


def queue_contact(
    queue: RegistrationQueue,
    *,
    kiosk_id: str,
    registration_record_id: str,
    phone: str | None,
    channel: str | None,
    terms_version: str,
    sequence: RecordSequence,
    clock: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    new_id: Callable[[], str] = new_record_id,
) -> ContactRecord:
    """Queue the optional evacuation-notice contact the resident consented to at registration
    (``phone`` digits only; ``None`` with ``channel=None`` withdraws an earlier one).

    :raises RecordFormatError: not a Japanese phone number, or not ``sms`` / ``voice``.
    :raises QueueRefusedError: nothing was queued.
    """
    now = clock()
    digits = (
        None if phone is None else "".join(c for c in unicodedata.normalize("NFKC", phone) if c.isdigit())
    )
    record = ContactRecord(
        record_id=new_id(),
        registration_record_id=registration_record_id,
        phone=digits,
        channel=channel,
        terms_version=terms_version,
        accepted_at=now,
        kiosk=KioskStamp(kiosk_id, now, sequence.next()),
    )
    queue.enqueue(record.plaintext(), record_id=record.record_id, program_id=CHECKIN_PROGRAM_ID)
    return record
