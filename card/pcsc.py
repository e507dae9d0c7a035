"""The PC/SC adapter: the ONLY module that imports pyscard, and the only place its errors are translated.

It uses pyscard's thin ``smartcard.scard`` layer (the PC/SC C API) rather than its observer and
singleton classes, so that one :class:`PcscContext` owns one PC/SC context, every PC/SC result code
is translated here into :mod:`card.errors`, and no pyscard thread or singleton leaks into the
kiosk (code-style anchors §3 take-away, §10.13). ``bytes`` ⇄ ``list[int]`` and SW1/SW2 → one int
happen here and nowhere else (ykman ``ScardSmartCardConnection``).

Translation rules (pcsc-test-stack.md §3):
- no service / service stopped / invalid context → :class:`PcscUnavailableError` (pcscd may come back);
- *any* failure of a transmit, and a response shorter than a status word (vpcd's "success with 0
  bytes" quirk on removal) → :class:`CardRemovedError`;
- connect: no card / removed / unpowered / unresponsive → :class:`NoCardError`, sharing violation →
  :class:`ReaderBusyError`, unknown reader → :class:`NoReaderError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from smartcard import scard
from smartcard.Exceptions import SmartcardException
from smartcard.pcsc.PCSCExceptions import BaseSCardException

from card.errors import (
    CardRemovedError,
    NoCardError,
    NoReaderError,
    PcscUnavailableError,
    ReaderBusyError,
    ReaderError,
)
from card.readers import is_contactless, order_readers

logger = logging.getLogger(__name__)

__all__ = ["PcscConnection", "PcscContext", "ReaderState", "is_contactless", "order_readers"]

_S = scard.SCARD_S_SUCCESS
_SERVICE_DOWN = frozenset(
    h & 0xFFFFFFFF
    for h in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED, scard.SCARD_E_INVALID_HANDLE)
)
_NO_CARD = frozenset(
    {
        scard.SCARD_E_NO_SMARTCARD,
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_W_UNRESPONSIVE_CARD,
        scard.SCARD_W_RESET_CARD,
    }
)
#: The re-insert race (pcsc-test-stack §3): pcscd still reports a card it is powering up. Retry briefly.
_CONNECT_RETRY_DELAYS = (0.05, 0.15, 0.3)


def _message(hresult: int) -> str:
    try:
        return str(scard.SCardGetErrorMessage(hresult))
    except (SystemError, TypeError, ValueError):
        return f"PC/SC error 0x{hresult & 0xFFFFFFFF:08X}"


def _down(hresult: int) -> bool:
    # pyscard may hand result codes back signed or unsigned: compare as 32-bit values.
    return (hresult & 0xFFFFFFFF) in _SERVICE_DOWN


@contextmanager
def _translate() -> Iterator[None]:
    """Translate anything pyscard raises into :class:`card.errors.ReaderError` (defensive: the scard
    layer reports through result codes, but SWIG can still raise)."""
    try:
        yield
    except (SmartcardException, BaseSCardException) as exc:
        raise PcscUnavailableError(f"PC/SC failure: {type(exc).__name__}") from None
    except (SystemError, TypeError) as exc:
        raise ReaderError(f"PC/SC binding failure: {type(exc).__name__}") from None


@dataclass(frozen=True, slots=True)
class ReaderState:
    """One reader's state as PC/SC reports it."""

    name: str
    present: bool
    atr: bytes
    #: Another process holds the card exclusively.
    exclusive: bool = False


class PcscConnection:
    """A :class:`card.connection.CardConnection` on a PC/SC reader (exclusive, card unpowered on close).

    Exclusive mode keeps other processes off the card while a PIN is verified (the verified state
    lives until the card is reset, protocol §3); unpowering on close clears that state.
    """

    def __init__(
        self, context: PcscContext, reader_name: str, handle: Any, protocol: int, atr: bytes
    ) -> None:
        self._context = context
        self.reader_name = reader_name
        self.atr = atr
        self._handle: Any = handle
        self._pci = scard.SCARD_PCI_T1 if protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one APDU; any transport failure means the card is gone (pcsc-test-stack §3).

        pyscard takes a list of ints: for a VERIFY (``apdu`` is then the zeroable bytearray of
        :meth:`card.apdu.ApduProtocol.transmit_secret`) that list is overwritten with zeros once sent.
        The copy SWIG makes into a C buffer cannot be reached from Python (unavoidable).
        """
        if self._handle is None:
            raise CardRemovedError("connection already closed")
        command = list(apdu)
        try:
            with _translate():
                hresult, response = scard.SCardTransmit(self._handle, self._pci, command)
        except ReaderError:
            raise CardRemovedError() from None
        finally:
            command[:] = bytes(len(command))
        if hresult != _S or len(response) < 2:
            logger.debug("transmit failed on %s: %s", self.reader_name, _message(hresult))
            raise CardRemovedError()
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    def close(self) -> None:
        """Disconnect and unpower the card (clears every verified PIN state). Idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                with _translate():
                    scard.SCardDisconnect(handle, scard.SCARD_UNPOWER_CARD)
            except ReaderError:
                pass

    def __enter__(self) -> PcscConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PcscConnection(reader={self.reader_name!r}, open={self._handle is not None})"


