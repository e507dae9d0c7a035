"""The single-pass canonical check of :func:`parse_signed` agrees with the reference definition.

The reference is the contract's wording: parse strictly, then re-encode with
:meth:`SignedRegistration.to_plaintext` and require the same bytes. Each case below spells one value
differently (timestamps, base64, numbers, escapes, key order, duplicate keys); the fast parser must
accept exactly when the reference does and fail with the same message when it does not.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest

from kiosk.errors import RecordFormatError
from kiosk.rules.record import (
    Consent,
    KioskStamp,
    Resident,
    SignedRegistration,
    Verification,
    build_record,
    parse_record,
    parse_signed,
)

from .conftest import FakeCardKey

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 2, 3, 10, 15, 30, 123000, tzinfo=JST)


def _plaintext(card_key: FakeCardKey) -> bytes:
    record = build_record(
        record_id=uuid.UUID("6f1c2a0e-8a7b-4c3d-9e2f-0123456789ab"),
        program_id="miyagi-point-2025-second",
        consents=[Consent("point", "2025-01", NOW), Consent("disaster", "2025-01", NOW)],
        resident=Resident("宮城 花子", "宮城県仙台市青葉区本町3丁目8番1号", date(1950, 4, 1), "2"),
        auth_certificate=card_key.cert_der,
        kiosk=KioskStamp("demo-kiosk-001", NOW, 42),
        verification=Verification(True, True, True, True),
    )
    return SignedRegistration(record, card_key.sign(record.canonical())).to_plaintext()


def _reference(plaintext: bytes) -> SignedRegistration:
    """The definition: strict parse of each part, then re-encode and compare."""
    try:
        obj = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RecordFormatError("signed registration: not UTF-8 JSON") from None
    if not isinstance(obj, dict) or set(obj) != {"v", "record", "card_signature"}:
        raise RecordFormatError("signed registration: shape")
    if obj["v"] != 1 or isinstance(obj["v"], bool):
        raise RecordFormatError("signed registration.v: unsupported version")
    signature = base64.b64decode(obj["card_signature"], validate=True)
    signed = SignedRegistration(parse_record(obj["record"]), signature)
    if signed.to_plaintext() != plaintext:
        raise RecordFormatError("signed registration: not in canonical encoding")
    return signed


def _sub(pattern: str, repl: str) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, repl, text, count=1)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _padding_bits(*path: str) -> Callable[[str], str]:
    """The base64 field at ``path`` with its unused last bits set: same bytes, another spelling."""

    def mutate(text: str) -> str:
        obj = json.loads(text)
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        pad = len(value) - len(value.rstrip("="))
        if pad == 0:
            pytest.skip("this length has no padding bits")
        last = _B64.index(value[-pad - 1]) | (0b1111 if pad == 2 else 0b11)
        parent[path[-1]] = value[: -pad - 1] + _B64[last] + "=" * pad
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    return mutate


MUTATIONS: dict[str, Callable[[str], str]] = {
    "identity": lambda text: text,
    "clock with Z": _sub(r'"clock":"([^"]+)\+09:00"', r'"clock":"\1Z"'),
    "clock with microseconds": _sub(r'"clock":"([^".]+)\.123', r'"clock":"\1.123000'),
    "clock without fraction": _sub(r'"clock":"([^".]+)\.123', r'"clock":"\1'),
    "consent time with microseconds": _sub(r'"accepted_at":"([^".]+)\.123', r'"accepted_at":"\1.123000'),
    "consent time with space": _sub(r'"accepted_at":"([^"T]+)T', r'"accepted_at":"\1 '),
    "version as float": _sub(r'"v":1\}$', '"v":1.0}'),
    "version as exponent": _sub(r'"v":1\}$', '"v":1e0}'),
    "sequence as float": _sub(r'"sequence":42', '"sequence":42.0'),
    "sequence negative zero": _sub(r'"sequence":42', '"sequence":-0'),
    "escaped name": lambda text: text.replace("宮城 花子", "\\u5bae城 花子", 1),
    "escaped slash in base64": lambda text: text.replace("/", "\\/", 1),
    "space after colon": _sub(r'"v":1', '"v": 1'),
    "keys out of order": lambda text: "{" + '"v":1,' + text[1:].replace(',"v":1}', "}"),
    "duplicate key": _sub(r'"sequence":42', '"sequence":41,"sequence":42'),
    "signature padding bits": _padding_bits("card_signature"),
    "certificate padding bits": _padding_bits("record", "auth_certificate"),
    "birth date full-width": lambda text: text.replace('"1950-04-01"', '"１９５０-04-01"', 1),
    "trailing newline": lambda text: text + "\n",
    "lone surrogate escape": lambda text: text.replace("宮城 花子", "\\ud800 花子", 1),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_parse_signed_agrees_with_the_reference(card_key: FakeCardKey, name: str) -> None:
    plaintext = MUTATIONS[name](_plaintext(card_key).decode("utf-8")).encode("utf-8", "surrogatepass")
    try:
        expected: SignedRegistration | str = _reference(plaintext)
    except RecordFormatError as exc:
        expected = str(exc)
    if isinstance(expected, SignedRegistration):
        assert parse_signed(plaintext) == expected
    else:
        with pytest.raises(RecordFormatError) as raised:
            parse_signed(plaintext)
        assert str(raised.value) == expected


def test_every_mutation_but_identity_is_refused(card_key: FakeCardKey) -> None:
    """The cases above are real changes of spelling, so the comparison above is not vacuous."""
    original = _plaintext(card_key).decode("utf-8")
    refused = []
    for name, mutate in MUTATIONS.items():
        if name == "identity":
            continue
        changed = mutate(original)
        assert changed != original, name
        with pytest.raises(RecordFormatError):
            parse_signed(changed.encode("utf-8", "surrogatepass"))
        refused.append(name)
    assert len(refused) == len(MUTATIONS) - 1


def test_sex_of_the_wrong_type_is_a_format_error(card_key: FakeCardKey) -> None:
    """A list is unhashable: the membership test must not escape as TypeError (the server's batch)."""
    obj = json.loads(_plaintext(card_key))
    obj["record"]["resident"]["sex"] = ["2"]
    with pytest.raises(RecordFormatError, match="sex"):
        parse_record(obj["record"])
