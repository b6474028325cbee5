-- An announcement's persons and reports are read when it is sent, and one
-- whose meeting is gone then is dropped, not sent (docs/design.md,
-- "Meetings"). So the outbox needs no foreign keys to person: their checks
-- and indexes were most of the cost of queuing a start (11.7 µs a row with
-- them, 2.5 without), and a crowd starts several meetings a report.
-- Deleting a person deletes their announcements in the same transaction,
-- by a scan of the outbox, which is short and the deletion rare.
ALTER TABLE announcement
    DROP CONSTRAINT announcement_other_id_fkey,
    DROP CONSTRAINT announcement_person_id_fkey;
DROP INDEX announcement_person_idx, announcement_other_idx;
GRANT SELECT (person_id, other_id), DELETE ON announcement TO udaconnect_persons;
