"""Personas: the synthetic card holders the virtual card is built from (TOML data files).

A persona is the whole variable part of a card: the basic four (基本4情報), the My Number, the
credentials with their remaining tries and the certificate validity. Everything else (keys, EF
layout, certificates) is derived. The schema is an interface shared with every test in the project
and is documented in ``docs/virtual-card.md``.

Personas hold secrets (PINs) and personal data, synthetic as they are: ``repr`` shows only the id
and the label, and :class:`card.virtual.errors.PersonaError` names fields, never values.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from card.virtual.errors import PersonaError

#: Where the shipped personas live (``<id>.toml``).
PERSONA_DIR = Path(__file__).resolve().parent / "personas"
#: The persona used when none is named: the J-LIS test-card data of mynacard-protocol.md §4.1.
DEFAULT_PERSONA = "jlis-test"

# mynacard-protocol.md §3: maximum tries per credential.
AUTH_PIN_TRIES = 3
CARD_INFO_PIN_TRIES = 3
SIGNATURE_PASSWORD_TRIES = 5

_FOUR_DIGITS = re.compile(r"[0-9]{4}")
_SIGNATURE_PASSWORD = re.compile(r"[A-Z0-9]{6,16}")  # §3: 6-16 upper-case alphanumerics
_MY_NUMBER = re.compile(r"[0-9]{12}")
_SEX_CODES = frozenset({"1", "2", "9", "0"})  # §4.1: ISO 5218 / JIS X 0303

_DEFAULT_NOT_BEFORE = dt.datetime(2025, 4, 1, 0, 0, 0, tzinfo=dt.UTC)
_DEFAULT_NOT_AFTER = dt.datetime(2030, 3, 31, 14, 59, 59, tzinfo=dt.UTC)
_DEFAULT_CARD_EXPIRY = dt.date(2035, 3, 31)

# Japanese era starts (first day), newest first: used for 照合番号B (§3), era-year YYMMDD.
_ERAS: tuple[tuple[dt.date, int], ...] = (
    (dt.date(2019, 5, 1), 5),  # 令和
    (dt.date(1989, 1, 8), 4),  # 平成
    (dt.date(1926, 12, 25), 3),  # 昭和
    (dt.date(1912, 7, 30), 2),  # 大正
    (dt.date(1868, 1, 25), 1),  # 明治
)


def my_number_check_digit(first_eleven: str) -> int:
    """Check digit of a 12-digit My Number (mynacard-protocol.md §4.2).

    Digits P1..P11 are counted from the right; weights are 2-7 for P1..P6 and 2-6 for P7..P11;
    r = Σ mod 11; the check digit is 0 when r ≤ 1, else 11 − r.
    """
    if len(first_eleven) != 11 or not first_eleven.isdigit():
        raise ValueError("expected 11 ASCII digits")
    total = 0
    for n, char in enumerate(reversed(first_eleven), start=1):
        weight = n + 1 if n <= 6 else n - 5
        total += int(char) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(value: str) -> bool:
    """True for 12 ASCII digits whose last digit is the §4.2 check digit."""
    return bool(_MY_NUMBER.fullmatch(value)) and my_number_check_digit(value[:11]) == int(value[11])


def japanese_era(day: dt.date) -> tuple[int, int]:
    """(era number 1=明治 … 5=令和, year within the era) of a Gregorian date."""
    for start, era in _ERAS:
        if day >= start:
            return era, day.year - start.year + 1
    raise ValueError("date before the Meiji era")


@dataclass(frozen=True)
class TriesLeft:
    """Remaining tries of the three credentials the kiosk cares about (§3)."""

    auth: int = AUTH_PIN_TRIES
    card_info: int = CARD_INFO_PIN_TRIES
    signature: int = SIGNATURE_PASSWORD_TRIES


@dataclass(frozen=True, repr=False)
class Persona:
    """One synthetic card holder. Frozen and hashable: cards built from it are cached per process."""

    id: str
    label: str
    name: str
    address: str
    birth_date: dt.date
    sex: str
    my_number: str
    auth_pin: str
    card_info_pin: str
    signature_password: str
    tries_left: TriesLeft = TriesLeft()
    not_before: dt.datetime = _DEFAULT_NOT_BEFORE
    not_after: dt.datetime = _DEFAULT_NOT_AFTER
    card_expiry: dt.date = _DEFAULT_CARD_EXPIRY
    security_code: str = "0000"

    def __repr__(self) -> str:
        return f"Persona(id={self.id!r}, label={self.label!r})"

    @property
    def verification_code_b(self) -> str:
        """照合番号B (§3): birth date as era-year YYMMDD + card expiry year + 4-digit security code."""
        _, year = japanese_era(self.birth_date)
        birth = f"{year % 100:02d}{self.birth_date.month:02d}{self.birth_date.day:02d}"
        return f"{birth}{self.card_expiry.year:04d}{self.security_code}"

    @property
    def birth_key(self) -> str:
        """券面事項確認AP 生年月日 key (§3): era-year YYMMDD."""
        return self.verification_code_b[:6]


def list_personas() -> list[str]:
    """Ids of the shipped personas, sorted."""
    return sorted(p.stem for p in PERSONA_DIR.glob("*.toml"))


def load_persona(name_or_path: str | Path) -> Persona:
    """Load a shipped persona by id (``"jlis-test"``) or any persona file by path.

    Raises :class:`PersonaError` when the file is missing or any field is invalid.
    """
    path = _resolve(name_or_path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise PersonaError(f"persona {path.stem!r}: cannot read the file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError:
        raise PersonaError(f"persona {path.stem!r}: not valid TOML") from None
    return _parse(path.stem, raw)


def _resolve(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith(".toml"):
        path = Path(name_or_path)
        if not path.is_file():
            raise PersonaError(f"persona file {path.name!r} does not exist")
        return path
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", text):
        raise PersonaError(f"persona id {text!r} is not a valid id")
    path = PERSONA_DIR / f"{text}.toml"
    if not path.is_file():
        raise PersonaError(f"no persona named {text!r} (known: {', '.join(list_personas())})")
    return path


def _parse(persona_id: str, raw: dict[str, Any]) -> Persona:
    def fail(what: str) -> PersonaError:
        return PersonaError(f"persona {persona_id!r}: {what}")

    def text(key: str, table: dict[str, Any] = raw) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise fail(f"{key!r} must be a non-empty string")
        return value

    known = {
        "label",
        "name",
        "address",
        "birth_date",
        "sex",
        "my_number",
        "auth_pin",
        "card_info_pin",
        "signature_password",
        "tries_left",
        "certificate",
        "card",
    }
    unknown = set(raw) - known
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")

    label = raw.get("label", persona_id)
    if not isinstance(label, str):
        raise fail("'label' must be a string")
    name = text("name")
    address = text("address")
    birth_date = _date(raw.get("birth_date"), fail, "birth_date")
    sex = text("sex")
    if sex not in _SEX_CODES:
        raise fail("'sex' must be one of '1', '2', '9', '0'")
    my_number = text("my_number")
    if not is_valid_my_number(my_number):
        raise fail("'my_number' must be 12 digits with a valid check digit (§4.2)")
    auth_pin = text("auth_pin")
    card_info_pin = text("card_info_pin")
    for key, value in (("auth_pin", auth_pin), ("card_info_pin", card_info_pin)):
        if not _FOUR_DIGITS.fullmatch(value):
            raise fail(f"{key!r} must be 4 ASCII digits")
    signature_password = text("signature_password")
    if not _SIGNATURE_PASSWORD.fullmatch(signature_password):
        raise fail("'signature_password' must be 6-16 characters A-Z 0-9")

    tries = _table(raw, "tries_left", fail, {"auth", "card_info", "signature"})
    tries_left = TriesLeft(
        auth=_tries(tries, "auth", AUTH_PIN_TRIES, fail),
        card_info=_tries(tries, "card_info", CARD_INFO_PIN_TRIES, fail),
        signature=_tries(tries, "signature", SIGNATURE_PASSWORD_TRIES, fail),
    )
    certificate = _table(raw, "certificate", fail, {"not_before", "not_after"})
    not_before = _datetime(certificate.get("not_before", _DEFAULT_NOT_BEFORE), fail, "not_before")
    not_after = _datetime(certificate.get("not_after", _DEFAULT_NOT_AFTER), fail, "not_after")
    if not_after <= not_before:
        raise fail("certificate 'not_after' must be after 'not_before'")
    card = _table(raw, "card", fail, {"expiry", "security_code"})
    card_expiry = _date(card.get("expiry", _DEFAULT_CARD_EXPIRY), fail, "card.expiry")
    security_code = card.get("security_code", "0000")
    if not isinstance(security_code, str) or not _FOUR_DIGITS.fullmatch(security_code):
        raise fail("'card.security_code' must be 4 ASCII digits")
    try:
        japanese_era(birth_date)
    except ValueError:
        raise fail("'birth_date' is before 1868") from None
    return Persona(
        id=persona_id,
        label=label,
        name=name,
        address=address,
        birth_date=birth_date,
        sex=sex,
        my_number=my_number,
        auth_pin=auth_pin,
        card_info_pin=card_info_pin,
        signature_password=signature_password,
        tries_left=tries_left,
        not_before=not_before,
        not_after=not_after,
        card_expiry=card_expiry,
        security_code=security_code,
    )


def _table(raw: dict[str, Any], key: str, fail: Any, allowed: set[str]) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"[{key}] must be a table")
    unknown = set(value) - allowed
    if unknown:
        raise fail(f"unknown keys in [{key}]: {sorted(unknown)}")
    return value


def _tries(table: dict[str, Any], key: str, maximum: int, fail: Any) -> int:
    value = table.get(key, maximum)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise fail(f"tries_left.{key} must be an integer 0..{maximum}")
    return value


def _date(value: object, fail: Any, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise fail(f"{key!r} must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise fail(f"{key!r} must be a date YYYY-MM-DD")


def _datetime(value: object, fail: Any, key: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise fail(f"certificate {key!r} must be an RFC 3339 date-time") from None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise fail(f"certificate {key!r} must be a date-time")
