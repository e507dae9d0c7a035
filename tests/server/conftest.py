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


# --- a real server on loopback ---------------------------------------------------------------------

import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey  # noqa: E402

from sync.server.context import ServerContext, ServerOptions  # noqa: E402
from sync.server.keys import init_data_dir  # noqa: E402
from sync.server.revocation import RevocationChecker  # noqa: E402

from .factory import Kiosk, write_program  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TEST_TRUST = REPO / "config" / "trust" / "test" / "jpki-auth-root.pem"


def write_test_programs(directory: Path) -> Path:
    """The programmes the server tests use (all open now, unless the name says otherwise)."""
    write_program(
        directory, "demo", award='kind = "none"\npoints = 0', one_grant=False, disaster_required=False
    )
    write_program(
        directory,
        "miyagi-fcfs",
        residency='prefectures = ["宮城県"]',
        award='kind = "all_eligible"\npoints = 3000\nquota = 2',
    )
    write_program(
        directory,
        "miyagi-lottery",
        residency='prefectures = ["宮城県"]',
        award='kind = "lottery"\npoints = 3000\nquota = 2\ndraw_date = 2026-01-01\n'
        "everyone_wins_below_quota = true",
    )
    write_program(
        directory,
        "miyagi-second",
        residency='prefectures = ["宮城県"]',
        exclusions='[exclusions]\nrecipients_of = ["miyagi-lottery"]',
    )
    write_program(directory, "young-only", age="max = 30")
    write_program(directory, "closed", period="[period]\nstart = 2020-01-01\nend = 2020-01-31")
    return directory


@dataclass
class RunningServer:
    """A server on a loopback port, its context and an admin token."""

    url: str
    ctx: ServerContext
    admin_token: str
    data_dir: Path

    @property
    def public_key(self) -> X25519PublicKey:
        return self.ctx.keys.hpke_private_key.public_key()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.admin_token}"}
        )

    def enroll(self, kiosk_id: str = "kiosk-test-1") -> Kiosk:
        """Issue a token and enroll a new simulated kiosk through the HTTP API."""
        from sync.server.devices import issue_token
        from sync.wire import b64encode

        kiosk = Kiosk(self.public_key, kiosk_id=kiosk_id)
        token = issue_token(self.ctx.db, kiosk_id)
        with self.client() as client:
            reply = client.post(
                "/v1/enroll",
                json={
                    "token": token,
                    "kiosk_id": kiosk_id,
                    "device_public_key": b64encode(kiosk.public_key_raw()),
                },
            )
        assert reply.status_code == 200, reply.text
        return kiosk


def start_server(
    tmp_path: Path,
    db_url: str,
    *,
    revocation: RevocationChecker | None = None,
    max_inflight: int = 8,
    body_timeout_s: float = 30.0,
    per_device_inflight: int = 10,
) -> tuple[RunningServer, uvicorn.Server, threading.Thread]:
    from sync.server.app import create_app

    data_dir = tmp_path / "server-data"
    token = init_data_dir(data_dir)
    options = ServerOptions(
        data_dir=data_dir,
        db_url=db_url,
        programs_dir=write_test_programs(tmp_path / "programs"),
        trust_file=TEST_TRUST,
        max_inflight_batches=max_inflight,
        body_timeout_s=body_timeout_s,
        per_device_inflight=per_device_inflight,
        pool_size=4,
    )
    ctx = ServerContext.build(options, revocation=revocation)
    app = create_app(ctx)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    from sync.server.run import uvicorn_settings

    config = uvicorn.Config(app, log_level="warning", **uvicorn_settings())  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return RunningServer(f"http://127.0.0.1:{port}", ctx, token, data_dir), server, thread


def stop_server(running: RunningServer, server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=10)
    running.ctx.close()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    running, srv, thread = start_server(tmp_path, db_url)
    yield running
    stop_server(running, srv, thread)
