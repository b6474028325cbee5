-- The people list is read a page at a time in name order (docs/design.md,
-- "The web app"): each page starts where the last one ended, through this
-- index.
CREATE INDEX person_name_idx ON person (last_name, first_name, id);
