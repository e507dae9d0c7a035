"""``madoguchi server init / device-token / devices`` through the real command line entry point."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from kiosk.cli import main
from sync.server.errors import ServerConfigError
from sync.server.keys import load_keys


def test_init_creates_private_keys_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "server"
    assert main(["server", "init", "--data", str(data)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    for name in ("hpke-x25519.key", "person-key.secret", "admin-token.sha256", "audit-ed25519.key"):
        assert stat.S_IMODE((data / "keys" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys").stat().st_mode) == 0o700
    # the database and its WAL/SHM are private from the first write (issue 14: they were 0644)
    for suffix in ("", "-wal", "-shm"):
        db_file = data / f"server.sqlite3{suffix}"
        if db_file.exists():
            assert stat.S_IMODE(db_file.stat().st_mode) == 0o600, suffix
    keys = load_keys(data)
    assert keys.check_admin_token(token)
    assert not keys.check_admin_token(token + "x")
    assert token not in (data / "keys" / "admin-token.sha256").read_text()
    assert main(["server", "init", "--data", str(data)]) == 2
    assert "already initialised" in capsys.readouterr().err


def test_loose_key_permissions_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "server"
    main(["server", "init", "--data", str(data)])
    (data / "keys" / "hpke-x25519.key").chmod(0o644)
    with pytest.raises(ServerConfigError):
        load_keys(data)


def test_device_token_enroll_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sync.server import devices
    from sync.server.db import open_database

    from .factory import device_public_key

    data = tmp_path / "server"
    main(["server", "init", "--data", str(data)])
    capsys.readouterr()
    assert main(["server", "device-token", "--data", str(data), "--name", "booth 1"]) == 0
    token = capsys.readouterr().out.strip()
    db = open_database(f"sqlite:///{data / 'server.sqlite3'}")
    devices.enroll(db, token, "kiosk-1", device_public_key(1))
    db.close()
    assert main(["server", "devices", "--data", str(data)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["device_id"] for d in listed] == ["kiosk-1"]
    assert listed[0]["revoked_at"] is None
    assert main(["server", "devices", "revoke", "kiosk-1", "--data", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["revoked_at"] is not None
    assert main(["server", "devices", "revoke", "nope", "--data", str(data)]) == 2
    assert main(["server", "audit", "--data", str(data)]) == 0
    assert "verified: 3 entries" in capsys.readouterr().out


def test_trust_from_pem_bundle_or_kiosk_profile(tmp_path: Path) -> None:
    from sync.server.context import load_trust_roots

    repo = Path(__file__).resolve().parents[2]
    from_profile = load_trust_roots(repo / "config" / "kiosk.demo.toml")
    from_pem = load_trust_roots(repo / "config" / "trust" / "test" / "jpki-auth-root.pem")
    assert from_profile == from_pem
    assert len(from_pem) == 1
    assert load_trust_roots(None) == []
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ServerConfigError):
        load_trust_roots(tmp_path / "bad.pem")
