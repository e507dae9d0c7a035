"""``madoguchi register`` and the kiosk runner end to end: virtual card on pcscd + vpcd + pyscard,
the real sealed SQLite outbox, the server's way of opening and verifying a record.

- a persona registers (CLI process), and the card signature in the queued record verifies with the
  persona's auth certificate;
- a non-resident is refused with the right reason and nothing is queued;
- a card pulled at each APDU of a registration never leaves a record behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card.pcsc import PcscContext
from card.session import MyNumberCardSession
from card.trust import load_trust_store
from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona
from kiosk.demo_support import profile_with_test_trust
from kiosk.flow import (
    CardInfoPinSubmitted,
    CardInserted,
    ConsentAccepted,
    Flow,
    FlowSettings,
    FlowState,
    IdentityConfirmed,
    LanguageChosen,
    Phase,
    PinSlot,
    PinSubmitted,
    Register,
    ServicesChosen,
    Start,
)
from kiosk.local_index import RegisteredHereIndex
from kiosk.rules.eligibility import ReasonCode
from kiosk.rules.programs import load_programs
from kiosk.rules.record import SignedRegistration, parse_signed, verify_card_signature
from kiosk.runner import Runner
from kiosk.sequence import RecordSequence
from kiosk.settings import DEFAULT_TIMEOUTS, KioskMode
from sync import wire
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox
from sync.sealing import open_envelope

InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]
ROOT = Path(__file__).resolve().parents[2]
READER = "Virtual PCD 00 00"
MADOGUCHI = str(Path(sys.executable).with_name("madoguchi"))
JST = dt.timezone(dt.timedelta(hours=9))


class Kiosk:
    """A throw-away kiosk: profile, enrolled data_dir (device key + pinned server key)."""

    def __init__(self, tmp: Path) -> None:
        self.data_dir = tmp / "data"
        self.config = tmp / "kiosk.toml"
        self.config.write_text(
            profile_with_test_trust(
                kiosk_id="e2e-kiosk-1",
                mode="self",
                data_dir=self.data_dir,
                program="demo",
                server_url="http://127.0.0.1:1",
            ),
            encoding="utf-8",
        )
        self.server_key = X25519PrivateKey.generate()
        store = DeviceStore(self.data_dir)
        self.device_key = store.load_or_create_device_key()
        raw = self.server_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev-e2e", raw, wire.SUITE_ID))
        self.store = store

    def queued(self) -> list[SignedRegistration]:
        """Open every queued envelope as the server does and parse the signed registration."""
        path = self.data_dir / OUTBOX_FILE
        if not path.exists():
            return []
        with Outbox.open(path, recover=False) as outbox:
            claimed = outbox.claim(ignore_schedule=True, max_records=1000)
        result = []
        for item in claimed:
            plaintext = open_envelope(
                item.envelope,
                server_private_key=self.server_key,
                device_public_key=self.device_key.public_key(),
                expected_kiosk_id="e2e-kiosk-1",
            )
            result.append(parse_signed(plaintext))
        return result

    def register(self, pin: str, program: str, *extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [
            MADOGUCHI,
            "register",
            "--reader",
            READER,
            "--config",
            str(self.config),
            "--program",
            program,
            "--services",
            "point,disaster",
            "--pin-stdin",
            "--json",
            *extra,
        ]
        env = {k: v for k, v in os.environ.items() if k != "MADOGUCHI_CONFIG"}
        return subprocess.run(cmd, input=pin + "\n", capture_output=True, text=True, timeout=60, env=env)


def _persona_certificate(persona: str) -> x509.Certificate:
    """The persona's auth certificate, read from its card through the card layer (in-process)."""
    trust = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
    card = VirtualMyNumberCard(load_persona(persona))
    with MyNumberCardSession(InProcessConnection(card), trust) as session:
        return x509.load_der_x509_certificate(session.prefetch().auth_certificate.der)


