"""Numbered schema migrations and PostgreSQL's monthly partitions.

Each migration is a pair of files ``NNNN_name.sqlite.sql`` / ``NNNN_name.postgresql.sql`` in this
package: plain SQL is what a DBA reviews, and keeping the two dialects side by side makes their
differences (BLOB/BYTEA, identity columns, partitioning) visible. ``schema_migrations`` records what
ran. Migrating takes the database's write lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory
lock) so several API processes starting at once apply each migration exactly once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from sync.server.db import Database, Dialect, Transaction
from sync.server.errors import MigrationError, StorageError

logger = logging.getLogger(__name__)

#: Arbitrary constant naming the advisory lock that serialises migrations on PostgreSQL.
_MIGRATION_LOCK = 0x6D61646F  # "mado"
_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|postgresql)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered migration for one dialect."""

    version: int
    name: str
    statements: tuple[str, ...]


def _split(sql: str) -> tuple[str, ...]:
    """Split a migration into statements at ``;`` ending a line (the files avoid ``;`` elsewhere)."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return tuple(p.strip() for p in parts if p.strip())


def available(dialect: Dialect) -> list[Migration]:
    """Every migration shipped for ``dialect``, in version order."""
    found: list[Migration] = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME_RE.match(entry.name)
        if match and match.group(3) == dialect.value:
            found.append(Migration(int(match.group(1)), match.group(2), _split(entry.read_text("utf-8"))))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migrations for {dialect.value} are not numbered 1..n: {versions}")
    return found


def migrate(db: Database) -> int:
    """Apply every missing migration; return the schema version now in the database.

    :raises MigrationError: a migration failed, or the database is newer than this code.
    """
    migrations = available(db.dialect)
    try:
        with db.transaction(exclusive=True) as tx:
            if db.dialect is Dialect.POSTGRES:
                tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            applied = {int(r[0]) for r in tx.execute("SELECT version FROM schema_migrations")}
            newest = max(applied, default=0)
            if newest > len(migrations):
                raise MigrationError(
                    f"database schema version {newest} is newer than this server ({len(migrations)})"
                )
            for migration in migrations:
                if migration.version in applied:
                    continue
                logger.info("applying migration %04d_%s", migration.version, migration.name)
                for statement in migration.statements:
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, datetime.now(UTC)),
                )
    except MigrationError:
        raise
    except StorageError:
        raise
    except Exception as exc:
        raise MigrationError(f"migration failed: {type(exc).__name__}: {exc}") from exc
    if db.dialect is Dialect.POSTGRES:
        ensure_partitions(db, datetime.now(UTC), months_ahead=2)
    return len(migrations)


# --- PostgreSQL monthly partitions -----------------------------------------------------------------


def month_start(moment: datetime, offset: int = 0) -> datetime:
    """The first instant (UTC) of the month ``offset`` months after the month of ``moment``."""
    utc = moment.astimezone(UTC)
    index = utc.year * 12 + (utc.month - 1) + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(moment: datetime) -> str:
    """``registrations_yYYYYmMM`` for the month of ``moment``."""
    start = month_start(moment)
    return f"registrations_y{start.year:04d}m{start.month:02d}"


def _create_partition(tx: Transaction, start: datetime) -> None:
    name = partition_name(start)
    end = month_start(start, 1)
    # Identifiers cannot be bound as parameters; ``name`` is built from integers only.
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF registrations "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def ensure_partitions(db: Database, moment: datetime, *, months_ahead: int = 1) -> list[str]:
    """Create the partitions for the month of ``moment`` and ``months_ahead`` months after it.

    Returns the names that exist afterwards. Safe to call from several processes at once (advisory
    lock); a no-op on SQLite, which has no partitioning.
    """
    if db.dialect is not Dialect.POSTGRES:
        return []
    names: list[str] = []
    with db.transaction() as tx:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK + 1,))
        for offset in range(months_ahead + 1):
            start = month_start(moment, offset)
            _create_partition(tx, start)
            names.append(partition_name(start))
    return names


def list_partitions(db: Database) -> list[str]:
    """Names of the monthly partitions of ``registrations`` (PostgreSQL), oldest first."""
    if db.dialect is not Dialect.POSTGRES:
        return []
    with db.transaction() as tx:
        rows = tx.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'registrations'::regclass "
            "AND c.relname LIKE 'registrations_y%' ORDER BY c.relname"
        )
    return [str(r[0]) for r in rows]


def drop_partitions_before(db: Database, cutoff: datetime) -> list[str]:
    """Drop every monthly partition that ends at or before ``cutoff``; return the dropped names.

    Dropping a partition is the cheap way to apply retention (no bulk DELETE, no VACUUM debt).
    """
    dropped: list[str] = []
    for name in list_partitions(db):
        match = re.fullmatch(r"registrations_y(\d{4})m(\d{2})", name)
        if not match:
            continue
        start = datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
        if month_start(start, 1) <= cutoff:
            with db.transaction() as tx:
                tx.execute(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped
