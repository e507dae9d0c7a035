"""The record parser's fast paths accept and reject exactly what the definitions they replace do.

``_uuid4`` answers valid ids with a regex instead of a ``uuid.UUID`` round trip (and the code is
derived from the id's integer), ``_b64`` calls ``binascii.a2b_base64(strict_mode=True)`` instead of
``base64.b64decode(validate=True)``. The old definitions run next to the new code on generated input.
"""

from __future__ import annotations

import base64
import binascii
import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kiosk.errors import RecordFormatError
from kiosk.rules.record import _b64, _code_of, _uuid4, registration_code

CANONICAL = "6f1c2a0e-8a7b-4c3d-9e2f-0123456789ab"


def _old_uuid4(value: object) -> str:
    """The round-trip definition (with _text's non-empty string check before it)."""
    if not isinstance(value, str) or not value or len(value) > 512:
        raise RecordFormatError("w: must be a non-empty string of at most 512 characters")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise RecordFormatError("w: not a UUID") from None
    if parsed.version != 4 or str(parsed) != value:
        raise RecordFormatError("w: must be a lower-case UUID4")
    return str(parsed)


def _outcome(fn: object, value: object) -> tuple[str, object]:
    assert callable(fn)
    try:
        return ("ok", fn(value))
    except RecordFormatError as exc:
        return ("error", str(exc))


def _new_uuid4(value: object) -> str:
    return _uuid4(value, "w")


_UUIDISH = st.text(alphabet="0123456789abcdefABCDEF-{}:urnidg \n٣", min_size=30, max_size=45)


@settings(max_examples=3000)
@given(
    st.one_of(
        _UUIDISH,
        st.text(max_size=40),
        st.uuids().map(str),
        st.uuids(version=4).map(str),
        st.integers(),
        st.none(),
    )
)
@example(CANONICAL.upper())
@example("{" + CANONICAL + "}")
@example("urn:uuid:" + CANONICAL)
@example(CANONICAL.replace("-", ""))
@example(CANONICAL + "\n")
@example("6f1c2a0e-8a7b-4c3d-7e2f-0123456789ab")  # variant 0xxx: version is None
@example("6f1c2a0e-8a7b-5c3d-9e2f-0123456789ab")  # version 5
def test_uuid4_equals_the_round_trip(value: object) -> None:
    assert _outcome(_new_uuid4, value) == _outcome(_old_uuid4, value)


@pytest.mark.parametrize("position", range(36))
def test_uuid4_equals_the_round_trip_on_every_one_character_variant(position: int) -> None:
    for char in "0123456789abcdefABCDEFg-{}: \n\x00٣ａ":
        value = CANONICAL[:position] + char + CANONICAL[position + 1 :]
        assert _outcome(_new_uuid4, value) == _outcome(_old_uuid4, value), repr(value)


@given(st.uuids())
def test_code_from_the_text_equals_registration_code(value: uuid.UUID) -> None:
    assert _code_of(int(str(value).replace("-", ""), 16)) == registration_code(value)


def _old_b64(value: object) -> bytes:
    if not isinstance(value, str) or not value or len(value) > (64 * 4) // 3 + 4:
        raise RecordFormatError("w: must be base64 of at most 64 bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RecordFormatError("w: must be base64") from None
    if not raw:
        raise RecordFormatError("w: empty")
    return raw


def _new_b64(value: object) -> bytes:
    return _b64(value, "w", 64)


_B64ISH = st.text(alphabet="ABCxyz019+/=-_ \t\n\r\x00éあ\u00a0", max_size=24)


@settings(max_examples=3000)
@given(
    st.one_of(
        _B64ISH,
        st.text(max_size=24),
        st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
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
@example("QR==")
@example("QUFB\n")
@example("====")
@example("")
def test_b64_equals_b64decode_validate(value: object) -> None:
    assert _outcome(_new_b64, value) == _outcome(_old_b64, value)
