"""``madoguchi self-test [--json] [--config FILE]``: is this booth ready? One line per check.

For the person installing a booth (docs/operators/install-booth.md): it answers, without a card and
without a PIN, the questions that otherwise surface as a resident's failed registration: is pcscd
there, which readers are attached and can each talk to the My Number Card's ISO 14443 type B
interface, are the trust anchors configured, is the kiosk enrolled, does the pinned server answer
and how far is this clock from it, is the sealed outbox intact, is there disk left, is there a
printer and a sound card.

Every check returns a :class:`CheckResult` with a :class:`Status`; the command exits 1 when any
check is :attr:`Status.FAIL` (0 otherwise; argparse's 2 for a usage error). Nothing printed comes
from a card or a registration: reader names, ATRs (the contactless ATR a reader synthesises holds no
personal data), counts, paths and the kiosk id only. Checks never write: the outbox is opened
read-only, the device key is only parsed, the server only gets ``GET /v1/health``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import plistlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, unique
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.settings import KioskSettings

__all__ = [
    "CheckResult",
    "Status",
    "TypeBVerdict",
    "assess_type_b",
    "register",
    "run_checks",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1

#: libccid's list of the readers it drives (one ``ifdFriendlyName`` per USB id).
CCID_INFO_PLIST: Final = Path("/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist")

#: Clock offset to the server (seconds) above which the check warns, and above which it fails. The
#: server's ``Date`` has a resolution of one second; an NTP-synchronised kiosk reads within ±1 s.
#: Registration records carry the kiosk's clock (consent times, ``kiosk.clock``): a minute off is
#: what an unsynchronised clock drifts to in weeks and is worth fixing before it is believed.
CLOCK_WARN_S: Final = 5.0
CLOCK_FAIL_S: Final = 60.0

#: Free space on the data directory's file system (bytes): the outbox holds a few kB per record.
DISK_FAIL_BYTES: Final = 200 * 1024 * 1024
DISK_WARN_BYTES: Final = 1024 * 1024 * 1024

#: Reader families known to read the My Number Card over ISO 14443 type B with pcscd + libccid
#: (docs/operators/readers.md lists the sources). Matched as a prefix of the PC/SC reader name.
#: "Virtual PCD" is vsmartcard's virtual reader, whose virtual card answers with a type B ATR.
KNOWN_TYPE_B_READERS: Final[tuple[str, ...]] = (
    "SONY FeliCa RC-S300",
    "ACS ACR1251",
    "ACS ACR1252",
    "Identiv uTrust 3700 F",
    "Identiv uTrust 3701 F",
    "HID Global OMNIKEY 5022",
    "HID Global OMNIKEY 5422",
    "SCM Microsystems Inc. SCL01",
    "Virtual PCD",
)


@unique
class Status(Enum):
    """The outcome of one check. Only :attr:`FAIL` makes the command exit non-zero."""

    OK = "ok"
    #: Works, but something deserves a look (a clock a few seconds off, no printer queue).
    WARN = "warn"
    #: The booth cannot register residents (or cannot deliver) until this is fixed.
    FAIL = "fail"
    #: Not checked: it depends on a check that failed, or does not apply to this build.
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: a stable name (for scripts), a status, one line for a person, and figures."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "data": self.data}


@unique
class TypeBVerdict(Enum):
    """How a reader's ISO 14443 type B ability was established (best effort, see assess_type_b)."""

    #: A card on the reader answered with a PC/SC contactless type B ATR (the reader talked type B).
    CARD_ANSWERED = "card_answered"
    #: No card to prove it, but the reader family is on the known list.
    KNOWN_READER = "known_reader"
    #: A card is on the reader and its ATR is not type B (a type A or FeliCa card, or contact).
    OTHER_CARD = "other_card"
    #: Neither: try a My Number Card on it (``madoguchi card status``).
    UNKNOWN = "unknown"


class PcscPort(Protocol):
    """What the checks need from :class:`card.pcsc.PcscContext` (a fake in unit tests)."""

    def list_readers(self) -> list[str]: ...

    def reader_states(self, readers: Sequence[str]) -> Sequence[Any]: ...

    def close(self) -> None: ...


def is_type_b_atr(atr: bytes) -> bool:
    """True for the ATR a PC/SC reader synthesises for an ISO 14443-4 type B card.

    PC/SC part 3 §3.1.3.2.3: ``3B 88 80 01`` then the 4 application-data bytes and 3 protocol-info
    bytes of the card's ATQB, a 1-byte MBLI/CID nibble pair, and TCK: 13 bytes in all. A type A card
    gets ``3B 8n 80 01`` followed by its ATS historical bytes instead, so the 13-byte shape with
    ``T1 = 0x88`` is the best test without sending the card anything.
    """
    if len(atr) != 13 or atr[:4] != bytes.fromhex("3B888001"):
        return False
    tck = 0
    for byte in atr[1:]:
        tck ^= byte
    return tck == 0


