"""``madoguchi self-test``: real parts wherever the check talks to one.

The command runs as a real process against a real loopback server (tests/sync/toyserver.py opens
every envelope), a real SQLite outbox (intact, then damaged), real pcscd + vpcd with the virtual My
Number Card on a reader, and libpcsclite pointed at a socket where no pcscd listens. The parsers
(ATR, lpstat, /proc/asound/cards) get unit tests with their exact inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from kiosk.selftest import (
    CheckResult,
    Status,
    TypeBVerdict,
    assess_type_b,
    exit_code,
    is_type_b_atr,
    run_checks,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from server.conftest import start_server, stop_server
from toyserver import ToyServer

REPO = Path(__file__).resolve().parents[2]
TEST_TRUST = REPO / "config" / "trust" / "test"
VIRTUAL_ATR = bytes.fromhex("3B888001000005E0B381A1007F")


def write_profile(tmp_path: Path, url: str, *, mode: str = "staff", roots: bool = True) -> Path:
    """A kiosk profile with the project's test trust anchors (or none) and its data in tmp_path."""
    programs = tmp_path / "programs"
    programs.mkdir(exist_ok=True)
    (programs / "demo.toml").write_bytes((REPO / "config" / "programs" / "demo.toml").read_bytes())
    auth_roots = f'["{TEST_TRUST / "jpki-auth-root.pem"}"]' if roots else "[]"
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f"""[kiosk]
id = "selftest-kiosk-01"
mode = "{mode}"
data_dir = "data"
language = "ja"
program = "demo"
programs_dir = "programs"

[server]
url = "{url}"

[trust]
jpki_auth_roots = {auth_roots}

[[trust.cvc_ca]]
key_id = "39393939393933080530303100000000"
public_key = "{TEST_TRUST / "cvc-ca-9999993.pem"}"
""",
        encoding="utf-8",
    )
    return cfg


def madoguchi(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        check=False,
    )


def self_test(cfg: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, dict[str, object]]]:
    done = madoguchi("self-test", "--json", "--config", str(cfg), env=env)
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is (done.returncode == 0)
    return done.returncode, {c["name"]: c for c in report["checks"]}


def enroll_and_queue(cfg: Path, url: str, count: int, token: str = "tok") -> Path:
    """Enroll through the real command, then seal ``count`` records into the real outbox."""
    from sync.device_keys import DeviceStore
    from sync.outbox import OUTBOX_FILE, Outbox

    done = madoguchi("enroll", "--server", url, "--token", "-", "--config", str(cfg), stdin=token + "\n")
    assert done.returncode == 0, done.stderr
    data = cfg.parent / "data"
    with Outbox.open(data / OUTBOX_FILE, sealer=DeviceStore(data).sealer("selftest-kiosk-01")) as box:
        for index in range(count):
            box.enqueue(b"{}", record_id=f"00000000-0000-4000-8000-{index:012d}", program_id="demo")
    return data / OUTBOX_FILE


def test_enrolled_kiosk_against_the_reference_server(tmp_path: Path) -> None:
    """The real reference server (uvicorn on loopback, SQLite): enrolment, health, the clock offset
    from its Date header, and the heartbeat, which ``madoguchi server devices`` then lists."""
    from sync.server.devices import issue_token

    running, server, thread = start_server(tmp_path / "srv", f"sqlite:///{tmp_path / 'server.sqlite3'}")
    try:
        cfg = write_profile(tmp_path, running.url)
        code, before = self_test(cfg)
        assert before["enrolled"]["status"] == "fail"  # not yet: exit 1
        assert code == 1
        assert before["outbox"]["status"] == "warn"
        assert before["heartbeat"]["status"] == "skip"

        token = issue_token(running.ctx.db, "selftest-kiosk-01")
        outbox = enroll_and_queue(cfg, running.url, 5, token=token)
        _, checks = self_test(cfg)
        devices = madoguchi(
            "server", "devices", "--data", str(running.data_dir), "--db", running.ctx.options.db_url
        )
    finally:
        stop_server(running, server, thread)
    assert checks["profile"]["status"] == "ok"
    assert checks["trust"]["status"] == "ok"
    assert checks["trust"]["data"] == {"jpki_auth_roots": 1, "cvc_ca_keys": 1}
    assert checks["enrolled"]["status"] == "ok"
    assert checks["enrolled"]["data"]["server"] == running.url
    server_check = checks["server"]
    assert server_check["status"] == "ok", server_check
    offset = server_check["data"]["clock_offset_s"]
    assert isinstance(offset, float)
    assert abs(offset) < 2.0  # Date has a one-second resolution; same clock
    assert checks["outbox"]["status"] == "ok"
    assert checks["outbox"]["data"]["path"] == str(outbox)
    assert checks["disk"]["status"] in ("ok", "warn")
    assert checks["disk"]["data"]["free_bytes"] > 0
    assert checks["heartbeat"]["status"] == "ok", checks["heartbeat"]
    assert checks["heartbeat"]["data"]["queue_depth"] == 5

    assert devices.returncode == 0, devices.stderr
    listed = {d["device_id"]: d for d in json.loads(devices.stdout)}
    heartbeat = listed["selftest-kiosk-01"]["heartbeat"]
    assert heartbeat["queue_depth"] == 5
    assert heartbeat["oldest_queued_s"] is not None
    assert heartbeat["reader_state"] == checks_reader_state(checks)
    first_failure = (
        next(name for name, c in checks.items() if c["status"] == "fail")
        if any(c["status"] == "fail" for c in checks.values())
        else None
    )
    assert heartbeat["last_error"] == (f"selftest.{first_failure}" if first_failure else None)


