""" "Already registered here": which card holders this kiosk has queued a record for, per programme.

The kiosk cannot read its own queue (records are sealed to the server), so it keeps a separate
index of keyed hashes: HMAC-SHA256(local key, programme id ‖ auth-certificate issuer ‖ serial). No
name, address or certificate is stored; the 32-byte key is random per kiosk (file mode 0600). Anyone
holding the disk *and* a specific card's certificate could test that card: a small, documented
residual (docs/flow.md). The server's duplicate check is authoritative; this only spares a resident
a pointless second registration at the same kiosk.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

INDEX_FILE: Final = "registered-here"
KEY_FILE: Final = "registered-here.key"


class LocalIndexError(KioskError):
    """Raised when the index or its key cannot be read or written."""


class RegisteredHereIndex:
    """Append-only file of hex HMACs in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / INDEX_FILE
        self.key_path = directory / KEY_FILE

    def _key(self) -> bytes:
        try:
            key = self.key_path.read_bytes()
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            try:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return self._key()
            except OSError as exc:
                raise LocalIndexError(f"{self.key_path}: cannot create ({exc.strerror})") from None
            try:
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise LocalIndexError(f"{self.key_path}: unreadable ({exc.strerror})") from None
        if len(key) != 32:
            raise LocalIndexError(f"{self.key_path}: corrupt key")
        return key

    def _digest(self, program_id: str, issuer: str, serial: int) -> str:
        message = "\x1f".join((program_id, issuer, format(serial, "x"))).encode("utf-8")
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def contains(self, program_id: str, issuer: str, serial: int) -> bool:
        """Whether this card holder was queued for ``program_id`` at this kiosk."""
        try:
            lines = self.path.read_text(encoding="ascii").split()
        except FileNotFoundError:
            return False
        except (OSError, UnicodeDecodeError) as exc:
            raise LocalIndexError(f"{self.path}: unreadable ({type(exc).__name__})") from None
        digest = self._digest(program_id, issuer, serial)
        return any(hmac.compare_digest(digest, line) for line in lines)

    def add(self, program_id: str, issuer: str, serial: int) -> None:
        """Remember a queued registration (called after the outbox committed it)."""
        digest = self._digest(program_id, issuer, serial)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (digest + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise LocalIndexError(f"{self.path}: cannot write ({exc.strerror})") from None
