"""Shelter check-in benchmark (issue 15's closing note), JSON on stdout.

1. ``card``: the PIN-less tap over real pcscd + vpcd (``Virtual PCD 00 00``): APDUs, bytes and
   wall time of :func:`card.pinless.read_auth_certificate_pinless` per tap (median of ``--runs``),
   plus the real-card model of ``bench/card_session.py`` (same stated assumptions: per-APDU
   turnaround, 212 kbit/s air, no card signature). Skipped with a reason when pcscd is absent.
2. ``kiosk``: check-ins per minute one kiosk's software can take: the real desk, real outbox
   (HPKE seal + Ed25519 + SQLite ``synchronous=FULL`` commit) and local state, for card taps
   (in-process virtual card: PIN-less read, chain check) and for printed codes. The person at the
   desk is the real limit; this is the ceiling the software puts on it.
3. ``server``: 10,000 check-ins in 50 shelters (``--checkins``, ``--shelters``) sealed, ingested
   through :class:`sync.server.shelters.ShelterIngestor` (not timed), then the list queries timed
   (median of ``--runs``): the per-shelter summary (headcount, breakdown, arrivals per hour) and one
   shelter's evacuee list without names. On SQLite, and on PostgreSQL when ``--pg-dsn`` or
   ``$MADOGUCHI_TEST_PG_DSN`` is set (a throw-away schema).

Run: ``.venv/bin/python bench/checkin.py [--runs 20] [--checkins 10000] [--shelters 50]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "shelter")]

from card.pinless import read_auth_certificate_pinless  # noqa: E402
from card.trust import load_trust_store  # noqa: E402
from card.virtual.card import VirtualMyNumberCard  # noqa: E402
from card.virtual.inprocess import InProcessConnection  # noqa: E402
from card.virtual.persona import load_persona  # noqa: E402

PERSONAS = ["miyagi-sendai", "miyagi-elderly", "miyagi-long-address", "tochigi-utsunomiya", "miyagi-sex-9"]
TRUST = load_trust_store(ROOT / "config" / "kiosk.demo.toml")


def bench_card(runs: int) -> dict[str, Any]:
    """PIN-less taps over pcscd + vpcd."""
    try:
        from bench.card_session import READER, modelled_ms, wait_state
        from card.pcsc import PcscContext
        from card.virtual.vpcd import DEFAULT_PORT, VpcdCard
        from kiosk.demo_support import vpcd_lock
    except ImportError as exc:  # pragma: no cover - missing pyscard
        return {"skipped": f"import: {exc}"}
    card = VirtualMyNumberCard(load_persona("miyagi-sendai"))
    times: list[float] = []
    traffic = None
    try:
        with vpcd_lock(), PcscContext() as context:
            wait_state(context, present=False)
            vpcd = VpcdCard(card, port=DEFAULT_PORT)
            vpcd.insert()
            try:
                wait_state(context, present=True)
                for _ in range(runs):
                    conn = context.open_card(READER)
                    start = time.perf_counter()
                    read = read_auth_certificate_pinless(conn, TRUST)
                    times.append(time.perf_counter() - start)
                    conn.close()
                    traffic = read.traffic
            finally:
                vpcd.remove()
    except Exception as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    assert traffic is not None
    byte_count = traffic.bytes_sent + traffic.bytes_received
    kinds = sorted({(e.ap, e.ins) for e in card.access_log})
    return {
        "apdus": traffic.apdus,
        "bytes_sent": traffic.bytes_sent,
        "bytes_received": traffic.bytes_received,
        "wall_ms_median_vpcd": round(statistics.median(times) * 1000, 2),
        "modelled_real_card_ms": modelled_ms(traffic.apdus, byte_count, 0),
        "access_log_ap_ins": [[ap, f"{ins:02X}"] for ap, ins in kinds],
        "runs": runs,
    }


def bench_kiosk(n: int) -> dict[str, Any]:
    """Check-ins per minute through the real desk + outbox + local state."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from deskkit import make_desk

    from kiosk.shelter import CardIdentity
    from kiosk.shelter_card import new_token
    from sync import wire
    from sync.device_keys import DeviceStore
    from sync.outbox import OUTBOX_FILE, Outbox

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store = DeviceStore(data)
        store.load_or_create_device_key()
        raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        store.pin_server("http://127.0.0.1:1", wire.EnrollResponse("dev", raw, wire.SUITE_ID))
        box = Outbox.open(data / OUTBOX_FILE, sealer=store.sealer("bench-kiosk"))
        desk = make_desk(data, box, kiosk_id="bench-kiosk")
        cards = [VirtualMyNumberCard(load_persona(p)) for p in PERSONAS]
        start = time.perf_counter()
        for i in range(n):
            card = cards[i % len(cards)]
            read = read_auth_certificate_pinless(InProcessConnection(card), TRUST)
            ident = CardIdentity(read.certificate.der, read.issuer_der, read.serial, read.chain.value)
            outcome = desk.tap_card(ident)
            if not hasattr(outcome, "record_id"):  # already here: check out (a second queued record)
                desk.check_out(outcome)  # type: ignore[arg-type]
        card_s = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(n):
            desk.scan_code(new_token())
        code_s = time.perf_counter() - start
        box.close()
    out["card_taps_per_minute"] = round(n / card_s * 60)
    out["card_tap_ms"] = round(card_s / n * 1000, 2)
    out["codes_per_minute"] = round(n / code_s * 60)
    out["code_ms"] = round(code_s / n * 1000, 2)
    out["n"] = n
    return out


