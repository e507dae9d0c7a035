"""The privacy guard: EF 0001 (the My Number) and EF 0014 (照合番号A) are never addressed.

The card-info AP's EF 0001 holds the My Number and opens with the same 4-digit PIN as the basic four,
and 照合番号A (EF 0014) *is* the My Number (protocol §1.2, §5). :class:`card.card_info.CardInfoApplication`
refuses them by name, but the generic helpers it is built on (:func:`card.files.read_tlv_file`,
:func:`card.iso7816.select_ef`, :func:`card.iso7816.query_tries`, :func:`card.iso7816.verify_pin`, or a raw
:class:`card.apdu.CommandApdu`) can be called from anywhere. So :class:`card.apdu.ApduProtocol`, the
one door every command goes through, checks each command here before it is encoded: no SELECT of
FID 0001/0014 (by FID or path), no READ BINARY by SFI 01/14, no VERIFY naming SFI 01/14.

The protocol layer does not know which AP is selected, so the JPKI AP's EF 0001 (the signature
certificate, behind the signature password the kiosk never asks for, §1.1) is refused too: the
kiosk has no use for it and it also carries the resident's name and address.
"""

from __future__ import annotations

from card.constants import (
    FID_CI_MY_NUMBER,
    FID_CI_VERIFICATION_A,
    INS_READ_BINARY,
    INS_SELECT,
    INS_VERIFY,
    P1_SELECT_DF_NAME,
)
from card.errors import PrivacyGuardError

#: FIDs this kiosk never touches: the My Number EF and 照合番号A.
FORBIDDEN_FIDS = frozenset({FID_CI_MY_NUMBER, FID_CI_VERIFICATION_A})

_SFI_FORM_MASK = 0xE0  # P1 of READ BINARY / P2 of VERIFY: 100xxxxx names an EF by SFI (§2.1)
_SFI_FORM = 0x80
_SFI_MASK = 0x1F


def guard_fid(fid: int) -> None:
    """Refuse EF 0001 and EF 0014 (raises before any APDU)."""
    if fid in FORBIDDEN_FIDS:
        raise PrivacyGuardError(f"EF {fid:04X} of the card-info AP is never accessed by this kiosk")


def _sfi(parameter: int) -> int | None:
    return parameter & _SFI_MASK if parameter & _SFI_FORM_MASK == _SFI_FORM else None


def guard_command(ins: int, p1: int, p2: int, data: bytes) -> None:
    """Refuse a command that would select, read or verify a forbidden FID (any builder, any AP).

    :raises PrivacyGuardError: the command names EF 0001 or EF 0014; nothing was sent.
    """
    if ins == INS_SELECT and p1 != P1_SELECT_DF_NAME and len(data) >= 2:
        guard_fid(int.from_bytes(data[-2:], "big"))  # by FID (P1 00/02) or by path (last FID)
    elif ins == INS_READ_BINARY:
        sfi = _sfi(p1)
        if sfi is not None:
            guard_fid(sfi)
    elif ins == INS_VERIFY:
        sfi = _sfi(p2)
        if sfi is not None:
            guard_fid(sfi)
