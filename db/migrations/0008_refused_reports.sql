-- Reports travel in groups (docs/design.md, "Ingest in groups"): locations
-- stores a group in one statement and keeps each report it refuses for good
-- as a dead letter of its own, beside those the Broker keeps. It may add
-- dead letters and set one it refused before waiting again, not read them:
-- the conflict key is all it sees.
GRANT INSERT ON dead_letter TO udaconnect_locations;
GRANT SELECT (event_source, event_id, destination), UPDATE (received_at, replayed_at) ON dead_letter TO udaconnect_locations;
