-- Access (docs/design.md, "Access"): each function connects as a role of its
-- own with only the rights it needs; the migrator, the database owner, owns
-- the schema. The roles are created without login here; the migrate command
-- gives each its password (and login) from the environment.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['udaconnect_persons', 'udaconnect_locations', 'udaconnect_connections'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- roles belong to the server: another database made it
        END;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO udaconnect_persons, udaconnect_locations, udaconnect_connections;

-- persons registers people and issues their token generations.
GRANT SELECT, INSERT, UPDATE ON person TO udaconnect_persons;
-- locations stores reports of known people.
GRANT SELECT, INSERT ON location TO udaconnect_locations;
GRANT SELECT ON person TO udaconnect_locations;
-- connections only reads.
GRANT SELECT ON person, location TO udaconnect_connections;

-- A person's tokens are of this generation; issuing a new token raises it,
-- which revokes every token of an earlier generation.
ALTER TABLE person ADD COLUMN token_generation bigint NOT NULL DEFAULT 1 CHECK (token_generation > 0);
