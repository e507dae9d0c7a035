"""The registration record: canonical bytes, strict parsing, codes and the card signature."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.errors import CardSignatureError, RecordFormatError
from kiosk.rules import record as registration
from kiosk.rules.record import (
    CODE_ALPHABET,
    SCHEMA,
    Consent,
    KioskStamp,
    Resident,
    SignedRegistration,
    Verification,
    _code_of,
    build_record,
    canonical_json,
    new_record_id,
    normalize_code,
    parse_record,
    parse_signed,
    registration_code,
    verify_card_signature,
)

from .conftest import FakeCardKey

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 2, 3, 10, 15, 30, 123000, tzinfo=JST)
RID = uuid.UUID("6f1c2a0e-8a7b-4c3d-9e2f-0123456789ab")


def _record(cert: bytes, **overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "record_id": RID,
        "program_id": "miyagi-point-2025-second",
        "consents": [Consent("point", "2025-01", NOW), Consent("disaster", "2025-01", NOW)],
        "resident": Resident("宮城 花子", "宮城県仙台市青葉区本町3丁目8番1号", date(1950, 4, 1), "2"),
        "auth_certificate": cert,
        "kiosk": KioskStamp("demo-kiosk-001", NOW, 42),
        "verification": Verification(True, True, True, True),
    }
    args.update(overrides)
    return build_record(**args)  # type: ignore[arg-type]


def test_record_object_has_exactly_the_contract_shape(card_key: FakeCardKey) -> None:
    obj = _record(card_key.cert_der).to_obj()
    assert set(obj) == {
        "schema", "record_id", "code", "program_id", "services", "consents", "resident",
        "auth_certificate", "kiosk", "verification",
    }  # fmt: skip
    assert obj["schema"] == SCHEMA
    assert obj["services"] == ["disaster", "point"]
    assert [c["service"] for c in obj["consents"]] == ["disaster", "point"]
    assert obj["resident"]["birth_date"] == "1950-04-01"
    assert obj["kiosk"] == {"id": "demo-kiosk-001", "clock": "2025-02-03T10:15:30.123+09:00", "sequence": 42}
    assert base64.b64decode(obj["auth_certificate"]) == card_key.cert_der


def test_canonical_json_is_the_contract_encoding(card_key: FakeCardKey) -> None:
    record = _record(card_key.cert_der)
    expected = json.dumps(record.to_obj(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record.canonical() == expected.encode("utf-8")
    assert "宮城 花子".encode() in record.canonical()  # ensure_ascii=False: UTF-8, not \\u escapes
    assert canonical_json({"b": 1, "a": [2]}) == b'{"a":[2],"b":1}'


def test_signed_round_trip_and_signature(card_key: FakeCardKey) -> None:
    record = _record(card_key.cert_der)
    signed = SignedRegistration(record, card_key.sign(record.canonical()))
    plaintext = signed.to_plaintext()
    parsed = parse_signed(plaintext)
    assert parsed == signed
    verify_card_signature(parsed)
    top = json.loads(plaintext)
    assert set(top) == {"v", "record", "card_signature"}
    assert top["v"] == 1


def test_tampered_record_fails_the_signature(card_key: FakeCardKey) -> None:
    record = _record(card_key.cert_der)
    signature = card_key.sign(record.canonical())
    forged = replace(record, program_id="utsunomiya-topup")
    with pytest.raises(CardSignatureError):
        verify_card_signature(SignedRegistration(forged, signature))
    with pytest.raises(CardSignatureError):
        verify_card_signature(SignedRegistration(replace(record, auth_certificate=b"\x30\x00"), signature))


def test_non_canonical_plaintext_is_refused(card_key: FakeCardKey) -> None:
    record = _record(card_key.cert_der)
    signed = SignedRegistration(record, card_key.sign(record.canonical()))
    obj = json.loads(signed.to_plaintext())
    spaced = json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()
    with pytest.raises(RecordFormatError, match="canonical"):
        parse_signed(spaced)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("schema",), "madoguchi.registration/2", "record.schema"),
        (("record_id",), "not-a-uuid", "record.record_id"),
        (("record_id",), str(uuid.UUID(int=5, version=1)), "record.record_id"),
        (("code",), "ABCD-EFGH-JKMN-PQRS", "record.code"),
        (("services",), ["point", "disaster"], "record.services"),
        (("services",), ["shopping"], "record.services"),
        (("resident", "sex"), "3", "record.resident.sex"),
        (("resident", "birth_date"), "19500401", "record.resident.birth_date"),
        (("resident", "my_number"), "123456789012", "record.resident"),
        (("resident", "birth_date"), "1950-04-01\n", "record.resident.birth_date"),
        (("resident", "birth_date"), "１９５０-04-01", "record.resident.birth_date"),
        (("program_id",), "miyagi-point\n", "record.program_id"),
        (("kiosk", "id"), "kiosk-01\n", "record.kiosk.id"),
        (("kiosk", "sequence"), -1, "record.kiosk.sequence"),
        (("kiosk", "clock"), "2025-02-03T10:15:30", "record.kiosk.clock"),
        (("verification", "chain"), "yes", "record.verification.chain"),
        (("auth_certificate",), "!!", "record.auth_certificate"),
        (("my_number",), "123456789012", "record"),
    ],
)
def test_strict_parser_names_the_field_not_the_value(
    card_key: FakeCardKey, path: tuple[str, ...], value: object, field: str
) -> None:
    obj = _record(card_key.cert_der).to_obj()
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(RecordFormatError) as info:
        parse_record(obj)
    assert str(info.value).startswith(field)
    assert "123456789012" not in str(info.value)


def test_repr_hides_personal_data(card_key: FakeCardKey) -> None:
    record = _record(card_key.cert_der)
    signed = SignedRegistration(record, b"sig")
    for text in (repr(record), repr(signed), repr(record.resident)):
        assert "花子" not in text
        assert "青葉区" not in text
        assert "1950" not in text


def test_consent_for_unknown_service_is_refused(card_key: FakeCardKey) -> None:
    with pytest.raises(RecordFormatError, match=r"record\.services"):
        _record(card_key.cert_der, consents=[Consent("shopping", "1", NOW)])


def test_naive_timestamps_are_refused(card_key: FakeCardKey) -> None:
    with pytest.raises(RecordFormatError, match="offset"):
        _record(card_key.cert_der, kiosk=KioskStamp("k", NOW.replace(tzinfo=None), 1))


def test_new_record_id_requires_uuid4() -> None:
    assert new_record_id(lambda: RID) == RID
    with pytest.raises(RecordFormatError):
        new_record_id(lambda: uuid.UUID(int=1, version=1))


def test_code_uses_only_the_random_bits() -> None:
    # two UUIDs differing only in the version/variant bits are the same random draw: same code
    a = uuid.UUID(int=RID.int & ~(0xF << 76) & ~(0x3 << 62))
    assert _code_of(a.int) == registration_code(RID)
    # and every random bit below 73 matters
    for bit in (0, 40, 61, 64, 75, 80, 100):
        assert _code_of(RID.int ^ (1 << bit)) != registration_code(RID), bit


def test_code_shape_and_alphabet() -> None:
    code = registration_code(RID)
    assert len(code) == 19
    assert code[4] == code[9] == code[14] == "-"
    assert all(c in CODE_ALPHABET for c in code.replace("-", ""))
    assert not set("01ILOU") & set(CODE_ALPHABET)
    assert normalize_code(code.lower().replace("-", " ")) == code


@settings(max_examples=200, deadline=None)
@given(st.uuids(version=4), st.integers(min_value=0, max_value=15), st.sampled_from(CODE_ALPHABET))
def test_check_character_catches_any_single_substitution(rid: uuid.UUID, pos: int, ch: str) -> None:
    raw = registration_code(rid).replace("-", "")
    if raw[pos] == ch:
        return
    typo = raw[:pos] + ch + raw[pos + 1 :]
    assert normalize_code(typo) is None


@settings(max_examples=200, deadline=None)
@given(st.uuids(version=4), st.integers(min_value=0, max_value=14))
def test_check_character_catches_adjacent_swaps(rid: uuid.UUID, pos: int) -> None:
    raw = registration_code(rid).replace("-", "")
    if raw[pos] == raw[pos + 1]:
        return
    swapped = raw[:pos] + raw[pos + 1] + raw[pos] + raw[pos + 2 :]
    # Luhn mod N misses exactly one pair class (the two values whose doubled sums wrap alike).
    if normalize_code(swapped) is not None:
        a, b = sorted((CODE_ALPHABET.index(raw[pos]), CODE_ALPHABET.index(raw[pos + 1])))
        assert (a, b) == (0, len(CODE_ALPHABET) - 1)


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(min_size=1, max_size=40),
    address=st.text(min_size=1, max_size=80),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    sex=st.sampled_from(["0", "1", "2", "9"]),
    sequence=st.integers(min_value=0, max_value=2**63 - 1),
    services=st.sets(st.sampled_from(["point", "disaster"]), min_size=1),
    rid=st.uuids(version=4),
)
def test_any_record_round_trips_canonically(
    name: str, address: str, birth: date, sex: str, sequence: int, services: set[str], rid: uuid.UUID
) -> None:
    record = build_record(
        record_id=rid,
        program_id="demo",
        consents=[Consent(s, "v1", NOW) for s in services],
        resident=Resident(name, address, birth, sex),
        auth_certificate=b"\x30\x03\x02\x01\x01",
        kiosk=KioskStamp("k-1", NOW, sequence),
        verification=Verification(True, False, True, True),
    )
    signed = SignedRegistration(record, b"\x01" * 256)
    plaintext = signed.to_plaintext()
    assert parse_signed(plaintext) == signed
    assert parse_signed(plaintext).to_plaintext() == plaintext


def test_lone_surrogate_is_a_typed_error(card_key: FakeCardKey) -> None:
    with pytest.raises(RecordFormatError):
        _record(card_key.cert_der, resident=Resident("\ud800", "x", date(1950, 1, 1), "1"))


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(min_size=1, max_size=40),
    address=st.text(min_size=1, max_size=80),
    signature=st.binary(min_size=1, max_size=512),
)
def test_plaintext_is_the_canonical_json_of_the_whole_object(
    name: str, address: str, signature: bytes
) -> None:
    """to_plaintext splices the cached record bytes; the contract is canonical_json of the object."""
    record = _record(b"\x30\x03\x02\x01\x01", resident=Resident(name, address, date(1950, 4, 1), "2"))
    reference = canonical_json(
        {"v": 1, "record": record.to_obj(), "card_signature": base64.b64encode(signature).decode("ascii")}
    )
    assert SignedRegistration(record, signature).to_plaintext() == reference


def test_one_save_encodes_the_record_once(card_key: FakeCardKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build, sign, check and seal (the runner's save) encode the record's JSON a single time."""
    calls: list[object] = []
    encode = registration.canonical_json

    def counting(obj: object) -> bytes:
        calls.append(obj)
        return encode(obj)

    monkeypatch.setattr(registration, "canonical_json", counting)
    record = _record(card_key.cert_der)
    signed = SignedRegistration(record, card_key.sign(record.canonical()))
    verify_card_signature(signed)
    plaintext = signed.to_plaintext()
    assert len(calls) == 1
    assert plaintext == encode(json.loads(plaintext))  # and the result is still canonical


