"""One small database layer over SQLite (embedded default) and PostgreSQL (production).

Why not an ORM: the server runs a handful of hot statements (batch inserts with ``ON CONFLICT DO
NOTHING``, a few counters) and must be fast on both engines; the SQL is written once with ``?``
placeholders in the subset both engines share, and this module only bridges the differences:

- placeholders (``?`` → ``%s`` for psycopg),
- connection set-up (SQLite: WAL, ``synchronous=FULL`` because a kiosk deletes a record once the
  server acknowledged it, ``busy_timeout`` so several worker processes can share one file;
  PostgreSQL: autocommit connections with explicit transaction blocks),
- timestamps (``TIMESTAMPTZ`` in PostgreSQL; UTC ISO-8601 text in SQLite, read back as aware
  ``datetime`` by a converter registered for the declared type ``TIMESTAMPTZ``).

Connections come from a tiny per-process pool because FastAPI runs synchronous endpoints in a
thread pool and neither ``sqlite3`` nor psycopg connections may be used by two threads at once.
"""

from __future__ import annotations

import enum
import fcntl
import logging
import os
import queue
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sync.server.errors import DatabaseEncodingError, StorageError, UnsupportedDatabaseError

logger = logging.getLogger(__name__)

#: ``application_name`` of the server's PostgreSQL sessions.
APPLICATION_NAME = "madoguchi-server"

Row = tuple[Any, ...]
Params = Sequence[object]


@enum.unique
class Dialect(enum.StrEnum):
    """The two supported engines; the value is the URL scheme."""

    SQLITE = "sqlite"
    POSTGRES = "postgresql"


def _parse_timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode("ascii"))


sqlite3.register_converter("TIMESTAMPTZ", _parse_timestamp)


def as_datetime(value: object) -> datetime:
    """Return ``value`` (a ``datetime`` or the SQLite ISO text of one) as an aware UTC ``datetime``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise StorageError(f"not a timestamp: {type(value).__name__}")


def _sqlite_param(value: object) -> object:
    if isinstance(value, datetime):
        # Always UTC with a fixed-width format so that text order equals time order.
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


class Transaction(ABC):
    """One open transaction; every statement uses ``?`` placeholders."""

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement and return its rows (empty for statements without a result)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for each parameter row (pipelined on PostgreSQL)."""

    @abstractmethod
    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        """Insert ``rows`` into ``table`` in as few round trips as the engine allows."""

    @abstractmethod
    def any_of(self, values: Sequence[object]) -> tuple[str, list[object]]:
        """A membership test for ``WHERE column <fragment>`` and its parameters (non-empty values)."""

    def one(self, sql: str, params: Params = ()) -> Row | None:
        """Run a statement and return its first row, or ``None``."""
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """Run a statement and return the first column of its first row, or ``None``."""
        row = self.one(sql, params)
        return row[0] if row else None


