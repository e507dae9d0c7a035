"""The durable record sequence and the keyed "already registered here" index."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.local_index import INDEX_FILE, KEY_FILE, RegisteredHereIndex
from kiosk.sequence import SEQUENCE_FILE, RecordSequence, SequenceError


def test_sequence_is_strictly_increasing_and_survives_reopening(tmp_path: Path) -> None:
    seq = RecordSequence(tmp_path)
    assert seq.current() == 0
    assert [seq.next() for _ in range(5)] == [1, 2, 3, 4, 5]
    assert RecordSequence(tmp_path).next() == 6
    assert stat.S_IMODE(os.stat(tmp_path / SEQUENCE_FILE).st_mode) == 0o600


def test_sequence_is_unique_across_processes(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from kiosk.sequence import RecordSequence;"
        "s = RecordSequence(Path(sys.argv[1])); print(' '.join(str(s.next()) for _ in range(50)))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    numbers = [int(n) for p in procs for n in p.communicate(timeout=60)[0].split()]
    assert sorted(numbers) == list(range(1, 151))


def test_corrupt_sequence_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / SEQUENCE_FILE).write_text("twelve\n")
    with pytest.raises(SequenceError, match="corrupt"):
        RecordSequence(tmp_path).next()


def test_index_remembers_per_programme_without_clear_data(tmp_path: Path) -> None:
    index = RegisteredHereIndex(tmp_path)
    issuer = "CN=Test Auth CA,O=JPKI-TEST"
    assert not index.contains("demo", issuer, 0x1234)
    index.add("demo", issuer, 0x1234)
    assert index.contains("demo", issuer, 0x1234)
    assert not index.contains("demo", issuer, 0x1235)
    assert not index.contains("utsunomiya-topup", issuer, 0x1234)
    assert RegisteredHereIndex(tmp_path).contains("demo", issuer, 0x1234)
    text = (tmp_path / INDEX_FILE).read_text()
    assert "JPKI" not in text
    assert "1234" not in text
    for name in (INDEX_FILE, KEY_FILE):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600


def test_index_key_is_per_kiosk(tmp_path: Path) -> None:
    a, b = RegisteredHereIndex(tmp_path / "a"), RegisteredHereIndex(tmp_path / "b")
    a.add("demo", "CN=x", 1)
    b.add("demo", "CN=x", 1)
    assert (tmp_path / "a" / INDEX_FILE).read_text() != (tmp_path / "b" / INDEX_FILE).read_text()
