"""MyNumberCardSession against the in-process virtual card: reads, PIN safety, privacy, removal."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from card_forgery import forge_card_info
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from card.apdu import TRAFFIC, ApduProtocol
from card.card_info import CardInfoApplication
from card.constants import PinKind
from card.errors import (
    CardRemovedError,
    LastTryRefusedError,
    MalformedCardDataError,
    NotMyNumberCardError,
    PinBlockedError,
    PinFormatError,
    PinIncorrectError,
    PinNotVerifiedError,
    PrivacyGuardError,
)
from card.session import MyNumberCardSession, read_card_status
from card.trust import TrustStatus, TrustStore, load_trust_store
from card.virtual.card import VirtualMyNumberCard
from card.virtual.faults import FaultPlan
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import Persona, list_personas, load_persona

ROOT = Path(__file__).resolve().parents[2]
TRUST = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
READABLE = [p for p in list_personas() if load_persona(p).tries_left.auth > 0]


def _card(persona: Persona, **faults: object) -> VirtualMyNumberCard:
    return VirtualMyNumberCard(persona, faults=FaultPlan(**faults))  # type: ignore[arg-type]


def _session(card: VirtualMyNumberCard, trust: TrustStore = TRUST) -> MyNumberCardSession:
    return MyNumberCardSession(InProcessConnection(card), trust)


def _pins(persona: Persona) -> tuple[bytearray, bytearray | None]:
    ci = None if persona.card_info_pin == persona.auth_pin else bytearray(persona.card_info_pin.encode())
    return bytearray(persona.auth_pin.encode()), ci


def assert_privacy(card: VirtualMyNumberCard) -> None:
    """EF 0001 and 照合番号A (EF 0014) of the card-info AP are never addressed."""
    touched = {(e.ap, e.ef) for e in card.access_log}
    assert ("card_info", 0x0001) not in touched
    assert ("card_info", 0x0014) not in touched


@pytest.mark.parametrize("name", READABLE)
def test_every_persona_reads(name: str) -> None:
    persona = load_persona(name)
    card = _card(persona)
    pin, ci_pin = _pins(persona)
    with _session(card) as session:
        result = session.read(pin, card_info_pin=ci_pin, allow_last_try=True)
    info = result.basic_four
    assert (info.name, info.address, info.birth_date, info.sex) == (
        persona.name,
        persona.address,
        persona.birth_date,
        persona.sex,
    )
    v = result.verification
    expired = persona.not_after < dt.datetime.now(dt.UTC)
    assert v.chain is (TrustStatus.EXPIRED if expired else TrustStatus.VERIFIED)
    assert v.signature_valid
    assert v.integrity is TrustStatus.VERIFIED
    assert v.genuine_card is TrustStatus.VERIFIED
    assert result.tries_left.auth == 3
    assert result.tries_left.card_info == 3
    # Counts equal what the card saw, and meet the targets (≤16 total, ≤8 after the PIN).
    assert result.traffic_before_pin.apdus + result.traffic_after_pin.apdus == len(card.access_log)
    assert result.traffic_before_pin.apdus == 8
    assert result.traffic_after_pin.apdus <= 8
    assert pin == bytearray(4)
    assert ci_pin is None or ci_pin == bytearray(4)
    assert_privacy(card)


def test_the_protocol_document_persona_matches_the_vector() -> None:
    persona = load_persona("jlis-test")
    result = _session(_card(persona)).read(bytearray(persona.auth_pin.encode()))
    assert (
        result.basic_four.digest.hex() == "b9e0d09427b23b1d4beda2848512b4103752dc2667e51f9712872d65f472cb3b"
    )
    assert result.traffic_after_pin.apdus == 7


def test_wrong_pin_costs_one_card_info_try_and_never_the_auth_pin() -> None:
    persona = load_persona("miyagi-sendai")
    card = _card(persona)
    session = _session(card)
    wrong = bytearray(b"0000" if persona.auth_pin != "0000" else b"9999")
    with pytest.raises(PinIncorrectError) as info:
        session.read(wrong)
    assert info.value.kind is PinKind.CARD_INFO
    assert info.value.tries_left == 2
    assert "0000" not in str(info.value)
    assert wrong == bytearray(4)
    assert card.tries_left("card_info", 0x0011) == 2
    assert card.tries_left("jpki", 0x0018) == 3
    assert session.tries_left.card_info == 2
    # No automatic retry: exactly one VERIFY with data was sent.
    assert [e.sw for e in card.access_log if e.ins == 0x20][-1] == 0x63C2
    # The resident may try again; this succeeds and resets the counter.
    result = session.read(bytearray(persona.auth_pin.encode()))
    assert result.tries_left.card_info == 3
    assert_privacy(card)


def test_last_try_needs_explicit_permission() -> None:
    persona = load_persona("miyagi-one-try")
    card = _card(persona)
    session = _session(card)
    before = len(card.access_log)
    with pytest.raises(LastTryRefusedError) as info:
        session.read(bytearray(persona.auth_pin.encode()))
    assert info.value.kind is PinKind.AUTH
    # The prefetch ran (8 APDUs) but no VERIFY with data followed.
    assert len(card.access_log) - before == 8
    assert card.tries_left("jpki", 0x0018) == 1
    result = session.read(bytearray(persona.auth_pin.encode()), allow_last_try=True)
    assert result.tries_left.auth == 3


def test_blocked_pin_sends_no_verify() -> None:
    persona = load_persona("miyagi-blocked")
    card = _card(persona)
    with pytest.raises(PinBlockedError) as info:
        _session(card).read(bytearray(persona.auth_pin.encode()), allow_last_try=True)
    assert info.value.kind is PinKind.AUTH
    assert len(card.access_log) == 8
    assert card.tries_left("card_info", 0x0011) == load_persona("miyagi-blocked").tries_left.card_info


def test_different_card_info_pin() -> None:
    persona = load_persona("miyagi-distinct-pins")
    card = _card(persona)
    session = _session(card)
    with pytest.raises(PinIncorrectError) as info:
        session.read(bytearray(persona.auth_pin.encode()))  # resident said "same PIN"; it is not
    assert info.value.kind is PinKind.CARD_INFO
    assert card.tries_left("jpki", 0x0018) == 3
    result = session.read(
        bytearray(persona.auth_pin.encode()), card_info_pin=bytearray(persona.card_info_pin.encode())
    )
    assert result.basic_four.name == persona.name


@pytest.mark.parametrize("pin", [b"123", b"12345", b"12a4", b"", "1234"])
def test_pin_format_is_checked_before_any_apdu(pin: object) -> None:
    card = _card(load_persona("miyagi-sendai"))
    value = bytearray(pin) if isinstance(pin, bytes) else pin
    with pytest.raises(PinFormatError):
        _session(card).read(value)  # type: ignore[arg-type]
    assert card.access_log == []


@pytest.mark.parametrize("unknown_ca", [False, True])
def test_forged_card_is_reported_not_trusted(unknown_ca: bool) -> None:
    persona = load_persona("miyagi-sendai")
    card = _card(persona)
    forge_card_info(card, unknown_ca=unknown_ca)
    result = _session(card).read(bytearray(persona.auth_pin.encode()))
    expected = TrustStatus.UNKNOWN_CA if unknown_ca else TrustStatus.INVALID
    assert result.verification.integrity is expected
    assert result.verification.genuine_card is expected
    assert result.verification.chain is TrustStatus.VERIFIED  # the JPKI side is untouched


def test_production_trust_does_not_accept_the_test_hierarchy() -> None:
    persona = load_persona("miyagi-sendai")
    production = load_trust_store(ROOT / "config" / "trust" / "production.toml")
    v = _session(_card(persona), production).read(bytearray(persona.auth_pin.encode())).verification
    assert v.chain is TrustStatus.UNKNOWN_CA
    assert v.integrity is TrustStatus.UNKNOWN_CA
    assert v.genuine_card is TrustStatus.UNKNOWN_CA


def _full_read_length(persona: Persona) -> int:
    card = _card(persona)
    _session(card).read(*_pins(persona)[:1])
    return len(card.access_log)


@pytest.mark.parametrize("name", ["miyagi-sendai", "miyagi-long-address"])
def test_card_removed_after_every_apdu(name: str) -> None:
    persona = load_persona(name)
    total = _full_read_length(persona)
    for k in range(total):
        card = _card(persona, remove_after=k)
        with pytest.raises(CardRemovedError) as info:
            _session(card).read(bytearray(persona.auth_pin.encode()))
        sent = card.access_log
        assert len(sent) == k
        # APDU k+1 was in flight: 9 = VERIFY card-info, 14 (15 with a long address) = VERIFY auth.
        in_flight_is_verify = k in ((8, 14) if name == "miyagi-long-address" else (8, 13))
        assert info.value.during_verify is in_flight_is_verify, k
        # Never a PIN try used (the PIN is right; an interrupted VERIFY is not processed).
        assert card.tries_left("jpki", 0x0018) == 3
        assert card.tries_left("card_info", 0x0011) == 3
        assert_privacy(card)


def test_removal_during_verify_forgets_the_count_and_requeries() -> None:
    persona = load_persona("miyagi-sendai")
    card = _card(persona, remove_after=8)
    session = _session(card)
    with pytest.raises(CardRemovedError) as info:
        session.read(bytearray(persona.auth_pin.encode()))
    assert info.value.during_verify
    assert session.tries_left.card_info is None


def test_the_auth_certificate_is_parsed_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefetch parses the certificate; the checks after the PIN reuse it (no second DER parse)."""
    parses = []
    real = x509.load_der_x509_certificate

    def counting(data: bytes) -> x509.Certificate:
        parses.append(len(data))
        return real(data)

    monkeypatch.setattr(x509, "load_der_x509_certificate", counting)
    persona = load_persona("miyagi-sendai")
    pin, ci_pin = _pins(persona)
    with _session(_card(persona)) as session:
        result = session.read(pin, card_info_pin=ci_pin)
    assert result.verification.chain is TrustStatus.VERIFIED
    assert len(parses) == 1


