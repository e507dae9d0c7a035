"""scripts/demo.sh's ``python -m kiosk.demo --terminal`` runs through pcscd + vpcd and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.usefixtures("vpcd_session")
def test_demo_inserts_the_default_persona_and_exits_zero() -> None:
    env = {**os.environ, "MADOGUCHI_VPCD_LOCK_HELD": "1"}  # this session holds the vpcd lock
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.demo", "--terminal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "jlis-test" in result.stdout  # it says which persona it inserted
    assert "1234" not in result.stdout  # the persona's PIN is fed on stdin, never printed
