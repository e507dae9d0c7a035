"""The typed error tree of the card layer.

Every failure that can reach a caller is one of these classes, never a string and never a pyscard
exception (those are translated in :mod:`card.pcsc` only). Messages never contain a PIN, a My Number
or personal data; :class:`ApduError` keeps response data out of its message and repr.

    CardError
    ├── ReaderError                 transport level: the reader, pcscd or the card's presence
    │   ├── PcscUnavailableError    pcscd is not running / the PC/SC service went away
    │   ├── NoReaderError           no (matching) reader attached
    │   ├── ReaderBusyError         another program holds the card exclusively
    │   ├── NoCardError             reader present, no card in the field
    │   └── CardRemovedError        the card left during a transaction
    ├── ApduError(sw)               a status word other than 9000 (ISO 7816-4 SW1 families)
    │   ├── WarningError            62xx / 63xx
    │   ├── ExecutionError          64xx / 65xx
    │   ├── SecurityError           66xx / 69xx
    │   │   └── SecurityStatusNotSatisfiedError  6982
    │   └── CheckingError           67xx-6Fxx except 69xx
    │       ├── ApplicationNotFoundError         6A82 on SELECT by DF name
    │       └── CardFileNotFoundError            6A82 on SELECT / READ of an EF
    ├── PinError(kind)              semantic PIN outcomes, raised where the meaning is known
    │   ├── PinFormatError          rejected locally, no APDU sent, no try used
    │   ├── PinIncorrectError       VERIFY refused, ``tries_left`` > 0
    │   ├── PinBlockedError         no try left (63C0 / 6984)
    │   └── LastTryRefusedError     1 try left and no explicit permission: VERIFY not sent
    ├── NotMyNumberCardError        JPKI AP absent or token label is not JPKIAPICCTOKEN2
    ├── MalformedCardDataError      a parser rejected what the card returned
    ├── PrivacyGuardError           a caller asked for EF 0001 / 照合番号A of the card-info AP
    ├── PinNotVerifiedError         an operation needs a PIN verified in this session
    ├── ApduEncodingError           a command cannot be encoded (caller bug, e.g. Lc > 65535)
    ├── OperationCancelledError     the caller's cancel event was set; checked between APDUs
    └── TrustConfigError            trust anchors in the configuration are unusable
"""

from __future__ import annotations

from card.constants import PinKind


class CardError(Exception):
    """Base of every error raised by the card layer."""


class ReaderError(CardError):
    """The transport failed: reader, PC/SC service or card presence."""


class PcscUnavailableError(ReaderError):
    """The PC/SC service (pcscd) is not available; it may come back."""


class NoReaderError(ReaderError):
    """No reader is attached (or none matches the requested name)."""


class ReaderBusyError(ReaderError):
    """Another program holds the card in exclusive mode (PC/SC sharing violation)."""


class NoCardError(ReaderError):
    """A reader is attached but there is no card on it."""


class CardRemovedError(ReaderError):
    """The card left the reader during a transaction.

    ``during_verify`` is true when the card disappeared while a VERIFY was in flight: the try may or
    may not have been counted, so the caller must re-query the tries left on the next tap.
    """

    def __init__(self, message: str = "the card was removed", *, during_verify: bool = False) -> None:
        super().__init__(message)
        self.during_verify = during_verify


_SW_NAMES: dict[int, str] = {
    0x6281: "PART_OF_DATA_CORRUPTED",
    0x6282: "END_OF_FILE",
    0x6700: "WRONG_LENGTH",
    0x6981: "INCOMPATIBLE_FILE_STRUCTURE",
    0x6982: "SECURITY_STATUS_NOT_SATISFIED",
    0x6983: "AUTH_METHOD_BLOCKED",
    0x6984: "REFERENCE_DATA_BLOCKED",
    0x6985: "CONDITIONS_NOT_SATISFIED",
    0x6986: "NO_CURRENT_EF",
    0x6A80: "INCORRECT_DATA",
    0x6A82: "FILE_NOT_FOUND",
    0x6A86: "INCORRECT_P1P2",
    0x6A88: "REFERENCED_DATA_NOT_FOUND",
    0x6B00: "OFFSET_OUT_OF_FILE",
    0x6D00: "INS_NOT_SUPPORTED",
    0x6E00: "CLA_NOT_SUPPORTED",
    0x6F00: "NO_PRECISE_DIAGNOSIS",
}