def test_sign_with_auth_key_after_read() -> None:
    persona = load_persona("miyagi-sendai")
    card = _card(persona)
    session = _session(card)
    with pytest.raises(PinNotVerifiedError):
        session.sign_with_auth_key(b"record")
    result = session.read(bytearray(persona.auth_pin.encode()))
    before = len(card.access_log)
    record = b'{"schema":"madoguchi.registration/1"}'
    signature = session.sign_with_auth_key(record)
    assert len(card.access_log) == before + 1
    key = x509.load_der_x509_certificate(result.auth_certificate_der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, record, padding.PKCS1v15(), hashes.SHA256())
    session.close()
    with pytest.raises(PinNotVerifiedError):
        session.sign_with_auth_key(record)


def test_privacy_guard_refuses_whatever_the_caller_asks() -> None:
    card = _card(load_persona("miyagi-sendai"))
    app = CardInfoApplication(ApduProtocol(InProcessConnection(card)))
    with pytest.raises(PrivacyGuardError):
        app.read_file(0x0001, hint=17, redact=True)
    with pytest.raises(PrivacyGuardError):
        app.verify(0x0014, bytearray(b"123456789012"))
    with pytest.raises(PrivacyGuardError):
        app.verify(0x0015, bytearray(b"12345678901234"))
    assert card.access_log == []


