"""The e2e skip/fail rule of docs/development.md: without pcscd e2e tests skip, or fail when required."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _run_demo_test(tmp_path: Path, require: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MADOGUCHI_PCSCD_SOCKET": str(tmp_path / "no-pcscd.comm")}
    env.pop("MADOGUCHI_REQUIRE_E2E", None)
    if require:
        env["MADOGUCHI_REQUIRE_E2E"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(HERE / "test_virtual_card_demo.py"),
        ],
        env=env,
        cwd=HERE.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("require", [False, True])
def test_missing_pcscd_skips_unless_required(tmp_path: Path, require: bool) -> None:
    result = _run_demo_test(tmp_path, require)
    if require:
        assert result.returncode == 1, result.stdout
        assert "MADOGUCHI_REQUIRE_E2E=1" in result.stdout
    else:
        assert result.returncode == 0, result.stdout
        assert "1 skipped" in result.stdout
        assert "pcscd is not running" in result.stdout
