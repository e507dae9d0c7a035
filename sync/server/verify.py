"""Per-record verification: everything about one sealed record that needs no database.

Order, cheapest and least trusting first (each step's failure is a wire ``rejected`` reason):

1. strict envelope header (``bad_header``), its kiosk id equals the uploading device
   (``kiosk_mismatch``), the Ed25519 device signature (``bad_signature``) — until here nothing is
   stored, because nothing proves the enrolled device sent it;
2. HPKE open with the server key and the header bound into ``info`` (``bad_ciphertext``);
3. strict parse of the card-signed registration, which must be canonical (``invalid_record``), and
   agree with the envelope on record id, kiosk and programme (``record_mismatch``);
4. the auth certificate chains to a configured JPKI root (cached by fingerprint; ``certificate_*``),
   is valid at the registration time (``certificate_expired`` / ``certificate_not_yet_valid``);
5. the card signature over the canonical record bytes with that certificate (``card_signature``);
6. the kiosk's own verification results are all present and true (``kiosk_verification``);
   the registration time and the sealing time are not after the receive time by more than
   :data:`MAX_CLOCK_SKEW` (``clock_ahead``);
7. revocation via the pluggable checker (``certificate_revoked``; "not checked" is a flag);
8. the programme exists (``unknown_program``) and its offline rules hold at the kiosk's registration
   time (residency, age, period, required services: the eligibility reason code).

Flags (kept with accepted records, never a rejection): ``revocation_not_checked``,
``revocation_unknown``, ``clock_skew`` (kiosk clock more than 10 minutes from the receive time —
for records queued offline this also fires, and only together with the envelope's sealing time can
an operator tell the two apart), ``clock_mismatch`` (record clock and envelope time disagree).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from kiosk.errors import RecordFormatError
from kiosk.rules.address import parse_address
from kiosk.rules.eligibility import ReasonCode, check_eligibility
from kiosk.rules.programs import Program
from kiosk.rules.record import SignedRegistration, parse_signed
from sync.sealing import BadCiphertextError, decrypt
from sync.server.chain import ChainResult, ChainStatus, ChainVerifier
from sync.server.outcomes import Flag
from sync.server.persons import PersonKeyer, PersonKeys
from sync.server.revocation import RevocationChecker, RevocationStatus
from sync.server.stored import envelope_digest, pack
from sync.wire import Envelope, EnvelopeFormatError, RejectReason

#: Kiosk clocks further than this from the server's receive time are flagged (past) or refused
#: (future); also the tolerance of the device-history lower bound in :mod:`sync.server.decide`.
MAX_CLOCK_SKEW = timedelta(minutes=10)


def chain_reason(status: ChainStatus) -> RejectReason:
    """The wire reason of a failed chain check (the one mapping; a test covers every status)."""
    return RejectReason(status.value)


def eligibility_reason(code: ReasonCode) -> RejectReason:
    """The wire reason of a programme rule the record breaks (a test covers every code)."""
    return RejectReason(code.value)


_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_RECORD_PREFIX = b',"record":'
_SIGNED_SUFFIX = b',"v":1}'


@dataclass(frozen=True)
class Rejection:
    """A record refused before any decision; ``store`` says whether the refusal is recorded.

    Refusals before the device signature verified are not stored: the record id is then an
    unauthenticated claim, and storing it would let anyone block a real record id.
    """

    record_id: str | None
    reason: RejectReason
    store: bool
    envelope: Envelope | None = field(default=None, repr=False)
    envelope_hash: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Verified:
    """A record that passed every check that needs no database; personal data stays out of repr."""

    envelope: Envelope = field(repr=False)
    envelope_hash: bytes = field(repr=False)
    packed: bytes = field(repr=False)  # storage form, see sync.server.stored
    signed: SignedRegistration = field(repr=False)
    chain: ChainResult = field(repr=False)
    registered_at: datetime
    program: Program = field(repr=False)
    prefecture: str = field(repr=False)
    municipality: str = field(repr=False)
    person_keys: PersonKeys = field(repr=False)
    flags: tuple[Flag, ...]
    certificate_tag: bytes = field(default=b"", repr=False)  # keyed hash of the certificate

    @property
    def record_id(self) -> str:
        """The record id (envelope and record agree)."""
        return self.envelope.record_id

    @property
    def code(self) -> str:
        """The receipt's registration code."""
        return self.signed.record.code