def test_privacy_guard_holds_below_the_card_info_class() -> None:
    """The generic helpers and raw commands are guarded too: with the card-info AP selected and its
    PIN verified (so EF 0001 *would* open), none of them reaches the card."""
    from card.apdu import CommandApdu
    from card.files import read_tlv_file
    from card.iso7816 import query_tries, select_ef, verify_pin

    persona = load_persona("miyagi-sendai")
    card = _card(persona)
    protocol = ApduProtocol(InProcessConnection(card))
    app = CardInfoApplication(protocol)
    app.select()
    pin, card_info_pin = _pins(persona)
    app.verify_pin(card_info_pin if card_info_pin is not None else pin)
    before = len(card.access_log)
    attempts = [
        lambda: read_tlv_file(protocol, 0x0001, hint=17, redact=True),
        lambda: select_ef(protocol, 0x0001),
        lambda: select_ef(protocol, 0x0014),
        lambda: query_tries(protocol, PinKind.CARD_INFO, 0x0014),
        lambda: verify_pin(protocol, PinKind.CARD_INFO, 0x0014, bytearray(b"1234")),
        lambda: protocol.send(CommandApdu(0x00, 0xB0, 0x81, 0x00, le=17)),
        lambda: protocol.send(CommandApdu(0x00, 0xA4, 0x00, 0x0C, bytes.fromhex("0001"))),
        lambda: protocol.send(CommandApdu(0x00, 0xA4, 0x08, 0x0C, bytes.fromhex("00010014"))),
        lambda: protocol.transmit(CommandApdu(0x00, 0x20, 0x00, 0x94)),
        lambda: protocol.transmit_secret(bytes.fromhex("00200094"), bytearray(b"1234")),
    ]
    for attempt in attempts:
        with pytest.raises(PrivacyGuardError):
            attempt()
    assert len(card.access_log) == before
    assert all(entry.ef not in (0x0001, 0x0014) for entry in card.access_log)
    # The documented reads are untouched by the guard.
    assert app.read_basic_four().name


def test_traffic_trace_redacts_pin_and_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    persona = load_persona("miyagi-sendai")
    with caplog.at_level(TRAFFIC, logger="card"):
        _session(_card(persona)).read(bytearray(persona.auth_pin.encode()))
    text = caplog.text
    assert "SEND 00 20 00 91 <4 bytes redacted>" in text
    assert persona.auth_pin.encode().hex(" ").upper() not in text
    assert persona.name.encode().hex(" ").upper()[:20] not in text
    assert persona.name not in text
    assert all(r.levelno <= logging.DEBUG for r in caplog.records)


