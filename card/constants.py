"""Protocol constants of the My Number Card, each with the section of mynacard-protocol.md it comes from.

Constants are module level and grouped by kind (``AID``, ``INS_*``, ``FID_*``, ``SFI_*``), as in
yubikit. Nothing here does I/O.
"""

from __future__ import annotations

from enum import Enum, unique


@unique
class AID(bytes, Enum):
    """Application identifiers, selected by DF name (protocol §1)."""

    JPKI = bytes.fromhex("D392F000260100000001")
    #: 券面事項入力補助AP (card-info input support AP), the one holding the basic four.
    CARD_INFO = bytes.fromhex("D3921000310001010408")


@unique
class PinKind(Enum):
    """The credentials the kiosk knows about (protocol §3)."""

    #: JPKI 利用者証明用暗証番号, EF 0018 of the JPKI AP: 4 digits, 3 tries.
    AUTH = "auth"
    #: 券面事項入力補助用暗証番号, EF 0011 of the card-info AP: 4 digits, 3 tries.
    CARD_INFO = "card_info"
    #: JPKI 署名用パスワード, EF 001B: 6-16 of A-Z 0-9, 5 tries (only its counter is ever queried).
    SIGNATURE = "signature"


# Instructions (protocol §2.1).
CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_VERIFY = 0x20
INS_COMPUTE_SIGNATURE = 0x2A
INS_GET_RESPONSE = 0xC0

# SELECT parameters (protocol §1): by DF name / EF under current DF, P2=0C "no FCI".
P1_SELECT_DF_NAME = 0x04
P1_SELECT_EF = 0x02
P2_SELECT_NO_FCI = 0x0C

#: VERIFY / COMPUTE SIGNATURE P2: 0x80 = key of the current EF; 0x80|SFI names the key EF (§2.1, §2.3).
P2_CURRENT_KEY = 0x80

# JPKI AP EFs (protocol §1.1).
FID_JPKI_TOKEN = 0x0006
FID_JPKI_AUTH_CERT = 0x000A
FID_JPKI_AUTH_CA_CERT = 0x000B
FID_JPKI_AUTH_KEY = 0x0017
FID_JPKI_AUTH_PIN = 0x0018
FID_JPKI_SIGN_PIN = 0x001B

# Card-info AP EFs (protocol §1.2).
FID_CI_MY_NUMBER = 0x0001  # NEVER selected or read: the kiosk does not collect the My Number.
FID_CI_BASIC_FOUR = 0x0002
FID_CI_INTEGRITY = 0x0003
FID_CI_CVC = 0x0004
FID_CI_AP_KEY = 0x0007
FID_CI_PIN = 0x0011
FID_CI_VERIFICATION_A = 0x0014  # 照合番号A = the My Number: NEVER VERIFYed.

#: Highest FID addressable by a short file identifier (protocol §2.1: FIDs 0001-001E).
MAX_SFI = 0x1E

#: Token label of a My Number Card (protocol §1.1); other labels are other JPKI tokens.
TOKEN_LABEL_MYNUMBER_CARD = "JPKIAPICCTOKEN2"  # noqa: S105 (a label, not a secret)
TOKEN_LABEL_LENGTH = 32

#: Maximum tries of each credential (protocol §3).
MAX_TRIES: dict[PinKind, int] = {PinKind.AUTH: 3, PinKind.CARD_INFO: 3, PinKind.SIGNATURE: 5}

#: SHA-256 DigestInfo prefix (protocol §2.3).
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300D060960864801650304020105000420")

# COMPUTE DIGITAL SIGNATURE P1 (protocol §2.3): 00 = PKCS#1 v1.5 over the data as supplied.
P1_SIGN_PKCS1_AS_SUPPLIED = 0x00
#: P2 of the card-info AP's own-key signature (``80 2A 00 00``, protocol §2.3 last bullet).
P2_CARD_INFO_OWN_KEY = 0x00
