"""The shelter kiosk's local memory: who is in (as keyed hashes), and the staff headcount.

The kiosk cannot read its own outbox (records are sealed to the server), and a second tap must
know "already checked in here", so it keeps this small SQLite file in ``data_dir``. An identity is
``HMAC-SHA256(local key, kind ‖ value)`` of the card certificate's issuer and serial, the check-in
card token, or the staff-typed kana name and birth date; the 32-byte key is random per kiosk (file
mode 0600, shared with nothing). No name, address, birth date or certificate is stored here.

Durability: ``synchronous=FULL`` in WAL mode, one transaction per event, written *after* the outbox
committed the sealed record. A power cut between the two leaves a record queued that this file does
not know: the person was not yet told "checked in", taps again, and the server keeps the latest
event per person, so nothing is lost or counted twice on the server's list.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

STATE_FILE: Final = "shelter-state.sqlite3"
KEY_FILE: Final = "shelter-state.key"


class ShelterStateError(KioskError):
    """The local shelter state cannot be read or written (disk full, corrupt file): call staff."""


@dataclass(frozen=True)
class Present:
    """One person checked in here, as the kiosk remembers them (no personal data)."""

    arrival_record_id: str
    method: str
    companions: int
    unverified: bool


@dataclass(frozen=True)
class Headcount:
    """The staff side's numbers: people in (with companions), out, and unverified entries among those in."""

    present: int
    companions: int
    departed: int
    moved: int
    unverified: int

    @property
    def total_in(self) -> int:
        """Everyone in the shelter by this kiosk's count (people plus their companions)."""
        return self.present + self.companions

    def to_json(self) -> dict[str, int]:
        """Stable keys for ``--json`` and the staff screen."""
        return {
            "in": self.total_in,
            "people": self.present,
            "companions": self.companions,
            "out": self.departed + self.moved,
            "departed": self.departed,
            "moved": self.moved,
            "unverified": self.unverified,
        }


def _load_key(directory: Path) -> bytes:
    path = directory / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _load_key(directory)
        except OSError as exc:
            raise ShelterStateError(f"{path}: cannot create ({exc.strerror})") from None
        key = secrets.token_bytes(32)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ShelterStateError(f"{path}: unreadable ({exc.strerror})") from None
    if len(key) != 32:
        raise ShelterStateError(f"{path}: corrupt key")
    return key


class ShelterState:
    """The local state of one shelter kiosk (one connection, one thread)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._key = _load_key(directory)
        path = directory / STATE_FILE
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS present (identity BLOB PRIMARY KEY, shelter_id TEXT NOT NULL,"
                " arrival_record_id TEXT NOT NULL, method TEXT NOT NULL, companions INTEGER NOT NULL,"
                " unverified INTEGER NOT NULL)"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS left_shelter (record_id TEXT PRIMARY KEY,"
                " shelter_id TEXT NOT NULL, event TEXT NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise ShelterStateError(f"{path}: {type(exc).__name__}") from None
        os.chmod(path, 0o600)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def identity(self, kind: str, *parts: bytes) -> bytes:
        """The keyed hash of one identity (kinds ``card``, ``code``, ``staff``), length-prefixed."""
        message = kind.encode("ascii") + b"".join(len(p).to_bytes(4, "big") + p for p in parts)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ShelterStateError(f"shelter state: {type(exc).__name__}") from None

    def lookup(self, shelter_id: str, identity: bytes) -> Present | None:
        """Whether ``identity`` is checked in at ``shelter_id`` by this kiosk's memory."""
        rows = self._run(
            "SELECT arrival_record_id, method, companions, unverified FROM present"
            " WHERE identity = ? AND shelter_id = ?",
            (identity, shelter_id),
        )
        if not rows:
            return None
        rid, method, companions, unverified = rows[0]
        return Present(str(rid), str(method), int(str(companions)), bool(unverified))

    def arrived(
        self, shelter_id: str, identity: bytes, record_id: str, method: str, unverified: bool
    ) -> None:
        """Remember an arrival (after its record was committed to the outbox)."""
        self._run(
            "INSERT OR REPLACE INTO present VALUES (?, ?, ?, ?, 0, ?)",
            (identity, shelter_id, record_id, method, int(unverified)),
        )

    def add_companions(self, shelter_id: str, arrival_record_id: str, count: int) -> None:
        """Add ``count`` companions to the person whose arrival is ``arrival_record_id``."""
        self._run(
            "UPDATE present SET companions = companions + ? WHERE arrival_record_id = ? AND shelter_id = ?",
            (count, arrival_record_id, shelter_id),
        )

    def left(self, shelter_id: str, identity: bytes, record_id: str, event: str) -> None:
        """Forget a person who checked out or moved, and count the event (one transaction)."""
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute(
                    "DELETE FROM present WHERE identity = ? AND shelter_id = ?", (identity, shelter_id)
                )
                self._conn.execute(
                    "INSERT INTO left_shelter VALUES (?, ?, ?)", (record_id, shelter_id, event)
                )
        except sqlite3.Error as exc:
            raise ShelterStateError(f"shelter state: {type(exc).__name__}") from None

    def clear(self) -> None:
        """Forget everyone (closing the shelter): the keyed hashes and counts go, and a new local
        key is drawn so that no hash computed before can be matched again."""
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute("DELETE FROM present")
                self._conn.execute("DELETE FROM left_shelter")
            self._conn.execute("VACUUM")  # the deleted rows' pages do not linger in the file
        except sqlite3.Error as exc:
            raise ShelterStateError(f"shelter state: {type(exc).__name__}") from None
        key_path = self._directory / KEY_FILE
        try:
            key_path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ShelterStateError(f"{key_path}: cannot remove ({exc.strerror})") from None
        self._key = _load_key(self._directory)

    def headcount(self, shelter_id: str) -> Headcount:
        """The numbers for the staff side; no personal data."""
        people, companions, unverified = self._run(
            "SELECT COUNT(*), COALESCE(SUM(companions), 0), COALESCE(SUM(unverified), 0) FROM present"
            " WHERE shelter_id = ?",
            (shelter_id,),
        )[0]
        rows = self._run(
            "SELECT event, COUNT(*) FROM left_shelter WHERE shelter_id = ? GROUP BY event", (shelter_id,)
        )
        left: dict[str, object] = {str(event): n for event, n in rows}
        return Headcount(
            present=int(str(people)),
            companions=int(str(companions)),
            departed=int(str(left.get("departure", 0))),
            moved=int(str(left.get("moved", 0))),
            unverified=int(str(unverified)),
        )
