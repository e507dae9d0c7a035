"""Card-session benchmark: APDUs, bytes and time before and after the PIN, over real pcscd + vpcd.

Compares, in one run and on one virtual card (persona ``miyagi-sendai`` by default):

- ``madoguchi``: :class:`card.session.MyNumberCardSession` (prefetch, then VERIFY/READ by SFI, one
  extended read per record, signature with the key named in P2, each AP selected once after the PIN);
- ``naive``: the same data and checks done the plain way: SELECT every EF, a 7-byte header probe,
  then 256-byte chunks, nothing prefetched (only the card identification before the PIN);
- ``plain_ab``: protocol §2.5 flows A + B literally (token, tries, VERIFY, sign, auth certificate,
  basic four) with select-header-chunks; what "a plain reader" in the issue refers to;
- ``opensc``: ``pkcs15-tool --read-certificate 01`` and ``pkcs11-tool --login --sign`` against the
  same card, counted from the virtual card's own access log (APDUs) and a byte counter on it.

Modelled time on a real card (stated assumptions, not measurements): every APDU costs a fixed
turnaround (reader + PC/SC + card command processing), every C-APDU and R-APDU byte crosses the
air at 212 kbit/s, and every RSA-2048 private-key operation on the card costs a fixed time.

Prints one JSON object. Needs pcscd with vsmartcard-vpcd; holds ``/tmp/madoguchi-vpcd.lock``.
Run: ``.venv/bin/python bench/card_session.py [--persona ID] [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from card.apdu import ApduProtocol, CommandApdu, TrafficStats  # noqa: E402
from card.constants import AID  # noqa: E402
from card.pcsc import PcscContext  # noqa: E402
from card.session import MyNumberCardSession  # noqa: E402
from card.signing import sha256_digest_info  # noqa: E402
from card.trust import load_trust_store  # noqa: E402
from card.virtual.card import VirtualMyNumberCard  # noqa: E402
from card.virtual.persona import load_persona  # noqa: E402
from card.virtual.vpcd import DEFAULT_PORT, VpcdCard  # noqa: E402
from kiosk.demo_support import vpcd_lock  # noqa: E402

READER = "Virtual PCD 00 00"
PKCS11_MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

#: The real-card model (assumptions, see the module docstring and docs/card-layer.md).
APDU_TURNAROUND_MS = 10.0
AIR_BITRATE_BPS = 212_000
RSA2048_SIGN_MS = 200.0
MODEL = {
    "apdu_turnaround_ms": APDU_TURNAROUND_MS,
    "air_bitrate_bps": AIR_BITRATE_BPS,
    "rsa2048_sign_ms": RSA2048_SIGN_MS,
    "description": (
        "time = APDUs x turnaround + (C-APDU + R-APDU bytes) x 8 / bitrate + card signatures x RSA time"
    ),
}


def modelled_ms(apdus: int, byte_count: int, signatures: int) -> float:
    """The real-card model."""
    return round(
        apdus * APDU_TURNAROUND_MS + byte_count * 8 / AIR_BITRATE_BPS * 1000 + signatures * RSA2048_SIGN_MS, 1
    )


@dataclass
class Phase:
    apdus: int
    bytes_sent: int
    bytes_received: int
    signatures: int
    wall_ms: float

    def as_json(self) -> dict[str, Any]:
        total = self.bytes_sent + self.bytes_received
        return {
            "apdus": self.apdus,
            "bytes": total,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "card_signatures": self.signatures,
            "wall_ms_vpcd": round(self.wall_ms, 2),
            "modelled_ms_real_card": modelled_ms(self.apdus, total, self.signatures),
        }


def _phase(stats: TrafficStats, signatures: int, wall_s: float) -> Phase:
    return Phase(stats.apdus, stats.bytes_sent, stats.bytes_received, signatures, wall_s * 1000)


def _median(phases: list[Phase]) -> Phase:
    first = phases[0]
    return Phase(
        first.apdus,
        first.bytes_sent,
        first.bytes_received,
        first.signatures,
        statistics.median(p.wall_ms for p in phases),
    )


# -- PC/SC plumbing -------------------------------------------------------------------------------


def wait_state(context: PcscContext, present: bool, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {s.name: s.present for s in context.reader_states([READER])}
        if states.get(READER) is present:
            return
        time.sleep(0.02)
    raise TimeoutError(f"{READER} did not become {'PRESENT' if present else 'EMPTY'}")


class ByteCounter:
    """Wraps the virtual card's ``process`` to count what crosses the (virtual) air."""

    def __init__(self, card: VirtualMyNumberCard) -> None:
        self.sent = 0
        self.received = 0
        self.apdus = 0
        inner = card.process

        def process(apdu: bytes) -> bytes:
            response = inner(apdu)
            self.apdus += 1
            self.sent += len(apdu)
            self.received += len(response)
            return response

        card.process = process  # type: ignore[method-assign]

    def snapshot(self) -> TrafficStats:
        return TrafficStats(self.apdus, self.sent, self.received)


