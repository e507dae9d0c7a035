"""The kiosk profile: one TOML file, loaded once and validated at start-up, then passed down.

``[kiosk]`` and ``[server]`` are parsed here into frozen dataclasses. ``[trust]`` belongs to the
card layer (``card.trust``), which parses it from :attr:`KioskSettings.path` so the two layers never
disagree about relative paths. Relative paths are relative to the file that names them.
"""

from __future__ import annotations

import logging
import os
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, unique
from pathlib import Path
from typing import Any, TypeVar

from kiosk.errors import SettingsError

logger = logging.getLogger(__name__)

#: WCAG 2.2.1: at least 20 seconds to answer a timeout warning.
MIN_WARNING_S = 20


@unique
class KioskMode(Enum):
    """Who stands at the kiosk: staff at a counter or the resident alone."""

    STAFF = "staff"
    SELF = "self"
    #: At an evacuation shelter (避難所): check-in desk instead of registration; staff stand by it.
    #: The shelter itself is named in ``[shelter]`` (parsed by :mod:`kiosk.rules.shelter_config`).
    SHELTER = "shelter"


@dataclass(frozen=True)
class Timeouts:
    """Inactivity handling (seconds). After ``inactivity_s`` without input the kiosk warns; the
    resident has ``warning_s`` to extend (at most ``max_extensions`` times), then everything is
    wiped. ``take_card_s`` is how long the "take your card" screen waits before it alarms."""

    inactivity_s: int
    warning_s: int
    max_extensions: int
    take_card_s: int


#: Self-service kiosks have nobody to notice an abandoned session: shorter inactivity.
DEFAULT_TIMEOUTS: dict[KioskMode, Timeouts] = {
    KioskMode.STAFF: Timeouts(inactivity_s=180, warning_s=30, max_extensions=10, take_card_s=20),
    KioskMode.SELF: Timeouts(inactivity_s=60, warning_s=30, max_extensions=10, take_card_s=10),
    KioskMode.SHELTER: Timeouts(inactivity_s=180, warning_s=30, max_extensions=10, take_card_s=20),
}


#: Default and bound of ``[server] parallel_uploads`` (the bound is ``sync.service.MAX_PARALLEL``;
#: kiosk/ never imports sync/, so a test keeps the two equal).
DEFAULT_PARALLEL_UPLOADS = 4
MAX_PARALLEL_UPLOADS = 8


@dataclass(frozen=True)
class ServerSettings:
    """Where the sync client sends sealed records, and how it verifies the server's certificate.

    ``ca_file`` is an optional PEM bundle for a prefecture whose server uses a private CA. It is
    loaded into :attr:`tls` once, when the profile is loaded, so a missing or broken bundle stops
    the kiosk at start (:class:`SettingsError`) instead of failing every upload later. ``tls`` is
    ``None`` without ``ca_file``: the sync client then uses httpx's default trust store.
    """

    url: str
    ca_file: Path | None = None
    tls: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    #: Upload threads while catching up after an outage (``sync.service.SyncService`` ``parallel``):
    #: the reference server verifies batches in parallel, so a backlog drains several times faster.
    parallel_uploads: int = DEFAULT_PARALLEL_UPLOADS


@dataclass(frozen=True)
class KioskSettings:
    """The validated kiosk profile. ``path`` is kept so ``card.trust`` can parse ``[trust]``."""

    path: Path
    kiosk_id: str
    mode: KioskMode
    data_dir: Path
    language: str
    program: str
    programs_dir: Path
    timeouts: Timeouts
    server: ServerSettings
    #: Programmes the resident may choose between, in the profile's order; always holds
    #: ``program`` (the one preselected). ``(program,)`` when ``offered_programs`` is absent.
    offered_programs: tuple[str, ...]


SUPPORTED_LANGUAGES = ("ja", "ja-easy", "en", "zh-Hans", "vi", "ko", "tl", "ne", "pt", "id")


#: Where the profile is when the command line does not say. The profile is the kiosk's, so its
#: location is decided here; ``madoguchi card read`` (whose card layer may not import the kiosk)
#: gets it from the entry, ``kiosk/cli.py``.
ENV_VAR = "MADOGUCHI_CONFIG"
SYSTEM_CONFIG = Path("/etc/madoguchi/kiosk.toml")
#: The repository's demo profile (trusts the test hierarchy only): the last resort for development.
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "kiosk.demo.toml"


