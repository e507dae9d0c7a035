"""JPKI auth-certificate chains to the configured roots, cached by certificate fingerprint.

A resident's card presents the same certificate every time, and a busy day sees each certificate
once or a few times; but verifying a chain is the second most expensive step of a record check, so
the result of the *time-independent* part (parse, find the issuing root, verify the issuer's
signature, key type) is cached by SHA-256 of the DER. Validity at the registration time is checked
per record against the cached ``not_before``/``not_after``, because two records with the same
certificate can have different registration times.

JPKI user-authentication certificates are issued directly by the JPKI root ("JPKI for user
authentication"), so a chain is leaf → one configured root; the roots come from a PEM bundle the
operator configures (``--trust``). The project's test hierarchy is only for the virtual card.
"""

from __future__ import annotations

import enum
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from card.trust import may_sign
from sync.server.errors import ServerConfigError


@enum.unique
class ChainStatus(enum.StrEnum):
    """Outcome of the time-independent chain check; the value is the wire rejection reason."""

    OK = "ok"
    MALFORMED = "certificate_invalid"
    UNKNOWN_ROOT = "certificate_unknown_root"
    BAD_ISSUER_SIGNATURE = "certificate_bad_signature"
    NOT_RSA = "certificate_invalid_key"
    KEY_USAGE = "certificate_key_usage"


@dataclass(frozen=True)
class ChainResult:
    """What one certificate's chain check found; safe to share between records and threads."""

    fingerprint: bytes
    status: ChainStatus
    serial: int = field(default=0, repr=False)  # identifies one card: kept out of logs
    issuer_der: bytes = field(default=b"", repr=False)
    not_before: datetime | None = None
    not_after: datetime | None = None
    public_key: RSAPublicKey | None = field(default=None, repr=False)
    certificate: x509.Certificate | None = field(default=None, repr=False)
    issuer: x509.Certificate | None = field(default=None, repr=False)

    def valid_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies within the validity of both the certificate and its root."""
        return (
            self.not_before is not None
            and self.not_after is not None
            and self.not_before <= moment <= self.not_after
        )


def load_roots(path: Path) -> list[x509.Certificate]:
    """Load every certificate of a PEM bundle.

    :raises ServerConfigError: unreadable file, no certificate, or a certificate that does not parse.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ServerConfigError(f"cannot read trust file {path}: {exc.strerror}") from None
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ServerConfigError(f"trust file {path} holds no valid PEM certificate") from None
    return roots


class ChainVerifier:
    """Checks auth certificates against configured roots; thread-safe LRU cache by fingerprint."""

    def __init__(self, roots: Sequence[x509.Certificate], *, cache_size: int = 200_000) -> None:
        self._roots: dict[bytes, list[x509.Certificate]] = {}
        for root in roots:
            self._roots.setdefault(root.subject.public_bytes(), []).append(root)
        # with each root's validity read once: the cryptography accessors build a datetime per call
        self._all_roots = [
            (subject, root, root.not_valid_before_utc, root.not_valid_after_utc)
            for subject, group in self._roots.items()
            for root in group
        ]
        self._cache: OrderedDict[bytes, ChainResult] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def check(self, der: bytes) -> ChainResult:
        """Return the (cached) chain result of the DER certificate ``der``."""
        fingerprint = hashlib.sha256(der).digest()
        with self._lock:
            cached = self._cache.get(fingerprint)
            if cached is not None:
                self._cache.move_to_end(fingerprint)
                self.hits += 1
                return cached
            self.misses += 1
        result = self._verify(fingerprint, der)
        with self._lock:
            self._cache[fingerprint] = result
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def _verify(self, fingerprint: bytes, der: bytes) -> ChainResult:
        try:
            cert = x509.load_der_x509_certificate(der)
            serial = cert.serial_number
            not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
            key = cert.public_key()
        except (ValueError, UnsupportedAlgorithm):
            return ChainResult(fingerprint, ChainStatus.MALFORMED)
        if not isinstance(key, RSAPublicKey):
            return ChainResult(fingerprint, ChainStatus.NOT_RSA)
        # Try the (one or two) roots directly: verify_directly_issued_by also checks that the
        # issuer name equals the root's subject, and building Python Name objects costs more than
        # the signature check. The issuer is decoded only on the failure path, to classify it.
        for subject_der, root, root_not_before, root_not_after in self._all_roots:
            try:
                cert.verify_directly_issued_by(root)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                continue
            if not may_sign(cert):  # the same rule as the kiosk (card.trust)
                return ChainResult(fingerprint, ChainStatus.KEY_USAGE)
            return ChainResult(
                fingerprint,
                ChainStatus.OK,
                serial=serial,
                issuer_der=subject_der,
                not_before=max(not_before, root_not_before),
                not_after=min(not_after, root_not_after),
                public_key=key,
                certificate=cert,
                issuer=root,
            )
        try:
            issuer_der = cert.issuer.public_bytes()
        except ValueError:
            return ChainResult(fingerprint, ChainStatus.MALFORMED)
        if issuer_der in self._roots:
            return ChainResult(fingerprint, ChainStatus.BAD_ISSUER_SIGNATURE)
        return ChainResult(fingerprint, ChainStatus.UNKNOWN_ROOT)

