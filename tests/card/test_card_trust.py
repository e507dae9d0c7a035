"""Trust store loading and the four checks, on synthetic keys (verified / invalid / unknown CA / expired)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from card_pki import make_cert, make_cvc, rsa_key, rsa_tlvs, sign
from card_vectors import BASIC_FOUR_104
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card import parsers, tlv
from card.errors import TrustConfigError
from card.trust import (
    TrustStatus,
    TrustStore,
    card_signature_valid,
    load_trust_store,
    verify_auth_chain,
    verify_cvc,
    verify_genuine_card,
    verify_integrity,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC)
CA_ID = b"9999993" + b"\x08\x05" + b"001" + bytes(4)
AP_ID = b"9999933" + b"\x08\x05" + b"001" + bytes(4)


def _store(**over: object) -> TrustStore:
    root = make_cert("JPKI root", rsa_key("root"), "JPKI root", rsa_key("root"), ca=True)
    defaults: dict[str, object] = {
        "jpki_auth_roots": (root,),
        "cvc_ca_keys": {CA_ID: rsa_key("cvc-ca").public_key()},
    }
    defaults.update(over)
    return TrustStore(**defaults)  # type: ignore[arg-type]


def test_auth_chain_statuses() -> None:
    store = _store()
    good = make_cert("leaf", rsa_key("leaf"), "JPKI root", rsa_key("root"))
    assert verify_auth_chain(good, store, NOW) is TrustStatus.VERIFIED
    forged = make_cert("leaf", rsa_key("leaf"), "JPKI root", rsa_key("forger"))
    assert verify_auth_chain(forged, store, NOW) is TrustStatus.INVALID
    stranger = make_cert("leaf", rsa_key("leaf"), "Other root", rsa_key("forger"))
    assert verify_auth_chain(stranger, store, NOW) is TrustStatus.UNKNOWN_CA
    old = make_cert(
        "leaf", rsa_key("leaf"), "JPKI root", rsa_key("root"),
        not_before=NOW - dt.timedelta(days=900), not_after=NOW - dt.timedelta(days=1),
    )  # fmt: skip
    assert verify_auth_chain(old, store, NOW) is TrustStatus.EXPIRED
    assert verify_auth_chain(good, _store(jpki_auth_roots=()), NOW) is TrustStatus.UNKNOWN_CA


def test_key_usage_must_allow_digital_signature() -> None:
    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(sign, False, not sign, False, False, False, False, False, False)

    ok = make_cert("leaf", rsa_key("leaf"), "JPKI root", rsa_key("root"), key_usage=usage(True))
    assert verify_auth_chain(ok, _store(), NOW) is TrustStatus.VERIFIED
    bad = make_cert("leaf", rsa_key("leaf"), "JPKI root", rsa_key("root"), key_usage=usage(False))
    assert verify_auth_chain(bad, _store(), NOW) is TrustStatus.INVALID


def test_root_generations_are_picked_by_signature() -> None:
    # Two roots with one DN (J-LIS generations, §4.4): the second one signed the leaf.
    gen1 = make_cert("JPKI root", rsa_key("root"), "JPKI root", rsa_key("root"), ca=True)
    gen2 = make_cert("JPKI root", rsa_key("root2"), "JPKI root", rsa_key("root2"), ca=True)
    leaf = make_cert("leaf", rsa_key("leaf"), "JPKI root", rsa_key("root2"))
    assert verify_auth_chain(leaf, TrustStore((gen1, gen2)), NOW) is TrustStatus.VERIFIED


def test_card_signature() -> None:
    cert = make_cert("leaf", rsa_key("leaf"), "JPKI root", rsa_key("root"))
    sig = sign(rsa_key("leaf"), b"challenge")
    assert card_signature_valid(cert, b"challenge", sig)
    assert not card_signature_valid(cert, b"challenge!", sig)
    assert not card_signature_valid(cert, b"challenge", sig[:-1] + b"\x00")


def _card_info_records(
    ca_key_label: str = "cvc-ca", issuer: bytes = CA_ID
) -> tuple[parsers.Cvc, parsers.IntegrityRecord, parsers.ApPublicKey]:
    cvc_raw = make_cvc(issuer, AP_ID, rsa_key("cvc"), rsa_key(ca_key_label))
    info = parsers.parse_basic_four(BASIC_FOUR_104)
    signed = tlv.encode(0xDF31, hashlib.sha256(b"x").digest()) + tlv.encode(0xDF32, info.digest)
    integrity = tlv.encode(0xFF30, signed + tlv.encode(0xDF33, sign(rsa_key("cvc"), signed)))
    df51 = tlv.encode(0xDF51, rsa_tlvs(rsa_key("ap").public_key()))
    ap = tlv.encode(0xFF50, df51 + tlv.encode(0xDF52, sign(rsa_key("cvc"), df51)))
    return (
        parsers.parse_cvc(cvc_raw),
        parsers.parse_integrity_record(integrity),
        parsers.parse_ap_public_key(ap),
    )


def test_integrity_and_genuineness_verified() -> None:
    cvc, integrity, ap = _card_info_records()
    store = _store()
    info = parsers.parse_basic_four(BASIC_FOUR_104)
    assert verify_cvc(cvc, store) is TrustStatus.VERIFIED
    assert verify_integrity(integrity, cvc, info, store) is TrustStatus.VERIFIED
    challenge = b"n" * 32
    assert (
        verify_genuine_card(cvc, ap, challenge, sign(rsa_key("ap"), challenge), store) is TrustStatus.VERIFIED
    )
    assert (
        verify_genuine_card(cvc, ap, challenge, sign(rsa_key("cvc"), challenge), store) is TrustStatus.INVALID
    )


def test_forged_cvc_is_invalid_or_unknown() -> None:
    info = parsers.parse_basic_four(BASIC_FOUR_104)
    forged, integrity, _ap = _card_info_records(ca_key_label="forger")  # right key id, wrong key
    assert verify_integrity(integrity, forged, info, _store()) is TrustStatus.INVALID
    unknown, integrity, _ap = _card_info_records(issuer=b"1234567" + bytes(9))
    assert verify_integrity(integrity, unknown, info, _store()) is TrustStatus.UNKNOWN_CA


def test_basic_four_not_matching_df32_is_invalid() -> None:
    cvc, integrity, _ap = _card_info_records()
    other = parsers.parse_basic_four(BASIC_FOUR_104[:-1] + b"2")
    assert verify_integrity(integrity, cvc, other, _store()) is TrustStatus.INVALID


def test_load_demo_and_production_trust_files() -> None:
    production = load_trust_store(ROOT / "config" / "trust" / "production.toml")
    assert production.jpki_auth_roots == ()
    assert list(production.cvc_ca_keys) == [b"5000033\x08\x05001\x00\x00\x00\x00"]
    if (ROOT / "config" / "trust" / "test" / "jpki-auth-root.pem").exists():
        demo = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
        assert len(demo.jpki_auth_roots) == 1
        assert b"9999993\x08\x05001\x00\x00\x00\x00" in demo.cvc_ca_keys
        # Production never trusts the test hierarchy.
        assert not set(demo.cvc_ca_keys) & set(production.cvc_ca_keys)


def test_trust_file_relative_paths_and_der_roots(tmp_path: Path) -> None:
    root = make_cert("JPKI root", rsa_key("root"), "JPKI root", rsa_key("root"), ca=True)
    (tmp_path / "anchors").mkdir()
    (tmp_path / "anchors" / "root.der").write_bytes(root.public_bytes(Encoding.DER))
    pem = rsa_key("cvc-ca").public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "anchors" / "ca.pem").write_bytes(pem)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        '[trust]\njpki_auth_roots = ["anchors/root.der"]\n'
        f'[[trust.cvc_ca]]\nkey_id = "{CA_ID.hex()}"\npublic_key = "anchors/ca.pem"\n'
    )
    store = load_trust_store(cfg)
    assert store.jpki_auth_roots[0] == root
    assert CA_ID in store.cvc_ca_keys


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[trust]\njpki_auth_roots = 'x.pem'\n",
        "[trust]\njpki_auth_roots = ['missing.pem']\n",
        "[trust]\n[[trust.cvc_ca]]\nkey_id = 'zz'\npublic_key = 'k.pem'\n",
        "[trust]\n[[trust.cvc_ca]]\nkey_id = '00'\npublic_key = 'k.pem'\n",
        "not toml [",
    ],
)
def test_bad_trust_configuration_is_typed(tmp_path: Path, text: str) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(text)
    with pytest.raises(TrustConfigError):
        load_trust_store(cfg)
