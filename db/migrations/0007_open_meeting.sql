-- The open meetings of a person, from either side of the pair: detection
-- looks up those that a new report of theirs leaves behind, a few per
-- person, where all of a person's meetings are hundreds by the end of a
-- day.
CREATE INDEX meeting_a_open_idx ON meeting (person_a, last_seen) WHERE merged_into IS NULL AND NOT ended;
CREATE INDEX meeting_b_open_idx ON meeting (person_b, last_seen) WHERE merged_into IS NULL AND NOT ended;
