"""The shelter-mode screens (避難所の受付): resident side above, staff strip below.

One widget, :class:`ShelterScreen`, over a :class:`kiosk.shelter.ShelterDesk` (the same desk as
``madoguchi checkin``). It never reads the card itself: the app layer does the PIN-less read off the
GUI thread and calls :meth:`ShelterScreen.card_tapped` with the identity (docs/shelter.md §2).

Screens (``page`` names, also the screenshot names of :func:`sample_screens`):

- ``welcome``: 「避難所の受付」 and the shelter's name; "place your card (no PIN)" or "scan your
  shelter check-in card". A USB scanner types like a keyboard into the code field and ends with
  Enter; a person can type the code there too.
- ``done``: checked in; "anyone else with you?" with a companions count (− / +) to add.
- ``already``: already checked in here: "leaving" or "moving to another shelter" (then the list).
- ``moved``: choose the other shelter.
- ``staff_entry``: staff type the kana name and the birth date (unverified entry).
- ``message``: a refusal or a confirmation, with "back".

The staff strip shows the headcount (in, companions, out, unverified) and the number of records
waiting to be sent; never a name. Nothing personal stays on screen: :meth:`ShelterScreen.wipe`
clears the staff-entry fields and returns to ``welcome``.

Texts: the labels below are catalogue messages (``shelter.*``), translated in every kiosk language
(docs/ui.md "How to add a string").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import Message, Plural
from kiosk.rules.shelter_record import Method
from kiosk.shelter import (
    AlreadyHere,
    CardIdentity,
    CheckedIn,
    CheckedOut,
    CompanionsAdded,
    Outcome,
    Refused,
    ShelterDesk,
)
from ui.widgets import button, label, set_button_text

#: The shelter screens' labels: catalogue messages (``kiosk/locale``, docs/ui.md "How to add a string").
_TEXT: Final[dict[str, Message | Plural]] = {
    "title": Message("shelter.title", "Shelter reception"),
    "tap": Message("shelter.tap", "Place your My Number Card on the reader. No PIN is needed."),
    "scan": Message("shelter.scan", "With a shelter check-in card: scan its QR code, or type the code."),
    "code_placeholder": Message("shelter.code_placeholder", "Check-in card code"),
    "code_ok": Message("shelter.code_ok", "Check in with the code"),
    "staff_button": Message("shelter.staff_button", "No card (staff entry)"),
    "done": Message("shelter.done", "You are checked in"),
    "done_unverified": Message("shelter.done_unverified", "Checked in (not verified)"),
    "companions_q": Message(
        "shelter.companions_q", "Anyone else with you? Add the number of people without a card of their own."
    ),
    "companions_n": Plural("shelter.companions_n", "{n} companion", "{n} companions"),
    "companions_add": Message("shelter.companions_add", "Add them"),
    "finish": Message("shelter.finish", "Finish"),
    "already": Message("shelter.already", "You are already checked in here. What would you like to do?"),
    "leave": Message("shelter.leave", "Leave the shelter"),
    "move": Message("shelter.move", "Move to another shelter"),
    "move_title": Message("shelter.move_title", "Choose the shelter you move to"),
    "left": Message("shelter.left", "Your departure is recorded. Take care."),
    "moved": Message("shelter.moved", "Your move to {name} is recorded. Check in there too."),
    "staff_title": Message("shelter.staff_title", "Staff entry (not verified)"),
    "kana": Message("shelter.kana", "Name in kana"),
    "birth": Message("shelter.birth", "Birth date (e.g. 1950-04-01)"),
    "staff_ok": Message("shelter.staff_ok", "Check in"),
    "back": Message("shelter.back", "Back"),
    "card_untrusted": Message(
        "shelter.card_untrusted", "This card could not be verified. Staff will enter you by hand."
    ),
    "bad_code": Message("shelter.bad_code", "That code is not valid. Please scan it again."),
    "bad_entry": Message("shelter.bad_entry", "Check the kana name and the birth date."),
    "not_here": Message("shelter.not_here", "Not checked in at this shelter."),
    "unknown_shelter": Message("shelter.unknown_shelter", "That shelter cannot be chosen."),
    "headcount": Message(
        "shelter.headcount",
        "In {in} (companions {companions}) · out {out} · unverified {unverified} · waiting to send {queued}",
    ),
}


def text(key: str, language: str, **values: object) -> str:
    """A shelter label in ``language`` (every kiosk language; a plural label takes its count as ``n``)."""
    entry = _TEXT[key]
    if isinstance(entry, Plural):
        count = values.pop("n")
        if not isinstance(count, int):
            raise TypeError(f"{key}: n must be an int")
        return entry.format(language, count, **values)
    return entry.format(language, **values) if values else entry.get(language)


class ShelterScreen(QWidget):
    """The shelter kiosk's window content. ``queued`` reports how many records wait to be sent."""

    def __init__(
        self, desk: ShelterDesk, *, language: str = "ja", queued: Callable[[], int] = lambda: 0
    ) -> None:
        super().__init__()
        self.desk = desk
        self.language = language
        self._queued = queued
        self._arrival: CheckedIn | None = None
        self._household: CheckedIn | None = None
        self._here: AlreadyHere | None = None
        self._companions = 0
        self.page = "welcome"
        outer = QVBoxLayout(self)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.pages: dict[str, QWidget] = {}
        self._build_welcome()
        self._build_done()
        self._build_already()
        self._build_moved()
        self._build_staff()
        self._build_message()
        # staff strip: headcount, staff entry
        strip = QHBoxLayout()
        self.headcount = label("notice")
        self.headcount.setObjectName("staff_headcount")
        strip.addWidget(self.headcount, 1)
        self.staff_button = button(lambda: self.show_page("staff_entry"))
        strip.addWidget(self.staff_button)
        outer.addLayout(strip)
        self.retranslate()
        self.show_page("welcome")

    # -- building -------------------------------------------------------------------------------

    def _page(self, name: str) -> QVBoxLayout:
        widget = QWidget()
        layout = QVBoxLayout(widget)
        layout.setSpacing(20)
        self.pages[name] = widget
        self.stack.addWidget(widget)
        return layout

    def _build_welcome(self) -> None:
        lay = self._page("welcome")
        self.title = label("heading", center=True)
        self.shelter_name = label("heading", center=True)
        self.tap_hint = label(center=True)
        self.scan_hint = label(center=True)
        self.code = QLineEdit()
        self.code.setObjectName("checkin_code")
        self.code.setMinimumHeight(64)
        self.code.returnPressed.connect(self._code_entered)  # USB scanners end with Enter
        self.code_ok = button(self._code_entered)
        for w in (self.title, self.shelter_name, self.tap_hint, self.scan_hint, self.code, self.code_ok):
            lay.addWidget(w)
        lay.addStretch(1)

    def _build_done(self) -> None:
        lay = self._page("done")
        self.done_title = label("heading", center=True)
        self.companions_q = label()
        row = QHBoxLayout()
        self.minus = button(lambda: self._step_companions(-1))
        self.companions_n = label("heading", center=True)
        self.plus = button(lambda: self._step_companions(1))
        for w in (self.minus, self.companions_n, self.plus):
            row.addWidget(w)
        self.companions_add = button(self._add_companions, primary=True)
        self.finish = button(lambda: self.show_page("welcome"))
        lay.addWidget(self.done_title)
        lay.addWidget(self.companions_q)
        lay.addLayout(row)
        lay.addWidget(self.companions_add)
        lay.addWidget(self.finish)
        lay.addStretch(1)

    def _build_already(self) -> None:
        lay = self._page("already")
        self.already_title = label("heading", center=True)
        self.leave = button(self._leave, primary=True)
        self.move_button = button(lambda: self.show_page("moved"))
        self.already_back = button(lambda: self.show_page("welcome"))
        for w in (self.already_title, self.leave, self.move_button, self.already_back):
            lay.addWidget(w)
        lay.addStretch(1)

    def _build_moved(self) -> None:
        lay = self._page("moved")
        self.move_title = label("heading", center=True)
        lay.addWidget(self.move_title)
        self.targets: dict[str, QPushButton] = {}
        for sid in self.desk.shelters:
            if sid == self.desk.shelter.id:
                continue
            target = button(partial(self._move, sid))
            self.targets[sid] = target
            lay.addWidget(target)
        self.moved_back = button(lambda: self.show_page("already"))
        lay.addWidget(self.moved_back)
        lay.addStretch(1)

    def _build_staff(self) -> None:
        lay = self._page("staff_entry")
        self.staff_title = label("heading", center=True)
        self.kana_label = label()
        self.kana = QLineEdit()
        self.kana.setObjectName("staff_kana")
        self.birth_label = label()
        self.birth = QLineEdit()
        self.birth.setObjectName("staff_birth")
        self.staff_ok = button(self._staff_entry, primary=True)
        self.staff_back = button(self.wipe)
        for w in (
            self.staff_title,
            self.kana_label,
            self.kana,
            self.birth_label,
            self.birth,
            self.staff_ok,
            self.staff_back,
        ):
            lay.addWidget(w)
        lay.addStretch(1)

    def _build_message(self) -> None:
        lay = self._page("message")
        self.message = label("heading", center=True)
        self.message_back = button(lambda: self.show_page("welcome"), primary=True)
        lay.addWidget(self.message)
        lay.addWidget(self.message_back)
        lay.addStretch(1)

    # -- texts ----------------------------------------------------------------------------------

    def retranslate(self) -> None:
        """Every label in :attr:`language`."""
        lang = self.language
        self.title.setText(text("title", lang))
        self.shelter_name.setText(self.desk.shelter.name(lang))
        self.tap_hint.setText(text("tap", lang))
        self.scan_hint.setText(text("scan", lang))
        self.code.setPlaceholderText(text("code_placeholder", lang))
        set_button_text(self.code_ok, text("code_ok", lang))
        set_button_text(self.staff_button, text("staff_button", lang))
        self.companions_q.setText(text("companions_q", lang))
        set_button_text(self.minus, "−")
        set_button_text(self.plus, "+")
        set_button_text(self.companions_add, text("companions_add", lang))
        set_button_text(self.finish, text("finish", lang))
        self.already_title.setText(text("already", lang))
        set_button_text(self.leave, text("leave", lang))
        set_button_text(self.move_button, text("move", lang))
        set_button_text(self.already_back, text("back", lang))
        self.move_title.setText(text("move_title", lang))
        for sid, target in self.targets.items():
            set_button_text(target, self.desk.shelters[sid].name(lang))
        set_button_text(self.moved_back, text("back", lang))
        self.staff_title.setText(text("staff_title", lang))
        self.kana_label.setText(text("kana", lang))
        self.birth_label.setText(text("birth", lang))
        set_button_text(self.staff_ok, text("staff_ok", lang))
        set_button_text(self.staff_back, text("back", lang))
        set_button_text(self.message_back, text("back", lang))
        self._show_companions()
        self.refresh_headcount()

    def set_language(self, language: str) -> None:
        """Switch the screen language."""
        self.language = language
        self.retranslate()

    def refresh_headcount(self) -> None:
        """The staff strip (no personal data)."""
        count = self.desk.headcount().to_json()
        values = {k: count[k] for k in ("in", "companions", "out", "unverified")}
        self.headcount.setText(text("headcount", self.language, queued=self._queued(), **values))

    def _show_companions(self) -> None:
        self.companions_n.setText(text("companions_n", self.language, n=self._companions))
        self.companions_add.setEnabled(self._companions > 0 and self._arrival is not None)
        self.minus.setEnabled(self._companions > 0)

    # -- navigation -----------------------------------------------------------------------------

    def show_page(self, name: str) -> None:
        """Show one screen; leaving the staff entry clears its fields."""
        if name != "staff_entry":
            self.kana.clear()
            self.birth.clear()
        if name == "welcome":
            self._arrival = None
            self._household = None
            self._here = None
            self._companions = 0
            self.code.clear()
            self.code.setFocus(Qt.FocusReason.OtherFocusReason)  # the scanner types here
        self.page = name
        self.stack.setCurrentWidget(self.pages[name])
        self._show_companions()
        self.refresh_headcount()

    def wipe(self) -> None:
        """Forget everything shown and go back to the first screen."""
        self.show_page("welcome")

    def _say(self, key: str, **values: object) -> None:
        self.message.setText(text(key, self.language, **values))
        self.show_page("message")

    # -- the desk -------------------------------------------------------------------------------

    def show_outcome(self, outcome: Outcome) -> None:
        """Show what the desk answered (every ``ShelterDesk`` call ends here)."""
        if isinstance(outcome, CheckedIn):
            self._arrival = outcome
            self._companions = 0
            self.show_page("done")
            self._arrival = outcome
            self._household = outcome
            self.done_title.setText(text("done" if outcome.verified else "done_unverified", self.language))
            self._show_companions()
        elif isinstance(outcome, AlreadyHere):
            self.show_page("already")
            self._here = outcome
        elif isinstance(outcome, CheckedOut):
            if outcome.moved_to:
                self._say("moved", name=self.desk.shelters[outcome.moved_to].name(self.language))
            else:
                self._say("left")
        elif isinstance(outcome, CompanionsAdded):
            self.show_page("welcome")
        elif isinstance(outcome, Refused):
            self._say(outcome.reason)

    def card_tapped(self, identity: CardIdentity) -> None:
        """A PIN-less read finished (called on the GUI thread by the app layer). On the "anyone
        else with you?" screen a tap is a companion with a card of their own: same household."""
        household = self._household if self.page == "done" else None
        outcome = self.desk.tap_card(identity, household=None if household is None else household.record_id)
        self.show_outcome(outcome)
        if household is not None and isinstance(outcome, CheckedIn):
            self._household = household  # the household stays the first person's arrival

    def _code_entered(self) -> None:
        value = self.code.text()
        self.code.clear()
        if value.strip():
            self.show_outcome(self.desk.scan_code(value))

    def _step_companions(self, delta: int) -> None:
        self._companions = max(0, min(50, self._companions + delta))
        self._show_companions()

    def _add_companions(self) -> None:
        if self._arrival is not None and self._companions:
            self.show_outcome(self.desk.add_companions(self._arrival, self._companions))

    def _leave(self) -> None:
        if self._here is not None:
            self.show_outcome(self.desk.check_out(self._here))

    def _move(self, shelter_id: str) -> None:
        if self._here is not None:
            self.show_outcome(self.desk.move(self._here, shelter_id))

    def _staff_entry(self) -> None:
        try:
            birth = dt.date.fromisoformat(self.birth.text().strip())
        except ValueError:
            self._say("bad_entry")
            return
        outcome = self.desk.staff_entry(self.kana.text(), birth)
        self.kana.clear()
        self.birth.clear()
        self.show_outcome(outcome)


