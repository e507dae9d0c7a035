"""Opening a stored registration for an operator (review queue, disaster-service hand-over).

Registrations are stored sealed (``sync.server.stored``); only a process holding the server's HPKE
key can read them. Every opening is an audited action naming the record and the actor, never the
content. The caller decides where the plaintext goes (the CLI prints it to the operator's terminal).
"""

from __future__ import annotations

from kiosk.rules.record import SignedRegistration, parse_signed
from sync.sealing import decrypt
from sync.server import audit
from sync.server.db import Database
from sync.server.errors import ServerError
from sync.server.keys import ServerKeys
from sync.server.stored import unpack


class RecordNotFoundError(ServerError):
    """Raised when no accepted registration has the requested record id."""


def open_registration(db: Database, keys: ServerKeys, record_id: str, *, actor: str) -> SignedRegistration:
    """Decrypt and parse one stored registration; the opening is audited first.

    :raises RecordNotFoundError: no accepted registration with this id.
    """
    with db.transaction(exclusive=True) as tx:
        row = tx.one("SELECT envelope FROM registrations WHERE record_id = ?", (record_id,))
        if row is None:
            raise RecordNotFoundError(f"no registration {record_id!r}")
        audit.append(tx, db.dialect, [audit.AuditEvent("record.open", actor, {"record_id": record_id})])
    envelope = unpack(bytes(row[0]))
    plaintext = decrypt(envelope.ct, header=envelope.header_bytes(), server_private_key=keys.hpke_private_key)
    return parse_signed(plaintext)
