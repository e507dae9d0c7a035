"""The kiosk's hardware and assistance settings from the profile (issue 13): where the card reader
sits, the voice, the receipt printer and the staff passcode.

They live in their own tables (``[reader]``, ``[voice]``, ``[printer]``, ``[staff]``), which
:mod:`kiosk.settings` leaves to their parsers, so the core profile keeps one owner and a kiosk
without a printer or speaker needs no new keys. Every table and key is optional::

    [reader]
    position = "below"          # below | right | left | separate (where the reader is, seen from the screen)

    [voice]
    enabled = true              # the resident can still turn it off (or on) for the visit
    volume = 0.8                # 0.0 - 1.0

    [printer]
    kind = "cups"               # none | cups | escpos-usb | escpos-network
    queue = "receipt"           # cups: the CUPS queue
    paper = "roll80"            # cups: a4 | roll80
    usb_vendor = 0x04b8         # escpos-usb: the printer's USB ids
    usb_product = 0x0202
    host = "192.0.2.10"         # escpos-network
    port = 9100

    [staff]
    passcode_hash = "scrypt$..."  # from `madoguchi staff-passcode` (ui/staff.py); absent = no staff view

No Qt here; the screens read :class:`StationSettings` through :func:`load_station`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import Enum, unique
from pathlib import Path
from typing import Any

from kiosk.errors import SettingsError


@unique
class ReaderPosition(Enum):
    """Where the card reader is, seen by the resident facing the screen (the pictures follow it)."""

    BELOW = "below"
    RIGHT = "right"
    LEFT = "left"
    SEPARATE = "separate"  # on the counter, not fixed to the screen


@unique
class PrinterKind(Enum):
    NONE = "none"
    CUPS = "cups"
    ESCPOS_USB = "escpos-usb"
    ESCPOS_NETWORK = "escpos-network"


@dataclass(frozen=True)
class PrinterSettings:
    kind: PrinterKind = PrinterKind.NONE
    queue: str = ""
    paper: str = "roll80"
    usb_vendor: int = 0
    usb_product: int = 0
    host: str = ""
    port: int = 9100


@dataclass(frozen=True)
class StationSettings:
    reader_position: ReaderPosition = ReaderPosition.BELOW
    voice_enabled: bool = True
    voice_volume: float = 0.8
    printer: PrinterSettings = PrinterSettings()
    #: ``scrypt$N$r$p$salt$hash`` (ui/staff.py); ``None``: the staff view is not offered.
    staff_passcode_hash: str | None = None


def load_station(path: Path) -> StationSettings:
    """Parse the station tables of the profile at ``path`` (already validated by
    :func:`kiosk.settings.load_settings`, so the file exists and is TOML).

    :raises SettingsError: naming the key and the reason.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(path, "", f"cannot read ({type(exc).__name__})") from None
    return parse_station(path, raw)


def parse_station(path: Path, raw: dict[str, Any]) -> StationSettings:
    reader = _table(path, raw, "reader", {"position"})
    voice = _table(path, raw, "voice", {"enabled", "volume"})
    printer = _table(
        path, raw, "printer", {"kind", "queue", "paper", "usb_vendor", "usb_product", "host", "port"}
    )
    staff = _table(path, raw, "staff", {"passcode_hash"})

    position_s = reader.get("position", "below")
    try:
        position = ReaderPosition(position_s)
    except ValueError:
        raise SettingsError(
            path, "reader.position", 'must be "below", "right", "left" or "separate"'
        ) from None
    enabled = voice.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SettingsError(path, "voice.enabled", "must be true or false")
    volume = voice.get("volume", 0.8)
    if isinstance(volume, bool) or not isinstance(volume, int | float) or not 0 <= volume <= 1:
        raise SettingsError(path, "voice.volume", "must be a number from 0.0 to 1.0")
    passcode = staff.get("passcode_hash")
    if passcode is not None and (not isinstance(passcode, str) or not passcode.startswith("scrypt$")):
        raise SettingsError(
            path, "staff.passcode_hash", "must be a scrypt$... hash (madoguchi staff-passcode)"
        )
    return StationSettings(
        reader_position=position,
        voice_enabled=enabled,
        voice_volume=float(volume),
        printer=_printer(path, printer),
        staff_passcode_hash=passcode,
    )


def _printer(path: Path, table: dict[str, Any]) -> PrinterSettings:
    try:
        kind = PrinterKind(table.get("kind", "none"))
    except ValueError:
        raise SettingsError(
            path, "printer.kind", "must be none, cups, escpos-usb or escpos-network"
        ) from None
    paper = table.get("paper", "roll80")
    if paper not in ("a4", "roll80"):
        raise SettingsError(path, "printer.paper", 'must be "a4" or "roll80"')
    values: dict[str, Any] = {"kind": kind, "paper": paper}
    if kind is PrinterKind.CUPS:
        values["queue"] = _text(path, table, "queue")
    elif kind is PrinterKind.ESCPOS_USB:
        values["usb_vendor"] = _int(path, table, "usb_vendor", 1, 0xFFFF)
        values["usb_product"] = _int(path, table, "usb_product", 1, 0xFFFF)
    elif kind is PrinterKind.ESCPOS_NETWORK:
        values["host"] = _text(path, table, "host")
        values["port"] = _int(path, table, "port", 1, 65535, default=9100)
    return PrinterSettings(**values)


def _table(path: Path, raw: dict[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(path, name, "must be a table")
    for key in table:
        if key not in allowed:
            raise SettingsError(path, f"{name}.{key}", "unknown key")
    return table


def _text(path: Path, table: dict[str, Any], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(path, f"printer.{key}", "must be a non-empty string")
    return value


def _int(path: Path, table: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise SettingsError(path, f"printer.{key}", f"must be an integer from {low} to {high}")
    return value
