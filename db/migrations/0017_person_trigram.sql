-- The people list's search (docs/design.md, "The web app"): each word in
-- the names or company, case aside, searched in one text of the three apart
-- by spaces (FindPersons). Its trigrams find the people of a rare word
-- without reading everyone; the statistics ANALYZE keeps of this index's
-- expression tell the planner how many a word finds, so that a common one
-- is read in name order through person_name_idx, a page at a time. People
-- are registered seldom and searched at every keystroke: each is indexed as
-- it is stored (fastupdate off), not kept in a pending list that every
-- search would read until a vacuum.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX person_search_idx ON person
    USING gin ((first_name || ' ' || last_name || ' ' || company_name) gin_trgm_ops)
    WITH (fastupdate = off);
