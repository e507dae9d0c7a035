"""``madoguchi server run``: uvicorn with uvloop and httptools, one or several API processes.

The options travel to each process in the environment variable ``MADOGUCHI_SERVER_OPTIONS`` (JSON,
no secrets: each process reads the keys from the data directory) and :func:`app_from_env` builds the
app there. The parent applies the migrations once before any process starts. The loop is pinned to
uvloop: with several workers on the plain asyncio loop, uvicorn's listener loses TCP_NODELAY and
keep-alive requests stall on Nagle (about 91 requests/s; ../shared/docs/performance-floors.md §3).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from sync.server.context import ServerContext, ServerOptions
from sync.server.errors import ServerConfigError

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


def _listener(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT, so the kernel spreads connections over the processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another server already listens on: with SO_REUSEPORT alone, a second server
    started by mistake would silently share the port (and half the traffic) with the first.

    :raises ServerConfigError: the port is in use.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of a previous run in TIME_WAIT must not block a restart; an
        # active listener still makes this bind fail (it lacks SO_REUSEPORT)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def uvicorn_settings() -> dict[str, object]:
    """The uvicorn settings every API process (and the tests' loopback server) runs with.

    httptools with :class:`~sync.server.guard.GuardedHttpToolsProtocol` (header size and header time
    limits, which uvicorn only has for h11), an explicit keep-alive timeout, h11's event size bound
    in case anyone switches the parser, and no server header.
    """
    from sync.server.guard import KEEP_ALIVE_TIMEOUT_S, MAX_HEADER_BYTES, GuardedHttpToolsProtocol

    return {
        "loop": "uvloop",
        "http": GuardedHttpToolsProtocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT_S,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "server_header": False,
        "access_log": False,
    }


def _worker(options_json: str, host: str, port: int) -> None:
    """One API process: its own SO_REUSEPORT listener and uvicorn (uvloop, httptools)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ[ENV_OPTIONS] = options_json
    config = uvicorn.Config(
        "sync.server.run:app_from_env",
        factory=True,
        log_level="info",
        **uvicorn_settings(),  # type: ignore[arg-type]
    )
    uvicorn.Server(config).run(sockets=[_listener(host, port)])


def serve(options: ServeOptions) -> int:
    """Migrate, then serve until SIGTERM/SIGINT; return the exit code.

    One worker runs in this process. Several workers are separate processes, each with its own
    ``SO_REUSEPORT`` listener: the kernel then spreads connections over them. (uvicorn's own
    ``--workers`` shares one listening socket, and whichever process is in ``accept`` first takes the
    connections: a kiosk fleet's long-lived keep-alive connections then pile onto one process while
    the other core idles — measured here as half the throughput.)
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Validate everything (keys, programmes, trust, database) in the parent, and migrate once.
    ctx = ServerContext.build(options.server_options())
    ctx.close()
    encoded = _encode(options.server_options())
    _check_port_free(options.host, options.port)
    if options.workers <= 1:
        _worker(encoded, options.host, options.port)
        return 0
    spawn = multiprocessing.get_context("spawn")
    workers = [
        spawn.Process(target=_worker, args=(encoded, options.host, options.port), name=f"madoguchi-api-{i}")
        for i in range(options.workers)
    ]
    for worker in workers:
        worker.start()

    def stop(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    return max((w.exitcode or 0) for w in workers)
