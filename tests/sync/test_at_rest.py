"""At rest: after queueing every persona's registration, no file of the outbox (database, WAL,
shared memory, journal) nor the key files contain a name, an address or a birth date, searched as
UTF-8, UTF-16-LE and UTF-16-BE bytes. A control proves the search finds them when present."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from realserver import signed_plaintext
from synctest import KIOSK_ID

from card.virtual.persona import list_personas, load_persona
from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox, Settlement


def _needles(values: list[str]) -> list[bytes]:
    out = []
    for v in values:
        for enc in ("utf-8", "utf-16-le", "utf-16-be"):
            out.append(v.encode(enc))
    return out


def _persona_values() -> tuple[list[str], list[str]]:
    """(needle strings of every persona, persona names)."""
    values: list[str] = []
    records: list[str] = []
    for name in list_personas():
        p = load_persona(name)
        birth = p.birth_date.isoformat()
        values += [p.name, p.address, birth, birth.replace("-", ""), p.my_number]
        # Also the parts of a name and address (family name, street part), which are long enough to be
        # unambiguous, in case a field were stored split.
        values += [part for part in p.name.replace("\u3000", " ").split(" ") if len(part) >= 2]
        records.append(name)
    return sorted(set(values), key=len, reverse=True), records


def _scan(paths: list[Path], needles: list[bytes]) -> list[tuple[str, int]]:
    hits = []
    for path in paths:
        if path.exists():
            blob = path.read_bytes()
            hits += [(path.name, i) for i, n in enumerate(needles) if n in blob]
    return hits


def _files(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file())


def test_no_personal_data_at_rest(outbox: Outbox, data_dir: Path, store: DeviceStore) -> None:
    values, records = _persona_values()
    assert len(records) >= 5
    needles = _needles(values)
    ids = []
    for i, persona_name in enumerate(records):
        # The real thing: the record built by kiosk.rules.record and signed with the persona's card key.
        rid, plaintext = signed_plaintext(KIOSK_ID, i + 1, persona_name=persona_name)
        assert load_persona(persona_name).name.encode() in plaintext  # the clear text really had it
        outbox.enqueue(plaintext, record_id=rid, program_id="demo")
        ids.append(rid)
    # Exercise every state so each code path has written pages: SENDING, REJECTED, deleted.
    outbox.claim(max_records=3)
    outbox.settle(Settlement(accepted=[ids[0]], rejected={ids[1]: "card_signature"}))
    files = _files(data_dir)
    names = {p.name for p in files}
    assert {OUTBOX_FILE, OUTBOX_FILE + "-wal", OUTBOX_FILE + "-shm"} <= names
    assert _scan(files, needles) == []
    # After close (checkpoint of the WAL into the database file) as well.
    outbox.close()
    assert _scan(_files(data_dir), needles) == []
    # And with a rollback journal (an operator could open the file in DELETE mode).
    conn = sqlite3.connect(data_dir / OUTBOX_FILE)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("BEGIN")
    conn.execute("UPDATE outbox SET attempts = attempts + 1")
    journal = data_dir / (OUTBOX_FILE + "-journal")
    assert journal.exists()
    assert _scan([journal, data_dir / OUTBOX_FILE], needles) == []
    conn.rollback()
    conn.close()
    Outbox.open(data_dir / OUTBOX_FILE).close()  # back to WAL for the fixture's close


def test_control_the_scan_finds_clear_text(tmp_path: Path) -> None:
    """The same scan on a database that stores a persona in clear (UTF-8 and UTF-16) finds it."""
    values, _ = _persona_values()
    needles = _needles(values)
    for encoding in ("UTF-8", "UTF-16le", "UTF-16be"):
        path = tmp_path / f"clear-{encoding}.db"
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA encoding='{encoding}'")
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES (?)", (values[0],))
        conn.commit()
        conn.close()
        assert _scan([path], needles), encoding
