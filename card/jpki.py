"""公的個人認証AP (JPKI AP): verbs named after card operations, results as frozen values.

Constructing :class:`JpkiApplication` does no I/O; :meth:`JpkiApplication.select` selects the AP
(every verified state of the AP is cleared by a re-select, protocol §3, so callers select once).
Status words become semantic errors here, where their meaning is known (yubikit pattern).
"""

from __future__ import annotations

import logging

from card.apdu import SW, ApduProtocol, CommandApdu
from card.constants import (
    AID,
    CLA_ISO,
    FID_JPKI_AUTH_CERT,
    FID_JPKI_AUTH_KEY,
    FID_JPKI_AUTH_PIN,
    FID_JPKI_SIGN_PIN,
    FID_JPKI_TOKEN,
    INS_READ_BINARY,
    P2_CURRENT_KEY,
    TOKEN_LABEL_LENGTH,
    PinKind,
)
from card.errors import (
    ApplicationNotFoundError,
    NotMyNumberCardError,
    PinNotVerifiedError,
    SecurityStatusNotSatisfiedError,
)
from card.files import read_tlv_file
from card.iso7816 import query_tries, select_application, verify_pin
from card.parsers import parse_token_label
from card.signing import compute_signature

logger = logging.getLogger(__name__)

#: Size hint for the certificate EF: read the whole EF in one extended APDU (§2.2); prefetch time
#: is hidden behind PIN entry, so the filler bytes cost nothing the resident sees.
AUTH_CERT_HINT = 0x10000

_PIN_FIDS = {PinKind.AUTH: FID_JPKI_AUTH_PIN, PinKind.SIGNATURE: FID_JPKI_SIGN_PIN}


class JpkiApplication:
    """The JPKI AP on one connection (through an :class:`ApduProtocol`, which counts and traces)."""

    def __init__(self, protocol: ApduProtocol) -> None:
        self.protocol = protocol

    def select(self) -> None:
        """Select the JPKI AP; a card without it is not a My Number Card (protocol §4.5)."""
        try:
            select_application(self.protocol, AID.JPKI)
        except ApplicationNotFoundError:
            raise NotMyNumberCardError("the card has no JPKI application") from None

    def read_token_label(self) -> str:
        """EF 0006's first 32 bytes by SFI (one APDU): ``JPKIAPICCTOKEN2`` on a My Number Card."""
        data, sw = self.protocol.transmit(
            CommandApdu(CLA_ISO, INS_READ_BINARY, 0x80 | FID_JPKI_TOKEN, 0, le=TOKEN_LABEL_LENGTH)
        )
        if sw != SW.OK:
            raise NotMyNumberCardError(f"the JPKI token EF cannot be read (SW={sw:04X})")
        return parse_token_label(data)

    def tries_left(self, kind: PinKind = PinKind.AUTH) -> int:
        """Tries left of the auth PIN (EF 0018) or the signature password (EF 001B), no try used."""
        if kind not in _PIN_FIDS:
            raise ValueError(f"{kind} is not a JPKI credential")
        return query_tries(self.protocol, kind, _PIN_FIDS[kind])

    def read_auth_certificate(self) -> bytes:
        """EF 000A (free on physical cards, §1.1): the DER certificate, filler removed."""
        try:
            return read_tlv_file(self.protocol, FID_JPKI_AUTH_CERT, hint=AUTH_CERT_HINT)
        except SecurityStatusNotSatisfiedError:
            # Smartphone JPKI tokens protect it with the PIN (§1.1): not a My Number Card.
            raise NotMyNumberCardError("the auth certificate needs a PIN: not a physical card") from None

    def verify_auth_pin(self, pin: bytearray) -> None:
        """VERIFY EF 0018 by SFI (``00 20 00 98``), once. See :func:`card.iso7816.verify_pin`."""
        verify_pin(self.protocol, PinKind.AUTH, FID_JPKI_AUTH_PIN, pin)

    def sign_with_auth_key(self, data: bytes) -> bytes:
        """COMPUTE DIGITAL SIGNATURE ``80 2A 00 97`` (key EF 0017 named in P2, no SELECT, §2.3)
        over DigestInfo(SHA-256(``data``)): verifies as PKCS#1 v1.5 SHA-256 of ``data``.

        :raises PinNotVerifiedError: 6982, the auth PIN is not verified in this AP selection.
        """
        try:
            return compute_signature(self.protocol, P2_CURRENT_KEY | FID_JPKI_AUTH_KEY, data)
        except SecurityStatusNotSatisfiedError:
            raise PinNotVerifiedError("the auth PIN is not verified on the card") from None