def test_a_persona_registers_and_the_card_signature_verifies(insert_card: InsertCard, tmp_path: Path) -> None:
    persona = load_persona("miyagi-sendai")
    kiosk = Kiosk(tmp_path)
    with insert_card(persona) as card:
        done = kiosk.register(persona.auth_pin, "demo", "--yes")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"registration_id", "code", "status", "program", "services", "eligibility"}
    assert out["status"] == "queued"
    assert out["program"] == "demo"
    assert out["services"] == ["disaster", "point"]
    assert out["eligibility"] == {"eligible": True, "reasons": []}
    (signed,) = kiosk.queued()
    record = signed.record
    assert (record.record_id, record.code) == (out["registration_id"], out["code"])
    assert (record.resident.name, record.resident.address) == (persona.name, persona.address)
    assert record.resident.birth_date == persona.birth_date
    assert record.kiosk.kiosk_id == "e2e-kiosk-1"
    assert record.kiosk.sequence == 1
    assert record.verification.chain
    assert record.verification.integrity
    assert record.verification.genuine_card
    # The card signed the canonical record: it verifies with the persona's own auth certificate.
    certificate = _persona_certificate("miyagi-sendai")
    assert record.auth_certificate == certificate.public_bytes(Encoding.DER)
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signed.card_signature, record.canonical(), padding.PKCS1v15(), hashes.SHA256())
    verify_card_signature(signed)
    # Privacy: no My Number anywhere; EF 0001 and 照合番号A never addressed.
    assert persona.my_number not in json.dumps(record.to_obj(), ensure_ascii=False)
    assert persona.my_number not in done.stdout + done.stderr
    assert persona.auth_pin not in done.stdout + done.stderr
    touched = {(e.ap, e.ef) for e in card.access_log}
    assert ("card_info", 0x0001) not in touched
    assert ("card_info", 0x0014) not in touched


def test_a_non_resident_is_refused_with_the_reason(insert_card: InsertCard, tmp_path: Path) -> None:
    persona = load_persona("tochigi-utsunomiya")
    kiosk = Kiosk(tmp_path)
    with insert_card(persona):
        done = kiosk.register(persona.auth_pin, "miyagi-point-2025-second", "--yes")
    assert done.returncode == 8, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "not_eligible"
    assert out["registration_id"] is None
    assert out["eligibility"]["eligible"] is False
    codes = [r["code"] for r in out["eligibility"]["reasons"]]
    assert "not_resident" in codes  # (the campaign has also ended by today's clock)
    (reason,) = [r for r in out["eligibility"]["reasons"] if r["code"] == "not_resident"]
    assert reason["ja"].endswith("ではありません。")
    assert "outside the area" in reason["en"]
    assert kiosk.queued() == []


