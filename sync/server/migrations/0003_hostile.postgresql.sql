-- 0003 (issue 14 and issue 10 item 5), PostgreSQL.
-- A registration code names one record: a second record with the same code is refused
-- ("code_collision"), never stored as a second row the status lookup cannot tell apart.
DROP INDEX records_code;
CREATE UNIQUE INDEX records_code ON records (code);
-- The clock policy's lower bound: the kiosk clock of the device's newest accepted record.
ALTER TABLE devices ADD COLUMN last_registered_at TIMESTAMPTZ;
-- The newest heartbeat per device (no personal data: see sync/heartbeat.py).
CREATE TABLE device_heartbeats (
    device_id        TEXT PRIMARY KEY REFERENCES devices (device_id),
    received_at      TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ NOT NULL,
    server_offset_ms BIGINT NOT NULL,
    version          TEXT NOT NULL,
    queue_depth      BIGINT NOT NULL,
    oldest_queued_s  BIGINT,
    reader_state     TEXT NOT NULL,
    clock_offset_ms  BIGINT,
    last_error       TEXT
);
