"""Crash-only: a bug on the card worker (an exception the runner does not turn into a flow event)
wipes the window, closes the runner (held PINs zeroed, card session ended), logs the type and the
code-only traceback but never the message, reports ``internal_error`` and ignores later events.

Real controller, window, runner and sealed outbox; only the failing call is replaced."""

from __future__ import annotations

import logging
from typing import NoReturn

import pytest
from pytestqt.qtbot import QtBot
from uikit import (
    MakeKiosk,
    all_texts,
    click,
    to_eligibility,
    to_pin_entry,
    type_pin,
    wait_phase,
)

from card.virtual.persona import load_persona
from kiosk.flow import CardRemoved, Phase, Start
from sync.outbox import Outbox
from ui.app import KioskApp

#: A made-up personal string in the bug's message: it must reach no log record.
SECRET = "山田 花子 東京都千代田区1-1 1980-01-01"


def _bug(*_args: object, **_kwargs: object) -> NoReturn:
    raise RuntimeError(f"bug while handling {SECRET}")


def _assert_out_of_service(qtbot: QtBot, kiosk: KioskApp) -> None:
    """Later events reach no runner: no step, no second report, nothing raised on the worker."""
    shown = kiosk.window.state
    with qtbot.assertNotEmitted(kiosk.controller.internal_error, wait=300):
        kiosk.controller.post(Start())
        kiosk.controller.post(CardRemoved())
        kiosk.training_card(False)
    assert kiosk.window.state is shown
    assert kiosk.controller.worker.runner is None


def test_a_bug_in_the_outbox_at_save_wipes_and_reports_the_type_only(
    make_kiosk: MakeKiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = make_kiosk("jlis-test")
    persona = load_persona("jlis-test")
    to_eligibility(qtbot, kiosk, persona.auth_pin)
    assert persona.name in "\n".join(all_texts(kiosk.window))  # the confirm page holds the basic four
    monkeypatch.setattr(Outbox, "enqueue", _bug)  # not a QueueRefusedError: a bug, not a refusal

    caplog.set_level(logging.ERROR, logger="ui.controller")
    with qtbot.waitSignal(kiosk.controller.internal_error, timeout=10000) as crash:
        click(qtbot, kiosk.window.pages["confirm"].yes)  # type: ignore[attr-defined]  # "register"

    error = crash.args[0]  # type: ignore[index]
    assert type(error) is RuntimeError
    assert kiosk.controller.error is error
    assert kiosk.controller.worker.runner is None
    texts = "\n".join(all_texts(kiosk.window))
    assert persona.name not in texts  # wiped: the confirm page no longer holds the resident
    assert persona.address not in texts
    assert "RuntimeError" in caplog.text
    assert "_bug" in caplog.text  # the code-only traceback names the failing function
    assert SECRET not in caplog.text
    assert persona.name not in caplog.text
    assert kiosk.enrolled.queued() == []  # type: ignore[attr-defined]
    _assert_out_of_service(qtbot, kiosk)


def test_a_bug_while_a_pin_is_held_zeroes_it_and_stops_the_timer(
    make_kiosk: MakeKiosk, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = make_kiosk("miyagi-distinct-pins")
    persona = load_persona("miyagi-distinct-pins")
    pages = kiosk.window.pages
    to_pin_entry(qtbot, kiosk)
    pad_page = pages["pin"]
    handed: list[bytearray] = []
    pad_page.pad.submitted.connect(handed.append)  # type: ignore[attr-defined]
    click(qtbot, pad_page.different)  # type: ignore[attr-defined]
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CARD_INFO_PIN_ENTRY)
    runner = kiosk.controller.worker.runner
    assert runner is not None
    assert runner.holds_pin  # the auth PIN waits in the driver for the card-info PIN
    assert handed[0] == bytearray(persona.auth_pin.encode())
    assert kiosk.controller._timer.isActive()  # the PIN screen's timeout runs

    monkeypatch.setattr(kiosk.flow, "step", _bug)  # the next event hits a bug in the flow
    caplog.set_level(logging.ERROR, logger="ui.controller")
    with qtbot.waitSignal(kiosk.controller.internal_error, timeout=10000) as crash:
        kiosk.controller.post(CardRemoved())

    assert type(crash.args[0]) is RuntimeError  # type: ignore[index]
    assert not runner.holds_pin
    assert handed[0] == bytearray(4)  # the very buffer the pad handed over is zeroed
    assert not kiosk.controller._timer.isActive()  # no timeout may post to a dead worker
    assert SECRET not in caplog.text
    assert "RuntimeError" in caplog.text
    _assert_out_of_service(qtbot, kiosk)
