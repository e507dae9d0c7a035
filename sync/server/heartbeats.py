"""The server side of the kiosk heartbeat (issue 10 item 5; the wire form is in :mod:`sync.heartbeat`).

One row per device (the newest heartbeat), so the table stays as small as the fleet. A heartbeat
older than or as old as the stored one is refused (409): a replayed or reordered heartbeat cannot
make a silent kiosk look alive. ``server_offset_ms`` is the server's own measure of the kiosk
clock (``sent_at - received_at``, network delay included), next to the kiosk's estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sync.heartbeat import Heartbeat
from sync.server.db import Database, as_datetime
from sync.server.errors import ServerError

#: ``madoguchi server devices`` flags a kiosk with no heartbeat or upload for this long.
DEFAULT_STALE_AFTER = timedelta(minutes=30)
#: A heartbeat dated further than this after its receive time is refused (its clock is wrong).
MAX_AHEAD = timedelta(minutes=10)


class StaleHeartbeatError(ServerError):
    """Raised when a heartbeat is not newer than the device's stored one, or dated in the future."""


def record_heartbeat(db: Database, device_id: str, heartbeat: Heartbeat, received_at: datetime) -> None:
    """Store ``heartbeat`` as ``device_id``'s newest.

    :raises StaleHeartbeatError: not newer than the stored one, or dated beyond :data:`MAX_AHEAD`.
    """
    if heartbeat.sent_at - received_at > MAX_AHEAD:
        raise StaleHeartbeatError("heartbeat dated in the future")
    offset_ms = round((heartbeat.sent_at - received_at).total_seconds() * 1000)
    row = (
        received_at,
        heartbeat.sent_at,
        offset_ms,
        heartbeat.version,
        heartbeat.queue_depth,
        heartbeat.oldest_queued_s,
        heartbeat.reader_state,
        heartbeat.clock_offset_ms,
        heartbeat.last_error,
    )
    with db.transaction(exclusive=True) as tx:
        prior = tx.one("SELECT sent_at FROM device_heartbeats WHERE device_id = ?", (device_id,))
        if prior is not None:
            if as_datetime(prior[0]) >= heartbeat.sent_at:
                raise StaleHeartbeatError("heartbeat not newer than the stored one")
            tx.execute(
                "UPDATE device_heartbeats SET received_at = ?, sent_at = ?, server_offset_ms = ?, "
                "version = ?, queue_depth = ?, oldest_queued_s = ?, reader_state = ?, "
                "clock_offset_ms = ?, last_error = ? WHERE device_id = ?",
                (*row, device_id),
            )
        else:
            tx.execute(
                "INSERT INTO device_heartbeats (received_at, sent_at, server_offset_ms, version, "
                "queue_depth, oldest_queued_s, reader_state, clock_offset_ms, last_error, device_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, device_id),
            )


@dataclass(frozen=True)
class DeviceStatus:
    """One line of ``madoguchi server devices``: the device, its newest heartbeat, whether it is silent."""

    device_id: str
    name: str
    revoked: bool
    last_seen: datetime | None
    not_seen: bool
    heartbeat: dict[str, object] | None

    def to_json(self) -> dict[str, object]:
        """Operator view (no personal data)."""
        return {
            "device_id": self.device_id,
            "name": self.name,
            "revoked": self.revoked,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "not_seen": self.not_seen,
            "heartbeat": self.heartbeat,
        }


def device_statuses(
    db: Database, *, now: datetime | None = None, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> list[DeviceStatus]:
    """Every device with its newest heartbeat; ``not_seen`` when neither a heartbeat nor an upload
    arrived within ``stale_after`` (revoked devices are never flagged: they are meant to be silent)."""
    moment = now or datetime.now(UTC)
    with db.transaction() as tx:
        rows = tx.execute(
            "SELECT d.device_id, d.name, d.revoked_at, d.enrolled_at, h.received_at, h.version, "
            "h.queue_depth, h.oldest_queued_s, h.reader_state, h.clock_offset_ms, h.server_offset_ms, "
            "h.last_error, (SELECT MAX(r.received_at) FROM records r WHERE r.device_id = d.device_id) "
            "FROM devices d LEFT JOIN device_heartbeats h ON h.device_id = d.device_id "
            "ORDER BY d.device_id"
        )
    out: list[DeviceStatus] = []
    for (
        device_id,
        name,
        revoked_at,
        enrolled_at,
        hb_at,
        version,
        depth,
        oldest,
        reader,
        kiosk_offset,
        server_offset,
        last_error,
        last_upload,
    ) in rows:
        seen = [as_datetime(v) for v in (hb_at, last_upload) if v is not None]
        last_seen = max(seen) if seen else None
        since = last_seen or as_datetime(enrolled_at)
        heartbeat = (
            {
                "received_at": as_datetime(hb_at).isoformat(),
                "version": str(version),
                "queue_depth": int(depth),
                "oldest_queued_s": int(oldest) if oldest is not None else None,
                "reader_state": str(reader),
                "clock_offset_ms": int(kiosk_offset) if kiosk_offset is not None else None,
                "server_offset_ms": int(server_offset),
                "last_error": str(last_error) if last_error is not None else None,
            }
            if hb_at is not None
            else None
        )
        out.append(
            DeviceStatus(
                device_id=str(device_id),
                name=str(name),
                revoked=revoked_at is not None,
                last_seen=last_seen,
                not_seen=revoked_at is None and moment - since > stale_after,
                heartbeat=heartbeat,
            )
        )
    return out
