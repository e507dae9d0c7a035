"""``madoguchi server ...``: init, run, device-token, devices, export, report, draw, purge, show, audit.

Every command takes ``--data DIR`` (default ``$MADOGUCHI_SERVER_DATA`` or ``./var/server``) and, where
it touches the database, ``--db URL`` (default: SQLite in the data directory). Heavy modules are
imported inside the handlers so ``madoguchi --help`` stays fast. Errors of :mod:`sync.server.errors`
become one line on stderr and exit code 2; nothing personal is ever printed except by ``show``, whose
purpose is to show one registration to an operator (audited).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sync.server.db import Database

Handler = Callable[[argparse.Namespace], int]


def _data_dir(args: argparse.Namespace) -> Path:
    from sync.server.keys import default_data_dir

    return Path(args.data) if args.data else default_data_dir()


def _db_url(args: argparse.Namespace) -> str:
    from sync.server.keys import default_db_url

    return str(args.db) if getattr(args, "db", None) else default_db_url(_data_dir(args))


def _open_db(args: argparse.Namespace) -> Database:
    from sync.server.db import open_database
    from sync.server.migrations import migrate

    db = open_database(_db_url(args), pool_size=2)
    migrate(db)
    return db


def _guarded(fn: Handler) -> Handler:
    """Turn the server's typed errors into a one-line message and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        from sync.server.errors import ServerError

        try:
            return fn(args)
        except ServerError as exc:
            print(f"madoguchi server: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:  # --output DIR, a full disk, a missing file: one line, no traceback
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"madoguchi server: {where}{exc.strerror or type(exc).__name__}", file=sys.stderr)
            return 2

    return run


