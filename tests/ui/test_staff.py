"""The staff view: scrypt passcode, lock-out, what it shows (never the resident's data), and its
actions; plus the ``madoguchi staff-passcode`` hash format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from uikit import all_texts

from kiosk.flow import ErrorKind, FlowState, Phase
from kiosk.i18n import LANGUAGE_CODES
from kiosk.staff_auth import PasscodeFormatError, PasscodeGate, hash_passcode, verify_passcode
from ui.gallery import SAMPLE_CODE, SAMPLE_RESIDENT
from ui.staff import DailyCounts, QueueInfo, StaffView

QUEUE = QueueInfo(counts={"PENDING": 2, "SENDING": 0, "REJECTED": 0}, oldest_age_s=12.0, sync_running=True)

PASSCODE = "246810"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_passcode(PASSCODE)


def test_hash_is_salted_scrypt(stored: str) -> None:
    scheme, n, r, p, _salt, _digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert PASSCODE not in stored
    assert hash_passcode(PASSCODE) != stored  # a new salt each time
    assert verify_passcode(stored, PASSCODE)
    assert not verify_passcode(stored, "246811")
    with pytest.raises(PasscodeFormatError):
        verify_passcode("plain$246810", PASSCODE)


def test_lockout_after_five_failures_doubles(stored: str) -> None:
    clock = Clock()
    gate = PasscodeGate(stored, clock=clock)
    for _ in range(4):
        assert not gate.attempt("000000")
    assert gate.locked_for() == 0
    assert not gate.attempt("000000")  # the fifth
    assert gate.locked_for() == 300
    assert not gate.attempt(PASSCODE)  # even the right one, while locked
    clock.now += 301
    assert gate.attempt(PASSCODE)
    for _ in range(5):
        gate.attempt("000000")
    assert gate.locked_for() == 600  # the second lock-out is twice as long


def _type(view: StaffView, digits: str) -> None:
    for digit in digits:
        view._press(int(digit))
    view.enter.click()


def test_states_shown_do_not_read_the_outbox(qtbot: QtBot, stored: str) -> None:
    """Reading the queue opens the outbox's SQLite file: the GUI thread does it on unlock and on
    the view's timer, never once per screen the resident sees."""
    reads: list[int] = []

    def queue_status() -> QueueInfo:
        reads.append(1)
        return QUEUE

    view = StaffView(PasscodeGate(stored, clock=Clock()), queue_status=queue_status, language="en")
    qtbot.addWidget(view)
    view.show()
    _type(view, PASSCODE)
    assert view.unlocked
    assert len(reads) == 1
    for phase in (Phase.IDLE, Phase.PIN_ENTRY, Phase.CONFIRM, Phase.RECEIPT):
        view.observe(FlowState(phase=phase, language="ja", program_id="demo"))
    assert len(reads) == 1
    assert "waiting 2" in view.status["queue"].text()
    assert view._queue_timer.isActive()
    view._queue_timer.timeout.emit()
    assert len(reads) == 2
    view.lock_view()
    assert not view._queue_timer.isActive()