def test_a_replaced_record_is_encoded_afresh(card_key: FakeCardKey) -> None:
    """The cached bytes belong to one frozen record; dataclasses.replace does not carry them over."""
    record = _record(card_key.cert_der)
    before = record.canonical()
    other = replace(record, program_id="utsunomiya-topup")
    assert b'"program_id":"utsunomiya-topup"' in other.canonical()
    assert record.canonical() == before
    assert b'"program_id":"miyagi-point-2025-second"' in before


def test_a_record_queued_before_the_code_change_still_parses(card_key: FakeCardKey) -> None:
    """An upgrade must not lose the outbox: a record sealed by the first release carries the old
    ``XXX-XXX-XXX`` code inside its card-signed bytes, and the parser still takes it."""
    old_code = registration.legacy_code_of(RID.int)
    assert len(old_code) == 11
    record = replace(_record(card_key.cert_der), code=old_code)
    signed = SignedRegistration(record, card_key.sign(record.canonical()))
    parsed = parse_signed(signed.to_plaintext())
    assert parsed.record.code == old_code
    verify_card_signature(parsed)
    # and the resident's printed old receipt can still be typed in
    assert normalize_code(old_code.replace("-", "").lower()) == old_code


def test_a_code_of_another_record_is_still_refused(card_key: FakeCardKey) -> None:
    other = uuid.UUID("00000000-0000-4000-8000-000000000001")
    for code in (registration.legacy_code_of(other.int), registration.registration_code(other)):
        record = replace(_record(card_key.cert_der), code=code)
        signed = SignedRegistration(record, card_key.sign(record.canonical()))
        with pytest.raises(RecordFormatError, match=r"record\.code"):
            parse_signed(signed.to_plaintext())
