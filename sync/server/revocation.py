"""Pluggable revocation checking of JPKI auth certificates (OCSP-shaped interface).

J-LIS gives revocation information (OCSP/CRL) only to minister-approved verifiers or through a
platform operator (DESIGN.md §5), so the reference server ships no checker that talks to J-LIS. A
deployment plugs one in; without one, every accepted record carries the flag
``revocation_not_checked`` instead of passing silently.

The interface mirrors an OCSP request: the certificate, its issuer, and the time the answer must
hold for (the registration time). Implementations may cache; they must not raise for "unknown" and
must answer :attr:`RevocationStatus.UNKNOWN` when the responder cannot be reached, which the server
records as a flag (``revocation_unknown``) rather than a rejection.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

from cryptography import x509


@enum.unique
class RevocationStatus(enum.StrEnum):
    """Answer of a revocation check (OCSP CertStatus plus "nobody asked")."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not_checked"


class RevocationChecker(Protocol):
    """Something that can say whether a certificate was revoked at a given time."""

    def check(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        """Status of ``certificate`` (issued by ``issuer``) at ``at``."""
        ...


class NoRevocationChecker:
    """The default: nothing is checked, and the server says so on every record."""

    def check(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        """Always :attr:`RevocationStatus.NOT_CHECKED`."""
        return RevocationStatus.NOT_CHECKED


class SerialRevocationList:
    """A CRL-like checker over a fixed set of (issuer DER, serial) pairs with revocation times.

    Useful for an operator who receives revocation lists out of band, and for tests.
    """

    def __init__(self, revoked: dict[tuple[bytes, int], datetime]) -> None:
        self._revoked = dict(revoked)

    def check(
        self, certificate: x509.Certificate, issuer: x509.Certificate, at: datetime
    ) -> RevocationStatus:
        """REVOKED when the pair is listed with a revocation time at or before ``at``, else GOOD."""
        when = self._revoked.get((certificate.issuer.public_bytes(), certificate.serial_number))
        if when is not None and when <= at:
            return RevocationStatus.REVOKED
        return RevocationStatus.GOOD
