"""``madoguchi enroll``, ``madoguchi queue status|export-rejected`` and ``madoguchi sync``.

Kiosk settings (``[kiosk] id``, ``data_dir``) come from :func:`kiosk.settings.load_settings`; the
device store, the outbox, the client and the sync service from the composition root
(:mod:`kiosk.composition`), as for every front end. Records go to the server pinned at enrollment
(``server.json``), not to whatever ``[server] url`` says later: the pinned key and the URL belong
together.

Exit codes: 0 success; 1 the transfer failed or records are left (they stay queued); 2 the kiosk is
not usable (settings, enrollment, storage).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.settings import KioskSettings

__all__ = ["register"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


def register(subparsers: Any) -> None:
    """Add ``enroll``, ``queue`` and ``sync`` to the ``madoguchi`` command line."""
    enroll = subparsers.add_parser("enroll", help="create the device key and pin the server key")
    enroll.add_argument("--server", required=True, metavar="URL", help="https:// URL of the central server")
    enroll.add_argument(
        "--token",
        required=True,
        help="one-time enrollment token from the operator; '-' reads it from standard input "
        "(keeps it out of the process list)",
    )
    _config_arg(enroll)
    enroll.set_defaults(handler=_enroll)

    queue = subparsers.add_parser("queue", help="inspect the outbox (never decrypts)")
    queue_sub = queue.add_subparsers(dest="queue_command", metavar="COMMAND")
    queue_sub.required = True
    status = queue_sub.add_parser("status", help="depth, oldest age, counts by state, today's counters")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    _config_arg(status)
    status.set_defaults(handler=_queue_status)
    export = queue_sub.add_parser(
        "export-rejected", help="write rejected records (still sealed) as JSON lines"
    )
    export.add_argument("--out", type=Path, required=True, metavar="FILE")
    _config_arg(export)
    export.set_defaults(handler=_queue_export)

    sync = subparsers.add_parser("sync", help="upload queued records to the pinned server")
    sync.add_argument("--once", action="store_true", help="one pass over every queued record, then exit")
    sync.add_argument("--json", action="store_true", help="machine-readable report (with --once)")
    sync.add_argument("--interval", type=float, default=30.0, help="idle poll interval without --once")
    _config_arg(sync)
    sync.set_defaults(handler=_sync)


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help="kiosk profile (TOML)")


def _fail(command: str, exc: BaseException, code: int = EXIT_UNUSABLE) -> int:
    print(f"madoguchi {command}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return code


def _settings(path: Path | None) -> KioskSettings:
    from kiosk.settings import load_settings

    return load_settings(path)


def _enroll(args: argparse.Namespace) -> int:
    from kiosk import composition
    from kiosk.errors import KioskError
    from sync.errors import SyncError

    from_stdin = args.token == "-"  # noqa: S105 - the conventional "read from stdin" marker
    token = sys.stdin.readline().strip() if from_stdin else args.token
    if not token:
        print("madoguchi enroll: empty token", file=sys.stderr)
        return EXIT_UNUSABLE
    if not from_stdin:
        print(
            "madoguchi enroll: note: a token given as an argument is visible in the process list and "
            "the shell history; prefer --token - (standard input)",
            file=sys.stderr,
        )
    try:
        settings = _settings(args.config)
        store = composition.device_store(settings)
        key = store.load_or_create_device_key()
        with composition.sync_client(settings, args.server) as client:
            reply = client.enroll(token, key.public_key().public_bytes_raw())
        pinned = store.pin_server(client.base_url, reply)
    except (KioskError, SyncError) as exc:
        return _fail("enroll", exc)
    print(
        f"enrolled kiosk {settings.kiosk_id} as device {pinned.device_id}; "
        f"server key pinned in {store.server_path}"
    )
    if settings.server.url.rstrip("/") != pinned.url:
        print(f"note: [server] url in {settings.path} differs; records go to the pinned {pinned.url}")
    return EXIT_OK


def _queue_status(args: argparse.Namespace) -> int:
    from kiosk import composition
    from kiosk.errors import KioskError
    from sync.errors import SyncError

    try:
        settings = _settings(args.config)
        with composition.open_outbox(settings, recover=False) as outbox:
            status = outbox.status()
    except (KioskError, SyncError) as exc:
        return _fail("queue status", exc)
    if args.json:
        print(json.dumps({"kiosk_id": settings.kiosk_id, **status.to_json()}, sort_keys=True))
        return EXIT_OK
    age = "-" if status.oldest_age_s is None else f"{status.oldest_age_s:.0f} s"
    print(f"kiosk {settings.kiosk_id}: {status.depth} queued (oldest {age})")
    print("  " + ", ".join(f"{k.lower()} {v}" for k, v in status.counts.items()))
    print("  today: " + ", ".join(f"{k} {v}" for k, v in status.today.items()))
    if status.last_errors:
        print("  last errors: " + ", ".join(f"{k} {v}" for k, v in sorted(status.last_errors.items())))
    return EXIT_OK


def _queue_export(args: argparse.Namespace) -> int:
    from kiosk import composition
    from kiosk.errors import KioskError
    from sync.device_keys import write_private_file
    from sync.errors import SyncError

    try:
        settings = _settings(args.config)
        with composition.open_outbox(settings, recover=False) as outbox:
            rows = outbox.rejected()
        lines = [
            json.dumps({"reason": reason, "envelope": env.to_json()}, sort_keys=True) for env, reason in rows
        ]
        write_private_file(args.out.resolve(), ("\n".join(lines) + "\n" if lines else "").encode())
    except (KioskError, SyncError, OSError) as exc:
        return _fail("queue export-rejected", exc)
    print(f"exported {len(rows)} rejected record(s), still sealed, to {args.out}")
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    from kiosk import composition
    from kiosk.errors import KioskError
    from sync.errors import SyncError
    from sync.uploader import SyncReport

    def _print(report: SyncReport) -> None:
        print(json.dumps(report.to_json(), sort_keys=True), flush=True)

    try:
        settings = _settings(args.config)
        if not args.once:
            service = composition.sync_service(settings, on_report=_print, interval_s=args.interval)
    except (KioskError, SyncError) as exc:
        return _fail("sync", exc)

    if not args.once:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        service.start()
        while not stop.wait(0.5):
            if not service.running:
                break
        service.stop()
        return EXIT_OK if service.last_error is None else EXIT_FAILED

    try:
        report = composition.upload_once(settings)
    except SyncError as exc:
        return _fail("sync", exc)
    if args.json:
        print(json.dumps(report.to_json(), sort_keys=True))
    else:
        print(
            f"sent {report.accepted} (+{report.duplicate} already there), rejected {report.rejected}, "
            f"left {report.remaining}" + (f"; error {report.error}" if report.error else "")
        )
        if report.clock_offset_s is not None:
            print(f"clock offset to server: {report.clock_offset_s:+.1f} s")
        for alert in report.alerts:
            print(f"alert: {alert}")
    return EXIT_OK if report.ok and report.remaining == 0 else EXIT_FAILED
