"""The database layer, migrations, devices and the audit chain on both engines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sync.server import audit, devices
from sync.server.db import Database, Dialect, open_database
from sync.server.errors import (
    AuditChainError,
    DeviceConflictError,
    EnrollmentError,
    MigrationError,
    UnknownDeviceError,
    UnsupportedDatabaseError,
)
from sync.server.migrations import available, ensure_partitions, list_partitions, migrate

from .conftest import PG_DSN
from .factory import device_public_key


def test_migrate_is_idempotent_and_records_versions(db: Database) -> None:
    assert migrate(db) == len(available(db.dialect))
    with db.transaction() as tx:
        versions = [r[0] for r in tx.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(available(db.dialect)) + 1))


def test_newer_schema_is_refused(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (999, "future", datetime.now(UTC)),
        )
    with pytest.raises(MigrationError):
        migrate(db)


def test_unsupported_url() -> None:
    with pytest.raises(UnsupportedDatabaseError):
        open_database("mysql://x")


def test_timestamps_round_trip_as_aware_utc(db: Database) -> None:
    moment = datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=UTC)
    devices.issue_token(db, "booth")
    with db.transaction() as tx:
        tx.execute("UPDATE enrollment_tokens SET created_at = ?", (moment,))
        value = tx.scalar("SELECT created_at FROM enrollment_tokens")
    assert value == moment
    assert value.tzinfo is not None


def _insert_then_fail(db: Database) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO program_counters (program_id, grants, points) VALUES (?, ?, ?)", ("p1", 1, 1))
        raise RuntimeError("boom")


def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        _insert_then_fail(db)
    with db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM program_counters") == 0


def test_enrollment_token_is_one_time_and_retry_safe(db: Database) -> None:
    token = devices.issue_token(db, "Aeon booth 3")
    key = device_public_key(2)
    assert devices.enroll(db, token, "kiosk-1", key) == "kiosk-1"
    # the same enrollment retried after a lost reply answers the same
    assert devices.enroll(db, token, "kiosk-1", key) == "kiosk-1"
    with pytest.raises(EnrollmentError):
        devices.enroll(db, token, "kiosk-2", key)
    with pytest.raises(EnrollmentError):
        devices.enroll(db, "not-a-token", "kiosk-3", key)
    listed = devices.list_devices(db)
    assert [(d.device_id, d.name, d.public_key) for d in listed] == [("kiosk-1", "Aeon booth 3", key)]


def test_expired_token_and_conflicting_key(db: Database) -> None:
    old = devices.issue_token(db, "x", ttl=timedelta(seconds=-1))
    with pytest.raises(EnrollmentError):
        devices.enroll(db, old, "kiosk-1", device_public_key(1))
    devices.enroll(db, devices.issue_token(db, "a"), "kiosk-1", device_public_key(1))
    with pytest.raises(DeviceConflictError):
        devices.enroll(db, devices.issue_token(db, "b"), "kiosk-1", device_public_key(2))


def test_revoke(db: Database) -> None:
    devices.enroll(db, devices.issue_token(db, "a"), "kiosk-1", device_public_key(1))
    revoked = devices.revoke_device(db, "kiosk-1")
    assert revoked.revoked_at is not None
    assert devices.revoke_device(db, "kiosk-1").revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(UnknownDeviceError):
        devices.revoke_device(db, "nope")


def test_audit_chain_verifies_and_detects_tampering(db: Database) -> None:
    devices.enroll(db, devices.issue_token(db, "a"), "kiosk-1", device_public_key(1))
    devices.revoke_device(db, "kiosk-1")
    assert audit.verify(db) == 3  # token, enroll, revoke
    with db.transaction() as tx:
        tx.execute("UPDATE audit_log SET detail = ? WHERE seq = 2", ('{"device_id":"kiosk-9"}',))
    with pytest.raises(AuditChainError) as info:
        audit.verify(db)
    assert info.value.sequence == 2


def test_audit_detects_deleted_entry(db: Database) -> None:
    for name in ("a", "b", "c"):
        devices.issue_token(db, name)
    with db.transaction() as tx:
        tx.execute("DELETE FROM audit_log WHERE seq = 2")
    with pytest.raises(AuditChainError):
        audit.verify(db)


def test_audit_purge_keeps_chain_verifiable(db: Database) -> None:
    for name in ("a", "b", "c"):
        devices.issue_token(db, name)
    old = datetime.now(UTC) - timedelta(days=3650)
    with db.transaction() as tx:
        tx.execute("UPDATE audit_log SET at = ? WHERE seq <= 2", (old,))
        # re-chain the two back-dated entries so the chain is valid before the purge
        prev = audit.GENESIS
        rows = tx.execute("SELECT seq, at, kind, actor, detail FROM audit_log ORDER BY seq")
        for seq, at, kind, actor, detail in rows:
            from sync.server.db import as_datetime

            digest = audit._chain(prev, int(seq), as_datetime(at), kind, actor, detail)
            tx.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
            prev = digest
        tx.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    assert audit.verify(db) == 3
    with db.transaction(exclusive=True) as tx:
        assert audit.purge_before(tx, db.dialect, old + timedelta(days=1), "test") == 2
    assert audit.verify(db) == 2  # entry 3 and the purge entry


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"])
def test_monthly_partitions(db: Database) -> None:
    assert db.dialect is Dialect.POSTGRES
    names = ensure_partitions(db, datetime(2031, 1, 15, tzinfo=UTC), months_ahead=1)
    assert names == ["registrations_y2031m01", "registrations_y2031m02"]
    assert set(names) <= set(list_partitions(db))


@pytest.mark.postgres
def test_postgres_database_that_is_not_utf8_is_refused_with_its_encoding_named() -> None:
    """An SQL_ASCII database (initdb without a locale) is refused at connect, naming the cause."""
    import psycopg

    from sync.server.errors import DatabaseEncodingError

    if not PG_DSN:
        pytest.skip("MADOGUCHI_TEST_PG_DSN is not set (scripts/test.sh sets it)")
    name = f"ascii_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        admin.execute(
            f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        )
    try:
        url = PG_DSN.rsplit("/", 1)[0] + "/" + name
        database = open_database(url, pool_size=1)
        try:
            with pytest.raises(DatabaseEncodingError, match="SQL_ASCII, not UTF8"):
                migrate(database)
        finally:
            database.close()
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name}")
