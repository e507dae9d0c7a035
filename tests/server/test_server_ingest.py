"""Batch upload through real uvicorn on loopback: accepted, duplicate, every rejection reason."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.rules.record import registration_code
from sync.server.devices import revoke_device
from sync.wire import DEVICE_HEADER, batch_request_body

from .conftest import RunningServer
from .factory import RecordSpec, card_key, foreign_root, issue_certificate


def upload(server: RunningServer, kiosk_id: str, envelopes: list, **kw) -> tuple[int, dict]:  # type: ignore[type-arg]
    with server.client() as client:
        reply = client.post(
            "/v1/records",
            content=batch_request_body(envelopes),
            headers={DEVICE_HEADER: kiosk_id, "content-type": "application/json"},
            **kw,
        )
    body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
    return reply.status_code, body


def results(body: dict) -> dict[str, tuple[str, str | None]]:  # type: ignore[type-arg]
    return {r["record_id"]: (r["status"], r["reason"]) for r in body["results"]}


def test_accept_then_duplicate_then_status(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-a")
    envelope = kiosk.make()
    status, body = upload(server, "kiosk-a", [envelope])
    assert status == 200
    assert results(body) == {envelope.record_id: ("accepted", None)}
    # a retry after a lost reply: same envelope, answered duplicate, stored once, and answered from
    # the stored digest without running the crypto again (the chain cache is not even consulted)
    lookups = server.ctx.chains.hits + server.ctx.chains.misses
    status, body = upload(server, "kiosk-a", [envelope, envelope])
    assert server.ctx.chains.hits + server.ctx.chains.misses == lookups
    assert results(body) == {envelope.record_id: ("duplicate", None)}
    assert len(body["results"]) == 1
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM registrations") == 1
    code = registration_code(uuid.UUID(envelope.record_id))
    with server.client() as client:
        reply = client.get(f"/v1/registrations/{code}")
        assert reply.status_code == 200
        assert reply.json() == {"code": code, "status": "accepted", "grant": "not_granted"}
        assert client.get("/v1/registrations/AAA-AAA-AAA").status_code == 404


def test_health_and_openapi(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/v1/health").json() == {"status": "ok"}
        paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/enroll", "/v1/records", "/v1/registrations/{code}", "/v1/health"} <= set(paths)


def _stored_flags(server: RunningServer, record_id: str) -> list[str]:
    with server.ctx.db.transaction() as tx:
        return json.loads(tx.scalar("SELECT flags FROM registrations WHERE record_id = ?", (record_id,)))


def test_forged_tampered_and_mismatched_records_are_rejected(server: RunningServer) -> None:
    from dataclasses import replace as dc_replace

    from sync.sealing import seal

    kiosk = server.enroll("kiosk-a")
    other_key = card_key("tochigi-utsunomiya")  # a real card key, but not this certificate's
    forged = kiosk.make(key=other_key)
    good = kiosk.make()
    # flip one ciphertext byte and re-sign with the device key: the device vouches, HPKE refuses
    flipped_ct = bytes([good.ct[0] ^ 1]) + good.ct[1:]
    tampered = dc_replace(good, ct=flipped_ct, sig=kiosk.device_key.sign(good.header_bytes() + flipped_ct))
    # flip a byte without re-signing: the device signature refuses
    unsigned = dc_replace(kiosk.make(), ct=flipped_ct)
    # a genuine card-signed record re-sealed under another record id (a replay under a new id)
    signed = kiosk.sign_record(RecordSpec())
    kiosk.seq += 1
    resealed = seal(
        signed.to_plaintext(),
        record_id=str(uuid.uuid4()),
        kiosk_id=kiosk.kiosk_id,
        seq=kiosk.seq,
        program_id="demo",
        server_public_key=server.public_key,
        device_key=kiosk.device_key,
    )
    # the plaintext is not the canonical encoding of its content
    signed2 = kiosk.sign_record(RecordSpec())
    loose = kiosk.seal(signed2, plaintext=signed2.to_plaintext().replace(b'{"card', b'{ "card', 1))
    not_verified = kiosk.make(
        verification=dc_replace(kiosk.sign_record(RecordSpec()).record.verification, integrity=False)
    )
    status, body = upload(server, "kiosk-a", [forged, tampered, unsigned, resealed, loose, not_verified])
    assert status == 200
    got = results(body)
    assert got[forged.record_id] == ("rejected", "card_signature")
    assert got[tampered.record_id] == ("rejected", "bad_ciphertext")
    assert got[unsigned.record_id] == ("rejected", "bad_signature")
    assert got[resealed.record_id] == ("rejected", "record_mismatch")
    assert got[loose.record_id] == ("rejected", "invalid_record")
    assert got[not_verified.record_id] == ("rejected", "kiosk_verification")
    with server.ctx.db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM registrations") == 0
        # refusals after the device signature verified are recorded; the unsigned one is not
        stored = {r[0] for r in tx.execute("SELECT record_id FROM records")}
    assert unsigned.record_id not in stored
    assert tampered.record_id in stored
    # retrying a rejected record answers the same rejection (idempotent)
    assert results(upload(server, "kiosk-a", [tampered])[1])[tampered.record_id] == (
        "rejected",
        "bad_ciphertext",
    )


def test_wrong_device_replay_and_conflict(server: RunningServer) -> None:
    kiosk_a = server.enroll("kiosk-a")
    kiosk_b = server.enroll("kiosk-b")
    envelope = kiosk_a.make()
    # kiosk B replays kiosk A's envelope: the header names another kiosk
    assert results(upload(server, "kiosk-b", [envelope])[1])[envelope.record_id] == (
        "rejected",
        "kiosk_mismatch",
    )
    # kiosk B re-seals A's card-signed record under its own id: the card-signed kiosk id differs
    signed = kiosk_a.sign_record(RecordSpec())
    replay = kiosk_b.seal(signed)
    assert results(upload(server, "kiosk-b", [replay])[1])[replay.record_id] == (
        "rejected",
        "record_mismatch",
    )
    # an envelope claiming kiosk A but signed by a key that is not A's
    impostor = kiosk_a.make()
    from dataclasses import replace as dc_replace

    impostor = dc_replace(impostor, sig=Ed25519PrivateKey.generate().sign(impostor.signed_bytes()))
    assert results(upload(server, "kiosk-a", [impostor])[1])[impostor.record_id] == (
        "rejected",
        "bad_signature",
    )
    # the same record id with different content later: conflict, not duplicate
    first = kiosk_a.make()
    upload(server, "kiosk-a", [first])
    again = kiosk_a.make(record_id=uuid.UUID(first.record_id))
    assert results(upload(server, "kiosk-a", [again])[1])[first.record_id] == ("rejected", "conflict")
    # an unknown device is refused as a whole
    status, body = upload(server, "kiosk-zzz", [kiosk_a.make()])
    assert (status, body["error"]) == (401, "unknown_device")


def test_revoked_device_is_refused(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-a")
    assert upload(server, "kiosk-a", [kiosk.make()])[0] == 200
    revoke_device(server.ctx.db, "kiosk-a")
    status, body = upload(server, "kiosk-a", [kiosk.make()])
    assert (status, body["error"]) == (403, "device_revoked")


def test_certificates_expired_unknown_root_forged_root(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-a")
    now = datetime.now(UTC)
    expired = kiosk.make(persona_name="miyagi-expired-cert", clock=now)
    # the same expired card, registered while its certificate was valid (an old offline record)
    then = kiosk.make(persona_name="miyagi-expired-cert", clock=datetime(2025, 6, 1, tzinfo=UTC))
    key = card_key("miyagi-sendai")
    unknown = kiosk.make(certificate=issue_certificate(key.public_key(), 11, ca=foreign_root(False)))
    forged = kiosk.make(certificate=issue_certificate(key.public_key(), 12, ca=foreign_root(True)))
    early = kiosk.make(
        certificate=issue_certificate(key.public_key(), 13, not_before=now + timedelta(days=30))
    )
    got = results(upload(server, "kiosk-a", [expired, then, unknown, forged, early])[1])
    assert got[expired.record_id] == ("rejected", "certificate_expired")
    assert got[then.record_id] == ("accepted", None)
    assert got[unknown.record_id] == ("rejected", "certificate_unknown_root")
    assert got[forged.record_id] == ("rejected", "certificate_bad_signature")
    assert got[early.record_id] == ("rejected", "certificate_not_yet_valid")
    assert "clock_skew" in _stored_flags(server, then.record_id)
    assert "revocation_not_checked" in _stored_flags(server, then.record_id)


def test_programme_rules_at_registration_time(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-a")
    outsider = kiosk.make(persona_name="tochigi-utsunomiya", program_id="miyagi-fcfs")
    old = kiosk.make(program_id="young-only")
    closed_now = kiosk.make(program_id="closed")
    closed_then = kiosk.make(program_id="closed", clock=datetime(2020, 1, 15, 3, tzinfo=UTC))
    one_service = kiosk.make(program_id="miyagi-fcfs", services=("point",))
    unknown = kiosk.make(program_id="no-such-programme")
    got = results(
        upload(server, "kiosk-a", [outsider, old, closed_now, closed_then, one_service, unknown])[1]
    )
    assert got[outsider.record_id] == ("rejected", "not_resident")
    assert got[old.record_id] == ("rejected", "too_old")
    assert got[closed_now.record_id] == ("rejected", "ended")
    # in the period by the kiosk's clock, but the certificate was not valid in 2020
    assert got[closed_then.record_id] == ("rejected", "certificate_not_yet_valid")
    assert got[one_service.record_id] == ("rejected", "missing_service")
    assert got[unknown.record_id] == ("rejected", "unknown_program")


def test_sequence_gap_and_reuse_are_flagged(server: RunningServer) -> None:
    kiosk = server.enroll("kiosk-a")
    first = kiosk.make()  # seq 1
    kiosk.seq = 5
    gap = kiosk.make()  # seq 6: 2..5 missing
    got = results(upload(server, "kiosk-a", [first, gap])[1])
    assert set(got.values()) == {("accepted", None)}
    assert "sequence_gap" not in _stored_flags(server, first.record_id)
    assert "sequence_gap" in _stored_flags(server, gap.record_id)
    # a second kiosk with the same device key (a clone) reuses sequence numbers
    reused = kiosk.seal(kiosk.sign_record(RecordSpec()), seq=1)
    assert results(upload(server, "kiosk-a", [reused])[1])[reused.record_id] == ("accepted", None)
    assert "sequence_reuse" in _stored_flags(server, reused.record_id)
    late = kiosk.seal(kiosk.sign_record(RecordSpec()), seq=3)  # fills the gap: not flagged
    upload(server, "kiosk-a", [late])
    assert not {"sequence_reuse", "sequence_gap"} & set(_stored_flags(server, late.record_id))
    # two different records with one sequence number in the same batch
    twin_a = kiosk.seal(kiosk.sign_record(RecordSpec()), seq=7)
    twin_b = kiosk.seal(kiosk.sign_record(RecordSpec()), seq=7)
    upload(server, "kiosk-a", [twin_a, twin_b])
    assert "sequence_reuse" in _stored_flags(server, twin_a.record_id)
    assert "sequence_reuse" in _stored_flags(server, twin_b.record_id)


def test_request_limits_and_malformed_bodies(server: RunningServer) -> None:
    server.enroll("kiosk-a")
    with server.client() as client:
        headers = {DEVICE_HEADER: "kiosk-a", "content-type": "application/json"}
        big = client.post("/v1/records", content=b"x" * (4 * 1024 * 1024 + 1), headers=headers)
        assert big.status_code == 413
        assert client.post("/v1/records", content=b"{nope", headers=headers).status_code == 400
        assert client.post("/v1/records", content=b'{"records": []}', headers=headers).status_code == 400
        reply = client.post("/v1/records", content=b'{"records": [{"v": 1}]}', headers=headers)
    assert reply.status_code == 200
    assert reply.json() == {"results": []}  # no usable record id to answer with


def test_busy_server_answers_429_with_retry_after(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import start_server, stop_server

    running, srv, thread = start_server(tmp_path, db_url, max_inflight=0)
    try:
        kiosk = running.enroll("kiosk-a")
        with running.client() as client:
            reply = client.post(
                "/v1/records",
                content=batch_request_body([kiosk.make()]),
                headers={DEVICE_HEADER: "kiosk-a", "content-type": "application/json"},
            )
        assert reply.status_code == 429
        assert reply.headers["retry-after"] == "1"
    finally:
        stop_server(running, srv, thread)


def test_revocation_checker_rejects_revoked_certificates(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cryptography import x509

    from sync.server.revocation import SerialRevocationList

    from .conftest import start_server, stop_server
    from .factory import persona_certificate

    cert = x509.load_der_x509_certificate(persona_certificate("miyagi-sendai"))
    revoked = SerialRevocationList(
        {(cert.issuer.public_bytes(), cert.serial_number): datetime(2025, 5, 1, tzinfo=UTC)}
    )
    running, srv, thread = start_server(tmp_path, db_url, revocation=revoked)
    try:
        kiosk = running.enroll("kiosk-a")
        now_record = kiosk.make()
        before = kiosk.make(clock=datetime(2025, 4, 15, tzinfo=UTC))
        other = kiosk.make(persona_name="miyagi-elderly")
        got = results(upload(running, "kiosk-a", [now_record, before, other])[1])
        assert got[now_record.record_id] == ("rejected", "certificate_revoked")
        assert got[before.record_id] == ("accepted", None)  # revoked after that registration
        assert got[other.record_id] == ("accepted", None)
        assert "revocation_not_checked" not in _stored_flags(running, other.record_id)
    finally:
        stop_server(running, srv, thread)


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"])
def test_database_outage_answers_503_with_retry_after_then_recovers(server: RunningServer) -> None:
    import psycopg

    from sync.server.db import APPLICATION_NAME

    from .conftest import PG_DSN

    kiosk = server.enroll("kiosk-a")
    assert upload(server, "kiosk-a", [kiosk.make()])[0] == 200
    assert PG_DSN
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [APPLICATION_NAME],
        ).fetchone()
    assert killed
    assert killed[0] >= 1
    envelope = kiosk.make()
    seen = []
    with server.client() as client:
        for _ in range(10):
            reply = client.post(
                "/v1/records",
                content=batch_request_body([envelope]),
                headers={DEVICE_HEADER: "kiosk-a", "content-type": "application/json"},
            )
            seen.append(reply.status_code)
            if reply.status_code == 503:
                assert reply.headers["retry-after"] == "5"
                assert reply.json()["error"] == "unavailable"
            if reply.status_code == 200:
                break
    assert 503 in seen
    assert seen[-1] == 200
    assert results(reply.json())[envelope.record_id] == ("accepted", None)


def test_a_record_queued_before_the_code_change_is_accepted_and_found_by_its_old_code(
    server: RunningServer,
) -> None:
    """Upgrade safety: a kiosk's outbox may hold records sealed by the first release, whose
    card-signed record carries the old ``XXX-XXX-XXX`` code; they are still accepted, and the
    resident's old printed receipt still finds them."""
    from dataclasses import replace

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from kiosk.rules.record import SignedRegistration, legacy_code_of

    kiosk = server.enroll("kiosk-legacy")
    spec = RecordSpec()
    fresh = kiosk.sign_record(spec)
    old_code = legacy_code_of(spec.record_id.int)
    record = replace(fresh.record, code=old_code)
    signature = card_key(spec.persona_name).sign(record.canonical(), padding.PKCS1v15(), hashes.SHA256())
    envelope = kiosk.seal(SignedRegistration(record=record, card_signature=signature))
    status, body = upload(server, "kiosk-legacy", [envelope])
    assert status == 200
    assert results(body) == {envelope.record_id: ("accepted", None)}
    with server.client() as client:
        reply = client.get(f"/v1/registrations/{old_code}")
        assert reply.status_code == 200
        assert reply.json()["status"] == "accepted"
