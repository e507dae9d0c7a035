"""Small X.509/CVC builders for unit tests (synthetic keys generated at test time, never real data)."""

from __future__ import annotations

import datetime as dt
from functools import cache

from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from card import tlv

UTC = dt.UTC


@cache
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    """One RSA-2048 key per label, cached for the test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(
    subject_cn: str,
    key: rsa.RSAPrivateKey,
    issuer_cn: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    serial: int = 0x1234,
    ca: bool = False,
    san: list[x509.GeneralName] | None = None,
    key_usage: x509.KeyUsage | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UNIT-TEST"),
        ]
    )
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UNIT-TEST"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def other_name(arc: int, text: str) -> x509.OtherName:
    return x509.OtherName(
        x509.ObjectIdentifier(f"1.2.392.200149.8.5.5.{arc}"), asn1_core.UTF8String(text).dump()
    )


def rsa_tlvs(key: rsa.RSAPublicKey) -> bytes:
    numbers = key.public_numbers()
    return tlv.encode(0x90, numbers.e.to_bytes(3, "big")) + tlv.encode(0x91, numbers.n.to_bytes(256, "big"))


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def make_cvc(
    issuer_id: bytes, subject_id: bytes, subject_key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey
) -> bytes:
    body = issuer_id + subject_id + rsa_tlvs(subject_key.public_key())
    return tlv.encode(0x7F21, tlv.encode(0x5F4E, body) + tlv.encode(0x5F37, sign(ca_key, body)))
