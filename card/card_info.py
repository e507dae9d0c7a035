"""券面事項入力補助AP (card-info input support AP): the basic four and the records that prove them.

Hard privacy guard (DESIGN §3, protocol §5): this class never selects or reads EF 0001 (the My
Number) and never VERIFYs 照合番号A (EF 0014, which *is* the My Number), whatever the caller asks;
:func:`card.privacy.guard_fid` raises :class:`card.errors.PrivacyGuardError` before any APDU is
built. The same 4-digit PIN also opens EF 0001, so the guard is in code, not in convention; the
generic helpers below this class are guarded again in :class:`card.apdu.ApduProtocol`
(:mod:`card.privacy`), and e2e tests prove it through the virtual card's access log.
"""

from __future__ import annotations

from card.apdu import ApduProtocol
from card.constants import (
    AID,
    FID_CI_AP_KEY,
    FID_CI_BASIC_FOUR,
    FID_CI_CVC,
    FID_CI_INTEGRITY,
    FID_CI_PIN,
    P2_CARD_INFO_OWN_KEY,
    PinKind,
)
from card.errors import (
    ApplicationNotFoundError,
    NotMyNumberCardError,
    PinNotVerifiedError,
    PrivacyGuardError,
    SecurityStatusNotSatisfiedError,
)
from card.files import read_tlv_file
from card.iso7816 import query_tries, select_application, verify_pin
from card.parsers import (
    ApPublicKey,
    BasicFour,
    Cvc,
    IntegrityRecord,
    parse_ap_public_key,
    parse_basic_four,
    parse_cvc,
    parse_integrity_record,
)
from card.privacy import FORBIDDEN_FIDS, guard_fid
from card.signing import compute_signature

__all__ = ["FORBIDDEN_FIDS", "CardInfoApplication", "guard_fid"]

# Size hints (protocol §1.2, §4.3): records whose documented size is exact are read in one APDU.
BASIC_FOUR_HINT = 256  # short Le=00 covers typical records; a long address costs one more APDU
INTEGRITY_HINT = 336
CVC_HINT = 568
AP_KEY_HINT = 536


class CardInfoApplication:
    """The card-info input support AP on one connection."""

    def __init__(self, protocol: ApduProtocol) -> None:
        self.protocol = protocol

    def select(self) -> None:
        """Select the AP (``00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08``, §1)."""
        try:
            select_application(self.protocol, AID.CARD_INFO)
        except ApplicationNotFoundError:
            raise NotMyNumberCardError("the card has no card-info input support application") from None

    def tries_left(self) -> int:
        """Tries left of the card-info PIN (EF 0011) by case-1 VERIFY ``00 20 00 91``."""
        return query_tries(self.protocol, PinKind.CARD_INFO, FID_CI_PIN)

    def verify_pin(self, pin: bytearray) -> None:
        """VERIFY EF 0011 by SFI (``00 20 00 91``), once. See :func:`card.iso7816.verify_pin`."""
        self.verify(FID_CI_PIN, pin)

    def verify(self, fid: int, pin: bytearray) -> None:
        """VERIFY a credential EF of this AP by SFI; EF 0014 (照合番号A) is refused."""
        guard_fid(fid)
        if fid != FID_CI_PIN:
            raise PrivacyGuardError("only the card-info PIN (EF 0011) is verified by this kiosk")
        verify_pin(self.protocol, PinKind.CARD_INFO, fid, pin)

    def read_file(self, fid: int, *, hint: int, redact: bool) -> bytes:
        """Read a TLV record EF by SFI; EF 0001 is refused, 6982 → :class:`PinNotVerifiedError`."""
        guard_fid(fid)
        try:
            return read_tlv_file(self.protocol, fid, hint=hint, redact=redact)
        except SecurityStatusNotSatisfiedError:
            raise PinNotVerifiedError(f"EF {fid:04X} needs the card-info PIN") from None

    def read_cvc(self) -> Cvc:
        """EF 0004, this AP's CVC (free, §1.2)."""
        return parse_cvc(self.read_file(FID_CI_CVC, hint=CVC_HINT, redact=False))

    def read_basic_four(self) -> BasicFour:
        """EF 0002, the basic four (needs the PIN); the response is redacted from traces."""
        return parse_basic_four(self.read_file(FID_CI_BASIC_FOUR, hint=BASIC_FOUR_HINT, redact=True))

    def read_integrity_record(self) -> IntegrityRecord:
        """EF 0003 (needs the PIN); DF31 hashes the My Number, so it is redacted and kept in memory."""
        return parse_integrity_record(self.read_file(FID_CI_INTEGRITY, hint=INTEGRITY_HINT, redact=True))

    def read_ap_public_key(self) -> ApPublicKey:
        """EF 0007, the AP's own public key signed by the CVC key (needs the PIN, §1.2)."""
        return parse_ap_public_key(self.read_file(FID_CI_AP_KEY, hint=AP_KEY_HINT, redact=False))

    def sign_challenge(self, challenge: bytes) -> bytes:
        """``80 2A 00 00`` with DigestInfo(SHA-256(challenge)): the AP's own key (EF 0013), no PIN
        (§2.3 last bullet); the card-genuineness challenge of §5."""
        return compute_signature(self.protocol, P2_CARD_INFO_OWN_KEY, challenge)