class ApduError(CardError):
    """The card answered with a status word that the caller did not expect.

    Raised by :meth:`card.apdu.ApduProtocol.send`; applications catch it and raise the semantic
    error where the meaning is known (yubikit pattern). The response data is kept on the instance
    (``data``) but never formatted into the message or repr: it may be personal data.
    """

    def __init__(self, sw: int, data: bytes = b"", *, ins: int | None = None) -> None:
        self.sw = sw
        self.data = data
        self.ins = ins
        name = _SW_NAMES.get(sw)
        text = f"SW={sw:04X}" + (f" ({name})" if name else "")
        if ins is not None:
            text = f"INS {ins:02X}: {text}"
        super().__init__(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sw=0x{self.sw:04X})"


class WarningError(ApduError):
    """SW1 = 62 or 63 (warning; state of non-volatile memory may have changed)."""


class ExecutionError(ApduError):
    """SW1 = 64 or 65 (execution error)."""


class SecurityError(ApduError):
    """SW1 = 66 or 69 (security-related or command not allowed)."""


class SecurityStatusNotSatisfiedError(SecurityError):
    """6982: read or sign before the required VERIFY (protocol §2.4)."""


class CheckingError(ApduError):
    """SW1 = 67-6F except 69 (checking error: length, parameters, file not found...)."""


class ApplicationNotFoundError(CheckingError):
    """6A82 on SELECT by DF name: the card has no such application."""


class CardFileNotFoundError(CheckingError):
    """6A82 on SELECT or READ of an EF: the application has no such file."""


def apdu_error_for(sw: int, data: bytes = b"", *, ins: int | None = None) -> ApduError:
    """Build the :class:`ApduError` subclass matching ``sw``'s ISO 7816-4 family."""
    sw1 = sw >> 8
    cls: type[ApduError]
    if sw == 0x6982:
        cls = SecurityStatusNotSatisfiedError
    elif sw1 in (0x62, 0x63):
        cls = WarningError
    elif sw1 in (0x64, 0x65):
        cls = ExecutionError
    elif sw1 in (0x66, 0x69):
        cls = SecurityError
    elif 0x67 <= sw1 <= 0x6F:
        cls = CheckingError
    else:
        cls = ApduError
    return cls(sw, data, ins=ins)


class PinError(CardError):
    """A semantic PIN outcome; ``kind`` says which credential. Never carries the PIN itself."""

    def __init__(self, kind: PinKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class PinFormatError(PinError):
    """The PIN does not have the card's format; rejected before any APDU, so no try is used."""

    def __init__(self, kind: PinKind, reason: str = "wrong format") -> None:
        super().__init__(kind, f"{kind.value} PIN rejected locally: {reason}")


class PinIncorrectError(PinError):
    """VERIFY was refused (63Cx with x > 0): ``tries_left`` tries remain."""

    def __init__(self, kind: PinKind, tries_left: int) -> None:
        super().__init__(kind, f"{kind.value} PIN incorrect, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlockedError(PinError):
    """No try is left (63C0 on the exhausting attempt, 6984 afterwards, protocol §2.4/§3).

    Only the municipal office (市区町村窓口) can reset it.
    """

    def __init__(self, kind: PinKind) -> None:
        super().__init__(kind, f"{kind.value} PIN blocked")
        self.tries_left = 0


class LastTryRefusedError(PinError):
    """One try is left and the caller did not give explicit permission; nothing was sent."""

    def __init__(self, kind: PinKind) -> None:
        super().__init__(kind, f"{kind.value} PIN has 1 try left; explicit permission required")
        self.tries_left = 1


class NotMyNumberCardError(CardError):
    """The card has no JPKI AP or its token label is not that of a My Number Card (protocol §4.5)."""


class MalformedCardDataError(CardError):
    """Data read from the card does not have the documented structure (bounded parser refusal)."""


class PrivacyGuardError(CardError):
    """A caller asked to select EF 0001 (My Number) or VERIFY 照合番号A of the card-info AP.

    Raised before any APDU: the kiosk never touches these, whatever the caller asks (DESIGN §3).
    """


class PinNotVerifiedError(CardError):
    """The operation needs a PIN verified earlier in this session (e.g. signing after a read)."""


class ApduEncodingError(CardError):
    """A command APDU cannot be encoded: data or Le out of range for the chosen format."""


class OperationCancelledError(CardError):
    """The caller cancelled (its event was set); raised before the next APDU, never inside one."""


class TrustConfigError(CardError):
    """The ``[trust]`` configuration is missing, malformed, or names unreadable anchor files."""
