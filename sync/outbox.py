"""The durable, sealed offline outbox: one SQLite row per registration (``docs/outbox.md``).

Why plain :mod:`sqlite3` and not sqlite-utils here: durability needs exact control of transactions
(``BEGIN IMMEDIATE`` … ``COMMIT`` around seal-and-insert, ``isolation_level=None`` so Python never
opens or commits one behind our back), and sqlite-utils manages its own. The tests use sqlite-utils
to inspect files.

Guarantees:

- WAL with ``synchronous=FULL``: when :meth:`Outbox.enqueue` returns, the row survives a power cut
  (on storage that honours fsync). One transaction per registration; on any error nothing is written.
- The file (and, by SQLite's rule, its ``-wal``/``-shm``) has mode 0600; ``data_dir`` is 0700.
- Clear columns are non-personal only: record id, sequence, kiosk id, programme id, created at,
  size, state, attempts, next attempt, last error *code*. The registration itself is only in ``ct``,
  sealed to the server (HPKE), so the kiosk cannot read it back.
- States: ``PENDING → SENDING → SENT`` (row deleted, daily counter incremented) or ``REJECTED``
  (row kept sealed, with its reason code, for operator export). Rows left ``SENDING`` by a crash go
  back to ``PENDING`` when the outbox is opened (the server is idempotent on record id, so a resend
  is safe).
- Numbered migrations in ``schema_version``; a file from a newer program is refused.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import os
import re
import sqlite3
import stat
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum, unique
from pathlib import Path
from typing import Final, ParamSpec, Protocol, TypeVar

from sync import wire
from sync.device_keys import ensure_private_dir
from sync.errors import (
    DuplicateRecordError,
    InvalidRecordError,
    NotEnrolledError,
    OutboxStorageError,
    SchemaVersionError,
)
from sync.sealing import BadHeaderError

__all__ = [
    "OUTBOX_FILE",
    "ClaimedRecord",
    "EnqueueReceipt",
    "Outbox",
    "QueueStatus",
    "RecordState",
    "Sealer",
    "Settlement",
]

logger = logging.getLogger(__name__)

#: File name of the outbox inside the kiosk's ``data_dir``.
OUTBOX_FILE: Final = "outbox.sqlite3"
_ERROR_CODE_RE: Final = re.compile(r"[^a-z0-9_.:-]")


@unique
class RecordState(StrEnum):
    """Lifecycle of a queued record. ``SENT`` is never stored: a sent row is deleted."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    REJECTED = "REJECTED"


class Sealer(Protocol):
    """What the outbox needs to seal a record (implemented by :class:`sync.device_keys.DeviceSealer`)."""

    kiosk_id: str

    def seal(
        self, plaintext: bytes, *, record_id: str, program_id: str, seq: int, created_at: _dt.datetime
    ) -> wire.Envelope: ...


@dataclass(frozen=True, slots=True)
class EnqueueReceipt:
    """What :meth:`Outbox.enqueue` returns: the record id and its outbox sequence number."""

    record_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class ClaimedRecord:
    """A row handed to the uploader (state ``SENDING``)."""

    envelope: wire.Envelope
    attempts: int

    @property
    def record_id(self) -> str:
        """The record id (idempotency key)."""
        return self.envelope.record_id


