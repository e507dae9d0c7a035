"""Everything one server process needs, built once from the data directory and options.

No module-level singletons: the FastAPI app, the CLI commands and the tests each build a
:class:`ServerContext` and pass it down, so two servers (e.g. SQLite and PostgreSQL in one test run)
can live in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from kiosk.errors import ProgramError
from kiosk.rules.programs import Program, load_programs
from sync.server.chain import ChainVerifier, load_roots
from sync.server.db import Database, open_database
from sync.server.decide import BatchDecider
from sync.server.errors import ServerConfigError
from sync.server.keys import ServerKeys, load_keys
from sync.server.migrations import migrate
from sync.server.persons import PersonKeyer
from sync.server.revocation import NoRevocationChecker, RevocationChecker
from sync.server.verify import RecordVerifier

logger = logging.getLogger(__name__)

#: The repository's programme definitions, the default of ``--programs``.
DEFAULT_PROGRAMS_DIR = Path(__file__).resolve().parents[2] / "config" / "programs"


@dataclass(frozen=True)
class ServerOptions:
    """What ``madoguchi server run`` was told (all paths absolute)."""

    data_dir: Path
    db_url: str
    programs_dir: Path | None = None
    trust_file: Path | None = None
    max_inflight_batches: int = 8
    #: seconds a client has to send a request body once authenticated (408 after; sync.server.guard)
    body_timeout_s: float = 30.0
    #: requests in progress per device (the kiosk's parallel_uploads, at most 8, plus a heartbeat)
    per_device_inflight: int = 10
    retention_years: int = 5
    pool_size: int = 8


def load_trust_roots(path: Path | None) -> list[x509.Certificate]:
    """JPKI auth roots from a PEM bundle, or from the ``[trust]`` section of a kiosk profile (TOML).

    A kiosk profile is accepted so a demo or test deployment trusts exactly what its kiosks trust
    (``card.trust`` loads it). Without a file the server trusts nothing and says so in the log.
    """
    if path is None:
        logger.warning("no --trust file: no JPKI root is trusted, every record will be rejected")
        return []
    if path.suffix == ".toml":
        from card.errors import TrustConfigError
        from card.trust import load_trust_store

        try:
            return list(load_trust_store(path).jpki_auth_roots)
        except TrustConfigError as exc:
            raise ServerConfigError(str(exc)) from None
    return load_roots(path)


def load_programs_for_cli(directory: Path | None) -> dict[str, Program]:
    """Load programme definitions, turning the kiosk's ProgramError into a server config error."""
    try:
        return load_programs(directory or DEFAULT_PROGRAMS_DIR)
    except ProgramError as exc:
        raise ServerConfigError(str(exc)) from None


def load_file_exclusions(programs: Mapping[str, Program]) -> dict[str, frozenset[bytes]]:
    """The keyed-hash exclusion lists named by each programme, read once at start-up."""
    out: dict[str, frozenset[bytes]] = {}
    for program in programs.values():
        hashes: set[bytes] = set()
        for path in program.exclusions.hash_lists:
            hashes.update(bytes.fromhex(line) for line in path.read_text("ascii").split())
        if hashes:
            out[program.id] = frozenset(hashes)
    return out


@dataclass
class ServerContext:
    """The process's database, keys, verifiers and programme rules."""

    options: ServerOptions
    db: Database
    keys: ServerKeys
    programs: dict[str, Program]
    chains: ChainVerifier
    revocation: RevocationChecker
    verifier: RecordVerifier = field(init=False)
    decider: BatchDecider = field(init=False)
    keyer: PersonKeyer = field(init=False)

    def __post_init__(self) -> None:
        self.keyer = PersonKeyer(self.keys.person_secret)
        self.verifier = RecordVerifier(
            server_key=self.keys.hpke_private_key,
            chains=self.chains,
            revocation=self.revocation,
            programs=self.programs,
            keyer=self.keyer,
        )
        self.decider = BatchDecider(self.db.dialect, load_file_exclusions(self.programs))

    @classmethod
    def build(
        cls,
        options: ServerOptions,
        *,
        revocation: RevocationChecker | None = None,
        run_migrations: bool = True,
    ) -> ServerContext:
        """Open the database (migrating it), load keys, programmes and trust roots."""
        keys = load_keys(options.data_dir)
        programs = load_programs_for_cli(options.programs_dir)
        roots = load_trust_roots(options.trust_file)
        db = open_database(options.db_url, pool_size=options.pool_size)
        if run_migrations:
            migrate(db)
        return cls(
            options=options,
            db=db,
            keys=keys,
            programs=programs,
            chains=ChainVerifier(roots),
            revocation=revocation or NoRevocationChecker(),
        )

    def close(self) -> None:
        """Close the database pool."""
        self.db.close()