def assess_type_b(name: str, atr: bytes | None) -> TypeBVerdict:
    """Best-effort type B ability of the reader ``name`` with the card ``atr`` on it (None: no card).

    PC/SC has no query for "which contactless protocols does this reader poll": libccid reads the
    reader's CCID descriptor, not its RF front end, and most readers expose no such flag. What is
    observable: the ATR of a card that is on the reader (a type B ATR proves the reader talked type
    B to it), and the reader's name against the families documented to read the My Number Card.
    """
    if atr:
        return TypeBVerdict.CARD_ANSWERED if is_type_b_atr(atr) else TypeBVerdict.OTHER_CARD
    if any(name.startswith(prefix) for prefix in KNOWN_TYPE_B_READERS):
        return TypeBVerdict.KNOWN_READER
    return TypeBVerdict.UNKNOWN


def ccid_friendly_names(plist: Path = CCID_INFO_PLIST) -> tuple[str, ...] | None:
    """libccid's reader names, or None when libccid is not installed (or its list is unreadable)."""
    try:
        with plist.open("rb") as handle:
            names = plistlib.load(handle).get("ifdFriendlyName", [])
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    return tuple(str(n) for n in names)


# --- the checks -----------------------------------------------------------------------------------


@dataclass
class _Context:
    config: Path | None
    settings: KioskSettings | None = None
    pinned_url: str | None = None
    device_key: Ed25519PrivateKey | None = None
    #: For the heartbeat: one of sync.heartbeat.READER_STATES.
    reader_state: str = "unknown"


def _check_profile(ctx: _Context) -> CheckResult:
    from kiosk.errors import KioskError
    from kiosk.settings import load_settings

    try:
        ctx.settings = load_settings(ctx.config)
    except KioskError as exc:
        return CheckResult("profile", Status.FAIL, f"{type(exc).__name__}: {exc}")
    s = ctx.settings
    return CheckResult(
        "profile",
        Status.OK,
        f"{s.path}: kiosk {s.kiosk_id}, mode {s.mode.value}, data {s.data_dir}",
        {"path": str(s.path), "kiosk_id": s.kiosk_id, "mode": s.mode.value, "data_dir": str(s.data_dir)},
    )


def _check_pcsc(ctx: _Context, pcsc_factory: Callable[[], PcscPort], ccid_plist: Path) -> list[CheckResult]:
    """pcscd, the reader list, and one line per reader with its type B verdict."""
    from card.errors import ReaderError

    ctx.reader_state = "pcscd_down"
    try:
        pcsc = pcsc_factory()
    except ReaderError as exc:
        return [CheckResult("pcscd", Status.FAIL, f"{type(exc).__name__}: {exc}")]
    try:
        try:
            readers = pcsc.list_readers()
        except ReaderError as exc:
            return [
                CheckResult(
                    "pcscd", Status.FAIL, f"not reachable ({type(exc).__name__}: {exc}); is pcscd installed?"
                ),
                CheckResult("readers", Status.SKIP, "pcscd not reachable"),
            ]
        results = [CheckResult("pcscd", Status.OK, "reachable")]
        ctx.reader_state = "no_reader"
        if not readers:
            results.append(
                CheckResult(
                    "readers", Status.FAIL, "no reader attached (plug the USB reader in; lsusb)", {"count": 0}
                )
            )
            return results
        try:
            states = {s.name: s for s in pcsc.reader_states(readers)}
        except ReaderError as exc:
            ctx.reader_state = "error"
            results.append(CheckResult("readers", Status.FAIL, f"{type(exc).__name__}: {exc}"))
            return results
        ctx.reader_state = "card_present" if any(s.present for s in states.values()) else "ready"
        results.append(
            CheckResult("readers", Status.OK, f"{len(readers)}: " + "; ".join(readers), {"names": readers})
        )
        ccid = ccid_friendly_names(ccid_plist)
        for index, name in enumerate(readers):
            state = states.get(name)
            atr = state.atr if state is not None and state.present else None
            results.append(_reader_result(index, name, atr, ccid))
        return results
    finally:
        pcsc.close()


