"""``madoguchi card readers|status|read`` as real processes over pcscd + vpcd: JSON shapes, error
codes, exit codes, and APDU counts equal to what the card saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from card_e2e_support import DEMO_CONFIG, READER, ROOT, assert_privacy, forge_card_info

from card.virtual.card import VirtualMyNumberCard
from card.virtual.faults import FaultPlan
from card.virtual.persona import load_persona

InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]


def _madoguchi(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    run_env = {k: v for k, v in os.environ.items() if k != "MADOGUCHI_CONFIG"}
    run_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        input=stdin.encode(),
        capture_output=True,
        cwd=ROOT,
        env=run_env,
        timeout=60,
    )
    out = proc.stdout.decode()
    assert out.count("\n") == 1, (out, proc.stderr.decode())
    return proc.returncode, json.loads(out)


def _read(*extra: str, stdin: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    return _madoguchi(
        "card", "read", "--reader", READER, "--pin-stdin", "--json", *extra, stdin=stdin, env=env
    )


def _error(payload: dict[str, Any]) -> tuple[str, int | None]:
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "tries_left"}
    return payload["error"]["code"], payload["error"]["tries_left"]


def test_readers_lists_the_vpcd_readers(reader_name: str) -> None:
    code, payload = _madoguchi("card", "readers", "--json")
    assert code == 0
    names = [r["name"] for r in payload["readers"]]
    assert reader_name in names
    assert all(set(r) == {"name", "contactless", "card_present"} for r in payload["readers"])


def test_status_shows_tries_without_using_any(insert_card: InsertCard) -> None:
    with insert_card("miyagi-one-try") as card:
        code, payload = _madoguchi("card", "status", "--reader", READER, "--json")
    assert code == 0
    assert payload["card"] == "mynumber_card"
    assert payload["token_label"] == "JPKIAPICCTOKEN2"
    assert payload["tries_left"] == {"auth": 1, "card_info": 3, "signature": 5}
    assert payload["apdus"] == len(card.access_log)
    assert card.tries_left("jpki", 0x0018) == 1
    assert_privacy(card)


def test_read_prints_the_exact_shape_and_counts_what_the_card_saw(insert_card: InsertCard) -> None:
    persona = load_persona("jlis-test")
    with insert_card(persona) as card:
        code, payload = _read("--config", str(DEMO_CONFIG), stdin=persona.auth_pin + "\n")
    assert code == 0, payload
    assert set(payload) == {"resident", "jpki", "integrity", "genuine_card", "tries_left", "apdus"}
    assert payload["resident"] == {
        "name": "黒桐\u3000幹也",
        "address": "東京都清瀬市観布子南１２－７－２０２",
        "birth_date": "1980-02-17",
        "sex": "1",
    }
    cert = card.image.auth_certificate
    assert payload["jpki"] == {
        "certificate_serial": format(cert.serial_number, "x"),
        "certificate_not_after": cert.not_valid_after_utc.date().isoformat(),
        "chain": "trusted",
        "signature": "valid",
    }
    assert (payload["integrity"], payload["genuine_card"]) == ("verified", "verified")
    assert payload["tries_left"] == {"auth": 3, "card_info": 3}
    assert payload["apdus"]["before_pin"] + payload["apdus"]["after_pin"] == len(card.access_log)
    assert payload["apdus"] == {"before_pin": 8, "after_pin": 7}
    assert_privacy(card)


def test_different_card_info_pin_on_a_second_line(insert_card: InsertCard) -> None:
    persona = load_persona("miyagi-distinct-pins")
    with insert_card(persona) as card:
        code, payload = _read("--card-info-pin-stdin", stdin=f"{persona.auth_pin}\n{persona.card_info_pin}\n")
        assert code == 0, payload
        assert payload["resident"]["name"] == persona.name
        # Without the second line the auth PIN is tried on the card-info AP, once.
        code, payload = _read(stdin=persona.auth_pin + "\n")
    assert code == 3
    assert _error(payload) == ("pin_incorrect", 2)
    assert card.tries_left("jpki", 0x0018) == 3
    assert_privacy(card)


@pytest.mark.parametrize(
    ("persona", "pin", "extra", "expected_code", "exit_code", "tries"),
    [
        ("miyagi-sendai", "0000", (), "pin_incorrect", 3, 2),
        ("miyagi-sendai", "12a4", (), "pin_format", 3, None),
        ("miyagi-one-try", None, (), "last_try_refused", 4, 1),
        ("miyagi-blocked", None, ("--allow-last-try",), "pin_blocked", 4, 0),
    ],
)
def test_pin_failures(
    insert_card: InsertCard,
    persona: str,
    pin: str | None,
    extra: tuple[str, ...],
    expected_code: str,
    exit_code: int,
    tries: int | None,
) -> None:
    p = load_persona(persona)
    with insert_card(p) as card:
        code, payload = _read(*extra, stdin=(pin or p.auth_pin) + "\n")
    assert (code, _error(payload)) == (exit_code, (expected_code, tries))
    if expected_code == "pin_format":
        assert card.access_log == []  # rejected before the card was touched
    assert_privacy(card)


def test_last_try_with_permission_succeeds(insert_card: InsertCard) -> None:
    persona = load_persona("miyagi-one-try")
    with insert_card(persona):
        code, payload = _read("--allow-last-try", stdin=persona.auth_pin + "\n")
    assert code == 0
    assert payload["tries_left"]["auth"] == 3


def test_expired_certificate_is_reported(insert_card: InsertCard) -> None:
    persona = load_persona("miyagi-expired-cert")
    with insert_card(persona):
        code, payload = _read(stdin=persona.auth_pin + "\n")
    assert code == 0
    assert payload["jpki"]["chain"] == "expired"
    assert payload["jpki"]["signature"] == "valid"


@pytest.mark.parametrize(("unknown_ca", "word"), [(False, "invalid"), (True, "unknown_ca")])
def test_forged_card_is_not_trusted(insert_card: InsertCard, unknown_ca: bool, word: str) -> None:
    persona = load_persona("miyagi-sendai")
    card = VirtualMyNumberCard(persona)
    forge_card_info(card, unknown_ca=unknown_ca)
    with insert_card(card):
        code, payload = _read(stdin=persona.auth_pin + "\n")
    assert code == 0
    assert (payload["integrity"], payload["genuine_card"]) == (word, word)


def test_config_from_the_environment(insert_card: InsertCard) -> None:
    persona = load_persona("miyagi-sendai")
    production = str(ROOT / "config" / "trust" / "production.toml")
    with insert_card(persona):
        code, payload = _read(stdin=persona.auth_pin + "\n", env={"MADOGUCHI_CONFIG": production})
    assert code == 0
    assert payload["jpki"]["chain"] == "untrusted"
    assert payload["integrity"] == "unknown_ca"


def test_card_removed_no_card_no_reader_and_malformed(insert_card: InsertCard, reader_name: str) -> None:
    persona = load_persona("miyagi-sendai")
    with insert_card(persona, remove_after=10):
        code, payload = _read(stdin=persona.auth_pin + "\n")
    assert (code, _error(payload)[0]) == (5, "card_removed")
    code, payload = _read(stdin="1234\n")  # nothing inserted now
    assert (code, _error(payload)[0]) == (5, "no_card")
    code, payload = _madoguchi("card", "status", "--reader", "No Such Reader 00 00", "--json")
    assert (code, _error(payload)[0]) == (6, "no_reader")
    long_address = load_persona("miyagi-long-address")
    card = VirtualMyNumberCard(long_address, faults=FaultPlan(corrupt_response=10))
    with insert_card(card):
        code, payload = _read(stdin=long_address.auth_pin + "\n")
    assert (code, _error(payload)[0]) == (7, "malformed_card_data")
