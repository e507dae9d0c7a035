"""Server ingest benchmark: records/s with full verification and p99 batch latency (JSON on stdout).

What it does, per database engine (SQLite file, then PostgreSQL):

1. makes ``--records`` card-signed, sealed records up front (not timed), each a distinct resident
   with its own auth certificate from the project's test J-LIS hierarchy, so the chain cache misses
   as it would on a real day (every record: HPKE open, Ed25519 verify, strict parse, chain check,
   RSA card-signature verify, eligibility, person keys, de-duplication, award, audit entry);
2. starts ``madoguchi server run --workers N`` (uvicorn, uvloop, httptools) on loopback;
3. uploads the records in batches of ``--batch`` from ``--concurrency`` client threads (several
   kiosks, one per thread, in sequence order) and times each POST;
4. prints records/s over the whole upload, batch latency p50/p99, and the server's counts.

Usage: ``.venv/bin/python bench/server_ingest.py [--records 20000] [--workers 2]
[--engines sqlite,postgresql] [--concurrency 8]``
PostgreSQL: ``--pg-dsn`` or ``$MADOGUCHI_TEST_PG_DSN`` (default the scripts/postgres.sh cluster); a
fresh database ``madoguchi_bench_<pid>`` is created and dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

PROGRAM = """\
id = "bench"
support_phone = "0120-000-000"
one_grant_per_person = true
[name]
ja = "ベンチ"
en = "Bench"
[issuer]
ja = "宮城県"
en = "Miyagi"
[residency]
prefectures = ["宮城県"]
[award]
kind = "all_eligible"
points = 3000
[[services]]
service = "point"
required = true
terms_version = "p1"
name = { ja = "ポイント", en = "Point" }
terms = { ja = "規約", en = "Terms" }
[[services]]
service = "disaster"
required = true
terms_version = "d1"
name = { ja = "防災", en = "Disaster" }
terms = { ja = "規約", en = "Terms" }
"""

MUNICIPALITIES = [
    "仙台市青葉区本町３－８－１",
    "石巻市穀町１４－１",
    "塩竈市旭町１－１",
    "大崎市古川七日町１－１",
    "名取市増田１－１",
]


def _make_records(args: tuple[bytes, list[tuple[str, int, int]], str]) -> list[tuple[str, int, bytes]]:
    """Worker: sign and seal records; returns (kiosk_id, seq, envelope JSON bytes)."""
    server_pub_raw, jobs, device_seed_hex = args
    from card.virtual import testpki
    from kiosk.rules.record import (
        Consent,
        KioskStamp,
        Resident,
        SignedRegistration,
        Verification,
        build_record,
    )
    from sync.sealing import seal

    server_pub = X25519PublicKey.from_public_bytes(server_pub_raw)
    root = testpki.auth_root()
    card = testpki.card_keys("miyagi-sendai").auth
    devices: dict[str, Ed25519PrivateKey] = {}
    out = []
    now = datetime.now(UTC)
    for kiosk_id, seq, n in jobs:
        device = devices.get(kiosk_id)
        if device is None:
            seed = bytes.fromhex(device_seed_hex) + kiosk_id.encode()
            device = Ed25519PrivateKey.from_private_bytes(__import__("hashlib").sha256(seed).digest())
            devices[kiosk_id] = device
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"BENCH{n:018d}")]))
            .issuer_name(root.certificate.subject)
            .public_key(card.public_key())
            .serial_number(1_000_000 + n)
            .not_valid_before(now - timedelta(days=30))
            .not_valid_after(now + timedelta(days=365))
            .sign(root.key, hashes.SHA256())
        )
        record_id = uuid.uuid4()
        record = build_record(
            record_id=record_id,
            program_id="bench",
            consents=[Consent("disaster", "d1", now), Consent("point", "p1", now)],
            resident=Resident(
                name=f"宮城　花子{n}",
                address="宮城県" + MUNICIPALITIES[n % len(MUNICIPALITIES)],
                birth_date=datetime(1950 + n % 50, 1 + n % 12, 1 + n % 28).date(),
                sex="2",
            ),
            auth_certificate=cert.public_bytes(serialization.Encoding.DER),
            kiosk=KioskStamp(kiosk_id, now, seq),
            verification=Verification(True, True, True, True),
        )
        signature = card.sign(record.canonical(), padding.PKCS1v15(), hashes.SHA256())
        plaintext = SignedRegistration(record, signature).to_plaintext()
        env = seal(
            plaintext,
            record_id=str(record_id),
            kiosk_id=kiosk_id,
            seq=seq,
            program_id="bench",
            server_public_key=server_pub,
            device_key=device,
            created_at=now,
        )
        out.append((kiosk_id, seq, json.dumps(env.to_json(), separators=(",", ":")).encode()))
    return out


def crypto_floor(bodies: list[bytes], server_key: object, seed_hex: str) -> dict[str, float]:
    """CPU microseconds per record of the bare cryptography every record needs, on one core, for the
    bench's own records (no parsing, no database): the part no amount of Python tuning removes."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from card.virtual import testpki
    from sync.sealing import HPKE_SUITE
    from sync.server.verify import device_signature_ok
    from sync.wire import HPKE_INFO_LABEL, Envelope

    assert isinstance(server_key, X25519PrivateKey)
    root = testpki.auth_root().certificate
    envelopes = [Envelope.from_json(json.loads(b)) for b in bodies]
    devices = {
        e.kiosk_id: Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(bytes.fromhex(seed_hex) + e.kiosk_id.encode()).digest()
        ).public_key()
        for e in envelopes
    }
    headers = [e.header_bytes() for e in envelopes]
    plaintexts = [
        HPKE_SUITE.decrypt(e.ct, server_key, info=HPKE_INFO_LABEL + h)
        for e, h in zip(envelopes, headers, strict=True)
    ]
    objs = [json.loads(p) for p in plaintexts]
    ders = [base64.b64decode(o["record"]["auth_certificate"]) for o in objs]
    sigs = [base64.b64decode(o["card_signature"]) for o in objs]
    records = [p[p.index(b',"record":') + 10 : -len(b',"v":1}')] for p in plaintexts]
    certs = [x509.load_der_x509_certificate(d) for d in ders]

    def best(step: object) -> float:
        assert callable(step)
        runs = []
        for _ in range(3):
            start = time.process_time()
            step()
            runs.append(time.process_time() - start)
        return round(1e6 * min(runs) / len(envelopes), 1)

    out = {
        "ed25519_verify": best(
            lambda: [
                device_signature_ok(devices[e.kiosk_id], e.sig, h + e.ct)
                for e, h in zip(envelopes, headers, strict=True)
            ]
        ),
        "hpke_open": best(
            lambda: [
                HPKE_SUITE.decrypt(e.ct, server_key, info=HPKE_INFO_LABEL + h)
                for e, h in zip(envelopes, headers, strict=True)
            ]
        ),
        "certificate_issuer_signature": best(
            lambda: [x509.load_der_x509_certificate(d).verify_directly_issued_by(root) for d in ders]
        ),
        "card_rsa_verify": best(
            lambda: [
                c.public_key().verify(s, r, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
                for c, s, r in zip(certs, sigs, records, strict=True)
            ]
        ),
    }
    out["total"] = round(sum(out.values()), 1)
    return out


def verify_steps(bodies: list[bytes], keys: object, seed_hex: str, programs_dir: Path) -> dict[str, float]:
    """CPU microseconds per record of each step of the server's pipeline, in the server's own code,
    one record at a time as in a batch (cold caches, every certificate new), on one core: where the
    API process's time goes apart from HTTP and the database transaction."""
    import hashlib

    from card.virtual import testpki
    from kiosk.rules.address import parse_address
    from kiosk.rules.eligibility import check_eligibility
    from kiosk.rules.programs import load_programs
    from kiosk.rules.record import parse_signed
    from sync.sealing import HPKE_SUITE
    from sync.server.chain import ChainVerifier
    from sync.server.keys import ServerKeys
    from sync.server.persons import PersonKeyer
    from sync.server.stored import envelope_digest, pack
    from sync.server.verify import _record_bytes, device_signature_ok
    from sync.wire import HPKE_INFO_LABEL, Envelope, parse_timestamp

    assert isinstance(keys, ServerKeys)
    program = load_programs(programs_dir)["bench"]
    chains = ChainVerifier([testpki.auth_root().certificate])
    keyer = PersonKeyer(keys.person_secret)
    spent: dict[str, float] = {}
    mark = [0.0]

    def lap(name: str) -> None:
        """Charge the CPU time since the previous lap to ``name``."""
        now = time.process_time()
        spent[name] = spent.get(name, 0.0) + now - mark[0]
        mark[0] = now

    devices = {
        kiosk_id: Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(bytes.fromhex(seed_hex) + kiosk_id.encode()).digest()
        ).public_key()
        for kiosk_id in {json.loads(b)["kiosk_id"] for b in bodies}
    }
    for body in bodies:
        mark[0] = time.process_time()
        obj = json.loads(body)
        lap("envelope_json")
        env = Envelope.from_json(obj)
        lap("envelope_parse")
        header = env.header_bytes()
        lap("header_bytes")
        assert device_signature_ok(devices[env.kiosk_id], env.sig, header + env.ct)
        lap("ed25519_verify")
        envelope_digest(header, env.ct, env.sig)
        pack(header, env.ct, env.sig)
        lap("digest_and_pack")
        plain = HPKE_SUITE.decrypt(env.ct, keys.hpke_private_key, info=HPKE_INFO_LABEL + header)
        lap("hpke_open")
        signed = parse_signed(plain)
        record = signed.record
        lap("parse_signed")
        chain = chains.check(record.auth_certificate)
        lap("chain_check")
        assert chain.public_key is not None
        chain.public_key.verify(
            signed.card_signature, _record_bytes(plain), padding.PKCS1v15(), hashes.SHA256()
        )
        lap("card_rsa_verify")
        address = parse_address(record.resident.address)
        lap("parse_address")
        check_eligibility(
            program, address=record.resident.address, birth_date=record.resident.birth_date,
            services=record.services, now=record.kiosk.clock, already_registered_here=False,
            parsed_address=address,
        )  # fmt: skip
        lap("eligibility")
        parse_timestamp(env.created_at)
        lap("timestamps")
        keyer.keys(
            issuer_der=chain.issuer_der, serial=chain.serial, name=record.resident.name,
            birth_date=record.resident.birth_date, normalized_address=address.normalized,
        )  # fmt: skip
        lap("person_keys")
    out = {name: round(1e6 * total / len(bodies), 1) for name, total in spent.items()}
    out["total"] = round(sum(out.values()), 1)
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """utime + stime of one process in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants (the uvicorn parent and workers)."""
    total = _proc_cpu(pid)
    for child in _children(pid):
        total += _tree_cpu(child)
    return total


