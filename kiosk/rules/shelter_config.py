"""Shelter mode's configuration: the shelters file and the kiosk profile's ``[shelter]`` table.

``[kiosk] mode = "shelter"`` puts the same hardware at a 避難所. The profile then names the shelter::

    [shelter]
    id = "ishinomaki-hiyoriyama"        # one of the shelters file's ids
    shelters_file = "shelters.toml"     # relative to the profile (default: shelters.toml beside it)

``config/shelters.toml`` lists ``[[shelter]]`` tables: ``id``, ``name`` (per language, ``ja``
required), ``municipality`` and ``capacity``. The server reads the same file for its lists.
:mod:`kiosk.settings` leaves ``[shelter]`` to this module (each layer parses its own table).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import SettingsError
from kiosk.rules.shelter_record import SHELTER_ID


@dataclass(frozen=True)
class Shelter:
    """One evacuation shelter."""

    id: str
    names: dict[str, str]
    municipality: str
    capacity: int

    def name(self, language: str) -> str:
        """The name in ``language``, else Japanese (always present)."""
        return self.names.get(language) or self.names["ja"]


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(path, "", f"cannot read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(path, "", f"not valid TOML ({exc})") from None


def load_shelters(path: Path) -> dict[str, Shelter]:
    """Parse and validate a shelters file.

    :raises SettingsError: naming the file, the key and the reason.
    """
    raw = _read(path)
    entries = raw.get("shelter")
    if not isinstance(entries, list) or not entries:
        raise SettingsError(path, "shelter", "needs at least one [[shelter]] table")
    out: dict[str, Shelter] = {}
    for i, entry in enumerate(entries):
        where = f"shelter[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"id", "name", "municipality", "capacity"}:
            raise SettingsError(path, where, "needs exactly id, name, municipality, capacity")
        sid, names, muni, cap = entry["id"], entry["name"], entry["municipality"], entry["capacity"]
        if not isinstance(sid, str) or not SHELTER_ID.match(sid):
            raise SettingsError(path, f"{where}.id", "lower-case letters, digits and '-', at most 64")
        if sid in out:
            raise SettingsError(path, f"{where}.id", f"{sid!r} listed twice")
        if not isinstance(names, dict) or not isinstance(names.get("ja"), str) or not names["ja"].strip():
            raise SettingsError(path, f"{where}.name", "a table of names with at least ja")
        if not all(isinstance(v, str) and v.strip() for v in names.values()):
            raise SettingsError(path, f"{where}.name", "every name must be a non-empty string")
        if not isinstance(muni, str) or not muni.strip():
            raise SettingsError(path, f"{where}.municipality", "a non-empty string")
        if not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= 100_000:
            raise SettingsError(path, f"{where}.capacity", "an integer from 1 to 100000")
        out[sid] = Shelter(sid, dict(names), muni, cap)
    return out


@dataclass(frozen=True)
class ShelterSettings:
    """The shelter this kiosk stands at, and every shelter known (for "moved to …")."""

    shelter: Shelter
    shelters: dict[str, Shelter]
    shelters_file: Path


def load_shelter_settings(profile: Path) -> ShelterSettings:
    """Read ``[shelter]`` from the kiosk profile and the shelters file it names.

    :raises SettingsError: missing table, unknown shelter id, broken shelters file.
    """
    raw = _read(profile)
    table = raw.get("shelter")
    if not isinstance(table, dict):
        raise SettingsError(profile, "shelter", 'missing section (needed when [kiosk] mode = "shelter")')
    unknown = set(table) - {"id", "shelters_file"}
    if unknown:
        raise SettingsError(profile, f"shelter.{sorted(unknown)[0]}", "unknown key")
    sid = table.get("id")
    if not isinstance(sid, str):
        raise SettingsError(profile, "shelter.id", "missing")
    name = table.get("shelters_file", "shelters.toml")
    if not isinstance(name, str) or not name.strip():
        raise SettingsError(profile, "shelter.shelters_file", "must be a non-empty string")
    file = (profile.parent / name).resolve()
    shelters = load_shelters(file)
    if sid not in shelters:
        raise SettingsError(profile, "shelter.id", f"{sid!r} is not in {file}")
    return ShelterSettings(shelters[sid], shelters, file)
