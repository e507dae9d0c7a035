"""The composition root registers every command of docs/development.md's ownership table."""

from __future__ import annotations

import argparse

from kiosk.cli import build_parser


def test_every_owned_command_is_registered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    owned = {
        "card", "virtual-card", "register", "self-test", "checkin", "staff-passcode",
        "enroll", "queue", "sync", "server", "kiosk",
    }  # fmt: skip
    assert set(sub.choices) == owned
