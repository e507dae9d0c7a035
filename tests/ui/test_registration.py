"""A whole registration through the Qt screens: taps on the buttons, the in-process virtual card
on the card worker thread, and the real sealed outbox; the envelope is opened as the server does."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from uikit import MakeKiosk, all_texts, click, type_pin, wait_phase

from card.virtual.persona import load_persona
from kiosk.flow import Phase


def test_a_resident_registers_through_the_screens(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    window = kiosk.window
    persona = load_persona("jlis-test")
    assert window.current_page() == "idle"

    click(qtbot, window.pages["idle"].start)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.LANGUAGE)
    click(qtbot, window.pages["language"].choices[0])  # type: ignore[attr-defined]  # 日本語
    wait_phase(qtbot, kiosk, Phase.PROGRAM)
    program_page = window.pages["program"]
    toggles = program_page.toggles  # type: ignore[attr-defined]
    assert toggles["point"].isChecked()
    assert not toggles["point"].isEnabled()
    click(qtbot, program_page.next)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    consent = window.pages["consent"]
    assert "demo-1" in consent.version.text()  # type: ignore[attr-defined]  # the terms version shown
    click(qtbot, consent.agree)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.WAIT_CARD)

    kiosk.training_card(True)  # the resident places the card
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)
    pin_page = window.pages["pin"]
    assert "3" in pin_page.tries.text()  # type: ignore[attr-defined]  # tries left before entry
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    shown = "\n".join(all_texts(window))
    assert persona.name in shown  # the basic four, for the resident
    click(qtbot, window.pages["confirm"].yes)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.ELIGIBILITY)
    click(qtbot, window.pages["eligibility"].register)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.RECEIPT)

    receipt = window.pages["receipt"]
    state = kiosk.controller.state
    assert state is not None
    assert state.code
    assert receipt.code.text() == state.code  # type: ignore[attr-defined]
    assert not receipt.qr.pixmap().isNull()  # type: ignore[attr-defined]
    assert "0120-000-000" in receipt.support.text()  # type: ignore[attr-defined]
    assert "暗証番号" in receipt.anti_fraud.text()  # type: ignore[attr-defined]

    queued = kiosk.enrolled.queued()  # type: ignore[attr-defined]
    assert len(queued) == 1
    assert queued[0].record.code.replace("-", "") == state.code.replace("-", "")  # type: ignore[attr-defined]
    assert queued[0].record.program_id == "demo"  # type: ignore[attr-defined]

    click(qtbot, receipt.ok)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.IDLE)  # staff mode: no take-card step
    texts = "\n".join(all_texts(window))
    assert state.code not in texts
    assert persona.name not in texts
