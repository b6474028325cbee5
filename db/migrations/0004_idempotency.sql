-- Idempotency keys (README, "Limits"): a person or a report is
-- stored once per event (source and id), and with it the SHA-256 of the
-- request that carried it, so that the same key sent again with another
-- request is refused (422) rather than answered with the first one. Rows
-- stored before have none and are not compared. The functions' table
-- rights (0002_access.sql) cover the new column: persons and locations
-- insert and read it, connections never reads it.
ALTER TABLE person ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);
ALTER TABLE location ADD COLUMN request_hash bytea CHECK (octet_length(request_hash) = 32);
