"""Reading a TLV-structured EF by short file identifier with the fewest APDUs (protocol §2.1, §2.2).

The first READ BINARY names the EF by SFI (``P1 = 80|SFI``: no SELECT needed) and asks for a size
hint; the record's own BER header then says how long it is, and only if the hint was short is the
rest read at its offset from the (now current) EF. Large hints use extended Le, which the card
supports for READ BINARY (§2.2); when the reader refuses extended APDUs (``6700``) the protocol is
switched to short APDUs for good and the read continues in 256-byte chunks. Never reads "until an
error" (code-style anchors §10.5).
"""

from __future__ import annotations

from card.apdu import EXTENDED_LE_MAX, SHORT_LE_MAX, SW, ApduProtocol, CommandApdu
from card.constants import CLA_ISO, INS_READ_BINARY, MAX_SFI
from card.errors import MalformedCardDataError, apdu_error_for
from card.parsers import tlv_file_length

#: Largest record accepted: offsets are 15-bit (§2.1), the biggest EF we read is a ~2 KB certificate.
MAX_RECORD = 0x7FFF


def _check_ok(sw: int, ins: int, data: bytes) -> None:
    if sw != SW.OK:
        raise apdu_error_for(sw, data, ins=ins)


def read_tlv_file(protocol: ApduProtocol, fid: int, *, hint: int, redact: bool = False) -> bytes:
    """Read the TLV record at the start of EF ``fid`` (an SFI-addressable FID) and return exactly it.

    :param hint: expected record size; one APDU suffices when the record fits in it.
    :param redact: keep the response out of the APDU trace (personal data).
    :raises ApduError: a status word other than 9000 (the caller maps 6982/6A82 to meaning).
    :raises MalformedCardDataError: the record header is invalid or longer than the EF allows.
    """
    if not 1 <= fid <= MAX_SFI:
        raise ValueError("only FIDs 0001-001E have a short file identifier")
    limit = EXTENDED_LE_MAX if protocol.extended else SHORT_LE_MAX
    le = max(1, min(hint, limit))
    first = CommandApdu(CLA_ISO, INS_READ_BINARY, 0x80 | fid, 0, le=le)
    data, sw = protocol.transmit(first, redact_response=redact)
    if sw == SW.WRONG_LENGTH and le > SHORT_LE_MAX:
        # The reader (or card) refuses extended APDUs: fall back to short ones from now on.
        protocol.extended = False
        first = CommandApdu(CLA_ISO, INS_READ_BINARY, 0x80 | fid, 0, le=SHORT_LE_MAX)
        data, sw = protocol.transmit(first, redact_response=redact)
    _check_ok(sw, INS_READ_BINARY, data)
    total = tlv_file_length(data)
    if total > MAX_RECORD:
        raise MalformedCardDataError("record longer than an EF can be")
    chunks = bytearray(data)
    while len(chunks) < total:
        offset = len(chunks)
        if offset > MAX_RECORD:
            raise MalformedCardDataError("record runs past the addressable EF size")
        limit = EXTENDED_LE_MAX if protocol.extended else SHORT_LE_MAX
        command = CommandApdu(
            CLA_ISO, INS_READ_BINARY, offset >> 8, offset & 0xFF, le=min(total - offset, limit)
        )
        more, sw = protocol.transmit(command, redact_response=redact)
        _check_ok(sw, INS_READ_BINARY, more)
        if not more:
            raise MalformedCardDataError("EF ended before its record did")
        chunks += more
    return bytes(chunks[:total])
