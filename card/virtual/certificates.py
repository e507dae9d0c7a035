"""X.509 certificates of a virtual card, issued by the test J-LIS hierarchy (mynacard-protocol.md §4.4).

- user-authentication certificate (EF 000A): subject ``CN=<opaque id>, C=JP`` and nothing personal;
- signature certificate (EF 0001): the basic four in subjectAltName otherName entries under
  ``1.2.392.200149.8.5.5.1``-``.6`` as UTF8String (name, name substitute positions, sex, birth date,
  address, address substitute positions — the MYNA-GO/FAB order).

Everything is derived deterministically from the persona (serials and CN from a hash of its id,
validity from its ``[certificate]`` table): the same persona gives byte-identical certificates in
every process, because RSA PKCS#1 v1.5 signatures are deterministic.
"""

from __future__ import annotations

import base64
import hashlib

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

from card.virtual import testpki
from card.virtual.persona import Persona, japanese_era

#: otherName OIDs of the signature certificate's subjectAltName (§4.4).
SAN_NAME = ObjectIdentifier("1.2.392.200149.8.5.5.1")
SAN_NAME_SUBSTITUTES = ObjectIdentifier("1.2.392.200149.8.5.5.2")
SAN_SEX = ObjectIdentifier("1.2.392.200149.8.5.5.3")
SAN_BIRTH_DATE = ObjectIdentifier("1.2.392.200149.8.5.5.4")
SAN_ADDRESS = ObjectIdentifier("1.2.392.200149.8.5.5.5")
SAN_ADDRESS_SUBSTITUTES = ObjectIdentifier("1.2.392.200149.8.5.5.6")


def _digest(persona: Persona, purpose: str) -> bytes:
    return hashlib.sha256(f"madoguchi-test/{purpose}/{persona.id}".encode()).digest()


def opaque_id(persona: Persona) -> str:
    """A serial-like CN without personal data, shaped like the test card's (§4.4), 23 characters."""
    return base64.b32encode(_digest(persona, "cn")).decode()[:23]


def _serial(persona: Persona, purpose: str) -> int:
    return int.from_bytes(_digest(persona, purpose)[:8], "big") | 1 << 62


def _key_usage(*, digital_signature: bool, content_commitment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    persona: Persona,
    purpose: str,
    subject: x509.Name,
    key: rsa.RSAPublicKey,
    ca: testpki.CertificateAuthority,
) -> x509.CertificateBuilder:
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key)
        .serial_number(_serial(persona, purpose))
        .not_valid_before(persona.not_before)
        .not_valid_after(persona.not_after)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
    )


def auth_certificate(persona: Persona, key: rsa.RSAPublicKey) -> x509.Certificate:
    """The user-authentication certificate (EF 000A), issued by the test auth root."""
    ca = testpki.auth_root()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.COMMON_NAME, opaque_id(persona)),
        ]
    )
    return (
        _builder(persona, "auth", subject, key, ca)
        .add_extension(_key_usage(digital_signature=True, content_commitment=False), critical=True)
        .sign(ca.key, hashes.SHA256())
    )


def _utf8(value: str) -> bytes:
    return bytes(core.UTF8String(value).dump())


def sign_certificate(persona: Persona, key: rsa.RSAPublicKey) -> x509.Certificate:
    """The signature certificate (EF 0001), issued by the test sign root, basic four in the SAN."""
    ca = testpki.sign_root()
    era, _ = japanese_era(persona.birth_date)
    birth = f"{era}{persona.birth_date:%Y%m%d}"  # §4.4 [one]: era digit + YYYYMMDD
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.COMMON_NAME, opaque_id(persona) + "S"),
        ]
    )
    san = x509.SubjectAlternativeName(
        [
            x509.OtherName(SAN_NAME, _utf8(persona.name)),
            x509.OtherName(SAN_NAME_SUBSTITUTES, _utf8("")),
            x509.OtherName(SAN_SEX, _utf8(persona.sex)),
            x509.OtherName(SAN_BIRTH_DATE, _utf8(birth)),
            x509.OtherName(SAN_ADDRESS, _utf8(persona.address)),
            x509.OtherName(SAN_ADDRESS_SUBSTITUTES, _utf8("")),
        ]
    )
    return (
        _builder(persona, "sign", subject, key, ca)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(san, critical=False)
        .sign(ca.key, hashes.SHA256())
    )
