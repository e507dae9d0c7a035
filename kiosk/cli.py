"""The ``madoguchi`` command line's entry: the sub-command table that wires every package's commands.

Each package contributes a ``register(subparsers)`` function; heavy imports happen inside the
command handlers so that ``madoguchi --help`` and start-up stay fast. This is the top of the layers
(docs/development.md, "Layers"): it loads every front end and the server's commands by name. The
parts those commands run on (card stack, outbox, sync service) are built by the composition root,
:mod:`kiosk.composition`, not here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

#: Modules that contribute sub-commands (all of them exist: a missing one is an error, not a gap).
COMMAND_MODULES: tuple[str, ...] = (
    "card.cli",
    "card.virtual.cli",
    "kiosk.register_cli",
    "kiosk.selftest",
    "kiosk.checkin_cli",
    "kiosk.staff_auth",
    "sync.cli",
    "sync.server.cli",
    "ui.cli",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser from every available command module."""
    parser = argparse.ArgumentParser(prog="madoguchi", description="My Number Card registration kiosk (窓口)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # A sub-command below the kiosk (``card read``) that needs the profile asks for it through this.
    parser.set_defaults(default_profile=_default_profile)
    return parser


def _default_profile() -> Path:
    """The kiosk's profile when ``--config`` is absent (imported on use: ``--help`` stays fast)."""
    from kiosk.settings import default_config_path

    return default_config_path()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the return value is the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
