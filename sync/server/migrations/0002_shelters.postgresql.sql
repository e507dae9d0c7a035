-- 0002 shelter check-ins (PostgreSQL). See docs/shelter.md §5 and sync/server/shelters.py.
-- One row per check-in record (arrival, departure, moved, companions). subject is the keyed hash
-- (hex) identifying the person of an arrival: the primary person key of the card certificate, a
-- keyed hash of the check-in card token, or the secondary key of a staff-typed kana name + birth
-- date. arrival_id is the arrival a row belongs to (its own record id for arrivals).
CREATE TABLE checkins (
    record_id   TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    checked_at  TIMESTAMPTZ NOT NULL,
    device_id   TEXT NOT NULL,
    shelter_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    method      TEXT NOT NULL,
    arrival_id  TEXT NOT NULL,
    subject     BYTEA,
    chain       TEXT,
    companions  INTEGER NOT NULL,
    moved_to    TEXT,
    flags       TEXT NOT NULL,
    envelope    BYTEA NOT NULL
);
CREATE INDEX checkins_arrival ON checkins (arrival_id, event);
CREATE INDEX checkins_subject ON checkins (subject, checked_at);
CREATE INDEX checkins_shelter ON checkins (shelter_id, event, checked_at);
CREATE INDEX checkins_checked ON checkins (checked_at);
-- Printed check-in cards: keyed hash of the token -> the registration it was issued with.
CREATE TABLE checkin_cards (
    token_hash             BYTEA PRIMARY KEY,
    registration_record_id TEXT NOT NULL,
    record_id              TEXT NOT NULL UNIQUE,
    issued_at              TIMESTAMPTZ NOT NULL
);
-- Disaster-response operators allowed to open names at the shelters (token shown once, hashed).
CREATE TABLE shelter_operators (
    name       TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
