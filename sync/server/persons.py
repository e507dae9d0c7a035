"""Person keys: keyed hashes that recognise one resident across records (DESIGN.md §6).

No plaintext personal identifier is ever a key. Every key is ``HMAC-SHA256(secret, label || value)``
with the server's 32-byte person-key secret, so a copied database cannot be reversed by hashing
candidate names or serial numbers, and keys from two servers never match.

- **primary**: the JPKI auth certificate's issuer (DER) and serial. Stable for the life of one card
  certificate; changes when the card is renewed or reissued.
- **secondary**: the NFKC-normalised name without any white space, and the birth date. Catches a
  renewed card; can also match two different people who share a name and birthday, which is why a
  secondary-only match with a different address goes to human review instead of being merged.
- **address**: the NFKC-normalised address without white space, only ever compared for equality.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from kiosk.rules.address import normalize_address as _kiosk_normalize_address

_PRIMARY = b"madoguchi.person.primary.v1\x00"
_SECONDARY = b"madoguchi.person.secondary.v1\x00"
_ADDRESS = b"madoguchi.person.address.v1\x00"
_CERTIFICATE = b"madoguchi.certificate.v1\x00"
_SPACE_RE = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """NFKC, then drop every white-space character (including the ideographic space U+3000)."""
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", name))


def normalize_address(address: str) -> str:
    """The kiosk's normalisation (NFKC, no spaces, one dash), so both sides compare the same bytes."""
    return _kiosk_normalize_address(address)


@dataclass(frozen=True)
class PersonKeys:
    """The three keyed hashes of one record's holder; all opaque 32-byte values."""

    primary: bytes = field(repr=False)
    secondary: bytes = field(repr=False)
    address: bytes = field(repr=False)


class PersonKeyer:
    """Computes person keys with the server's secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the person-key secret must be at least 32 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "PersonKeyer(<secret>)"

    def certificate_tag(self, fingerprint: bytes) -> bytes:
        """The keyed hash stored instead of a certificate's SHA-256 fingerprint (issue 14).

        A plain fingerprint links a stored registration to anyone who holds the certificate (it is
        public: the card hands it to every reader); keyed with the server secret it links nothing.
        """
        return hmac.digest(self._secret, _CERTIFICATE + fingerprint, "sha256")

    def _mac(self, label: bytes, value: bytes) -> bytes:
        # hmac.digest is the one-shot C path: the same HMAC-SHA256 as hmac.new(...).digest()
        return hmac.digest(self._secret, label + value, "sha256")

    def primary(self, issuer_der: bytes, serial: int) -> bytes:
        """Key of one certificate: issuer DER and serial, length-prefixed so no two pairs collide."""
        serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=True)
        return self._mac(_PRIMARY, len(issuer_der).to_bytes(4, "big") + issuer_der + serial_bytes)

    def secondary(self, name: str, birth_date: date | str) -> bytes:
        """Key of a (normalised name, birth date) pair; also used for imported exclusion lists."""
        birth = birth_date if isinstance(birth_date, str) else birth_date.isoformat()
        return self._mac(_SECONDARY, normalize_name(name).encode("utf-8") + b"\x00" + birth.encode("ascii"))

    def address(self, address: str) -> bytes:
        """Key of a normalised address, compared only for equality."""
        return self.normalized_address(normalize_address(address))

    def normalized_address(self, normalized: str) -> bytes:
        """:meth:`address` for text already in :func:`normalize_address` form (normalising is not
        idempotent for every input, so the caller passes the one normalisation it already made)."""
        return self._mac(_ADDRESS, normalized.encode("utf-8"))

    def keys(
        self, *, issuer_der: bytes, serial: int, name: str, birth_date: date, normalized_address: str
    ) -> PersonKeys:
        """All three keys for one record; ``normalized_address`` is ``normalize_address(address)``."""
        return PersonKeys(
            primary=self.primary(issuer_der, serial),
            secondary=self.secondary(name, birth_date),
            address=self.normalized_address(normalized_address),
        )
