"""Fault injection for the virtual card: what real cards and readers do to a kiosk.

APDUs are counted from 1 over the card's lifetime (control bytes and power events do not count).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultPlan:
    """Faults a virtual card injects; the default plan injects none.

    - ``remove_after=n``: the card answers APDUs 1..n, then leaves the field while APDU n+1 is in
      flight: that APDU is never processed (a VERIFY is *not* counted) and the transport reports a
      removed card (in-process: :class:`card.errors.CardRemovedError`; vpcd: the socket closes).
      ``0`` removes the card at its first APDU.
    - ``delay``: seconds the card waits before answering each APDU (a slow card or a weak field).
    - ``corrupt_response=n``: the answer to APDU n has its middle data byte inverted (XOR FF); the
      status word stays intact, as with a bit error the reader did not catch. An answer without
      data is left unchanged.
    """

    remove_after: int | None = None
    delay: float = 0.0
    corrupt_response: int | None = None

    def __post_init__(self) -> None:
        if self.remove_after is not None and self.remove_after < 0:
            raise ValueError("remove_after must be >= 0")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.corrupt_response is not None and self.corrupt_response < 1:
            raise ValueError("corrupt_response counts APDUs from 1")


#: The plan that injects nothing (a shared default).
NO_FAULTS = FaultPlan()


def corrupt(response: bytes) -> bytes:
    """Invert the middle data byte of an R-APDU (data + SW1 SW2)."""
    data_length = len(response) - 2
    if data_length <= 0:
        return response
    middle = data_length // 2
    return response[:middle] + bytes([response[middle] ^ 0xFF]) + response[middle + 1 :]
