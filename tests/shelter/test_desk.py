"""The shelter desk: arrivals by card, code and staff entry; second taps; companions; headcount."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from deskkit import MemoryQueue, make_desk, tap

from kiosk.rules.shelter_record import CHECKIN_PROGRAM_ID, Event, Method, parse_shelter_plaintext
from kiosk.shelter import AlreadyHere, CheckedIn, CheckedOut, CompanionsAdded, Refused
from kiosk.shelter_card import QR_PREFIX, card_content, display_token, new_token, normalize_token


def test_card_arrival_is_queued_and_counted(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    _, ident = tap("miyagi-sendai")
    out = desk.tap_card(ident)
    assert isinstance(out, CheckedIn)
    assert out.verified
    assert out.method is Method.CARD
    ((plaintext, rid, program),) = queue.rows
    assert program == CHECKIN_PROGRAM_ID
    assert rid == out.record_id
    record = parse_shelter_plaintext(plaintext)
    assert record.event is Event.ARRIVAL
    assert record.auth_certificate == ident.certificate_der
    assert "佐藤".encode() not in plaintext  # the tap read no name
    assert desk._state.headcount(desk.shelter.id).to_json()["in"] == 1


def test_second_tap_asks_and_check_out_removes(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    _, ident = tap("miyagi-sendai")
    first = desk.tap_card(ident)
    assert isinstance(first, CheckedIn)
    companions = desk.add_companions(first, 2)
    assert isinstance(companions, CompanionsAdded)
    assert desk._state.headcount(desk.shelter.id).total_in == 3
    again = desk.tap_card(tap("miyagi-sendai")[1])
    assert isinstance(again, AlreadyHere)
    assert again.present.arrival_record_id == first.record_id
    assert len(queue.rows) == 2  # the second tap queued nothing by itself
    out = desk.check_out(again)
    assert isinstance(out, CheckedOut)
    record = parse_shelter_plaintext(queue.rows[-1][0])
    assert record.event is Event.DEPARTURE
    assert record.refers_to == first.record_id
    assert record.companions == 2  # type: ignore[union-attr]
    count = desk._state.headcount(desk.shelter.id)
    assert (count.total_in, count.departed) == (0, 1)
    assert isinstance(desk.tap_card(ident), CheckedIn)  # back again later: a new arrival


def test_move_to_another_shelter(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    here = desk.scan_code(QR_PREFIX + new_token())
    assert isinstance(here, CheckedIn)
    assert here.method is Method.CODE
    token_text = parse_shelter_plaintext(queue.rows[0][0]).token  # type: ignore[union-attr]
    again = desk.scan_code(display_token(token_text).lower())
    assert isinstance(again, AlreadyHere)
    assert isinstance(desk.move(again, desk.shelter.id), Refused)
    moved = desk.move(again, "ishinomaki-kaisei")
    assert isinstance(moved, CheckedOut)
    assert moved.moved_to == "ishinomaki-kaisei"
    assert desk._state.headcount(desk.shelter.id).moved == 1


def test_expired_card_is_let_in_untrusted_card_refused(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    out = desk.tap_card(tap("miyagi-expired-cert")[1])
    assert isinstance(out, CheckedIn)
    assert parse_shelter_plaintext(queue.rows[0][0]).chain == "expired"  # type: ignore[union-attr]
    _, ident = tap("miyagi-sendai")
    forged = type(ident)(ident.certificate_der, ident.issuer_der, ident.serial, "unknown_ca")
    assert desk.tap_card(forged) == Refused("card_untrusted")
    assert len(queue.rows) == 1


def test_staff_entry_is_unverified_and_sealed_data_only(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    out = desk.staff_entry("ｻﾄｳ ﾀﾛｳ", dt.date(1950, 3, 1))
    assert isinstance(out, CheckedIn)
    assert not out.verified
    record = parse_shelter_plaintext(queue.rows[0][0])
    assert record.unverified is not None
    assert record.unverified.name_kana == "サトウ\u3000タロウ"
    assert isinstance(desk.staff_entry("サトウ タロウ", dt.date(1950, 3, 1)), AlreadyHere)
    assert desk.staff_entry("佐藤", dt.date(1950, 3, 1)) == Refused("bad_entry")
    assert desk.staff_entry("サトウ", dt.date(2999, 1, 1)) == Refused("bad_entry")
    assert desk._state.headcount(desk.shelter.id).unverified == 1


def test_bad_codes_are_refused(tmp_path: Path) -> None:
    desk = make_desk(tmp_path, MemoryQueue())
    token = new_token()
    typo = token[:-1] + ("2" if token[-1] != "2" else "3")
    assert desk.scan_code(typo) == Refused("bad_code")
    assert desk.scan_code("hello") == Refused("bad_code")


def test_token_forms_and_card_content() -> None:
    token = new_token()
    assert normalize_token(token) == token
    assert normalize_token(QR_PREFIX + token) == token
    assert normalize_token(display_token(token)) == token
    wide = display_token(token).translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert normalize_token(wide) == token
    content = card_content(token)
    assert content.qr_text == QR_PREFIX + token
    assert len(content.qr_matrix) == len(content.qr_matrix[0]) >= 21 + 8
    assert token not in " ".join(content.lines_ja + content.lines_en)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    _, ident = tap("miyagi-elderly")
    desk.tap_card(ident)
    desk._state.close()
    again = make_desk(tmp_path, queue)
    assert isinstance(again.tap_card(ident), AlreadyHere)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert ident.certificate_der[-64:] not in raw  # no certificate kept locally outside the sealed outbox


def test_a_registration_code_is_not_a_checkin_token() -> None:
    import uuid

    from kiosk.rules.record import registration_code

    for _ in range(200):
        code = registration_code(uuid.uuid4())
        assert normalize_token(code) is None
    assert len(display_token(new_token())) == 17  # XXXXX-XXXXX-XXXXX


def test_a_companion_with_their_own_card_joins_the_household(tmp_path: Path) -> None:
    queue = MemoryQueue()
    desk = make_desk(tmp_path, queue)
    first = desk.tap_card(tap("miyagi-sendai")[1])
    assert isinstance(first, CheckedIn)
    second = desk.tap_card(tap("miyagi-elderly")[1], household=first.record_id)
    assert isinstance(second, CheckedIn)
    records = [parse_shelter_plaintext(r[0]) for r in queue.rows]
    assert [r.household for r in records] == [None, first.record_id]  # type: ignore[union-attr]