def insert_rows(
    tx: Transaction, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert many rows (``table`` and ``columns`` are constants of the caller, never input)."""
    if rows:
        tx.insert_many(table, columns, rows)


class Database(ABC):
    """A pool of connections to one database and the dialect's transaction semantics."""

    dialect: Dialect

    def __init__(self, redacted_url: str, pool_size: int) -> None:
        self.redacted_url = redacted_url
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue(maxsize=pool_size)
        self._lock = threading.Lock()
        self._all: list[Any] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.redacted_url}>"

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _transaction(self, conn: Any, *, exclusive: bool) -> AbstractContextManager[Transaction]: ...

    @contextmanager
    def _borrow(self) -> Iterator[Any]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
            with self._lock:
                self._all.append(conn)
        try:
            yield conn
        except BaseException:
            # A connection that failed mid-way may be unusable; drop it instead of pooling it.
            self._discard(conn)
            raise
        else:
            try:
                self._pool.put_nowait(conn)
            except queue.Full:
                self._discard(conn)

    def _discard(self, conn: Any) -> None:
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with suppress(Exception):  # closing a broken connection may fail; nothing left to do
            conn.close()

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[Transaction]:
        """Open a transaction; commit on success, roll back on any exception.

        ``exclusive`` takes the write lock at the start (SQLite ``BEGIN IMMEDIATE``) so that a
        read-then-write sequence cannot deadlock against another process; on PostgreSQL row locks
        and advisory locks do that job and the flag is ignored.
        """
        with self._borrow() as conn, self._transaction(conn, exclusive=exclusive) as tx:
            yield tx

    def close(self) -> None:
        """Close every connection this pool opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(Exception):
                conn.close()
        while True:
            try:
                self._pool.get_nowait()
            except queue.Empty:
                break


class _SqliteTx(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            cur = self._conn.execute(sql, [_sqlite_param(p) for p in params])
            return cur.fetchall()
        except sqlite3.OperationalError as exc:  # locked, disk I/O, full: the client retries later
            raise StorageError(f"database unavailable: {exc}") from exc

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        try:
            self._conn.executemany(sql, ([_sqlite_param(p) for p in row] for row in rows))
        except sqlite3.OperationalError as exc:
            raise StorageError(f"database unavailable: {exc}") from exc

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        # executemany of one prepared single-row INSERT runs in C: cheaper than one huge statement.
        # Only the timestamp columns (found from the first row) need converting, not every value.
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        # Most stamps of a batch are the one received_at object, so each distinct object is
        # converted once: keyed by identity (exact), the object kept in the entry so its id stays its.
        stamps = [i for i, value in enumerate(rows[0]) if isinstance(value, datetime)]
        texts: dict[int, tuple[object, object]] = {}

        def adapt(row: Params) -> Params:
            if not stamps:
                return row
            out = list(row)
            for i in stamps:
                value = out[i]
                known = texts.get(id(value))
                if known is None:
                    known = texts[id(value)] = (value, _sqlite_param(value))
                out[i] = known[1]
            return out

        try:
            self._conn.executemany(sql, map(adapt, rows))
        except sqlite3.OperationalError as exc:
            raise StorageError(f"database unavailable: {exc}") from exc

    def any_of(self, values: Sequence[object]) -> tuple[str, list[object]]:
        return "IN (" + ", ".join("?" * len(values)) + ")", [_sqlite_param(v) for v in values]


class SqliteDatabase(Database):
    """SQLite in WAL mode with ``synchronous=FULL``; several processes may share the file."""

    dialect = Dialect.SQLITE

    def __init__(self, path: Path, *, pool_size: int = 8) -> None:
        super().__init__(f"sqlite:///{path}", pool_size)
        self.path = path
        self._writer_thread_lock = threading.Lock()
        self._writer_fd: int | None = None

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """Queue writers of all processes on an ``flock`` before ``BEGIN IMMEDIATE``.

        SQLite's busy handler retries a locked database by sleeping 1, 2, 5, 10, 15… ms, so two API
        processes taking turns at the write lock lose several milliseconds per batch sleeping; a
        blocking ``flock`` wakes the next writer as soon as the lock is free. flock is per open file,
        so threads of one process queue on a thread lock first.
        """
        with self._writer_thread_lock:
            if self._writer_fd is None:
                self._writer_fd = os.open(f"{self.path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._writer_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[Transaction]:
        """See :meth:`Database.transaction`; exclusive transactions queue on the writer lock."""
        if not exclusive:
            with super().transaction() as tx:
                yield tx
            return
        with self._writer_lock(), super().transaction(exclusive=True) as tx:
            yield tx

    def close(self) -> None:
        """Close the pool and the writer-lock file."""
        super().close()
        with self._writer_thread_lock:
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None

    def _private_files(self) -> None:
        """The database file exists 0600 before SQLite opens it, and so do its -wal and -shm.

        SQLite creates the -wal and -shm files with the mode of the database file, so creating the
        database 0600 first (``O_EXCL``, not a chmod after the fact: no window where it is 0644)
        makes all three private from their first byte; files left loose by an older version are
        tightened (issue 14: they were 0644).
        """
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot create SQLite database {self.path}: {exc.strerror}") from exc
        for suffix in ("", "-wal", "-shm"):
            path = f"{self.path}{suffix}"
            with suppress(FileNotFoundError, PermissionError):
                if os.stat(path).st_mode & 0o077:
                    os.chmod(path, 0o600)

    def _connect(self) -> sqlite3.Connection:
        self._private_files()
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                detect_types=sqlite3.PARSE_DECLTYPES,
                timeout=30.0,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open SQLite database {self.path}: {exc}") from exc
        return conn

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection, *, exclusive: bool) -> Iterator[Transaction]:
        try:
            conn.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot begin a transaction: {exc}") from exc
        try:
            yield _SqliteTx(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"commit failed: {exc}") from exc


class _PgTx(Transaction):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        # psycopg parses "%" only when parameters are given, so pass None for parameterless SQL.
        cur = self._conn.execute(sql.replace("?", "%s"), list(params) if params else None)
        if cur.description is None:
            return []
        rows: list[Row] = cur.fetchall()
        return rows

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        with self._conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), [list(r) for r in rows])

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        # Binary COPY: one stream per table and batch, no statement text growing with the row count
        # (a multi-row VALUES with thousands of placeholders costs more to convert than to run) and
        # no hex encoding of the 3 KB envelopes (text COPY is about 40 % slower, performance-floors §5).
        types = self._column_types(table, columns)
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self._conn.cursor() as cur, cur.copy(sql) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def _column_types(self, table: str, columns: Sequence[str]) -> list[str]:
        cache: dict[str, dict[str, str]] = self._conn.__dict__.setdefault("_madoguchi_types", {})
        known = cache.get(table)
        if known is None:
            rows = self._conn.execute(
                "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                [table],
            ).fetchall()
            known = cache[table] = {str(name): str(kind) for name, kind in rows}
        return [known[c] for c in columns]

    def any_of(self, values: Sequence[object]) -> tuple[str, list[object]]:
        # one array parameter instead of one placeholder per value
        return "= ANY(?)", [list(values)]


class PostgresDatabase(Database):
    """PostgreSQL through psycopg 3; one autocommit connection per pooled slot."""

    dialect = Dialect.POSTGRES

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            netloc = f"{userinfo.split(':', 1)[0]}@{host}"
        super().__init__(urlunsplit(parts._replace(netloc=netloc)), pool_size)
        self._url = url

    def _connect(self) -> Any:
        import psycopg

        try:
            # the application name lets operators (and the outage test) find the server's sessions;
            # no server-side prepared statements: their generic plans turn the batch lookups
            # (``key_hash = ANY($1)`` with a few hundred values) into sequential scans that grow
            # with the table (measured: 17 ms per batch at 8,000 keys instead of under 1 ms)
            conn = psycopg.connect(
                self._url, autocommit=True, application_name=APPLICATION_NAME, prepare_threshold=None
            )
        except psycopg.Error as exc:
            raise StorageError(f"cannot connect to {self.redacted_url}: {type(exc).__name__}") from exc
        # An SQL_ASCII (or other non-UTF-8) database makes psycopg return text as bytes, and every
        # name lookup then fails far from the cause; refuse it here, where the cause can be named.
        # The server reports its encoding in the start-up parameters: no extra round trip.
        encoding = conn.info.parameter_status("server_encoding")
        if encoding != "UTF8":
            conn.close()
            raise DatabaseEncodingError(
                f"database at {self.redacted_url} has encoding {encoding}, not UTF8: "
                "create it with ENCODING 'UTF8' (initdb --encoding=UTF8 --locale=C.UTF-8)"
            )
        return conn

    @contextmanager
    def _transaction(self, conn: Any, *, exclusive: bool) -> Iterator[Transaction]:
        import psycopg

        try:
            with conn.transaction():
                yield _PgTx(conn)
        except psycopg.OperationalError as exc:
            raise StorageError(f"database unavailable: {type(exc).__name__}") from exc


def open_database(url: str, *, pool_size: int = 8) -> Database:
    """Open ``sqlite:///PATH`` or ``postgresql://...`` (``postgres://`` is accepted as an alias)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        if not url.startswith("sqlite:///"):
            raise UnsupportedDatabaseError("SQLite URLs look like sqlite:///relative or sqlite:////absolute")
        return SqliteDatabase(Path(url[len("sqlite:///") :]), pool_size=pool_size)
    if scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url, pool_size=pool_size)
    raise UnsupportedDatabaseError(f"unsupported database scheme {scheme!r}: use sqlite:/// or postgresql://")
