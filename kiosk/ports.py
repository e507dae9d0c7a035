"""What the kiosk domain needs from the outside, as protocols (implemented in ``sync/``).

The flow never imports ``sync``: the composition root hands it an object with this shape.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class RegistrationQueue(Protocol):
    """The durable outbox (``sync.outbox.Outbox``).

    ``enqueue`` seals ``plaintext`` (the canonical signed-registration JSON) to the server key,
    signs it with the device key and commits it in one transaction; when it returns, the record
    survives a power cut. It raises on failure and then nothing was written. The return value
    (if any) is ignored by the kiosk.
    """

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> object: ...
