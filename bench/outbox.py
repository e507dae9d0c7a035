"""Outbox benchmark (prints JSON): durable sealed enqueue rate at 0 / 100k / 1M queued rows, fsyncs
per record, and (optionally) the drain of N records to a server on loopback.

    .venv/bin/python bench/outbox.py                          # sizes 0,100000,1000000
    .venv/bin/python bench/outbox.py --sizes 0,100000 --runs 3 --enqueues 3000
    .venv/bin/python bench/outbox.py --drain 100000           # + drain to the reference server

Method (see docs/outbox.md):
- Large queues are built with a bulk insert (50k-row transactions, ``synchronous=OFF``) of rows that
  look like real ones (a real sealed ``ct`` of the benchmark record, random UUID record ids), then
  the file is reopened normally and ``Outbox.enqueue`` (JSON record → HPKE seal → Ed25519 sign → one
  ``BEGIN IMMEDIATE``/``COMMIT`` with ``synchronous=FULL``) is timed one call at a time.
- fsync count: a child process runs N enqueues under ``strace -f -c -e trace=fsync,fdatasync``
  (exact syscall counts; strace only observes), minus a child that opens and closes without enqueueing.
  The block device's completed flush requests (``/sys/dev/block/M:m/stat`` field 15) around an
  in-process run are reported too: the device-level view, an upper bound (other processes share it).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from sync import wire  # noqa: E402
from sync.device_keys import DeviceStore  # noqa: E402
from sync.outbox import OUTBOX_FILE, Outbox  # noqa: E402

KIOSK = "bench-kiosk-01"


def record_plaintext(i: int) -> bytes:
    """A registration-shaped record of realistic size (about 2.4 KB: the auth certificate dominates)."""
    rec = {
        "v": 1,
        "card_signature": base64.b64encode(os.urandom(256)).decode(),
        "record": {
            "schema": "madoguchi.registration/1",
            "record_id": str(uuid.uuid4()),
            "code": f"BNCH-{i:06d}",
            "program_id": "demo",
            "services": ["disaster", "point"],
            "consents": [
                {"service": "point", "terms_version": "2026-04", "accepted_at": "2026-11-22T10:00:00+09:00"}
            ],
            "resident": {
                "name": "山田 太郎",
                "address": "宮城県仙台市青葉区本町三丁目8番1号",
                "birth_date": "1980-01-02",
                "sex": "1",
            },
            "auth_certificate": base64.b64encode(os.urandom(1200)).decode(),
            "kiosk": {"id": KIOSK, "clock": "2026-11-22T10:00:00+09:00", "sequence": i},
            "verification": {"chain": "ok", "signature": "ok", "integrity": "ok", "genuine_card": "ok"},
        },
    }
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_device(data_dir: Path, server_key: X25519PrivateKey, url: str = "http://127.0.0.1:1") -> DeviceStore:
    store = DeviceStore(data_dir)
    store.load_or_create_device_key()
    pub = server_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.pin_server(url, wire.EnrollResponse("bench", pub, wire.SUITE_ID))
    return store


def bulk_fill(path: Path, rows: int, ct: bytes, sig: bytes) -> float:
    """Append ``rows`` PENDING rows fast (not durable: only to build the starting state)."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    start = conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(seq) FROM outbox), 0), value) FROM sequence"
    ).fetchone()[0]
    created = wire.format_timestamp(datetime.datetime.now(datetime.UTC))
    step = 50_000
    for lo in range(0, rows, step):
        n = min(step, rows - lo)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO outbox (seq, record_id, kiosk_id, program_id, created_at, size, state, ct, sig) "
            "VALUES (?, ?, ?, 'demo', ?, ?, 'PENDING', ?, ?)",
            ((start + lo + k + 1, str(uuid.uuid4()), KIOSK, created, len(ct), ct, sig) for k in range(n)),
        )
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    # The build ran with synchronous=OFF: flush its gigabytes now, or the kernel's writeback of them
    # would compete with (and slow down) the fsyncs being measured next.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def raw_commit_rate(directory: Path, blob: bytes, n: int = 2000) -> float:
    """The floor right now: single-row WAL + synchronous=FULL commits of a blob the size of a sealed
    record into a fresh table (no sealing, no index), on the same file system. The VM is shared, so
    this moves with the other load; it puts the enqueue rate next to it."""
    path = directory / "floor.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, p BLOB NOT NULL)")
    t0 = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO q (p) VALUES (?)", (blob,))
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - t0)
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        (directory / f"floor.sqlite3{suffix}").unlink(missing_ok=True)
    return round(rate, 1)


