"""The kiosk's device identity on disk: its Ed25519 signing key and the pinned server key.

Two files in the kiosk's ``data_dir`` (created 0700), both mode 0600 and written atomically
(temporary file, fsync, rename, fsync of the directory), so a power cut never leaves half a key:

- ``device-ed25519.pem``: the device's private key (PKCS#8 PEM). Generated on the kiosk; never leaves it.
- ``server.json``: what ``madoguchi enroll`` pinned: server URL, device id, suite, the server's raw
  X25519 public key (base64). Public information, but still 0600: it decides where records go.

The kiosk never holds the server's private key, so it cannot decrypt its own queue.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from sync import wire
from sync.errors import (
    InsecureKeyFileError,
    KeyFileError,
    NotEnrolledError,
    ServerKeyMismatchError,
)
from sync.sealing import seal

__all__ = ["DEVICE_KEY_FILE", "SERVER_FILE", "DeviceSealer", "DeviceStore", "PinnedServer"]

logger = logging.getLogger(__name__)

DEVICE_KEY_FILE: Final = "device-ed25519.pem"
SERVER_FILE: Final = "server.json"


@dataclass(frozen=True, slots=True)
class PinnedServer:
    """The server identity pinned at enrollment."""

    url: str
    device_id: str
    suite: str
    public_key: bytes
    enrolled_at: str

    def x25519(self) -> X25519PublicKey:
        """The pinned key as a ``cryptography`` object."""
        return X25519PublicKey.from_public_bytes(self.public_key)


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path`` with mode 0600 (never briefly world-readable).

    ``os.open`` with mode 0600 and ``O_EXCL`` creates the temporary file with the final mode, so no
    umask race exists; fsync before and after the rename makes the new content durable. A temporary
    file left by a crash is removed first: a kiosk process that always runs with the same pid (pid 1
    in a container) would otherwise fail on it forever.

    :raises OSError: the caller translates it into its own error tree.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700 if missing; tighten an existing one to 0700.

    :raises OSError: the caller translates it into its own error tree.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def _read_private_file(path: Path) -> bytes:
    """Read a key file, refusing links and files readable by group or others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot open ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) & 0o077:
            raise InsecureKeyFileError(path, stat.S_IMODE(info.st_mode))
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class DeviceStore:
    """Loads and creates the device key and the pinned server key in one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.key_path = data_dir / DEVICE_KEY_FILE
        self.server_path = data_dir / SERVER_FILE

    def _ensure_dir(self) -> None:
        try:
            ensure_private_dir(self.data_dir)
        except OSError as exc:
            raise KeyFileError(f"{self.data_dir}: cannot create the directory ({exc.strerror})") from None

    def load_or_create_device_key(self) -> Ed25519PrivateKey:
        """Return the device key, generating and storing it (0600) on first use."""
        self._ensure_dir()
        try:
            return self.load_device_key()
        except NotEnrolledError:
            pass
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            write_private_file(self.key_path, pem)
        except OSError as exc:
            raise KeyFileError(f"{self.key_path}: cannot write ({exc.strerror})") from None
        logger.info("generated a new device key in %s", self.key_path)
        return key

    def load_device_key(self) -> Ed25519PrivateKey:
        """Return the stored device key.

        :raises NotEnrolledError: no key file yet.
        :raises InsecureKeyFileError: the file's mode is not 0600.
        :raises KeyFileError: unreadable, or not an Ed25519 private key.
        """
        try:
            pem = _read_private_file(self.key_path)
        except FileNotFoundError:
            raise NotEnrolledError(f"{self.key_path}: no device key (run madoguchi enroll)") from None
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{self.key_path}: not a PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{self.key_path}: not an Ed25519 key")
        return key

    def load_server(self) -> PinnedServer:
        """Return the pinned server identity.

        :raises NotEnrolledError: not enrolled yet.
        :raises KeyFileError: the file is corrupt.
        """
        try:
            raw = _read_private_file(self.server_path)
        except FileNotFoundError:
            raise NotEnrolledError(f"{self.server_path}: no pinned server (run madoguchi enroll)") from None
        try:
            obj = json.loads(raw)
            key = wire.b64decode(obj["server_public_key"], field="server_public_key")
            pinned = PinnedServer(
                url=str(obj["url"]),
                device_id=str(obj["device_id"]),
                suite=str(obj["suite"]),
                public_key=key,
                enrolled_at=str(obj["enrolled_at"]),
            )
            pinned.x25519()
        except (ValueError, KeyError, TypeError, wire.WireFormatError):
            raise KeyFileError(f"{self.server_path}: corrupt pinned-server file") from None
        if pinned.suite != wire.SUITE_ID:
            raise KeyFileError(f"{self.server_path}: unsupported suite")
        return pinned

    def pin_server(self, url: str, reply: wire.EnrollResponse) -> PinnedServer:
        """Pin the server key from an enrollment reply.

        Re-enrolling against the same key refreshes url and device id; a *different* key is refused.

        :raises ServerKeyMismatchError: another server key is already pinned.
        """
        self._ensure_dir()
        try:
            current: PinnedServer | None = self.load_server()
        except NotEnrolledError:
            current = None
        if current is not None and current.public_key != reply.server_public_key:
            raise ServerKeyMismatchError(
                f"{self.server_path}: a different server key is already pinned; queued records are "
                "sealed to it. Drain or export the queue, then remove this file to re-enroll."
            )
        pinned = PinnedServer(
            url=url,
            device_id=reply.device_id,
            suite=reply.suite,
            public_key=reply.server_public_key,
            enrolled_at=wire.format_timestamp(_dt.datetime.now(_dt.UTC)),
        )
        body = {
            "url": pinned.url,
            "device_id": pinned.device_id,
            "suite": pinned.suite,
            "server_public_key": wire.b64encode(pinned.public_key),
            "enrolled_at": pinned.enrolled_at,
        }
        try:
            write_private_file(self.server_path, json.dumps(body, indent=2, sort_keys=True).encode() + b"\n")
        except OSError as exc:
            raise KeyFileError(f"{self.server_path}: cannot write ({exc.strerror})") from None
        return pinned

    def sealer(self, kiosk_id: str) -> DeviceSealer:
        """A :class:`DeviceSealer` from the stored keys.

        :raises NotEnrolledError: no device key or no pinned server.
        """
        return DeviceSealer(kiosk_id, self.load_device_key(), self.load_server().x25519())


class DeviceSealer:
    """Seals records for one kiosk: its id, its device key and the pinned server key."""

    def __init__(self, kiosk_id: str, device_key: Ed25519PrivateKey, server_key: X25519PublicKey) -> None:
        self.kiosk_id = kiosk_id
        self._device_key = device_key
        self._server_key = server_key

    def seal(
        self, plaintext: bytes, *, record_id: str, program_id: str, seq: int, created_at: _dt.datetime
    ) -> wire.Envelope:
        """Seal one record (see :func:`sync.sealing.seal`)."""
        return seal(
            plaintext,
            record_id=record_id,
            kiosk_id=self.kiosk_id,
            seq=seq,
            program_id=program_id,
            server_public_key=self._server_key,
            device_key=self._device_key,
            created_at=created_at,
        )

    def __repr__(self) -> str:
        return f"DeviceSealer(kiosk_id={self.kiosk_id!r})"
