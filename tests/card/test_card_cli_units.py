"""Pure parts of card/cli.py: error classification, exit codes, PIN line reading, parser shape."""

from __future__ import annotations

import argparse
import io

import pytest

from card.cli import EXIT_CODES, classify, read_secret_line, register
from card.constants import PinKind
from card.errors import (
    ApduError,
    CardRemovedError,
    LastTryRefusedError,
    MalformedCardDataError,
    NoCardError,
    NoReaderError,
    NotMyNumberCardError,
    PcscUnavailableError,
    PinBlockedError,
    PinFormatError,
    PinIncorrectError,
    ReaderBusyError,
)


@pytest.mark.parametrize(
    ("error", "code", "exit_code", "tries"),
    [
        (PinFormatError(PinKind.AUTH), "pin_format", 3, None),
        (PinIncorrectError(PinKind.AUTH, 2), "pin_incorrect", 3, 2),
        (PinBlockedError(PinKind.CARD_INFO), "pin_blocked", 4, 0),
        (LastTryRefusedError(PinKind.AUTH), "last_try_refused", 4, 1),
        (CardRemovedError(), "card_removed", 5, None),
        (NoCardError("x"), "no_card", 5, None),
        (NoReaderError("x"), "no_reader", 6, None),
        (PcscUnavailableError("x"), "pcsc_unavailable", 6, None),
        (ReaderBusyError("x"), "pcsc_unavailable", 6, None),
        (MalformedCardDataError("x"), "malformed_card_data", 7, None),
        (ApduError(0x6F00), "malformed_card_data", 7, None),
        (NotMyNumberCardError("x"), "not_mynumber_card", 7, None),
    ],
)
def test_error_codes_and_exit_codes(error: Exception, code: str, exit_code: int, tries: int | None) -> None:
    failure = classify(error)  # type: ignore[arg-type]
    assert (failure.code, failure.exit_code, failure.tries_left) == (code, exit_code, tries)
    assert set(EXIT_CODES) >= {failure.code}


def test_removed_during_verify_says_the_try_may_have_counted() -> None:
    assert "may have been counted" in classify(CardRemovedError(during_verify=True)).message


@pytest.mark.parametrize(
    ("raw", "first", "second"),
    [(b"1234\n5678\n", b"1234", b"5678"), (b"1234\r\n", b"1234", b""), (b"1234", b"1234", b"")],
)
def test_pin_lines_are_read_into_bytearrays(raw: bytes, first: bytes, second: bytes) -> None:
    stream = io.BytesIO(raw)
    a = read_secret_line(stream)
    b = read_secret_line(stream)
    assert isinstance(a, bytearray)
    assert (bytes(a), bytes(b)) == (first, second)


def test_overlong_pin_line_is_bounded() -> None:
    assert len(read_secret_line(io.BytesIO(b"9" * 10_000 + b"\n"))) <= 33


def test_parser_shape() -> None:
    parser = argparse.ArgumentParser(prog="madoguchi")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["card", "read", "--pin-stdin", "--card-info-pin-stdin", "--allow-last-try", "--json"]
    )
    assert (args.pin_stdin, args.card_info_pin_stdin, args.allow_last_try, args.json) == (
        True,
        True,
        True,
        True,
    )
    assert parser.parse_args(["card", "status", "--reader", "R", "--json"]).reader == "R"
    assert parser.parse_args(["card", "readers", "--json"]).json
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["card", "read", "--json"])  # --pin-stdin is required
    assert info.value.code == 2
