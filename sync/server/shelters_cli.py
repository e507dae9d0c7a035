"""``madoguchi server shelters …`` and ``madoguchi server notice-list``: the disaster-response side.

    madoguchi server shelters [summary] [--shelters FILE] [--hours N]           headcounts, arrivals
    madoguchi server shelters evacuees --shelter ID [--operator NAME --reason TEXT]
                                       [--format json|csv] [--output FILE]    who is there
    madoguchi server shelters not-seen --area AREA --operator NAME --reason TEXT
    madoguchi server shelters operator add|revoke NAME                         authorise operators
    madoguchi server shelters purge [--retention-days N]                       retention (default 180)
    madoguchi server notice-list --area 宮城県石巻市 --operator NAME --reason TEXT [--format csv|json]

An operator's token (printed once by ``operator add``) is read from the first line of standard
input, never from the command line. Names, addresses and birth dates are printed only for an
operator whose token verifies; every such opening is written to the audit log with its reason
(docs/shelter.md §5). Columns of the CSV exports: :data:`~sync.server.shelters.EVACUEE_COLUMNS`
and :data:`~sync.server.shelters.NOTICE_COLUMNS` (documented in docs/shelter.md §7).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def _operator(args: argparse.Namespace, *, required: bool) -> Any:
    from sync.server.shelters import Operator, ShelterError

    if args.operator is None:
        if required:
            raise ShelterError("--operator NAME is required (the token on standard input)")
        return None
    token = sys.stdin.readline().strip()
    if not token:
        raise ShelterError("the operator token is read from standard input: none was given")
    return Operator(args.operator, token, args.reason or "")


def _shelters(args: argparse.Namespace) -> Any:
    from kiosk.rules.shelter_config import load_shelters

    path = (
        Path(args.shelters)
        if args.shelters
        else Path(__file__).resolve().parents[2] / "config" / "shelters.toml"
    )
    return load_shelters(path)


def _write(args: argparse.Namespace, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    from sync.server.shelters import to_csv

    text = (
        to_csv(rows, columns)
        if args.format == "csv"
        else json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def register(
    sub: Any,
    *,
    common: Callable[[argparse.ArgumentParser], None],
    guarded: Callable[[Handler], Handler],
    open_db: Callable[[argparse.Namespace], Any],
    data_dir: Callable[[argparse.Namespace], Path],
) -> None:
    """Add ``shelters`` and ``notice-list`` under ``madoguchi server``."""

    def keys(args: argparse.Namespace) -> Any:
        from sync.server.keys import load_keys

        return load_keys(data_dir(args))

    def summary(args: argparse.Namespace) -> int:
        from sync.server import shelters

        db = open_db(args)
        try:
            rows = shelters.summary(db, _shelters(args), hours=args.hours)
        finally:
            db.close()
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                print(
                    f"{r['shelter_id']}\t{r['name'] or '?'}\t{r['headcount']} in "
                    f"({r['people']} people + {r['companions']} companions; {r['registered']} registered, "
                    f"{r['unregistered_cards']} unregistered cards, {r['unverified']} unverified)"
                )
        return 0

    def evacuees(args: argparse.Namespace) -> int:
        from sync.server import shelters

        operator = _operator(args, required=False)
        db = open_db(args)
        try:
            rows = shelters.evacuees(db, keys(args), args.shelter, operator=operator)
        finally:
            db.close()
        _write(args, rows, shelters.EVACUEE_COLUMNS)
        return 0

    def not_seen(args: argparse.Namespace) -> int:
        from sync.server import shelters

        operator = _operator(args, required=True)
        db = open_db(args)
        try:
            result = shelters.not_seen(db, keys(args), args.area, operator=operator)
        finally:
            db.close()
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0

    def operator_cmd(args: argparse.Namespace) -> int:
        from sync.server import shelters

        db = open_db(args)
        try:
            if args.action == "add":
                token = shelters.add_operator(db, args.name, actor="cli")
                print(f"operator {args.name} authorised; token (shown once, give it to them in person):")
                print(token)
            else:
                shelters.revoke_operator(db, args.name, actor="cli")
                print(f"operator {args.name} revoked")
        finally:
            db.close()
        return 0

    def purge(args: argparse.Namespace) -> int:
        from sync.server import shelters

        db = open_db(args)
        try:
            print(json.dumps(shelters.purge_checkins(db, retention_days=args.retention_days, actor="cli")))
        finally:
            db.close()
        return 0

    def notices(args: argparse.Namespace) -> int:
        from sync.server import shelters

        operator = _operator(args, required=True)
        db = open_db(args)
        try:
            rows = shelters.notice_list(db, keys(args), args.area, operator=operator)
        finally:
            db.close()
        _write(args, rows, shelters.NOTICE_COLUMNS)
        return 0

    shelters_parser = sub.add_parser(
        "shelters", help="evacuation shelters: headcounts, evacuee lists (audited)"
    )
    ssub = shelters_parser.add_subparsers(dest="shelters_command", metavar="ACTION")
    common(shelters_parser)
    shelters_parser.add_argument(
        "--shelters", metavar="FILE", help="shelters file (default: config/shelters.toml)"
    )
    shelters_parser.add_argument("--hours", type=int, default=72, help="arrivals per hour over this window")
    shelters_parser.add_argument("--json", action="store_true")
    shelters_parser.set_defaults(handler=guarded(summary))

    p = ssub.add_parser("summary", help="per shelter: headcount, breakdown, arrivals per hour")
    common(p)
    p.add_argument("--shelters", metavar="FILE")
    p.add_argument("--hours", type=int, default=72)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=guarded(summary))

    def opener(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument("--operator", metavar="NAME", required=required, help="token on standard input")
        p.add_argument("--reason", metavar="TEXT", required=required, help="written to the audit log")

    p = ssub.add_parser("evacuees", help="who is at one shelter now (names only for an operator)")
    common(p)
    p.add_argument("--shelter", required=True, metavar="ID")
    opener(p, required=False)
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--output", metavar="FILE")
    p.set_defaults(handler=guarded(evacuees))

    p = ssub.add_parser("not-seen", help="registered disaster-service residents not seen at any shelter")
    common(p)
    p.add_argument("--area", required=True, help="e.g. 宮城県石巻市")
    opener(p, required=True)
    p.set_defaults(handler=guarded(not_seen))

    p = ssub.add_parser("operator", help="authorise or revoke a disaster-response operator")
    common(p)
    p.add_argument("action", choices=("add", "revoke"))
    p.add_argument("name")
    p.set_defaults(handler=guarded(operator_cmd))

    p = ssub.add_parser("purge", help="delete check-ins older than the retention period")
    common(p)
    p.add_argument("--retention-days", type=int, default=180)
    p.set_defaults(handler=guarded(purge))

    p = sub.add_parser(
        "notice-list", help="disaster-service registrations in an area, for evacuation notices"
    )
    common(p)
    p.add_argument("--area", required=True, help="e.g. 宮城県石巻市")
    opener(p, required=True)
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--output", metavar="FILE")
    p.set_defaults(handler=guarded(notices))
