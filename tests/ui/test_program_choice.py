"""The programme choice on the programme page (``[kiosk] offered_programs``): one large toggle per
offered programme, the current one marked in words as well as filled; a tap switches the
programme and the registration is queued under it. With one programme the page has no choice."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from uikit import MakeKiosk, all_texts, click, make_enrolled, type_pin, wait_phase

from card.virtual.persona import load_persona
from kiosk.flow import Phase
from kiosk.rules.programs import load_programs
from kiosk.settings import load_settings
from sync.outbox import OUTBOX_FILE
from ui.app import KioskApp
from ui.i18n import ui_text
from ui.theme import MIN_TARGET

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = load_programs(ROOT / "config" / "programs")
LOTTERY = "miyagi-point-2024-lottery"  # closed on 2025-01-25
SECOND = "miyagi-point-2025-second"  # open 2025-02-03 to 2025-02-20
IN_SECOND = dt.datetime(2025, 2, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


@pytest.fixture
def two_programme_kiosk(themed: object, qtbot: QtBot, tmp_path: Path) -> Iterator[KioskApp]:
    """A training kiosk whose profile offers the lottery (default) and the second campaign."""
    enrolled = make_enrolled(tmp_path / "k", "staff", LOTTERY)
    text = enrolled.config.read_text(encoding="utf-8")
    line = f'program = "{LOTTERY}"\n'
    assert line in text
    enrolled.config.write_text(
        text.replace(line, f'{line}offered_programs = ["{LOTTERY}", "{SECOND}"]\n'), encoding="utf-8"
    )
    kiosk = KioskApp(
        load_settings(enrolled.config),
        persona="miyagi-sendai",
        clock=lambda: IN_SECOND,
        background_sync=False,
    )
    kiosk.enrolled = enrolled  # type: ignore[attr-defined]
    qtbot.addWidget(kiosk.window)
    kiosk.window.show()
    kiosk.start()
    qtbot.waitUntil(lambda: kiosk.controller.state is not None, timeout=5000)
    yield kiosk
    kiosk.stop()


def _to_program(qtbot: QtBot, kiosk: KioskApp) -> None:
    pages = kiosk.window.pages
    click(qtbot, pages["idle"].choices[0])  # type: ignore[attr-defined]  # 日本語: starts
    wait_phase(qtbot, kiosk, Phase.PROGRAM)  # two programmes: the choice stays on the path


def test_tapping_the_second_programme_registers_under_it(two_programme_kiosk: KioskApp, qtbot: QtBot) -> None:
    kiosk = two_programme_kiosk
    window = kiosk.window
    page = window.pages["program"]
    persona = load_persona("miyagi-sendai")
    _to_program(qtbot, kiosk)

    toggles = page.program_toggles  # type: ignore[attr-defined]
    assert list(toggles) == [LOTTERY, SECOND]  # the profile's order
    first, second = toggles[LOTTERY], toggles[SECOND]
    for toggle in (first, second):
        assert toggle.isVisible()
        assert toggle.isCheckable()
        assert toggle.height() >= MIN_TARGET
        assert toggle.width() >= MIN_TARGET
    assert first.isChecked()
    assert not second.isChecked()
    # Not by colour alone: the words say which one is chosen (the service toggles' marks).
    assert first.text().startswith(ui_text("selected", "ja"))
    assert "選択中" in first.text()
    assert second.text().startswith(ui_text("not_selected", "ja"))
    assert "第二弾" in second.text()
    assert "抽選" in first.text()
    assert first.accessibleName() == first.text()
    assert ui_text("programs_title", "ja") in all_texts(window)

    click(qtbot, second)
    qtbot.waitUntil(lambda: window.state is not None and window.state.program_id == SECOND)
    assert window.state is not None
    assert window.state.phase is Phase.PROGRAM
    assert second.isChecked()
    assert not first.isChecked()
    assert "選択中" in second.text()
    assert "選択中" not in first.text()
    assert page.program_name.text() == PROGRAMS[SECOND].name.ja  # type: ignore[attr-defined]
    assert set(page.toggles) == {t.service for t in PROGRAMS[SECOND].services}  # type: ignore[attr-defined]

    window.choose_language("en")  # the choice speaks the screen language too
    qtbot.waitUntil(lambda: second.text().startswith(ui_text("selected", "en")))
    assert "Miyagi Point second campaign" in second.text()
    window.choose_language("ja")
    qtbot.waitUntil(lambda: second.text().startswith(ui_text("selected", "ja")))
    assert window.state is not None
    assert window.state.program_id == SECOND

    click(qtbot, page.next)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    for accepted in (1, 2):  # point and disaster, both required
        click(qtbot, window.pages["consent"].agree)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda n=accepted: len(window.state.consents) == n)  # type: ignore[union-attr]
    wait_phase(qtbot, kiosk, Phase.WAIT_CARD)
    kiosk.training_card(True)
    wait_phase(qtbot, kiosk, Phase.PIN_ENTRY)
    type_pin(qtbot, kiosk, persona.auth_pin)
    wait_phase(qtbot, kiosk, Phase.CONFIRM)
    qtbot.waitUntil(lambda: window.state.eligibility is not None)  # type: ignore[union-attr]
    assert window.state.eligibility.eligible  # type: ignore[union-attr]  # the second campaign is open
    click(qtbot, window.pages["confirm"].yes)  # type: ignore[attr-defined]  # "register"
    wait_phase(qtbot, kiosk, Phase.RECEIPT)

    queued = kiosk.enrolled.queued()  # type: ignore[attr-defined]
    assert [q.record.program_id for q in queued] == [SECOND]
    outbox = kiosk.enrolled.data_dir / OUTBOX_FILE  # type: ignore[attr-defined]
    with sqlite3.connect(outbox) as conn:
        assert conn.execute("SELECT program_id FROM outbox").fetchall() == [(SECOND,)]

    click(qtbot, window.pages["receipt"].ok)  # type: ignore[attr-defined]
    # no printer here: the first "finish" asks once (the code was not printed), the second ends
    click(qtbot, window.pages["receipt"].ok)  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.IDLE)
    assert window.state is not None
    assert window.state.program_id == LOTTERY


def test_one_programme_shows_no_programme_screen(make_kiosk: MakeKiosk, qtbot: QtBot) -> None:
    kiosk = make_kiosk("jlis-test")
    click(qtbot, kiosk.window.pages["idle"].choices[0])  # type: ignore[attr-defined]
    wait_phase(qtbot, kiosk, Phase.CONSENT)
    page = kiosk.window.pages["program"]
    assert page.selector is None  # type: ignore[attr-defined]
    assert kiosk.window.state is not None
    assert kiosk.window.state.services == ("point",)  # the required service, chosen for the resident
    assert "program" not in kiosk.window.steps  # the step bar counts five steps
    assert kiosk.window.pages["consent"].step.text().startswith("手順 1 / 5")  # type: ignore[attr-defined]
