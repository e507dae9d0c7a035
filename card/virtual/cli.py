"""``madoguchi virtual-card``: insert a virtual My Number Card into the vpcd reader until stopped.

For the demo, manual testing with real tools (``opensc-tool``, ``pcsc_scan``) and training. SIGTERM
and SIGINT remove the card cleanly (socket closed, so pcscd reports the reader EMPTY).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``virtual-card`` sub-command."""
    parser = subparsers.add_parser(
        "virtual-card",
        help="insert a virtual My Number Card into the vpcd reader (test/demo only)",
        description="Insert a virtual My Number Card (test J-LIS hierarchy) into the vpcd reader "
        "until SIGTERM/SIGINT.",
    )
    parser.add_argument("--persona", default="jlis-test", help="persona id or TOML file (default: jlis-test)")
    parser.add_argument("--port", type=int, default=35963, help="vpcd port (35963 = 'Virtual PCD 00 00')")
    parser.add_argument("--remove-after", type=int, metavar="N", help="leave the field at APDU N+1")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS", help="delay every APDU")
    parser.add_argument(
        "--corrupt-response", type=int, metavar="N", help="invert a data byte of the answer to APDU N"
    )
    parser.add_argument("--log", metavar="FILE", help="append the APDU access log (JSON lines, no data)")
    parser.add_argument("--list", action="store_true", help="list the shipped personas and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler: returns 0 after a clean removal, 2 for a bad persona/option, 1 when vpcd is absent."""
    import signal
    import threading
    from pathlib import Path

    from card.virtual.card import VirtualMyNumberCard
    from card.virtual.errors import PersonaError, VpcdError
    from card.virtual.faults import FaultPlan
    from card.virtual.persona import list_personas, load_persona
    from card.virtual.vpcd import VpcdCard

    if args.list:
        for persona_id in list_personas():
            print(f"{persona_id}\t{load_persona(persona_id).label}")
        return 0
    try:
        persona = load_persona(args.persona)
        faults = FaultPlan(
            remove_after=args.remove_after, delay=args.delay, corrupt_response=args.corrupt_response
        )
    except (PersonaError, ValueError) as exc:
        print(f"virtual-card: {exc}", file=sys.stderr)
        return 2
    card = VirtualMyNumberCard(persona, faults=faults, log_file=Path(args.log) if args.log else None)
    vpcd = VpcdCard(card, port=args.port)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        vpcd.insert()
    except VpcdError as exc:
        print(f"virtual-card: {exc}", file=sys.stderr)
        card.close()
        return 1
    print(f"inserted persona {persona.id} ({persona.label}) on vpcd port {args.port}", flush=True)
    try:
        while not stop.is_set() and vpcd.inserted:
            stop.wait(0.2)
    finally:
        vpcd.remove()
        card.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reason = "by the fault plan" if card.removed else "on request"
    print(f"removed the card ({reason}) after {len(card.access_log)} APDUs", flush=True)
    return 0
