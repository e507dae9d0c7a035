"""X.509 parsing of JPKI certificates through ``cryptography`` and ``asn1crypto`` (protocol §4.4).

Pure functions; every failure is :class:`card.errors.MalformedCardDataError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding

from card.errors import MalformedCardDataError
from card.parsers import der_object

#: Arc of the sign certificate's subjectAltName otherName attributes (protocol §4.4, MYNA-GO/FAB).
JPKI_SAN_ARC = "1.2.392.200149.8.5.5"
OID_SAN_NAME = f"{JPKI_SAN_ARC}.1"
OID_SAN_NAME_SUBSTITUTE = f"{JPKI_SAN_ARC}.2"
OID_SAN_SEX = f"{JPKI_SAN_ARC}.3"
OID_SAN_BIRTH_DATE = f"{JPKI_SAN_ARC}.4"
OID_SAN_ADDRESS = f"{JPKI_SAN_ARC}.5"
OID_SAN_ADDRESS_SUBSTITUTE = f"{JPKI_SAN_ARC}.6"


@dataclass(frozen=True, slots=True)
class AuthCertificate:
    """The JPKI user-authentication certificate (EF 000A). Its subject has no personal data (§4.4)."""

    der: bytes = field(repr=False)
    #: Identifies the holder's certificate for years (the local index keeps only an HMAC of it).
    serial_number: int = field(repr=False)
    not_before: dt.datetime
    not_after: dt.datetime
    issuer: str
    subject: str = field(repr=False)
    #: The parsed certificate, kept so that the checks after the PIN do not parse the DER again.
    certificate: x509.Certificate = field(repr=False, compare=False)

    @property
    def serial_hex(self) -> str:
        """Serial number as lower-case hex without leading zeros (at least one digit)."""
        return format(self.serial_number, "x")


def load_certificate(data: bytes) -> x509.Certificate:
    """Load the DER certificate at the start of ``data`` (trailing EF filler ignored)."""
    der = der_object(data)
    try:
        cert = x509.load_der_x509_certificate(der)
        # Touch the fields we rely on: cryptography parses some lazily.
        _ = (cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc, cert.issuer)
        _ = cert.subject
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedCardDataError(f"certificate does not parse: {type(exc).__name__}") from None
    return cert


def parse_auth_certificate(data: bytes) -> AuthCertificate:
    """Parse EF 000A (padded DER) into an :class:`AuthCertificate`; the key must be RSA."""
    cert = load_certificate(data)
    try:
        key = cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise MalformedCardDataError("certificate public key does not parse") from None
    if not isinstance(key, RSAPublicKey):
        raise MalformedCardDataError("JPKI certificates carry RSA keys")
    try:
        issuer, subject = cert.issuer.rfc4514_string(), cert.subject.rfc4514_string()
    except ValueError:
        raise MalformedCardDataError("certificate names do not parse") from None
    return AuthCertificate(
        der=cert.public_bytes(Encoding.DER),
        serial_number=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer=issuer,
        subject=subject,
        certificate=cert,
    )


@dataclass(frozen=True, slots=True)
class SignCertificateAttributes:
    """The basic four as carried by the sign certificate's subjectAltName (protocol §4.4)."""

    name: str = field(repr=False)
    name_substitute: str = field(repr=False)
    sex: str = field(repr=False)
    birth_date: str = field(repr=False)
    address: str = field(repr=False)
    address_substitute: str = field(repr=False)


def _decode_other_name_value(value: bytes) -> str:
    # UTF8String normally; FAB also accepts OCTET STRING (protocol §4.4).
    try:
        obj = asn1_core.load(value, strict=True)
        if isinstance(obj, asn1_core.UTF8String | asn1_core.PrintableString | asn1_core.IA5String):
            text = obj.native
        elif isinstance(obj, asn1_core.OctetString):
            text = obj.native.decode("utf-8")
        else:
            raise MalformedCardDataError("subjectAltName attribute has an unexpected ASN.1 type")
    except (ValueError, TypeError, UnicodeDecodeError):
        raise MalformedCardDataError("subjectAltName attribute does not parse") from None
    if not isinstance(text, str):
        raise MalformedCardDataError("subjectAltName attribute is not text")
    return text


def parse_sign_certificate_attributes(data: bytes) -> SignCertificateAttributes:
    """Extract the six otherName attributes 1.2.392.200149.8.5.5.1-6 of a sign certificate."""
    cert = load_certificate(data)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        other_names = san.get_values_for_type(x509.OtherName)
    except x509.ExtensionNotFound:
        raise MalformedCardDataError("sign certificate has no subjectAltName") from None
    except (ValueError, UnsupportedAlgorithm):
        raise MalformedCardDataError("sign certificate extensions do not parse") from None
    values: dict[str, str] = {}
    for other in other_names:
        oid = other.type_id.dotted_string
        if oid.startswith(JPKI_SAN_ARC + "."):
            if oid in values:
                raise MalformedCardDataError("duplicate subjectAltName attribute")
            values[oid] = _decode_other_name_value(other.value)
    # The four attributes are required; the substitute-character positions may be absent.
    required = (OID_SAN_NAME, OID_SAN_SEX, OID_SAN_BIRTH_DATE, OID_SAN_ADDRESS)
    missing = [oid for oid in required if oid not in values]
    if missing:
        raise MalformedCardDataError(f"sign certificate lacks {len(missing)} subjectAltName attributes")
    return SignCertificateAttributes(
        name=values[OID_SAN_NAME],
        name_substitute=values.get(OID_SAN_NAME_SUBSTITUTE, ""),
        sex=values[OID_SAN_SEX],
        birth_date=values[OID_SAN_BIRTH_DATE],
        address=values[OID_SAN_ADDRESS],
        address_substitute=values.get(OID_SAN_ADDRESS_SUBSTITUTE, ""),
    )