Checked = Rejection | Verified


def device_signature_ok(device_key: Ed25519PublicKey, sig: bytes, signed_bytes: bytes) -> bool:
    """Whether ``sig`` is the device's Ed25519 signature over ``signed_bytes``.

    Verified with libsodium (PyNaCl, already the enrollment check's library) rather than OpenSSL:
    about 45 instead of 68 µs here, the largest single cost per record (issue 14, SQLite ingest CPU).
    libsodium accepts a subset of what OpenSSL accepts (it also refuses small-order ``R`` and
    non-canonical keys), so a signature a real device key makes verifies on both. The length is
    checked first because ``crypto_sign_open`` takes the first 64 bytes of its input as the
    signature: a shorter ``sig`` would otherwise shift into the message.
    """
    if len(sig) != 64:
        return False
    try:
        crypto_sign_open(sig + signed_bytes, device_key.public_bytes_raw())
    except BadSignatureError:
        return False
    return True


def _record_bytes(plaintext: bytes) -> bytes:
    """The canonical record inside the canonical signed plaintext, without re-serialising it.

    Canonical JSON sorts keys, so the plaintext is ``{"card_signature":"…","record":{…},"v":1}``;
    :func:`parse_signed` has already proved the plaintext canonical, so slicing is exact.
    """
    start = plaintext.index(_RECORD_PREFIX) + len(_RECORD_PREFIX)
    return plaintext[start : len(plaintext) - len(_SIGNED_SUFFIX)]