def time_enqueues(box: Outbox, plaintexts: list[bytes]) -> dict[str, float]:
    lat = []
    t0 = time.perf_counter()
    for p in plaintexts:
        s = time.perf_counter()
        box.enqueue(p, record_id=str(uuid.uuid4()), program_id="demo")
        lat.append(time.perf_counter() - s)
    total = time.perf_counter() - t0
    lat.sort()
    return {
        "per_s": round(len(plaintexts) / total, 1),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 3),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 3),
    }


def device_flushes(path: Path) -> int | None:
    """Completed flush requests of the block device holding ``path`` (None if not available)."""
    st = os.stat(path)
    stat_file = Path(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/stat")
    try:
        fields = stat_file.read_text().split()
    except OSError:
        return None
    return int(fields[14]) if len(fields) >= 17 else None


def bench_enqueue(work: Path, sizes: list[int], runs: int, enqueues: int) -> dict[str, Any]:
    server_key = X25519PrivateKey.generate()
    data = work / "enqueue"
    store = make_device(data, server_key)
    sealer = store.sealer(KIOSK)
    plaintexts = [record_plaintext(i) for i in range(enqueues)]
    # seal alone (the crypto floor of one enqueue)
    t0 = time.perf_counter()
    for i, p in enumerate(plaintexts):
        env = sealer.seal(
            p,
            record_id=str(uuid.uuid4()),
            program_id="demo",
            seq=i + 1,
            created_at=datetime.datetime.now(datetime.UTC),
        )
    seal_rate = len(plaintexts) / (time.perf_counter() - t0)
    path = data / OUTBOX_FILE
    Outbox.open(path).close()
    results = []
    present = 0
    for size in sorted(sizes):
        build_s = bulk_fill(path, size - present, env.ct, env.sig) if size > present else 0.0
        present = size
        per_run = []
        floor = raw_commit_rate(work, env.ct)
        flushes_before = device_flushes(path)
        for _ in range(runs):
            with Outbox.open(path, sealer=sealer) as box:
                mark = box.connection.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
                per_run.append(time_enqueues(box, plaintexts))
                # Keep the table at the nominal size: drop what this run added.
                box.connection.execute("DELETE FROM outbox WHERE seq > ?", (mark,))
        flushes_after = device_flushes(path)
        rates = [r["per_s"] for r in per_run]
        results.append(
            {
                "queued_rows": size,
                "build_s": round(build_s, 1),
                "runs_per_s": rates,
                "median_per_s": statistics.median(rates),
                "raw_sqlite_full_commits_per_s_now": floor,
                "p50_ms": statistics.median(r["p50_ms"] for r in per_run),
                "p99_ms": statistics.median(r["p99_ms"] for r in per_run),
                "device_flushes_per_record": (
                    round((flushes_after - flushes_before) / (runs * enqueues), 3)
                    if flushes_before is not None and flushes_after is not None
                    else None
                ),
                "db_bytes": path.stat().st_size,
            }
        )
    return {
        "record_plaintext_bytes": len(plaintexts[0]),
        "ct_bytes": len(env.ct),
        "seal_only_per_s": round(seal_rate, 1),
        "enqueue": results,
    }


def fsync_child(data: Path, n: int) -> None:
    """Run ``n`` enqueues (the strace'd child)."""
    store = DeviceStore(data)
    with Outbox.open(data / OUTBOX_FILE, sealer=store.sealer(KIOSK)) as box:
        for i in range(n):
            box.enqueue(record_plaintext(i), record_id=str(uuid.uuid4()), program_id="demo")


def bench_fsync(work: Path, n: int) -> dict[str, Any]:
    strace = shutil.which("strace")
    if strace is None:
        return {"skipped": "strace not installed"}
    data = work / "fsync"
    make_device(data, X25519PrivateKey.generate())
    Outbox.open(data / OUTBOX_FILE).close()
    counts = {}
    for label, count in (("baseline", 0), ("run", n)):
        out = work / f"strace-{label}.txt"
        subprocess.run(
            [
                strace,
                "-f",
                "-c",
                "-e",
                "trace=fsync,fdatasync",
                "-o",
                str(out),
                sys.executable,
                __file__,
                "--fsync-child",
                str(data),
                str(count),
            ],
            check=True,
        )
        calls = {"fsync": 0, "fdatasync": 0}
        for line in out.read_text().splitlines():
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)\s*$", line)
            if m:
                calls[m.group(2)] = int(m.group(1))
        counts[label] = calls
    total = {k: counts["run"][k] - counts["baseline"][k] for k in ("fsync", "fdatasync")}
    return {
        "method": "strace -f -c -e trace=fsync,fdatasync (child with N enqueues minus child with 0)",
        "enqueues": n,
        "syscalls": total,
        "per_record": round((total["fsync"] + total["fdatasync"]) / n, 3),
    }