def test_view_shows_status_and_never_personal_data(qtbot: QtBot, stored: str) -> None:
    view = StaffView(PasscodeGate(stored, clock=Clock()), queue_status=lambda: QUEUE, language="en")
    qtbot.addWidget(view)
    view.show()
    assert not view.start.isVisible()  # locked
    _type(view, "111111")
    assert "Wrong passcode" in view.message.text()
    assert not view.unlocked
    _type(view, PASSCODE)
    assert view.unlocked
    confirm = FlowState(
        phase=Phase.CONFIRM, language="ja", program_id="demo", resident=SAMPLE_RESIDENT, code=SAMPLE_CODE
    )
    for state in (
        FlowState(phase=Phase.IDLE, language="ja", program_id="demo"),
        FlowState(phase=Phase.PIN_ENTRY, language="ja", program_id="demo", tries_left=3),
        confirm,
    ):
        view.observe(state)
    texts = "\n".join(all_texts(view))
    assert "checking the card's details" in texts
    assert "waiting 2" in texts
    assert "visits 1" in texts
    for secret in (SAMPLE_RESIDENT.name, SAMPLE_RESIDENT.address, SAMPLE_RESIDENT.birth_date.isoformat(),
                   SAMPLE_RESIDENT.birth_date.strftime("%Y"), SAMPLE_CODE, PASSCODE):  # fmt: skip
        assert secret not in texts
    started, cancelled, training = [], [], []
    view.start_visit.connect(lambda: started.append(1))
    view.cancel_visit.connect(lambda: cancelled.append(1))
    view.training.connect(training.append)
    view.start.click()
    view.cancel.click()
    view.training_button.click()
    view.training_button.click()
    # training mode is chosen at start-up: the button asks for the other mode and says how
    assert (started, cancelled, training) == ([1], [1], [True, True])
    assert "restart the kiosk with --virtual-card PERSONA" in view.message.text()
    view.lock.click()
    assert not view.start.isVisible()


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_view_speaks_every_language(qtbot: QtBot, stored: str, language: str) -> None:
    """Every text of the staff view comes from the catalogue in the profile's language: in any
    language but English no English source text is left on it (locked, unlocked, wrong
    passcode, the training note), and the numbers and the option name survive."""
    from ui.staff import STEPS

    view = StaffView(PasscodeGate(stored, clock=Clock()), queue_status=lambda: QUEUE, language=language)
    qtbot.addWidget(view)
    view.show()
    shown = [*all_texts(view), view.windowTitle()]
    _type(view, "111111")
    shown += all_texts(view)
    _type(view, PASSCODE)
    view.observe(FlowState(phase=Phase.ERROR, language="en", program_id="demo", error=ErrorKind.PIN_BLOCKED))
    view.training_button.click()
    shown += all_texts(view)
    texts = "\n".join(shown)
    assert "--virtual-card PERSONA" in texts
    assert "12" in texts  # the oldest record's age: the queue's figures are shown
    if language != "en":
        english = ["Staff view", "Enter the staff passcode.", "Unlock", "Wrong passcode.", "Start a visit",
                   "Cancel the visit", "Lock", "Resident's step", "Card reader", "Today:", "waiting",
                   "Training mode is off", STEPS[Phase.ERROR].en]  # fmt: skip
        loanwords = {"tl": {"Card reader"}}  # Tagalog keeps the loanword residents use (docs/ui.md)
        left = [text for text in english if text in texts and text not in loanwords.get(language, ())]
        assert not left, f"{language}: English left on the staff view: {left}"


@pytest.mark.parametrize("size", [(1366, 768), (800, 1280), (1920, 1080)])
def test_view_fits_a_staff_screen_in_every_language(qtbot: QtBot, stored: str, size: tuple[int, int]) -> None:
    """Locked and unlocked (long counts, an error counted, the training note), nothing clipped or
    off the view (``ui.fit.misfits``, the resident screens' fit test) in any language."""
    from ui.fit import misfits

    counts = {"PENDING": 12, "SENDING": 1, "REJECTED": 3}
    queue = QueueInfo(counts=counts, oldest_age_s=4242, sync_running=True)
    problems = []
    for language in LANGUAGE_CODES:
        view = StaffView(PasscodeGate(stored, clock=Clock()), queue_status=lambda: queue, language=language)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        problems += [f"{language} locked: {p}" for p in misfits(view)]
        _type(view, PASSCODE)
        for phase in (Phase.IDLE, Phase.CONSENT, Phase.ERROR, Phase.IDLE, Phase.ERROR):
            error = ErrorKind.CERTIFICATE_EXPIRED if phase is Phase.ERROR else None
            view.observe(FlowState(phase=phase, language="en", program_id="demo", error=error))
        view.observe(FlowState(phase=Phase.CARD_INFO_LAST_TRY_CONFIRM, language="en", program_id="demo"))
        view.training_button.click()
        QApplication.processEvents()
        problems += [f"{language} open: {p}" for p in misfits(view)]
        view.close()
    assert not problems, "\n".join(problems[:10])


