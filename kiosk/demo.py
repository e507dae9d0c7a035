"""Interim demo (``python -m kiosk.demo``, run by scripts/demo.sh): a virtual card on the real PC/SC stack.

Inserts the default persona's virtual My Number Card into the vpcd reader (``Virtual PCD 00 00``),
says what it inserted (persona id and label only), runs ``madoguchi card status`` and, when it
exists, ``madoguchi card read --pin-stdin --json`` with the persona's test PIN on stdin, then removes
the card. Commands that do not exist yet are reported, not failed. Holds the vpcd lock
(``/tmp/madoguchi-vpcd.lock``) so it never collides with a running test suite, unless the caller
says it holds it already (``MADOGUCHI_VPCD_LOCK_HELD=1``).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from card.virtual.card import VirtualMyNumberCard
from card.virtual.errors import VirtualCardError
from card.virtual.persona import DEFAULT_PERSONA, load_persona
from card.virtual.vpcd import DEFAULT_PORT, VpcdCard

READER = "Virtual PCD 00 00"
LOCK_PATH = Path("/tmp/madoguchi-vpcd.lock")  # noqa: S108 - the shared lock named in docs/development.md
#: Set by a caller (the e2e test) that already holds the vpcd lock for this demo.
LOCK_HELD_ENV = "MADOGUCHI_VPCD_LOCK_HELD"
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
COMMAND_TIMEOUT_S = 60


@contextmanager
def _vpcd_lock(timeout: float = 120.0) -> Iterator[None]:
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
                if time.monotonic() > deadline:
                    raise TimeoutError("the vpcd reader is in use by a test run") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _wait_reader(present: bool, timeout: float = 10.0) -> bool:
    """Poll the PC/SC reader state through the card layer; False if it never changed."""
    try:
        from card.pcsc import PcscContext
    except ImportError:  # card layer not available: fall back to a short bounded wait
        time.sleep(1.0)
        return True
    deadline = time.monotonic() + timeout
    with PcscContext() as context:
        while time.monotonic() < deadline:
            states = context.reader_states([READER])
            if states and states[0].present == present:
                return True
            time.sleep(0.05)
    return False


def _madoguchi(args: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def _has_command(*words: str) -> bool:
    return _madoguchi([*words, "--help"]).returncode == 0


def _show(title: str, result: subprocess.CompletedProcess[str]) -> None:
    print(f"$ madoguchi {title}  (exit {result.returncode})")
    for stream in (result.stdout, result.stderr):
        if stream.strip():
            print("  " + stream.strip().replace("\n", "\n  "))


def run() -> int:
    """Run the demo; 0 on success (missing ``card`` commands are not a failure)."""
    if not PCSCD_SOCKET.exists():
        print("demo: pcscd is not running; run ./scripts/demo.sh (it starts pcscd)", file=sys.stderr)
        return 1
    persona = load_persona(DEFAULT_PERSONA)
    card = VirtualMyNumberCard(persona)
    try:
        with _vpcd_lock(), VpcdCard(card, port=DEFAULT_PORT):
            if not _wait_reader(present=True):
                print(f"demo: the reader {READER!r} did not see the card", file=sys.stderr)
                return 1
            print(
                f"inserted a virtual My Number Card into {READER!r}: persona {persona.id} ({persona.label})"
            )
            if _has_command("card", "status"):
                _show("card status", _madoguchi(["card", "status"]))
                if _has_command("card", "read"):
                    pin = persona.auth_pin + "\n"  # synthetic test PIN of the persona, never a real one
                    _show(
                        "card read --pin-stdin --json",
                        _madoguchi(["card", "read", "--pin-stdin", "--json"], pin),
                    )
                else:
                    print("`madoguchi card read` does not exist yet: skipped")
            else:
                print(
                    "`madoguchi card` commands do not exist yet: the card was inserted and is removed again"
                )
    except (VirtualCardError, TimeoutError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    _wait_reader(present=False)
    touched = Counter(
        f"{e.ap or 'MF'}:{e.ef:04X}" if e.ef is not None else e.ap or "MF" for e in card.access_log
    )
    print(f"removed the card; it answered {len(card.access_log)} APDUs")
    if touched:
        print("  addressed: " + ", ".join(f"{k}×{n}" for k, n in sorted(touched.items())))
    return 0


if __name__ == "__main__":
    sys.exit(run())
