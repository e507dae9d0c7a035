"""Issue 14 item 6, the storage and command-line half: private files, keyed certificate tags,
signed audit checkpoints that catch a recomputed chain, and one-line CLI errors."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from kiosk.cli import main
from sync.server.audit import GENESIS, verify
from sync.server.errors import AuditChainError, AuditCheckpointError

from .conftest import RunningServer
from .factory import persona_certificate


def _base(server: RunningServer) -> list[str]:
    return ["--data", str(server.data_dir), "--db", server.ctx.options.db_url]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_files_are_private_from_the_first_write(tmp_path: Path) -> None:
    from sync.server.db import open_database
    from sync.server.migrations import migrate

    path = tmp_path / "fresh.sqlite3"
    db = open_database(f"sqlite:///{path}")
    migrate(db)
    with db.transaction(exclusive=True) as tx:  # leaves a -wal and -shm behind while open
        tx.execute("CREATE TABLE t (x INTEGER)")
    try:
        for suffix in ("", "-wal", "-shm"):
            assert _mode(Path(f"{path}{suffix}")) == 0o600, suffix
    finally:
        db.close()
    # a file left 0644 by an older version is tightened when the server opens it
    path.chmod(0o644)
    db = open_database(f"sqlite:///{path}")
    with db.transaction() as tx:
        tx.scalar("SELECT 1")
    db.close()
    assert _mode(path) == 0o600


def test_old_data_directory_layout_still_loads(tmp_path: Path) -> None:
    from sync.server.keys import init_data_dir, keys_dir, load_keys

    data = tmp_path / "old"
    init_data_dir(data)
    for item in (data / "keys").iterdir():  # as an older version laid it out: keys beside the db
        item.rename(data / item.name)
    (data / "keys").rmdir()
    assert keys_dir(data) == data
    load_keys(data)


def test_certificate_fingerprints_are_stored_keyed(server: RunningServer) -> None:
    kiosk = server.enroll()
    envelope = kiosk.make()
    with server.client() as client:
        from sync.wire import DEVICE_HEADER, batch_request_body

        reply = client.post(
            "/v1/records",
            content=batch_request_body([envelope]),
            headers={DEVICE_HEADER: kiosk.kiosk_id, "content-type": "application/json"},
        )
    assert reply.json()["results"][0]["status"] == "accepted"
    plain = hashlib.sha256(persona_certificate("miyagi-sendai")).digest()
    with server.ctx.db.transaction() as tx:
        stored = bytes(tx.scalar("SELECT cert_fingerprint FROM registrations"))
    assert len(stored) == 32
    assert stored != plain  # anyone holding the certificate cannot find the row by its hash
    assert stored == server.ctx.keyer.certificate_tag(plain)


def test_audit_checkpoint_catches_a_recomputed_chain(
    server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sync.server import audit

    server.enroll("kiosk-a")
    server.enroll("kiosk-b")
    checkpoint = tmp_path / "checkpoint.json"
    assert main(["server", "audit", "--checkpoint", "--output", str(checkpoint), *_base(server)]) == 0
    assert _mode(checkpoint) == 0o600
    capsys.readouterr()
    assert main(["server", "audit", "--against", str(checkpoint), *_base(server)]) == 0
    assert "and 1 checkpoint(s)" in capsys.readouterr().out
    # an attacker with database access edits entry 2 and recomputes the chain and the head
    with server.ctx.db.transaction(exclusive=True) as tx:
        rows = tx.execute("SELECT seq, at, kind, actor, detail FROM audit_log ORDER BY seq")
        prev = GENESIS
        for seq, at, kind, actor, detail in rows:
            if int(seq) == 2:
                detail = str(detail).replace("kiosk-a", "kiosk-x")
                assert "kiosk-x" in detail
            digest = audit._chain(prev, int(seq), audit.as_datetime(at), str(kind), str(actor), str(detail))
            tx.execute(
                "UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (detail, prev, digest, seq),
            )
            prev = digest
        tx.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    assert verify(server.ctx.db) >= 2  # the plain chain cannot tell
    assert main(["server", "audit", "--against", str(checkpoint), *_base(server)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("madoguchi server: audit chain broken at entry")
    assert len(err.strip().splitlines()) == 1


def test_a_checkpoint_from_another_key_or_edited_is_refused(server: RunningServer, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.server.checkpoints import make_checkpoint, verify_against
    from sync.server.keys import audit_signing_key

    server.enroll("kiosk-a")
    ours = audit_signing_key(server.data_dir)
    made = make_checkpoint(server.ctx.db, ours)
    assert verify_against(server.ctx.db, ours.public_key(), [made]) >= 1
    with pytest.raises(AuditCheckpointError):
        verify_against(server.ctx.db, Ed25519PrivateKey.generate().public_key(), [made])
    edited = json.loads(json.dumps(made))
    edited["checkpoint"]["hash"] = "00" * 32
    with pytest.raises(AuditCheckpointError):
        verify_against(server.ctx.db, ours.public_key(), [edited])
    # a log rolled back below the checkpoint
    with server.ctx.db.transaction(exclusive=True) as tx:
        tx.execute("UPDATE audit_head SET seq = seq - 1 WHERE id = 1")
        tx.execute("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
    with pytest.raises(AuditChainError):
        verify_against(server.ctx.db, ours.public_key(), [made])


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--month", "9999-12"],
        ["report", "--month", "0000-01"],
        ["report", "--month", "2025-13"],
        ["export", "--program", "miyagi-fcfs", "--output", "{dir}"],
        ["export", "--program", "miyagi-fcfs", "--output", "{dir}/missing/x.csv"],
        ["audit", "--against", "{dir}/nope.json"],
    ],
    ids=["month-9999-12", "month-0000", "month-13", "output-dir", "output-missing-dir", "no-checkpoint"],
)
def test_every_cli_error_is_one_line(
    server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    capsys.readouterr()
    args = [a.replace("{dir}", str(tmp_path)) for a in argv]
    assert main(["server", *args, *_base(server)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("madoguchi server: ")
    assert "Traceback" not in captured.err


def test_export_file_is_private(server: RunningServer, tmp_path: Path) -> None:
    out = tmp_path / "grants.csv"
    out.write_text("old")
    out.chmod(0o644)
    assert main(["server", "export", "--program", "miyagi-fcfs", "--output", str(out), *_base(server)]) == 0
    assert _mode(out) == 0o600
    assert "old" not in out.read_text()