def _reader_result(index: int, name: str, atr: bytes | None, ccid: tuple[str, ...] | None) -> CheckResult:
    verdict = assess_type_b(name, atr)
    if ccid is None:
        driver = "driver: libccid not installed"
    elif any(name.startswith(friendly) for friendly in ccid):
        driver = "driver: libccid"
    else:
        driver = "driver: not libccid"
    data: dict[str, Any] = {
        "name": name,
        "type_b": verdict.value,
        "atr": atr.hex().upper() if atr else None,
        "libccid": driver == "driver: libccid",
    }
    check = f"reader{index}"
    if verdict is TypeBVerdict.CARD_ANSWERED:
        return CheckResult(check, Status.OK, f"{name}: type B card answered ({driver})", data)
    if verdict is TypeBVerdict.KNOWN_READER:
        return CheckResult(check, Status.OK, f"{name}: known to read type B; no card on it ({driver})", data)
    if verdict is TypeBVerdict.OTHER_CARD:
        return CheckResult(
            check, Status.WARN, f"{name}: the card on it is not ISO 14443 type B; try a My Number Card", data
        )
    return CheckResult(
        check,
        Status.WARN,
        f"{name}: type B unknown ({driver}); put a My Number Card on it and run self-test again",
        data,
    )


def _check_trust(ctx: _Context) -> CheckResult:
    from card.errors import CardError
    from kiosk import composition

    if ctx.settings is None:
        return CheckResult("trust", Status.SKIP, "profile not loaded")
    try:
        store = composition.load_trust(ctx.settings.path)
    except CardError as exc:
        return CheckResult("trust", Status.FAIL, f"{type(exc).__name__}: {exc}")
    data = {"jpki_auth_roots": len(store.jpki_auth_roots), "cvc_ca_keys": len(store.cvc_ca_keys)}
    if not store.jpki_auth_roots:
        return CheckResult(
            "trust",
            Status.FAIL,
            "no JPKI auth root ([trust] jpki_auth_roots is empty): every card's chain would be untrusted",
            data,
        )
    if not store.cvc_ca_keys:
        return CheckResult("trust", Status.FAIL, "no J-LIS CVC CA key ([[trust.cvc_ca]])", data)
    return CheckResult(
        "trust",
        Status.OK,
        f"{data['jpki_auth_roots']} JPKI auth root(s), {data['cvc_ca_keys']} CVC CA key(s)",
        data,
    )


def _check_enrolled(ctx: _Context) -> CheckResult:
    from kiosk import composition
    from sync.errors import SyncError

    if ctx.settings is None:
        return CheckResult("enrolled", Status.SKIP, "profile not loaded")
    store = composition.device_store(ctx.settings)
    try:
        key = store.load_device_key()
        pinned = store.load_server()
    except SyncError as exc:
        return CheckResult("enrolled", Status.FAIL, f"{type(exc).__name__}: {exc}")
    except PermissionError:
        return CheckResult(
            "enrolled",
            Status.FAIL,
            f"{ctx.settings.data_dir}: not readable by this user (run as madoguchi or root)",
        )
    ctx.pinned_url = pinned.url
    ctx.device_key = key
    return CheckResult(
        "enrolled",
        Status.OK,
        f"device {pinned.device_id} since {pinned.enrolled_at}, server {pinned.url}",
        {"device_id": pinned.device_id, "server": pinned.url, "enrolled_at": pinned.enrolled_at},
    )


def _check_server(ctx: _Context) -> CheckResult:
    from kiosk import composition
    from sync.errors import SyncError

    if ctx.settings is None:
        return CheckResult("server", Status.SKIP, "profile not loaded")
    url = ctx.pinned_url or ctx.settings.server.url
    try:
        with composition.sync_client(ctx.settings, url) as client:
            healthy = client.health()
            offset = client.clock_offset_s
    except SyncError as exc:
        return CheckResult("server", Status.FAIL, f"{url}: {type(exc).__name__}: {exc}", {"url": url})
    data = {"url": url, "healthy": healthy, "clock_offset_s": offset}
    if not healthy:
        return CheckResult("server", Status.FAIL, f"{url}: answered, but not healthy", data)
    if offset is None:
        return CheckResult(
            "server", Status.WARN, f"{url}: healthy; no Date header, clock offset unknown", data
        )
    line = f"{url}: healthy, clock offset {offset:+.1f} s (server minus kiosk)"
    if abs(offset) > CLOCK_FAIL_S:
        return CheckResult("server", Status.FAIL, line + f"; more than {CLOCK_FAIL_S:.0f} s: fix NTP", data)
    if abs(offset) > CLOCK_WARN_S:
        return CheckResult("server", Status.WARN, line + "; is NTP (systemd-timesyncd) running?", data)
    return CheckResult("server", Status.OK, line, data)