def test_wrong_pin_reports_like_card_read(insert_card: InsertCard, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    with insert_card("miyagi-sendai"):
        done = kiosk.register("0000", "demo", "--yes")
    assert done.returncode == 3
    assert json.loads(done.stdout) == {
        "error": {
            "code": "pin_incorrect",
            "message": json.loads(done.stdout)["error"]["message"],
            "tries_left": 2,
        }
    }
    assert kiosk.queued() == []


def test_no_card_reports_like_card_read(reader_name: str, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    done = kiosk.register("1234", "demo", "--yes")
    assert done.returncode == 5
    assert json.loads(done.stdout)["error"]["code"] == "no_card"
    assert kiosk.queued() == []


def test_without_yes_nothing_is_written_unless_confirmed(insert_card: InsertCard, tmp_path: Path) -> None:
    persona = load_persona("miyagi-sendai")
    kiosk = Kiosk(tmp_path)
    with insert_card(persona):
        declined = kiosk.register(persona.auth_pin + "\nno", "demo")
    assert declined.returncode == 11
    assert persona.name in declined.stderr  # the basic four were shown for confirmation
    assert kiosk.queued() == []


# --- the runner in-process over pcscd, with the kiosk clock inside the second campaign ------------


def _runner(kiosk: Kiosk, context: PcscContext, outbox: Outbox, now: dt.datetime) -> Runner:
    programs = load_programs(ROOT / "config" / "programs")
    trust = load_trust_store(kiosk.config)
    settings = FlowSettings(
        KioskMode.SELF, "ja", "miyagi-point-2025-second", DEFAULT_TIMEOUTS[KioskMode.SELF]
    )
    flow = Flow(settings, programs, clock=lambda: now, new_id=uuid.uuid4)
    return Runner(
        flow,
        kiosk_id="e2e-kiosk-1",
        open_session=lambda: MyNumberCardSession(context.open_card(READER), trust),
        queue=outbox,
        sequence=RecordSequence(kiosk.data_dir),
        index=RegisteredHereIndex(kiosk.data_dir),
    )


def _drive(runner: Runner, pin: str) -> FlowState:
    for event in (Start(), LanguageChosen("ja"), ServicesChosen(("point", "disaster"))):
        runner.dispatch(event)
    runner.dispatch(ConsentAccepted("point"))
    runner.dispatch(ConsentAccepted("disaster"))
    state = runner.dispatch(CardInserted())
    if state.phase is Phase.PIN_ENTRY:
        state = runner.dispatch(PinSubmitted(bytearray(pin.encode())))
    if state.phase is Phase.CONFIRM:
        state = runner.dispatch(IdentityConfirmed())
    if state.phase is Phase.ELIGIBILITY:
        state = runner.dispatch(Register())
    return state


IN_CAMPAIGN = dt.datetime(2025, 2, 10, 11, 0, tzinfo=JST)


def test_second_campaign_through_pcsc(insert_card: InsertCard, tmp_path: Path) -> None:
    kiosk = Kiosk(tmp_path)
    sealer = kiosk.store.sealer("e2e-kiosk-1")
    with PcscContext() as context, Outbox.open(kiosk.data_dir / OUTBOX_FILE, sealer=sealer) as outbox:
        with insert_card("tochigi-utsunomiya"):
            refused = _drive(
                _runner(kiosk, context, outbox, IN_CAMPAIGN), load_persona("tochigi-utsunomiya").auth_pin
            )
        assert refused.phase is Phase.NOT_ELIGIBLE
        assert refused.eligibility is not None
        assert refused.eligibility.codes == (ReasonCode.NOT_RESIDENT,)
        with insert_card("miyagi-sendai"):
            done = _drive(
                _runner(kiosk, context, outbox, IN_CAMPAIGN), load_persona("miyagi-sendai").auth_pin
            )
        assert done.phase is Phase.RECEIPT
    (signed,) = kiosk.queued()
    assert signed.record.program_id == "miyagi-point-2025-second"
    assert signed.record.kiosk.clock == IN_CAMPAIGN
    verify_card_signature(signed)


def test_card_pulled_at_each_step_leaves_no_half_written_record(
    insert_card: InsertCard, tmp_path: Path
) -> None:
    persona = load_persona("miyagi-elderly")
    kiosk = Kiosk(tmp_path)
    sealer = kiosk.store.sealer("e2e-kiosk-1")
    with PcscContext() as context, Outbox.open(kiosk.data_dir / OUTBOX_FILE, sealer=sealer) as outbox:
        # Pull the card at each step of a registration (the in-process test in tests/kiosk pulls it
        # at every single APDU): during prefetch, the card-info VERIFY, the basic-four read, the
        # auth VERIFY, the challenge signature, and the record signature itself (APDU 16, the last).
        phases = set()
        for n in (2, 8, 10, 13, 14, 15):
            with insert_card(persona, remove_after=n):
                state = _drive(_runner(kiosk, context, outbox, IN_CAMPAIGN), persona.auth_pin)
            phases.add(state.phase)
            assert state.phase in (Phase.ERROR, Phase.REINSERT), (n, state.phase)
            assert not state.holds_personal_data
            assert outbox.record_ids() == [], n
        # The same kiosk and card, not pulled: one complete record of exactly 16 APDUs.
        with insert_card(persona) as card:
            full = _drive(_runner(kiosk, context, outbox, IN_CAMPAIGN), persona.auth_pin)
            assert len(card.access_log) == 16
        assert full.phase is Phase.RECEIPT
    assert len(kiosk.queued()) == 1
    assert Phase.REINSERT in phases  # the signature step itself was interrupted at least once
    assert Phase.ERROR in phases


# --- two PINs: the card-info PIN differs from the auth PIN (persona miyagi-distinct-pins) ---------


def test_distinct_pins_register_with_the_card_info_pin_on_the_second_line(
    insert_card: InsertCard, tmp_path: Path
) -> None:
    persona = load_persona("miyagi-distinct-pins")
    assert persona.auth_pin != persona.card_info_pin
    kiosk = Kiosk(tmp_path)
    with insert_card(persona) as card:
        done = kiosk.register(
            f"{persona.auth_pin}\n{persona.card_info_pin}", "demo", "--card-info-pin-stdin", "--yes"
        )
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "queued"
    (signed,) = kiosk.queued()
    assert signed.record.code == out["code"]
    assert signed.record.resident.name == persona.name
    verify_card_signature(signed)
    for secret in (persona.auth_pin, persona.card_info_pin, persona.my_number):
        assert secret not in done.stdout + done.stderr
    touched = {(e.ap, e.ef) for e in card.access_log}
    assert ("card_info", 0x0001) not in touched
    assert ("card_info", 0x0014) not in touched


def test_distinct_pins_with_one_pin_stop_at_the_card_info_pin_without_touching_auth(
    insert_card: InsertCard, tmp_path: Path
) -> None:
    persona = load_persona("miyagi-distinct-pins")
    kiosk = Kiosk(tmp_path)
    with insert_card(persona):
        done = kiosk.register(persona.auth_pin, "demo", "--yes")
        status = subprocess.run(
            [MADOGUCHI, "card", "status", "--reader", READER, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 3, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert (error["code"], error["tries_left"]) == ("pin_incorrect", 2)  # the card-info counter
    assert kiosk.queued() == []
    tries = json.loads(status.stdout)["tries_left"]
    assert (tries["auth"], tries["card_info"]) == (3, 2)  # the auth PIN was never tried


def test_distinct_pins_through_the_card_info_screen_over_pcsc(
    insert_card: InsertCard, tmp_path: Path
) -> None:
    """The GUI's path: "same" PIN refused by the card-info AP -> card-info PIN screen -> auth PIN."""
    persona = load_persona("miyagi-distinct-pins")
    kiosk = Kiosk(tmp_path)
    sealer = kiosk.store.sealer("e2e-kiosk-1")
    with (
        PcscContext() as context,
        Outbox.open(kiosk.data_dir / OUTBOX_FILE, sealer=sealer) as outbox,
        insert_card(persona),
    ):
        runner = _runner(kiosk, context, outbox, IN_CAMPAIGN)
        state = _drive(runner, persona.auth_pin)
        assert (state.phase, state.tries_left, state.held_pin) == (Phase.CARD_INFO_PIN_ENTRY, 2, None)
        state = runner.dispatch(CardInfoPinSubmitted(bytearray(persona.card_info_pin.encode())))
        assert (state.phase, state.tries_left, state.held_pin) == (Phase.PIN_ENTRY, 3, PinSlot.CARD_INFO)
        state = runner.dispatch(PinSubmitted(bytearray(persona.auth_pin.encode())))
        assert state.phase is Phase.CONFIRM
        assert not runner.holds_pin
        runner.dispatch(IdentityConfirmed())
        state = runner.dispatch(Register())
        assert state.phase is Phase.RECEIPT
        runner.close()
    (signed,) = kiosk.queued()
    verify_card_signature(signed)


def test_distinct_pins_confirmation_is_the_line_after_both_pins(
    insert_card: InsertCard, tmp_path: Path
) -> None:
    persona = load_persona("miyagi-distinct-pins")
    kiosk = Kiosk(tmp_path)
    with insert_card(persona):
        declined = kiosk.register(
            f"{persona.auth_pin}\n{persona.card_info_pin}\nno", "demo", "--card-info-pin-stdin"
        )
    assert declined.returncode == 11, declined.stdout + declined.stderr
    assert persona.name in declined.stderr  # both PINs verified, the basic four shown for confirmation
    assert kiosk.queued() == []


def test_blocked_card_reports_pin_blocked_like_card_read(insert_card: InsertCard, tmp_path: Path) -> None:
    """The flow sees the blocked counter at prefetch (no VERIFY, no card error): still pin_blocked."""
    persona = load_persona("miyagi-blocked")
    kiosk = Kiosk(tmp_path)
    with insert_card(persona):
        done = kiosk.register(persona.auth_pin, "demo", "--yes")
    assert done.returncode == 4, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert (error["code"], error["tries_left"]) == ("pin_blocked", 0)
    assert kiosk.queued() == []
