"""``madoguchi checkin`` without a card reader: printed codes, staff entry, second taps, exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.cli import main
from kiosk.shelter_card import display_token, new_token
from sync import wire
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox

ROOT = Path(__file__).resolve().parents[2]


def _profile(tmp_path: Path, mode: str = "shelter") -> Path:
    text = (ROOT / "config" / "kiosk.shelter.demo.toml").read_text(encoding="utf-8")
    text = text.replace('data_dir = "../var/demo-shelter"', f'data_dir = "{tmp_path / "data"}"')
    text = text.replace('mode = "shelter"', f'mode = "{mode}"')
    text = text.replace('programs_dir = "programs"', f'programs_dir = "{ROOT / "config" / "programs"}"')
    text = text.replace(
        'shelters_file = "shelters.toml"', f'shelters_file = "{ROOT / "config" / "shelters.toml"}"'
    )
    text = text.replace('"trust/test/', f'"{ROOT / "config" / "trust" / "test"}/')
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _enroll(data_dir: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    store = DeviceStore(data_dir)
    store.load_or_create_device_key()
    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev", raw, wire.SUITE_ID))


def _run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: bytes = b""
) -> tuple[int, dict]:  # type: ignore[type-arg]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["checkin", "--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_code_companions_second_scan_and_check_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(tmp_path)
    _enroll(tmp_path / "data")
    token = new_token()
    code, out = _run(
        capsys, monkeypatch, ["--config", str(profile), "--code", "MDGC1:" + token, "--companions", "2"]
    )
    assert code == 0
    assert out["status"] == "checked_in"
    assert out["method"] == "code"
    assert out["headcount"]["in"] == 3
    assert out["queued"] == 2  # arrival + companions, sealed in the outbox
    assert out["shelter"]["name"] == "日和山小学校 体育館"
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--code", display_token(token)])
    assert code == 12
    assert out["status"] == "already_checked_in"
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--code", token, "--check-out"])
    assert code == 0
    assert out["status"] == "checked_out"
    assert out["headcount"]["in"] == 0
    assert out["headcount"]["out"] == 1
    code, out = _run(
        capsys, monkeypatch, ["--config", str(profile), "--code", token, "--moved-to", "ishinomaki-kaisei"]
    )
    assert code == 13
    assert out["error"]["code"] == "not_checked_in"
    with Outbox.open(tmp_path / "data" / OUTBOX_FILE) as box:
        assert box.status().depth == 3


def test_unverified_entry_reads_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(tmp_path)
    _enroll(tmp_path / "data")
    code, out = _run(
        capsys,
        monkeypatch,
        ["--config", str(profile), "--unverified"],
        "ヤマダ ハナコ\n1948-07-07\n".encode(),
    )
    assert code == 0
    assert out["verified"] is False
    assert out["headcount"]["unverified"] == 1
    code, out = _run(
        capsys, monkeypatch, ["--config", str(profile), "--unverified"], "山田\n1948-07-07\n".encode()
    )
    assert (code, out["error"]["code"]) == (13, "bad_entry")
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--headcount"])
    assert (code, out["status"], out["queued"]) == (0, "headcount", 1)


def test_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(tmp_path)
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--code", new_token()])
    assert (code, out["error"]["code"]) == (10, "not_enrolled")
    _enroll(tmp_path / "data")
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--code", "ABCD"])
    assert (code, out["error"]["code"]) == (13, "bad_code")
    code, out = _run(
        capsys, monkeypatch, ["--config", str(profile), "--code", new_token(), "--moved-to", "nowhere"]
    )
    assert (code, out["error"]["code"]) == (13, "unknown_shelter")
    staff = _profile(tmp_path / "staff", mode="staff")
    code, out = _run(capsys, monkeypatch, ["--config", str(staff), "--headcount"])
    assert (code, out["error"]["code"]) == (2, "config")


def test_close_shelter_waits_for_delivery_then_forgets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = _profile(tmp_path)
    _enroll(tmp_path / "data")
    token = new_token()
    assert _run(capsys, monkeypatch, ["--config", str(profile), "--code", token])[0] == 0
    key_before = (tmp_path / "data" / "shelter-state.key").read_bytes()
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--close-shelter"])
    assert (code, out["error"]["code"]) == (12, "not_delivered")
    with Outbox.open(tmp_path / "data" / OUTBOX_FILE) as box:  # as if the server had acknowledged it
        from sync.outbox import Settlement

        claimed = box.claim(ignore_schedule=True)
        box.settle(Settlement(accepted=[c.record_id for c in claimed]))
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--close-shelter"])
    assert (code, out["status"], out["headcount"]["in"]) == (0, "closed", 0)
    assert (tmp_path / "data" / "shelter-state.key").read_bytes() != key_before
    code, out = _run(capsys, monkeypatch, ["--config", str(profile), "--code", token])
    assert (code, out["status"]) == (0, "checked_in")  # a new arrival: nothing remembered