def bench_drain(work: Path, n: int, workers: int, concurrency: int) -> dict[str, Any]:
    """Drain ``n`` real card-signed records to the reference server (``madoguchi server run``) on
    loopback. The queue is built first (signing and sealing are not timed: that is the enqueue
    benchmark's job); the timed part is claim → HTTP batch of 500 → server verification and storage
    → settle, until the outbox is empty."""
    sys.path.insert(0, str(ROOT / "tests" / "sync"))
    from realserver import ServerProcess, signed_plaintext  # the delivery test's server runner

    from sync.client import SyncClient
    from sync.service import SyncService
    from sync.uploader import SyncReport

    srv = ServerProcess(work / "server", workers=workers)
    srv.init()
    token = srv.device_token(KIOSK)
    store = DeviceStore(work / "drain")
    key = store.load_or_create_device_key()
    srv.start()
    try:
        with SyncClient(srv.url, kiosk_id=KIOSK) as client:
            store.pin_server(srv.url, client.enroll(token, key.public_key().public_bytes_raw()))
        sealer = store.sealer(KIOSK)
        path = work / "drain" / OUTBOX_FILE
        Outbox.open(path).close()
        t0 = time.perf_counter()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        now = datetime.datetime.now(datetime.UTC)
        for lo in range(0, n, 5000):
            rows = []
            for i in range(lo, min(n, lo + 5000)):
                rid, plaintext = signed_plaintext(KIOSK, i + 1)
                env = sealer.seal(plaintext, record_id=rid, program_id="demo", seq=i + 1, created_at=now)
                rows.append((i + 1, rid, KIOSK, env.created_at, len(env.ct), env.ct, env.sig))
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO outbox (seq, record_id, kiosk_id, program_id, created_at, size, state, ct, sig) "
                "VALUES (?, ?, ?, 'demo', ?, ?, 'PENDING', ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        conn.close()
        prep_s = time.perf_counter() - t0
        totals = {"batches": 0, "accepted": 0, "duplicate": 0, "rejected": 0, "errors": 0}
        lock = threading.Lock()

        def count(rep: SyncReport) -> None:
            with lock:
                totals["batches"] += rep.batches
                totals["accepted"] += rep.accepted
                totals["duplicate"] += rep.duplicate
                totals["rejected"] += rep.rejected
                totals["errors"] += rep.error is not None

        # What the kiosk runs: the background service with `concurrency` upload threads (the leader
        # plus catch-up helpers, each with its own outbox connection and HTTP client; claims are
        # atomic, so batches are disjoint).
        service = SyncService(
            open_outbox=lambda: Outbox.open(path),
            make_client=lambda: SyncClient(srv.url, kiosk_id=KIOSK),
            interval_s=1.0,
            on_report=count,
            parallel=concurrency,
        )

        def settled() -> int:
            with lock:
                return totals["accepted"] + totals["duplicate"] + totals["rejected"]

        t0 = time.perf_counter()
        service.start()
        # Watch the service's own reports, not the database: a COUNT(*) over 100,000 rows every
        # few milliseconds would compete with the drain for the same two cores.
        while settled() < n and service.running:
            time.sleep(0.02)
        drain_end = time.perf_counter()
        service.stop()
        drain_s = drain_end - t0
        with Outbox.open(path) as box:
            left = box.status().depth
    finally:
        srv.stop()
    db = sqlite3.connect(work / "server" / "server.sqlite3")
    server_rows = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM records WHERE outcome = 'accepted'"
    ).fetchone()
    db.close()
    return {
        "records": n,
        "server_workers": workers,
        "uploaders": concurrency,
        "left_in_outbox": left,
        "prepare_s": round(prep_s, 1),
        "drain_s": round(drain_s, 2),
        "records_per_s": round(n / drain_s, 1),
        **totals,
        "server_accepted_rows": server_rows[0],
        "server_distinct_record_ids": server_rows[1],
    }


