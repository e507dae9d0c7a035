"""The encoding rules the registration record, the envelope, the sync client and the server share.

One definition each (issue 11): canonical JSON, strict base64, the canonical UUID spellings and the
identifier patterns. Before this module the record (``kiosk/rules/record.py``) and the wire
(``sync/wire.py``) each wrote their own, and the two kiosk-id patterns had drifted apart (the
record's let ``-x`` or ``.x`` through, the wire refused them). Callers wrap the plain exceptions
raised here in their own typed errors (``RecordFormatError``, ``WireFormatError``), so each layer
still reports in its own vocabulary. Standard library only: the bottom of the rules both sides share.
"""

from __future__ import annotations

import binascii
import json
import re
from typing import Final

#: A kiosk or device identifier on the wire and in the record: 1-64 of ``[A-Za-z0-9._-]``, starting
#: with a letter or digit. ``\Z`` (not ``$``) so a trailing newline is refused.
IDENTIFIER: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
#: A programme id: lower-case letters, digits and hyphens, starting with a letter or digit.
PROGRAM_ID: Final = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}\Z")
#: Exactly the strings ``str(uuid.UUID(s)) == s`` accepts: lower-case hex, hyphens at 8-4-4-4-12.
CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The canonical spelling of a version-4 UUID (RFC 4122 variant ``10xx``): record ids.
CANONICAL_UUID4: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def canonical_json(obj: object) -> bytes:
    """The project's one canonical JSON encoding: sorted keys, compact separators, UTF-8, no ASCII
    escaping (``docs/wire-format.md``). Both the card signature and the device signature are made
    over these bytes, so anyone can rebuild them.

    :raises UnicodeEncodeError: a string holds a lone surrogate (not valid Unicode).
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def strict_b64decode(text: str) -> bytes:
    """Decode standard padded base64 (RFC 4648 §4) and refuse anything else.

    What ``base64.b64decode(text.encode("ascii"), validate=True)`` does, without copying the text; a
    ``str`` holding non-ASCII is a ``ValueError`` here as there.

    :raises ValueError: (``binascii.Error`` is one) not strict base64.
    """
    return binascii.a2b_base64(text, strict_mode=True)