@dataclass(slots=True)
class Settlement:
    """The outcome of one upload, applied by :meth:`Outbox.settle` in one transaction.

    ``retry`` maps record id to ``(next_attempt_at, error_code)``.
    """

    accepted: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    retry: dict[str, tuple[float, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """What ``madoguchi queue status`` shows; computed without decrypting anything."""

    depth: int
    counts: Mapping[str, int]
    oldest_created_at: str | None
    oldest_age_s: float | None
    next_attempt_at: float | None
    last_errors: Mapping[str, int]
    today: Mapping[str, int]
    schema_version: int

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (stable keys, for ``--json`` and monitoring)."""
        return {
            "depth": self.depth,
            "counts": dict(self.counts),
            "oldest_created_at": self.oldest_created_at,
            "oldest_age_s": self.oldest_age_s,
            "next_attempt_at": self.next_attempt_at,
            "last_errors": dict(self.last_errors),
            "today": dict(self.today),
            "schema_version": self.schema_version,
        }


# ----------------------------------------------------------------------------------------------
# Schema migrations. Each is applied once, in its own transaction, in order. Never edit a shipped
# migration: add the next one.


def _migration_1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            record_id TEXT NOT NULL UNIQUE,
            kiosk_id TEXT NOT NULL,
            program_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            size INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('PENDING', 'SENDING', 'REJECTED')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            last_error TEXT,
            ct BLOB NOT NULL,
            sig BLOB NOT NULL
        )"""
    )
    # Only rows that are *not* PENDING are indexed by state (a partial index): an enqueue, which
    # always inserts PENDING, does not touch it. Claims walk the rowid (seq) order and skip the few
    # SENDING/REJECTED rows; status counts PENDING as total minus the others.
    conn.execute("CREATE INDEX outbox_not_pending ON outbox (state, seq) WHERE state != 'PENDING'")
    # High-water mark of deleted sequence numbers. The next seq is max(MAX(outbox.seq), this) + 1:
    # deleting acknowledged rows can never make a seq come back, and an enqueue does not write this
    # page (it is written only when rows are deleted).
    conn.execute("CREATE TABLE sequence (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)")
    conn.execute("INSERT INTO sequence (id, value) VALUES (1, 0)")
    conn.execute(
        """CREATE TABLE daily_counters (
            day TEXT NOT NULL,
            program_id TEXT NOT NULL,
            enqueued INTEGER NOT NULL DEFAULT 0,
            accepted INTEGER NOT NULL DEFAULT 0,
            duplicate INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, program_id)
        ) WITHOUT ROWID"""
    )


MIGRATIONS: Final[tuple[Callable[[sqlite3.Connection], None], ...]] = (_migration_1,)

_DELETE_CHUNK: Final = 250
_COUNTER_COLUMNS: Final = frozenset({"enqueued", "accepted", "duplicate", "rejected"})


def _create_private_file(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it.

    SQLite creates ``-wal``/``-shm``/``-journal`` with the main file's permissions, so this one
    ``os.open`` makes every file of the outbox private, without touching the process umask.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)
        return
    os.close(fd)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _storage_errors(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Translate SQLite failures (I/O error, disk full, corrupt file) into :class:`OutboxStorageError`,
    so callers such as the sync thread handle one typed error instead of ``sqlite3`` internals."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise OutboxStorageError(f"{method.__name__} failed: {exc.__class__.__name__}: {exc}") from None

    return wrapper


def _error_code(text: str) -> str:
    """Clamp a reason/error to a short code (no free text reaches the clear columns)."""
    return _ERROR_CODE_RE.sub("_", text.lower())[:64] or "unknown"


class Outbox:
    """A repository over one SQLite connection (single thread; open one per thread).

    :param conn: a connection opened with ``isolation_level=None`` (use :meth:`open`).
    :param sealer: seals records on :meth:`enqueue`; ``None`` for read-only uses (status, upload).
    :param clock: wall clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        sealer: Sealer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if conn.isolation_level is not None:
            raise ValueError("the outbox needs a connection with isolation_level=None")
        self._conn = conn
        self._sealer = sealer
        self._clock = clock

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        sealer: Sealer | None = None,
        clock: Callable[[], float] = time.time,
        recover: bool = True,
    ) -> Outbox:
        """Open (creating if needed) the outbox at ``path``, migrate it, and recover crashed sends.

        :param recover: put rows left ``SENDING`` back to ``PENDING`` (true for the process that owns
            uploading; ``queue status`` passes false so it never writes).
        :raises OutboxStorageError: the file cannot be opened or migrated.
        :raises SchemaVersionError: the file is from a newer program.
        """
        try:
            ensure_private_dir(path.parent)
            _create_private_file(path)
        except OSError as exc:
            raise OutboxStorageError(f"{path}: cannot create ({exc.strerror})") from None
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise OutboxStorageError(f"{path}: cannot open ({exc.__class__.__name__})") from None
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxStorageError(f"{path}: cannot switch to WAL (got {mode})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            outbox = cls(conn, sealer=sealer, clock=clock)
            outbox._migrate()
            if recover:
                n = outbox.recover()
                if n:
                    logger.warning("recovered %d record(s) left SENDING by an interrupted upload", n)
        except sqlite3.Error as exc:
            conn.close()
            raise OutboxStorageError(f"{path}: {exc.__class__.__name__}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return outbox

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The underlying connection (benchmarks and tests inspect it)."""
        return self._conn

    @_storage_errors
    def schema_version(self) -> int:
        """The highest applied migration (0 for an empty file)."""
        exists = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if not exists:
            return 0
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > len(MIGRATIONS):
            raise SchemaVersionError(
                f"outbox schema version {current} is newer than this program ({len(MIGRATIONS)})"
            )
        for number in range(current + 1, len(MIGRATIONS) + 1):
            with self._transaction():
                # Re-check inside the write lock: another process may have migrated meanwhile.
                if self.schema_version() >= number:
                    continue
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                MIGRATIONS[number - 1](self._conn)
                self._conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (number, self._now_text()),
                )
            logger.info("outbox migrated to schema version %d", number)

    # -- helpers --------------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)

    def _now_text(self) -> str:
        return wire.format_timestamp(_dt.datetime.fromtimestamp(self._clock(), _dt.UTC))

    def _day(self) -> str:
        return _dt.datetime.fromtimestamp(self._clock(), _dt.UTC).date().isoformat()

    def _count(self, program_id: str, column: str, n: int = 1) -> None:
        if column not in _COUNTER_COLUMNS:  # column names cannot be bound parameters
            raise ValueError(column)
        self._conn.execute(
            f"INSERT INTO daily_counters (day, program_id, {column}) VALUES (?, ?, ?) "  # noqa: S608
            f"ON CONFLICT (day, program_id) DO UPDATE SET {column} = {column} + excluded.{column}",
            (self._day(), program_id, n),
        )

    # -- the kiosk's side -------------------------------------------------------------------------

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> EnqueueReceipt:
        """Seal ``plaintext`` and commit it as one ``PENDING`` row, durably, in one transaction.

        :raises NotEnrolledError: the outbox was opened without a sealer (device not enrolled).
        :raises DuplicateRecordError: ``record_id`` is already queued (nothing written).
        :raises OutboxStorageError: SQLite failed (nothing written).
        :raises InvalidRecordError: ``record_id``/``program_id`` are not wire-valid (nothing written).
        """
        if self._sealer is None:
            raise NotEnrolledError("the outbox has no sealer: enroll this kiosk first")
        created = _dt.datetime.fromtimestamp(self._clock(), _dt.UTC)
        try:
            with self._transaction():
                row = self._conn.execute(
                    "SELECT MAX(COALESCE((SELECT MAX(seq) FROM outbox), 0), value) + 1 FROM sequence"
                ).fetchone()
                seq = int(row[0])
                env = self._sealer.seal(
                    plaintext, record_id=record_id, program_id=program_id, seq=seq, created_at=created
                )
                self._conn.execute(
                    "INSERT INTO outbox (seq, record_id, kiosk_id, program_id, created_at, size, state, "
                    "ct, sig) VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?, ?)",
                    (
                        seq,
                        env.record_id,
                        env.kiosk_id,
                        env.program_id,
                        env.created_at,
                        len(env.ct),
                        env.ct,
                        env.sig,
                    ),
                )
                self._count(program_id, "enqueued")
        except sqlite3.IntegrityError:
            raise DuplicateRecordError("record id already queued") from None
        except BadHeaderError as exc:
            raise InvalidRecordError(str(exc)) from None
        except sqlite3.Error as exc:
            raise OutboxStorageError(f"enqueue failed: {exc.__class__.__name__}: {exc}") from None
        return EnqueueReceipt(record_id=record_id, seq=seq)

    # -- the uploader's side -------------------------------------------------------------------

    @_storage_errors
    def recover(self) -> int:
        """Put rows left ``SENDING`` (by a crash or a kill) back to ``PENDING``; return how many."""
        with self._transaction():
            cur = self._conn.execute(
                "UPDATE outbox SET state = 'PENDING', last_error = 'interrupted' "
                "WHERE state != 'PENDING' AND state = 'SENDING'"
            )
            return cur.rowcount

    @_storage_errors
    def claim(
        self,
        *,
        max_records: int = wire.MAX_BATCH_RECORDS,
        max_bytes: int = wire.MAX_BATCH_BYTES,
        now: float | None = None,
        ignore_schedule: bool = False,
    ) -> list[ClaimedRecord]:
        """Move the oldest due ``PENDING`` rows to ``SENDING`` and return them, in seq order.

        The batch holds at most ``max_records`` rows and an estimated request body of at most
        ``max_bytes`` (base64 is 4/3 of ``ct`` plus a fixed header allowance); at least one row is
        returned when any is due, however large.

        :param ignore_schedule: also take rows whose ``next_attempt_at`` is in the future (an operator's
            ``madoguchi sync --once``).
        """
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        due = self._clock() if now is None else now
        limit_time = float("inf") if ignore_schedule else due
        with self._transaction():
            rows = self._conn.execute(
                "SELECT seq, record_id, kiosk_id, program_id, created_at, ct, sig, attempts FROM outbox "
                "WHERE state = 'PENDING' AND next_attempt_at <= ? ORDER BY seq LIMIT ?",
                (limit_time, max_records),
            ).fetchall()
            claimed: list[ClaimedRecord] = []
            budget = max_bytes - 64
            for seq, rid, kiosk, prog, created, ct, sig, attempts in rows:
                cost = (len(ct) + 2) // 3 * 4 + 400
                if claimed and cost > budget:
                    break
                budget -= cost
                env = wire.Envelope(
                    record_id=rid,
                    kiosk_id=kiosk,
                    seq=seq,
                    created_at=created,
                    program_id=prog,
                    ct=bytes(ct),
                    sig=bytes(sig),
                )
                claimed.append(ClaimedRecord(envelope=env, attempts=int(attempts) + 1))
            self._conn.executemany(
                "UPDATE outbox SET state = 'SENDING', attempts = attempts + 1 WHERE seq = ?",
                [(c.envelope.seq,) for c in claimed],
            )
        return claimed

    @_storage_errors
    def settle(self, outcome: Settlement) -> None:
        """Apply one upload's outcome in one transaction.

        Accepted and duplicate rows are deleted (counted per day and programme); rejected rows are
        kept sealed as ``REJECTED`` with a reason code; ``retry`` rows go back to ``PENDING`` with their
        next attempt time. Ids not in the outbox are ignored (a late reply after recovery).
        """
        top = 0
        tally: Counter[tuple[str, str]] = Counter()
        with self._transaction():
            for status, ids in (("accepted", outcome.accepted), ("duplicate", outcome.duplicate)):
                # Chunked multi-row deletes (SQLite's default limit is 999 bound parameters per
                # statement on older builds); one statement per chunk instead of one per record.
                for lo in range(0, len(ids), _DELETE_CHUNK):
                    chunk = ids[lo : lo + _DELETE_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for program_id, seq in self._conn.execute(
                        f"DELETE FROM outbox WHERE record_id IN ({marks}) AND state != 'REJECTED' "  # noqa: S608
                        "RETURNING program_id, seq",
                        chunk,
                    ).fetchall():
                        tally[(str(program_id), status)] += 1
                        top = max(top, int(seq))
            for rid, reason in outcome.rejected.items():
                row = self._conn.execute(
                    "UPDATE outbox SET state = 'REJECTED', last_error = ? "
                    "WHERE record_id = ? AND state != 'REJECTED' RETURNING program_id",
                    (_error_code(reason), rid),
                ).fetchone()
                if row is not None:
                    tally[(str(row[0]), "rejected")] += 1
            for (program_id, column), n in tally.items():
                self._count(program_id, column, n)
            if top:
                self._conn.execute("UPDATE sequence SET value = MAX(value, ?)", (top,))
            self._conn.executemany(
                "UPDATE outbox SET state = 'PENDING', next_attempt_at = ?, last_error = ? "
                "WHERE record_id = ? AND state IN ('SENDING', 'PENDING')",
                [(when, _error_code(code), rid) for rid, (when, code) in outcome.retry.items()],
            )

    def release(self, record_ids: Iterable[str], *, next_attempt_at: float, error_code: str) -> None:
        """Return claimed rows to ``PENDING`` (the whole batch failed)."""
        self.settle(Settlement(retry={rid: (next_attempt_at, error_code) for rid in record_ids}))

    # -- inspection (never decrypts) -----------------------------------------------------------

    @_storage_errors
    def status(self) -> QueueStatus:
        """Depth, counts by state, oldest age, error codes and today's counters."""
        counts = {s.value: 0 for s in RecordState if s is not RecordState.SENT}
        total = int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        for state, n in self._conn.execute(
            "SELECT state, COUNT(*) FROM outbox WHERE state != 'PENDING' GROUP BY state"
        ):
            counts[str(state)] = int(n)
        counts["PENDING"] = total - counts["SENDING"] - counts["REJECTED"]
        oldest = self._conn.execute(
            "SELECT created_at FROM outbox WHERE state IN ('PENDING', 'SENDING') ORDER BY seq LIMIT 1"
        ).fetchone()
        oldest_at = str(oldest[0]) if oldest else None
        age = None
        if oldest_at is not None:
            age = round(self._clock() - wire.parse_timestamp(oldest_at).timestamp(), 3)
        nxt = self.next_due()
        errors = {
            str(code): int(n)
            for code, n in self._conn.execute(
                "SELECT last_error, COUNT(*) FROM ("
                "SELECT last_error FROM outbox WHERE state != 'PENDING' UNION ALL SELECT * FROM "
                "(SELECT last_error FROM outbox WHERE state = 'PENDING' ORDER BY seq LIMIT 1000)"
                ") WHERE last_error IS NOT NULL GROUP BY last_error"
            )
        }
        today = {c: 0 for c in sorted(_COUNTER_COLUMNS)}
        row = self._conn.execute(
            "SELECT SUM(enqueued), SUM(accepted), SUM(duplicate), SUM(rejected) FROM daily_counters "
            "WHERE day = ?",
            (self._day(),),
        ).fetchone()
        for name, value in zip(("enqueued", "accepted", "duplicate", "rejected"), row, strict=True):
            today[name] = int(value or 0)
        return QueueStatus(
            depth=counts["PENDING"] + counts["SENDING"],
            counts=counts,
            oldest_created_at=oldest_at,
            oldest_age_s=age,
            next_attempt_at=float(nxt) if nxt is not None else None,
            last_errors=errors,
            today=today,
            schema_version=self.schema_version(),
        )

    @_storage_errors
    def next_due(self) -> float | None:
        """The earliest ``next_attempt_at`` of a ``PENDING`` row (``None`` when nothing is pending)."""
        # Bounded: only the oldest 1,000 PENDING rows are looked at. Claims go in seq order, so rows
        # waiting for a retry are at the front; a full scan would cost seconds at a million rows.
        row = self._conn.execute(
            "SELECT MIN(next_attempt_at) FROM (SELECT next_attempt_at FROM outbox "
            "WHERE state = 'PENDING' ORDER BY seq LIMIT 1000)"
        ).fetchone()
        return float(row[0]) if row[0] is not None else None

    @_storage_errors
    def daily_counters(self) -> list[dict[str, object]]:
        """Every day's counters, oldest first (kept after acknowledged rows are deleted)."""
        cur = self._conn.execute(
            "SELECT day, program_id, enqueued, accepted, duplicate, rejected FROM daily_counters "
            "ORDER BY day, program_id"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    @_storage_errors
    def rejected(self) -> list[tuple[wire.Envelope, str]]:
        """Rejected rows, still sealed, with their reason code (for operator export)."""
        rows = self._conn.execute(
            "SELECT seq, record_id, kiosk_id, program_id, created_at, ct, sig, last_error FROM outbox "
            "WHERE state != 'PENDING' AND state = 'REJECTED' ORDER BY seq"
        )
        return [
            (
                wire.Envelope(
                    record_id=r, kiosk_id=k, seq=s, created_at=c, program_id=p, ct=bytes(ct), sig=bytes(sig)
                ),
                str(err or "unknown"),
            )
            for s, r, k, p, c, ct, sig, err in rows
        ]

    @_storage_errors
    def record_ids(self, states: Sequence[RecordState] | None = None) -> list[str]:
        """Record ids in seq order, optionally filtered by state (tests and export use it)."""
        if states is None:
            return [str(r[0]) for r in self._conn.execute("SELECT record_id FROM outbox ORDER BY seq")]
        marks = ",".join("?" for _ in states)
        return [
            str(r[0])
            for r in self._conn.execute(
                f"SELECT record_id FROM outbox WHERE state IN ({marks}) ORDER BY seq",  # noqa: S608
                [s.value for s in states],
            )
        ]


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception).

    IMMEDIATE takes the write lock up front, so a second process waits (``busy_timeout``) instead of
    failing half-way with SQLITE_BUSY on lock upgrade.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        elif self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