class RecordVerifier:
    """Runs the database-free checks; one instance per process, safe to share between threads."""

    def __init__(
        self,
        *,
        server_key: X25519PrivateKey,
        chains: ChainVerifier,
        revocation: RevocationChecker,
        programs: Mapping[str, Program],
        keyer: PersonKeyer,
    ) -> None:
        self._server_key = server_key
        self._chains = chains
        self._revocation = revocation
        self._programs = programs
        self._keyer = keyer

    def check(
        self, raw: object, *, device_id: str, device_key: Ed25519PublicKey, received_at: datetime
    ) -> Checked:
        """Verify one envelope uploaded by ``device_id`` (a raw JSON object, or already parsed)."""
        if isinstance(raw, Envelope):
            envelope = raw
        else:
            try:
                envelope = Envelope.from_json(raw)
            except EnvelopeFormatError:
                return Rejection(claimed_id(raw), RejectReason.BAD_HEADER, store=False)
        if envelope.kiosk_id != device_id:
            return Rejection(envelope.record_id, RejectReason.KIOSK_MISMATCH, store=False)
        # the canonical header is needed three times (signature, HPKE info, storage): build it once
        header = envelope.header_bytes()
        if not device_signature_ok(device_key, envelope.sig, header + envelope.ct):
            return Rejection(envelope.record_id, RejectReason.BAD_SIGNATURE, store=False)
        digest = envelope_digest(header, envelope.ct, envelope.sig)

        def reject(reason: RejectReason) -> Rejection:
            return Rejection(envelope.record_id, reason, store=True, envelope=envelope, envelope_hash=digest)

        try:
            plaintext = decrypt(envelope.ct, header=header, server_private_key=self._server_key)
        except BadCiphertextError:
            return reject(RejectReason.BAD_CIPHERTEXT)
        try:
            signed = parse_signed(plaintext)
        except RecordFormatError:
            return reject(RejectReason.INVALID_RECORD)
        record = signed.record
        if (
            record.record_id != envelope.record_id
            or record.kiosk.kiosk_id != envelope.kiosk_id
            or record.program_id != envelope.program_id
        ):
            return reject(RejectReason.RECORD_MISMATCH)
        chain = self._chains.check(record.auth_certificate)
        if chain.status is not ChainStatus.OK or chain.public_key is None:
            return reject(chain_reason(chain.status))
        registered_at = record.kiosk.clock
        if not chain.valid_at(registered_at):
            early = chain.not_before is not None and registered_at < chain.not_before
            return reject(
                RejectReason.CERTIFICATE_NOT_YET_VALID if early else RejectReason.CERTIFICATE_EXPIRED
            )
        try:
            chain.public_key.verify(signed.card_signature, _record_bytes(plaintext), _PKCS1, _SHA256)
        except InvalidSignature:
            return reject(RejectReason.CARD_SIGNATURE)
        ver = record.verification
        if not (ver.chain and ver.signature and ver.integrity and ver.genuine_card):
            return reject(RejectReason.KIOSK_VERIFICATION)
        # the clock policy's upper bound (docs/server.md): nothing is registered in the future
        if (
            registered_at - received_at > MAX_CLOCK_SKEW
            or envelope.created_time() - received_at > MAX_CLOCK_SKEW
        ):
            return reject(RejectReason.CLOCK_AHEAD)
        flags: list[Flag] = []
        if chain.certificate is None or chain.issuer is None:
            return reject(chain_reason(ChainStatus.MALFORMED))
        revocation = self._revocation.check(chain.certificate, chain.issuer, registered_at)
        if revocation is RevocationStatus.REVOKED:
            return reject(RejectReason.CERTIFICATE_REVOKED)
        if revocation is RevocationStatus.NOT_CHECKED:
            flags.append(Flag.REVOCATION_NOT_CHECKED)
        elif revocation is RevocationStatus.UNKNOWN:
            flags.append(Flag.REVOCATION_UNKNOWN)
        program = self._programs.get(record.program_id)
        if program is None:
            return reject(RejectReason.UNKNOWN_PROGRAM)
        resident = record.resident
        parsed = parse_address(resident.address)  # once: eligibility, municipality and person key
        eligibility = check_eligibility(
            program,
            address=resident.address,
            birth_date=resident.birth_date,
            services=record.services,
            now=registered_at,
            already_registered_here=False,
            parsed_address=parsed,
        )
        if not eligibility.eligible:
            return reject(eligibility_reason(eligibility.codes[0]))
        if received_at - registered_at > MAX_CLOCK_SKEW:  # in the past: queued offline, or a slow clock
            flags.append(Flag.CLOCK_SKEW)
        if abs(registered_at - envelope.created_time()) > MAX_CLOCK_SKEW:
            flags.append(Flag.CLOCK_MISMATCH)
        municipality = (parsed.county or "") + (parsed.municipality or "") + (parsed.ward or "")
        return Verified(
            envelope=envelope,
            envelope_hash=digest,
            packed=pack(header, envelope.ct, envelope.sig),
            signed=signed,
            chain=chain,
            registered_at=registered_at,
            program=program,
            prefecture=parsed.prefecture or "",
            municipality=municipality,
            person_keys=self._keyer.keys(
                issuer_der=chain.issuer_der,
                serial=chain.serial,
                name=resident.name,
                birth_date=resident.birth_date,
                normalized_address=parsed.normalized,
            ),
            flags=tuple(flags),
            certificate_tag=self._keyer.certificate_tag(chain.fingerprint),
        )


def claimed_id(raw: object) -> str | None:
    """The record id a malformed envelope claims, if it is at least a canonical UUID string."""
    if isinstance(raw, dict):
        value = raw.get("record_id")
        if isinstance(value, str) and len(value) == 36:
            try:
                if str(uuid.UUID(value)) == value:
                    return value
            except ValueError:
                return None
    return None
