"""A real server context (SQLite or PostgreSQL) and kiosks that seal through the real outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from deskkit import make_desk

from kiosk.shelter import ShelterDesk
from sync import wire
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.server.context import ServerContext, ServerOptions
from sync.server.decide import Outcome
from sync.server.devices import enroll, issue_token
from sync.server.ingest import Ingestor
from sync.server.keys import init_data_dir
from sync.server.shelters import ShelterIngestor
from tests.server.factory import Kiosk, RecordSpec, write_program

REPO = Path(__file__).resolve().parents[2]
TEST_TRUST = REPO / "config" / "trust" / "test" / "jpki-auth-root.pem"


def build_context(tmp_path: Path, db_url: str) -> ServerContext:
    data_dir = tmp_path / "server-data"
    token = init_data_dir(data_dir)
    programs = tmp_path / "programs"
    write_program(
        programs, "demo", award='kind = "none"\npoints = 0', one_grant=False, disaster_required=False
    )
    options = ServerOptions(
        data_dir=data_dir, db_url=db_url, programs_dir=programs, trust_file=TEST_TRUST, pool_size=4
    )
    ctx = ServerContext.build(options)
    ctx.admin_token = token  # type: ignore[attr-defined]  # for the admin API tests
    return ctx


@dataclass
class ShelterKiosk:
    """A shelter kiosk with a real device key, a real outbox and the desk over it."""

    kiosk_id: str
    outbox: Outbox
    desk: ShelterDesk
    store: DeviceStore

    def drain(self, ctx: ServerContext) -> list[Outcome]:
        """Upload every queued envelope as the sync client would (without HTTP)."""
        claimed = self.outbox.claim(ignore_schedule=True)
        envelopes = [c.envelope for c in claimed]
        key = Ingestor(ctx).device_key(self.kiosk_id)
        outcomes = ShelterIngestor(ctx).ingest(self.kiosk_id, key, envelopes, datetime.now(UTC))
        return outcomes


def shelter_kiosk(ctx: ServerContext, data_dir: Path, kiosk_id: str, shelter: str) -> ShelterKiosk:
    store = DeviceStore(data_dir)
    device_key = store.load_or_create_device_key()
    raw = device_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    enroll(ctx.db, issue_token(ctx.db, kiosk_id), kiosk_id, raw)
    server_raw = ctx.keys.hpke_private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server("http://127.0.0.1:1", wire.EnrollResponse(kiosk_id, server_raw, wire.SUITE_ID))
    outbox = Outbox.open(data_dir / OUTBOX_FILE, sealer=store.sealer(kiosk_id))
    return ShelterKiosk(
        kiosk_id, outbox, make_desk(data_dir, outbox, shelter=shelter, kiosk_id=kiosk_id), store
    )


def booth(ctx: ServerContext, kiosk_id: str = "booth-1") -> Kiosk:
    """A registration booth (the server tests' simulated kiosk), enrolled."""
    kiosk = Kiosk(ctx.keys.hpke_private_key.public_key(), kiosk_id=kiosk_id)
    enroll(ctx.db, issue_token(ctx.db, kiosk_id), kiosk_id, kiosk.public_key_raw())
    return kiosk


def register(
    ctx: ServerContext, kiosk: Kiosk, persona: str, services: tuple[str, ...] = ("disaster", "point")
) -> str:
    """Register ``persona`` through the real registration ingest; return the record id."""
    env = kiosk.make(RecordSpec(persona_name=persona, services=services))
    report = Ingestor(ctx).ingest(kiosk.kiosk_id, [env.to_json()])
    assert [o.status.value for o in report.outcomes] == ["accepted"], report.outcomes
    return env.record_id
