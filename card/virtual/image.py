"""The immutable file system of a virtual card ("card image"), built once per persona per process.

The card OS (:mod:`card.virtual.card`) keeps only the mutable state (selection, verified keys,
counters) and reads everything else from a :class:`CardImage`. Building involves six RSA
signatures, so images are cached: a second card for the same persona is built in microseconds.

AIDs, FIDs, EF contents, sizes and access rules follow mynacard-protocol.md §1, §1.1, §1.2, §4 and
the fidelity checklist §8; what the sources leave open is decided in docs/virtual-card.md.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from card.virtual import certificates, efs, testpki
from card.virtual.persona import (
    AUTH_PIN_TRIES,
    CARD_INFO_PIN_TRIES,
    SIGNATURE_PASSWORD_TRIES,
    Persona,
)

# §1: application identifiers.
AID_JPKI = bytes.fromhex("D392F000260100000001")
AID_CARD_INFO = bytes.fromhex("D3921000310001010408")
AID_SURFACE = bytes.fromhex("D3921000310001010402")
AID_JUKI = bytes.fromhex("D3921000310001010401")
AID_COMMON = bytes.fromhex("D3921000310001010100")
#: GlobalPlatform ISD: selecting it restores the power-on (MF-level) state (§1).
AID_GP_ISD = bytes.fromhex("A0000001510000")

# Physical EF sizes (§2.2: EFs are larger than their content and padded).
CERT_EF_SIZE = 0x800
CA_CERT_EF_SIZE = 0x76C  # the SCT dump of EF 0002 shows 00 filler up to offset 0x76B
BASIC_FOUR_MIN_EF_SIZE = 0x200
AP_BASIC_INFO_EF_SIZE = 0x100

# §3 credential formats (the card enforces them; a malformed value is a failed attempt).
FOUR_DIGITS = re.compile(rb"[0-9]{4}")
SIGNATURE_PASSWORD = re.compile(rb"[A-Z0-9]{6,16}")
TWELVE_DIGITS = re.compile(rb"[0-9]{12}")
FOURTEEN_DIGITS = re.compile(rb"[0-9]{14}")
SIX_DIGITS = re.compile(rb"[0-9]{6}")
#: EF 0005 DF42 key id: the test card shows "6000034/001", a card-independent id that is not the CVC's
#: holder (§4.3); ours follows the test hierarchy's numbering.
AP_BASIC_INFO_KEY_ID = b"9999994" + b"\x08\x05001" + b"\x00" * 4
VERIFICATION_NUMBER_TRIES = 10  # 照合番号A/B: observed full count 10 [one] (§3)


@dataclass(frozen=True)
class DataFile:
    """A transparent EF. ``read_with`` None = free; else any one verified credential FID opens it."""

    fid: int
    data: bytes = field(repr=False)
    read_with: frozenset[int] | None = None


@dataclass(frozen=True)
class CredentialFile:
    """A PIN / password / 照合番号 key EF: VERIFY target, never readable (§3)."""

    fid: int
    secret: bytes | None = field(repr=False)  # None: no value can ever match (delivered blocked)
    max_tries: int
    tries_left: int
    format: re.Pattern[bytes] = field(repr=False)


@dataclass(frozen=True)
class KeyFile:
    """A private signing key EF used by COMPUTE DIGITAL SIGNATURE (§2.3)."""

    fid: int
    key: rsa.RSAPrivateKey = field(repr=False)
    unlocked_by: int | None  # credential FID whose verified state the key needs; None = no credential


@dataclass(frozen=True)
class OpaqueFile:
    """An EF that exists (SELECT answers 9000) but whose content is not modelled or not readable."""

    fid: int
    read_sw: int = 0x6982


ElementaryFile = DataFile | CredentialFile | KeyFile | OpaqueFile


@dataclass(frozen=True)
class Application:
    """One application (DF) selected by AID, with its EFs by FID."""

    name: str
    aid: bytes
    files: Mapping[int, ElementaryFile]


@dataclass(frozen=True, repr=False)
class CardImage:
    """Everything static about one virtual card."""

    persona: Persona
    applications: Mapping[bytes, Application]
    mf_files: Mapping[int, ElementaryFile]
    auth_certificate: x509.Certificate
    sign_certificate: x509.Certificate
    card_info_public_key: rsa.RSAPublicKey
    cvc_public_key: rsa.RSAPublicKey

    def __repr__(self) -> str:
        return f"CardImage(persona={self.persona.id!r})"

    def application(self, name: str) -> Application:
        """The application called ``name`` ("jpki", "card_info", …)."""
        for app in self.applications.values():
            if app.name == name:
                return app
        raise KeyError(name)

    def file_data(self, app_name: str, fid: int) -> bytes:
        """Physical content of a data EF (test helper: what READ BINARY would return in full)."""
        ef = self.application(app_name).files[fid]
        if not isinstance(ef, DataFile):
            raise KeyError(fid)
        return ef.data


def _files(*files: ElementaryFile) -> dict[int, ElementaryFile]:
    return {f.fid: f for f in files}


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def card_key_id(persona: Persona) -> bytes:
    """被証明者鍵ID of the card's CVC: "99" + 5 digits from the persona id, 08 05 "001", 4 × 00 (§4.3)."""
    digits = int.from_bytes(hashlib.sha256(persona.id.encode()).digest()[:4], "big") % 100000
    return f"99{digits:05d}".encode() + b"\x08\x05001" + b"\x00" * 4


