"""Errors of the virtual card package (a typed tree; messages never carry persona secrets or data).

VirtualCardError
├── PersonaError        a persona file is missing, malformed or inconsistent
├── TestPkiError        the committed test key material is missing or unreadable
└── VpcdError           the vpcd socket could not be reached or broke
"""

from __future__ import annotations


class VirtualCardError(Exception):
    """Base of every error raised by :mod:`card.virtual`."""


class PersonaError(VirtualCardError):
    """A persona could not be loaded; the message names the persona and the field, never a value."""


class TestPkiError(VirtualCardError):
    """The project's test J-LIS key material is missing (run ``scripts/make-test-pki.py``)."""

    __test__ = False  # not a pytest test class despite the name


class VpcdError(VirtualCardError):
    """The vpcd reader socket could not be connected or failed while the card was inserted."""


class CardLeftError(VirtualCardError):
    """The fault plan removed the card: the APDU in flight is never answered.

    Transports translate it (in-process: :class:`card.errors.CardRemovedError`; vpcd: close the
    socket). ``ins`` is the INS byte of the unanswered APDU (0x20 = a VERIFY was in flight).
    """

    def __init__(self, ins: int) -> None:
        super().__init__("the virtual card left the field (fault plan)")
        self.ins = ins
