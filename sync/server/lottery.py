"""Lottery programmes: a deterministic draw from a published seed that anyone can re-run.

Entrants are identified by their registration codes (printed on each resident's receipt, no
personal data). The draw orders entrants by ``SHA-256(seed || 0x00 || code)`` and takes the first
``quota``; with no more entrants than the quota everyone wins (the Miyagi 2024 campaign: 157,161
entrants below the planned 200,000, so everyone received the points). To audit a draw, publish the
seed, the sorted entrant codes (their hash is in the result) and the winners' hash; anyone can
recompute :func:`select_winners` with any SHA-256 tool.

The draw runs on or after the programme's draw date (Asia/Tokyo), once: the ``lottery_draws`` row
closes the lottery (later registrations get ``lottery_closed``), and re-running with the same seed
returns the stored result while another seed is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk.rules.programs import JST, AwardKind, Program
from sync.server.audit import AuditEvent, append
from sync.server.db import Database, Dialect, as_datetime, insert_rows
from sync.server.decide import DECISION_LOCK, GRANT_COLUMNS, bump_counters, grant_row
from sync.server.errors import ServerError
from sync.server.outcomes import Decision, GrantVia


class LotteryError(ServerError):
    """Raised when a draw is asked for a programme that is not a lottery, before its draw date, or
    again with a different seed."""


def _score(seed: str, code: str) -> bytes:
    return hashlib.sha256(seed.encode("utf-8") + b"\x00" + code.encode("utf-8")).digest()


def draw_order(seed: str, codes: Sequence[str]) -> list[str]:
    """Entrant codes in draw order for ``seed`` (ties are impossible for distinct codes)."""
    return sorted(codes, key=lambda code: (_score(seed, code), code))


def select_winners(seed: str, codes: Sequence[str], quota: int) -> list[str]:
    """The winning codes, sorted: everyone when ``len(codes) <= quota``, else the first ``quota``."""
    if len(codes) <= quota:
        return sorted(codes)
    return sorted(draw_order(seed, codes)[:quota])


def list_hash(codes: Sequence[str]) -> str:
    """SHA-256 hex of the sorted codes joined by newlines: publish it with the list."""
    return hashlib.sha256("\n".join(sorted(codes)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DrawResult:
    """A draw's published facts (codes are not personal data)."""

    program_id: str
    seed: str
    quota: int
    entrants: int
    winners: int
    entrants_hash: str
    winners_hash: str
    drawn_at: datetime

    def to_json(self) -> dict[str, object]:
        """The published record of the draw."""
        return {
            "program_id": self.program_id,
            "seed": self.seed,
            "quota": self.quota,
            "entrants": self.entrants,
            "winners": self.winners,
            "entrants_hash": self.entrants_hash,
            "winners_hash": self.winners_hash,
            "drawn_at": self.drawn_at.isoformat(),
        }


def run_draw(
    db: Database,
    programs: Mapping[str, Program],
    program_id: str,
    *,
    seed: str,
    actor: str,
    now: datetime | None = None,
) -> DrawResult:
    """Draw ``program_id``'s lottery with ``seed``; grant the winners; close the lottery.

    :raises LotteryError: not a lottery, before the draw date, empty seed, or drawn with another seed.
    """
    program = programs.get(program_id)
    if program is None or program.award.kind is not AwardKind.LOTTERY:
        raise LotteryError(f"{program_id!r} is not a lottery programme")
    quota, draw_date = program.award.quota, program.award.draw_date
    if quota is None or draw_date is None:
        raise LotteryError(f"{program_id!r} has no quota or draw date")
    if not seed.strip():
        raise LotteryError("the seed must not be empty")
    moment = now or datetime.now(UTC)
    if moment.astimezone(JST).date() < draw_date:
        raise LotteryError(f"the draw of {program_id!r} is on {draw_date.isoformat()}")
    with db.transaction(exclusive=True) as tx:
        if db.dialect is Dialect.POSTGRES:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (DECISION_LOCK,))
        done = tx.one(
            "SELECT seed, quota, entrants, winners, result_hash, drawn_at FROM lottery_draws "
            "WHERE program_id = ?",
            (program_id,),
        )
        if done is not None:
            if done[0] != seed:
                raise LotteryError(f"{program_id!r} was already drawn with another seed")
            entrants_hash, winners_hash = str(done[4]).split(":")
            return DrawResult(
                program_id,
                seed,
                int(done[1]),
                int(done[2]),
                int(done[3]),
                entrants_hash,
                winners_hash,
                as_datetime(done[5]),
            )
        rows = tx.execute(
            "SELECT e.code, e.person_id, e.record_id, r.municipality FROM lottery_entries e "
            "JOIN registrations r ON r.record_id = e.record_id WHERE e.program_id = ?",
            (program_id,),
        )
        entries = {str(code): (str(person), str(record), str(muni)) for code, person, record, muni in rows}
        codes = sorted(entries)
        winners = select_winners(seed, codes, quota)
        winner_set = set(winners)
        grants = [
            grant_row(program, entries[c][0], entries[c][1], c, entries[c][2], moment, GrantVia.LOTTERY)
            for c in winners
        ]
        insert_rows(tx, "grants", GRANT_COLUMNS, grants)
        bump_counters(tx, db.dialect, {program_id: (len(winners), len(winners) * program.award.points)})
        for decision, chosen in (
            (Decision.LOTTERY_WON, winners),
            (Decision.LOTTERY_LOST, [c for c in codes if c not in winner_set]),
        ):
            ids = [entries[c][1] for c in chosen]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                frag, params = tx.any_of(chunk)
                for table in ("registrations", "records"):
                    sql = f"UPDATE {table} SET decision = ? WHERE record_id {frag}"  # noqa: S608
                    tx.execute(sql, [decision.value, *params])
        result = DrawResult(
            program_id, seed, quota, len(codes), len(winners), list_hash(codes), list_hash(winners), moment
        )
        tx.execute(
            "INSERT INTO lottery_draws (program_id, seed, drawn_at, quota, entrants, winners, result_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                program_id,
                seed,
                moment,
                quota,
                len(codes),
                len(winners),
                f"{result.entrants_hash}:{result.winners_hash}",
            ),
        )
        append(tx, db.dialect, [AuditEvent("lottery.draw", actor, result.to_json())], at=moment)
    return result