def _populate(ctx: Any, checkins: int, shelters: int, seed: int = 15) -> dict[str, int]:
    """Seal ``checkins`` shelter records from 50 kiosks and ingest them (not timed)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from kiosk.rules.record import KioskStamp
    from kiosk.rules.shelter_record import CHECKIN_PROGRAM_ID, CheckinRecord, Event, Method, Unverified
    from kiosk.shelter_card import new_token
    from sync.sealing import seal
    from sync.server.devices import enroll, issue_token
    from sync.server.shelters import ShelterIngestor
    from tests.server.factory import persona_certificate

    rng = random.Random(seed)
    server_pub = ctx.keys.hpke_private_key.public_key()
    ingestor = ShelterIngestor(ctx)
    certs = [persona_certificate(p) for p in PERSONAS]
    now = dt.datetime.now(dt.UTC)
    counts = {"arrival": 0, "departure": 0, "companions": 0}
    per = checkins // shelters
    for s in range(shelters):
        kiosk_id = f"bench-shelter-{s:02d}"
        key = Ed25519PrivateKey.generate()
        enroll(
            ctx.db,
            issue_token(ctx.db, kiosk_id),
            kiosk_id,
            key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
        )
        envelopes = []
        arrivals: list[tuple[str, Method]] = []
        for i in range(per):
            clock = now - dt.timedelta(minutes=rng.randrange(0, 72 * 60))
            stamp = KioskStamp(kiosk_id, clock, i + 1)
            rid = str(uuid.uuid4())
            roll = rng.random()
            if arrivals and roll < 0.15:
                ref, method = arrivals.pop(rng.randrange(len(arrivals)))
                rec = CheckinRecord(rid, Event.DEPARTURE, f"shelter-{s:02d}", method, stamp, refers_to=ref)
                counts["departure"] += 1
            elif arrivals and roll < 0.20:
                ref, method = arrivals[rng.randrange(len(arrivals))]
                rec = CheckinRecord(
                    rid,
                    Event.COMPANIONS,
                    f"shelter-{s:02d}",
                    method,
                    stamp,
                    companions=rng.randint(1, 3),
                    refers_to=ref,
                )
                counts["companions"] += 1
            else:
                kind = rng.random()
                if kind < 0.1:
                    rec = CheckinRecord(
                        rid,
                        Event.ARRIVAL,
                        f"shelter-{s:02d}",
                        Method.CARD,
                        stamp,
                        auth_certificate=rng.choice(certs),
                        chain="verified",
                    )
                elif kind < 0.8:
                    rec = CheckinRecord(
                        rid, Event.ARRIVAL, f"shelter-{s:02d}", Method.CODE, stamp, token=new_token()
                    )
                else:
                    birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30000))
                    rec = CheckinRecord(
                        rid,
                        Event.ARRIVAL,
                        f"shelter-{s:02d}",
                        Method.STAFF,
                        stamp,
                        unverified=Unverified("ヒナン\u3000" + "アイウエオ"[i % 5] * (1 + i % 7), birth),
                    )
                arrivals.append((rid, rec.method))
                counts["arrival"] += 1
            envelopes.append(
                seal(
                    rec.plaintext(),
                    record_id=rid,
                    kiosk_id=kiosk_id,
                    seq=i + 1,
                    program_id=CHECKIN_PROGRAM_ID,
                    server_public_key=server_pub,
                    device_key=key,
                    created_at=clock,
                )
            )
        pub = key.public_key()
        for start in range(0, len(envelopes), 500):
            ingestor.ingest(kiosk_id, pub, envelopes[start : start + 500], now)
    return counts


def bench_server(url: str, checkins: int, shelters: int, runs: int) -> dict[str, Any]:
    from serverkit import build_context

    from kiosk.rules.shelter_config import Shelter
    from sync.server import shelters as shelter_lists

    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Path(tmp), url or f"sqlite:///{Path(tmp) / 'server.sqlite3'}")
        try:
            start = time.perf_counter()
            counts = _populate(ctx, checkins, shelters)
            populate_s = time.perf_counter() - start
            known = {
                f"shelter-{i:02d}": Shelter(f"shelter-{i:02d}", {"ja": f"避難所{i}"}, "宮城県石巻市", 500)
                for i in range(shelters)
            }
            summary_times, list_times = [], []
            for _ in range(runs):
                t = time.perf_counter()
                rows = shelter_lists.summary(ctx.db, known)
                summary_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                shelter_lists.evacuees(ctx.db, ctx.keys, "shelter-07")
                list_times.append(time.perf_counter() - t)
            return {
                "checkins": sum(counts.values()),
                "by_event": counts,
                "shelters": shelters,
                "headcount_total": sum(r["headcount"] for r in rows),
                "ingest_s_untimed_setup": round(populate_s, 1),
                "summary_ms_median": round(statistics.median(summary_times) * 1000, 1),
                "summary_ms_max": round(max(summary_times) * 1000, 1),
                "one_shelter_list_ms_median": round(statistics.median(list_times) * 1000, 1),
                "runs": runs,
            }
        finally:
            ctx.close()


def _pg_url(dsn: str) -> tuple[str, str]:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options={quote(f'-csearch_path={schema}')}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kiosk-n", type=int, default=300)
    parser.add_argument("--checkins", type=int, default=10_000)
    parser.add_argument("--shelters", type=int, default=50)
    parser.add_argument("--pg-dsn", default=os.environ.get("MADOGUCHI_TEST_PG_DSN"))
    parser.add_argument("--skip-card", action="store_true")
    args = parser.parse_args()
    import logging

    logging.getLogger("kiosk.rules.programs").setLevel(logging.ERROR)  # the test programme's fallbacks
    result: dict[str, Any] = {"bench": "checkin"}
    result["card"] = {"skipped": "--skip-card"} if args.skip_card else bench_card(args.runs)
    result["kiosk"] = bench_kiosk(args.kiosk_n)
    result["server_sqlite"] = bench_server("", args.checkins, args.shelters, args.runs)
    if args.pg_dsn:
        import psycopg

        url, schema = _pg_url(args.pg_dsn)
        try:
            result["server_postgresql"] = bench_server(url, args.checkins, args.shelters, args.runs)
        finally:
            with psycopg.connect(args.pg_dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
