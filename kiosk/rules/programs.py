"""Programme definitions (``config/programs/*.toml``), loaded and validated at start-up.

A programme says who may register, when, for which services under which terms, and what the
resident gets (DESIGN.md §6; schema in docs/programs.md). The kiosk applies what it can offline
(residency, age, period by its clock, see :mod:`kiosk.rules.eligibility`); the server imports the same
definitions for the final decision (quota, one grant per person, exclusion lists).

Every validation error names the file, the key and the reason (:class:`~kiosk.errors.ProgramError`).
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum, unique
from pathlib import Path
from typing import Any, Final, NoReturn

from kiosk.errors import ProgramError
from kiosk.i18n import LANGUAGE_CODES
from kiosk.rules.address import parse_address
from kiosk.rules.record import SERVICES

#: Programme periods are Japanese calendar days; Japan has no daylight saving time.
JST: Final = timezone(timedelta(hours=9), "JST")
_ID = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}\Z")
_PHONE = re.compile(r"^[0-9][0-9\-]{8,14}\Z")
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Localized:
    """A programme text: Japanese and English (required) and optional other languages.

    Fallback (docs/programs.md): the language itself; for ``ja-easy`` then polite ``ja`` (it is
    Japanese, and a reader of やさしい日本語 may read no English); then English; then Japanese.
    """

    ja: str
    en: str
    #: The other languages' texts as (language code, text), sorted by code.
    others: tuple[tuple[str, str], ...] = ()

    def get(self, language: str) -> str:
        """The text for ``language``, with the fallback above."""
        if language == "ja":
            return self.ja
        for code, text in self.others:
            if code == language:
                return text
        return self.ja if language == "ja-easy" else self.en

    def languages(self) -> frozenset[str]:
        """The languages this text has of its own (no fallback)."""
        return frozenset({"ja", "en"} | {code for code, _ in self.others})


@dataclass(frozen=True)
class Period:
    """Registration period: first and last calendar day (inclusive) in Asia/Tokyo."""

    start: date
    end: date

    def contains(self, moment: datetime) -> bool:
        """Whether the aware ``moment`` falls on one of the period's days in Japan."""
        return self.start <= moment.astimezone(JST).date() <= self.end


@dataclass(frozen=True)
class Municipality:
    """A municipality in a residency rule, always with its prefecture (府中市 exists twice)."""

    prefecture: str
    name: str


@dataclass(frozen=True)
class Residency:
    """Who counts as a resident: any listed prefecture, or any listed municipality. Both empty:
    everyone."""

    prefectures: tuple[str, ...]
    municipalities: tuple[Municipality, ...]

    @property
    def unrestricted(self) -> bool:
        """True when the programme is open to residents of anywhere."""
        return not self.prefectures and not self.municipalities


@dataclass(frozen=True)
class AgeRule:
    """Inclusive age bounds on the registration day (kiosk clock, Asia/Tokyo); None = no bound."""

    minimum: int | None
    maximum: int | None


@dataclass(frozen=True)
class ServiceTerms:
    """One service the programme registers, with the terms the resident accepts."""

    service: str
    required: bool
    name: Localized
    terms_version: str
    terms: Localized


@unique
class AwardKind(Enum):
    """How the award is decided (by the server)."""

    ALL_ELIGIBLE = "all_eligible"
    LOTTERY = "lottery"
    NONE = "none"


@dataclass(frozen=True)
class Award:
    """What an eligible resident receives. ``quota``/``draw_date`` apply to lotteries;
    ``everyone_wins_below_quota`` means every participant wins when fewer than ``quota`` register."""

    kind: AwardKind
    points: int
    quota: int | None
    draw_date: date | None
    everyone_wins_below_quota: bool


@dataclass(frozen=True)
class Exclusions:
    """Who is excluded, decided by the server: recipients of other programmes (by id) and lists
    of keyed person hashes (HMAC-SHA256 hex, one per line; never names or numbers)."""

    recipients_of: tuple[str, ...]
    hash_lists: tuple[Path, ...]


