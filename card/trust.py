"""Trust anchors and the four checks that make a card read trustworthy (DESIGN §2.5, protocol §4.3-§5).

- :class:`TrustStore` holds the JPKI user-authentication roots and the J-LIS CVC CA keys, loaded
  from the ``[trust]`` section of a kiosk TOML file (paths relative to that file).
- Pure verification functions return a :class:`TrustStatus` (verified / invalid / unknown_ca /
  expired), never raise for a bad signature: a forged card is a *result*, not an error.

No revocation check happens here: OCSP/CRL is reserved to registered verifiers (protocol §5); the
server side handles it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, unique
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from card.errors import MalformedCardDataError, TrustConfigError
from card.parsers import ApPublicKey, BasicFour, Cvc, IntegrityRecord, RsaPublicKey


@unique
class TrustStatus(Enum):
    """Outcome of one check."""

    VERIFIED = "verified"
    INVALID = "invalid"
    UNKNOWN_CA = "unknown_ca"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TrustStore:
    """JPKI auth roots (all generations share one DN: pick by signature) and CVC CA keys by 16-byte id."""

    jpki_auth_roots: tuple[x509.Certificate, ...] = ()
    cvc_ca_keys: Mapping[bytes, rsa.RSAPublicKey] = field(default_factory=dict)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrustConfigError(f"cannot read trust anchor {path}: {exc.strerror}") from None


def load_certificate_file(path: Path) -> x509.Certificate:
    """A PEM or DER X.509 certificate."""
    raw = _read(path)
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except (ValueError, UnsupportedAlgorithm):
        raise TrustConfigError(f"{path} is not a PEM or DER X.509 certificate") from None


def load_rsa_public_key_file(path: Path) -> rsa.RSAPublicKey:
    """A PEM RSA public key (SubjectPublicKeyInfo or PKCS#1)."""
    raw = _read(path)
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, UnsupportedAlgorithm):
        raise TrustConfigError(f"{path} is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise TrustConfigError(f"{path} is not an RSA public key")
    return key


def trust_store_from_mapping(trust: Mapping[str, Any], base: Path) -> TrustStore:
    """Build a store from a parsed ``[trust]`` table; relative paths are resolved against ``base``."""
    roots_raw = trust.get("jpki_auth_roots", [])
    if not isinstance(roots_raw, list) or not all(isinstance(p, str) for p in roots_raw):
        raise TrustConfigError("trust.jpki_auth_roots must be a list of file names")
    roots = tuple(load_certificate_file(base / p) for p in roots_raw)
    cas_raw = trust.get("cvc_ca", [])
    if not isinstance(cas_raw, list):
        raise TrustConfigError("trust.cvc_ca must be an array of tables")
    keys: dict[bytes, rsa.RSAPublicKey] = {}
    for entry in cas_raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("key_id"), str):
            raise TrustConfigError("each [[trust.cvc_ca]] needs key_id and public_key")
        if not isinstance(entry.get("public_key"), str):
            raise TrustConfigError("each [[trust.cvc_ca]] needs key_id and public_key")
        try:
            key_id = bytes.fromhex(entry["key_id"])
        except ValueError:
            raise TrustConfigError("trust.cvc_ca key_id is not hex") from None
        if len(key_id) != 16:
            raise TrustConfigError("trust.cvc_ca key_id must be 32 hex digits (16 bytes)")
        keys[key_id] = load_rsa_public_key_file(base / entry["public_key"])
    return TrustStore(roots, keys)