def _check_outbox(ctx: _Context) -> CheckResult:
    from kiosk import composition

    if ctx.settings is None:
        return CheckResult("outbox", Status.SKIP, "profile not loaded")
    path = composition.outbox_path(ctx.settings)
    if not path.exists():
        return CheckResult("outbox", Status.WARN, f"{path}: not created yet (first registration creates it)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return CheckResult("outbox", Status.FAIL, f"{path}: cannot check ({type(exc).__name__}: {exc})")
    problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
    if problems:
        return CheckResult(
            "outbox", Status.FAIL, f"{path}: integrity_check found {len(problems)} problem(s): {problems[0]}"
        )
    return CheckResult("outbox", Status.OK, f"{path}: integrity_check ok", {"path": str(path)})


def _check_disk(ctx: _Context) -> CheckResult:
    if ctx.settings is None:
        return CheckResult("disk", Status.SKIP, "profile not loaded")
    where = ctx.settings.data_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = shutil.disk_usage(where)
    data = {"path": str(where), "free_bytes": usage.free, "total_bytes": usage.total}
    line = f"{where}: {usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB"
    if usage.free < DISK_FAIL_BYTES:
        return CheckResult("disk", Status.FAIL, line, data)
    if usage.free < DISK_WARN_BYTES:
        return CheckResult("disk", Status.WARN, line, data)
    return CheckResult("disk", Status.OK, line, data)


def _check_printer(run: Callable[[Sequence[str]], subprocess.CompletedProcess[str]]) -> CheckResult:
    """CUPS queues (``lpstat -e``) and the default one (``lpstat -d``).

    A missing printer is a warning, not a failure: the receipt screen then shows the code large
    (ui/printing.py). An ESC/POS printer on USB or the network is not a CUPS queue and is not seen
    here; print a test slip from the training bar for that one.
    """
    if shutil.which("lpstat") is None:
        return CheckResult(
            "printer", Status.WARN, "no CUPS client (lpstat): install cups-client for a CUPS printer"
        )
    try:
        queues = run(["lpstat", "-e"])
        default = run(["lpstat", "-d"])
    except (OSError, subprocess.SubprocessError) as exc:
        return CheckResult("printer", Status.WARN, f"lpstat failed: {type(exc).__name__}")
    names = [line.strip() for line in queues.stdout.splitlines() if line.strip()]
    if queues.returncode != 0 or not names:
        why = "CUPS not running" if queues.returncode != 0 else "no printer queue"
        return CheckResult(
            "printer", Status.WARN, f"{why} (lpstat -e); receipts will show the code on screen"
        )
    line = default.stdout.strip()
    prefix = "system default destination:"
    chosen = line[len(prefix) :].strip() if default.returncode == 0 and line.startswith(prefix) else ""
    data = {"queues": names, "default": chosen or None}
    return CheckResult(
        "printer", Status.OK, f"CUPS queues: {', '.join(names)}; default: {chosen or 'none'}", data
    )


def _check_audio(ctx: _Context, cards_file: Path) -> CheckResult:
    """ALSA sound cards (/proc/asound/cards): the card-left-behind alarm needs one in self mode."""
    try:
        text = cards_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    cards = [line.strip() for line in text.splitlines() if line[:3].strip().isdigit()]
    self_mode = ctx.settings is not None and ctx.settings.mode.value == "self"
    if not cards:
        status = Status.FAIL if self_mode else Status.WARN
        why = "the card-left-behind alarm needs one in self mode" if self_mode else "no sound"
        return CheckResult("audio", status, f"no sound card ({cards_file}): {why}", {"cards": []})
    return CheckResult("audio", Status.OK, f"{len(cards)} sound card(s): {cards[0]}", {"cards": cards})


def _check_heartbeat(ctx: _Context, earlier: Sequence[CheckResult]) -> CheckResult:
    """Send one heartbeat (sync.heartbeat) with what the checks found: the server then shows this
    booth in ``madoguchi server devices`` at once, with the first failed check as its last error."""
    if importlib.util.find_spec("sync.heartbeat") is None:
        return CheckResult("heartbeat", Status.SKIP, "this build has no sync.heartbeat")
    if ctx.settings is None or ctx.pinned_url is None or ctx.device_key is None:
        return CheckResult("heartbeat", Status.SKIP, "not enrolled")
    from kiosk import composition
    from sync.errors import SyncError
    from sync.heartbeat import send_heartbeat, software_version
    from sync.wire import WireFormatError

    app_version = software_version()
    failed = [r.name for r in earlier if r.status is Status.FAIL]
    last_error = f"selftest.{failed[0]}" if failed else None
    depth, oldest = 0, None
    try:
        status = composition.outbox_status(ctx.settings)
        if status is not None:
            depth = status.depth
            oldest = None if status.oldest_age_s is None else max(0, round(status.oldest_age_s))
        with composition.sync_client(ctx.settings, ctx.pinned_url) as client:
            sent = send_heartbeat(
                client,
                ctx.device_key,
                version=app_version,
                queue_depth=depth,
                oldest_queued_s=oldest,
                reader_state=ctx.reader_state,
                last_error=last_error,
            )
    except (SyncError, WireFormatError) as exc:
        return CheckResult("heartbeat", Status.FAIL, f"{type(exc).__name__}: {exc}")
    return CheckResult(
        "heartbeat",
        Status.OK,
        f"sent: version {sent.version}, queue {sent.queue_depth}, reader {sent.reader_state}, "
        f"last error {sent.last_error or 'none'}",
        {"version": sent.version, "queue_depth": sent.queue_depth, "reader_state": sent.reader_state},
    )


def _run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)