def test_daily_counts() -> None:
    counts = DailyCounts(day=dt.date(2026, 12, 3))
    day = dt.date(2026, 12, 3)
    phases = [Phase.IDLE, Phase.LANGUAGE, Phase.WAIT_CARD, Phase.RECEIPT, Phase.TAKE_CARD, Phase.IDLE,
              Phase.LANGUAGE, Phase.IDLE, Phase.LANGUAGE, Phase.ERROR]  # fmt: skip
    for phase in phases:
        error = ErrorKind.PIN_BLOCKED if phase is Phase.ERROR else None
        counts.observe(FlowState(phase=phase, language="ja", program_id="demo", error=error), day)
    assert (counts.visits, counts.registrations, counts.cancelled) == (3, 1, 1)
    assert counts.errors == {"pin_blocked": 1}
    counts.observe(FlowState(phase=Phase.IDLE, language="ja", program_id="demo"), dt.date(2026, 12, 4))
    assert (counts.visits, counts.registrations) == (0, 0)  # a new day


def test_staff_passcode_command_prints_a_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kiosk.cli import main
    from kiosk.station import parse_station

    answers = iter([PASSCODE, PASSCODE])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["staff-passcode"]) == 0
    out = capsys.readouterr().out
    assert PASSCODE not in out
    import tomllib

    station = parse_station(Path("kiosk.toml"), tomllib.loads(out))
    assert station.staff_passcode_hash is not None
    assert verify_passcode(station.staff_passcode_hash, PASSCODE)
    answers = iter(["12", "12"])
    assert main(["staff-passcode"]) == 2  # too short


def test_staff_booth_kiosk_has_the_staff_view(
    qtbot: QtBot, themed: object, tmp_path: Path, stored: str
) -> None:
    """A staff-mode profile with [staff] passcode_hash: the app opens the staff view, which
    follows the resident's step, reads the real outbox's counts and starts / cancels visits."""
    from uikit import make_enrolled, wait_phase

    from kiosk.flow import Phase
    from kiosk.settings import load_settings
    from ui.app import KioskApp

    enrolled = make_enrolled(tmp_path / "k", "staff")
    with enrolled.config.open("a", encoding="utf-8") as file:
        file.write(f'\n[staff]\npasscode_hash = "{stored}"\n')
    kiosk = KioskApp(load_settings(enrolled.config), persona="jlis-test", background_sync=False)
    qtbot.addWidget(kiosk.window)
    kiosk.window.show()
    kiosk.start()
    try:
        view = kiosk.staff_view
        assert view is not None
        qtbot.addWidget(view)
        assert view.isVisible()
        _type(view, PASSCODE)
        assert view.unlocked
        view.start.click()  # staff start the visit for the resident
        qtbot.waitUntil(lambda: kiosk.window.state is not None and kiosk.window.state.phase is not Phase.IDLE)
        view.refresh()
        assert view.language == "ja"  # the profile's language, whatever the resident picks
        view.set_language("en")
        assert "waiting for a resident" not in view.status["step"].text()
        assert "waiting 0" in view.status["queue"].text()  # the real outbox, read-only
        view.cancel.click()
        wait_phase(qtbot, kiosk, Phase.IDLE)  # type: ignore[arg-type]
        view.training_button.click()
        assert "Training mode is on" in view.message.text()
        assert view.windowTitle() == "Madoguchi — staff"
    finally:
        kiosk.stop()


def test_self_service_kiosk_has_no_staff_view(make_kiosk: object) -> None:
    kiosk = make_kiosk(mode="self")  # type: ignore[operator]
    assert kiosk.staff_view is None
