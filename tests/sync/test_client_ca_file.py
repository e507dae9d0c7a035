"""``[server] ca_file``: the sync client verifies a server signed by a prefecture's private CA.

A real TLS server on loopback with a throw-away CA made here: with the bundle the client talks to
it; without it (httpx's default trust store) or with another CA's bundle the request fails with the
client's typed transport error naming TLS. A missing or broken bundle stops the kiosk when the
profile is loaded (``SettingsError``), before any connection.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from synctest import KIOSK_ID

from kiosk.errors import SettingsError
from kiosk.settings import load_settings
from sync.client import SyncClient
from sync.errors import SyncCertificateError, SyncTransportError

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Pki:
    """A throw-away CA (PEM file) and a server certificate + key for 127.0.0.1 signed by it."""

    ca_pem: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(directory: Path, label: str) -> Pki:
    """A CA and a leaf for IP 127.0.0.1 (what hostname checking compares against)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} private CA"))
        .issuer_name(_name(f"{label} private CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    pki.ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


class _Health(http.server.BaseHTTPRequestHandler):
    """Answers ``GET /v1/health`` like the central server."""

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok"}).encode()
        code = 200 if self.path == "/v1/health" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki", "Prefecture")


@pytest.fixture
def https_url(pki: Pki) -> Iterator[str]:
    """``https://127.0.0.1:PORT`` served with the private CA's certificate, in a thread."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _profile(tmp_path: Path, url: str, ca_line: str = "") -> Path:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f"""[kiosk]
id = "{KIOSK_ID}"
mode = "staff"
data_dir = "data"
language = "ja"
program = "demo"
programs_dir = "programs"

[server]
url = "{url}"
{ca_line}
""",
        encoding="utf-8",
    )
    return cfg


def _client(url: str, tls: ssl.SSLContext | None) -> SyncClient:
    return SyncClient(url, kiosk_id=KIOSK_ID, tls_context=tls, timeout=httpx.Timeout(5.0))


# -- over real TLS -----------------------------------------------------------------------------


def test_the_profiles_ca_file_verifies_a_private_ca_server(tmp_path: Path, pki: Pki, https_url: str) -> None:
    # Relative to the profile, like every other path in it.
    cfg = _profile(tmp_path, https_url, 'ca_file = "pki/ca.pem"')
    settings = load_settings(cfg)
    assert settings.server.ca_file == pki.ca_pem.resolve()
    assert settings.server.tls is not None
    with _client(settings.server.url, settings.server.tls) as client:
        assert client.health() is True


def test_without_ca_file_the_private_ca_server_is_refused(tmp_path: Path, https_url: str) -> None:
    settings = load_settings(_profile(tmp_path, https_url))
    assert (settings.server.ca_file, settings.server.tls) == (None, None)
    with (
        _client(settings.server.url, settings.server.tls) as client,
        pytest.raises(SyncCertificateError) as err,
    ):
        client.health()
    assert "TLS" in str(err.value)
    assert isinstance(err.value.__cause__, httpx.ConnectError)


def test_another_cas_bundle_is_refused(tmp_path: Path, https_url: str) -> None:
    """Only the CAs in the bundle are trusted: a bundle of the wrong CA does not verify the server."""
    other = make_pki(tmp_path / "other", "Other prefecture")
    cfg = _profile(tmp_path, https_url, f'ca_file = "{other.ca_pem}"')
    with (
        _client(https_url, load_settings(cfg).server.tls) as client,
        pytest.raises(SyncCertificateError) as err,
    ):
        client.health()
    assert "TLS" in str(err.value)


def test_a_closed_port_is_a_plain_network_error_not_tls(tmp_path: Path, pki: Pki) -> None:
    """The TLS wording is kept for certificate failures: an unreachable server says network error."""
    cfg = _profile(tmp_path, "https://127.0.0.1:1", 'ca_file = "pki/ca.pem"')
    tls = load_settings(cfg).server.tls
    with _client("https://127.0.0.1:1", tls) as client, pytest.raises(SyncTransportError) as err:
        client.health()
    assert "network error" in str(err.value)
    assert "TLS" not in str(err.value)
    assert not isinstance(err.value, SyncCertificateError)


# -- a broken bundle stops the kiosk at start ------------------------------------------------------


@pytest.mark.parametrize(
    ("ca_file", "content", "reason"),
    [
        ("missing.pem", None, "file not found"),
        ("empty.pem", b"", "no PEM certificate found"),
        ("garbage.pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "no PEM"),
        ("key-only.pem", "key", "no PEM certificate found"),
        (".", None, "cannot read"),
    ],
)
def test_a_missing_or_broken_ca_file_is_a_settings_error(
    tmp_path: Path, pki: Pki, ca_file: str, content: bytes | str | None, reason: str
) -> None:
    if content == "key":
        (tmp_path / ca_file).write_bytes(pki.server_key.read_bytes())
    elif isinstance(content, bytes):
        (tmp_path / ca_file).write_bytes(content)
    cfg = _profile(tmp_path, "https://central.example.jp", f'ca_file = "{ca_file}"')
    with pytest.raises(SettingsError) as err:
        load_settings(cfg)
    assert err.value.key == "server.ca_file"
    assert reason in err.value.reason


@pytest.mark.parametrize("value", ['""', "42"])
def test_ca_file_must_be_a_non_empty_string(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(_profile(tmp_path, "https://central.example.jp", f"ca_file = {value}"))
    assert err.value.key == "server.ca_file"


def test_madoguchi_sync_refuses_to_start_with_a_missing_ca_file(tmp_path: Path) -> None:
    """The command stops at the profile (exit 2, the key named), before any enrollment or upload."""
    cfg = _profile(tmp_path, "https://central.example.jp", 'ca_file = "nowhere/ca.pem"')
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "sync", "--once", "--config", str(cfg)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "SettingsError" in done.stderr
    assert "server.ca_file" in done.stderr
    assert "file not found" in done.stderr


def test_uploader_keeps_the_records_and_alerts_on_a_certificate_failure(
    tmp_path: Path, https_url: str
) -> None:
    """A server the kiosk cannot verify gets nothing; the records stay queued with an alert code."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from synctest import enroll_offline, new_id

    from sync.outbox import OUTBOX_FILE, Outbox, RecordState
    from sync.uploader import Uploader

    store = enroll_offline(tmp_path / "kiosk", X25519PrivateKey.generate(), https_url)
    ids = [new_id() for _ in range(3)]
    with Outbox.open(tmp_path / "kiosk" / OUTBOX_FILE, sealer=store.sealer(KIOSK_ID)) as outbox:
        for rid in ids:
            outbox.enqueue(b"sealed test record", record_id=rid, program_id="demo")
        with _client(https_url, None) as client:
            report = Uploader(outbox, client).run_once(ignore_schedule=True)
        assert report.error == "SyncCertificateError"
        assert "tls_certificate" in report.alerts
        assert outbox.record_ids([RecordState.PENDING]) == ids
        assert outbox.status().last_errors == {"tls_certificate": 3}
