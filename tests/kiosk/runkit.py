"""Helpers to run whole registrations through the Runner with a real card session.

Card sessions come from a factory (in-process virtual card here, pcscd + vpcd in tests/e2e).
Certificate validity is judged by the real clock (the virtual cards' certificates start 2025-04-01),
while the flow's clock is set inside the programme's period: a test-only split; on a kiosk both are
the same clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from card.session import MyNumberCardSession
from card.trust import load_trust_store
from kiosk.flow import (
    CardInserted,
    ConsentAccepted,
    Flow,
    FlowSettings,
    FlowState,
    IdentityConfirmed,
    LanguageChosen,
    LastTryConfirmed,
    Phase,
    PinSubmitted,
    Register,
    ServicesChosen,
    Start,
)
from kiosk.local_index import RegisteredHereIndex
from kiosk.rules.programs import load_programs
from kiosk.runner import Runner
from kiosk.sequence import RecordSequence
from kiosk.settings import DEFAULT_TIMEOUTS, KioskMode

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = ROOT / "config" / "kiosk.demo.toml"
TRUST = load_trust_store(DEMO_CONFIG)
PROGRAMS = load_programs(ROOT / "config" / "programs")
JST = dt.timezone(dt.timedelta(hours=9))
IN_SECOND_CAMPAIGN = dt.datetime(2025, 2, 10, 10, 0, tzinfo=JST)


@dataclass
class MemoryQueue:
    """A RegistrationQueue that keeps plaintexts in memory (the e2e tests use the real outbox)."""

    rows: list[tuple[bytes, str, str]] = field(default_factory=list)
    #: Raised by every ``enqueue`` instead of queueing (a refusal the port promises, or a bug).
    error: Exception | None = None

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> None:
        if self.error is not None:
            raise self.error
        self.rows.append((plaintext, record_id, program_id))


def make_runner(
    open_session: Callable[[], MyNumberCardSession],
    data_dir: Path,
    queue: object,
    *,
    program: str = "miyagi-point-2025-second",
    clock: dt.datetime = IN_SECOND_CAMPAIGN,
    mode: KioskMode = KioskMode.SELF,
) -> Runner:
    settings = FlowSettings(mode=mode, language="ja", program_id=program, timeouts=DEFAULT_TIMEOUTS[mode])
    flow = Flow(settings, PROGRAMS, clock=lambda: clock, new_id=uuid.uuid4)
    return Runner(
        flow,
        kiosk_id="test-kiosk-1",
        open_session=open_session,
        queue=queue,  # type: ignore[arg-type]
        sequence=RecordSequence(data_dir),
        index=RegisteredHereIndex(data_dir),
    )


def session_factory(connect: Callable[[], object]) -> Callable[[], MyNumberCardSession]:
    def open_session() -> MyNumberCardSession:
        return MyNumberCardSession(connect(), TRUST)  # type: ignore[arg-type]

    return open_session


def register_through(
    runner: Runner, pin: str, services: tuple[str, ...] = ("disaster", "point")
) -> FlowState:
    """Drive a cooperative resident from the attract screen to the end (or the first stop)."""
    for event in (Start(), LanguageChosen("ja"), ServicesChosen(services)):
        runner.dispatch(event)
    for service in services:
        runner.dispatch(ConsentAccepted(service))
    state = runner.dispatch(CardInserted())
    if state.phase is Phase.LAST_TRY_CONFIRM:
        state = runner.dispatch(LastTryConfirmed())
    if state.phase is not Phase.PIN_ENTRY:
        return state
    state = runner.dispatch(PinSubmitted(bytearray(pin.encode())))
    if state.phase is not Phase.CONFIRM:
        return state
    state = runner.dispatch(IdentityConfirmed())
    if state.phase is not Phase.ELIGIBILITY:
        return state
    return runner.dispatch(Register())
