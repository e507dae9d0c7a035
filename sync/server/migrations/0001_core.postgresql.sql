-- 0001 core schema (PostgreSQL). registrations is range-partitioned by month of received_at.
CREATE TABLE devices (
    device_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    public_key    BYTEA NOT NULL,
    enrolled_at   TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    last_sequence BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE enrollment_tokens (
    token_hash  BYTEA PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    device_id   TEXT
);
CREATE TABLE records (
    record_id   TEXT PRIMARY KEY,
    code        TEXT,
    device_id   TEXT NOT NULL,
    sequence    BIGINT NOT NULL,
    program_id  TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    envelope_hash BYTEA NOT NULL,
    outcome     TEXT NOT NULL,
    reason      TEXT,
    decision    TEXT
);
CREATE INDEX records_code ON records (code);
CREATE INDEX records_device_sequence ON records (device_id, sequence);
CREATE TABLE registrations (
    record_id        TEXT NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    registered_at    TIMESTAMPTZ NOT NULL,
    code             TEXT NOT NULL,
    program_id       TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    person_id        TEXT NOT NULL,
    prefecture       TEXT NOT NULL,
    municipality     TEXT NOT NULL,
    decision         TEXT NOT NULL,
    decision_reason  TEXT,
    flags            TEXT NOT NULL,
    cert_fingerprint BYTEA NOT NULL,
    envelope         BYTEA NOT NULL,
    PRIMARY KEY (record_id, received_at)
) PARTITION BY RANGE (received_at);
-- Rows of a month without its own partition land here; the server creates monthly partitions ahead
-- of time (sync/server/partitions.py), so this stays empty in normal operation.
-- The envelope is ciphertext: never worth compressing, so skip the TOAST compression attempt.
ALTER TABLE registrations ALTER COLUMN envelope SET STORAGE EXTERNAL;
CREATE TABLE registrations_default PARTITION OF registrations DEFAULT;
CREATE INDEX registrations_person ON registrations (person_id);
CREATE TABLE person_keys (
    kind         TEXT NOT NULL,
    key_hash     BYTEA NOT NULL,
    person_id    TEXT NOT NULL,
    address_hash BYTEA,
    created_at   TIMESTAMPTZ NOT NULL,
    -- key_hash first: lookups are by hash alone (a hash is unique across kinds: distinct HMAC labels)
    PRIMARY KEY (key_hash, kind)
);
CREATE INDEX person_keys_person ON person_keys (person_id);
-- slot = person_id for one-grant-per-person programmes, else record_id: the unique constraint
-- enforces "one grant per person" in the database itself, not only in the deciding code.
CREATE TABLE grants (
    record_id  TEXT PRIMARY KEY,
    program_id TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    slot       TEXT NOT NULL,
    code       TEXT NOT NULL,
    municipality TEXT NOT NULL,
    points     BIGINT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    via        TEXT NOT NULL,
    UNIQUE (program_id, slot)
);
CREATE INDEX grants_person ON grants (person_id);
CREATE INDEX grants_granted ON grants (granted_at);
CREATE TABLE program_counters (
    program_id TEXT PRIMARY KEY,
    grants     BIGINT NOT NULL DEFAULT 0,
    points     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE lottery_entries (
    program_id TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    record_id  TEXT NOT NULL UNIQUE,
    code       TEXT NOT NULL,
    entered_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (program_id, person_id)
);
CREATE INDEX lottery_entries_person ON lottery_entries (person_id);
CREATE TABLE lottery_draws (
    program_id  TEXT PRIMARY KEY,
    seed        TEXT NOT NULL,
    drawn_at    TIMESTAMPTZ NOT NULL,
    quota       BIGINT NOT NULL,
    entrants    BIGINT NOT NULL,
    winners     BIGINT NOT NULL,
    result_hash TEXT NOT NULL
);
CREATE TABLE review_queue (
    review_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id         TEXT NOT NULL UNIQUE,
    program_id        TEXT NOT NULL,
    person_id         TEXT NOT NULL,
    matched_person_id TEXT NOT NULL,
    reason            TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    resolved_at       TIMESTAMPTZ,
    resolution        TEXT
);
CREATE TABLE exclusions (
    list_id     TEXT NOT NULL,
    key_hash    BYTEA NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_hash, list_id)
);
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash      BYTEA NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
