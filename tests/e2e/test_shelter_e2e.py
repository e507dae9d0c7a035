"""Shelter check-in end to end (issue 15): virtual cards on pcscd + vpcd, the real CLIs, outboxes and
reference server over loopback HTTP.

1. A booth kiosk and a shelter kiosk are enrolled with the server before the disaster; then the
   server goes offline (nothing listens on its port).
2. At the booth, three virtual residents register (``madoguchi register`` with their PINs); the
   third is given a printed 避難所受付カード (its token record queued with the registrations).
   ``madoguchi sync`` fails: everything stays queued.
3. At the shelter, ``madoguchi checkin`` takes two residents by card tap (the first with one
   companion), the third by the printed card's code, and one person with neither card by staff
   entry. The cards' access logs show only the JPKI AP, no VERIFY (no PIN), never the card-info AP.
4. The network returns (the server starts on the same port); both kiosks sync; the server's
   evacuee list shows five people in (four plus the companion), three registered residents, one
   unverified; an authorised operator sees the right names.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card.virtual.card import VirtualMyNumberCard
from card.virtual.persona import load_persona
from kiosk.demo_support import profile_with_test_trust
from kiosk.rules.shelter_config import load_shelters
from kiosk.sequence import RecordSequence
from kiosk.shelter_card import issue_checkin_card
from sync import wire
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.server import shelters
from sync.server.context import ServerContext, ServerOptions
from sync.server.devices import enroll, issue_token
from sync.server.keys import init_data_dir

InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]
ROOT = Path(__file__).resolve().parents[2]
READER = "Virtual PCD 00 00"
MADOGUCHI = str(Path(sys.executable).with_name("madoguchi"))
SHELTER = "ishinomaki-hiyoriyama"
INS_VERIFY = 0x20
ENV = {k: v for k, v in os.environ.items() if k != "MADOGUCHI_CONFIG"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(ctx: ServerContext, port: int) -> Iterator[None]:
    from sync.server.app import create_app
    from sync.server.run import uvicorn_settings

    config = uvicorn.Config(
        create_app(ctx), host="127.0.0.1", port=port, log_level="warning", **uvicorn_settings()
    )  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _kiosk(ctx: ServerContext, tmp: Path, kiosk_id: str, mode: str, url: str) -> Path:
    """Write a profile, create the device key, enrol it with the server and pin the server key."""
    data_dir = tmp / kiosk_id
    profile = profile_with_test_trust(
        kiosk_id=kiosk_id, mode=mode, data_dir=data_dir, program="demo", server_url=url
    )
    if mode == "shelter":
        profile += f'\n[shelter]\nid = "{SHELTER}"\nshelters_file = "{ROOT / "config" / "shelters.toml"}"\n'
    path = tmp / f"{kiosk_id}.toml"
    path.write_text(profile, encoding="utf-8")
    store = DeviceStore(data_dir)
    key = store.load_or_create_device_key()
    enroll(
        ctx.db,
        issue_token(ctx.db, kiosk_id),
        kiosk_id,
        key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )
    server_raw = ctx.keys.hpke_private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server(url, wire.EnrollResponse(kiosk_id, server_raw, wire.SUITE_ID))
    return path


def _run(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MADOGUCHI, *argv], input=stdin, capture_output=True, text=True, timeout=120, env=ENV
    )


def _checkin(profile: Path, *extra: str, stdin: str = "") -> dict:  # type: ignore[type-arg]
    done = _run("checkin", "--config", str(profile), "--json", *extra, stdin=stdin)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_shelter_checkins_offline_then_the_evacuee_list(insert_card: InsertCard, tmp_path: Path) -> None:
    data_dir = tmp_path / "server-data"
    init_data_dir(data_dir)
    options = ServerOptions(
        data_dir=data_dir,
        db_url=f"sqlite:///{tmp_path / 'server.sqlite3'}",
        programs_dir=ROOT / "config" / "programs",
        trust_file=ROOT / "config" / "trust" / "test" / "jpki-auth-root.pem",
        pool_size=4,
    )
    ctx = ServerContext.build(options)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    booth = _kiosk(ctx, tmp_path, "booth-e2e-1", "staff", url)
    shelter = _kiosk(ctx, tmp_path, "shelter-e2e-1", "shelter", url)
    residents = ["miyagi-sendai", "miyagi-elderly", "miyagi-long-address"]
    try:
        # 2. registrations at the booth, server offline
        registration_ids = []
        for name in residents:
            persona = load_persona(name)
            with insert_card(persona):
                done = _run(
                    "register",
                    "--reader",
                    READER,
                    "--config",
                    str(booth),
                    "--program",
                    "demo",
                    "--services",
                    "point,disaster",
                    "--pin-stdin",
                    "--yes",
                    "--json",
                    stdin=persona.auth_pin + "\n",
                )
            assert done.returncode == 0, done.stdout + done.stderr
            registration_ids.append(json.loads(done.stdout)["registration_id"])
        booth_dir = tmp_path / "booth-e2e-1"
        with Outbox.open(booth_dir / OUTBOX_FILE, sealer=DeviceStore(booth_dir).sealer("booth-e2e-1")) as box:
            card_record, content = issue_checkin_card(
                box,
                kiosk_id="booth-e2e-1",
                registration_record_id=registration_ids[2],
                sequence=RecordSequence(booth_dir),
            )
        assert content.qr_text.endswith(card_record.token)
        assert _run("sync", "--config", str(booth), "--once").returncode != 0  # the server is offline

        # 3. check-ins at the shelter (still offline)
        logs = []
        for i, name in enumerate(residents[:2]):
            with insert_card(load_persona(name)) as card:
                before = len(card.access_log)
                out = _checkin(shelter, "--reader", READER, *(["--companions", "1"] if i == 0 else []))
                logs.append(card.access_log[before:])
            assert out["status"] == "checked_in"
            assert out["method"] == "card"
            assert out["card"]["apdus"] == 3
        for log in logs:
            assert log, "the check-in sent nothing to the card"
            assert {e.ap for e in log} == {"jpki"}  # never the card-info AP (so never the My Number)
            assert all(e.ins != INS_VERIFY for e in log)  # no PIN verification, not even a tries query
        out = _checkin(shelter, "--code", content.qr_text)
        assert out["method"] == "code"
        out = _checkin(shelter, "--unverified", stdin="ヒナン タロウ\n1951-04-01\n")
        assert out["verified"] is False
        assert out["headcount"] == {
            "in": 5,
            "people": 4,
            "companions": 1,
            "out": 0,
            "departed": 0,
            "moved": 0,
            "unverified": 1,
        }
        assert out["queued"] == 5  # 4 arrivals + 1 companions record, waiting for the network

        # 4. the network returns
        with _serving(ctx, port):
            for profile in (shelter, booth):  # shelter first: the registrations arrive after the check-ins
                done = _run("sync", "--config", str(profile), "--once", "--json")
                assert done.returncode == 0, done.stdout + done.stderr
        (row,) = [
            r
            for r in shelters.summary(ctx.db, load_shelters(ROOT / "config" / "shelters.toml"))
            if r["shelter_id"] == SHELTER
        ]
        assert row["headcount"] == 5
        assert row["people"] == 4
        assert row["companions"] == 1
        assert row["registered"] == 3
        assert row["unregistered_cards"] == 0
        assert row["unverified"] == 1
        token = shelters.add_operator(ctx.db, "e2e-operator", actor="test")
        listed = shelters.evacuees(
            ctx.db, ctx.keys, SHELTER, operator=shelters.Operator("e2e-operator", token, "e2e drill")
        )
        assert {p["name"] for p in listed} - {None} == {load_persona(n).name for n in residents}
        assert {p["name_kana"] for p in listed} - {None} == {"ヒナン\u3000タロウ"}
        assert sum(p["companions"] for p in listed) == 1
        for name in residents:
            assert load_persona(name).my_number not in json.dumps(listed, ensure_ascii=False)
    finally:
        ctx.close()
