"""The typed error tree of the card layer.

Every failure that can reach a caller is one of these classes, never a string and never a pyscard
exception (those are translated in :mod:`card.pcsc` only). Messages never contain a PIN, a My Number
or personal data.

    CardError
    ├── ReaderError                 transport level: the reader, pcscd or the card's presence
    │   ├── PcscUnavailableError    pcscd is not running / the PC/SC service went away
    │   ├── NoReaderError           no (matching) reader attached
    │   ├── NoCardError             reader present, no card in the field
    │   └── CardRemovedError        the card left during a transaction
    └── (status-word and semantic errors: see the rest of this module)
"""

from __future__ import annotations


class CardError(Exception):
    """Base of every error raised by the card layer."""


class ReaderError(CardError):
    """The transport failed: reader, PC/SC service or card presence."""


class PcscUnavailableError(ReaderError):
    """The PC/SC service (pcscd) is not available; it may come back."""


class NoReaderError(ReaderError):
    """No reader is attached (or none matches the requested name)."""


class NoCardError(ReaderError):
    """A reader is attached but there is no card on it."""


class CardRemovedError(ReaderError):
    """The card left the reader during a transaction.

    ``during_verify`` is true when the card disappeared while a VERIFY was in flight: the try may or
    may not have been counted, so the caller must re-query the tries left on the next tap.
    """

    def __init__(self, message: str = "the card was removed", *, during_verify: bool = False) -> None:
        super().__init__(message)
        self.during_verify = during_verify
