"""``madoguchi server run``: uvicorn with uvloop and httptools, one or several worker processes.

With ``--workers N`` uvicorn needs an import string, so the options travel to the workers in the
environment variable ``MADOGUCHI_SERVER_OPTIONS`` (JSON, no secrets: the keys are read from the data
directory by each worker) and :func:`app_from_env` builds the app there. The parent applies the
migrations once before any worker starts. The loop is pinned to uvloop: with several workers on the
plain asyncio loop, uvicorn's listener loses TCP_NODELAY and keep-alive requests stall on Nagle
(about 91 requests/s; ../shared/docs/performance-floors.md §3).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from sync.server.context import ServerContext, ServerOptions

ENV_OPTIONS = "MADOGUCHI_SERVER_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """What ``madoguchi server run`` was told."""

    data_dir: Path
    db_url: str
    host: str = "127.0.0.1"
    port: int = 8765
    programs_dir: Path | None = None
    trust_file: Path | None = None
    workers: int = 1

    def server_options(self) -> ServerOptions:
        """The per-process options every worker builds its context from."""
        return ServerOptions(
            data_dir=self.data_dir,
            db_url=self.db_url,
            programs_dir=self.programs_dir,
            trust_file=self.trust_file,
        )


def _encode(options: ServerOptions) -> str:
    return json.dumps(
        {
            "data_dir": str(options.data_dir),
            "db_url": options.db_url,
            "programs_dir": str(options.programs_dir) if options.programs_dir else None,
            "trust_file": str(options.trust_file) if options.trust_file else None,
        }
    )


def _decode(text: str) -> ServerOptions:
    raw = json.loads(text)
    return ServerOptions(
        data_dir=Path(raw["data_dir"]),
        db_url=raw["db_url"],
        programs_dir=Path(raw["programs_dir"]) if raw["programs_dir"] else None,
        trust_file=Path(raw["trust_file"]) if raw["trust_file"] else None,
    )


def app_from_env() -> FastAPI:
    """uvicorn factory for worker processes (reads :data:`ENV_OPTIONS`)."""
    from sync.server.app import create_app

    ctx = ServerContext.build(_decode(os.environ[ENV_OPTIONS]), run_migrations=False)
    return create_app(ctx, close_on_shutdown=True)


def serve(options: ServeOptions) -> int:
    """Migrate, then run uvicorn until interrupted; return the exit code."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Validate everything (keys, programmes, trust, database) in the parent, and migrate once.
    ctx = ServerContext.build(options.server_options())
    ctx.close()
    os.environ[ENV_OPTIONS] = _encode(options.server_options())
    uvicorn.run(
        "sync.server.run:app_from_env",
        factory=True,
        host=options.host,
        port=options.port,
        workers=max(1, options.workers),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="info",
    )
    return 0
