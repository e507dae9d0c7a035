"""Shared helpers for flow tests: a flow with a fixed clock and deterministic ids, and drivers."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from kiosk.flow import (
    CardInserted,
    ConsentAccepted,
    Effect,
    Event,
    Flow,
    FlowSettings,
    FlowState,
    IdentityConfirmed,
    LanguageChosen,
    PinSubmitted,
    PrefetchDone,
    ReadDone,
    Register,
    ServicesChosen,
    Start,
)
from kiosk.rules.programs import load_programs
from kiosk.rules.record import Resident, Verification
from kiosk.settings import DEFAULT_TIMEOUTS, KioskMode

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = load_programs(ROOT / "config" / "programs")
JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 2, 10, 10, 0, tzinfo=JST)
RESIDENT = Resident("宮城 花子", "宮城県仙台市青葉区本町3丁目8番1号", date(1950, 4, 1), "2")
OUTSIDER = Resident("東京 太郎", "東京都新宿区西新宿2-8-1", date(1980, 1, 1), "1")
CERT = b"\x30\x82\x01\x00fake-certificate"
OK = Verification(True, True, True, True)


def make_flow(mode: KioskMode = KioskMode.SELF, program: str = "miyagi-point-2025-second") -> Flow:
    counter = iter(range(1, 1_000_000))

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=next(counter), version=4)

    settings = FlowSettings(mode=mode, language="ja", program_id=program, timeouts=DEFAULT_TIMEOUTS[mode])
    return Flow(settings, PROGRAMS, clock=lambda: NOW, new_id=new_id)


def run(flow: Flow, state: FlowState, *events: Event) -> tuple[FlowState, list[Effect]]:
    effects: list[Effect] = []
    for event in events:
        state, more = flow.step(state, event)
        effects += more
    return state, effects


def to_wait_card(flow: Flow, services: tuple[str, ...] = ("disaster", "point")) -> FlowState:
    state, _ = run(
        flow,
        flow.initial(),
        Start(),
        LanguageChosen("ja"),
        ServicesChosen(services),
        *[ConsentAccepted(s) for s in services],
    )
    return state


def to_pin(flow: Flow, tries: int = 3) -> FlowState:
    state, _ = run(flow, to_wait_card(flow), CardInserted())
    state, _ = run(flow, state, PrefetchDone(state.card_session, tries))
    return state


def to_confirm(flow: Flow, resident: Resident = RESIDENT) -> FlowState:
    state = to_pin(flow)
    state, _ = run(flow, state, PinSubmitted(bytearray(b"1234")))
    state, _ = run(flow, state, ReadDone(state.card_session, resident, CERT, OK, False, False))
    return state


def to_saving(flow: Flow) -> FlowState:
    state, _ = run(flow, to_confirm(flow), IdentityConfirmed(), Register())
    return state


def with_phase(state: FlowState, **changes: object) -> FlowState:
    return replace(state, **changes)  # type: ignore[arg-type]
