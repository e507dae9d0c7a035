"""The kiosk's monotonic record sequence number (``kiosk.sequence`` in every record).

It must be in the record *before* the card signs it, so it cannot be the outbox's own row sequence
(assigned inside the enqueue transaction). A small file in ``data_dir`` holds the last number given
out; :meth:`RecordSequence.next` increments it under an exclusive lock and makes it durable (write
to a temporary file, fsync, rename, fsync the directory) before returning, so a number is never
handed out twice, even across crashes. A number whose record is never queued (the card left before
signing) leaves a gap; the server treats gaps as information, reuse as an alarm (DESIGN.md §5).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

SEQUENCE_FILE: Final = "record-sequence"


class SequenceError(KioskError):
    """Raised when the sequence file is unreadable, corrupt or cannot be made durable."""


class RecordSequence:
    """A durable, strictly increasing counter in ``directory/record-sequence``."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / SEQUENCE_FILE
        self._lock = directory / (SEQUENCE_FILE + ".lock")

    def current(self) -> int:
        """The last number handed out (0 if none)."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as exc:
            raise SequenceError(f"{self.path}: unreadable ({type(exc).__name__})") from None
        if not text.isdigit():
            raise SequenceError(f"{self.path}: corrupt (not a number)")
        return int(text)

    def next(self) -> int:
        """Hand out the next number; it is on disk when this returns."""
        directory = self.path.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SequenceError(f"{self._lock}: cannot open ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            value = self.current() + 1
            tmp = self.path.with_suffix(".tmp")
            try:
                out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(out, f"{value}\n".encode("ascii"))
                    os.fsync(out)
                finally:
                    os.close(out)
                os.replace(tmp, self.path)
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            except OSError as exc:
                raise SequenceError(f"{self.path}: cannot write ({exc.strerror})") from None
            return value
        finally:
            os.close(fd)
