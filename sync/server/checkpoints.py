"""Signed audit checkpoints: the chain's head, signed with a key the database never sees.

The audit log's hash chain (:mod:`sync.server.audit`) shows any change to an entry *unless* whoever
changed it also recomputed every later hash and the head, which anyone with write access to the
database can do (issue 14). A checkpoint closes that: ``madoguchi server audit --checkpoint`` writes
``{seq, hash, at}`` of the current head signed with the server's Ed25519 audit key
(``DATA/keys/audit-ed25519.key``), and the operator keeps the file somewhere else (another machine,
a ticket, a printed page). ``madoguchi server audit --against FILE…`` then checks that the chain
still verifies *and* still passes through every checkpointed ``(seq, hash)``: a history rewritten
before a checkpoint no longer does, and a log rolled back below one is missing its entry.

Entries after the newest checkpoint are protected by the plain chain only, so checkpoints should be
taken on a schedule (``docs/server.md``: daily from a systemd timer, and before every export).
Entries removed by retention (``purge``) are skipped: the purge entry itself is chained.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.rules import wire_rules
from sync.server.audit import verify
from sync.server.db import Database
from sync.server.errors import AuditChainError, AuditCheckpointError

KIND = "madoguchi.audit.checkpoint/1"


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def make_checkpoint(db: Database, key: Ed25519PrivateKey, *, now: datetime | None = None) -> dict[str, Any]:
    """Verify the whole chain, then sign its head; return the checkpoint (a JSON object).

    :raises AuditChainError: the chain does not verify (nothing is signed then).
    :raises AuditCheckpointError: the log is empty.
    """
    entries = verify(db)
    with db.transaction() as tx:
        head = tx.one("SELECT seq, hash FROM audit_head WHERE id = 1")
    if head is None or entries == 0:
        raise AuditCheckpointError("the audit log is empty: nothing to checkpoint")
    body = {
        "kind": KIND,
        "seq": int(head[0]),
        "hash": bytes(head[1]).hex(),
        "at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "public_key": _raw(key.public_key()).hex(),
    }
    signature = key.sign(wire_rules.canonical_json(body))
    return {"checkpoint": body, "signature": base64.b64encode(signature).decode("ascii")}


def _checked_body(item: Mapping[str, Any], public_key: Ed25519PublicKey) -> tuple[int, bytes]:
    body = item.get("checkpoint")
    signature = item.get("signature")
    if not isinstance(body, dict) or not isinstance(signature, str) or body.get("kind") != KIND:
        raise AuditCheckpointError("not an audit checkpoint")
    try:
        public_key.verify(wire_rules.strict_b64decode(signature), wire_rules.canonical_json(body))
    except (InvalidSignature, binascii.Error, ValueError):
        raise AuditCheckpointError(
            "checkpoint signature does not verify with this server's audit key"
        ) from None
    seq, digest = body.get("seq"), body.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not isinstance(digest, str):
        raise AuditCheckpointError("checkpoint fields are malformed")
    try:
        return seq, bytes.fromhex(digest)
    except ValueError:
        raise AuditCheckpointError("checkpoint hash is malformed") from None


def verify_against(
    db: Database, public_key: Ed25519PublicKey, checkpoints: Iterable[Mapping[str, Any]]
) -> int:
    """Verify the chain and that it passes through every checkpoint; return the entries checked.

    :raises AuditChainError: the chain is broken, or an entry differs from its checkpoint (the
        history was rewritten), or the log ends before a checkpoint (rolled back).
    :raises AuditCheckpointError: a checkpoint is malformed or not signed by this server's key.
    """
    wanted = [_checked_body(c, public_key) for c in checkpoints]
    entries = verify(db)
    with db.transaction() as tx:
        head = tx.one("SELECT seq FROM audit_head WHERE id = 1")
        first = tx.scalar("SELECT MIN(seq) FROM audit_log")
        for seq, digest in wanted:
            if head is None or seq > int(head[0]):
                raise AuditChainError(seq)  # rolled back below a checkpoint
            if first is not None and seq < int(first):
                continue  # removed by retention; the purge entry is part of the chain
            row = tx.one("SELECT hash FROM audit_log WHERE seq = ?", (seq,))
            if row is None or bytes(row[0]) != digest:
                raise AuditChainError(seq)
    return entries


__all__ = ["KIND", "make_checkpoint", "verify_against"]
