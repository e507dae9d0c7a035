"""The wire parser's fast paths accept and reject exactly what the definitions they replace do.

``_check_uuid`` answers valid ids with a regex instead of a ``uuid.UUID`` round trip, ``b64decode``
calls ``binascii.a2b_base64(strict_mode=True)`` on the text instead of ``base64.b64decode`` on its
ASCII bytes, and :meth:`Envelope.from_json` formats the header bytes instead of ``json.dumps``.
Each test below runs the old definition next to the new code on generated input.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sync.wire import (
    Envelope,
    EnvelopeFormatError,
    MessageFormatError,
    _check_uuid,
    b64decode,
    canonical_json,
    parse_timestamp,
)

CANONICAL = "3209aed4-981d-4919-99c3-b4cd7eab631d"


def _old_check_uuid(value: object) -> str:
    """The definition before the regex (the message tells which branch refused)."""
    if not isinstance(value, str) or len(value) != 36:
        raise MessageFormatError("f: expected a canonical UUID string")
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise MessageFormatError("f: expected a canonical UUID string") from None
    if canonical != value:
        raise MessageFormatError("f: expected a canonical (lower-case, hyphenated) UUID string")
    return value


def _outcome(fn: object, value: object) -> tuple[str, object]:
    assert callable(fn)
    try:
        return ("ok", fn(value))
    except MessageFormatError as exc:
        return ("error", str(exc))


def _new_check_uuid(value: object) -> str:
    return _check_uuid(value, "f", MessageFormatError)


_UUIDISH = st.text(alphabet="0123456789abcdefABCDEF-{}:urnidg \n٣", min_size=30, max_size=45)


@settings(max_examples=3000)
@given(st.one_of(_UUIDISH, st.text(max_size=40), st.uuids().map(str), st.integers(), st.none()))
@example("{3209aed4-981d-4919-99c3-b4cd7eab631}")
@example(CANONICAL.upper())
@example(CANONICAL.replace("-", "") + "----")
@example(CANONICAL + "\n")
def test_check_uuid_equals_the_round_trip(value: object) -> None:
    assert _outcome(_new_check_uuid, value) == _outcome(_old_check_uuid, value)


@pytest.mark.parametrize("position", range(36))
def test_check_uuid_equals_the_round_trip_on_every_one_character_variant(position: int) -> None:
    for char in "0123456789abcdefABCDEFg-{}: \n\x00٣ａ":
        value = CANONICAL[:position] + char + CANONICAL[position + 1 :]
        assert _outcome(_new_check_uuid, value) == _outcome(_old_check_uuid, value), repr(value)


def _old_b64decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise MessageFormatError("f: expected a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise MessageFormatError("f: invalid base64") from None


def _new_b64decode(text: object) -> bytes:
    return b64decode(text, field="f")


_B64ISH = st.text(alphabet="ABCxyz019+/=-_ \t\n\r\x00éあ\u00a0", max_size=24)


@settings(max_examples=3000)
@given(
    st.one_of(
        _B64ISH,
        st.text(max_size=24),
        st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
        st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode().rstrip("=")),
        st.tuples(st.binary(min_size=1, max_size=20), st.integers(0, 30), _B64ISH).map(
            lambda t: (lambda s: s[: t[1]] + t[2] + s[t[1] :])(base64.b64encode(t[0]).decode())
        ),
        st.binary(max_size=8),
        st.none(),
    )
)
@example("QQ==QQ==")
@example("QQ=")
@example("QR==")  # non-zero padding bits: both accept (canonical form is checked elsewhere)
@example("QUFB\n")
@example("=")
@example("")
def test_b64decode_equals_b64decode_validate(text: object) -> None:
    assert _outcome(_new_b64decode, text) == _outcome(_old_b64decode, text)


_ID = st.from_regex(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # includes a trailing newline sometimes


@settings(max_examples=500)
@given(
    kiosk_id=_ID,
    program_id=_ID,
    record_id=st.uuids().map(str),
    seq=st.integers(0, 2**63 - 1),
    created_at=st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31),
    ).map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
)
@example(kiosk_id="k\n", program_id="p", record_id=CANONICAL, seq=0, created_at="2026-11-22T01:02:03.456Z")
@example(kiosk_id="k", program_id="p\n", record_id=CANONICAL, seq=1, created_at="2026-11-22T01:02:03Z")
def test_parsed_header_bytes_equal_canonical_json(
    kiosk_id: str, program_id: str, record_id: str, seq: int, created_at: str
) -> None:
    obj = {
        "v": 1,
        "record_id": record_id,
        "kiosk_id": kiosk_id,
        "program_id": program_id,
        "seq": seq,
        "created_at": created_at,
        "ct": "QUJD",
        "sig": base64.b64encode(bytes(64)).decode(),
    }
    try:
        envelope = Envelope.from_json(obj)
    except EnvelopeFormatError:
        return  # e.g. a timestamp fromisoformat refuses: nothing to compare
    assert envelope.header_bytes() == canonical_json(envelope.header())
    assert envelope.created_time() == parse_timestamp(created_at)


def test_header_cache_is_not_carried_by_replace_and_not_compared() -> None:
    """A changed envelope re-encodes its header; the cache never makes two envelopes differ."""
    from dataclasses import replace

    obj = {
        "v": 1,
        "record_id": CANONICAL,
        "kiosk_id": "k1",
        "program_id": "p",
        "seq": 3,
        "created_at": "2026-11-22T01:02:03.456Z",
        "ct": "QUJD",
        "sig": base64.b64encode(bytes(64)).decode(),
    }
    parsed = Envelope.from_json(obj)
    built = Envelope(CANONICAL, "k1", 3, "2026-11-22T01:02:03.456Z", "p", b"ABC", bytes(64))
    assert parsed == built
    assert hash(parsed) == hash(built)
    moved = replace(parsed, seq=4, created_at="2026-11-22T01:02:04.000Z")
    assert b'"seq":4' in moved.header_bytes()
    assert moved.header_bytes() == canonical_json(moved.header())
    assert moved.created_time() == parse_timestamp("2026-11-22T01:02:04.000Z")