class PcscContext:
    """One PC/SC context, re-established transparently after pcscd restarts.

    Thread-safe for the calls below (one lock); the reader watcher and the card worker may share it.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._hcontext: Any = None

    def _context(self) -> Any:
        if self._hcontext is None:
            with _translate():
                hresult, hcontext = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hresult != _S:
                raise PcscUnavailableError(f"PC/SC service unavailable: {_message(hresult)}")
            self._hcontext = hcontext
        return self._hcontext

    def reset(self) -> None:
        """Release the context (a new one is made on the next call)."""
        with self._lock:
            hcontext, self._hcontext = self._hcontext, None
            if hcontext is not None:
                try:
                    with _translate():
                        scard.SCardReleaseContext(hcontext)
                except ReaderError:
                    pass

    close = reset

    def _call(self, fn: Any, *args: Any) -> Any:
        """Call ``fn(hcontext, *args)``; on a dead context retry once with a fresh one."""
        with self._lock:
            for attempt in (0, 1):
                with _translate():
                    result = fn(self._context(), *args)
                hresult = result[0] if isinstance(result, tuple | list) else result
                if _down(hresult):
                    self.reset()
                    if attempt == 0:
                        continue
                    raise PcscUnavailableError(f"PC/SC service unavailable: {_message(hresult)}")
                return result
        raise PcscUnavailableError("PC/SC service unavailable")  # pragma: no cover (loop returns)

    def list_readers(self) -> list[str]:
        """Reader names (empty list when none is attached)."""
        hresult, readers = self._call(scard.SCardListReaders, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != _S:
            raise PcscUnavailableError(f"cannot list readers: {_message(hresult)}")
        return [str(r) for r in readers]

    def reader_states(self, readers: Sequence[str]) -> list[ReaderState]:
        """Current state of each reader, without waiting."""
        if not readers:
            return []
        query = [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        hresult, states = self._call(scard.SCardGetStatusChange, 0, query)
        if hresult == scard.SCARD_E_UNKNOWN_READER:
            raise NoReaderError("a reader disappeared")
        if hresult not in (_S, scard.SCARD_E_TIMEOUT):
            raise PcscUnavailableError(f"cannot read reader states: {_message(hresult)}")
        out = []
        for name, event, atr in states:
            present = bool(event & scard.SCARD_STATE_PRESENT) and not event & scard.SCARD_STATE_MUTE
            exclusive = bool(event & scard.SCARD_STATE_EXCLUSIVE)
            out.append(ReaderState(str(name), present, bytes(atr or b""), exclusive))
        return out

    def connect(self, reader: str) -> PcscConnection:
        """Connect exclusively to the card on ``reader``."""
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        for delay in (*_CONNECT_RETRY_DELAYS, None):
            hresult, handle, protocol = self._call(
                scard.SCardConnect, reader, scard.SCARD_SHARE_EXCLUSIVE, protocols
            )
            if hresult == _S:
                break
            if (
                hresult in (scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_W_UNRESPONSIVE_CARD)
                and delay is not None
            ):
                time.sleep(delay)  # re-insert race: pcscd is still powering the new card up
                continue
            if hresult in _NO_CARD:
                raise NoCardError(f"no card on {reader}")
            if hresult == scard.SCARD_E_SHARING_VIOLATION:
                raise ReaderBusyError(f"{reader} is in use by another program")
            if hresult in (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE):
                raise NoReaderError(f"reader {reader} is not available")
            raise NoCardError(f"cannot connect to {reader}: {_message(hresult)}")
        with _translate():
            status = scard.SCardStatus(handle)
        atr = bytes(status[4]) if status[0] == _S else b""
        return PcscConnection(self, reader, handle, protocol, atr)

    def open_card(self, reader: str | None = None) -> PcscConnection:
        """Connect to ``reader`` or, without a name, to the first reader holding a card (contactless first).

        :raises NoReaderError: no reader, or no reader named ``reader``.
        :raises NoCardError: the reader(s) hold no card.
        """
        readers = self.list_readers()
        if not readers:
            raise NoReaderError("no smart-card reader is attached")
        if reader is not None:
            if reader not in readers:
                raise NoReaderError(f"no reader named {reader!r}")
            return self.connect(reader)
        states = {s.name: s for s in self.reader_states(readers)}
        for name in order_readers(readers):
            if states[name].present:
                return self.connect(name)
        raise NoCardError("no card on any reader")

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()