def test_corrupted_basic_four_is_caught() -> None:
    persona = load_persona("miyagi-sendai")
    # APDU 11 = READ BINARY of EF 0003: a flipped byte in DF33 must not verify.
    result = _session(_card(persona, corrupt_response=11)).read(bytearray(persona.auth_pin.encode()))
    assert result.verification.integrity is TrustStatus.INVALID
    assert result.verification.genuine_card is TrustStatus.VERIFIED
    # APDU 7 = the CVC: both card-info checks fail.
    result = _session(_card(persona, corrupt_response=7)).read(bytearray(persona.auth_pin.encode()))
    assert result.verification.integrity is TrustStatus.INVALID
    assert result.verification.genuine_card is TrustStatus.INVALID
    # APDU 2 = the token label: no longer JPKIAPICCTOKEN2, so not a My Number Card.
    with pytest.raises((NotMyNumberCardError, MalformedCardDataError)):
        _session(_card(persona, corrupt_response=2)).read(bytearray(persona.auth_pin.encode()))


def test_status_without_pin() -> None:
    persona = load_persona("miyagi-one-try")
    card = _card(persona)
    status, traffic = read_card_status(InProcessConnection(card))
    assert status.is_mynumber_card
    assert (status.auth, status.card_info, status.signature) == (1, 3, 5)
    assert traffic.apdus == len(card.access_log) == 6
    assert_privacy(card)


class _NotACard:
    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        return b"", 0x6A82

    def close(self) -> None:
        pass


def test_other_cards_are_not_mynumber_cards() -> None:
    with pytest.raises(NotMyNumberCardError):
        MyNumberCardSession(_NotACard(), TRUST).prefetch()


class _Scripted:
    def __init__(self, script: list[tuple[str, int]]) -> None:
        self.script = list(script)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        expected, sw = self.script.pop(0)
        assert apdu.hex().upper() == expected
        return b"", sw

    def close(self) -> None:
        pass


def test_tries_query_falls_back_to_select_when_sfi_is_refused() -> None:
    from card.jpki import JpkiApplication

    conn = _Scripted([("00200098", 0x6A86), ("00A4020C020018", 0x9000), ("00200080", 0x63C2)])
    assert JpkiApplication(ApduProtocol(conn)).tries_left(PinKind.AUTH) == 2
    assert conn.script == []


@pytest.mark.parametrize("name", ["miyagi-sendai", "miyagi-long-address"])
def test_a_corrupted_answer_at_any_apdu_is_typed_or_detected(name: str) -> None:
    """A bit error the reader did not catch, at every APDU of a full read: either a typed card error
    or a read whose checks do not all pass — never a crash, never a silently "verified" forgery."""
    from card.errors import CardError

    persona = load_persona(name)
    for k in range(1, 17):
        card = _card(persona, corrupt_response=k)
        try:
            result = _session(card).read(bytearray(persona.auth_pin.encode()))
        except CardError:
            continue
        entry = card.access_log[k - 1] if k <= len(card.access_log) else None
        if entry is None or entry.ins in (0xA4, 0x20):
            continue  # no data in that answer: nothing was corrupted
        v = result.verification
        info = result.basic_four
        intact = (info.name, info.address, info.birth_date, info.sex) == (
            persona.name,
            persona.address,
            persona.birth_date,
            persona.sex,
        )
        all_ok = v.chain is TrustStatus.VERIFIED and v.signature_valid
        all_ok = all_ok and v.integrity is TrustStatus.VERIFIED and v.genuine_card is TrustStatus.VERIFIED
        # Either the corruption hit filler (data intact, all checks pass) or some check caught it.
        assert intact or not all_ok, k


def test_cancel_stops_before_the_next_apdu_and_never_inside_a_verify() -> None:
    import threading

    from card.errors import OperationCancelledError

    persona = load_persona("miyagi-sendai")
    card = _card(persona)
    cancel = threading.Event()
    session = MyNumberCardSession(InProcessConnection(card), TRUST, cancel=cancel)
    session.prefetch()
    cancel.set()
    with pytest.raises(OperationCancelledError):
        session.read(bytearray(persona.auth_pin.encode()))
    assert len(card.access_log) == 8  # nothing after the prefetch
    assert card.tries_left("card_info", 0x0011) == 3
    cancel.clear()
    assert session.read(bytearray(persona.auth_pin.encode())).verification.signature_valid