# -- the naive readers ---------------------------------------------------------------------------


def _select_ef(p: ApduProtocol, fid: int) -> None:
    p.send(CommandApdu(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))


def _select_ap(p: ApduProtocol, aid: AID) -> None:
    p.send(CommandApdu(0x00, 0xA4, 0x04, 0x0C, aid.value))


def _read_header_then_chunks(p: ApduProtocol, fid: int) -> bytes:
    """SELECT, 7-byte header probe, then 256-byte chunks of exactly the rest (MYNA/JRS style, §2.2)."""
    _select_ef(p, fid)
    header, _ = p.send(CommandApdu(0x00, 0xB0, 0, 0, le=7))
    tag_len = 2 if header[0] & 0x1F == 0x1F else 1
    first = header[tag_len]
    if first < 0x80:
        total = tag_len + 1 + first
    else:
        n = first & 0x7F
        total = tag_len + 1 + n + int.from_bytes(header[tag_len + 1 : tag_len + 1 + n], "big")
    data = bytearray(header[:total])
    while len(data) < total:
        offset = len(data)
        chunk, _ = p.send(CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, le=min(256, total - offset)))
        data += chunk
    return bytes(data)


def _tries_and_verify(p: ApduProtocol, fid: int, pin: bytes) -> None:
    _select_ef(p, fid)
    p.transmit(CommandApdu(0x00, 0x20, 0x00, 0x80))  # tries, right before the VERIFY
    p.send(CommandApdu(0x00, 0x20, 0x00, 0x80, pin))


def naive_read(p: ApduProtocol, pin: bytes, *, full: bool) -> tuple[Phase, Phase]:
    """Before the PIN: identify the card only. After: everything else, select-header-chunks."""
    t0 = time.perf_counter()
    s0 = p.stats
    _select_ap(p, AID.JPKI)
    _select_ef(p, 0x0006)
    p.send(CommandApdu(0x00, 0xB0, 0, 0, le=32))
    t1, s1 = time.perf_counter(), p.stats
    _tries_and_verify(p, 0x0018, pin)
    _select_ef(p, 0x0017)
    p.send(CommandApdu(0x80, 0x2A, 0x00, 0x80, sha256_digest_info(os.urandom(32)), le=256))
    _read_header_then_chunks(p, 0x000A)
    _select_ap(p, AID.CARD_INFO)
    _tries_and_verify(p, 0x0011, pin)
    _read_header_then_chunks(p, 0x0002)
    signatures = 1
    if full:
        _read_header_then_chunks(p, 0x0003)
        _read_header_then_chunks(p, 0x0004)
        _read_header_then_chunks(p, 0x0007)
        p.send(CommandApdu(0x80, 0x2A, 0x00, 0x00, sha256_digest_info(os.urandom(32)), le=256))
        signatures = 2
    t2, s2 = time.perf_counter(), p.stats
    return _phase(s1 - s0, 0, t1 - t0), _phase(s2 - s1, signatures, t2 - t1)


# -- runs ----------------------------------------------------------------------------------------


def run_madoguchi(
    context: PcscContext, card: VirtualMyNumberCard, pin: str, trust: Any
) -> tuple[Phase, Phase]:
    log_before = len(card.access_log)
    with MyNumberCardSession(context.open_card(READER), trust) as session:
        t0 = time.perf_counter()
        session.prefetch()
        t1 = time.perf_counter()
        result = session.read(bytearray(pin.encode()))
        t2 = time.perf_counter()
    seen = len(card.access_log) - log_before
    counted = result.traffic_before_pin.apdus + result.traffic_after_pin.apdus
    if seen != counted:
        raise RuntimeError(f"session counted {counted} APDUs, the card saw {seen}")
    return _phase(result.traffic_before_pin, 1, t1 - t0), _phase(result.traffic_after_pin, 1, t2 - t1)


def run_naive(context: PcscContext, pin: str, *, full: bool) -> tuple[Phase, Phase]:
    connection = context.open_card(READER)
    try:
        return naive_read(ApduProtocol(connection, extended=False), pin.encode(), full=full)
    finally:
        connection.close()


