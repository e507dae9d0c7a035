"""公的個人認証AP (JPKI AP): verbs named after card operations, results as frozen values.

Constructing :class:`JpkiApplication` does no I/O; :meth:`JpkiApplication.select` selects the AP
(every verified state of the AP is cleared by a re-select, protocol §3, so callers select once).
Status words become semantic errors here, where their meaning is known (yubikit pattern).
"""

from __future__ import annotations

import hashlib
import logging

from card.apdu import SW, ApduProtocol, CommandApdu, tries_from_sw
from card.constants import (
    AID,
    CLA_ISO,
    CLA_PROPRIETARY,
    FID_JPKI_AUTH_CERT,
    FID_JPKI_AUTH_KEY,
    FID_JPKI_AUTH_PIN,
    FID_JPKI_SIGN_PIN,
    FID_JPKI_TOKEN,
    INS_COMPUTE_SIGNATURE,
    INS_READ_BINARY,
    INS_SELECT,
    INS_VERIFY,
    MAX_TRIES,
    P1_SELECT_DF_NAME,
    P1_SELECT_EF,
    P1_SIGN_PKCS1_AS_SUPPLIED,
    P2_CURRENT_KEY,
    P2_SELECT_NO_FCI,
    SHA256_DIGEST_INFO_PREFIX,
    TOKEN_LABEL_LENGTH,
    PinKind,
)
from card.errors import (
    ApplicationNotFoundError,
    CardFileNotFoundError,
    MalformedCardDataError,
    NotMyNumberCardError,
    PinBlockedError,
    PinIncorrectError,
    PinNotVerifiedError,
    SecurityStatusNotSatisfiedError,
    apdu_error_for,
)
from card.files import read_tlv_file
from card.parsers import parse_token_label
from card.pin import check_four_digit_pin

logger = logging.getLogger(__name__)

#: Size hint for the certificate EF: read the whole EF in one extended APDU (§2.2); prefetch time
#: is hidden behind PIN entry, so the filler bytes cost nothing the resident sees.
AUTH_CERT_HINT = 0x10000
#: RSA-2048 signature length (§2.3).
SIGNATURE_LENGTH = 256

_PIN_FIDS = {PinKind.AUTH: FID_JPKI_AUTH_PIN, PinKind.SIGNATURE: FID_JPKI_SIGN_PIN}


def sha256_digest_info(data: bytes) -> bytes:
    """DigestInfo(SHA-256(data)): what the card PKCS#1-v1.5-pads and signs with P1=00 (§2.3)."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(data).digest()


def select_application(protocol: ApduProtocol, aid: AID) -> None:
    """``00 A4 04 0C 0A <AID>`` (§1); 6A82 → :class:`ApplicationNotFoundError`."""
    data, sw = protocol.transmit(
        CommandApdu(CLA_ISO, INS_SELECT, P1_SELECT_DF_NAME, P2_SELECT_NO_FCI, aid.value)
    )
    if sw == SW.OK:
        return
    if sw in (SW.FILE_NOT_FOUND, SW.INS_NOT_SUPPORTED, SW.INCORRECT_P1P2, SW.CLA_NOT_SUPPORTED):
        raise ApplicationNotFoundError(sw, ins=INS_SELECT)
    raise apdu_error_for(sw, data, ins=INS_SELECT)


#: Answers that mean "this card does not take P2 = 80|SFI here" (wrong P1-P2, not found, no EF).
_SFI_REFUSED = frozenset({SW.INCORRECT_P1P2, SW.FILE_NOT_FOUND, 0x6A88, 0x6986})


def select_ef(protocol: ApduProtocol, fid: int) -> None:
    """``00 A4 02 0C 02 <FID>`` (§1); 6A82 → :class:`CardFileNotFoundError`."""
    data, sw = protocol.transmit(
        CommandApdu(CLA_ISO, INS_SELECT, P1_SELECT_EF, P2_SELECT_NO_FCI, fid.to_bytes(2, "big"))
    )
    if sw == SW.FILE_NOT_FOUND:
        raise CardFileNotFoundError(sw, ins=INS_SELECT)
    if sw != SW.OK:
        raise apdu_error_for(sw, data, ins=INS_SELECT)


def query_tries(protocol: ApduProtocol, kind: PinKind, fid: int) -> int:
    """Case-1 VERIFY ``00 20 00 80|SFI`` (exactly 4 bytes, §2.1): 63Cx → x without using a try.

    A card that answers 9000 (verified, "on some cards", §2.1) is reported as having all its tries.
    """
    data, sw = protocol.transmit(CommandApdu(CLA_ISO, INS_VERIFY, 0x00, P2_CURRENT_KEY | fid))
    if sw in _SFI_REFUSED:
        # §2.1 documents P2 = 80|SFI for a VERIFY that carries a PIN; should a card refuse it for
        # the case-1 query, fall back to the documented SELECT EF + ``00 20 00 80`` (flow A, §2.5).
        select_ef(protocol, fid)
        data, sw = protocol.transmit(CommandApdu(CLA_ISO, INS_VERIFY, 0x00, P2_CURRENT_KEY))
    tries = tries_from_sw(sw)
    if tries is not None:
        return tries
    if sw == SW.OK:
        return MAX_TRIES[kind]
    if sw in (SW.FILE_NOT_FOUND, 0x6A88):
        raise CardFileNotFoundError(sw, ins=INS_VERIFY)
    raise apdu_error_for(sw, data, ins=INS_VERIFY)


def verify_pin(protocol: ApduProtocol, kind: PinKind, fid: int, pin: bytearray) -> None:
    """``00 20 00 80|SFI 04 <PIN>`` once; never retried. The caller checked tries and format.

    :raises PinIncorrectError: 63Cx with x > 0.
    :raises PinBlockedError: 63C0 (the exhausting attempt) or 6984/6983 (already blocked).
    """
    check_four_digit_pin(kind, pin)
    header = bytes((CLA_ISO, INS_VERIFY, 0x00, P2_CURRENT_KEY | fid))
    data, sw = protocol.transmit_secret(header, pin)
    if sw == SW.OK:
        return
    tries = tries_from_sw(sw)
    if tries is None:
        raise apdu_error_for(sw, data, ins=INS_VERIFY)
    if tries == 0:
        raise PinBlockedError(kind)
    raise PinIncorrectError(kind, tries)


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
        """VERIFY EF 0018 by SFI (``00 20 00 98``), once. See :func:`verify_pin`."""
        verify_pin(self.protocol, PinKind.AUTH, FID_JPKI_AUTH_PIN, pin)

    def sign_with_auth_key(self, data: bytes) -> bytes:
        """COMPUTE DIGITAL SIGNATURE ``80 2A 00 97`` (key EF 0017 named in P2, no SELECT, §2.3)
        over DigestInfo(SHA-256(``data``)): verifies as PKCS#1 v1.5 SHA-256 of ``data``.

        :raises PinNotVerifiedError: 6982, the auth PIN is not verified in this AP selection.
        """
        command = CommandApdu(
            CLA_PROPRIETARY,
            INS_COMPUTE_SIGNATURE,
            P1_SIGN_PKCS1_AS_SUPPLIED,
            P2_CURRENT_KEY | FID_JPKI_AUTH_KEY,
            sha256_digest_info(data),
            le=256,
        )
        try:
            signature, _sw = self.protocol.send(command)
        except SecurityStatusNotSatisfiedError:
            raise PinNotVerifiedError("the auth PIN is not verified on the card") from None
        if len(signature) != SIGNATURE_LENGTH:
            raise MalformedCardDataError("the card's signature is not 256 bytes")
        return signature
