"""The server side of shelter check-ins, through the real outbox, sealing and ingest, on SQLite and
PostgreSQL: evacuee list, person linking (card, printed card), opening audited, not-seen, notices."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from deskkit import SHELTERS, tap
from serverkit import booth, build_context, register, shelter_kiosk

from kiosk.rules.record import KioskStamp
from kiosk.rules.shelter_record import CHECKIN_PROGRAM_ID, CheckinCardRecord
from kiosk.shelter import AlreadyHere, CheckedIn
from kiosk.shelter_card import new_token
from sync.sealing import seal
from sync.server import audit, shelters
from sync.server.context import ServerContext
from sync.server.ingest import Ingestor
from tests.server.conftest import ENGINES, drop_schema, make_db_url


@pytest.fixture(params=ENGINES)
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerContext]:
    url, schema = make_db_url(str(request.param), tmp_path)
    context = build_context(tmp_path, url)
    yield context
    context.close()
    drop_schema(schema)


def _issue_card(ctx: ServerContext, kiosk, registration_id: str) -> str:  # type: ignore[no-untyped-def]
    token = new_token()
    kiosk.seq += 1
    record = CheckinCardRecord(
        str(uuid.uuid4()), registration_id, token, KioskStamp(kiosk.kiosk_id, dt.datetime.now(dt.UTC), 99)
    )
    env = seal(
        record.plaintext(),
        record_id=record.record_id,
        kiosk_id=kiosk.kiosk_id,
        seq=kiosk.seq,
        program_id=CHECKIN_PROGRAM_ID,
        server_public_key=kiosk.server_public_key,
        device_key=kiosk.device_key,
        created_at=record.kiosk.clock,
    )
    report = Ingestor(ctx).ingest(kiosk.kiosk_id, [env.to_json()])
    assert [o.status.value for o in report.outcomes] == ["accepted"]
    return token


def test_evacuee_list_links_cards_and_codes_to_registrations(ctx: ServerContext, tmp_path: Path) -> None:
    b = booth(ctx)
    register(ctx, b, "miyagi-sendai")
    reg_elderly = register(ctx, b, "miyagi-elderly")
    token = _issue_card(ctx, b, reg_elderly)
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    first = k.desk.tap_card(tap("miyagi-sendai")[1])
    assert isinstance(first, CheckedIn)
    k.desk.add_companions(first, 2)
    assert isinstance(k.desk.scan_code(token), CheckedIn)
    assert isinstance(k.desk.tap_card(tap("miyagi-long-address")[1]), CheckedIn)  # not registered
    assert isinstance(k.desk.staff_entry("ヤマダ タロウ", dt.date(1940, 1, 2)), CheckedIn)
    outcomes = k.drain(ctx)
    assert sorted(o.status.value for o in outcomes) == ["accepted"] * 5
    again = k.drain(ctx)
    assert again == []  # nothing left in SENDING/PENDING after the kiosk applies the settlement? claim only
    (row,) = [s for s in shelters.summary(ctx.db, SHELTERS) if s["shelter_id"] == "ishinomaki-hiyoriyama"]
    assert row["headcount"] == 6  # 4 people + 2 companions
    assert row["registered"] == 2
    assert row["unregistered_cards"] == 1
    assert row["unverified"] == 1
    assert sum(row["arrivals_per_hour"].values()) == 6
    listed = shelters.evacuees(ctx.db, ctx.keys, "ishinomaki-hiyoriyama")
    assert all(p["name"] is None and p["address"] is None for p in listed)  # no operator: nothing opened
    households = {p["household"] for p in listed} - {None}
    assert households == set()  # everyone came alone or first


def test_household_is_listed(ctx: ServerContext, tmp_path: Path) -> None:
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    first = k.desk.tap_card(tap("miyagi-sendai")[1])
    assert isinstance(first, CheckedIn)
    k.desk.tap_card(tap("miyagi-elderly")[1], household=first.record_id)
    k.drain(ctx)
    listed = shelters.evacuees(ctx.db, ctx.keys, "ishinomaki-hiyoriyama")
    assert sorted(str(p["household"]) for p in listed) == sorted(["None", first.record_id])


def test_names_only_for_an_authorised_operator_and_audited(ctx: ServerContext, tmp_path: Path) -> None:
    b = booth(ctx)
    register(ctx, b, "miyagi-sendai")
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    k.desk.tap_card(tap("miyagi-sendai")[1])
    k.desk.staff_entry("ヤマダ タロウ", dt.date(1940, 1, 2))
    k.drain(ctx)
    token = shelters.add_operator(ctx.db, "ishinomaki-bousai-1", actor="cli")
    with pytest.raises(shelters.OperatorRefusedError):
        shelters.evacuees(
            ctx.db,
            ctx.keys,
            "ishinomaki-hiyoriyama",
            operator=shelters.Operator("ishinomaki-bousai-1", "wrong"),
        )
    op = shelters.Operator("ishinomaki-bousai-1", token, "safety check 2026-12-03")
    listed = shelters.evacuees(ctx.db, ctx.keys, "ishinomaki-hiyoriyama", operator=op)
    names = {p["name"] for p in listed} - {None}
    assert names == {"佐藤　花子"}
    assert {p["name_kana"] for p in listed} - {None} == {"ヤマダ\u3000タロウ"}
    with ctx.db.transaction() as tx:
        kinds = [r[0] for r in tx.execute("SELECT kind FROM audit_log ORDER BY seq")]
    assert kinds.count("shelter.evacuees.open") == 1
    assert audit.verify(ctx.db) > 0
    shelters.revoke_operator(ctx.db, "ishinomaki-bousai-1", actor="cli")
    with pytest.raises(shelters.OperatorRefusedError):
        shelters.evacuees(ctx.db, ctx.keys, "ishinomaki-hiyoriyama", operator=op)


def test_second_tap_check_out_and_move_update_the_list(ctx: ServerContext, tmp_path: Path) -> None:
    k1 = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    k2 = shelter_kiosk(ctx, tmp_path / "k2", "shelter-kiosk-2", "ishinomaki-kaisei")
    k1.desk.tap_card(tap("miyagi-sendai")[1])
    k1.desk.tap_card(tap("miyagi-elderly")[1])
    here = k1.desk.tap_card(tap("miyagi-sendai")[1])
    assert isinstance(here, AlreadyHere)
    k1.desk.move(here, "ishinomaki-kaisei")
    k2.desk.tap_card(tap("miyagi-sendai")[1])
    leaving = k1.desk.tap_card(tap("miyagi-elderly")[1])
    assert isinstance(leaving, AlreadyHere)
    k1.desk.check_out(leaving)
    # the second shelter's upload arrives first, the departures after: presence is computed at query time
    k2.drain(ctx)
    k1.drain(ctx)
    counts = {s["shelter_id"]: s["headcount"] for s in shelters.summary(ctx.db, SHELTERS)}
    assert counts["ishinomaki-hiyoriyama"] == 0
    assert counts["ishinomaki-kaisei"] == 1


def test_resend_is_duplicate_and_tampering_rejected(ctx: ServerContext, tmp_path: Path) -> None:
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    k.desk.tap_card(tap("miyagi-sendai")[1])
    (claimed,) = k.outbox.claim(ignore_schedule=True)
    key = Ingestor(ctx).device_key(k.kiosk_id)
    si = shelters.ShelterIngestor(ctx)
    now = dt.datetime.now(dt.UTC)
    assert si.ingest(k.kiosk_id, key, [claimed.envelope], now)[0].status.value == "accepted"
    assert si.ingest(k.kiosk_id, key, [claimed.envelope], now)[0].status.value == "duplicate"
    from dataclasses import replace

    forged = replace(claimed.envelope, record_id=str(uuid.uuid4()))
    assert si.ingest(k.kiosk_id, key, [forged], now)[0].reason == "bad_signature"


def test_not_seen_and_notice_list_need_operator_and_reason(ctx: ServerContext, tmp_path: Path) -> None:
    b = booth(ctx)
    register(ctx, b, "miyagi-sendai")  # 仙台市青葉区
    register(ctx, b, "miyagi-elderly")
    register(ctx, b, "miyagi-long-address", services=("point",))
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "sendai-aoba-kita")
    k.desk.tap_card(tap("miyagi-sendai")[1])
    k.drain(ctx)
    token = shelters.add_operator(ctx.db, "op", actor="cli")
    with pytest.raises(shelters.ReasonRequiredError):
        shelters.notice_list(ctx.db, ctx.keys, "宮城県", operator=shelters.Operator("op", token, ""))
    op = shelters.Operator("op", token, "evacuation order 2026-12-03 10:00")
    notices = shelters.notice_list(ctx.db, ctx.keys, "宮城県", operator=op)
    assert len(notices) == 2  # the point-only registration is not a disaster-service one
    result = shelters.not_seen(ctx.db, ctx.keys, "宮城県", operator=op)
    assert result["registered"] == 2
    assert result["not_seen"] == 1
    assert "佐藤　花子" not in {r["name"] for r in result["residents"]}


def test_purge_removes_old_checkins_only(ctx: ServerContext, tmp_path: Path) -> None:
    k = shelter_kiosk(ctx, tmp_path / "k1", "shelter-kiosk-1", "ishinomaki-hiyoriyama")
    k.desk.tap_card(tap("miyagi-sendai")[1])
    k.drain(ctx)
    assert shelters.purge_checkins(ctx.db, retention_days=30, actor="cli")["checkins"] == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert shelters.purge_checkins(ctx.db, retention_days=30, actor="cli", now=later)["checkins"] == 1
    assert shelters.summary(ctx.db, SHELTERS)[0]["headcount"] == 0


def _seal_from_booth(ctx: ServerContext, kiosk, record) -> None:  # type: ignore[no-untyped-def]
    kiosk.seq += 1
    env = seal(
        record.plaintext(),
        record_id=record.record_id,
        kiosk_id=kiosk.kiosk_id,
        seq=kiosk.seq,
        program_id=CHECKIN_PROGRAM_ID,
        server_public_key=kiosk.server_public_key,
        device_key=kiosk.device_key,
        created_at=record.kiosk.clock,
    )
    report = Ingestor(ctx).ingest(kiosk.kiosk_id, [env.to_json()])
    assert [o.status.value for o in report.outcomes] == ["accepted"], report.outcomes


def test_notice_list_uses_a_consented_contact_until_withdrawn(ctx: ServerContext) -> None:
    from kiosk.rules.shelter_record import ContactRecord

    b = booth(ctx)
    reg = register(ctx, b, "miyagi-sendai")
    register(ctx, b, "miyagi-elderly")
    now = dt.datetime.now(dt.UTC)

    def contact(phone: str | None, channel: str | None, at: dt.datetime) -> ContactRecord:
        return ContactRecord(
            str(uuid.uuid4()),
            reg,
            phone,
            channel,
            "miyagi-notice-contact-1",
            at,
            KioskStamp(b.kiosk_id, at, 50),
        )

    _seal_from_booth(ctx, b, contact("09012345678", "sms", now))
    token = shelters.add_operator(ctx.db, "op", actor="cli")
    op = shelters.Operator("op", token, "evacuation order")
    by_name = {n["name"]: n for n in shelters.notice_list(ctx.db, ctx.keys, "宮城県", operator=op)}
    assert (by_name["佐藤　花子"]["channel"], by_name["佐藤　花子"]["contact"]) == ("sms", "09012345678")
    others = [n for name, n in by_name.items() if name != "佐藤　花子"]
    assert [(n["channel"], n["contact"]) for n in others] == [("address", None)]
    _seal_from_booth(ctx, b, contact(None, None, now - dt.timedelta(minutes=5)))  # older: ignored
    by_name = {n["name"]: n for n in shelters.notice_list(ctx.db, ctx.keys, "宮城県", operator=op)}
    assert by_name["佐藤　花子"]["channel"] == "sms"
    _seal_from_booth(ctx, b, contact(None, None, now + dt.timedelta(minutes=5)))  # withdrawal
    by_name = {n["name"]: n for n in shelters.notice_list(ctx.db, ctx.keys, "宮城県", operator=op)}
    assert (by_name["佐藤　花子"]["channel"], by_name["佐藤　花子"]["contact"]) == ("address", None)


def test_contact_record_is_strict() -> None:
    from kiosk.errors import RecordFormatError
    from kiosk.rules.shelter_record import ContactRecord

    stamp = KioskStamp("booth-1", dt.datetime.now(dt.UTC), 1)
    rid, reg = str(uuid.uuid4()), str(uuid.uuid4())
    for phone, channel in (
        ("0312", "sms"),
        ("09012345678", None),
        ("09012345678", "fax"),
        ("+819012345678", "sms"),
    ):
        with pytest.raises(RecordFormatError):
            ContactRecord(rid, reg, phone, channel, "t-1", stamp.clock, stamp)
    ok = ContactRecord(rid, reg, "0312345678", "voice", "t-1", stamp.clock, stamp)
    from kiosk.rules.shelter_record import parse_shelter_plaintext

    assert parse_shelter_plaintext(ok.plaintext()).plaintext() == ok.plaintext()  # kiosk clocks are ms


def test_revoking_an_unknown_operator_is_refused(ctx: ServerContext) -> None:
    with pytest.raises(shelters.ShelterError):
        shelters.revoke_operator(ctx.db, "nobody", actor="cli")