def _private_output(path: str) -> TextIO:
    """A text file created 0600 from its first byte (exports hold codes and municipalities)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode on O_CREAT: tighten it
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True))


# --- handlers ------------------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    from sync.server.keys import init_data_dir

    data_dir = _data_dir(args)
    token = init_data_dir(data_dir)
    db = _open_db(args)
    db.close()
    print(f"initialised {data_dir}")
    print("admin token (shown once, store it in your secrets manager):")
    print(token)
    return 0


def _cmd_device_token(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sync.server.devices import issue_token

    db = _open_db(args)
    try:
        token = issue_token(db, args.name, ttl=timedelta(hours=args.ttl_hours))
    finally:
        db.close()
    print(token)
    return 0


def _cmd_devices(args: argparse.Namespace) -> int:
    from sync.server.devices import list_devices, revoke_device

    db = _open_db(args)
    try:
        if args.action == "revoke":
            if not args.device_id:
                print("madoguchi server devices revoke: DEVICE_ID is required", file=sys.stderr)
                return 2
            _print_json(revoke_device(db, args.device_id).to_json())
        else:
            from datetime import timedelta

            from sync.server.heartbeats import device_statuses

            stale_after = timedelta(minutes=args.stale_minutes)
            statuses = {s.device_id: s for s in device_statuses(db, stale_after=stale_after)}
            listed = [{**d.to_json(), **statuses[d.device_id].to_json()} for d in list_devices(db)]
            _print_json(listed)
            silent = [d["device_id"] for d in listed if d["not_seen"]]
            if silent:
                print(
                    f"madoguchi server: {len(silent)} kiosk(s) not seen for {args.stale_minutes:g} min: "
                    + ", ".join(str(x) for x in silent),
                    file=sys.stderr,
                )
    finally:
        db.close()
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from sync.server.run import ServeOptions, serve

    options = ServeOptions(
        data_dir=_data_dir(args).resolve(),
        db_url=_db_url(args),
        host=args.host,
        port=args.port,
        programs_dir=Path(args.programs).resolve() if args.programs else None,
        trust_file=Path(args.trust).resolve() if args.trust else None,
        workers=args.workers,
    )
    return serve(options)


def _cmd_export(args: argparse.Namespace) -> int:
    from sync.server.exports import export_grants

    db = _open_db(args)
    try:
        out = _private_output(args.output) if args.output else sys.stdout
        try:
            count = export_grants(db, args.program, args.format, out)
        finally:
            if out is not sys.stdout:
                out.close()
    finally:
        db.close()
    print(f"exported {count} grants", file=sys.stderr)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sync.server.exports import monthly_report

    db = _open_db(args)
    try:
        _print_json(monthly_report(db, args.month))
    finally:
        db.close()
    return 0


def _cmd_draw(args: argparse.Namespace) -> int:
    from sync.server.context import load_programs_for_cli
    from sync.server.lottery import run_draw

    db = _open_db(args)
    try:
        programs = load_programs_for_cli(Path(args.programs) if args.programs else None)
        _print_json(run_draw(db, programs, args.program, seed=args.seed, actor="cli").to_json())
    finally:
        db.close()
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from sync.server.retention import purge

    db = _open_db(args)
    try:
        _print_json(purge(db, retention_years=args.retention_years, actor="cli").to_json())
    finally:
        db.close()
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from sync.server.keys import load_keys
    from sync.server.opening import open_registration

    keys = load_keys(_data_dir(args))
    db = _open_db(args)
    try:
        signed = open_registration(db, keys, args.record_id, actor=args.actor)
    finally:
        db.close()
    record = signed.record.to_obj()
    record.pop("auth_certificate", None)
    _print_json(record)
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from sync.server.audit import verify
    from sync.server.checkpoints import make_checkpoint, verify_against
    from sync.server.errors import AuditCheckpointError
    from sync.server.keys import audit_signing_key

    checkpoints: list[Any] = []
    for name in args.against or ():
        try:
            checkpoints.append(json.loads(Path(name).read_text("utf-8")))
        except (UnicodeDecodeError, ValueError):
            raise AuditCheckpointError(f"{name} is not a checkpoint file") from None
    key = audit_signing_key(_data_dir(args)) if args.checkpoint or checkpoints else None
    db = _open_db(args)
    try:
        if key is not None and checkpoints:
            count = verify_against(db, key.public_key(), checkpoints)
        else:
            count = verify(db)
        made = make_checkpoint(db, key) if key is not None and args.checkpoint else None
    finally:
        db.close()
    suffix = f" and {len(checkpoints)} checkpoint(s)" if checkpoints else ""
    print(f"audit chain verified: {count} entries{suffix}", file=sys.stderr if made else sys.stdout)
    if made is not None:
        text = json.dumps(made, sort_keys=True, indent=2) + "\n"
        if args.output:
            with _private_output(args.output) as out:
                out.write(text)
            print(
                f"checkpoint at entry {made['checkpoint']['seq']} written to {args.output}", file=sys.stderr
            )
        else:
            sys.stdout.write(text)
    return 0


# --- registration --------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, db: bool = True) -> None:
    parser.add_argument("--data", metavar="DIR", help="server data directory (keys, default SQLite)")
    if db:
        parser.add_argument(
            "--db", metavar="URL", help="sqlite:///PATH or postgresql://... (default: SQLite in --data)"
        )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``madoguchi server`` and its sub-commands."""
    server = subparsers.add_parser("server", help="the reference central server")
    sub = server.add_subparsers(dest="server_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("init", help="create the server's HPKE key pair, person-key secret and admin token")
    _common(p)
    p.set_defaults(handler=_guarded(_cmd_init))

    p = sub.add_parser("run", help="serve the HTTP API on uvicorn")
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--programs", metavar="DIR", help="programme definitions (default: config/programs)")
    p.add_argument("--trust", metavar="FILE", help="PEM bundle of JPKI auth root certificates")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (one per core)")
    p.set_defaults(handler=_guarded(_cmd_run))

    p = sub.add_parser("device-token", help="issue a one-time kiosk enrollment token")
    _common(p)
    p.add_argument("--name", required=True, help="a label for the kiosk (place, booth)")
    p.add_argument("--ttl-hours", type=float, default=24.0)
    p.set_defaults(handler=_guarded(_cmd_device_token))

    p = sub.add_parser("devices", help="list kiosks (heartbeat, not-seen flag) or revoke one")
    _common(p)
    p.add_argument("action", nargs="?", choices=("list", "revoke"), default="list")
    p.add_argument("device_id", nargs="?")
    p.add_argument(
        "--stale-minutes",
        type=float,
        default=30.0,
        metavar="N",
        help="flag kiosks with no heartbeat or upload for N minutes (default 30)",
    )
    p.set_defaults(handler=_guarded(_cmd_devices))

    p = sub.add_parser("export", help="write a programme's grant ledger for the point operator")
    _common(p)
    p.add_argument("--program", required=True)
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--output", metavar="FILE", help="default: standard output")
    p.set_defaults(handler=_guarded(_cmd_export))

    p = sub.add_parser("report", help="monthly report: registrations, grants, rejections, municipalities")
    _common(p)
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.set_defaults(handler=_guarded(_cmd_report))

    p = sub.add_parser("draw", help="run a lottery programme's draw from a published seed")
    _common(p)
    p.add_argument("--program", required=True)
    p.add_argument("--seed", required=True, help="the published seed (anyone can re-run the draw)")
    p.add_argument("--programs", metavar="DIR", help="programme definitions (default: config/programs)")
    p.set_defaults(handler=_guarded(_cmd_draw))

    p = sub.add_parser("purge", help="delete data older than the retention period (default 5 years)")
    _common(p)
    p.add_argument("--retention-years", type=int, default=5)
    p.set_defaults(handler=_guarded(_cmd_purge))

    p = sub.add_parser("show", help="decrypt one stored registration for an operator (audited)")
    _common(p)
    p.add_argument("record_id")
    p.add_argument("--actor", default="cli", help="who is opening it (written to the audit log)")
    p.set_defaults(handler=_guarded(_cmd_show))

    p = sub.add_parser("audit", help="verify the audit log's hash chain (and signed checkpoints)")
    _common(p)
    p.add_argument(
        "--checkpoint", action="store_true", help="then sign the chain's head: keep the output elsewhere"
    )
    p.add_argument("--output", metavar="FILE", help="write the checkpoint here (0600; default stdout)")
    p.add_argument(
        "--against", metavar="FILE", nargs="+", help="checkpoint files the chain must still pass through"
    )
    p.set_defaults(handler=_guarded(_cmd_audit))

    from sync.server.shelters_cli import register as register_shelters  # shelters, notice-list

    register_shelters(sub, common=_common, guarded=_guarded, open_db=_open_db, data_dir=_data_dir)
