"""The PIN-less tap: read only the JPKI user-authentication certificate and check it offline.

Used by shelter check-in (docs/shelter.md). Three APDUs, all in the JPKI AP, none needs a PIN
(protocol §1.1: EF 000A is free on physical cards)::

    00 A4 04 0C 0A <JPKI AID>        select JPKI AP (6A82: not a My Number Card)
    00 B0 86 00 20                   token label by SFI 06 (JPKIAPICCTOKEN2)
    00 B0 8A 00 00 00 00             auth certificate by SFI 0A, one extended read

Deliberately *not* sent: any VERIFY (not even the case-1 tries query, so the card's access log
shows no INS 20 at all), anything in the card-info AP (so never the My Number, never the basic
four), and no signature (which would need the PIN). The chain and validity are checked against the
kiosk's configured JPKI roots with :func:`card.trust.verify_auth_chain`, the same function the
registration path uses.

What this proves, and what it does not: a certificate that chains to J-LIS shows that a genuine
card's certificate was presented. Without a card signature (which needs the PIN) it does not prove
the card is the original rather than a copy of its public certificate, nor who holds it. That is
enough for a headcount at an evacuation centre, not for handing out money (docs/shelter.md §3).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from card.apdu import ApduProtocol, TrafficStats
from card.certificates import AuthCertificate, parse_auth_certificate
from card.connection import CardConnection
from card.constants import TOKEN_LABEL_MYNUMBER_CARD
from card.errors import NotMyNumberCardError
from card.jpki import JpkiApplication
from card.trust import TrustStatus, TrustStore, verify_auth_chain

#: APDUs of one PIN-less read (select, token label, certificate).
PINLESS_APDUS = 3


@dataclass(frozen=True)
class PinlessRead:
    """The outcome of one PIN-less tap. ``chain`` is a result, never an exception: an expired or
    foreign certificate is something the check-in flow decides about."""

    certificate: AuthCertificate = field(repr=False)
    chain: TrustStatus
    traffic: TrafficStats

    @property
    def issuer_der(self) -> bytes:
        """DER of the issuer name: with the serial, the input of the server's primary person key."""
        return self.certificate.certificate.issuer.public_bytes()

    @property
    def serial(self) -> int:
        """The certificate serial number (never shown, never logged)."""
        return self.certificate.serial_number


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_auth_certificate_pinless(
    connection: CardConnection,
    trust: TrustStore,
    *,
    now: Callable[[], dt.datetime] = _utcnow,
    cancel: threading.Event | None = None,
) -> PinlessRead:
    """Read the auth certificate without a PIN and verify its chain and validity offline.

    Reuses the session's APDU layer (:class:`~card.apdu.ApduProtocol`: tracing, 61xx/6Cxx,
    counting, cancellation) and :class:`~card.jpki.JpkiApplication`'s verbs, so there is one
    implementation of each card operation. The connection is left open: the caller owns it.

    :raises NotMyNumberCardError: no JPKI AP, a token label other than a My Number Card's, or a
        certificate that needs a PIN (a smartphone JPKI token).
    :raises MalformedCardDataError: the certificate does not parse.
    :raises CardRemovedError, ReaderError: transport failures.
    """
    protocol = ApduProtocol(connection, cancel=cancel)
    jpki = JpkiApplication(protocol)
    jpki.select()
    if jpki.read_token_label() != TOKEN_LABEL_MYNUMBER_CARD:
        raise NotMyNumberCardError("the JPKI token is not a My Number Card")
    certificate = parse_auth_certificate(jpki.read_auth_certificate())
    traffic = protocol.stats
    chain = verify_auth_chain(certificate.certificate, trust, now())
    return PinlessRead(certificate=certificate, chain=chain, traffic=traffic)
