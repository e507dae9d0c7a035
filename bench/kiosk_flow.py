"""Kiosk software overhead from PIN submit to the receipt screen, excluding card time (prints JSON).

DESIGN.md §7 budget: <= 100 ms. One registration = PinSubmitted (VERIFY + read + local checks),
IdentityConfirmed (eligibility), Register (sequence file fsync, record build, card signature,
signature check, HPKE seal + Ed25519 + SQLite WAL/FULL commit, local index fsync) against the
in-process virtual card and a real sealed outbox in a temporary directory. Time inside the card
session's methods (APDUs to the virtual card, its RSA signatures, and the card layer's local
verification inside ``read``) is measured separately and subtracted; what is left is the kiosk
domain's own work: flow steps, eligibility, record building and canonical JSON, the signature check,
the durable sequence, sealing and the outbox commit.

    .venv/bin/python bench/kiosk_flow.py [--runs 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from card.session import MyNumberCardSession  # noqa: E402
from card.trust import load_trust_store  # noqa: E402
from card.virtual.card import VirtualMyNumberCard  # noqa: E402
from card.virtual.inprocess import InProcessConnection  # noqa: E402
from card.virtual.persona import load_persona  # noqa: E402
from kiosk.flow.events import (  # noqa: E402
    CardInserted,
    ConsentAccepted,
    IdentityConfirmed,
    LanguageChosen,
    PinSubmitted,
    Register,
    ServicesChosen,
    Start,
)
from kiosk.flow.machine import Flow, FlowSettings  # noqa: E402
from kiosk.flow.state import Phase  # noqa: E402
from kiosk.rules.programs import load_programs  # noqa: E402
from kiosk.runner import Runner  # noqa: E402
from kiosk.sequence import RecordSequence  # noqa: E402
from kiosk.settings import DEFAULT_TIMEOUTS, KioskMode  # noqa: E402
from sync import wire  # noqa: E402
from sync.device_keys import DeviceStore  # noqa: E402
from sync.outbox import OUTBOX_FILE, Outbox  # noqa: E402

JST = dt.timezone(dt.timedelta(hours=9))


class TimedSession:
    """Wraps a card session and accumulates the time spent inside it (= card time)."""

    def __init__(self, inner: MyNumberCardSession, clock: list[float]) -> None:
        self._inner = inner
        self._clock = clock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._clock[0] += time.perf_counter() - start

        return timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    trust = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
    programs = load_programs(ROOT / "config" / "programs")
    persona = load_persona("miyagi-sendai")
    settings = FlowSettings(KioskMode.SELF, "ja", "demo", DEFAULT_TIMEOUTS[KioskMode.SELF])
    overhead_ms: list[float] = []
    card_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        store = DeviceStore(data)
        store.load_or_create_device_key()
        raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("bench", raw, wire.SUITE_ID))
        with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer("bench-kiosk")) as outbox:
            for _ in range(args.runs + 3):
                card = VirtualMyNumberCard(persona)
                card_time = [0.0]

                def open_session(card: VirtualMyNumberCard = card, acc: list[float] = card_time) -> Any:
                    return TimedSession(MyNumberCardSession(InProcessConnection(card), trust), acc)

                flow = Flow(settings, programs, clock=lambda: dt.datetime.now(JST), new_id=uuid.uuid4)
                runner = Runner(
                    flow,
                    kiosk_id="bench-kiosk",
                    open_session=open_session,
                    queue=outbox,
                    sequence=RecordSequence(data),
                    index=None,  # one persona registers repeatedly
                )
                for event in (
                    Start(),
                    LanguageChosen("ja"),
                    ServicesChosen(("point",)),
                    ConsentAccepted("point"),
                ):
                    runner.dispatch(event)
                runner.dispatch(CardInserted())  # prefetch: hidden while the resident types
                card_time[0] = 0.0
                start = time.perf_counter()
                runner.dispatch(PinSubmitted(bytearray(persona.auth_pin.encode())))
                runner.dispatch(IdentityConfirmed())
                state = runner.dispatch(Register())
                total = time.perf_counter() - start
                assert state.phase is Phase.RECEIPT, state.phase
                overhead_ms.append((total - card_time[0]) * 1000)
                card_ms.append(card_time[0] * 1000)
    overhead_ms, card_ms = overhead_ms[3:], card_ms[3:]  # warm-up
    print(
        json.dumps(
            {
                "benchmark": "kiosk_pin_to_receipt_overhead",
                "runs": args.runs,
                "overhead_ms": {
                    "median": round(statistics.median(overhead_ms), 2),
                    "p95": round(sorted(overhead_ms)[int(0.95 * (len(overhead_ms) - 1))], 2),
                    "max": round(max(overhead_ms), 2),
                },
                "virtual_card_ms_median": round(statistics.median(card_ms), 2),
                "budget_ms": 100,
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
