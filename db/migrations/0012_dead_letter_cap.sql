-- Dead letters are bounded (docs/design.md, "Faults"): each sender has a cap
-- of them, and the dead-letters function deletes those older than
-- DEAD_LETTER_RETENTION. The sender is the credential the door forwarded
-- the event for, the second part of its source /senders/<sender>/..., or
-- else the source itself (the system's own events).
CREATE FUNCTION dead_letter_sender(source text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN source LIKE '/senders/%' THEN split_part(source, '/', 3) ELSE source END;

ALTER TABLE dead_letter ADD COLUMN sender text NOT NULL GENERATED ALWAYS AS (dead_letter_sender(event_source)) STORED;
CREATE INDEX dead_letter_sender_idx ON dead_letter (sender);
CREATE INDEX dead_letter_received_at_idx ON dead_letter (received_at);

-- A sender's new dead letter is dropped once the sender has its cap: 100
-- for an attendee (person-N), whose reports the door has checked, 10,000
-- for any other. One that is there already still waits again when it comes
-- back. The check runs as the owner, so that locations, which adds the
-- dead letters of the reports it refuses, needs no right to read them.
CREATE FUNCTION dead_letter_capped() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    s   text := dead_letter_sender(NEW.event_source);
    cap int  := CASE WHEN s LIKE 'person-%' THEN 100 ELSE 10000 END;
BEGIN
    IF EXISTS (SELECT FROM dead_letter d
               WHERE (d.event_source, d.event_id, d.destination) = (NEW.event_source, NEW.event_id, NEW.destination)) THEN
        RETURN NEW;
    END IF;
    IF (SELECT count(*) FROM (SELECT FROM dead_letter d WHERE d.sender = s LIMIT cap) AS kept) >= cap THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION dead_letter_capped() FROM PUBLIC;
CREATE TRIGGER dead_letter_capped BEFORE INSERT ON dead_letter FOR EACH ROW EXECUTE FUNCTION dead_letter_capped();

-- Expiry: the dead-letters function deletes what is older than its retention.
GRANT DELETE ON dead_letter TO udaconnect_deadletters;
