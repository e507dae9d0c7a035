"""``madoguchi kiosk``: the touch-screen kiosk (Qt).

    madoguchi kiosk [--config FILE] [--virtual-card PERSONA] [--fullscreen] [--walkthrough DIR]

``--virtual-card`` is training / demo mode: the in-process virtual card with "place" and "take"
buttons instead of a reader. ``--walkthrough DIR`` (with ``--virtual-card``) runs unattended:
:mod:`ui.walkthrough` taps through one registration on the real screens (offscreen when there is no
display), saves a PNG of every screen into DIR, waits until the server has accepted the record,
and prints one JSON line (screens, taps, code, images) — the demo's headless mode.

The data directory must be enrolled (``madoguchi enroll``): records
go into the real sealed outbox. PySide6 is imported inside the handler only, so the rest of the
command line (and ``kiosk/``) never loads Qt.

Exit codes: 0 window closed (or SIGTERM / SIGINT); 2 configuration (profile, programmes, trust,
persona); 10 not enrolled, the outbox cannot be opened, or another failure while the card worker
loads the card side; 70 (``EX_SOFTWARE``) an internal error (a bug) while the kiosk ran: the
session was wiped and the kiosk stops so its supervisor restarts it clean (crash-only).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Final

EXIT_OK: Final = 0
EXIT_CONFIG: Final = 2
EXIT_NOT_ENROLLED: Final = 10
EXIT_INTERNAL: Final = 70  # EX_SOFTWARE (sysexits.h)


def register(subparsers: Any) -> None:
    """Add ``kiosk`` to the ``madoguchi`` parser."""
    parser = subparsers.add_parser("kiosk", help="run the touch-screen kiosk (Qt)")
    parser.add_argument("--config", metavar="FILE", help="kiosk profile (default: $MADOGUCHI_CONFIG, ...)")
    parser.add_argument(
        "--virtual-card", metavar="PERSONA", help="training mode: the in-process virtual card (persona name)"
    )
    parser.add_argument("--fullscreen", action="store_true", help="full screen (the kiosk itself)")
    parser.add_argument(
        "--walkthrough",
        metavar="DIR",
        help="with --virtual-card: register once through the screens unattended, one PNG per screen in DIR",
    )
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

    from kiosk.settings import KioskMode

    if settings.mode is KioskMode.SHELTER:  # 避難所の受付: docs/shelter.md
        from ui.pages.shelter_app import run_shelter_kiosk

        return run_shelter_kiosk(settings, fullscreen=args.fullscreen, persona=args.virtual_card)

    if args.walkthrough and not args.virtual_card:
        sys.stderr.write("error (usage): --walkthrough needs --virtual-card PERSONA\n")
        return EXIT_CONFIG
    if args.walkthrough and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import signal

    from PySide6.QtCore import QTimer
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

    def internal_error(error: BaseException) -> None:
        # A bug on the card worker: the runner is closed and the window wiped already. Exit so the
        # supervisor restarts a clean kiosk; the type name only (the message may hold personal data).
        codes.append(EXIT_INTERNAL)
        sys.stderr.write(f"error (internal): {type(error).__name__}\n")
        app.exit(EXIT_INTERNAL)

    kiosk.controller.startup_failed.connect(startup_failed)
    kiosk.controller.internal_error.connect(internal_error)
    # SIGTERM (systemd) and Ctrl-C end the event loop, so the runner and the outbox close cleanly;
    # the timer gives the interpreter a moment to run its signal handlers while Qt waits.
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(200)
    if args.fullscreen:
        kiosk.window.showFullScreen()
    else:
        kiosk.window.show()
    kiosk.start()
    if args.walkthrough:
        try:
            return _walk(kiosk, args.virtual_card, Path(args.walkthrough), codes)
        finally:
            kiosk.stop()
    try:
        status = app.exec()
        return codes[0] if codes else (EXIT_OK if status == 0 else 1)
    finally:
        kiosk.stop()


def _walk(kiosk: Any, persona_name: str, out_dir: Any, codes: list[int]) -> int:
    """``--walkthrough``: one registration through the screens, then wait for the server's accept."""
    import json
    import time

    import httpx
    from PySide6.QtWidgets import QApplication

    from card.virtual.persona import load_persona
    from ui.walkthrough import Walkthrough, WalkthroughError

    walk = Walkthrough(kiosk, load_persona(persona_name).auth_pin, out_dir)
    try:
        report = walk.run()
    except WalkthroughError as exc:
        sys.stderr.write(f"error (walkthrough): {exc}\n")
        return codes[0] if codes else 1
    status = "queued"
    deadline = time.monotonic() + 30.0
    url = kiosk.settings.server.url
    while url and report.code and time.monotonic() < deadline:
        QApplication.processEvents()  # the background sync runs on the card worker meanwhile
        try:
            reply = httpx.get(f"{url}/v1/registrations/{report.code}", timeout=2.0)
            if reply.status_code == 200:
                status = str(reply.json().get("status"))
                if status != "queued":
                    break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    walk.finish()
    print(
        json.dumps(
            {
                "code": report.code,
                "server_status": status,
                "screens": report.screens,
                "taps": report.taps,
                "pin_taps": report.pin_taps,
                "images": [str(p) for p in report.images],
            },
            ensure_ascii=False,
        )
    )
    return EXIT_OK if status == "accepted" else 1
