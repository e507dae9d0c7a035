"""The staff passcode (issue 13 §7): scrypt-hashed, checked with a lock-out. No Qt (the
``madoguchi staff-passcode`` command and the Qt staff view, :mod:`ui.staff`, share it).

* Stored only as ``scrypt$N$r$p$salt$hash`` (:func:`hash_passcode`: RFC 7914 scrypt from
  :mod:`hashlib`, N = 2^14, r = 8, p = 1, a 16-byte random salt, 32-byte key; tens of
  milliseconds per try, so offline guessing of the profile's hash is slow and a tap is not).
* :class:`PasscodeGate` refuses every attempt for ``lockout_s`` after ``max_failures`` wrong ones
  in a row (5 and 5 minutes, doubling with each further lock-out) and does not even compute the
  hash while locked. The counter lives in memory: a restart needs the machine's own login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kiosk.rules import wire_rules

SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1


class PasscodeFormatError(Exception):
    """The stored hash is not a ``scrypt$`` hash of this module."""


def hash_passcode(passcode: str, *, salt: bytes | None = None) -> str:
    """The storable form of ``passcode``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(passcode.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_passcode(stored: str, attempt: str) -> bool:
    """Whether ``attempt`` is the passcode ``stored`` was made from (constant-time compare)."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        salt, digest = wire_rules.strict_b64decode(salt_b64), wire_rules.strict_b64decode(digest_b64)
        got = hashlib.scrypt(attempt.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(digest))
    except ValueError as exc:
        raise PasscodeFormatError("not a scrypt$N$r$p$salt$hash value") from exc
    return hmac.compare_digest(got, digest)


@dataclass
class PasscodeGate:
    """Checks passcodes with a lock-out after repeated failures."""

    stored: str
    max_failures: int = 5
    lockout_s: float = 300.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    lockouts: int = 0
    locked_until: float = 0.0

    def locked_for(self) -> float:
        """Seconds until attempts are accepted again (0 when open)."""
        return max(0.0, self.locked_until - self.clock())

    def attempt(self, passcode: str) -> bool:
        """``True`` for the right passcode while not locked out. A locked gate does not even
        compute the hash (no oracle while locked)."""
        if self.locked_for() > 0:
            return False
        if verify_passcode(self.stored, passcode):
            self.failures = 0
            return True
        self.failures += 1
        if self.failures >= self.max_failures:
            self.lockouts += 1
            self.failures = 0
            self.locked_until = self.clock() + self.lockout_s * 2 ** (self.lockouts - 1)
        return False


def register(subparsers: object) -> None:
    """``madoguchi staff-passcode``: read a passcode twice (no echo) and print its hash."""
    parser = subparsers.add_parser(  # type: ignore[attr-defined]
        "staff-passcode", help="print a scrypt hash of a staff passcode for [staff] passcode_hash"
    )
    parser.set_defaults(handler=_passcode_command)


def _passcode_command(args: object) -> int:
    import getpass
    import sys

    first = getpass.getpass("staff passcode (digits, 6-12): ")
    if not first.isdigit() or not 6 <= len(first) <= 12:
        print("staff-passcode: use 6 to 12 digits", file=sys.stderr)
        return 2
    if getpass.getpass("again: ") != first:
        print("staff-passcode: the two entries differ", file=sys.stderr)
        return 2
    print(f'[staff]\npasscode_hash = "{hash_passcode(first)}"')
    return 0