def _postgres_cpu(dsn: str | None, database: str | None) -> dict[int, float]:
    """CPU seconds per backend pid of the server's own PostgreSQL sessions (``application_name``),
    so other users of the same cluster do not count."""
    if not dsn or not database:
        return {}
    import psycopg

    from sync.server.db import APPLICATION_NAME

    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = [
            int(r[0])
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
                [APPLICATION_NAME, database],
            ).fetchall()
        ]
    return {pid: _proc_cpu(pid) for pid in pids}


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_admin(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, object]:
    from sync.server.db import open_database
    from sync.server.devices import issue_token
    from sync.server.keys import init_data_dir, load_keys
    from sync.server.migrations import migrate
    from sync.wire import b64encode

    tmp = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    data = tmp / "server"
    init_data_dir(data)
    programs = tmp / "programs"
    programs.mkdir()
    (programs / "bench.toml").write_text(PROGRAM, encoding="utf-8")
    pg_db = None
    if engine == "sqlite":
        db_url = f"sqlite:///{data / 'server.sqlite3'}"
    else:
        pg_db = f"madoguchi_bench_{os.getpid()}"
        _pg_admin(args.pg_dsn, f"CREATE DATABASE {pg_db}")
        db_url = args.pg_dsn.rsplit("/", 1)[0] + "/" + pg_db
    keys = load_keys(data)
    db = open_database(db_url, pool_size=1)
    migrate(db)
    kiosks = [f"bench-kiosk-{i}" for i in range(args.kiosks)]
    tokens = {k: issue_token(db, k) for k in kiosks}
    db.close()

    # --- records (not timed) ---
    t0 = time.perf_counter()
    jobs: dict[str, list[tuple[str, int, int]]] = {k: [] for k in kiosks}
    for n in range(args.records):
        k = kiosks[n % len(kiosks)]
        jobs[k].append((k, len(jobs[k]) + 1, n))
    seed = os.urandom(16).hex()
    chunks = []
    flat = [j for k in kiosks for j in jobs[k]]
    step = max(1, len(flat) // (args.gen_procs * 4))
    for i in range(0, len(flat), step):
        chunks.append((keys.public_key_raw(), flat[i : i + step], seed))
    with multiprocessing.get_context("fork").Pool(args.gen_procs) as pool:
        made = [r for part in pool.map(_make_records, chunks) for r in part]
    generate_s = time.perf_counter() - t0
    per_kiosk: dict[str, list[bytes]] = {k: [] for k in kiosks}
    for kiosk_id, _seq, body in sorted(made, key=lambda r: (r[0], r[1])):
        per_kiosk[kiosk_id].append(body)
    floor = crypto_floor([body for _, _, body in made[:500]], keys.hpke_private_key, seed)
    steps = verify_steps([body for _, _, body in made[:1000]], keys, seed, programs)

    # --- server ---
    port = _free_port()
    cmd = [
        sys.executable, "-m", "kiosk.cli", "server", "run", "--data", str(data), "--db", db_url,
        "--port", str(port), "--workers", str(args.workers), "--programs", str(programs),
        "--trust", str(REPO / "config" / "trust" / "test" / "jpki-auth-root.pem"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(
                    "server did not start: " + (proc.stderr.read().decode() if proc.stderr else "")
                )
            time.sleep(0.1)
        devices_seeded = {}
        import hashlib

        for k in kiosks:
            device = Ed25519PrivateKey.from_private_bytes(
                hashlib.sha256(bytes.fromhex(seed) + k.encode()).digest()
            )
            raw = device.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            reply = httpx.post(
                base + "/v1/enroll",
                json={"token": tokens[k], "kiosk_id": k, "device_public_key": b64encode(raw)},
            )
            reply.raise_for_status()
            devices_seeded[k] = True

        latencies: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()
        retries = 0

        import queue as queue_mod

        def sender_thread(jobs: queue_mod.SimpleQueue[str]) -> None:
            """One client connection; takes whole kiosks from the queue and sends each kiosk's batches
            in order. Work is shared dynamically, so no connection runs out of work before the rest
            (a fixed kiosk per connection left one API process idle at the end)."""
            nonlocal retries
            with httpx.Client(base_url=base, timeout=60) as client:
                while True:
                    try:
                        kiosk_id = jobs.get_nowait()
                    except queue_mod.Empty:
                        return
                    bodies = per_kiosk[kiosk_id]
                    for i in range(0, len(bodies), args.batch):
                        payload = b'{"records":[' + b",".join(bodies[i : i + args.batch]) + b"]}"
                        while True:
                            start = time.perf_counter()
                            reply = client.post(
                                "/v1/records",
                                content=payload,
                                headers={"X-Madoguchi-Device": kiosk_id, "content-type": "application/json"},
                            )
                            elapsed = time.perf_counter() - start
                            if reply.status_code in (429, 503):
                                with lock:
                                    retries += 1
                                time.sleep(float(reply.headers.get("retry-after", "1")) / 10)
                                continue
                            reply.raise_for_status()
                            break
                        with lock:
                            latencies.append(elapsed)
                            for r in reply.json()["results"]:
                                statuses[r["status"]] = statuses.get(r["status"], 0) + 1

        def start_senders() -> list[threading.Thread]:
            jobs: queue_mod.SimpleQueue[str] = queue_mod.SimpleQueue()
            for k in kiosks:
                jobs.put(k)
            return [threading.Thread(target=sender_thread, args=(jobs,)) for _ in range(args.concurrency)]

        threads = start_senders()
        pg_dsn = args.pg_dsn if engine == "postgresql" else None
        cpu_before, busy_before = _tree_cpu(proc.pid), _machine_busy()
        pg_before = _postgres_cpu(pg_dsn, pg_db)
        client_before = time.process_time()  # this process's threads: the load generator's own share
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_start
        client_cpu = time.process_time() - client_before
        server_cpu = _tree_cpu(proc.pid) - cpu_before
        per_process = sorted(round(_tree_cpu(child), 2) for child in _children(proc.pid))
        pg_after = _postgres_cpu(pg_dsn, pg_db)
        pg_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items())
        busy_after = _machine_busy()
        machine_busy = (busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1])
        # a retry storm: every kiosk re-sends everything (lost replies); answered from stored digests
        first_latencies, first_statuses = list(latencies), dict(statuses)
        latencies.clear()
        statuses.clear()
        threads = start_senders()
        t_resend = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        resend_wall = time.perf_counter() - t_resend
        resend_statuses = dict(statuses)
        latencies[:], statuses = first_latencies, first_statuses
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    db = open_database(db_url, pool_size=1)
    with db.transaction() as tx:
        grants = int(tx.scalar("SELECT COUNT(*) FROM grants") or 0)
        registrations = int(tx.scalar("SELECT COUNT(*) FROM registrations") or 0)
    db.close()
    if pg_db:
        _pg_admin(args.pg_dsn, f"DROP DATABASE {pg_db} WITH (FORCE)")
    shutil.rmtree(tmp, ignore_errors=True)  # the server's data, keys and logs of this run
    lat_ms = sorted(x * 1000 for x in latencies)
    p99 = lat_ms[min(len(lat_ms) - 1, round(0.99 * (len(lat_ms) - 1)))]
    return {
        "engine": engine,
        "records": args.records,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "kiosks": args.kiosks,
        "workers": args.workers,
        "records_per_s": round(args.records / wall, 1),
        "wall_s": round(wall, 3),
        "batch_latency_ms": {
            "p50": round(statistics.median(lat_ms), 2),
            "p99": round(p99, 2),
            "max": round(lat_ms[-1], 2),
        },
        "server_cpu_s": round(server_cpu, 2),
        "api_process_cpu_s": per_process,
        "postgres_cpu_s": round(pg_cpu, 2),
        "server_cpu_us_per_record": round(1e6 * (server_cpu + pg_cpu) / args.records, 1),
        "api_cpu_us_per_record": round(1e6 * server_cpu / args.records, 1),
        "postgres_cpu_us_per_record": round(1e6 * pg_cpu / args.records, 1),
        # the bench client (httpx, one thread per connection) runs on the same 2 cores
        "client_cpu_us_per_record": round(1e6 * client_cpu / args.records, 1),
        # load-independent capacity: records per second if the server (and PostgreSQL) had 2 idle cores
        "projected_records_per_s_on_2_idle_cores": round(
            2 * args.records / max(1e-9, server_cpu + pg_cpu), 0
        ),
        "machine_cpu_busy_fraction": round(machine_busy, 2),
        "results": statuses,
        "resend_records_per_s": round(args.records / resend_wall, 1),
        "resend_results": resend_statuses,
        "retries_429_503": retries,
        "registrations_stored": registrations,
        "grants": grants,
        "generate_s": round(generate_s, 1),
        "crypto_floor_us_per_record_1_core": floor,
        "verify_steps_us_per_record_1_core": steps,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8, help="client connections (threads)")
    parser.add_argument("--kiosks", type=int, default=64, help="simulated kiosks (each sends in order)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--gen-procs", type=int, default=2)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-dsn",
        default=os.environ.get("MADOGUCHI_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:55432/postgres"),
    )
    args = parser.parse_args()
    runs = [run_engine(engine, args) for engine in args.engines.split(",")]
    print(
        json.dumps(
            {
                "benchmark": "server_ingest",
                "cpu_count": os.cpu_count(),
                "python": sys.version.split()[0],
                "runs": runs,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
