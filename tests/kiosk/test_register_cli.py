"""``madoguchi register`` refusals that happen before any card work (no PIN try used)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli import main

ROOT = Path(__file__).resolve().parents[2]
TRUST = ROOT / "config" / "trust" / "test"


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f"""
[kiosk]
id = "cli-test"
mode = "staff"
data_dir = "{tmp_path / "data"}"
language = "ja"
program = "demo"
programs_dir = "{ROOT / "config" / "programs"}"
[server]
url = "http://127.0.0.1:1"
[trust]
jpki_auth_roots = ["{TRUST / "jpki-auth-root.pem"}"]
""",
        encoding="utf-8",
    )
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["register", *args, "--pin-stdin", "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("program", "services", "exit_code", "needle", "error_code"),
    [
        ("nope", "point", 2, "unknown programme", "usage"),
        ("miyagi-point-2025-second", "point", 2, "requires the services", "usage"),
        ("demo", "shopping", 2, "offers", "usage"),
        ("demo", "point", 10, "enroll", "not_enrolled"),
    ],
)
def test_refusals_before_the_card(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    program: str,
    services: str,
    exit_code: int,
    needle: str,
    error_code: str,
) -> None:
    config = _profile(tmp_path)
    code, out = _run(capsys, "--config", str(config), "--program", program, "--services", services)
    assert code == exit_code
    error = out["error"]
    assert isinstance(error, dict)
    assert needle in str(error["message"])
    assert error["code"] == error_code


def test_bad_profile_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("[kiosk]\nmode = 'robot'\n", encoding="utf-8")
    code, out = _run(capsys, "--config", str(config), "--program", "demo", "--services", "point")
    assert code == 2
    assert out["error"]["code"] == "config"  # type: ignore[index]
    assert str(config) in out["error"]["message"]  # type: ignore[index]
