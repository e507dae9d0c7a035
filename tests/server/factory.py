"""Card-signed, sealed test records made exactly as a kiosk and a card would make them.

The card part signs with the persona's JPKI auth private key from the project's test J-LIS
hierarchy (PKCS#1 v1.5 over SHA-256 of the canonical record, ``kiosk.rules.record``); the kiosk part
seals with :func:`sync.sealing.seal` and a device key. Certificates come from
``card.virtual.certificates`` (the virtual card's own EF 000A) or, for variety and for the
forged-root cases, from :func:`issue_certificate`.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from card.virtual import testpki
from card.virtual.certificates import auth_certificate
from card.virtual.persona import Persona, load_persona
from kiosk.rules.record import (
    Consent,
    KioskStamp,
    Resident,
    SignedRegistration,
    Verification,
    build_record,
)
from sync.sealing import seal
from sync.wire import Envelope

ALL_VERIFIED = Verification(chain=True, signature=True, integrity=True, genuine_card=True)
TERMS = {"point": "t-point-1", "disaster": "t-disaster-1"}


@functools.cache
def persona(name: str) -> Persona:
    return load_persona(name)


@functools.cache
def card_key(name: str) -> rsa.RSAPrivateKey:
    return testpki.card_keys(persona(name).id).auth


@functools.cache
def persona_certificate(name: str) -> bytes:
    """The persona's own auth certificate (as the virtual card's EF 000A holds it), DER."""
    return auth_certificate(persona(name), card_key(name).public_key()).public_bytes(Encoding.DER)


@functools.cache
def foreign_root(same_name: bool) -> testpki.CertificateAuthority:
    """A CA the server does not trust: with the test root's DN (forged) or another DN (unknown)."""
    key = testpki.card_keys("spare-root").sign  # any test RSA key that is not the auth root's
    name = (
        testpki.auth_root_name()
        if same_name
        else x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Not JPKI")])
    )
    now = datetime(2020, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365 * 30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return testpki.CertificateAuthority(certificate=cert, key=key)


def issue_certificate(
    public_key: rsa.RSAPublicKey,
    serial: int,
    *,
    not_before: datetime = datetime(2025, 4, 1, tzinfo=UTC),
    not_after: datetime = datetime(2030, 3, 31, tzinfo=UTC),
    ca: testpki.CertificateAuthority | None = None,
    digital_signature: bool = True,
) -> bytes:
    """A JPKI-shaped auth certificate for ``public_key``, by the test auth root unless ``ca``."""
    authority = ca or testpki.auth_root()
    usage = x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=not digital_signature,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .add_extension(usage, critical=True)
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST{serial:019d}")]))
        .issuer_name(authority.certificate.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(authority.key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


@dataclass
class RecordSpec:
    """What to put in one record; defaults make a valid demo registration for ``persona_name``."""

    persona_name: str = "miyagi-sendai"
    program_id: str = "demo"
    services: tuple[str, ...] = ("disaster", "point")
    clock: datetime | None = None
    name: str | None = None
    address: str | None = None
    birth_date: date | None = None
    certificate: bytes | None = None
    key: rsa.RSAPrivateKey | None = None
    verification: Verification = ALL_VERIFIED
    record_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class Kiosk:
    """A simulated kiosk: its id, device key, the server key it pinned and its outbox sequence."""

    server_public_key: X25519PublicKey
    kiosk_id: str = "kiosk-test-1"
    device_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    seq: int = 0
    record_seq: int = 0

    def public_key_raw(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import PublicFormat

        return self.device_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign_record(self, spec: RecordSpec) -> SignedRegistration:
        """Build the record and sign it with the card's auth key, exactly as the card would."""
        who = persona(spec.persona_name)
        clock = spec.clock or datetime.now(UTC)
        self.record_seq += 1
        record = build_record(
            record_id=spec.record_id,
            program_id=spec.program_id,
            consents=[Consent(s, TERMS[s], clock) for s in spec.services],
            resident=Resident(
                name=spec.name or who.name,
                address=spec.address or who.address,
                birth_date=spec.birth_date or who.birth_date,
                sex=who.sex,
            ),
            auth_certificate=spec.certificate or persona_certificate(spec.persona_name),
            kiosk=KioskStamp(self.kiosk_id, clock, self.record_seq),
            verification=spec.verification,
        )
        key = spec.key or card_key(spec.persona_name)
        signature = key.sign(record.canonical(), padding.PKCS1v15(), hashes.SHA256())
        return SignedRegistration(record=record, card_signature=signature)

    def seal(
        self,
        signed: SignedRegistration,
        *,
        seq: int | None = None,
        plaintext: bytes | None = None,
        kiosk_id: str | None = None,
    ) -> Envelope:
        """Seal to the server as the outbox does (next sequence number unless ``seq``)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        record = signed.record
        return seal(
            plaintext if plaintext is not None else signed.to_plaintext(),
            record_id=record.record_id,
            kiosk_id=kiosk_id or self.kiosk_id,
            seq=seq,
            program_id=record.program_id,
            server_public_key=self.server_public_key,
            device_key=self.device_key,
            created_at=record.kiosk.clock,
        )

    def make(self, spec: RecordSpec | None = None, **changes: object) -> Envelope:
        """Sign and seal one record."""
        base = spec or RecordSpec()
        return self.seal(self.sign_record(replace(base, **changes) if changes else base))


PROGRAM_TEMPLATE = """\
id = "{id}"
support_phone = "0120-000-000"
one_grant_per_person = {one_grant}
[name]
ja = "テスト"
en = "Test"
[issuer]
ja = "テスト県"
en = "Test prefecture"
{period}
[residency]
{residency}
[age]
{age}
[award]
{award}
{exclusions}
[[services]]
service = "point"
required = true
terms_version = "t-point-1"
name = {{ ja = "ポイント", en = "Point" }}
terms = {{ ja = "規約", en = "Terms" }}
[[services]]
service = "disaster"
required = {disaster_required}
terms_version = "t-disaster-1"
name = {{ ja = "防災", en = "Disaster" }}
terms = {{ ja = "規約", en = "Terms" }}
"""


def write_program(
    directory: Path,
    program_id: str,
    *,
    award: str = 'kind = "all_eligible"\npoints = 3000',
    residency: str = "",
    age: str = "",
    period: str = "",
    exclusions: str = "",
    one_grant: bool = True,
    disaster_required: bool = True,
) -> None:
    """Write one programme TOML accepted by ``kiosk.rules.programs``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{program_id}.toml").write_text(
        PROGRAM_TEMPLATE.format(
            id=program_id,
            one_grant=str(one_grant).lower(),
            period=period,
            residency=residency,
            age=age,
            award=award,
            exclusions=exclusions,
            disaster_required=str(disaster_required).lower(),
        ),
        encoding="utf-8",
    )


def device_public_key(seed: int) -> bytes:
    """A valid (prime-order) raw Ed25519 public key, the same for the same seed."""
    from cryptography.hazmat.primitives.serialization import PublicFormat

    private = Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "little"))
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
