-- The outbox of connection.detected (docs/design.md, "Meetings"): the
-- owner of a zone queues the announcement of each meeting that starts in
-- the transaction that writes the meeting, once per event while it waits
-- (the event's id is connection-<location_id>-<other_id>); an announcer of
-- any replica takes the rows due, sends them, and deletes those the sink
-- accepted (and those whose meeting is gone by then); the others wait
-- longer after each refusal.
CREATE TABLE announcement (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    location_id bigint NOT NULL,   -- the report that started the meeting
    other_id    bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    person_id   bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,  -- the report's
    near_id     bigint NOT NULL,   -- the other's report held then
    started     timestamptz NOT NULL,   -- the meeting's, with the pair its key
    distance    double precision NOT NULL,
    queued      timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0,
    due         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (location_id, other_id)
);
-- The persons' rows, for the cascade.
CREATE INDEX announcement_person_idx ON announcement (person_id);
CREATE INDEX announcement_other_idx ON announcement (other_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON announcement TO udaconnect_connections;
