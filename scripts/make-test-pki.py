#!/usr/bin/env python3
"""Make the project's TEST J-LIS hierarchy once; the output is committed (see card/virtual/testpki).

Creates what is missing (``--force`` re-creates everything, which changes every test certificate):

- card/virtual/testpki/jpki-auth-root.{pem,TEST-ONLY.key.pem}   self-signed, O=JPKI-TEST
- card/virtual/testpki/jpki-sign-root.{pem,TEST-ONLY.key.pem}   self-signed, O=JPKI-TEST
- card/virtual/testpki/cvc-ca-9999993.TEST-ONLY.key.pem          CVC CA key "9999993" 08 05 "001"
- card/virtual/testpki/keys/<persona>.TEST-ONLY.pem              5 RSA-2048 keys per shipped persona
- card/virtual/testpki/keys/spare-NN.TEST-ONLY.pem               key sets for other persona files
- config/trust/test/{jpki-auth-root.pem,jpki-sign-root.pem,cvc-ca-9999993.pem}   public anchors

Run with the project venv from the checkout root: ``.venv/bin/python scripts/make-test-pki.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from card.virtual import testpki  # noqa: E402
from card.virtual.persona import list_personas  # noqa: E402

TRUST_DIR = ROOT / "config" / "trust" / "test"
HEADER = (
    "TEST-ONLY key material of the Madoguchi test J-LIS hierarchy (O=JPKI-TEST).\n"
    "It is public: anything it signs proves nothing. Never use it outside tests and demos.\n"
)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def self_signed_root(key: rsa.RSAPrivateKey, name: x509.Name, serial: int) -> x509.Certificate:
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2044, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def write(path: Path, data: bytes, force: bool) -> bool:
    if path.exists() and (not force or path.read_bytes() == data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"wrote {path.relative_to(ROOT)}")
    return True


def make_root(stem: str, name: x509.Name, serial: int, force: bool) -> None:
    cert_path = testpki.HERE / f"{stem}.pem"
    key_path = testpki.HERE / f"{stem}.TEST-ONLY.key.pem"
    if force or not (cert_path.exists() and key_path.exists()):
        key = new_key()
        write(key_path, HEADER.encode() + key_pem(key), True)
        write(cert_path, self_signed_root(key, name, serial).public_bytes(serialization.Encoding.PEM), True)
    write(TRUST_DIR / f"{stem}.pem", cert_path.read_bytes(), True)


def make_key_set(path: Path, force: bool) -> None:
    if path.exists() and not force:
        return
    blocks = [HEADER.encode()]
    for role in testpki.CARD_KEY_ROLES:
        blocks.append(f"role: {role}\n".encode() + key_pem(new_key()))
    write(path, b"".join(blocks), True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="re-create everything")
    args = parser.parse_args()

    make_root("jpki-auth-root", testpki.auth_root_name(), 0x7E570001, args.force)
    make_root("jpki-sign-root", testpki.sign_root_name(), 0x7E570002, args.force)

    cvc_path = testpki.HERE / "cvc-ca-9999993.TEST-ONLY.key.pem"
    if args.force or not cvc_path.exists():
        write(cvc_path, HEADER.encode() + key_pem(new_key()), True)
    cvc_key = serialization.load_pem_private_key(cvc_path.read_bytes(), password=None)
    public = cvc_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write(TRUST_DIR / "cvc-ca-9999993.pem", public, True)

    for persona_id in list_personas():
        make_key_set(testpki.KEYS_DIR / f"{persona_id}.TEST-ONLY.pem", args.force)
    for slot in range(testpki.SPARE_KEY_SETS):
        make_key_set(testpki.KEYS_DIR / f"spare-{slot:02d}.TEST-ONLY.pem", args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