@dataclass(frozen=True)
class Program:
    """One programme, validated."""

    path: Path
    id: str
    name: Localized
    issuer: Localized
    description: Localized
    period: Period | None
    residency: Residency
    age: AgeRule
    services: tuple[ServiceTerms, ...]
    award: Award
    one_grant_per_person: bool
    exclusions: Exclusions
    support_phone: str
    support_hours: Localized

    @property
    def required_services(self) -> frozenset[str]:
        """Services the resident must register for the award."""
        return frozenset(s.service for s in self.services if s.required)

    def terms_for(self, service: str) -> ServiceTerms:
        """The terms of ``service``; :class:`KeyError` if the programme does not offer it."""
        for terms in self.services:
            if terms.service == service:
                return terms
        raise KeyError(service)


def missing_translations(program: Program) -> list[tuple[str, str]]:
    """The (key, language) pairs of the programme's texts that lack a shipped language, e.g.
    ``("services[0].terms", "ne")``: those fall back (see :class:`Localized`). Empty texts (an absent
    optional ``description``) count as complete."""
    texts: list[tuple[str, Localized]] = [
        ("name", program.name),
        ("issuer", program.issuer),
        ("description", program.description),
        ("support_hours", program.support_hours),
    ]
    for index, terms in enumerate(program.services):
        texts += [(f"services[{index}].name", terms.name), (f"services[{index}].terms", terms.terms)]
    return [
        (key, code)
        for key, text in texts
        if text.ja or text.en
        for code in LANGUAGE_CODES
        if code not in text.languages()
    ]


def load_programs(directory: Path) -> dict[str, Program]:
    """Load every ``*.toml`` in ``directory``, keyed by programme id (= file stem).

    A programme whose texts lack a shipped language loads (those texts fall back) and the gaps are
    logged as one warning per programme (:func:`missing_translations`).

    :raises ProgramError: for the first invalid file (or a dangling ``exclusions.recipients_of``).
    """
    if not directory.is_dir():
        raise ProgramError(directory, "", "programme directory not found")
    programs = {p.id: p for p in (load_program(path) for path in sorted(directory.glob("*.toml")))}
    for program in programs.values():
        missing = missing_translations(program)
        if missing:
            _log.warning(
                "programme %s: %d texts fall back to another language: %s",
                program.id,
                len(missing),
                ", ".join(f"{key}[{code}]" for key, code in missing),
            )
    for program in programs.values():
        for other in program.exclusions.recipients_of:
            if other not in programs:
                raise ProgramError(program.path, "exclusions.recipients_of", f"unknown programme {other!r}")
    return programs


