"""The virtual card on a real PC/SC stack: a client of the vsmartcard ``vpcd`` reader driver.

Own implementation of the vpcd socket protocol (pcsc-test-stack.md §4): pcscd's vpcd driver listens
on TCP 35963 (reader ``Virtual PCD 00 00``) and 35964 (``… 00 01``); the card connects (= insert)
and closes (= remove). Frames in both directions are ``uint16 big-endian length`` + payload. A
1-byte payload is a control byte: ``00`` power off, ``01`` power on, ``02`` reset, ``04`` get ATR
(the only one answered). Anything longer is a C-APDU answered with the R-APDU.

Pitfalls handled (pcsc-test-stack.md §3, §4):

- ``TCP_NODELAY`` and ``TCP_QUICKACK`` re-armed before every ``recv``: Debian's vpcd 3.3 writes the
  length and the payload with two ``send`` calls, and Nagle + delayed ACK would stall 40 ms per APDU;
- the card's volatile state is reset on every power control, which pcscd sends on connect,
  disconnect and idle power-down;
- an empty frame (``00 00``) is never sent: vpcd takes it as a removed card.

The socket loop runs in a daemon thread; the card object is shared with the test thread (the card
OS serialises access with its own lock).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from card.virtual.card import VirtualMyNumberCard
from card.virtual.errors import CardLeftError, VpcdError

#: vpcd's first slot (``Virtual PCD 00 00``): CHANNELID 0x8C7B in /etc/reader.conf.d/vpcd.
DEFAULT_PORT = 35963

_POWER_OFF, _POWER_ON, _RESET, _GET_ATR = 0x00, 0x01, 0x02, 0x04
_TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)  # Linux only; 12 on every Linux ABI


class VpcdCard:
    """Insert a :class:`VirtualMyNumberCard` into a vpcd reader slot; a context manager.

    ``insert()`` connects and starts answering; ``remove()`` closes the socket (pcscd reports the
    card gone at its next poll, ~400 ms). When the card's fault plan removes the card, the socket
    is closed by the card itself; :attr:`inserted` turns false.
    """

    def __init__(self, card: VirtualMyNumberCard, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
        self.card = card
        self.port = port
        self.host = host
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.error: OSError | None = None  # the socket error that ended the loop, if any
        #: Control bytes seen since the last insert(): lets a test harness tell a card pcscd polls
        #: (GET ATR) but never powers (it still believes the previous card is in the reader).
        self.atr_requests = 0
        self.power_ons = 0

    def __repr__(self) -> str:
        return f"VpcdCard({self.card!r}, port={self.port})"

    def __enter__(self) -> VpcdCard:
        self.insert()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()

    @property
    def inserted(self) -> bool:
        """True while the socket loop runs (the card is in the reader)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def insert(self) -> None:
        """Connect to vpcd (the card enters the field). Raises :class:`VpcdError` if vpcd is absent."""
        with self._lock:
            if self.inserted:
                return
            if self.card.removed:
                self.card.reinsert()
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
            except OSError as exc:
                raise VpcdError(
                    f"cannot reach vpcd on {self.host}:{self.port} ({exc.strerror or exc})"
                ) from None
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._stopping.clear()
            self.error = None
            self.atr_requests = 0
            self.power_ons = 0
            self._socket = sock
            self._thread = threading.Thread(
                target=self._serve, args=(sock,), name=f"vpcd-{self.port}", daemon=True
            )
            self._thread.start()

    def remove(self, timeout: float = 5.0) -> None:
        """Close the socket (the card leaves the field) and wait for the loop to end."""
        with self._lock:
            self._stopping.set()
            sock, thread = self._socket, self._thread
            self._socket = None
            if sock is not None:
                _close(sock)
            if thread is not None:
                thread.join(timeout)
            self._thread = None

    # -- socket loop -------------------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        try:
            while not self._stopping.is_set():
                header = _recv_exact(sock, 2)
                if header is None:
                    return
                payload = _recv_exact(sock, int.from_bytes(header, "big"))
                if payload is None:
                    return
                if len(payload) == 1:
                    answer = self._control(payload[0])
                else:
                    try:
                        answer = self.card.process(payload)
                    except CardLeftError:
                        return  # the fault plan removed the card: close without answering
                if answer is not None:
                    # length and payload in one send; never an empty frame (answers are ≥ 2 bytes)
                    sock.sendall(len(answer).to_bytes(2, "big") + answer)
        except OSError as exc:
            if not self._stopping.is_set():
                self.error = exc
        finally:
            _close(sock)

    def _control(self, code: int) -> bytes | None:
        if code == _GET_ATR:
            self.atr_requests += 1
            return self.card.atr
        if code == _POWER_OFF:
            self.card.power_off()
        elif code == _POWER_ON:
            self.power_ons += 1
            self.card.power_on()
        elif code == _RESET:
            self.card.reset()
        return None


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """Read exactly ``size`` bytes; None on EOF. Re-arms TCP_QUICKACK before each recv (Linux clears it)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        chunk = sock.recv(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
