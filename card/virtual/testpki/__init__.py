"""The project's own TEST J-LIS hierarchy (O=JPKI-TEST): never trusted by a production profile.

Made once by ``scripts/make-test-pki.py`` and committed here, so no RSA key is generated at test
time (mynacard-protocol.md §4.3, §4.4 describe the real hierarchy this imitates):

- ``jpki-auth-root``: self-signed root of user-authentication certificates (EF 000A → EF 000B);
- ``jpki-sign-root``: self-signed root of signature certificates (EF 0001 → EF 0002);
- ``cvc-ca-9999993``: the CVC CA key, 証明者鍵ID ``"9999993" 08 05 "001" 00 00 00 00``, that signs each
  card's card-verifiable certificate (EF 0004 of the 券面事項入力補助AP);
- ``keys/<persona>.TEST-ONLY.pem``: per-card keys (JPKI auth 0017, JPKI sign 001A, card-info AP key
  0013, the card's CVC key, the card-info AP's SM key-delivery key of EF 0006);
  ``keys/spare-NN.TEST-ONLY.pem`` serve persona files that have no keys of their own.

The public anchors are copied to ``config/trust/test/``. Every private key here is test-only and
public: anything signed by it proves nothing.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from card.virtual.errors import TestPkiError

HERE = Path(__file__).resolve().parent
KEYS_DIR = HERE / "keys"

#: 16-byte key id of the test CVC CA: 7 ASCII digits, 08 05, 3 ASCII digits, 4 padding bytes (§4.3).
CVC_CA_KEY_ID = b"9999993" + b"\x08\x05" + b"001" + b"\x00" * 4
#: Roles of the per-card keys, in the order they appear in a key file.
CARD_KEY_ROLES = ("auth", "sign", "card_info", "cvc", "sm")
#: Number of spare key sets for persona files without keys of their own.
SPARE_KEY_SETS = 4

_ORG = "JPKI-TEST"
_HIERARCHY_OU = "Madoguchi test hierarchy - TEST ONLY, never trust"


def auth_root_name() -> x509.Name:
    """Issuer DN of test user-authentication certificates (shape of §4.4, O=JPKI-TEST)."""
    return _ca_name("JPKI-TEST for user authentication")


def sign_root_name() -> x509.Name:
    """Issuer DN of test signature certificates (shape of §4.4, O=JPKI-TEST)."""
    return _ca_name("JPKI-TEST for digital signature")


def _ca_name(purpose: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORG),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, purpose),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _HIERARCHY_OU),
        ]
    )


@dataclass(frozen=True)
class CertificateAuthority:
    """A test root: its self-signed certificate and its (public, test-only) private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class CardKeys:
    """The private keys of one virtual card."""

    auth: rsa.RSAPrivateKey
    sign: rsa.RSAPrivateKey
    card_info: rsa.RSAPrivateKey
    cvc: rsa.RSAPrivateKey
    sm: rsa.RSAPrivateKey


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise TestPkiError(f"test PKI file {path.name} is missing: run scripts/make-test-pki.py") from None


def _load_key(pem: bytes) -> rsa.RSAPrivateKey:
    # The keys were made by our own script: skip the (slow) RSA consistency check on every load.
    key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TestPkiError("test PKI key is not an RSA key")
    return key


@functools.cache
def _ca(stem: str) -> CertificateAuthority:
    certificate = x509.load_pem_x509_certificate(_read(HERE / f"{stem}.pem"))
    key = _load_key(_read(HERE / f"{stem}.TEST-ONLY.key.pem"))
    return CertificateAuthority(certificate=certificate, key=key)


def auth_root() -> CertificateAuthority:
    """The test JPKI user-authentication root (anchor: ``config/trust/test/jpki-auth-root.pem``)."""
    return _ca("jpki-auth-root")


def sign_root() -> CertificateAuthority:
    """The test JPKI digital-signature root (anchor: ``config/trust/test/jpki-sign-root.pem``)."""
    return _ca("jpki-sign-root")


@functools.cache
def cvc_ca_key() -> rsa.RSAPrivateKey:
    """The test CVC CA private key (key id :data:`CVC_CA_KEY_ID`)."""
    return _load_key(_read(HERE / "cvc-ca-9999993.TEST-ONLY.key.pem"))


_KEY_BLOCK = re.compile(
    rb"role: (\w+)\s*\n(-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----)", re.DOTALL
)


def key_file(persona_id: str) -> Path:
    """Path of the key file a persona's card uses (its own, else a spare chosen by its id)."""
    own = KEYS_DIR / f"{persona_id}.TEST-ONLY.pem"
    if own.is_file():
        return own
    slot = int.from_bytes(hashlib.sha256(persona_id.encode()).digest()[:4], "big") % SPARE_KEY_SETS
    return KEYS_DIR / f"spare-{slot:02d}.TEST-ONLY.pem"


@functools.cache
def card_keys(persona_id: str) -> CardKeys:
    """The private keys of the card built for ``persona_id`` (cached per process)."""
    blocks = {role.decode(): pem for role, pem in _KEY_BLOCK.findall(_read(key_file(persona_id)))}
    missing = [role for role in CARD_KEY_ROLES if role not in blocks]
    if missing:
        raise TestPkiError(f"key file for {persona_id!r} lacks roles {missing}")
    return CardKeys(**{role: _load_key(blocks[role]) for role in CARD_KEY_ROLES})
