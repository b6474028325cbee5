package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// MeetingChannel is the channel on which WriteMeetings notifies the ids of
// the persons whose meetings changed, once committed.
const MeetingChannel = "meeting"

// meetingColumns read a meeting as its person sees it, from a row of either
// side of the pair (see sides) joined to the other person as p.
const meetingColumns = `m.id, p.id, p.first_name, p.last_name, p.company_name, m.started, m.last_seen,
	m.together_s, m.closest_m, m.latitude, m.longitude, m.ended, m.version, coalesce(m.merged_into, 0)`

func scanMeeting(row pgx.CollectableRow) (udaconnect.Meeting, error) {
	var m udaconnect.Meeting
	p := &m.Person
	err := row.Scan(&m.ID, &p.ID, &p.FirstName, &p.LastName, &p.CompanyName, &m.Started, &m.LastSeen,
		&m.TogetherS, &m.ClosestM, &m.Latitude, &m.Longitude, &m.Ended, &m.Version, &m.MergedInto)
	m.Started, m.LastSeen = m.Started.UTC(), m.LastSeen.UTC()
	m.DurationS = m.LastSeen.Sub(m.Started).Seconds()
	return m, err
}

// The far bounds of an open date range.
var (
	beginning = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	never     = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// FindMeetings returns a page of the meetings of q, newest first, through
// the indexes on (person, started) of either side of the pair. An unknown
// person is an ENOTFOUND error.
func (db *DB) FindMeetings(ctx context.Context, q udaconnect.MeetingQuery) ([]udaconnect.Meeting, error) {
	start, before := q.Start, q.After
	if start.IsZero() {
		start = beginning
	}
	if before.ID == 0 { // the first page: started before the end, any id
		before.Started = never
		if !q.End.IsZero() {
			before.Started = q.End
		}
	}
	rows, _ := db.reads.Query(ctx, `
		SELECT `+meetingColumns+`
		FROM (
			(SELECT *, person_b AS other FROM meeting
			 WHERE person_a = $1 AND merged_into IS NULL AND (started, id) < ($3, $4) AND last_seen >= $2
			 ORDER BY started DESC, id DESC LIMIT $5)
			UNION ALL
			(SELECT *, person_a AS other FROM meeting
			 WHERE person_b = $1 AND merged_into IS NULL AND (started, id) < ($3, $4) AND last_seen >= $2
			 ORDER BY started DESC, id DESC LIMIT $5)
		) m
		JOIN person p ON p.id = m.other
		ORDER BY m.started DESC, m.id DESC LIMIT $5`,
		q.PersonID, start, before.Started, before.ID, q.Limit)
	meetings, err := pgx.CollectRows(rows, scanMeeting)
	if err != nil {
		return nil, wrap("find meetings", err)
	}
	if len(meetings) == 0 {
		// Nothing found: tell an unknown person from one who met nobody.
		if _, err := db.FindPerson(ctx, q.PersonID); err != nil {
			return nil, err
		}
	}
	return meetings, nil
}

// FindMeetingChanges returns up to limit changes of personID's meetings
// after version, in the order they were made: each meeting once, as it is
// now, merged ones included.
func (db *DB) FindMeetingChanges(ctx context.Context, personID, version int64, limit int) ([]udaconnect.Meeting, error) {
	rows, _ := db.reads.Query(ctx, `
		SELECT `+meetingColumns+`
		FROM (
			(SELECT *, person_b AS other FROM meeting WHERE person_a = $1 AND version > $2 ORDER BY version LIMIT $3)
			UNION ALL
			(SELECT *, person_a AS other FROM meeting WHERE person_b = $1 AND version > $2 ORDER BY version LIMIT $3)
		) m
		JOIN person p ON p.id = m.other
		ORDER BY m.version LIMIT $3`,
		personID, version, limit)
	meetings, err := pgx.CollectRows(rows, scanMeeting)
	if err != nil {
		return nil, wrap("find meeting changes", err)
	}
	return meetings, nil
}

// MeetingVersion returns the version of personID's latest meeting change,
// 0 without one: where a live stream without a past starts.
func (db *DB) MeetingVersion(ctx context.Context, personID int64) (int64, error) {
	var v int64
	err := db.reads.QueryRow(ctx, `
		SELECT coalesce(max(version), 0) FROM (
			(SELECT version FROM meeting WHERE person_a = $1 ORDER BY version DESC LIMIT 1)
			UNION ALL
			(SELECT version FROM meeting WHERE person_b = $1 ORDER BY version DESC LIMIT 1)
		) v`, personID).Scan(&v)
	if err != nil {
		return 0, wrap("find meeting version", err)
	}
	return v, nil
}

// ListenMeetings calls changed with the id of each person whose meetings
// change, as WriteMeetings commits them, on a connection of its own, until
// ctx ends or the connection fails; it returns why. ready is called once it
// listens.
func (db *DB) ListenMeetings(ctx context.Context, ready func(), changed func(personID int64)) error {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return wrap("listen", err)
	}
	conn := pc.Hijack() // it listens until closed, never back in the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+MeetingChannel); err != nil {
		return wrap("listen", err)
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return wrap("listen", err)
		}
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			changed(id)
		}
	}
}
