-- A meeting that only grows (later last seen, closer, its centroid moved)
-- changes no indexed column and keeps its version, so that PostgreSQL
-- updates it in place on its page (a heap-only tuple), without a new entry
-- in any index: most of detection's writes at a crowded booth. The indexes
-- that held last_seen hold started instead, and the pages keep room for the
-- new versions of their rows.
DROP INDEX meeting_pair_idx, meeting_a_open_idx, meeting_b_open_idx;
-- A pair's meetings around a time, to extend, merge or end them.
CREATE INDEX meeting_pair_idx ON meeting (person_a, person_b, started) WHERE merged_into IS NULL;
-- The open meetings of a person, from either side of the pair: a few.
CREATE INDEX meeting_a_open_idx ON meeting (person_a) WHERE merged_into IS NULL AND NOT ended;
CREATE INDEX meeting_b_open_idx ON meeting (person_b) WHERE merged_into IS NULL AND NOT ended;
ALTER TABLE meeting SET (fillfactor = 70);