def run_opensc(card: VirtualMyNumberCard, counter: ByteCounter, pin: str) -> dict[str, Any]:
    if shutil.which("pkcs15-tool") is None or shutil.which("pkcs11-tool") is None:
        return {"skipped": "OpenSC is not installed"}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as home:
        conf = Path(home) / "opensc.conf"
        conf.write_text("app default {\n  framework pkcs15 {\n    use_file_caching = no;\n  }\n}\n")
        env = {"HOME": home, "OPENSC_CONF": str(conf), "PATH": "/usr/bin:/bin", "LANG": "C"}
        message = Path(home) / "m.bin"
        message.write_bytes(b"madoguchi bench")
        commands: dict[str, list[str]] = {
            "read_auth_certificate": ["pkcs15-tool", "--reader", "0", "--read-certificate", "01"],
            "login_and_sign": [
                "pkcs11-tool", "--module", PKCS11_MODULE, "--token-label", "JPKI (User Authentication PIN)",
                "--login", "--pin", pin, "--sign", "--mechanism", "SHA256-RSA-PKCS", "--id", "01",
                "--input-file", str(message), "--output-file", str(Path(home) / "sig.bin"),
            ],
        }  # fmt: skip
        for name, command in commands.items():
            before, log_before = counter.snapshot(), len(card.access_log)
            t0 = time.perf_counter()
            proc = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
            wall = time.perf_counter() - t0
            delta = counter.snapshot() - before
            if proc.returncode != 0:
                out[name] = {"error": proc.stderr.decode(errors="replace")[-300:]}
                continue
            log = card.access_log[log_before:]
            signatures = sum(1 for e in log if e.ins == 0x2A and e.sw == 0x9000)
            phase = _phase(delta, signatures, wall).as_json()
            phase["wall_ms_vpcd_note"] = "whole process incl. OpenSC start-up"
            phase["apdus_from_access_log"] = len(log)
            phase["probe_apdus_outside_jpki"] = sum(1 for e in log if e.ap != "jpki")
            out[name] = phase
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persona", default="miyagi-sendai")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    persona = load_persona(args.persona)
    trust = load_trust_store(ROOT / "config" / "kiosk.demo.toml")
    card = VirtualMyNumberCard(persona)
    counter = ByteCounter(card)
    with vpcd_lock(), PcscContext() as context:
        wait_state(context, present=False)
        vpcd = VpcdCard(card, port=DEFAULT_PORT)
        vpcd.insert()
        try:
            wait_state(context, present=True)
            ours = [run_madoguchi(context, card, persona.auth_pin, trust) for _ in range(args.runs)]
            naive = [run_naive(context, persona.auth_pin, full=True) for _ in range(args.runs)]
            plain = [run_naive(context, persona.auth_pin, full=False) for _ in range(args.runs)]
            opensc = run_opensc(card, counter, persona.auth_pin)
        finally:
            vpcd.remove()
            wait_state(context, present=False)

    def block(runs: list[tuple[Phase, Phase]]) -> dict[str, Any]:
        before, after = _median([r[0] for r in runs]), _median([r[1] for r in runs])
        total = Phase(
            before.apdus + after.apdus,
            before.bytes_sent + after.bytes_sent,
            before.bytes_received + after.bytes_received,
            before.signatures + after.signatures,
            before.wall_ms + after.wall_ms,
        )
        return {"before_pin": before.as_json(), "after_pin": after.as_json(), "total": total.as_json()}

    result = {
        "persona": persona.id,
        "runs": args.runs,
        "wall_time": "median over runs, pcscd + vpcd on loopback (virtual card, no air interface)",
        "model": MODEL,
        "madoguchi": block(ours),
        "naive": block(naive),
        "plain_ab": block(plain),
        "opensc": opensc,
    }
    ours_after = result["madoguchi"]["after_pin"]["modelled_ms_real_card"]
    result["after_pin_speedup_vs_naive_modelled"] = round(
        result["naive"]["after_pin"]["modelled_ms_real_card"] / ours_after, 2
    )
    result["targets"] = {
        "total_apdus_le_16": result["madoguchi"]["total"]["apdus"] <= 16,
        "after_pin_apdus_le_8": result["madoguchi"]["after_pin"]["apdus"] <= 8,
        "after_pin_modelled_2x_better_than_naive": result["after_pin_speedup_vs_naive_modelled"] >= 2,
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