#: The shelter pages in the order of the screenshot matrix.
SCREENS: Final = ("welcome", "done", "already", "moved", "staff_entry", "message")


def show_sample(screen: ShelterScreen, name: str) -> None:
    """Put ``screen`` on page ``name`` with made-up content, nothing queued (screenshot matrix)."""
    screen.show_page("welcome")
    if name == "done":
        screen.show_outcome(CheckedIn("00000000-0000-4000-8000-000000000000", Method.CARD, True))
        screen._step_companions(2)
    elif name == "message":
        screen.show_outcome(Refused("card_untrusted"))
    elif name != "welcome":
        screen.show_page(name)


class _DiscardQueue:
    """A queue that keeps nothing: screenshots never seal anything."""

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> None:
        return None


def render_screenshots(out: Path, width: int, height: int, languages: tuple[str, ...]) -> int:
    """Write ``out/<language>/shelter_<page>.png`` for every shelter page (the screenshot matrix of
    ``scripts/screenshots.py``); a throw-away desk and shelter list, nothing queued. Returns the count."""
    import tempfile

    from kiosk.rules.shelter_config import load_shelters
    from kiosk.sequence import RecordSequence
    from kiosk.shelter_state import ShelterState

    shelters = load_shelters(Path(__file__).resolve().parents[2] / "config" / "shelters.toml")
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        state = ShelterState(Path(tmp))
        desk = ShelterDesk(
            shelter=next(iter(shelters.values())),
            shelters=shelters,
            kiosk_id="screenshots",
            queue=_DiscardQueue(),
            sequence=RecordSequence(Path(tmp)),
            state=state,
        )
        screen = ShelterScreen(desk)
        screen.resize(width, height)
        screen.show()
        for language in languages:
            folder = out / language
            folder.mkdir(parents=True, exist_ok=True)
            screen.set_language(language)
            for name in SCREENS:
                show_sample(screen, name)
                QApplication.processEvents()
                screen.grab().save(str(folder / f"shelter_{name}.png"))
                count += 1
        screen.close()
        state.close()
    return count
