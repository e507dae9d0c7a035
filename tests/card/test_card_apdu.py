"""APDU encoding (ISO 7816-4 cases 1-4, short and extended) and the pipeline's SW handling."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from card.apdu import TRAFFIC, ApduProtocol, CommandApdu, TrafficStats, tries_from_sw
from card.errors import (
    ApduEncodingError,
    CheckingError,
    SecurityError,
    SecurityStatusNotSatisfiedError,
    WarningError,
)


@pytest.mark.parametrize(
    ("apdu", "short", "extended"),
    [
        (CommandApdu(0, 0x20, 0, 0x80), "00200080", "00200080"),  # case 1: the tries query (§2.1)
        (CommandApdu(0, 0xB0, 0, 0, le=7), "00B0000007", "00B00000000007"),
        (CommandApdu(0, 0xB0, 0, 0, le=256), "00B0000000", "00B00000000100"),
        (CommandApdu(0, 0xB0, 0x8A, 0, le=65536), None, "00B08A00000000"),
        (CommandApdu(0, 0xA4, 2, 0x0C, b"\x00\x18"), "00A4020C020018", "00A4020C0000020018"),
    ],
)
def test_encoding_vectors(apdu: CommandApdu, short: str | None, extended: str) -> None:
    if short is not None:
        assert apdu.to_bytes(extended=False).hex().upper() == short
    assert apdu.to_bytes(extended=True).hex().upper() == extended


def test_case4_short_and_extended() -> None:
    apdu = CommandApdu(0x80, 0x2A, 0x00, 0x97, bytes(51), le=256)
    short = apdu.to_bytes(extended=False)
    assert short[:5] == bytes.fromhex("802A009733")
    assert short[-1] == 0
    assert len(short) == 5 + 51 + 1
    ext = apdu.to_bytes(extended=True)
    assert ext[:7] == bytes.fromhex("802A0097000033")
    assert ext[-2:] == b"\x01\x00"
    assert len(ext) == 7 + 51 + 2


def test_auto_picks_extended_only_when_needed() -> None:
    assert len(CommandApdu(0, 0xB0, 0, 0, le=255).to_bytes()) == 5
    assert CommandApdu(0, 0xB0, 0, 0, le=257).to_bytes() == bytes.fromhex("00B00000000101")
    assert len(CommandApdu(0, 0xD6, 0, 0, bytes(300)).to_bytes()) == 4 + 3 + 300


@pytest.mark.parametrize(
    "apdu",
    [
        CommandApdu(0x100, 0, 0, 0),
        CommandApdu(0, 0, 0, 0, le=0),
        CommandApdu(0, 0, 0, 0, le=65537),
        CommandApdu(0, 0, 0, 0, bytes(65536)),
    ],
)
def test_encoding_rejects_out_of_range(apdu: CommandApdu) -> None:
    with pytest.raises(ApduEncodingError):
        apdu.to_bytes()


def test_short_form_refused_when_too_big() -> None:
    with pytest.raises(ApduEncodingError):
        CommandApdu(0, 0xB0, 0, 0, le=300).to_bytes(extended=False)


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=300),
    le=st.one_of(st.none(), st.integers(1, 65536)),
    ext=st.booleans(),
)
def test_encoded_length_matches_iso_cases(data: bytes, le: int | None, ext: bool) -> None:
    apdu = CommandApdu(0, 0xB0, 0, 0, data, le)
    try:
        raw = apdu.to_bytes(extended=ext)
    except ApduEncodingError:
        assert not ext
        assert apdu.needs_extended()
        return
    if ext:
        expected = 4 + ((3 + len(data)) if data else 0) + ((2 if data else 3) if le is not None else 0)
    else:
        expected = 4 + ((1 + len(data)) if data else 0) + (1 if le is not None else 0)
    assert len(raw) == expected


def test_repr_hides_data() -> None:
    assert "31323334" not in repr(CommandApdu(0, 0x20, 0, 0x98, b"1234")).replace(" ", "")
    assert "1234" not in repr(CommandApdu(0, 0x20, 0, 0x98, b"1234"))


@pytest.mark.parametrize(
    ("sw", "tries"), [(0x63C3, 3), (0x63C0, 0), (0x6984, 0), (0x6983, 0), (0x9000, None), (0x6A82, None)]
)
def test_tries_from_sw(sw: int, tries: int | None) -> None:
    assert tries_from_sw(sw) == tries


class _Scripted:
    """A typed scripted connection: asserts the exact bytes sent, in order."""

    def __init__(self, script: list[tuple[str, bytes, int]]) -> None:
        self.script = list(script)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        expected, data, sw = self.script.pop(0)
        assert apdu.hex().upper() == expected
        return data, sw

    def close(self) -> None:
        pass


def test_get_response_chaining_and_counting() -> None:
    conn = _Scripted([("00B0000000", b"ab", 0x6102), ("00C0000002", b"cd", 0x9000)])
    proto = ApduProtocol(conn)
    data, sw = proto.send(CommandApdu(0, 0xB0, 0, 0, le=256))
    assert (data, sw) == (b"abcd", 0x9000)
    assert proto.stats == TrafficStats(apdus=2, bytes_sent=10, bytes_received=8)
    assert not conn.script


def test_6cxx_resends_with_exact_le() -> None:
    conn = _Scripted([("00B0000000", b"", 0x6C05), ("00B0000005", b"12345", 0x9000)])
    assert ApduProtocol(conn).send(CommandApdu(0, 0xB0, 0, 0, le=256))[0] == b"12345"


@pytest.mark.parametrize(
    ("sw", "cls"),
    [
        (0x6982, SecurityStatusNotSatisfiedError),
        (0x6985, SecurityError),
        (0x6A82, CheckingError),
        (0x63C1, WarningError),
    ],
)
def test_status_words_raise_families(sw: int, cls: type[Exception]) -> None:
    with pytest.raises(cls) as info:
        ApduProtocol(_Scripted([("00B0000001", b"secret", sw)])).send(CommandApdu(0, 0xB0, 0, 0, le=1))
    assert "secret" not in str(info.value)
    assert "736563726574" not in str(info.value)
    assert f"{sw:04X}" in str(info.value)


def test_traffic_log_redacts_verify_data_and_personal_responses(caplog: pytest.LogCaptureFixture) -> None:
    conn = _Scripted(
        [("0020009804" + b"1234".hex().upper(), b"", 0x9000), ("00B0820000", "山田".encode(), 0x9000)]
    )
    proto = ApduProtocol(conn)
    with caplog.at_level(TRAFFIC, logger="card.apdu"):
        proto.send(CommandApdu(0, 0x20, 0, 0x98, bytearray(b"1234")))  # type: ignore[arg-type]
        proto.send(CommandApdu(0, 0xB0, 0x82, 0, le=256), redact_response=True)
    text = caplog.text
    assert "31 32 33 34" not in text
    assert "1234" not in text
    assert "E5 B1 B1" not in text
    assert "山田" not in text
    assert "redacted" in text
    assert all(r.levelno == TRAFFIC for r in caplog.records)
    assert TRAFFIC < logging.DEBUG


def test_enable_traffic_log_warns_and_redacts() -> None:
    import io

    from card.apdu import enable_traffic_log

    stream = io.StringIO()
    handler = enable_traffic_log(stream)
    try:
        conn = _Scripted([("0020009804" + b"4321".hex().upper(), b"", 0x9000)])
        ApduProtocol(conn).transmit_secret(bytes.fromhex("00200098"), bytearray(b"4321"))
    finally:
        logging.getLogger("card").removeHandler(handler)
        logging.getLogger("card").setLevel(logging.NOTSET)
    text = stream.getvalue()
    assert "APDU TRACING IS ON" in text
    assert "SEND 00 20 00 98 <4 bytes redacted>" in text
    assert "34 33 32 31" not in text
