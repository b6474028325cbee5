-- An announcement's persons and reports are read when it is sent, and one
-- whose meeting is gone then is dropped, not sent (docs/design.md,
-- "Meetings"). So the outbox needs no foreign keys to person: their checks
-- were most of the cost of queuing a start (11.7 µs a row with them, 4.6
-- without, measured alone), and a crowd starts several meetings a report.
-- Deleting a person deletes their announcements in the same transaction,
-- through the persons' indexes, which stay: that costs what the person's
-- announcements do, however long the outbox (a sink away for an hour).
ALTER TABLE announcement
    DROP CONSTRAINT announcement_other_id_fkey,
    DROP CONSTRAINT announcement_person_id_fkey;
GRANT SELECT (person_id, other_id), DELETE ON announcement TO udaconnect_persons;
