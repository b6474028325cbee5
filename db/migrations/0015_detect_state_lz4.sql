-- A zone's snapshot is written again at every checkpoint: some 40 MB for a
-- hall of 2,000 people and 200 to 450 MB for one of 10,000. lz4 compresses
-- it nearly as well as pglz, the default (137 against 130 MB), for about
-- half of the server's CPU or less (docs/scaling.md, "Checkpoints").
ALTER TABLE detect_state ALTER COLUMN state SET COMPRESSION lz4;
