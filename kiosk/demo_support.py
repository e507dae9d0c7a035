"""Helpers of the demo that touch the machine: the shared vpcd lock, the PC/SC reader state, and the
kiosk profile that trusts the project's test hierarchy (the demo, the e2e and UI tests and the UI
benchmark all write the same one).

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


ROOT: Final = Path(__file__).resolve().parents[1]
#: The project's test J-LIS hierarchy (O=JPKI-TEST, CVC CA "9999993"): demo and test profiles only.
TEST_TRUST_DIR: Final = ROOT / "config" / "trust" / "test"
#: Key id of the test CVC CA: "9999993" 08 05 "001" (config/kiosk.demo.toml).
TEST_CVC_CA_KEY_ID: Final = "39393939393933080530303100000000"


def profile_with_test_trust(
    *, kiosk_id: str, mode: str, data_dir: Path, program: str, server_url: str, comment: str = ""
) -> str:
    """A kiosk profile (the schema of config/kiosk.demo.toml) that trusts only the test hierarchy."""
    header = f"# {comment}\n" if comment else ""
    return f"""{header}[kiosk]
id = "{kiosk_id}"
mode = "{mode}"
data_dir = "{data_dir}"
language = "ja"
program = "{program}"
programs_dir = "{ROOT / "config" / "programs"}"

[server]
url = "{server_url}"

[trust]
jpki_auth_roots = ["{TEST_TRUST_DIR / "jpki-auth-root.pem"}"]

[[trust.cvc_ca]]
key_id = "{TEST_CVC_CA_KEY_ID}"
public_key = "{TEST_TRUST_DIR / "cvc-ca-9999993.pem"}"
"""


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
    from kiosk import composition

    deadline = time.monotonic() + timeout
    with composition.pcsc_context() as context:
        while time.monotonic() < deadline:
            states = context.reader_states([READER])
            if states and states[0].present == present:
                return True
            time.sleep(0.05)
    return False
