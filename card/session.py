"""``MyNumberCardSession``: one card on the reader, from prefetch to the card-signed record.

The APDU plan (DESIGN §2, protocol §2.5; 15 APDUs for a whole read of a typical card):

prefetch, no PIN, runs while the resident types (8 APDUs)::

    00 A4 04 0C 0A <JPKI AID>                 select JPKI AP (6A82: not a My Number Card)
    00 B0 86 00 20                            token label by SFI 06 (JPKIAPICCTOKEN2)
    00 20 00 98                               auth PIN tries (case 1, no try used)
    00 B0 8A 00 00 00 00                      auth certificate by SFI 0A, one extended read
    00 A4 04 0C 0A <card-info AID>            select card-info AP
    00 20 00 91                               card-info PIN tries
    00 B0 84 00 00 02 38                      CVC by SFI 04 (568 bytes)
    80 2A 00 00 33 <DigestInfo(nonce)> 00     card-genuineness challenge, AP's own key

after the PIN (7 APDUs; 8 when the basic four exceeds 256 bytes)::

    00 20 00 91 04 <PIN>                      VERIFY card-info PIN by SFI (AP still selected)
    00 B0 82 00 00                            basic four by SFI 02
    00 B0 83 00 00 01 50                      integrity record by SFI 03 (336 bytes)
    00 B0 87 00 00 02 18                      AP public key by SFI 07 (536 bytes)
    00 A4 04 0C 0A <JPKI AID>                 select JPKI AP (once after the PIN)
    00 20 00 98 04 <PIN>                      VERIFY auth PIN by SFI
    80 2A 00 97 33 <DigestInfo(nonce)> 00     sign with key EF 0017 named in P2

The JPKI AP is verified *last* and stays selected, so :meth:`MyNumberCardSession.sign_with_auth_key`
can sign the registration record at confirmation without another PIN entry (re-selecting an AP
clears its verified state, protocol §3). The card-info PIN is tried first: if the PIN is wrong, a
card-info try is used and the JPKI auth PIN, which the resident needs for e-government log-ins, is
left untouched.

PIN safety: PINs are ``bytearray``s wiped when :meth:`read` returns or raises; no VERIFY is ever
retried; tries are known before every VERIFY; at 1 try left VERIFY needs ``allow_last_try``; if the
card leaves during a VERIFY, :class:`CardRemovedError` has ``during_verify=True`` and the tries count
is forgotten (re-queried on the next tap).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from card.apdu import ApduProtocol, TrafficStats
from card.card_info import CardInfoApplication
from card.certificates import AuthCertificate, parse_auth_certificate
from card.connection import CardConnection
from card.constants import MAX_TRIES, TOKEN_LABEL_MYNUMBER_CARD, PinKind
from card.errors import (
    CardRemovedError,
    LastTryRefusedError,
    NotMyNumberCardError,
    PinBlockedError,
    PinIncorrectError,
    PinNotVerifiedError,
)
from card.jpki import JpkiApplication
from card.parsers import BasicFour, Cvc
from card.pin import check_four_digit_pin, wipe
from card.trust import (
    TrustStatus,
    TrustStore,
    card_signature_valid,
    verify_auth_chain,
    verify_genuine_card,
    verify_integrity,
)

logger = logging.getLogger(__name__)

#: Bytes of fresh randomness signed by the card (the challenges are never reused).
CHALLENGE_LENGTH = 32


@dataclass(frozen=True, slots=True)
class TriesLeft:
    """Tries left per credential; None = unknown (e.g. the card left during a VERIFY)."""

    auth: int | None
    card_info: int | None


@dataclass(frozen=True, slots=True)
class CardStatus:
    """What ``madoguchi card status`` shows: no PIN needed, no try used."""

    token_label: str
    is_mynumber_card: bool
    auth: int
    card_info: int
    signature: int


@dataclass(frozen=True)
class PinFreeReads:
    """Everything read before the PIN."""

    token_label: str
    tries_left: TriesLeft
    auth_certificate: AuthCertificate
    cvc: Cvc = field(repr=False)
    genuineness_challenge: bytes = field(repr=False)
    genuineness_signature: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class CardChecks:
    """Results of the four local checks (DESIGN §2.5)."""

    #: auth certificate → configured JPKI root, validity.
    chain: TrustStatus
    #: the card's signature of our challenge verifies with the auth certificate.
    signature_valid: bool
    #: EF 0003 signature, CVC chain, DF32 = SHA-256 of the basic four read.
    integrity: TrustStatus
    #: CVC chain, EF 0007 signature, ``80 2A 00 00`` challenge signature.
    genuine_card: TrustStatus


@dataclass(frozen=True)
class CardReadResult:
    """The outcome of a successful :meth:`MyNumberCardSession.read`."""

    basic_four: BasicFour = field(repr=False)
    auth_certificate: AuthCertificate
    verification: CardChecks
    tries_left: TriesLeft
    traffic_before_pin: TrafficStats
    traffic_after_pin: TrafficStats

    @property
    def auth_certificate_der(self) -> bytes:
        """DER of the user-authentication certificate (goes into the registration record)."""
        return self.auth_certificate.der


class _Ap(enum.Enum):
    NONE = 0
    JPKI = 1
    CARD_INFO = 2


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MyNumberCardSession:
    """One card session over a :class:`CardConnection`.

    :param connection: the transport (PC/SC, vpcd or in-process); closed by :meth:`close`.
    :param trust: anchors for the checks.
    :param now: clock for certificate validity (injected in tests).
    :param random_bytes: challenge source (injected in tests).
    :param cancel: set it (e.g. from the UI thread) to stop before the next APDU with
        :class:`card.errors.OperationCancelledError`; a VERIFY in flight always completes.
    """

    def __init__(
        self,
        connection: CardConnection,
        trust: TrustStore,
        *,
        now: Callable[[], dt.datetime] = _utcnow,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        cancel: threading.Event | None = None,
    ) -> None:
        self.protocol = ApduProtocol(connection, cancel=cancel)
        self._connection = connection
        self._trust = trust
        self._now = now
        self._random = random_bytes
        self._jpki = JpkiApplication(self.protocol)
        self._card_info = CardInfoApplication(self.protocol)
        self._current = _Ap.NONE
        self._prefetch: PinFreeReads | None = None
        self._tries: dict[PinKind, int | None] = {PinKind.AUTH: None, PinKind.CARD_INFO: None}
        self._auth_verified = False
        self._prefetch_traffic = TrafficStats()
        self._removed_during_pin_verify = False

    # -- helpers ------------------------------------------------------------------------------

    def _select(self, ap: _Ap) -> None:
        if self._current is ap:
            return
        self._auth_verified = False
        self._current = _Ap.NONE
        (self._jpki if ap is _Ap.JPKI else self._card_info).select()
        self._current = ap

    @property
    def tries_left(self) -> TriesLeft:
        """Tries as last seen on the card (None: unknown, query again on the next tap)."""
        return TriesLeft(self._tries[PinKind.AUTH], self._tries[PinKind.CARD_INFO])

    @property
    def traffic(self) -> TrafficStats:
        """Everything this session sent and received so far."""
        return self.protocol.stats

    @contextmanager
    def _removal_semantics(self) -> Iterator[None]:
        """Only a VERIFY that carried a PIN can have used a try: a transport that flags every
        INS 20 (the case-1 tries query included) is normalised here."""
        self._removed_during_pin_verify = False
        try:
            yield
        except CardRemovedError as exc:
            self._auth_verified = False
            self._current = _Ap.NONE
            if exc.during_verify and not self._removed_during_pin_verify:
                raise CardRemovedError(str(exc), during_verify=False) from None
            raise

    # -- prefetch -----------------------------------------------------------------------------

    def prefetch(self) -> PinFreeReads:
        """Read everything that needs no PIN (8 APDUs, once per session; later calls return it).

        :raises NotMyNumberCardError: no JPKI AP, wrong token label, or no card-info AP.
        """
        if self._prefetch is not None:
            return self._prefetch
        with self._removal_semantics():
            return self._prefetch_now()

    def _prefetch_now(self) -> PinFreeReads:
        start = self.protocol.stats
        self._select(_Ap.JPKI)
        label = self._jpki.read_token_label()
        if label != TOKEN_LABEL_MYNUMBER_CARD:
            raise NotMyNumberCardError("the JPKI token is not a My Number Card")
        self._tries[PinKind.AUTH] = self._jpki.tries_left(PinKind.AUTH)
        certificate = parse_auth_certificate(self._jpki.read_auth_certificate())
        self._select(_Ap.CARD_INFO)
        self._tries[PinKind.CARD_INFO] = self._card_info.tries_left()
        cvc = self._card_info.read_cvc()
        challenge = self._random(CHALLENGE_LENGTH)
        signature = self._card_info.sign_challenge(challenge)
        self._prefetch = PinFreeReads(label, self.tries_left, certificate, cvc, challenge, signature)
        self._prefetch_traffic = self.protocol.stats - start
        logger.debug("prefetch done: %d APDUs", self._prefetch_traffic.apdus)
        return self._prefetch

    # -- PIN and read -------------------------------------------------------------------------

    def _check_tries(self, kind: PinKind, allow_last_try: bool) -> None:
        tries = self._tries[kind]
        if tries is None:
            # Unknown after an interrupted VERIFY: ask the card (no try used) before deciding.
            if kind is PinKind.AUTH:
                self._select(_Ap.JPKI)
                tries = self._jpki.tries_left(PinKind.AUTH)
            else:
                self._select(_Ap.CARD_INFO)
                tries = self._card_info.tries_left()
            self._tries[kind] = tries
        if tries == 0:
            raise PinBlockedError(kind)
        if tries == 1 and not allow_last_try:
            raise LastTryRefusedError(kind)

    def _verify(self, kind: PinKind, verify: Callable[[bytearray], None], pin: bytearray) -> None:
        try:
            verify(pin)
        except PinIncorrectError as exc:
            self._tries[kind] = exc.tries_left
            raise
        except PinBlockedError:
            self._tries[kind] = 0
            raise
        except CardRemovedError:
            # The try may or may not have been counted (protocol §3, LULI): forget the count.
            self._tries[kind] = None
            self._removed_during_pin_verify = True
            raise CardRemovedError("the card left during a PIN check", during_verify=True) from None
        self._tries[kind] = MAX_TRIES[kind]

    def read(
        self,
        pin: bytearray,
        *,
        card_info_pin: bytearray | None = None,
        allow_last_try: bool = False,
    ) -> CardReadResult:
        """Verify the PIN(s), read the basic four, have the card sign a challenge, check everything.

        :param pin: the JPKI user-authentication PIN (4 digits). Wiped before this returns.
        :param card_info_pin: the card-info PIN when the resident says it differs; None means the
            resident confirmed it is the same PIN. Wiped before this returns.
        :param allow_last_try: explicit permission to VERIFY a PIN that has 1 try left.
        :raises PinFormatError, PinIncorrectError, PinBlockedError, LastTryRefusedError,
            CardRemovedError, NotMyNumberCardError, MalformedCardDataError.
        """
        try:
            with self._removal_semantics():
                check_four_digit_pin(PinKind.AUTH, pin)
                if card_info_pin is not None:
                    check_four_digit_pin(PinKind.CARD_INFO, card_info_pin)
                self.prefetch()
                assert self._prefetch is not None
                start = self.protocol.stats
                # Both counters are checked before the first VERIFY so that no try is spent on one PIN
                # when the other would be refused anyway.
                self._check_tries(PinKind.CARD_INFO, allow_last_try)
                self._check_tries(PinKind.AUTH, allow_last_try)
                self._select(_Ap.CARD_INFO)
                ci_pin = pin if card_info_pin is None else card_info_pin
                self._verify(PinKind.CARD_INFO, self._card_info.verify_pin, ci_pin)
                basic_four = self._card_info.read_basic_four()
                integrity = self._card_info.read_integrity_record()
                ap_key = self._card_info.read_ap_public_key()
                self._select(_Ap.JPKI)
                self._verify(PinKind.AUTH, self._jpki.verify_auth_pin, pin)
                self._auth_verified = True
                challenge = self._random(CHALLENGE_LENGTH)
                signature = self._jpki.sign_with_auth_key(challenge)
                after = self.protocol.stats - start
        finally:
            wipe(pin, card_info_pin)
        prefetch = self._prefetch
        certificate = prefetch.auth_certificate.certificate  # parsed once, at prefetch
        verification = CardChecks(
            chain=verify_auth_chain(certificate, self._trust, self._now()),
            signature_valid=card_signature_valid(certificate, challenge, signature),
            integrity=verify_integrity(integrity, prefetch.cvc, basic_four, self._trust),
            genuine_card=verify_genuine_card(
                prefetch.cvc,
                ap_key,
                prefetch.genuineness_challenge,
                prefetch.genuineness_signature,
                self._trust,
            ),
        )
        logger.debug("read done: %d APDUs after the PIN", after.apdus)
        return CardReadResult(
            basic_four=basic_four,
            auth_certificate=prefetch.auth_certificate,
            verification=verification,
            tries_left=self.tries_left,
            traffic_before_pin=self._prefetch_traffic,
            traffic_after_pin=after,
        )

    def sign_with_auth_key(self, data: bytes) -> bytes:
        """Have the card sign SHA-256(``data``) with the JPKI auth key (``80 2A 00 97``, §2.3).

        Only while the auth PIN verified by :meth:`read` is still valid (same session, JPKI AP
        still selected). The result verifies with ``public_key.verify(sig, data, PKCS1v15(),
        SHA256())`` using the auth certificate.

        :raises PinNotVerifiedError: no successful :meth:`read` in this session (or the card was reset).
        """
        if not self._auth_verified or self._current is not _Ap.JPKI:
            raise PinNotVerifiedError("sign_with_auth_key needs a successful read in this session")
        with self._removal_semantics():
            return self._jpki.sign_with_auth_key(data)

    def close(self) -> None:
        """Close the connection (PC/SC unpowers the card, clearing the verified state)."""
        self._auth_verified = False
        self._connection.close()

    def __enter__(self) -> MyNumberCardSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_card_status(connection: CardConnection) -> tuple[CardStatus, TrafficStats]:
    """Token label and the tries of the auth PIN, card-info PIN and signature password (no PIN)."""
    protocol = ApduProtocol(connection)
    jpki, card_info = JpkiApplication(protocol), CardInfoApplication(protocol)
    jpki.select()
    label = jpki.read_token_label()
    auth = jpki.tries_left(PinKind.AUTH)
    signature = jpki.tries_left(PinKind.SIGNATURE)
    card_info.select()
    ci = card_info.tries_left()
    status = CardStatus(label, label == TOKEN_LABEL_MYNUMBER_CARD, auth, ci, signature)
    return status, protocol.stats
