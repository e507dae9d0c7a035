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

    click(qtbot, window.pages["idle"].choices[0])  # type: ignore[attr-defined]  # 日本語: starts
    wait_phase(qtbot, kiosk, Phase.CONSENT)  # one programme: no language or programme screen
    consent = window.pages["consent"]
    blocks = consent.blocks  # type: ignore[attr-defined]
    assert list(blocks) == ["point", "disaster"]  # required first, then the optional one
    assert "demo-1" in blocks["point"][0].text()  # the terms version, per service
    assert consent.next.isVisible()  # type: ignore[attr-defined]  # an optional service: "next"
    assert not consent.next.isEnabled()  # type: ignore[attr-defined]  # … once the required one is agreed
    click(qtbot, blocks["point"][2])  # the required service's own agreement
    qtbot.waitUntil(lambda: consent.next.isEnabled())  # type: ignore[attr-defined]
    assert blocks["point"][2].isChecked()
    assert window.state is not None
    assert window.state.services == ("point",)  # the optional one is not chosen without its consent
    click(qtbot, consent.next)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.WAIT_CARD)

    kiosk.training_card(True)  # the resident places the card
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)
    pin_page = window.pages["pin"]
    assert "3" in pin_page.tries.text()  # type: ignore[attr-defined]  # tries left before entry
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    shown = "\n".join(all_texts(window))
    assert persona.name in shown  # the basic four, for the resident
    confirm = window.pages["confirm"]
    assert confirm.result.isVisible()  # type: ignore[attr-defined]  # the kiosk-side result, same screen
    assert confirm.notice.text()  # type: ignore[attr-defined]  # "the office decides"
    assert not kiosk.enrolled.queued()  # type: ignore[attr-defined]  # nothing before "register"
    click(qtbot, confirm.yes)  # type: ignore[attr-defined]  # "register": the final confirmation
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
    consents = queued[0].record.consents  # type: ignore[attr-defined]
    assert [(c.service, c.terms_version) for c in consents] == [("point", "demo-1")]

    click(qtbot, receipt.ok)  # type: ignore[attr-defined]
    # no printer here: the first "finish" asks once (the code was not printed), the second ends
    click(qtbot, receipt.ok)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.IDLE)  # staff mode: no take-card step
    texts = "\n".join(all_texts(window))
    assert state.code not in texts
    assert persona.name not in texts
