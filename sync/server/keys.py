"""The server's secrets in its data directory: HPKE key pair, person-key secret, admin token hash.

``madoguchi server init`` creates them once in ``DATA/keys/`` (files 0600, directories 0700), a
directory of their own so that backups can treat them apart from the database (issue 14: the
database goes to the nightly backup, the keys to offline safekeeping; whoever holds both can read
every registration). A data directory of an older version, with the keys beside the database, is
still read.

- ``hpke-x25519.key``: the X25519 private key (PKCS#8 PEM) that opens every sealed record. Only the
  ingest process needs it; kiosks pin the public half at enrollment.
- ``person-key.secret``: 32 random bytes keying the HMAC that turns certificate serials, names and
  birth dates into person keys (DESIGN.md §6). Without it the keys in the database are useless to an
  attacker who copies the database; with a new one every person would look new, so it is never rotated
  silently.
- ``admin-token.sha256``: SHA-256 of the admin bearer token. The token itself is printed once by
  ``init`` and never stored, so a copy of the data directory does not grant admin access.
- ``audit-ed25519.key``: the Ed25519 key that signs audit checkpoints
  (``madoguchi server audit --checkpoint``); created on first use for older data directories.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.server.errors import NotInitializedError, ServerConfigError

HPKE_KEY_FILE = "hpke-x25519.key"
PERSON_SECRET_FILE = "person-key.secret"  # noqa: S105 - a file name
ADMIN_TOKEN_FILE = "admin-token.sha256"  # noqa: S105 - a file name
AUDIT_KEY_FILE = "audit-ed25519.key"
KEYS_DIR = "keys"
DEFAULT_DB_FILE = "server.sqlite3"


@dataclass(frozen=True)
class ServerKeys:
    """The loaded secrets; never printed (``repr`` shows nothing secret)."""

    hpke_private_key: X25519PrivateKey = field(repr=False)
    person_secret: bytes = field(repr=False)
    admin_token_hash: bytes = field(repr=False)

    def public_key_raw(self) -> bytes:
        """The raw 32-byte X25519 public key handed to kiosks at enrollment."""
        return self.hpke_private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def check_admin_token(self, presented: str) -> bool:
        """Constant-time comparison of a presented bearer token with the stored hash."""
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        return hmac.compare_digest(digest, self.admin_token_hash)


def default_data_dir() -> Path:
    """``$MADOGUCHI_SERVER_DATA`` or ``./var/server``."""
    return Path(os.environ.get("MADOGUCHI_SERVER_DATA", "var/server"))


def default_db_url(data_dir: Path) -> str:
    """The embedded default: SQLite in the data directory."""
    return f"sqlite:///{(data_dir / DEFAULT_DB_FILE).resolve()}"


def keys_dir(data_dir: Path) -> Path:
    """Where the keys of ``data_dir`` live: ``DATA/keys``, or ``DATA`` itself for an old layout."""
    own = data_dir / KEYS_DIR
    if not own.exists() and (data_dir / HPKE_KEY_FILE).exists():
        return data_dir
    return own


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def init_data_dir(data_dir: Path) -> str:
    """Create the server's secrets in ``data_dir``; return the admin token (shown once).

    :raises ServerConfigError: if the directory already holds server keys (never overwritten: a new
        HPKE key would strand every sealed record in flight, a new secret would break de-duplication).
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    names = (HPKE_KEY_FILE, PERSON_SECRET_FILE, ADMIN_TOKEN_FILE)
    existing = [n for n in names if (data_dir / n).exists() or (data_dir / KEYS_DIR / n).exists()]
    if existing:
        raise ServerConfigError(f"{data_dir} is already initialised ({', '.join(existing)} exist)")
    keys = data_dir / KEYS_DIR
    keys.mkdir(exist_ok=True, mode=0o700)
    os.chmod(keys, 0o700)
    key = X25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    token = secrets.token_urlsafe(32)
    _write_secret(keys / HPKE_KEY_FILE, pem)
    _write_secret(keys / PERSON_SECRET_FILE, secrets.token_bytes(32))
    _write_secret(keys / ADMIN_TOKEN_FILE, hashlib.sha256(token.encode("utf-8")).hexdigest().encode())
    audit_signing_key(data_dir)
    return token


def audit_signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The audit checkpoint signing key of ``data_dir``, created (0600, never replaced) if missing.

    :raises ServerConfigError: the file is unreadable, loose or not an Ed25519 key.
    """
    path = keys_dir(data_dir) / AUDIT_KEY_FILE
    if not path.exists():
        fresh = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            _write_secret(path, fresh)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as exc:
            raise ServerConfigError(f"cannot create {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(_read_private(path), password=None)
    except ValueError:
        raise ServerConfigError(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ServerConfigError(f"{path} is not an Ed25519 key")
    return key


def _read_private(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotInitializedError(f"{path} is missing: run `madoguchi server init`") from None
    except OSError as exc:
        raise ServerConfigError(f"cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ServerConfigError(f"{path} must not be readable by group or others (chmod 600)")
    return data


def load_keys(data_dir: Path) -> ServerKeys:
    """Load the secrets created by :func:`init_data_dir`.

    :raises NotInitializedError: the directory was never initialised.
    :raises ServerConfigError: a file is unreadable, malformed or has loose permissions.
    """
    where = keys_dir(data_dir)
    pem = _read_private(where / HPKE_KEY_FILE)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError:
        raise ServerConfigError(f"{where / HPKE_KEY_FILE} is not a PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise ServerConfigError(f"{where / HPKE_KEY_FILE} is not an X25519 key")
    secret = _read_private(where / PERSON_SECRET_FILE)
    if len(secret) != 32:
        raise ServerConfigError(f"{where / PERSON_SECRET_FILE} must hold 32 bytes")
    try:
        token_hash = bytes.fromhex(_read_private(where / ADMIN_TOKEN_FILE).decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ServerConfigError(f"{where / ADMIN_TOKEN_FILE} is malformed") from None
    if len(token_hash) != 32:
        raise ServerConfigError(f"{where / ADMIN_TOKEN_FILE} is malformed")
    return ServerKeys(hpke_private_key=key, person_secret=secret, admin_token_hash=token_hash)
