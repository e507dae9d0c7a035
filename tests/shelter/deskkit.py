"""Shared helpers for the shelter tests: a desk over a real outbox or a memory queue, virtual cards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from card.pinless import read_auth_certificate_pinless
from card.trust import load_trust_store
from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona
from kiosk.rules.shelter_config import load_shelters
from kiosk.sequence import RecordSequence
from kiosk.shelter import CardIdentity, ShelterDesk
from kiosk.shelter_state import ShelterState

ROOT = Path(__file__).resolve().parents[2]
TRUST = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
SHELTERS = load_shelters(ROOT / "config" / "shelters.toml")
JST = dt.timezone(dt.timedelta(hours=9))


@dataclass
class MemoryQueue:
    rows: list[tuple[bytes, str, str]] = field(default_factory=list)

    def enqueue(self, plaintext: bytes, *, record_id: str, program_id: str) -> None:
        self.rows.append((plaintext, record_id, program_id))


def make_desk(
    data_dir: Path, queue: object, shelter: str = "ishinomaki-hiyoriyama", kiosk_id: str = "shelter-kiosk-1"
) -> ShelterDesk:
    data_dir.mkdir(parents=True, exist_ok=True)
    return ShelterDesk(
        shelter=SHELTERS[shelter],
        shelters=SHELTERS,
        kiosk_id=kiosk_id,
        queue=queue,  # type: ignore[arg-type]
        sequence=RecordSequence(data_dir),
        state=ShelterState(data_dir),
    )


def tap(persona: str) -> tuple[VirtualMyNumberCard, CardIdentity]:
    """A PIN-less read of a fresh virtual card; returns the card (for its access log) and the identity."""
    card = VirtualMyNumberCard(load_persona(persona))
    read = read_auth_certificate_pinless(InProcessConnection(card), TRUST)
    return card, CardIdentity(read.certificate.der, read.issuer_der, read.serial, read.chain.value)
