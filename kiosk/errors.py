"""The typed error tree of the kiosk domain.

Messages never contain a PIN, a My Number or personal data: configuration errors name a file, a key
and a reason; record errors name the field that is wrong, never its value.

    KioskError
    ├── ConfigError(path, key, reason)      a TOML file failed validation
    │   ├── SettingsError                   the kiosk profile (``kiosk.toml``)
    │   └── ProgramError                    a programme definition (``config/programs/*.toml``)
    ├── UnknownProgramError                 the kiosk's default programme is not among those loaded
    ├── RegistrationError                   a registration record could not be built or trusted
    │   ├── RecordFormatError               malformed / wrong schema / non-canonical
    │   └── CardSignatureError              the card signature does not verify
    └── QueueRefusedError                   (kiosk.ports) the outbox did not take the record
        ├── QueueUnavailableError           storage failed
        ├── QueueNotEnrolledError           no device key / server key to seal to
        ├── QueueDuplicateError             the record id is already queued
        └── QueueInvalidRecordError         an id the queue's format refuses
"""

from __future__ import annotations

from pathlib import Path


class KioskError(Exception):
    """Base of every error raised by :mod:`kiosk`."""


class ConfigError(KioskError):
    """Raised when a configuration file is unreadable or invalid.

    ``path`` is the file, ``key`` the dotted key (``"kiosk.mode"``; ``""`` for the whole file) and
    ``reason`` says what is wrong, so an operator can fix it without reading code.
    """

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        self.path = Path(path)
        self.key = key
        self.reason = reason
        where = f"{self.path}: {key}" if key else str(self.path)
        super().__init__(f"{where}: {reason}")


class SettingsError(ConfigError):
    """Raised when the kiosk profile (``[kiosk]``, ``[server]``) is invalid."""


class ProgramError(ConfigError):
    """Raised when a programme definition is invalid (or two files share an id)."""


class UnknownProgramError(KioskError):
    """Raised when the flow is built with a default programme id that was not loaded."""


class RegistrationError(KioskError):
    """Base for registration-record failures."""


class RecordFormatError(RegistrationError):
    """Raised when a record or signed registration is malformed, of an unknown schema, or when
    its bytes are not the canonical encoding of its content. The message names the field only."""


class CardSignatureError(RegistrationError):
    """Raised when the card signature does not verify with the record's auth certificate."""
