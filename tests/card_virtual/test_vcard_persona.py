"""Personas: the shipped set covers the issue's list, and the loader rejects bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from card.virtual.errors import PersonaError
from card.virtual.persona import (
    DEFAULT_PERSONA,
    is_valid_my_number,
    japanese_era,
    list_personas,
    load_persona,
    my_number_check_digit,
)


def all_personas() -> list:
    return [load_persona(p) for p in list_personas()]


def test_at_least_ten_personas_all_load() -> None:
    assert len(list_personas()) >= 10
    assert DEFAULT_PERSONA == "jlis-test"
    for persona in all_personas():
        assert is_valid_my_number(persona.my_number)


def test_shipped_personas_cover_the_issue_list() -> None:
    personas = all_personas()
    assert {p.sex for p in personas} >= {"1", "2", "9"}
    assert any(p.birth_date < dt.date(1930, 1, 1) for p in personas)
    assert any(p.tries_left.auth == 1 for p in personas)
    assert any(p.tries_left.auth == 0 for p in personas)
    assert any(p.not_after < dt.datetime(2026, 11, 1, tzinfo=dt.UTC) for p in personas)
    assert any(p.card_info_pin != p.auth_pin for p in personas)
    assert any(p.name.isascii() for p in personas)  # Latin-letter foreign name
    assert any(not p.address.startswith("宮城県") for p in personas)
    assert any(p.address.startswith("栃木県宇都宮市") for p in personas)
    assert sum(p.address.startswith("宮城県") for p in personas) > len(personas) // 2


def test_jlis_test_persona_is_the_protocol_reference_card() -> None:
    persona = load_persona("jlis-test")
    assert persona.name == "黒桐　幹也"
    assert persona.my_number == "537686677188"
    # §3: 1980-02-17 (昭和55), expiry 2035, code 2285 → 55021720352285
    assert persona.verification_code_b == "55021720352285"


def test_check_digit_matches_the_reference_numbers() -> None:
    assert my_number_check_digit("53768667718") == 8
    assert my_number_check_digit("61410652600") == 0
    assert not is_valid_my_number("537686677189")


def test_japanese_era_boundaries() -> None:
    assert japanese_era(dt.date(1989, 1, 7)) == (3, 64)
    assert japanese_era(dt.date(1989, 1, 8)) == (4, 1)
    assert japanese_era(dt.date(2019, 5, 1)) == (5, 1)


def test_repr_hides_secrets_and_personal_data() -> None:
    persona = load_persona("jlis-test")
    text = repr(persona)
    for secret in (persona.auth_pin, persona.my_number, persona.name, persona.address):
        assert secret not in text


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """
name = "テスト　太郎"
address = "宮城県仙台市青葉区１－１"
birth_date = "1990-01-01"
sex = "1"
my_number = "526018159084"
auth_pin = "1234"
card_info_pin = "1234"
signature_password = "ABCDEF"
"""


def test_a_persona_file_by_path_loads_with_defaults(tmp_path: Path) -> None:
    persona = load_persona(_write(tmp_path, GOOD))
    assert persona.id == "custom"
    assert persona.tries_left.auth == 3
    assert persona.tries_left.signature == 5


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('my_number = "526018159084"', 'my_number = "526018159085"', "my_number"),
        ('auth_pin = "1234"', 'auth_pin = "12345"', "auth_pin"),
        ('signature_password = "ABCDEF"', 'signature_password = "abcdef"', "signature_password"),
        ('sex = "1"', 'sex = "3"', "sex"),
        ('birth_date = "1990-01-01"', 'birth_date = "1990-13-01"', "birth_date"),
        ('sex = "1"', 'sex = "1"\nnickname = "x"', "unknown"),
        (
            'signature_password = "ABCDEF"',
            'signature_password = "ABCDEF"\n[tries_left]\nauth = 4',
            "tries_left.auth",
        ),
    ],
)
def test_invalid_fields_are_rejected_without_echoing_values(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    with pytest.raises(PersonaError) as info:
        load_persona(_write(tmp_path, GOOD.replace(old, new)))
    assert field in str(info.value)
    assert "526018159085" not in str(info.value)
    assert "12345" not in str(info.value)


def test_unknown_persona_id_is_a_persona_error() -> None:
    with pytest.raises(PersonaError):
        load_persona("no-such-persona")


def test_persona_data_follows_the_card_conventions() -> None:
    """§8 item 8: U+3000 between family and given name, full-width block numbers in addresses."""
    for persona in all_personas():
        if not persona.name.isascii():
            assert "\u3000" in persona.name
        assert not any(c.isascii() and c.isdigit() for c in persona.address)
