"""The grant ledger for the point operator and the monthly report (R-SY-18).

The ledger identifies each grant by its registration code (printed on the resident's receipt) and a
pseudonymous person id; it carries no name, address or birth date. The point operator credits the
account the resident links with that code. Months are calendar months in Asia/Tokyo, as the
programmes' periods are.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from typing import TextIO

from kiosk.rules.programs import JST
from sync.server import audit
from sync.server.db import Database, as_datetime
from sync.server.errors import ServerError
from sync.wire import RecordStatus

LEDGER_COLUMNS = (
    "code",
    "record_id",
    "person_id",
    "program_id",
    "points",
    "granted_at",
    "via",
    "municipality",
)


class ReportError(ServerError):
    """Raised for a malformed ``--month`` or an unknown export format."""


def export_grants(db: Database, program_id: str, fmt: str, out: TextIO, *, actor: str = "cli") -> int:
    """Write ``program_id``'s grants (oldest first) as ``csv`` or ``json``; return the count.

    The export is an audited action (data leaves the server): the audit entry names the programme,
    the format and the count.
    """
    if fmt not in ("csv", "json"):
        raise ReportError(f"unknown format {fmt!r}: use csv or json")
    with db.transaction() as tx:
        rows = tx.execute(
            "SELECT code, record_id, person_id, program_id, points, granted_at, via, municipality "
            "FROM grants WHERE program_id = ? ORDER BY granted_at, record_id",
            (program_id,),
        )
    items = [
        {
            "code": str(r[0]),
            "record_id": str(r[1]),
            "person_id": str(r[2]),
            "program_id": str(r[3]),
            "points": int(r[4]),
            "granted_at": as_datetime(r[5]).isoformat(),
            "via": str(r[6]),
            "municipality": str(r[7]),
        }
        for r in rows
    ]
    with db.transaction(exclusive=True) as tx:
        audit.append(
            tx,
            db.dialect,
            [
                audit.AuditEvent(
                    "export", actor, {"program_id": program_id, "format": fmt, "grants": len(items)}
                )
            ],
        )
    if fmt == "json":
        json.dump(items, out, ensure_ascii=False, indent=1)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=LEDGER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(items)
    return len(items)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a ``YYYY-MM`` calendar month in Asia/Tokyo, as aware datetimes."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    # years outside 1970-9998 have no month end / no UTC instant a database column can hold
    if not match or not 1 <= int(match.group(2)) <= 12 or not 1970 <= int(match.group(1)) <= 9998:
        raise ReportError(f"month must look like 2025-02 (years 1970-9998), got {month!r}")
    year, mon = int(match.group(1)), int(match.group(2))
    start = datetime(year, mon, 1, tzinfo=JST)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=JST)
    return start, end


def monthly_report(db: Database, month: str) -> dict[str, object]:
    """Registrations, grants, rejections by reason and per-municipality figures of one month."""
    start, end = month_bounds(month)
    window = (start, end)
    with db.transaction() as tx:
        registrations = {
            str(p): int(n)
            for p, n in tx.execute(
                "SELECT program_id, COUNT(*) FROM registrations WHERE received_at >= ? AND received_at < ? "
                "GROUP BY program_id",
                window,
            )
        }
        grants = {
            str(p): {"grants": int(n), "points": int(pt)}
            for p, n, pt in tx.execute(
                "SELECT program_id, COUNT(*), SUM(points) FROM grants "
                "WHERE granted_at >= ? AND granted_at < ? GROUP BY program_id",
                window,
            )
        }
        rejections = {
            str(r): int(n)
            for r, n in tx.execute(
                "SELECT reason, COUNT(*) FROM records WHERE outcome = ? AND received_at >= ? "
                "AND received_at < ? GROUP BY reason",
                (RecordStatus.REJECTED.value, *window),
            )
        }
        municipalities: dict[str, dict[str, int]] = {}
        for prefecture, municipality, n in tx.execute(
            "SELECT prefecture, municipality, COUNT(*) FROM registrations WHERE received_at >= ? "
            "AND received_at < ? GROUP BY prefecture, municipality",
            window,
        ):
            key = f"{prefecture}{municipality}" or "(unknown)"
            municipalities.setdefault(key, {"registrations": 0, "grants": 0, "points": 0})[
                "registrations"
            ] = int(n)
        for municipality, n, points in tx.execute(
            "SELECT r.prefecture || g.municipality, COUNT(*), SUM(g.points) FROM grants g "
            "JOIN registrations r ON r.record_id = g.record_id "
            "WHERE g.granted_at >= ? AND g.granted_at < ? GROUP BY r.prefecture || g.municipality",
            window,
        ):
            entry = municipalities.setdefault(
                str(municipality) or "(unknown)", {"registrations": 0, "grants": 0, "points": 0}
            )
            entry["grants"], entry["points"] = int(n), int(points)
    return {
        "month": month,
        "timezone": "Asia/Tokyo",
        "registrations": {"total": sum(registrations.values()), "by_program": registrations},
        "grants": {
            "total": sum(g["grants"] for g in grants.values()),
            "points": sum(g["points"] for g in grants.values()),
            "by_program": grants,
        },
        "rejections": rejections,
        "municipalities": dict(sorted(municipalities.items())),
    }
