"""Virtual card benchmark (prints JSON): card build time, in-process APDU cost, vpcd round trips.

    .venv/bin/python bench/virtual_card.py            # in-process + vpcd (pcscd; takes the vpcd lock)
    .venv/bin/python bench/virtual_card.py --no-vpcd       # in-process only

Method: ``time.perf_counter`` around each operation, medians and p95 over N repetitions.
- build: first ``VirtualMyNumberCard(persona)`` in a fresh process per persona (image build: key load,
  certificate issuance, 5-6 RSA signatures), then a second card for the same persona (cache hit);
- in-process: SELECT round trip, 80 2A signature, via ``InProcessConnection``;
- vpcd: pyscard ``transmit`` of SELECT (1000×) and the full EF 0002 read of the long-address persona
  through pcscd + vpcd (200×), holding /tmp/madoguchi-vpcd.lock like the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from card.virtual.card import VirtualMyNumberCard  # noqa: E402
from card.virtual.inprocess import InProcessConnection  # noqa: E402
from card.virtual.persona import list_personas, load_persona  # noqa: E402
from card.virtual.vpcd import VpcdCard  # noqa: E402
from kiosk.demo_support import vpcd_lock  # noqa: E402

READER = "Virtual PCD 00 00"
SELECT_JPKI = bytes.fromhex("00A4040C0AD392F000260100000001")


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) * 1e6, 1),
        "p95_us": round(ordered[int(len(ordered) * 0.95) - 1] * 1e6, 1),
        "n": len(ordered),
    }


def cold_build_ms(persona_id: str) -> float:
    code = (
        "import time;from card.virtual.persona import load_persona;from card.virtual.card import "
        f"VirtualMyNumberCard as C;p=load_persona({persona_id!r});t=time.perf_counter();C(p);"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return round(float(out.stdout) * 1000, 2)


def in_process() -> dict[str, object]:
    persona = load_persona("jlis-test")
    VirtualMyNumberCard(persona)
    warm = []
    for _ in range(200):
        start = time.perf_counter()
        VirtualMyNumberCard(persona)
        warm.append(time.perf_counter() - start)
    connection = InProcessConnection(VirtualMyNumberCard(persona))
    selects = []
    for _ in range(2000):
        start = time.perf_counter()
        connection.transmit(SELECT_JPKI)
        selects.append(time.perf_counter() - start)
    connection.transmit(bytes.fromhex("002000980431323334"))
    digest_info = bytes.fromhex("3031300D060960864801650304020105000420") + bytes(32)
    sign_apdu = bytes.fromhex("802A009733") + digest_info + b"\x00"
    signs = []
    for _ in range(100):
        start = time.perf_counter()
        connection.transmit(sign_apdu)
        signs.append(time.perf_counter() - start)
    return {
        "cold_build_ms": {p: cold_build_ms(p) for p in list_personas()[:4]},
        "warm_build": stats(warm),
        "select": stats(selects),
        "sign_80_2A": stats(signs),
    }


def vpcd() -> dict[str, object]:
    from smartcard.Exceptions import SmartcardException
    from smartcard.System import readers

    with vpcd_lock():
        card = VirtualMyNumberCard(load_persona("miyagi-long-address"))
        with VpcdCard(card):
            reader = next(r for r in readers() if str(r) == READER)
            connection = reader.createConnection()
            for _ in range(100):  # wait for pcscd to see the card (polls every ~400 ms)
                try:
                    connection.connect()
                    break
                except SmartcardException:  # not seen by pcscd yet
                    time.sleep(0.05)
            selects = []
            for _ in range(1000):
                start = time.perf_counter()
                connection.transmit(list(SELECT_JPKI))
                selects.append(time.perf_counter() - start)
            connection.transmit(list(bytes.fromhex("00A4040C0AD3921000310001010408")))
            connection.transmit(list(bytes.fromhex("002000910431333537")))
            reads = []
            for _ in range(200):
                start = time.perf_counter()
                first, _, _ = connection.transmit(list(bytes.fromhex("00B0820000")))
                length = int.from_bytes(bytes(first[3:5]), "big") + 5
                connection.transmit(list(bytes.fromhex(f"00B00100{length - 256:02X}")))
                reads.append(time.perf_counter() - start)
            connection.disconnect()
    return {"select_round_trip": stats(selects), "ef0002_278_bytes_two_reads": stats(reads)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-vpcd", action="store_true")
    args = parser.parse_args()
    result: dict[str, object] = {"in_process": in_process()}
    if not args.no_vpcd:
        result["vpcd"] = vpcd()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
