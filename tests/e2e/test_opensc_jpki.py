"""OpenSC, an independent client used with real cards, accepts the virtual card (mynacard §8, issue 2 §3).

OpenSC runs with a throw-away HOME and an OPENSC_CONF that disables file caching, so nothing from
an earlier card (or run) is reused. The reader is index 0 = ``Virtual PCD 00 00``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from card.virtual.card import VirtualMyNumberCard

READER = "Virtual PCD 00 00"  # index 0; the reader of the insert_card fixture
InsertCard = Callable[..., AbstractContextManager[VirtualMyNumberCard]]
PKCS11_MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
AUTH_TOKEN = "JPKI (User Authentication PIN)"


@pytest.fixture(autouse=True)
def _opensc_installed() -> None:
    """Skip without OpenSC, except where e2e tests are required (scripts/setup.sh installs it)."""
    if shutil.which("pkcs15-tool") is None:
        if os.environ.get("MADOGUCHI_REQUIRE_E2E") == "1":
            pytest.fail("OpenSC (pkcs15-tool) is not installed and MADOGUCHI_REQUIRE_E2E=1")
        pytest.skip("OpenSC is not installed")


@pytest.fixture
def opensc_env(tmp_path: Path) -> dict[str, str]:
    conf = tmp_path / "opensc.conf"
    conf.write_text("app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n")
    return {"HOME": str(tmp_path), "OPENSC_CONF": str(conf), "PATH": "/usr/bin:/bin", "LANG": "C"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)


def _tries(env: dict[str, str]) -> list[int]:
    result = _run(env, "pkcs15-tool", "--reader", "0", "--list-pins")
    assert result.returncode == 0, result.stderr
    return [int(n) for n in re.findall(r"Tries left\s*:\s*(\d+)", result.stdout)]


def test_opensc_recognises_jpki(insert_card: InsertCard, opensc_env: dict[str, str]) -> None:
    with insert_card("jlis-test"):
        result = _run(opensc_env, "opensc-tool", "--reader", READER, "-n")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "jpki"


def test_read_certificate_01_is_the_auth_certificate(
    insert_card: InsertCard, opensc_env: dict[str, str]
) -> None:
    with insert_card("miyagi-sendai") as card:
        result = _run(opensc_env, "pkcs15-tool", "--reader", "0", "--read-certificate", "01")
        assert result.returncode == 0, result.stderr
        read = x509.load_pem_x509_certificate(result.stdout.encode())
        expected = card.image.auth_certificate.public_bytes(serialization.Encoding.DER)
        assert read.public_bytes(serialization.Encoding.DER) == expected
        reads = {(e.ap, e.ef) for e in card.access_log if e.ins == 0xB0 and e.sw == 0x9000}
        assert ("jpki", 0x000A) in reads


@pytest.mark.parametrize(
    ("persona", "expected"), [("jlis-test", [3, 5]), ("miyagi-one-try", [1, 5]), ("miyagi-blocked", [0, 5])]
)
def test_list_pins_reports_the_tries_left(
    insert_card: InsertCard, opensc_env: dict[str, str], persona: str, expected: list[int]
) -> None:
    with insert_card(persona):
        assert _tries(opensc_env) == expected


def test_pkcs11_login_sign_verifies_with_the_auth_certificate(
    insert_card: InsertCard, opensc_env: dict[str, str], tmp_path: Path
) -> None:
    message = tmp_path / "message.bin"
    message.write_bytes(b"madoguchi: signed through OpenSC PKCS#11")
    signature = tmp_path / "signature.bin"
    with insert_card("jlis-test") as card:
        result = _run(
            opensc_env, "pkcs11-tool", "--module", PKCS11_MODULE, "--token-label", AUTH_TOKEN,
            "--login", "--pin", card.persona.auth_pin, "--sign", "--mechanism", "SHA256-RSA-PKCS",
            "--id", "01", "--input-file", str(message), "--output-file", str(signature),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        public = card.image.auth_certificate.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature.read_bytes(), message.read_bytes(), padding.PKCS1v15(), hashes.SHA256())
        signs = [e for e in card.access_log if e.ins == 0x2A]
        assert [(e.ap, e.ef, e.p1, e.sw) for e in signs] == [("jpki", 0x0017, 0x00, 0x9000)]


@pytest.mark.parametrize(("persona", "before", "after"), [("jlis-test", 3, 2), ("miyagi-one-try", 1, 0)])
def test_wrong_pin_through_opensc_decrements_as_the_persona_says(
    insert_card: InsertCard, opensc_env: dict[str, str], persona: str, before: int, after: int
) -> None:
    with insert_card(persona) as card:
        assert card.persona.tries_left.auth == before
        result = _run(
            opensc_env, "pkcs15-tool", "--reader", "0", "--verify-pin", "--auth-id", "01", "--pin", "0000"
        )
        assert result.returncode != 0
        assert card.tries_left("jpki", 0x0018) == after
        assert _tries(opensc_env)[0] == after
        verifies = [e.sw for e in card.access_log if e.ins == 0x20 and e.sw not in range(0x63C0, 0x63D0)]
        assert verifies == []  # OpenSC's only failing VERIFY answered 63Cx, never 6984 here
