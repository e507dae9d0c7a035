"""The kiosk's paths through the screens with the in-process virtual card on the worker thread:
wrong PIN, last-try confirmation, two different PINs, the card pulled mid-flow, the timeout
warning with "more time" and the wipe, the language switch, and where the PIN may (never) go."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from pytestqt.qtbot import QtBot
from uikit import (
    MakeKiosk,
    all_texts,
    click,
    to_pin_entry,
    to_wait_card,
    type_pin,
    wait_phase,
)

from card.virtual.persona import load_persona
from kiosk.flow import ErrorKind, Phase
from ui.i18n import LANGUAGES


def test_wrong_pin_shows_the_tries_left_and_the_buffer_is_zeroed(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    persona = load_persona("jlis-test")
    to_pin_entry(qtbot, kiosk)
    page = kiosk.window.pages["pin"]
    handed: list[bytearray] = []
    page.pad.submitted.connect(handed.append)  # type: ignore[attr-defined]
    type_pin(qtbot, kiosk, "9999")
    # "The same PIN" goes to the card-info application first: it refuses, the auth PIN is untouched.
    wait_phase(qtbot, kiosk, Phase.CARD_INFO_PIN_ENTRY)
    assert "2" in page.tries.text()  # type: ignore[attr-defined]
    assert page.rejected.isVisible()  # type: ignore[attr-defined]
    assert "残り回数は減っていません" in page.rejected.text()  # type: ignore[attr-defined]
    assert handed
    assert handed[0] == bytearray(4)  # the executor zeroed the very buffer the pad handed over
    assert page.pad.count == 0  # type: ignore[attr-defined]
    assert kiosk.reader is not None
    assert kiosk.reader.card.tries_left("card_info", 0x0011) == 2
    assert kiosk.reader.card.tries_left("jpki", 0x0018) == 3
    # "It was a typo: this is my one PIN" on the card-info pad verifies both.
    click(qtbot, page.same)  # type: ignore[attr-defined]
    type_pin(qtbot, kiosk, persona.card_info_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    assert kiosk.reader.card.tries_left("card_info", 0x0011) == 3


def test_last_try_needs_explicit_confirmation(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("miyagi-one-try")
    persona = load_persona("miyagi-one-try")
    to_wait_card(qtbot, kiosk)
    kiosk.training_card(True)
    wait_phase(qtbot, kiosk, Phase.LAST_TRY_CONFIRM)
    page = kiosk.window.pages["last_try"]
    assert "1" in page.text.text()  # type: ignore[attr-defined]
    click(qtbot, page.go_on)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)
    pin_page = kiosk.window.pages["pin"]
    assert "⚠" in pin_page.tries.text()  # type: ignore[attr-defined]  # the pad repeats the warning
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)


def test_cancel_on_the_last_try_screen_costs_no_try(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("miyagi-one-try")
    to_wait_card(qtbot, kiosk)
    kiosk.training_card(True)
    wait_phase(qtbot, kiosk, Phase.LAST_TRY_CONFIRM)
    click(qtbot, kiosk.window.pages["last_try"].cancel)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.IDLE)  # staff mode
    assert kiosk.reader is not None
    assert kiosk.reader.card.tries_left("jpki", 0x0018) == 1


def test_two_different_pins_through_both_pads(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("miyagi-distinct-pins")
    persona = load_persona("miyagi-distinct-pins")
    to_pin_entry(qtbot, kiosk)
    page = kiosk.window.pages["pin"]
    click(qtbot, page.different)  # type: ignore[attr-defined]
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CARD_INFO_PIN_ENTRY)
    assert not page.same.isVisible()  # type: ignore[attr-defined]  # the auth PIN is held already
    type_pin(qtbot, kiosk, persona.card_info_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)


def test_card_pulled_at_the_pin_pad_then_again_on_confirm(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    persona = load_persona("jlis-test")
    to_pin_entry(qtbot, kiosk)
    kiosk.training_card(False)
    wait_phase(qtbot, kiosk, Phase.ERROR)
    assert kiosk.window.state is not None
    assert kiosk.window.state.error is ErrorKind.CARD_REMOVED
    error = kiosk.window.pages["error"]
    click(qtbot, error.ok)  # type: ignore[attr-defined]  # "try again": choices and consents kept
    wait_phase(qtbot, kiosk, Phase.WAIT_CARD)
    kiosk.training_card(True)
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    assert persona.name in "\n".join(all_texts(kiosk.window))
    kiosk.training_card(False)  # after the read: tap again, PIN again
    wait_phase(qtbot, kiosk, Phase.REINSERT)
    texts = "\n".join(all_texts(kiosk.window))
    assert persona.name not in texts
    assert persona.address not in texts
    assert kiosk.enrolled.queued() == []  # type: ignore[attr-defined]


def test_timeout_warning_more_time_then_silence_wipes(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    # Self-service: 60 s inactivity and 30 s warning, at 10 ms per flow second.
    kiosk = make_kiosk("jlis-test", mode="self", ms_per_second=10)
    persona = load_persona("jlis-test")
    to_pin_entry(qtbot, kiosk)
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    qtbot.waitUntil(lambda: kiosk.window.current_page() == "warning", timeout=5000)
    warning = kiosk.window.pages["warning"]
    assert warning.extend.isVisible()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: warning.remaining < 30, timeout=2000)  # type: ignore[attr-defined]
    assert f"{warning.remaining}" in warning.text.text()  # type: ignore[attr-defined]  # counting down
    click(qtbot, kiosk.window.pages["warning"].extend)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: kiosk.window.current_page() == "confirm", timeout=2000)
    assert kiosk.window.state is not None
    assert kiosk.window.state.extensions_used == 1
    # Now nobody answers: warning, then the wipe; the card is still there: take-card.
    wait_phase(qtbot, kiosk, Phase.TAKE_CARD, timeout=5000)
    texts = "\n".join(all_texts(kiosk.window))
    for secret in (persona.name, persona.address, str(persona.birth_date.year)):
        assert secret not in texts
    assert kiosk.window.state.resident is None
    kiosk.training_card(False)
    wait_phase(qtbot, kiosk, Phase.IDLE)


def test_language_switch_on_a_screen_and_on_the_attract_screen(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    window = kiosk.window
    idle = window.pages["idle"]
    english = idle.choices[[code for code, _ in LANGUAGES].index("en")]  # type: ignore[attr-defined]
    assert english.text() == "English"
    click(qtbot, english)  # one tap: the session starts in English, no language page
    wait_phase(qtbot, kiosk, Phase.CONSENT)  # one programme: no programme screen either
    assert window.state is not None
    assert window.state.language == "en"
    consent = window.pages["consent"]
    click(qtbot, consent.agree)  # type: ignore[attr-defined]  # progress the switch must keep
    qtbot.waitUntil(lambda: len(window.state.consents) == 1)  # type: ignore[union-attr]
    assert window.language_button.text().startswith("English")  # the current language, always shown
    click(qtbot, window.language_button)  # the full-screen picker over the consent screen
    assert window.current_page() == "language"
    picker = window.pages["language"]
    assert all(b.isVisible() for b in picker.choices)  # type: ignore[attr-defined]
    easy = picker.choices[[code for code, _ in LANGUAGES].index("ja-easy")]  # type: ignore[attr-defined]
    click(qtbot, easy)
    qtbot.waitUntil(lambda: window.state.language == "ja-easy")  # type: ignore[union-attr]
    assert window.current_page() == "consent"
    assert window.state.phase is Phase.CONSENT
    assert len(window.state.consents) == 1  # the agreement given in English is kept
    assert window.language_button.text().startswith("やさしい")
    assert consent.back.text() == "もどる"  # type: ignore[attr-defined]


def test_card_work_runs_on_the_worker_thread(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    assert kiosk.reader is not None
    threads: list[threading.Thread] = []
    connect = kiosk.reader.connect

    def spy() -> object:
        threads.append(threading.current_thread())
        return connect()

    kiosk.reader.connect = spy  # type: ignore[method-assign]
    to_pin_entry(qtbot, kiosk)
    assert threads
    assert all(t is not threading.main_thread() for t in threads)


@pytest.mark.parametrize("pin", ["1234"])
def test_the_pin_is_never_in_widget_text_or_logs(
    make_kiosk: MakeKiosk, qtbot: QtBot, caplog: pytest.LogCaptureFixture, pin: str
) -> None:
    caplog.set_level(logging.DEBUG)
    kiosk = make_kiosk("jlis-test")
    assert load_persona("jlis-test").auth_pin == pin
    to_pin_entry(qtbot, kiosk)
    pad = kiosk.window.pages["pin"].pad  # type: ignore[attr-defined]
    for digit in pin[:3]:
        click(qtbot, pad.keys[int(digit) - 1])
    texts = all_texts(kiosk.window)
    assert not any(pin[:3] in t for t in texts)
    click(qtbot, pad.keys[int(pin[3]) - 1])
    assert not any(pin in t for t in all_texts(kiosk.window))
    click(qtbot, pad.ok_key)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    assert not any(pin in t for t in all_texts(kiosk.window))
    assert pin not in caplog.text
    assert all(pin not in repr(r.args) for r in caplog.records)


def test_self_service_receipt_then_take_card_alarm(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    # Self-service, 10 ms per flow second: take_card_s = 10 s -> the alarm after ~100 ms.
    kiosk = make_kiosk("jlis-test", mode="self", ms_per_second=10)
    persona = load_persona("jlis-test")
    to_pin_entry(qtbot, kiosk)
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    click(qtbot, kiosk.window.pages["confirm"].yes)  # type: ignore[attr-defined]  # "register"
    wait_phase(qtbot, kiosk, Phase.RECEIPT)
    click(qtbot, kiosk.window.pages["receipt"].ok)  # type: ignore[attr-defined]
    # no printer here: the first "finish" asks once (the code was not printed), the second ends
    click(qtbot, kiosk.window.pages["receipt"].ok)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.TAKE_CARD)  # the card is still on the reader
    page = kiosk.window.pages["take_card"]
    assert not page.alarm.isVisible()  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: page.alarm.isVisible(), timeout=5000)  # type: ignore[attr-defined]
    assert "⚠" in page.alarm.text()  # type: ignore[attr-defined]
    kiosk.training_card(False)
    wait_phase(qtbot, kiosk, Phase.IDLE)
    assert len(kiosk.enrolled.queued()) == 1  # type: ignore[attr-defined]


def test_not_eligible_shows_the_reasons_and_writes_nothing(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    jst = dt.timezone(dt.timedelta(hours=9))
    in_campaign = dt.datetime(2025, 2, 10, 10, 0, tzinfo=jst)
    kiosk = make_kiosk("tochigi-utsunomiya", program="miyagi-point-2025-second", clock=lambda: in_campaign)
    persona = load_persona("tochigi-utsunomiya")
    to_pin_entry(qtbot, kiosk)
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.NOT_ELIGIBLE)  # checked at the read: no confirmation screen
    page = kiosk.window.pages["not_eligible"]
    assert page.reasons.text().startswith("✕ ")  # type: ignore[attr-defined]
    assert persona.address not in "\n".join(all_texts(kiosk.window))
    click(qtbot, page.ok)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.IDLE)
    assert kiosk.enrolled.queued() == []  # type: ignore[attr-defined]
