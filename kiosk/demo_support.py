"""Helpers of the demo that touch the machine: the shared vpcd lock and the PC/SC reader state.

Kept apart from :mod:`kiosk.demo` (the story the demo tells) so the story reads top to bottom.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

READER: Final = "Virtual PCD 00 00"
LOCK_PATH: Final = Path("/tmp/madoguchi-vpcd.lock")  # noqa: S108 - the shared lock named in docs/development.md
#: Set by a caller (the e2e test) that already holds the vpcd lock for this demo.
LOCK_HELD_ENV: Final = "MADOGUCHI_VPCD_LOCK_HELD"


class DemoError(KioskError):
    """A demo step failed; the message names the step and never carries personal data."""


@contextmanager
def vpcd_lock(timeout: float = 300.0, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the vpcd lock so a test run never puts a second card on the same vpcd port.

    ``on_wait`` is called once if the lock is busy (the demo says why it pauses)."""
    if os.environ.get(LOCK_HELD_ENV) == "1":
        yield
        return
    with LOCK_PATH.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                if time.monotonic() > deadline:
                    raise TimeoutError("the vpcd reader is in use by a test run") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def wait_reader(present: bool, timeout: float = 10.0) -> bool:
    """Poll the reader through the card layer until the card is (not) there; False on timeout."""
    from card.pcsc import PcscContext

    deadline = time.monotonic() + timeout
    with PcscContext() as context:
        while time.monotonic() < deadline:
            states = context.reader_states([READER])
            if states and states[0].present == present:
                return True
            time.sleep(0.05)
    return False
