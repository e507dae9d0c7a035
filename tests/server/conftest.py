"""Fixtures: the same tests run on SQLite files and on the real PostgreSQL of scripts/test.sh.

PostgreSQL isolation: every test gets a fresh schema (``search_path`` in the URL), dropped afterwards,
so tests never see each other's rows and can run in any order. Without ``MADOGUCHI_TEST_PG_DSN`` the
PostgreSQL variants skip (scripts/test.sh always sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from sync.server.db import Database, open_database
from sync.server.migrations import migrate

PG_DSN = os.environ.get("MADOGUCHI_TEST_PG_DSN")

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_schema_url(schema: str) -> str:
    assert PG_DSN
    sep = "&" if "?" in PG_DSN else "?"
    return f"{PG_DSN}{sep}options={quote(f'-csearch_path={schema}')}"


def _pg_admin(sql: str) -> None:
    import psycopg

    assert PG_DSN
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql)


def make_db_url(engine: str, tmp_path: Path) -> tuple[str, str | None]:
    """A fresh database URL for ``engine``; the second item is the PostgreSQL schema to drop."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'server.sqlite3'}", None
    if not PG_DSN:
        pytest.skip("MADOGUCHI_TEST_PG_DSN is not set (scripts/test.sh sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE SCHEMA {schema}")
    return _pg_schema_url(schema), schema


def drop_schema(schema: str | None) -> None:
    if schema:
        _pg_admin(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(engine: str, tmp_path: Path) -> Iterator[str]:
    url, schema = make_db_url(engine, tmp_path)
    yield url
    drop_schema(schema)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url, pool_size=4)
    migrate(database)
    yield database
    database.close()