@functools.cache
def build_image(persona: Persona) -> CardImage:
    """Build (once per process and persona) the card image of ``persona``."""
    keys = testpki.card_keys(persona.id)
    auth_cert = certificates.auth_certificate(persona, keys.auth.public_key())
    sign_cert = certificates.sign_certificate(persona, keys.sign.public_key())
    auth_root = testpki.auth_root().certificate
    sign_root = testpki.sign_root().certificate

    # §1.1 JPKI AP.
    jpki = Application(
        name="jpki",
        aid=AID_JPKI,
        files=_files(
            DataFile(0x0001, efs.pad(_der(sign_cert), CERT_EF_SIZE, 0x00), frozenset({0x001B})),
            DataFile(0x0002, efs.pad(_der(sign_root), CA_CERT_EF_SIZE, 0x00)),
            DataFile(0x0006, efs.token_info()),
            DataFile(0x0008, efs.CERTIFICATE_AVAILABILITY),
            DataFile(0x000A, efs.pad(_der(auth_cert), CERT_EF_SIZE, 0x00)),
            DataFile(0x000B, efs.pad(_der(auth_root), CA_CERT_EF_SIZE, 0x00)),
            KeyFile(0x0017, keys.auth, unlocked_by=0x0018),
            CredentialFile(
                0x0018, persona.auth_pin.encode(), AUTH_PIN_TRIES, persona.tries_left.auth, FOUR_DIGITS
            ),
            KeyFile(0x001A, keys.sign, unlocked_by=0x001B),
            CredentialFile(
                0x001B,
                persona.signature_password.encode(),
                SIGNATURE_PASSWORD_TRIES,
                persona.tries_left.signature,
                SIGNATURE_PASSWORD,
            ),
            # FIDs that select but whose role is unknown or protected (§1.1, JSA list).
            OpaqueFile(0x0005),
            OpaqueFile(0x0009),
            OpaqueFile(0x0010),
            OpaqueFile(0x0016, read_sw=0x6981),
            OpaqueFile(0x0019),
            OpaqueFile(0x001C),
            OpaqueFile(0x001E),
        ),
    )

    # §1.2 券面事項入力補助AP; §4.1-§4.3 contents.
    my_number_file = efs.my_number_ef(persona.my_number)
    basic_four = efs.basic_four(persona.name, persona.address, f"{persona.birth_date:%Y%m%d}", persona.sex)
    key_id = card_key_id(persona)
    pin, code_a, code_b = 0x0011, 0x0014, 0x0015
    any_credential = frozenset({pin, code_a, code_b})
    extra = hashlib.sha256(f"madoguchi-test/df43/{persona.id}".encode()).digest()
    card_info = Application(
        name="card_info",
        aid=AID_CARD_INFO,
        files=_files(
            DataFile(0x0001, my_number_file, frozenset({pin, code_a})),
            DataFile(
                0x0002,
                efs.pad(basic_four, max(BASIC_FOUR_MIN_EF_SIZE, len(basic_four)), 0xFF),
                frozenset({pin, code_b}),
            ),
            DataFile(0x0003, efs.integrity_record(my_number_file, basic_four, keys.cvc), any_credential),
            DataFile(
                0x0004,
                efs.card_verifiable_certificate(
                    testpki.CVC_CA_KEY_ID, key_id, keys.cvc.public_key(), testpki.cvc_ca_key()
                ),
            ),
            DataFile(
                0x0005, efs.pad(efs.ap_basic_info(AP_BASIC_INFO_KEY_ID, extra), AP_BASIC_INFO_EF_SIZE, 0xFF)
            ),
            DataFile(0x0006, efs.sm_public_key(keys.sm.public_key()), any_credential),
            DataFile(0x0007, efs.signed_public_key(keys.card_info.public_key(), keys.cvc), any_credential),
            DataFile(0x0008, b"\xff" * 16),
            CredentialFile(
                pin,
                persona.card_info_pin.encode(),
                CARD_INFO_PIN_TRIES,
                persona.tries_left.card_info,
                FOUR_DIGITS,
            ),
            CredentialFile(0x0012, None, 3, 0, FOUR_DIGITS),  # delivered blocked on every card (§1.2)
            KeyFile(0x0013, keys.card_info, unlocked_by=None),
            CredentialFile(
                code_a,
                persona.my_number.encode(),
                VERIFICATION_NUMBER_TRIES,
                VERIFICATION_NUMBER_TRIES,
                TWELVE_DIGITS,
            ),
            CredentialFile(
                code_b,
                persona.verification_code_b.encode(),
                VERIFICATION_NUMBER_TRIES,
                VERIFICATION_NUMBER_TRIES,
                FOURTEEN_DIGITS,
            ),
        ),
    )

    # §1.3 券面事項確認AP: selectable, credentials modelled, image contents are not (placeholders).
    placeholder = b"\xff" * 16
    surface = Application(
        name="surface",
        aid=AID_SURFACE,
        files=_files(
            DataFile(0x0001, placeholder, frozenset({0x0011})),
            DataFile(0x0002, placeholder, frozenset({0x0012, 0x0013})),
            DataFile(0x0003, efs.pad(efs.tlv(b"\xff\x30", efs.tlv(b"\xdf\x31", b"\x04")), 16, 0xFF)),
            DataFile(0x0005, placeholder, frozenset({0x0013})),
            CredentialFile(0x0011, persona.birth_key.encode(), 3, 3, SIX_DIGITS),
            CredentialFile(
                0x0012,
                persona.verification_code_b.encode(),
                VERIFICATION_NUMBER_TRIES,
                VERIFICATION_NUMBER_TRIES,
                FOURTEEN_DIGITS,
            ),
            CredentialFile(
                0x0013,
                persona.my_number.encode(),
                VERIFICATION_NUMBER_TRIES,
                VERIFICATION_NUMBER_TRIES,
                TWELVE_DIGITS,
            ),
        ),
    )

    # §1.4 共通カードAP / 住基AP: only their PIN EF 001C is modelled (same value as the card-info PIN).
    def pin_only(name: str, aid: bytes) -> Application:
        return Application(
            name=name,
            aid=aid,
            files=_files(CredentialFile(0x001C, persona.card_info_pin.encode(), 3, 3, FOUR_DIGITS)),
        )

    applications = {
        app.aid: app
        for app in (jpki, card_info, surface, pin_only("common", AID_COMMON), pin_only("juki", AID_JUKI))
    }
    return CardImage(
        persona=persona,
        applications=applications,
        # §1: nothing readable under the MF; 001E selects but reads 6981.
        mf_files=_files(OpaqueFile(0x001E, read_sw=0x6981)),
        auth_certificate=auth_cert,
        sign_certificate=sign_cert,
        card_info_public_key=keys.card_info.public_key(),
        cvc_public_key=keys.cvc.public_key(),
    )