def serve_null(port: int) -> None:
    """A server that answers ``accepted`` for every record without verifying anything (run as a
    child process by :func:`bench_drain_null`): it isolates the kiosk side of a drain."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            reply = json.dumps(
                {
                    "results": [
                        {"record_id": r["record_id"], "status": "accepted", "reason": None}
                        for r in body["records"]
                    ]
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def bench_drain_null(work: Path, n: int) -> dict[str, Any]:
    """Drain ``n`` sealed records to a server that verifies nothing: the kiosk side's own cost
    (claim, request body, HTTP, reply parsing, settle), on the same loopback."""
    import socket

    from sync.client import SyncClient
    from sync.uploader import Uploader

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--null-server", str(port)])
    try:
        store = make_device(work / "null", X25519PrivateKey.generate())
        sealer = store.sealer(KIOSK)
        path = work / "null" / OUTBOX_FILE
        Outbox.open(path).close()
        env = sealer.seal(
            record_plaintext(0),
            record_id=str(uuid.uuid4()),
            program_id="demo",
            seq=1,
            created_at=datetime.datetime.now(datetime.UTC),
        )
        bulk_fill(path, n, env.ct, env.sig)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        with Outbox.open(path) as box, SyncClient(url, kiosk_id=KIOSK) as client:
            up = Uploader(box, client)
            t0 = time.perf_counter()
            accepted = 0
            while box.status().depth:
                accepted += up.run_once(ignore_schedule=True).accepted
            drain_s = time.perf_counter() - t0
    finally:
        child.terminate()
        child.wait()
    return {
        "records": n,
        "server": "null (accepts without verifying)",
        "drain_s": round(drain_s, 2),
        "records_per_s": round(n / drain_s, 1),
        "accepted": accepted,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="0,100000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--enqueues", type=int, default=3000)
    ap.add_argument("--fsync-records", type=int, default=2000)
    ap.add_argument("--drain", type=int, default=0, help="records to drain to the reference server (0: skip)")
    ap.add_argument("--server-workers", type=int, default=2, help="uvicorn workers of the reference server")
    ap.add_argument(
        "--uploaders", default="1,4", help="sync service upload threads ([server] parallel_uploads) per run"
    )
    ap.add_argument("--skip-enqueue", action="store_true", help="only the drain")
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--null-drain", type=int, default=0, help="records to drain to a verify-nothing server")
    ap.add_argument("--fsync-child", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--null-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.null_server:
        serve_null(args.null_server)
        return
    if args.fsync_child:
        fsync_child(Path(args.fsync_child[0]), int(args.fsync_child[1]))
        return
    work = Path(tempfile.mkdtemp(prefix="madoguchi-outbox-bench-", dir=args.dir))
    try:
        out: dict[str, Any] = {
            "bench": "outbox",
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "settings": {
                "journal_mode": "WAL",
                "synchronous": "FULL",
                "runs": args.runs,
                "enqueues_per_run": args.enqueues,
            },
        }
        if not args.skip_enqueue:
            sizes = [int(s) for s in args.sizes.split(",") if s]
            out.update(bench_enqueue(work, sizes, args.runs, args.enqueues))
            out["fsync"] = bench_fsync(work, args.fsync_records)
        if args.null_drain:
            out["drain_null_server"] = bench_drain_null(work, args.null_drain)
        if args.drain:
            out["drain"] = [
                bench_drain(work / f"drain-{i}-{c}", args.drain, args.server_workers, c)
                for i, c in enumerate(int(x) for x in args.uploaders.split(","))
            ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
