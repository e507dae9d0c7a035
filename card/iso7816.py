"""The ISO/IEC 7816-4 commands both My Number Card applications answer the same way: SELECT an
application or an EF, the case-1 VERIFY that counts tries, and VERIFY with a PIN.

Both :class:`card.jpki.JpkiApplication` and :class:`card.card_info.CardInfoApplication` are built on
these; status words become semantic errors here, where their meaning is known (yubikit pattern).
Every command still passes :class:`card.apdu.ApduProtocol`, whose privacy guard (:mod:`card.privacy`)
refuses the My Number's EFs whichever application calls.
"""

from __future__ import annotations

from card.apdu import SW, ApduProtocol, CommandApdu, tries_from_sw
from card.constants import (
    AID,
    CLA_ISO,
    INS_SELECT,
    INS_VERIFY,
    MAX_TRIES,
    P1_SELECT_DF_NAME,
    P1_SELECT_EF,
    P2_CURRENT_KEY,
    P2_SELECT_NO_FCI,
    PinKind,
)
from card.errors import (
    ApplicationNotFoundError,
    CardFileNotFoundError,
    PinBlockedError,
    PinIncorrectError,
    apdu_error_for,
)
from card.pin import check_four_digit_pin


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
