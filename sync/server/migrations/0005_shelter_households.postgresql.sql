-- 0005 households (PostgreSQL): an arrival may name the arrival of the household member the person
-- came with (a companion who tapped a card of their own). docs/shelter.md §2.
ALTER TABLE checkins ADD COLUMN household TEXT;
