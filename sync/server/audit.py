"""The hash-chained audit log of decisions and admin actions.

Entry ``n`` stores ``hash_n = SHA-256(hash_{n-1} || canonical_json({seq, at, kind, actor, detail}))``
with ``hash_0`` = 32 zero bytes, so changing, inserting or deleting any entry breaks every later hash
(:func:`verify`). The head (last sequence and hash) lives in a one-row table that each appending
transaction locks, which keeps the chain linear when several API processes append at once.

Details never contain personal data: record ids, pseudonymous person ids, programme ids, reason codes
and counts only. Retention (:func:`purge_before`) deletes old entries and appends a ``purge`` entry
naming the first kept entry and its ``prev_hash``, so verification can start there without trusting
whoever deleted the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk.rules import wire_rules
from sync.server.db import Database, Dialect, Transaction, as_datetime, insert_rows
from sync.server.errors import AuditChainError

GENESIS = bytes(32)


@dataclass(frozen=True)
class AuditEvent:
    """One thing to record: ``kind`` (``decision``, ``device.revoke``, ...), who did it, details."""

    kind: str
    actor: str
    detail: Mapping[str, Any]


def _entry_bytes(seq: int, at: datetime, kind: str, actor: str, detail: str) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "kind": kind,
        "actor": actor,
        "detail": detail,
    }
    return wire_rules.canonical_json(body)


def _chain(prev: bytes, seq: int, at: datetime, kind: str, actor: str, detail: str) -> bytes:
    return hashlib.sha256(prev + _entry_bytes(seq, at, kind, actor, detail)).digest()


def _detail_text(detail: Mapping[str, Any]) -> str:
    return wire_rules.canonical_json(detail).decode("utf-8")


def append(
    tx: Transaction, dialect: Dialect, events: Sequence[AuditEvent], *, at: datetime | None = None
) -> int:
    """Append ``events`` in order inside the caller's transaction; return the new head sequence."""
    if not events:
        return -1
    when = at or datetime.now(UTC)
    lock = " FOR UPDATE" if dialect is Dialect.POSTGRES else ""
    head = tx.one(f"SELECT seq, hash FROM audit_head WHERE id = 1{lock}")  # noqa: S608 - constant
    seq, prev = (int(head[0]), bytes(head[1])) if head else (0, GENESIS)
    rows: list[tuple[object, ...]] = []
    for event in events:
        seq += 1
        detail = _detail_text(event.detail)
        digest = _chain(prev, seq, when, event.kind, event.actor, detail)
        rows.append((seq, when, event.kind, event.actor, detail, prev, digest))
        prev = digest
    insert_rows(tx, "audit_log", ("seq", "at", "kind", "actor", "detail", "prev_hash", "hash"), rows)
    if head:
        tx.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    else:
        tx.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)", (seq, prev))
    return seq


def verify(db: Database, *, batch: int = 5000) -> int:
    """Walk the whole chain; return the number of entries checked.

    :raises AuditChainError: naming the first entry whose hash or link does not verify.
    """
    checked = 0
    prev: bytes | None = None
    last_seq = 0
    while True:
        with db.transaction() as tx:
            rows = tx.execute(
                "SELECT seq, at, kind, actor, detail, prev_hash, hash FROM audit_log "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (last_seq, batch),
            )
        if not rows:
            break
        for seq, at, kind, actor, detail, prev_hash, digest in rows:
            seq = int(seq)
            prev_hash, digest = bytes(prev_hash), bytes(digest)
            if prev is None:
                # First kept entry: genesis, or the link recorded by the latest purge entry.
                if seq != 1 and prev_hash != _purge_anchor(db, seq):
                    raise AuditChainError(seq)
                if seq == 1 and prev_hash != GENESIS:
                    raise AuditChainError(seq)
            elif prev_hash != prev or seq != last_seq + 1:
                raise AuditChainError(seq)
            if _chain(prev_hash, seq, as_datetime(at), str(kind), str(actor), str(detail)) != digest:
                raise AuditChainError(seq)
            prev, last_seq = digest, seq
            checked += 1
    with db.transaction() as tx:
        head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1")
    if head and (int(head[0]) != last_seq or bytes(head[1]) != (prev or GENESIS)):
        raise AuditChainError(int(head[0]))
    return checked


def _purge_anchor(db: Database, first_seq: int) -> bytes | None:
    with db.transaction() as tx:
        rows = tx.execute(
            "SELECT detail FROM audit_log WHERE kind = 'purge' ORDER BY seq DESC LIMIT 1",
        )
    if not rows:
        return None
    detail = json.loads(str(rows[0][0]))
    if int(detail.get("first_kept_seq", -1)) != first_seq:
        return None
    return bytes.fromhex(str(detail.get("first_kept_prev_hash", "")))


def purge_before(tx: Transaction, dialect: Dialect, cutoff: datetime, actor: str) -> int:
    """Delete entries older than ``cutoff`` and record the anchor in a ``purge`` entry."""
    first_kept = tx.one("SELECT seq, prev_hash FROM audit_log WHERE at >= ? ORDER BY seq LIMIT 1", (cutoff,))
    deleted_count = int(tx.scalar("SELECT COUNT(*) FROM audit_log WHERE at < ?", (cutoff,)) or 0)
    if deleted_count == 0:
        return 0
    if first_kept is None:
        # Everything is older than the cutoff: the purge entry itself becomes the first kept entry.
        head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1")
        anchor_seq, anchor_prev = (int(head[0]) + 1, bytes(head[1])) if head else (1, GENESIS)
    else:
        anchor_seq, anchor_prev = int(first_kept[0]), bytes(first_kept[1])
    tx.execute("DELETE FROM audit_log WHERE at < ?", (cutoff,))
    append(
        tx,
        dialect,
        [
            AuditEvent(
                "purge",
                actor,
                {
                    "cutoff": cutoff.isoformat(),
                    "deleted_entries": deleted_count,
                    "first_kept_seq": anchor_seq,
                    "first_kept_prev_hash": anchor_prev.hex(),
                },
            )
        ],
    )
    return deleted_count
