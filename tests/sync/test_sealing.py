"""Sealed envelope: round trip, and every tampering is caught by the right typed error."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync import wire
from sync.sealing import (
    BadCiphertextError,
    BadHeaderError,
    BadSignatureError,
    open_envelope,
    seal,
)

SERVER = X25519PrivateKey.generate()
DEVICE = Ed25519PrivateKey.generate()
PLAINTEXT = json.dumps({"resident": {"name": "山田太郎"}}, ensure_ascii=False).encode()


def _seal(**over: object) -> wire.Envelope:
    kw: dict[str, object] = {
        "record_id": str(uuid.uuid4()),
        "kiosk_id": "demo-kiosk-001",
        "seq": 7,
        "program_id": "demo",
        "server_public_key": SERVER.public_key(),
        "device_key": DEVICE,
        "created_at": dt.datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=dt.UTC),
    }
    kw.update(over)
    return seal(PLAINTEXT, **kw)  # type: ignore[arg-type]


def _open(env: object, **over: object) -> bytes:
    kw: dict[str, object] = {"server_private_key": SERVER, "device_public_key": DEVICE.public_key()}
    kw.update(over)
    return open_envelope(env, **kw)  # type: ignore[arg-type]


def test_round_trip_through_json() -> None:
    env = _seal()
    text = json.dumps(env.to_json())
    parsed = wire.Envelope.from_json(json.loads(text))
    assert parsed == env
    assert parsed.created_at == "2026-11-22T01:02:03.456Z"
    assert _open(json.loads(text), expected_kiosk_id="demo-kiosk-001") == PLAINTEXT
    assert "山田" not in repr(env)
    assert PLAINTEXT not in env.ct


def test_signature_covers_header_then_ct() -> None:
    env = _seal()
    DEVICE.public_key().verify(env.sig, env.header_bytes() + env.ct)
    assert env.header_bytes() == wire.canonical_json(
        {k: v for k, v in env.to_json().items() if k not in ("ct", "sig")}
    )
    assert env.hpke_info() == b"madoguchi.envelope.v1\x00" + env.header_bytes()


@pytest.mark.parametrize(
    ("field", "value"),
    [("kiosk_id", "other-kiosk"), ("record_id", str(uuid.uuid4())), ("seq", 8), ("program_id", "x")],
)
def test_changed_header_fails_signature(field: str, value: object) -> None:
    env = dataclasses.replace(_seal(), **{field: value})
    with pytest.raises(BadSignatureError):
        _open(env)


def test_changed_header_resigned_by_device_still_fails_decryption() -> None:
    """HPKE info binds the header: even the device key cannot move a ciphertext to another record."""
    env = _seal()
    moved = dataclasses.replace(env, record_id=str(uuid.uuid4()))
    moved = dataclasses.replace(moved, sig=DEVICE.sign(moved.signed_bytes()))
    with pytest.raises(BadCiphertextError):
        _open(moved)


def test_tampered_ct_and_wrong_keys() -> None:
    env = _seal()
    flipped = bytearray(env.ct)
    flipped[-1] ^= 1
    with pytest.raises(BadSignatureError):
        _open(dataclasses.replace(env, ct=bytes(flipped)))
    with pytest.raises(BadSignatureError):
        _open(env, device_public_key=Ed25519PrivateKey.generate().public_key())
    with pytest.raises(BadCiphertextError):
        _open(env, server_private_key=X25519PrivateKey.generate())
    with pytest.raises(BadHeaderError):
        _open(env, expected_kiosk_id="someone-else")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o.pop("sig"),
        lambda o: o.update(extra=1),
        lambda o: o.update(v=2),
        lambda o: o.update(v=True),
        lambda o: o.update(seq=-1),
        lambda o: o.update(seq="7"),
        lambda o: o.update(record_id=o["record_id"].upper()),
        lambda o: o.update(created_at="2026-11-22T01:02:03+09:00"),
        lambda o: o.update(ct="not base64!"),
        lambda o: o.update(sig="AAAA"),
        lambda o: o.update(kiosk_id=""),
        lambda o: o.update(kiosk_id=o["kiosk_id"] + "\n"),
        lambda o: o.update(program_id=o["program_id"] + "\n"),
        lambda o: o.update(created_at="2026-11-22T01:02:03Z\n"),
        lambda o: o.update(created_at="２０２６-11-22T01:02:03Z"),
    ],
)
def test_malformed_envelopes_are_bad_header(mutate: object) -> None:
    obj = _seal().to_json()
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(BadHeaderError):
        _open(obj)
    with pytest.raises(wire.EnvelopeFormatError):
        wire.Envelope.from_json(obj)


def test_seal_rejects_bad_header_fields() -> None:
    with pytest.raises(BadHeaderError):
        _seal(kiosk_id="bad id with spaces")
    with pytest.raises(BadHeaderError):
        _seal(record_id="not-a-uuid")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("v", 2),
        ("v", True),
        ("seq", -1),
        ("seq", 2**63),
        ("seq", True),
        ("record_id", "not-a-uuid"),
        ("record_id", str(uuid.UUID(int=2**128 - 1)).upper()),
        ("created_at", "2026-11-22T01:02:03+09:00"),
        ("created_at", "2026-02-30T01:02:03.000Z"),
        ("kiosk_id", ""),
        ("kiosk_id", "k" * 65),
        ("program_id", "bad id"),
    ],
)
def test_check_header_agrees_with_the_parser(field: str, value: object) -> None:
    """The sealing side's direct check must refuse exactly what the server's parser refuses."""
    env = dataclasses.replace(_seal(), **{field: value})
    with pytest.raises(wire.EnvelopeFormatError):
        wire.Envelope.from_json(env.to_json())
    with pytest.raises(wire.EnvelopeFormatError):
        env.check_header()


def test_check_header_accepts_what_the_parser_accepts() -> None:
    env = _seal()
    env.check_header()
    assert wire.Envelope.from_json(env.to_json()) == env


def test_batch_results_parser_is_strict() -> None:
    rid = str(uuid.uuid4())
    ok = wire.BatchResults.parse(json.dumps({"results": [{"record_id": rid, "status": "accepted"}]}))
    assert ok.results == (wire.RecordResult(rid, wire.RecordStatus.ACCEPTED, None),)
    for body in (
        b"{",
        b"[]",
        b'{"results": {}}',
        json.dumps({"results": [{"record_id": rid}]}).encode(),
        json.dumps({"results": [{"record_id": "x", "status": "accepted"}]}).encode(),
        b"\xff\xfe",
    ):
        with pytest.raises(wire.MessageFormatError):
            wire.BatchResults.parse(body)


def test_enroll_messages_round_trip() -> None:
    req = wire.EnrollRequest("s3cret-enrol", "demo-kiosk-001", bytes(32))
    assert wire.EnrollRequest.from_json(req.to_json()) == req
    assert "s3cret" not in repr(req)
    resp = wire.EnrollResponse("dev-1", bytes(32), wire.SUITE_ID)
    assert wire.EnrollResponse.from_json(resp.to_json()) == resp
    with pytest.raises(wire.MessageFormatError):
        wire.EnrollResponse.from_json({**resp.to_json(), "suite": "downgrade"})