def load_program(path: Path) -> Program:
    """Load and validate one programme file.

    :raises ProgramError: naming the file, the key and the reason.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProgramError(path, "", "file not found") from None
    except UnicodeDecodeError:
        raise ProgramError(path, "", "not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProgramError(path, "", f"not valid TOML ({exc})") from None
    return _Parser(path).program(raw)


class _Parser:
    """Validation helpers bound to one file so every error names it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, reason: str) -> ProgramError:
        return ProgramError(self.path, key, reason)

    def program(self, raw: dict[str, Any]) -> Program:
        self.keys(
            raw,
            "",
            required={"id", "name", "issuer", "residency", "services", "award", "support_phone"},
            optional={"description", "period", "age", "one_grant_per_person", "exclusions", "support_hours"},
        )
        program_id = self.string(raw, "id")
        if not _ID.match(program_id):
            self.raise_("id", "use 1-64 lower-case letters, digits and '-'")
        if program_id != self.path.stem:
            self.raise_("id", f"must equal the file name stem {self.path.stem!r}")
        phone = self.string(raw, "support_phone")
        if not _PHONE.match(phone):
            self.raise_("support_phone", "must be a Japanese phone number like 0120-110-009")
        one_grant = raw.get("one_grant_per_person", True)
        if not isinstance(one_grant, bool):
            self.raise_("one_grant_per_person", "must be true or false")
        services = self.services(raw["services"])
        return Program(
            path=self.path,
            id=program_id,
            name=self.localized(raw, "name"),
            issuer=self.localized(raw, "issuer"),
            description=self.localized(raw, "description") if "description" in raw else Localized("", ""),
            period=self.period(raw["period"]) if "period" in raw else None,
            residency=self.residency(raw["residency"]),
            age=self.age(raw.get("age", {})),
            services=services,
            award=self.award(raw["award"]),
            one_grant_per_person=one_grant,
            exclusions=self.exclusions(raw.get("exclusions", {})),
            support_phone=phone,
            support_hours=(
                self.localized(raw, "support_hours") if "support_hours" in raw else Localized("", "")
            ),
        )

    # -- sections ---------------------------------------------------------------------------------

    def period(self, raw: object) -> Period:
        table = self.table(raw, "period")
        self.keys(table, "period", required={"start", "end"})
        start = self.date(table, "period.start")
        end = self.date(table, "period.end")
        if end < start:
            self.raise_("period.end", "is before period.start")
        return Period(start, end)

    def residency(self, raw: object) -> Residency:
        table = self.table(raw, "residency")
        self.keys(table, "residency", optional={"prefectures", "municipalities"})
        prefectures = self.strings(table, "residency.prefectures")
        for index, name in enumerate(prefectures):
            if parse_address(name).prefecture != name:
                self.raise_(f"residency.prefectures[{index}]", "not one of the 47 prefectures")
        municipalities = []
        for index, text in enumerate(self.strings(table, "residency.municipalities")):
            parsed = parse_address(text)
            if parsed.prefecture is None or parsed.municipality is None or parsed.rest:
                self.raise_(
                    f"residency.municipalities[{index}]",
                    "write prefecture + municipality, e.g. 栃木県宇都宮市 or 宮城県仙台市青葉区",
                )
            name = (parsed.county or "") + parsed.municipality + (parsed.ward or "")
            municipalities.append(Municipality(parsed.prefecture, name))
        return Residency(tuple(prefectures), tuple(municipalities))

    def age(self, raw: object) -> AgeRule:
        table = self.table(raw, "age")
        self.keys(table, "age", optional={"min", "max"})
        bounds: list[int | None] = []
        for key in ("min", "max"):
            value = table.get(key)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150
            ):
                self.raise_(f"age.{key}", "must be an integer between 0 and 150")
            bounds.append(value)
        if bounds[0] is not None and bounds[1] is not None and bounds[1] < bounds[0]:
            self.raise_("age.max", "is below age.min")
        return AgeRule(bounds[0], bounds[1])

    def services(self, raw: object) -> tuple[ServiceTerms, ...]:
        if not isinstance(raw, list) or not raw:
            self.raise_("services", "must be a non-empty array of tables ([[services]])")
        result: list[ServiceTerms] = []
        for index, item in enumerate(raw):
            where = f"services[{index}]"
            table = self.table(item, where)
            self.keys(
                table, where, required={"service", "name", "terms_version", "terms"}, optional={"required"}
            )
            service = self.string(table, "service", where)
            if service not in SERVICES:
                self.raise_(f"{where}.service", f"must be one of {', '.join(sorted(SERVICES))}")
            if any(s.service == service for s in result):
                self.raise_(f"{where}.service", "listed twice")
            required = table.get("required", False)
            if not isinstance(required, bool):
                self.raise_(f"{where}.required", "must be true or false")
            result.append(
                ServiceTerms(
                    service=service,
                    required=required,
                    name=self.localized(table, "name", where),
                    terms_version=self.string(table, "terms_version", where),
                    terms=self.localized(table, "terms", where),
                )
            )
        return tuple(sorted(result, key=lambda s: s.service))

    def award(self, raw: object) -> Award:
        table = self.table(raw, "award")
        self.keys(
            table,
            "award",
            required={"kind", "points"},
            optional={"quota", "draw_date", "everyone_wins_below_quota"},
        )
        try:
            kind = AwardKind(table["kind"])
        except (ValueError, TypeError):
            self.raise_("award.kind", 'must be "all_eligible", "lottery" or "none"')
        points = table["points"]
        if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 1_000_000:
            self.raise_("award.points", "must be an integer between 0 and 1,000,000")
        quota = table.get("quota")
        if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota <= 0):
            self.raise_("award.quota", "must be a positive integer")
        draw = self.date(table, "award.draw_date") if "draw_date" in table else None
        below = table.get("everyone_wins_below_quota", False)
        if not isinstance(below, bool):
            self.raise_("award.everyone_wins_below_quota", "must be true or false")
        if kind is AwardKind.LOTTERY and (quota is None or draw is None):
            self.raise_("award", "a lottery needs quota and draw_date")
        if kind is not AwardKind.LOTTERY and (draw is not None or below):
            self.raise_("award.draw_date", "only a lottery has a draw")
        if kind is AwardKind.NONE and points:
            self.raise_("award.points", 'must be 0 when kind = "none"')
        return Award(kind, points, quota, draw, below)

    def exclusions(self, raw: object) -> Exclusions:
        table = self.table(raw, "exclusions")
        self.keys(table, "exclusions", optional={"recipients_of", "hash_lists"})
        recipients = self.strings(table, "exclusions.recipients_of")
        for index, other in enumerate(recipients):
            if not _ID.match(other):
                self.raise_(f"exclusions.recipients_of[{index}]", "not a programme id")
        lists = []
        for index, rel in enumerate(self.strings(table, "exclusions.hash_lists")):
            key = f"exclusions.hash_lists[{index}]"
            file = (self.path.parent / rel).resolve()
            try:
                lines = file.read_text(encoding="utf-8").split()
            except (OSError, UnicodeDecodeError):
                self.raise_(key, "cannot read the hash list")
            if not all(_HEX64.match(line) for line in lines):
                self.raise_(key, "every line must be a 64-digit lower-case hex keyed hash (no plain text)")
            lists.append(file)
        return Exclusions(tuple(recipients), tuple(lists))

    # -- primitives -------------------------------------------------------------------------------

    def raise_(self, key: str, reason: str) -> NoReturn:
        raise self.fail(key, reason)

    def keys(
        self,
        table: dict[str, Any],
        where: str,
        *,
        required: Collection[str] = (),
        optional: Collection[str] = (),
    ) -> None:
        prefix = f"{where}." if where else ""
        for key in sorted(required):
            if key not in table:
                raise self.fail(prefix + key, "missing")
        for key in table:
            if key not in required and key not in optional:
                raise self.fail(prefix + key, "unknown key")

    def table(self, raw: object, key: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(key, "must be a table")
        return raw

    def string(self, table: dict[str, Any], key: str, where: str = "") -> str:
        full = f"{where}.{key}" if where else key
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(full, "must be a non-empty string")
        return value

    def strings(self, table: dict[str, Any], key: str) -> list[str]:
        value = table.get(key.rsplit(".", 1)[-1], [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be an array of non-empty strings")
        return list(value)

    def localized(self, table: dict[str, Any], key: str, where: str = "") -> Localized:
        full = f"{where}.{key}" if where else key
        value = self.table(table.get(key), full)
        self.keys(value, full, required={"ja", "en"}, optional=set(LANGUAGE_CODES))
        others = tuple(
            (code, self.string(value, code, full)) for code in sorted(value) if code not in ("ja", "en")
        )
        return Localized(self.string(value, "ja", full), self.string(value, "en", full), others)

    def date(self, table: dict[str, Any], key: str) -> date:
        value = table.get(key.rsplit(".", 1)[-1])
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.fail(key, "must be a TOML date like 2025-02-03")
        return value
