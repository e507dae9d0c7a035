-- 0004 evacuation-notice contacts (PostgreSQL): the latest madoguchi.contact/1 record per registration,
-- kept sealed (the phone number is only in the envelope). docs/shelter.md §5.
CREATE TABLE shelter_contacts (
    registration_record_id TEXT PRIMARY KEY,
    record_id              TEXT NOT NULL,
    given_at               TIMESTAMPTZ NOT NULL,
    withdrawn              INTEGER NOT NULL,
    envelope               BYTEA NOT NULL
);
