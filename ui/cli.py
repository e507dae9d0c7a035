"""``madoguchi kiosk``: the touch-screen kiosk (Qt).

    madoguchi kiosk [--config FILE] [--virtual-card PERSONA] [--fullscreen]

``--virtual-card`` is training / demo mode: the in-process virtual card with "place" and "take"
buttons instead of a reader. The data directory must be enrolled (``madoguchi enroll``): records
go into the real sealed outbox. PySide6 is imported inside the handler only, so the rest of the
command line (and ``kiosk/``) never loads Qt.

Exit codes: 0 window closed, 2 configuration (profile, programmes, trust, persona), 10 not enrolled
or the outbox cannot be opened (checked before the window shows, and again by the card worker).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_CONFIG: Final = 2
EXIT_NOT_ENROLLED: Final = 10


def register(subparsers: Any) -> None:
    """Add ``kiosk`` to the ``madoguchi`` parser."""
    parser = subparsers.add_parser("kiosk", help="run the touch-screen kiosk (Qt)")
    parser.add_argument("--config", metavar="FILE", help="kiosk profile (default: $MADOGUCHI_CONFIG, ...)")
    parser.add_argument(
        "--virtual-card", metavar="PERSONA", help="training mode: the in-process virtual card (persona name)"
    )
    parser.add_argument("--fullscreen", action="store_true", help="full screen (the kiosk itself)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from card.errors import TrustConfigError
    from card.virtual.errors import VirtualCardError
    from kiosk.errors import ConfigError
    from kiosk.settings import load_settings

    try:
        settings = load_settings(Path(args.config) if args.config else None)
    except ConfigError as exc:
        sys.stderr.write(f"error (config): {exc}\n")
        return EXIT_CONFIG

    from PySide6.QtWidgets import QApplication

    from ui.app import KioskApp
    from ui.theme import apply_theme

    app = QApplication(sys.argv[:1])
    apply_theme(app)
    try:
        kiosk = KioskApp(settings, persona=args.virtual_card)
    except ConfigError as exc:
        sys.stderr.write(f"error (config): {exc}\n")
        return EXIT_CONFIG
    codes: list[int] = []

    def startup_failed(error: BaseException) -> None:
        # The card worker could not load the card side: the profile's trust, the persona, the
        # enrollment or the outbox. The window closes with the matching exit code.
        config = isinstance(error, ConfigError | TrustConfigError | VirtualCardError)
        codes.append(EXIT_CONFIG if config else EXIT_NOT_ENROLLED)
        sys.stderr.write(f"error ({type(error).__name__}): {error}\n")
        app.exit(codes[-1])

    kiosk.controller.startup_failed.connect(startup_failed)
    if args.fullscreen:
        kiosk.window.showFullScreen()
    else:
        kiosk.window.show()
    kiosk.start()
    try:
        status = app.exec()
        return codes[0] if codes else (EXIT_OK if status == 0 else 1)
    finally:
        kiosk.stop()