def checks_reader_state(checks: dict[str, dict[str, object]]) -> str:
    """The reader state the heartbeat must carry, from the pcscd and readers checks."""
    if checks["pcscd"]["status"] == "fail":
        return "pcscd_down"
    if checks["readers"]["status"] == "fail":
        return "no_reader"
    present = [c for n, c in checks.items() if n.startswith("reader") and n != "readers" and c["data"]["atr"]]
    return "card_present" if present else "ready"


def test_server_down_fails(tmp_path: Path) -> None:
    with ToyServer(X25519PrivateKey.generate()) as srv:
        cfg = write_profile(tmp_path, srv.url)
        enroll_and_queue(cfg, srv.url, 1)
    # The server is gone now: the pinned URL no longer answers.
    code, checks = self_test(cfg)
    assert checks["server"]["status"] == "fail"
    assert "SyncTransportError" in str(checks["server"]["detail"])
    assert code == 1


def test_damaged_outbox_fails_integrity_check(tmp_path: Path) -> None:
    with ToyServer(X25519PrivateKey.generate()) as srv:
        cfg = write_profile(tmp_path, srv.url)
        outbox = enroll_and_queue(cfg, srv.url, 400)
        _, checks = self_test(cfg)
        assert checks["outbox"]["status"] == "ok"
        # Overwrite the middle of the file (b-tree pages, not the header): integrity_check sees it.
        size = outbox.stat().st_size
        with outbox.open("r+b") as handle:
            handle.seek(size // 2 - (size // 2) % 4096)
            handle.write(b"\xff" * 4096 * 3)
        code, checks = self_test(cfg)
    assert checks["outbox"]["status"] == "fail", checks["outbox"]
    assert code == 1


def test_no_trust_roots_fails_and_a_broken_profile_skips_the_rest(tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, "http://127.0.0.1:9", roots=False)
    _, checks = self_test(cfg)
    assert checks["trust"]["status"] == "fail"
    assert "jpki_auth_roots" in str(checks["trust"]["detail"])

    cfg.write_text("[kiosk]\nid = 'x'\n", encoding="utf-8")
    code, checks = self_test(cfg)
    assert code == 1
    assert checks["profile"]["status"] == "fail"
    for name in ("trust", "enrolled", "server", "outbox", "disk"):
        assert checks[name]["status"] == "skip", name


class _DownPcsc:
    """A PC/SC port whose daemon is gone (the real case runs in test_deb_package: no pcscd there)."""

    def list_readers(self) -> list[str]:
        from card.errors import PcscUnavailableError

        raise PcscUnavailableError("PC/SC service unavailable: no service")

    def reader_states(self, readers: object) -> list[object]:
        raise AssertionError("not reached")

    def close(self) -> None:
        pass


def test_pcscd_unreachable_is_a_failure(tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, "http://127.0.0.1:9")
    results = {r.name: r for r in run_checks(cfg, pcsc_factory=_DownPcsc)}
    assert results["pcscd"].status is Status.FAIL
    assert results["readers"].status is Status.SKIP
    assert exit_code(results.values()) == 1


@pytest.mark.e2e
@pytest.mark.timeout(420)  # vpcd_lock waits up to 300 s for another test run to release the reader
def test_real_pcscd_reader_with_the_virtual_card(tmp_path: Path) -> None:
    """pcscd + vpcd: with the virtual My Number Card on "Virtual PCD 00 00" the reader is proved
    to talk type B (the card's ATR), the empty second reader is judged by its name."""
    from card.errors import ReaderError
    from card.pcsc import PcscContext
    from card.virtual.card import VirtualMyNumberCard
    from card.virtual.persona import load_persona
    from card.virtual.vpcd import VpcdCard
    from kiosk.demo_support import vpcd_lock

    try:
        readers = PcscContext().list_readers()
    except ReaderError:
        readers = []
    if not any(r.startswith("Virtual PCD") for r in readers):
        if os.environ.get("MADOGUCHI_REQUIRE_E2E") == "1":
            pytest.fail("pcscd with vsmartcard-vpcd is not running (scripts/setup.sh starts it)")
        pytest.skip("pcscd with vsmartcard-vpcd is not running")
    cfg = write_profile(tmp_path, "http://127.0.0.1:9")
    with vpcd_lock(), VpcdCard(VirtualMyNumberCard(load_persona("miyagi-sendai"))):
        ctx = PcscContext()
        try:
            deadline = time.monotonic() + 10
            while not ctx.reader_states(["Virtual PCD 00 00"])[0].present:
                assert time.monotonic() < deadline, "pcscd never saw the virtual card"
                time.sleep(0.05)
        finally:
            ctx.close()
        results = {r.name: r for r in run_checks(cfg)}
    assert results["pcscd"].status is Status.OK
    by_name = {r.data.get("name"): r for r in results.values() if r.name.startswith("reader") and r.data}
    card_reader = by_name["Virtual PCD 00 00"]
    assert card_reader.status is Status.OK
    assert card_reader.data["type_b"] == TypeBVerdict.CARD_ANSWERED.value
    assert card_reader.data["atr"] == VIRTUAL_ATR.hex().upper()
    assert by_name["Virtual PCD 00 01"].data["type_b"] == TypeBVerdict.KNOWN_READER.value


def test_type_b_atr() -> None:
    assert is_type_b_atr(VIRTUAL_ATR)
    broken_tck = VIRTUAL_ATR[:-1] + bytes([VIRTUAL_ATR[-1] ^ 1])
    assert not is_type_b_atr(broken_tck)
    type_a_iso_dep = bytes.fromhex("3B8180018080")  # ISO 14443-4 type A, no historical bytes
    assert not is_type_b_atr(type_a_iso_dep)
    felica = bytes.fromhex("3B8F8001804F0CA0000003060B00F0000000006F")  # PC/SC part 3 storage card
    assert not is_type_b_atr(felica)
    assert assess_type_b("SONY FeliCa RC-S300/P 00 00", None) is TypeBVerdict.KNOWN_READER
    assert assess_type_b("SONY FeliCa RC-S300/P 00 00", felica) is TypeBVerdict.OTHER_CARD
    assert assess_type_b("Acme Reader 00 00", None) is TypeBVerdict.UNKNOWN
    assert assess_type_b("Acme Reader 00 00", VIRTUAL_ATR) is TypeBVerdict.CARD_ANSWERED


def _lpstat(queues: str, default: str, rc: int = 0):  # type: ignore[no-untyped-def]
    def run(argv):  # type: ignore[no-untyped-def]
        out = queues if argv[1] == "-e" else default
        return subprocess.CompletedProcess(list(argv), rc, out, "")

    return run


def test_printer_and_audio_parsing(tmp_path: Path) -> None:
    cfg = write_profile(tmp_path, "http://127.0.0.1:9", mode="self")
    cards = tmp_path / "cards"
    cards.write_text(" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n   HDA Intel PCH at 0xf7f10000\n")
    checks = {
        r.name: r
        for r in run_checks(
            cfg, asound_cards=cards, run=_lpstat("receipt\nA4\n", "system default destination: receipt\n")
        )
    }
    if checks["printer"].detail.startswith("no CUPS client"):
        pytest.fail("lpstat is not installed: scripts/setup.sh installs cups")
    assert checks["printer"].status is Status.OK
    assert checks["printer"].data == {"queues": ["receipt", "A4"], "default": "receipt"}
    assert checks["audio"].status is Status.OK

    cards.write_text("--- no soundcards ---\n")
    checks = {
        r.name: r
        for r in run_checks(cfg, asound_cards=cards, run=_lpstat("", "no system default destination\n"))
    }
    assert checks["printer"].status is Status.WARN
    assert checks["audio"].status is Status.FAIL  # self mode: the card-left-behind alarm needs sound


def test_exit_code_follows_failures_only() -> None:
    ok = CheckResult("a", Status.OK, "")
    assert exit_code([ok, CheckResult("b", Status.WARN, ""), CheckResult("c", Status.SKIP, "")]) == 0
    assert exit_code([ok, CheckResult("d", Status.FAIL, "")]) == 1
