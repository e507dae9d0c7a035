"""Host floors now, next to the figures the speed targets were set from (prints JSON).

The issues' speed targets (durable enqueue ≥ 5,000/s, server ingest ≥ 5,000 records/s) were derived
from ``../shared/docs/performance-floors.md``, measured on this kind of VM on a day when a flush cost
32 µs. The VM is shared and its host changes; this script repeats the floors that matter with the
same method (same sizes, same SQLite settings, best-of / median over runs) so that an enqueue or
ingest figure can be read against what the bare stack does *today*, not on the day of the document.

    .venv/bin/python bench/floors.py [--runs 5] [--dir DIR]

Rows (numbers as in the floors document): 1z 4 KiB ``pwrite`` + ``fdatasync``; 1a SQLite WAL,
``synchronous=FULL``, one 3 KB row per transaction, INTEGER PK; 2a HPKE seal 3 KB; 2c Ed25519 sign
3 KB; 2d Ed25519 verify 3 KB; 2e RSA-2048 verify; 2j the kiosk's seal composite (JSON + Ed25519 +
HPKE). ``ratio`` is document median ÷ today's median for rates (above 1: slower today).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

#: Medians from performance-floors.md (ops/s), keyed by the document's row number.
DOCUMENT_MEDIANS: dict[str, float] = {
    "1z_pwrite_fdatasync_4k": 29_849,
    "1a_sqlite_wal_full_commit_3k": 20_534,
    "2a_hpke_seal_3k": 19_096,
    "2c_ed25519_sign_3k": 40_146,
    "2d_ed25519_verify_3k": 16_361,
    "2e_rsa2048_verify": 61_424,
    "2j_kiosk_seal_composite": 12_540,
}


def fdatasync_rate(directory: Path, n: int) -> float:
    """4 KiB overwrites, each followed by ``fdatasync`` (the cost of one durable commit's flush)."""
    path = directory / "floor-fsync.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        block = os.urandom(4096)
        for i in range(256):  # allocate first: the measured writes are overwrites, as in a reused WAL
            os.pwrite(fd, block, i * 4096)
        os.fsync(fd)
        start = time.perf_counter()
        for i in range(n):
            os.pwrite(fd, block, (i % 256) * 4096)
            os.fdatasync(fd)
        return n / (time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()


def sqlite_commit_rate(directory: Path, n: int) -> float:
    """Row 1a: WAL + ``synchronous=FULL``, ``BEGIN IMMEDIATE; INSERT; COMMIT`` of a 3,072-byte blob."""
    path = directory / "floor.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, rid TEXT, created REAL, status INT, p BLOB)")
        blob = os.urandom(3072)
        start = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO q (rid, created, status, p) VALUES (?, ?, 0, ?)", (str(i), time.time(), blob)
            )
            conn.execute("COMMIT")
        return n / (time.perf_counter() - start)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def cpu_rate(op: Callable[[], object], seconds: float = 0.5) -> float:
    """Operations per second of ``op`` for about ``seconds`` of wall time (one thread)."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            op()
        n += 50
    return n / (time.perf_counter() - start)


def crypto_ops() -> dict[str, Callable[[], object]]:
    """The single operations of rows 2a–2j, on a 3 KB message."""
    message = os.urandom(3072)
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    server = X25519PrivateKey.generate().public_key()
    device = Ed25519PrivateKey.generate()
    device_public = device.public_key()
    signature = device.sign(message)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_signature = rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    rsa_public = rsa_key.public_key()
    record = {"v": 1, "card_signature": "A" * 344, "record": {"auth_certificate": "B" * 2072, "n": 1}}

    def kiosk_seal() -> bytes:
        plaintext = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        ct = suite.encrypt(plaintext, server, info=b"madoguchi/1 header")
        return device.sign(b"header" + ct)

    return {
        "2a_hpke_seal_3k": lambda: suite.encrypt(message, server, info=b"info"),
        "2c_ed25519_sign_3k": lambda: device.sign(message),
        "2d_ed25519_verify_3k": lambda: device_public.verify(signature, message),
        "2e_rsa2048_verify": lambda: rsa_public.verify(
            rsa_signature, message, padding.PKCS1v15(), hashes.SHA256()
        ),
        "2j_kiosk_seal_composite": kiosk_seal,
    }


def row(name: str, rates: list[float]) -> dict[str, object]:
    """One floor: today's runs, median, the document's median and the ratio."""
    median = statistics.median(rates)
    document = DOCUMENT_MEDIANS[name]
    return {
        "runs_per_s": [round(r) for r in rates],
        "median_per_s": round(median),
        "median_us": round(1e6 / median, 1),
        "document_median_per_s": document,
        "slower_than_document": round(document / median, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commits", type=int, default=3000, help="commits / flushes per run")
    parser.add_argument("--dir", default=None, help="file system to measure (default: the repository's)")
    args = parser.parse_args()
    base = Path(args.dir) if args.dir else Path(__file__).resolve().parent.parent
    out: dict[str, object] = {"bench": "floors", "python": sys.version.split()[0], "cpus": os.cpu_count()}
    floors: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="madoguchi-floors-", dir=base) as tmp:
        work = Path(tmp)
        floors["1z_pwrite_fdatasync_4k"] = row(
            "1z_pwrite_fdatasync_4k", [fdatasync_rate(work, args.commits) for _ in range(args.runs)]
        )
        floors["1a_sqlite_wal_full_commit_3k"] = row(
            "1a_sqlite_wal_full_commit_3k", [sqlite_commit_rate(work, args.commits) for _ in range(args.runs)]
        )
    for name, op in crypto_ops().items():
        floors[name] = row(name, [cpu_rate(op) for _ in range(args.runs)])
    out["floors"] = floors
    seal = floors["2j_kiosk_seal_composite"]["median_us"]  # type: ignore[index]
    commit = floors["1a_sqlite_wal_full_commit_3k"]["median_us"]  # type: ignore[index]
    out["serial_seal_plus_commit_ceiling_per_s"] = round(1e6 / (seal + commit))  # type: ignore[operator]
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
