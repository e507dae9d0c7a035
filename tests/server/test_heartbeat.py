"""Issue 10 item 5, the server half: signed kiosk heartbeats through a real SyncClient and a real
uvicorn (SQLite and PostgreSQL), stored per device, shown by ``madoguchi server devices``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.cli import main
from sync.client import SyncClient
from sync.errors import SyncRejectedError
from sync.heartbeat import Heartbeat, send_heartbeat, signed_body
from sync.wire import DEVICE_HEADER

from .conftest import RunningServer

STATUS = {
    "version": "0.9.1",
    "queue_depth": 12,
    "oldest_queued_s": 340,
    "reader_state": "ready",
    "last_error": "http_503",
}


def _send(server: RunningServer, kiosk_id: str, key: Ed25519PrivateKey, **changes: object) -> Heartbeat:
    with SyncClient(server.url, kiosk_id=kiosk_id) as client:
        return send_heartbeat(client, key, **{**STATUS, **changes})  # type: ignore[arg-type]


def _devices(server: RunningServer, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[list, str]:  # type: ignore[type-arg]
    capsys.readouterr()
    base = ["--data", str(server.data_dir), "--db", server.ctx.options.db_url]
    assert main(["server", "devices", *base, *extra]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_heartbeat_is_stored_and_shown(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    kiosk = server.enroll("kiosk-hb")
    server.enroll("kiosk-silent")
    sent = _send(server, "kiosk-hb", kiosk.device_key, clock_offset_ms=-1500)
    listed, _ = _devices(server, capsys)
    by_id = {d["device_id"]: d for d in listed}
    hb = by_id["kiosk-hb"]["heartbeat"]
    assert hb["version"] == "0.9.1"
    assert hb["queue_depth"] == 12
    assert hb["oldest_queued_s"] == 340
    assert hb["reader_state"] == "ready"
    assert hb["clock_offset_ms"] == -1500
    assert hb["last_error"] == "http_503"
    assert abs(hb["server_offset_ms"]) < 5000
    assert by_id["kiosk-hb"]["not_seen"] is False
    assert by_id["kiosk-silent"]["heartbeat"] is None
    # a newer heartbeat replaces it
    _send(server, "kiosk-hb", kiosk.device_key, queue_depth=0, now=sent.sent_at + timedelta(seconds=1))
    listed, _ = _devices(server, capsys)
    assert {d["device_id"]: d for d in listed}["kiosk-hb"]["heartbeat"]["queue_depth"] == 0
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM device_heartbeats") == 1
    with server.admin() as admin:  # the admin API shows the same
        api = {d["device_id"]: d for d in admin.get("/v1/admin/devices").json()}
    assert api["kiosk-hb"]["heartbeat"]["queue_depth"] == 0
    assert api["kiosk-silent"]["not_seen"] is False


def test_silent_kiosks_are_flagged_after_the_configured_time(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk = server.enroll("kiosk-old")
    server.enroll("kiosk-new")
    _send(server, "kiosk-old", kiosk.device_key)
    with server.ctx.db.transaction(exclusive=True) as tx:  # an hour passes for both
        past = datetime.now(UTC) - timedelta(hours=1)
        tx.execute("UPDATE device_heartbeats SET received_at = ?", (past,))
        tx.execute("UPDATE devices SET enrolled_at = ?", (past,))
    listed, err = _devices(server, capsys, "--stale-minutes", "30")
    assert {d["device_id"]: d["not_seen"] for d in listed} == {"kiosk-new": True, "kiosk-old": True}
    assert err.startswith("madoguchi server: 2 kiosk(s) not seen for 30 min")
    listed, err = _devices(server, capsys, "--stale-minutes", "120")
    assert {d["not_seen"] for d in listed} == {False}
    assert err == ""


def test_forged_replayed_and_malformed_heartbeats_are_refused(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-hb2")
    server.enroll("kiosk-other")
    sent = _send(server, "kiosk-hb2", kiosk.device_key)
    with SyncClient(server.url, kiosk_id="kiosk-hb2") as client:
        # the same heartbeat again (a replay), and an older one
        with pytest.raises(SyncRejectedError) as replay:
            client.post_heartbeat(signed_body(sent, kiosk.device_key))
        assert replay.value.status == 409
    # signed by another key (a forger who knows only the kiosk id)
    with SyncClient(server.url, kiosk_id="kiosk-hb2") as client, pytest.raises(SyncRejectedError) as forged:
        send_heartbeat(
            client, Ed25519PrivateKey.generate(), **STATUS, now=sent.sent_at + timedelta(seconds=5)
        )  # type: ignore[arg-type]
    assert forged.value.status == 403
    # a heartbeat for another kiosk under this kiosk's header
    other = Heartbeat(
        **{**sent.__dict__, "kiosk_id": "kiosk-other", "sent_at": sent.sent_at + timedelta(seconds=9)}
    )
    with server.client() as client:
        reply = client.post(
            "/v1/heartbeat",
            content=signed_body(other, kiosk.device_key),
            headers={DEVICE_HEADER: "kiosk-hb2", "content-type": "application/json"},
        )
        assert reply.status_code == 403
        assert reply.json()["error"] == "kiosk_mismatch"
        # dated a day ahead
        ahead = Heartbeat(**{**sent.__dict__, "sent_at": sent.sent_at + timedelta(days=1)})
        reply = client.post(
            "/v1/heartbeat",
            content=signed_body(ahead, kiosk.device_key),
            headers={DEVICE_HEADER: "kiosk-hb2", "content-type": "application/json"},
        )
        assert reply.status_code == 409
        # personal data has nowhere to go: unknown fields are refused
        body = json.loads(signed_body(sent, kiosk.device_key))
        body["heartbeat"]["resident"] = "山田太郎"
        reply = client.post(
            "/v1/heartbeat",
            content=json.dumps(body).encode(),
            headers={DEVICE_HEADER: "kiosk-hb2", "content-type": "application/json"},
        )
        assert reply.status_code == 400
        # no device header: refused before the body
        reply = client.post("/v1/heartbeat", content=b"{}", headers={"content-type": "application/json"})
        assert reply.status_code == 401


def test_out_of_range_fields_are_not_sent(server: RunningServer) -> None:
    from sync.wire import MessageFormatError

    kiosk = server.enroll("kiosk-hb3")
    for bad in (
        {"queue_depth": -1},
        {"reader_state": "on fire"},
        {"last_error": "Name: 山田"},
        {"version": ""},
    ):
        with SyncClient(server.url, kiosk_id="kiosk-hb3") as client, pytest.raises(MessageFormatError):
            send_heartbeat(client, kiosk.device_key, **{**STATUS, **bad})  # type: ignore[arg-type]
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM device_heartbeats") == 0