def resolve_config_path(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    system_config: Path = SYSTEM_CONFIG,
) -> Path:
    """``explicit`` if given, else ``$MADOGUCHI_CONFIG``, else ``/etc/madoguchi/kiosk.toml`` if it
    exists, else the repository's ``config/kiosk.demo.toml``.

    The last resort trusts only the project's TEST hierarchy, so falling back to it is announced
    with a warning: a misdeployed kiosk must not accept test cards silently (docs/security.md)."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    if system_config.is_file():
        return system_config
    logger.warning(
        "no kiosk configuration (--config, $%s or %s): using the demo profile %s, "
        "which trusts only the TEST J-LIS hierarchy",
        ENV_VAR,
        system_config,
        DEMO_CONFIG,
    )
    return DEMO_CONFIG


def default_config_path() -> Path:
    """Resolve the profile when ``--config`` is absent: ``$MADOGUCHI_CONFIG``, else the system
    file if it exists, else the demo profile of the source tree (:func:`resolve_config_path`)."""
    return resolve_config_path(None)


def load_settings(path: Path | None = None) -> KioskSettings:
    """Load and validate the kiosk profile at ``path`` (or the default one).

    :raises SettingsError: naming the file, the key and the reason.
    """
    file = (path if path is not None else default_config_path()).resolve()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(file, "", "file not found") from None
    except OSError as exc:
        raise SettingsError(file, "", f"cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(file, "", "not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(file, "", f"not valid TOML ({exc})") from None
    return _parse(file, raw)


def _parse(file: Path, raw: dict[str, Any]) -> KioskSettings:
    # Other layers own their own tables ([trust]: card.trust; a future [ui] or [printer]): they are
    # left to their parsers. A stray top-level *value* is always a mistake.
    for key, value in raw.items():
        if not isinstance(value, dict):
            raise SettingsError(file, key, "unknown top-level key (settings belong in a [section])")
    kiosk = _table(file, raw, "kiosk")
    server = _table(file, raw, "server")
    _no_unknown(
        file,
        kiosk,
        "kiosk",
        {"id", "mode", "data_dir", "language", "program", "offered_programs", "programs_dir", "timeouts"},
    )
    _no_unknown(file, server, "server", {"url", "ca_file", "parallel_uploads"})

    kiosk_id = _str(file, kiosk, "kiosk.id")
    if not kiosk_id.isascii() or not all(c.isalnum() or c in "-_." for c in kiosk_id) or len(kiosk_id) > 64:
        raise SettingsError(file, "kiosk.id", "use 1-64 ASCII letters, digits, '-', '_' or '.'")
    mode_s = _str(file, kiosk, "kiosk.mode")
    try:
        mode = KioskMode(mode_s)
    except ValueError:
        raise SettingsError(file, "kiosk.mode", 'must be "staff", "self" or "shelter"') from None
    language = _str(file, kiosk, "kiosk.language")
    if language not in SUPPORTED_LANGUAGES:
        raise SettingsError(file, "kiosk.language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    program = _str(file, kiosk, "kiosk.program")
    offered = _offered_programs(file, kiosk.get("offered_programs", [program]), program)
    base = file.parent
    data_dir = base / _str(file, kiosk, "kiosk.data_dir")
    programs_dir = base / _str(file, kiosk, "kiosk.programs_dir")
    timeouts = _timeouts(file, kiosk.get("timeouts", {}), DEFAULT_TIMEOUTS[mode])

    return KioskSettings(
        path=file,
        kiosk_id=kiosk_id,
        mode=mode,
        data_dir=data_dir.resolve(),
        language=language,
        program=program,
        programs_dir=programs_dir.resolve(),
        timeouts=timeouts,
        server=_server(file, server),
        offered_programs=offered,
    )


def _offered_programs(file: Path, raw: object, program: str) -> tuple[str, ...]:
    """Syntax of ``kiosk.offered_programs``; whether the ids are loaded is checked by
    :func:`offered_subset` once the programmes are (this module does not read them)."""
    key = "kiosk.offered_programs"
    if not isinstance(raw, list) or not raw:
        raise SettingsError(file, key, "must be a non-empty list of programme ids")
    for value in raw:
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(file, key, "every entry must be a non-empty string (a programme id)")
    if len(set(raw)) != len(raw):
        duplicate = next(value for value in raw if raw.count(value) > 1)
        raise SettingsError(file, key, f"lists {duplicate!r} more than once")
    if program not in raw:
        raise SettingsError(file, key, f"must include the default programme {program!r} (kiosk.program)")
    return tuple(raw)


_P = TypeVar("_P")


def offered_subset(settings: KioskSettings, programs: Mapping[str, _P]) -> dict[str, _P]:
    """The loaded programmes the kiosk offers, in the profile's order: what the flow and the
    programme page are given, so a resident can never choose a programme the profile did not list.

    The default programme is passed through when it is not loaded: the flow already refuses that
    (:class:`~kiosk.errors.UnknownProgramError`), and one check per fact keeps the two from
    disagreeing.

    :raises SettingsError: (``kiosk.offered_programs``) an offered id is not among ``programs``.
    """
    subset: dict[str, _P] = {}
    for program_id in settings.offered_programs:
        if program_id in programs:
            subset[program_id] = programs[program_id]
        elif program_id != settings.program:
            known = ", ".join(sorted(programs)) or "none"
            raise SettingsError(
                settings.path,
                "kiosk.offered_programs",
                f"unknown programme {program_id!r} (not in {settings.programs_dir}; loaded: {known})",
            )
    return subset


def _server(file: Path, server: dict[str, Any]) -> ServerSettings:
    url = _str(file, server, "server.url")
    if not (url.startswith("https://") or url.startswith("http://")):
        raise SettingsError(file, "server.url", "must start with https:// (or http:// for loopback tests)")
    parallel = server.get("parallel_uploads", DEFAULT_PARALLEL_UPLOADS)
    if (
        not isinstance(parallel, int)
        or isinstance(parallel, bool)
        or not 1 <= parallel <= MAX_PARALLEL_UPLOADS
    ):
        raise SettingsError(
            file, "server.parallel_uploads", f"must be an integer from 1 to {MAX_PARALLEL_UPLOADS}"
        )
    if "ca_file" not in server:
        return ServerSettings(url=url.rstrip("/"), parallel_uploads=parallel)
    ca_file = (file.parent / _str(file, server, "server.ca_file")).resolve()
    return ServerSettings(
        url=url.rstrip("/"), ca_file=ca_file, tls=_tls_context(file, ca_file), parallel_uploads=parallel
    )


def _tls_context(file: Path, ca_file: Path) -> ssl.SSLContext:
    """A verifying client context that trusts exactly the CAs in ``ca_file`` (PEM).

    Only that bundle is trusted (not the public CAs as well): the kiosk talks to one server.
    """
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except FileNotFoundError:
        raise SettingsError(file, "server.ca_file", f"{ca_file}: file not found") from None
    except ssl.SSLError:
        raise SettingsError(file, "server.ca_file", f"{ca_file}: no PEM certificate found") from None
    except OSError as exc:
        raise SettingsError(file, "server.ca_file", f"{ca_file}: cannot read ({exc.strerror})") from None


def _timeouts(file: Path, raw: object, default: Timeouts) -> Timeouts:
    if not isinstance(raw, dict):
        raise SettingsError(file, "kiosk.timeouts", "must be a table")
    names = ("inactivity_s", "warning_s", "max_extensions", "take_card_s")
    _no_unknown(file, raw, "kiosk.timeouts", set(names))
    values: dict[str, int] = {}
    for name in names:
        key = f"kiosk.timeouts.{name}"
        value = raw.get(name, getattr(default, name))
        if not isinstance(value, int) or isinstance(value, bool):
            raise SettingsError(file, key, "must be an integer")
        if name != "max_extensions" and not 1 <= value <= 3600:
            raise SettingsError(file, key, "must be between 1 and 3600 seconds")
        values[name] = value
    if values["warning_s"] < MIN_WARNING_S:
        raise SettingsError(
            file,
            "kiosk.timeouts.warning_s",
            f"must be at least {MIN_WARNING_S} s (WCAG 2.2.1 Timing Adjustable)",
        )
    if not 0 <= values["max_extensions"] <= 100:
        raise SettingsError(file, "kiosk.timeouts.max_extensions", "must be between 0 and 100")
    return Timeouts(**values)


def _table(file: Path, raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        raise SettingsError(file, key, "missing section")
    if not isinstance(value, dict):
        raise SettingsError(file, key, "must be a table")
    return value


def _no_unknown(file: Path, table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise SettingsError(file, f"{prefix}.{key}", "unknown key")


def _str(file: Path, table: dict[str, Any], dotted: str) -> str:
    name = dotted.rsplit(".", 1)[1]
    if name not in table:
        raise SettingsError(file, dotted, "missing")
    value = table[name]
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(file, dotted, "must be a non-empty string")
    return value
