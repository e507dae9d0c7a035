"""The flow state machine: table-driven transitions and whole-session scenarios."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kiosk.flow import (
    Acknowledge,
    Alarm,
    Back,
    Cancel,
    CancelTimer,
    CardFailed,
    CardFailure,
    CardInserted,
    CardRemoved,
    ConsentAccepted,
    ConsentDeclined,
    EndCardSession,
    ErrorKind,
    Extend,
    IdentityConfirmed,
    IdentityRejected,
    LanguageChosen,
    LastTryConfirmed,
    PcscDown,
    Phase,
    PinRejected,
    PinSubmitted,
    Prefetch,
    PrefetchDone,
    ReadDone,
    ReaderBack,
    ReaderLost,
    Register,
    Saved,
    SaveFailed,
    SaveRegistration,
    ServicesChosen,
    Start,
    StartTimer,
    TimerFired,
    VerifyAndRead,
    WarnTimeout,
    Wipe,
    loggable,
)
from kiosk.rules.record import Verification
from kiosk.settings import DEFAULT_TIMEOUTS, KioskMode

from .flowkit import CERT, OK, OUTSIDER, RESIDENT, make_flow, run, to_confirm, to_pin, to_saving, to_wait_card


def _types(effects: Sequence[object]) -> list[str]:
    return [type(e).__name__ for e in effects]


# --- the happy path, step by step -----------------------------------------------------------------


def test_happy_path_self_service() -> None:
    flow = make_flow()
    s = flow.initial()
    assert s.phase is Phase.IDLE
    s, fx = flow.step(s, Start())
    assert s.phase is Phase.LANGUAGE
    assert fx == [StartTimer(s.timer, DEFAULT_TIMEOUTS[KioskMode.SELF].inactivity_s)]
    s, _ = flow.step(s, LanguageChosen("en"))
    assert (s.phase, s.language) == (Phase.PROGRAM, "en")
    s, _ = flow.step(s, ServicesChosen(("point", "disaster")))
    assert (s.phase, s.services) == (Phase.CONSENT, ("disaster", "point"))
    s, _ = flow.step(s, ConsentAccepted("point"))
    assert s.phase is Phase.CONSENT
    s, _ = flow.step(s, ConsentAccepted("disaster"))
    assert s.phase is Phase.WAIT_CARD
    assert {(c.service, c.terms_version) for c in s.consents} == {
        ("point", "miyagi-point-2025-02"),
        ("disaster", "miyagi-bousai-2025-02"),
    }
    s, fx = flow.step(s, CardInserted())
    assert s.phase is Phase.PREFETCH
    assert Prefetch(s.card_session) in fx
    assert CancelTimer() in fx  # busy phases have no inactivity timer
    s, _ = flow.step(s, PrefetchDone(s.card_session, 3))
    assert (s.phase, s.tries_left) == (Phase.PIN_ENTRY, 3)
    pin = bytearray(b"1234")
    s, fx = flow.step(s, PinSubmitted(pin))
    assert s.phase is Phase.VERIFYING
    (verify,) = [e for e in fx if isinstance(e, VerifyAndRead)]
    assert verify.pin is pin
    assert not verify.allow_last_try
    s, _ = flow.step(s, ReadDone(s.card_session, RESIDENT, CERT, OK, False, False))
    assert s.phase is Phase.CONFIRM
    assert s.resident == RESIDENT
    s, _ = flow.step(s, IdentityConfirmed())
    assert s.phase is Phase.ELIGIBILITY
    assert s.eligibility is not None
    assert s.eligibility.eligible
    s, fx = flow.step(s, Register())
    assert s.phase is Phase.SAVING
    (save,) = [e for e in fx if isinstance(e, SaveRegistration)]
    assert save.draft.program_id == "miyagi-point-2025-second"
    assert str(save.draft.record_id) == s.record_id
    assert s.code is not None
    s, fx = flow.step(s, Saved(s.card_session, s.record_id or ""))
    assert s.phase is Phase.RECEIPT
    assert s.receipt_status == "queued"
    assert not s.holds_personal_data
    assert EndCardSession() in fx
    s, fx = flow.step(s, Acknowledge())
    assert s.phase is Phase.TAKE_CARD
    assert Wipe() in fx
    assert s.code is None
    s, fx = flow.step(s, TimerFired(s.timer))
    assert s.alarm
    assert Alarm(on=True) in fx
    s, fx = flow.step(s, CardRemoved())
    assert s.phase is Phase.IDLE
    assert Alarm(on=False) in fx


def test_staff_mode_has_no_card_left_behind_step_and_needs_a_fresh_tap() -> None:
    flow = make_flow(KioskMode.STAFF)
    s = to_saving(flow)
    s, _ = run(flow, s, Saved(s.card_session, s.record_id or ""), Acknowledge())
    assert s.phase is Phase.IDLE
    assert s.card_present
    assert s.stale_card
    # The next resident gets as far as the card step; the previous card is not read again.
    s, fx = run(flow, s, Start(), LanguageChosen("ja"), ServicesChosen(("point", "disaster")))
    s, fx = run(flow, s, ConsentAccepted("point"), ConsentAccepted("disaster"))
    assert s.phase is Phase.WAIT_CARD
    assert not any(isinstance(e, Prefetch) for e in fx)
    s, _ = run(flow, s, CardRemoved(), CardInserted())
    assert s.phase is Phase.PREFETCH


# --- table of single transitions ------------------------------------------------------------------

S = Phase
CASES = [
    # (name, setup, event, expected phase, expected error, effect types that must appear)
    ("idle ignores removal", lambda f: f.initial(), CardRemoved(), S.IDLE, None, []),
    ("idle start", lambda f: f.initial(), Start(), S.LANGUAGE, None, ["StartTimer"]),
    ("idle card noted", lambda f: f.initial(), CardInserted(), S.IDLE, None, []),
    ("back to idle wipes", lambda f: run(f, f.initial(), Start())[0], Back(), S.IDLE, None, ["Wipe"]),
    (
        "missing required service refused",
        lambda f: run(f, f.initial(), Start(), LanguageChosen("ja"))[0],
        ServicesChosen(("point",)),
        S.PROGRAM,
        None,
        [],
    ),
    (
        "unknown service refused",
        lambda f: run(f, f.initial(), Start(), LanguageChosen("ja"))[0],
        ServicesChosen(("point", "disaster", "shopping")),
        S.PROGRAM,
        None,
        [],
    ),
    (
        "decline consent",
        lambda f: run(f, f.initial(), Start(), LanguageChosen("ja"), ServicesChosen(("point", "disaster")))[
            0
        ],
        ConsentDeclined(),
        S.PROGRAM,
        None,
        [],
    ),
    ("wait card, card in", to_wait_card, CardInserted(), S.PREFETCH, None, ["Prefetch", "CancelTimer"]),
    ("wait card, back", to_wait_card, Back(), S.CONSENT, None, ["StartTimer"]),
    ("wait card, reader lost", to_wait_card, ReaderLost(), S.WAIT_CARD, None, []),
    (
        "prefetch, card removed",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        CardRemoved(),
        S.ERROR,
        ErrorKind.CARD_REMOVED,
        ["EndCardSession"],
    ),
    (
        "prefetch, not a my number card",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        CardFailed(1, CardFailure.NOT_MY_NUMBER_CARD),
        S.ERROR,
        ErrorKind.NOT_MY_NUMBER_CARD,
        [],
    ),
    (
        "prefetch, pcsc down",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        PcscDown(),
        S.ERROR,
        ErrorKind.PCSC_DOWN,
        [],
    ),
    (
        "prefetch, reader lost",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        ReaderLost(),
        S.ERROR,
        ErrorKind.READER_LOST,
        [],
    ),
    (
        "prefetch, blocked",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        PrefetchDone(1, 0),
        S.ERROR,
        ErrorKind.PIN_BLOCKED,
        [],
    ),
    (
        "prefetch, one try left",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        PrefetchDone(1, 1),
        S.LAST_TRY_CONFIRM,
        None,
        ["StartTimer"],
    ),
    (
        "prefetch result of an old card is ignored",
        lambda f: run(f, to_wait_card(f), CardInserted())[0],
        PrefetchDone(99, 3),
        S.PREFETCH,
        None,
        [],
    ),
    ("pin, card removed", to_pin, CardRemoved(), S.ERROR, ErrorKind.CARD_REMOVED, []),
    ("pin, cancel", to_pin, Cancel(), S.TAKE_CARD, None, ["Wipe", "StartTimer"]),
    ("pin submitted", to_pin, PinSubmitted(bytearray(b"1234")), S.VERIFYING, None, ["VerifyAndRead"]),
    (
        "pin incorrect",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1111")))[0],
        PinRejected(1, 2),
        S.PIN_ENTRY,
        None,
        [],
    ),
    (
        "pin incorrect, last try",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1111")))[0],
        PinRejected(1, 1),
        S.LAST_TRY_CONFIRM,
        None,
        [],
    ),
    (
        "pin blocked",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1111")))[0],
        CardFailed(1, CardFailure.PIN_BLOCKED),
        S.ERROR,
        ErrorKind.PIN_BLOCKED,
        [],
    ),
    (
        "verifying, card removed",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1234")))[0],
        CardRemoved(),
        S.ERROR,
        ErrorKind.CARD_REMOVED,
        [],
    ),
    (
        "certificate expired",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1234")))[0],
        ReadDone(1, RESIDENT, CERT, OK, True, False),
        S.ERROR,
        ErrorKind.CERTIFICATE_EXPIRED,
        [],
    ),
    (
        "verification failed",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1234")))[0],
        ReadDone(1, RESIDENT, CERT, Verification(True, True, False, True), False, False),
        S.ERROR,
        ErrorKind.VERIFICATION_FAILED,
        [],
    ),
    (
        "malformed card data",
        lambda f: run(f, to_pin(f), PinSubmitted(bytearray(b"1234")))[0],
        CardFailed(1, CardFailure.READ_FAILED),
        S.ERROR,
        ErrorKind.CARD_READ_FAILED,
        [],
    ),
    ("confirm, not me", to_confirm, IdentityRejected(), S.ERROR, ErrorKind.IDENTITY_REJECTED, ["Wipe"]),
    ("confirm, card removed", to_confirm, CardRemoved(), S.REINSERT, None, ["Wipe", "EndCardSession"]),
    ("confirm, pcsc down", to_confirm, PcscDown(), S.ERROR, ErrorKind.PCSC_DOWN, ["Wipe"]),
    (
        "non-resident refused",
        lambda f: to_confirm(f, OUTSIDER),
        IdentityConfirmed(),
        S.NOT_ELIGIBLE,
        ErrorKind.NOT_ELIGIBLE,
        ["Wipe"],
    ),
    (
        "eligibility, card removed before register",
        lambda f: run(f, to_confirm(f), IdentityConfirmed())[0],
        CardRemoved(),
        S.REINSERT,
        None,
        ["Wipe"],
    ),
    ("saving ignores cancel", to_saving, Cancel(), S.SAVING, None, []),
    ("saving, card removed: wait for the driver", to_saving, CardRemoved(), S.SAVING, None, []),
    (
        "saving, signature failed on removal",
        to_saving,
        SaveFailed(1, CardFailure.CARD_REMOVED),
        S.REINSERT,
        None,
        ["Wipe"],
    ),
    ("saving, outbox failed", to_saving, SaveFailed(1, None), S.ERROR, ErrorKind.SAVE_FAILED, ["Wipe"]),
    (
        "reinsert, new tap",
        lambda f: run(f, to_confirm(f), CardRemoved())[0],
        CardInserted(),
        S.PREFETCH,
        None,
        ["Prefetch"],
    ),
    (
        "receipt, new card is a new session",
        lambda f: run(f, to_saving(f), CardRemoved(), Saved(1, "00000000-0000-4000-8000-000000000001"))[0],
        CardInserted(),
        S.LANGUAGE,
        None,
        ["Wipe"],
    ),
    (
        "error card removed, ack retries",
        lambda f: run(f, to_pin(f), CardRemoved())[0],
        Acknowledge(),
        S.WAIT_CARD,
        None,
        [],
    ),
    (
        "error blocked, ack ends",
        lambda f: run(f, to_wait_card(f), CardInserted(), PrefetchDone(1, 0))[0],
        Acknowledge(),
        S.TAKE_CARD,
        None,
        ["Wipe"],
    ),
    ("take card, card removed", lambda f: run(f, to_pin(f), Cancel())[0], CardRemoved(), S.IDLE, None, []),
]


@pytest.mark.parametrize(
    ("name", "setup", "event", "phase", "error", "effects"), CASES, ids=[c[0] for c in CASES]
)
def test_transition(name, setup, event, phase, error, effects) -> None:  # type: ignore[no-untyped-def]
    flow = make_flow()
    state = setup(flow)
    new, fx = flow.step(state, event)
    assert new.phase is phase
    assert new.error is error
    names = _types(fx)
    for expected in effects:
        assert expected in names
    if new.phase not in (Phase.CONFIRM, Phase.ELIGIBILITY, Phase.SAVING):
        assert not new.holds_personal_data


# --- PIN rules ------------------------------------------------------------------------------------


def test_last_try_needs_explicit_confirmation_and_is_passed_on() -> None:
    flow = make_flow()
    s, _ = run(flow, to_wait_card(flow), CardInserted())
    s, _ = flow.step(s, PrefetchDone(s.card_session, 1))
    assert s.phase is Phase.LAST_TRY_CONFIRM
    s2, fx = flow.step(s, PinSubmitted(bytearray(b"1234")))  # the pad is not offered yet
    assert s2.phase is Phase.LAST_TRY_CONFIRM
    assert not any(isinstance(e, VerifyAndRead) for e in fx)
    s, _ = flow.step(s, LastTryConfirmed())
    s, fx = flow.step(s, PinSubmitted(bytearray(b"1234")))
    (verify,) = [e for e in fx if isinstance(e, VerifyAndRead)]
    assert verify.allow_last_try


def test_unwanted_pin_is_zeroed_and_never_in_state() -> None:
    flow = make_flow()
    pin = bytearray(b"9876")
    s, fx = flow.step(to_wait_card(flow), PinSubmitted(pin))
    assert pin == bytearray(4)
    assert fx == []
    s = to_pin(flow)
    s, _ = flow.step(s, PinSubmitted(bytearray(b"9876")))
    assert "9876" not in repr(s)
    assert "9876" not in str(loggable(s))


def test_flow_never_retries_verify_on_its_own() -> None:
    flow = make_flow()
    s = run(flow, to_pin(flow), PinSubmitted(bytearray(b"1111")))[0]
    s, fx = flow.step(s, PinRejected(s.card_session, 2))
    assert not any(isinstance(e, VerifyAndRead) for e in fx)
    assert s.pin_rejected
    assert s.tries_left == 2


# --- timeouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(KioskMode))
def test_timeout_warns_then_extends_then_wipes(mode: KioskMode) -> None:
    flow = make_flow(mode)
    timeouts = DEFAULT_TIMEOUTS[mode]
    s = to_confirm(flow)
    s, fx = flow.step(s, TimerFired(s.timer))
    assert s.warning
    assert WarnTimeout(timeouts.warning_s) in fx
    assert StartTimer(s.timer, timeouts.warning_s) in fx
    assert timeouts.warning_s >= 20
    s, fx = flow.step(s, Extend())
    assert not s.warning
    assert s.phase is Phase.CONFIRM
    assert fx == [StartTimer(s.timer, timeouts.inactivity_s)]
    s, _ = flow.step(s, TimerFired(s.timer))
    s, fx = flow.step(s, TimerFired(s.timer))
    assert Wipe() in fx
    assert not s.holds_personal_data
    assert s.phase is (Phase.TAKE_CARD if mode is KioskMode.SELF else Phase.IDLE)


def test_extensions_are_limited() -> None:
    flow = make_flow()
    s = to_wait_card(flow)
    for _ in range(DEFAULT_TIMEOUTS[KioskMode.SELF].max_extensions):
        s, _ = flow.step(s, TimerFired(s.timer))
        s, fx = flow.step(s, Extend())
        assert fx
    s, fx = flow.step(s, TimerFired(s.timer))
    assert s.phase is Phase.IDLE  # no further warning: wiped
    assert Wipe() in fx


def test_stale_timer_is_ignored() -> None:
    flow = make_flow()
    s = to_wait_card(flow)
    old = s.timer
    s, _ = flow.step(s, Back())
    s2, fx = flow.step(s, TimerFired(old))
    assert s2 == s
    assert fx == []


def test_self_service_is_stricter() -> None:
    assert DEFAULT_TIMEOUTS[KioskMode.SELF].inactivity_s < DEFAULT_TIMEOUTS[KioskMode.STAFF].inactivity_s


def test_busy_phases_have_no_timer() -> None:
    flow = make_flow()
    s = to_saving(flow)
    s2, fx = flow.step(s, TimerFired(s.timer))
    assert s2 == s
    assert fx == []


# --- misc -----------------------------------------------------------------------------------------


def test_reader_back_restores_availability() -> None:
    flow = make_flow()
    s, _ = run(flow, to_wait_card(flow), ReaderLost())
    assert not s.reader_available
    s, _ = run(flow, s, CardInserted())
    assert s.phase is Phase.WAIT_CARD
    s, _ = run(flow, s, ReaderBack(), CardRemoved(), CardInserted())
    assert s.phase is Phase.PREFETCH


def test_loggable_is_allow_listed() -> None:
    flow = make_flow()
    s = to_confirm(flow)
    text = str(loggable(s)) + repr(s)
    for secret in ("花子", "青葉区", "1950", "fake-certificate"):
        assert secret not in text


def test_saved_for_another_record_is_ignored() -> None:
    flow = make_flow()
    s = to_saving(flow)
    s2, _ = flow.step(s, Saved(s.card_session, "00000000-0000-4000-8000-00000000ffff"))
    assert s2.phase is Phase.SAVING
