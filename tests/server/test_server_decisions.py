"""Person de-duplication, programme awards, review queue, exclusions, lottery, export, report, purge."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from kiosk.cli import main
from kiosk.rules.programs import JST
from kiosk.rules.record import registration_code
from sync.server import audit
from sync.server.lottery import select_winners
from sync.server.retention import purge
from sync.wire import DEVICE_HEADER, batch_request_body

from .conftest import RunningServer
from .factory import Kiosk, RecordSpec, card_key, issue_certificate


def someone(n: int, **changes: object) -> RecordSpec:
    """A distinct Miyagi resident number ``n``: own certificate serial, own name."""
    spec = RecordSpec(
        persona_name="miyagi-sendai",
        name=f"宮城　太郎{n}",
        certificate=issue_certificate(card_key("miyagi-sendai").public_key(), 10_000 + n),
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


def send(server: RunningServer, kiosk: Kiosk, *specs: RecordSpec) -> list[tuple[str, str | None, str]]:
    """Upload one batch; return (status, reason, decision) per record in order."""
    envelopes = [kiosk.make(s) for s in specs]
    with server.client() as client:
        reply = client.post(
            "/v1/records",
            content=batch_request_body(envelopes),
            headers={DEVICE_HEADER: kiosk.kiosk_id, "content-type": "application/json"},
        )
    assert reply.status_code == 200, reply.text
    got = {r["record_id"]: r for r in reply.json()["results"]}
    out = []
    with server.ctx.db.transaction() as tx:
        for env in envelopes:
            decision = tx.scalar("SELECT decision FROM records WHERE record_id = ?", (env.record_id,))
            out.append((got[env.record_id]["status"], got[env.record_id]["reason"], decision))
    return out


def test_first_come_first_served_quota_and_one_grant_per_person(server: RunningServer) -> None:
    kiosk = server.enroll()
    got = send(server, kiosk, *(someone(n, program_id="miyagi-fcfs") for n in range(3)))
    assert [d for _, _, d in got] == ["granted", "granted", "quota_exhausted"]
    # the first person again, same card: one grant per person
    assert send(server, kiosk, someone(0, program_id="miyagi-fcfs"))[0][2] == "already_granted"
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM grants WHERE program_id = 'miyagi-fcfs'") == 2
        assert tx.scalar("SELECT points FROM program_counters WHERE program_id = 'miyagi-fcfs'") == 6000
        assert tx.scalar("SELECT COUNT(DISTINCT person_id) FROM registrations") == 3


def test_renewed_card_same_address_is_the_same_person(server: RunningServer) -> None:
    kiosk = server.enroll()
    assert send(server, kiosk, someone(1, program_id="miyagi-second"))[0][2] == "granted"
    renewed = someone(
        1,
        program_id="miyagi-second",
        certificate=issue_certificate(card_key("miyagi-sendai").public_key(), 99_001),
    )
    # the same name written with a half-width space and full-width digits still matches (NFKC, no spaces)
    renewed = replace(renewed, name="宮城 太郎１")
    assert send(server, kiosk, renewed)[0][2] == "already_granted"
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(DISTINCT person_id) FROM registrations") == 1
        assert tx.scalar("SELECT COUNT(*) FROM review_queue") == 0


def test_secondary_match_with_other_address_goes_to_review(server: RunningServer) -> None:
    kiosk = server.enroll()
    send(server, kiosk, someone(2, program_id="miyagi-second"))
    moved = someone(2, program_id="miyagi-second", address="宮城県石巻市穀町１４－１")
    moved = replace(moved, certificate=issue_certificate(card_key("miyagi-sendai").public_key(), 99_002))
    namesake = replace(
        moved,
        certificate=issue_certificate(card_key("miyagi-sendai").public_key(), 99_003),
        record_id=uuid.uuid4(),
    )
    assert send(server, kiosk, moved)[0] == ("accepted", None, "review")
    with server.admin() as client:
        queue = client.get("/v1/admin/review").json()
        assert [q["reason"] for q in queue] == ["secondary_match_other_address"]
        assert "宮城" not in json.dumps(queue, ensure_ascii=False)  # no personal data in the queue
        resolved = client.post(f"/v1/admin/review/{queue[0]['review_id']}", json={"same_person": True})
        assert resolved.json()["decision"] == "already_granted"
        assert (
            client.post(f"/v1/admin/review/{queue[0]['review_id']}", json={"same_person": True}).status_code
            == 404
        )
    assert send(server, kiosk, namesake)[0][2] == "review"
    with server.admin() as client:
        queue = client.get("/v1/admin/review").json()
        assert (
            client.post(f"/v1/admin/review/{queue[0]['review_id']}", json={"same_person": False}).json()[
                "decision"
            ]
            == "granted"
        )
        assert client.get("/v1/admin/review").json() == []
        assert client.get("/v1/admin/review", headers={"Authorization": "Bearer wrong"}).status_code == 403
    with httpx_client(server) as anon:
        assert anon.get("/v1/admin/review").status_code == 401


def httpx_client(server: RunningServer):  # type: ignore[no-untyped-def]
    return server.client()


def test_exclusion_list_import_is_keyed_hashes(server: RunningServer) -> None:
    kiosk = server.enroll()
    spec = someone(3, program_id="miyagi-second")
    with server.admin() as client:
        reply = client.post(
            "/v1/admin/exclusions",
            json={
                "list_id": "miyagi-second",
                "entries": [
                    {"name": "宮城太郎3", "birth_date": spec_birth(spec).isoformat()},
                    {"key_hash": "ab" * 32},
                ],
            },
        )
    assert reply.json() == {"list_id": "miyagi-second", "new": 2}
    with server.ctx.db.transaction() as tx:
        stored = [bytes(r[0]) for r in tx.execute("SELECT key_hash FROM exclusions")]
    assert all(len(h) == 32 for h in stored)
    assert not any("太郎".encode() in h for h in stored)
    assert send(server, kiosk, spec, someone(4, program_id="miyagi-second"))[0][2] == "excluded"


def spec_birth(spec: RecordSpec) -> date:
    from .factory import persona

    return spec.birth_date or persona(spec.persona_name).birth_date


def test_lottery_draw_is_reproducible_and_excludes_winners_later(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk = server.enroll()
    entrants = {n: someone(n, program_id="miyagi-lottery") for n in range(10, 13)}
    got = send(server, kiosk, *entrants.values())
    assert [d for _, _, d in got] == ["lottery_entered"] * 3
    assert send(server, kiosk, someone(10, program_id="miyagi-lottery"))[0][2] == "already_entered"
    with server.admin() as client:
        result = client.post(
            "/v1/admin/lottery/miyagi-lottery/draw", json={"seed": "published-seed-2026"}
        ).json()
        assert (result["entrants"], result["winners"]) == (3, 2)
        # the same seed answers the stored result; another seed is refused
        again = client.post("/v1/admin/lottery/miyagi-lottery/draw", json={"seed": "published-seed-2026"})
        assert again.json()["winners_hash"] == result["winners_hash"]
        assert client.post("/v1/admin/lottery/miyagi-lottery/draw", json={"seed": "other"}).status_code == 409
    with server.ctx.db.transaction() as tx:
        codes = sorted(str(r[0]) for r in tx.execute("SELECT code FROM lottery_entries"))
        winners = sorted(str(r[0]) for r in tx.execute("SELECT code FROM grants WHERE via = 'lottery'"))
    # the CLI answers the same published result for the same seed
    base = ["--data", str(server.data_dir), "--db", server.ctx.options.db_url]
    programs = ["--programs", str(server.ctx.options.programs_dir)]
    assert (
        main(
            [
                "server",
                "draw",
                "--program",
                "miyagi-lottery",
                "--seed",
                "published-seed-2026",
                *base,
                *programs,
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["winners_hash"] == result["winners_hash"]
    assert main(["server", "draw", "--program", "miyagi-lottery", "--seed", "other", *base, *programs]) == 2
    # anyone can re-run the draw from the published seed and entrant list
    assert winners == select_winners("published-seed-2026", codes, 2)
    assert select_winners("another-seed", codes, 3) == codes  # below or at quota everyone wins
    with server.client() as client:
        statuses = {client.get(f"/v1/registrations/{c}").json()["grant"] for c in codes}
    assert statuses == {"lottery_won", "lottery_lost"}
    # after the draw the lottery is closed; a winner is excluded from the second campaign
    assert send(server, kiosk, someone(20, program_id="miyagi-lottery"))[0][2] == "lottery_closed"
    winner_n = next(n for n, spec in entrants.items() if registration_code(spec.record_id) in winners)
    assert send(server, kiosk, someone(winner_n, program_id="miyagi-second"))[0][2] == "excluded"


def test_export_report_purge_through_the_cli(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk = server.enroll()
    send(server, kiosk, *(someone(n, program_id="miyagi-fcfs") for n in range(30, 33)))
    send(server, kiosk, someone(40, address="栃木県宇都宮市旭１－１－５", program_id="miyagi-fcfs"))
    base = ["--data", str(server.data_dir), "--db", server.ctx.options.db_url]
    assert main(["server", "export", "--program", "miyagi-fcfs", "--format", "csv", *base]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2
    assert {r["points"] for r in rows} == {"3000"}
    assert {r["municipality"] for r in rows} == {"仙台市青葉区"}
    assert "太郎" not in json.dumps(rows, ensure_ascii=False)
    assert main(["server", "export", "--program", "miyagi-fcfs", "--format", "json", *base]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    month = datetime.now(UTC).astimezone(JST).strftime("%Y-%m")
    assert main(["server", "report", "--month", month, *base]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["registrations"]["by_program"] == {"miyagi-fcfs": 3}
    assert report["grants"] == {
        "total": 2,
        "points": 6000,
        "by_program": {"miyagi-fcfs": {"grants": 2, "points": 6000}},
    }
    assert report["rejections"] == {"not_resident": 1}
    assert report["municipalities"]["宮城県仙台市青葉区"] == {"registrations": 3, "grants": 2, "points": 6000}
    assert main(["server", "report", "--month", "2025-13", *base]) == 2
    # retention: nothing is old enough yet; six years later everything goes, the audit chain still verifies
    assert main(["server", "purge", *base]) == 0
    assert json.loads(capsys.readouterr().out)["registrations"] == 0
    result = purge(
        server.ctx.db, retention_years=5, actor="test", now=datetime.now(UTC) + timedelta(days=6 * 366)
    )
    assert (result.registrations, result.grants, result.records) == (3, 2, 4)
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM person_keys") == 0
    assert audit.verify(server.ctx.db) >= 1


def test_status_endpoint_and_stats(server: RunningServer) -> None:
    kiosk = server.enroll()
    spec = someone(50, program_id="miyagi-fcfs")
    send(server, kiosk, spec)
    code = registration_code(spec.record_id)
    with server.client() as client:
        assert client.get(f"/v1/registrations/{code}").json() == {
            "code": code,
            "status": "accepted",
            "grant": "granted",
        }
        # a code typed in lower case and without dashes is the same code
        assert client.get(f"/v1/registrations/{code.replace('-', '').lower()}").status_code == 200
    with server.admin() as client:
        stats = client.get("/v1/admin/stats").json()
        assert stats["grants"] == {"miyagi-fcfs": {"grants": 1, "points": 3000}}
        assert stats["devices"] == {"enrolled": 1, "revoked": 0}
        devices = client.get("/v1/admin/devices").json()
        assert [d["device_id"] for d in devices] == [kiosk.kiosk_id]
        assert client.post(f"/v1/admin/devices/{kiosk.kiosk_id}/revoke").json()["revoked_at"]
    assert audit.verify(server.ctx.db) > 0


def test_operator_opens_a_stored_registration_audited(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk = server.enroll()
    spec = someone(60, program_id="miyagi-fcfs")
    send(server, kiosk, spec)
    with server.ctx.db.transaction() as tx:
        blob = bytes(
            tx.scalar("SELECT envelope FROM registrations WHERE record_id = ?", (str(spec.record_id),))
        )
    assert "宮城".encode() not in blob  # stored sealed
    base = ["--data", str(server.data_dir), "--db", server.ctx.options.db_url]
    assert main(["server", "show", str(spec.record_id), "--actor", "reviewer-1", *base]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["resident"]["name"] == "宮城　太郎60"
    assert "auth_certificate" not in shown
    with server.ctx.db.transaction() as tx:
        details = [str(r[0]) for r in tx.execute("SELECT detail FROM audit_log WHERE kind = 'record.open'")]
    assert details == [json.dumps({"record_id": str(spec.record_id)}, separators=(",", ":"))]
    assert main(["server", "show", str(uuid.uuid4()), *base]) == 2