def load_trust_store(config_path: Path) -> TrustStore:
    """Load the ``[trust]`` section of a kiosk TOML file."""
    try:
        with config_path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise TrustConfigError(f"cannot read configuration {config_path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError:
        raise TrustConfigError(f"configuration {config_path} is not valid TOML") from None
    trust = data.get("trust")
    if not isinstance(trust, dict):
        raise TrustConfigError(f"configuration {config_path} has no [trust] section")
    return trust_store_from_mapping(trust, config_path.resolve().parent)


# --- checks ------------------------------------------------------------------------------------


def rsa_key(key: RsaPublicKey) -> rsa.RSAPublicKey:
    """A ``cryptography`` key from the card's (e, n) encoding."""
    try:
        return rsa.RSAPublicNumbers(key.exponent, key.modulus).public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise MalformedCardDataError("RSA key on the card is not usable") from None


def _verify_pkcs1(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def may_sign(certificate: x509.Certificate) -> bool:
    """Key usage allows digitalSignature (protocol §5: chain, validity, key usage); absent = allowed."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False
    return bool(usage.digital_signature)


def verify_auth_chain(certificate: x509.Certificate, store: TrustStore, now: dt.datetime) -> TrustStatus:
    """Auth certificate → configured JPKI root, by signature (generations share a DN, protocol §4.4).

    UNKNOWN_CA when no root's name matches; INVALID when a root's name matches but no signature
    does, or the key usage forbids digitalSignature; EXPIRED when it chains but ``now`` is outside
    the certificate's or root's validity.
    """
    name_matched = False
    for root in store.jpki_auth_roots:
        if root.subject != certificate.issuer:
            continue
        name_matched = True
        try:
            certificate.verify_directly_issued_by(root)
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            continue
        if not may_sign(certificate):
            return TrustStatus.INVALID
        for cert in (certificate, root):
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                return TrustStatus.EXPIRED
        return TrustStatus.VERIFIED
    return TrustStatus.INVALID if name_matched else TrustStatus.UNKNOWN_CA


def card_signature_valid(certificate: x509.Certificate, message: bytes, signature: bytes) -> bool:
    """The card's PKCS#1 v1.5 SHA-256 signature of ``message`` verifies with the certificate's key."""
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return False
    return isinstance(key, rsa.RSAPublicKey) and _verify_pkcs1(key, signature, message)


def verify_cvc(cvc: Cvc, store: TrustStore) -> TrustStatus:
    """The CVC (EF 0004) is signed by a configured J-LIS CVC CA key named by its issuer key id."""
    ca = store.cvc_ca_keys.get(cvc.issuer_key_id)
    if ca is None:
        return TrustStatus.UNKNOWN_CA
    return TrustStatus.VERIFIED if _verify_pkcs1(ca, cvc.signature, cvc.body) else TrustStatus.INVALID


def verify_integrity(
    record: IntegrityRecord, cvc: Cvc, basic_four: BasicFour, store: TrustStore
) -> TrustStatus:
    """EF 0003: CVC chain, DF33 over the DF31+DF32 TLVs with the CVC key, DF32 = SHA-256(DF22..end)."""
    status = verify_cvc(cvc, store)
    if status is not TrustStatus.VERIFIED:
        return status
    try:
        key = rsa_key(cvc.public_key)
    except MalformedCardDataError:
        return TrustStatus.INVALID
    if not _verify_pkcs1(key, record.signature, record.signed_data):
        return TrustStatus.INVALID
    return TrustStatus.VERIFIED if record.basic_four_digest == basic_four.digest else TrustStatus.INVALID


def verify_genuine_card(
    cvc: Cvc, ap_key: ApPublicKey, challenge: bytes, signature: bytes, store: TrustStore
) -> TrustStatus:
    """Card genuineness (protocol §5): CVC chain, EF 0007 signed by the CVC key (over the DF51 TLV as
    written), and the ``80 2A 00 00`` signature of our fresh challenge verifying with the EF 0007 key."""
    status = verify_cvc(cvc, store)
    if status is not TrustStatus.VERIFIED:
        return status
    try:
        cvc_key, card_key = rsa_key(cvc.public_key), rsa_key(ap_key.public_key)
    except MalformedCardDataError:
        return TrustStatus.INVALID
    if not _verify_pkcs1(cvc_key, ap_key.signature, ap_key.signed_tlv):
        return TrustStatus.INVALID
    return TrustStatus.VERIFIED if _verify_pkcs1(card_key, signature, challenge) else TrustStatus.INVALID
