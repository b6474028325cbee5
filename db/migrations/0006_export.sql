-- A person's export (docs/design.md, "A person's data") holds their
-- meetings too: locations, which serves it, reads the meeting table.
GRANT SELECT ON meeting TO udaconnect_locations;