def _default_pcsc() -> PcscPort:
    from kiosk import composition

    return composition.pcsc_context()


def run_checks(
    config: Path | None,
    *,
    pcsc_factory: Callable[[], PcscPort] = _default_pcsc,
    ccid_plist: Path = CCID_INFO_PLIST,
    asound_cards: Path = Path("/proc/asound/cards"),
    run: Callable[[Sequence[str]], subprocess.CompletedProcess[str]] = _run_command,
) -> list[CheckResult]:
    """Every check, in the order an installer fixes things: profile, readers, trust, enrolment,
    server, outbox, disk, printer, audio, heartbeat. A check that needs the profile is SKIP when it
    did not load; nothing raises (an unexpected error is a bug and propagates)."""
    ctx = _Context(config)
    results = [_check_profile(ctx)]
    results += _check_pcsc(ctx, pcsc_factory, ccid_plist)
    results.append(_check_trust(ctx))
    results.append(_check_enrolled(ctx))
    results.append(_check_server(ctx))
    results.append(_check_outbox(ctx))
    results.append(_check_disk(ctx))
    results.append(_check_printer(run))
    results.append(_check_audio(ctx, asound_cards))
    results.append(_check_heartbeat(ctx, results))
    return results


def exit_code(results: Iterable[CheckResult]) -> int:
    return EXIT_FAILED if any(r.status is Status.FAIL for r in results) else EXIT_OK


def format_lines(results: Iterable[CheckResult]) -> str:
    return "".join(f"{r.status.value.upper():<4} {r.name:<9} {r.detail}\n" for r in results)


def drop_to_data_owner(config: Path | None) -> str | None:
    """Started as root: become the owner of the profile's data directory (the service user).

    The outbox is SQLite in WAL mode: opening it, even read-only, can create ``-wal``/``-shm``
    files, and as root they would be root's, which the kiosk could then not open. So the checks run
    as the user the kiosk runs as. Returns that user's name, or None when nothing changed.
    """
    if os.geteuid() != 0:
        return None
    from kiosk.errors import KioskError
    from kiosk.settings import load_settings

    try:
        owner = load_settings(config).data_dir.stat().st_uid
    except (KioskError, OSError):
        return None
    if owner == 0:
        return None
    import pwd

    entry = pwd.getpwuid(owner)
    os.initgroups(entry.pw_name, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    return entry.pw_name


def _handler(args: argparse.Namespace) -> int:
    user = drop_to_data_owner(args.config)
    if user is not None:
        print(f"madoguchi self-test: running as {user}, the owner of the data directory", file=sys.stderr)
    results = run_checks(args.config)
    code = exit_code(results)
    if args.json:
        json.dump(
            {"ok": code == EXIT_OK, "checks": [r.to_json() for r in results]}, sys.stdout, ensure_ascii=False
        )
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_lines(results))
    return code


def register(subparsers: Any) -> None:
    """Add ``self-test`` to the ``madoguchi`` command line."""
    parser = subparsers.add_parser(
        "self-test",
        help="check this booth: pcscd, readers (type B), trust, enrolment, server and clock, outbox, "
        "disk, printer, audio",
        description="One line per check; exit 1 when a check fails. Run as the madoguchi user or root.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help="kiosk profile (TOML)")
    parser.set_defaults(handler=_handler)
