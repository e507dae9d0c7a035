"""The PIN-less tap on the virtual card (the same card OS as on vpcd): what is read, and only that."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from card.errors import NotMyNumberCardError
from card.pinless import PINLESS_APDUS, read_auth_certificate_pinless
from card.trust import TrustStatus, TrustStore, load_trust_store
from card.virtual.card import VirtualMyNumberCard
from card.virtual.inprocess import InProcessConnection
from card.virtual.persona import load_persona

ROOT = Path(__file__).resolve().parents[2]
TRUST = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
INS_VERIFY = 0x20


def _tap(persona: str, trust: TrustStore = TRUST, now: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    card = VirtualMyNumberCard(load_persona(persona))
    conn = InProcessConnection(card)
    kwargs = {} if now is None else {"now": lambda: now}
    result = read_auth_certificate_pinless(conn, trust, **kwargs)  # type: ignore[arg-type]
    return card, result


def test_reads_only_the_auth_certificate_in_three_apdus() -> None:
    card, result = _tap("miyagi-sendai")
    assert result.chain is TrustStatus.VERIFIED
    assert result.traffic.apdus == PINLESS_APDUS == len(card.access_log)
    assert {e.ap for e in card.access_log} == {"jpki"}
    assert all(e.ins != INS_VERIFY for e in card.access_log)  # not even the tries query
    assert [e.ef for e in card.access_log if e.ins == 0xB0] == [0x0006, 0x000A]
    assert all(e.sw == 0x9000 for e in card.access_log)
    # the card's retry counters are untouched
    assert card.all_tries_left() == VirtualMyNumberCard(load_persona("miyagi-sendai")).all_tries_left()


def test_two_cards_give_two_identities() -> None:
    _, a = _tap("miyagi-sendai")
    _, b = _tap("miyagi-elderly")
    assert (a.issuer_der, a.serial) != (b.issuer_der, b.serial)
    assert a.issuer_der == b.issuer_der  # same test J-LIS issuer


def test_expired_certificate_is_a_result() -> None:
    _, result = _tap("miyagi-expired-cert")
    assert result.chain is TrustStatus.EXPIRED


def test_unknown_root_is_unknown_ca() -> None:
    _, result = _tap("miyagi-sendai", trust=TrustStore())
    assert result.chain is TrustStatus.UNKNOWN_CA


def test_validity_is_judged_by_the_given_clock() -> None:
    _, result = _tap("miyagi-sendai", now=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
    assert result.chain is TrustStatus.EXPIRED


class _NoJpki:
    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        return b"", 0x6A82

    def close(self) -> None:
        pass


def test_a_card_without_jpki_is_not_a_mynumber_card() -> None:
    with pytest.raises(NotMyNumberCardError):
        read_auth_certificate_pinless(_NoJpki(), TRUST)
