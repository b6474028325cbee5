-- Detection off the ingest path (docs/design.md, "Meetings"): locations
-- queues the reports it stores in detect_backlog in the statement that
-- stores them, so a stored report is a report queued for detection; the
-- owner of each zone in connections applies the rows to its detector, and
-- deletes them with the detector's snapshot (detect_state) saved in the
-- same transaction.
CREATE TABLE detect_backlog (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zone         integer NOT NULL CHECK (zone >= 0),
    location_ids bigint[] NOT NULL,
    recorded     timestamptz NOT NULL DEFAULT now()
);
-- A zone's rows, oldest first.
CREATE INDEX detect_backlog_zone_idx ON detect_backlog (zone, id);

-- A zone's detector: its snapshot as of the last checkpoint (NULL before
-- the first), and what its owner last said of it, for the lag route.
CREATE TABLE detect_state (
    zone            integer PRIMARY KEY CHECK (zone >= 0),
    state           bytea,
    saved           timestamptz,
    current_to      timestamptz,   -- the detector's time
    backlog_reports bigint NOT NULL DEFAULT 0,
    oldest          timestamptz,   -- when the oldest row not yet applied was recorded
    reported        timestamptz NOT NULL DEFAULT now()
);

-- What a zone's owner wrote to the meeting table since its checkpoint: the
-- row as it was before (NULL: the owner inserted it). An owner that takes
-- the zone over puts those rows back before it restores the checkpoint and
-- applies the rows after it, so that the meetings are what the checkpoint
-- saw and the replay changes them as the first run did, whatever order the
-- rows come in this time.
CREATE TABLE detect_undo (
    zone       integer NOT NULL,
    meeting_id bigint NOT NULL,
    before     jsonb,
    PRIMARY KEY (zone, meeting_id)
);

-- Meetings are co-presence now: together_s is the time the two were
-- together, gaps excluded. A meeting is known by its pair and start; the
-- merged tombstones keep theirs but no longer count.
ALTER TABLE meeting ADD COLUMN together_s double precision NOT NULL DEFAULT 0 CHECK (together_s >= 0);
DROP INDEX meeting_pair_idx, meeting_a_open_idx, meeting_b_open_idx;
CREATE UNIQUE INDEX meeting_key_idx ON meeting (person_a, person_b, started) WHERE merged_into IS NULL;

-- The meetings of the former definition go, and every stored report is
-- detected again, in the order of time, a thousand to a row.
DELETE FROM meeting;
INSERT INTO detect_backlog (zone, location_ids)
SELECT 0, array_agg(id ORDER BY creation_time, id)
FROM (SELECT id, creation_time, (row_number() OVER (ORDER BY creation_time, id) - 1) / 1000 AS chunk FROM location) l
GROUP BY chunk
ORDER BY chunk;

-- locations only queues; connections reads and deletes the backlog and
-- keeps the detectors' state.
GRANT INSERT ON detect_backlog TO udaconnect_locations;
GRANT SELECT, DELETE ON detect_backlog TO udaconnect_connections;
GRANT SELECT, INSERT, UPDATE ON detect_state TO udaconnect_connections;
GRANT SELECT, INSERT, DELETE ON detect_undo TO udaconnect_connections;
