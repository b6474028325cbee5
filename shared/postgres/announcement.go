package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
)

// The outbox of connection.detected (docs/design.md, "Meetings"): a zone's
// owner queues the start of a meeting in the transaction that writes the
// meeting (queueStarts), and an announcer of any replica sends what is due
// (Announce), apart from the zones.

// queueStartsSQL queues the starts of the meetings that are stored (not
// those of a person deleted, nor one removed in the same flush), each
// event once while it waits.
const queueStartsSQL = `
	INSERT INTO announcement (location_id, other_id, person_id, near_id, started, distance)
	SELECT s.* FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::float8[])
		AS s(location_id, other_id, person_id, near_id, started, distance)
	CROSS JOIN LATERAL (` + storedMeeting + `) m
	ON CONFLICT (location_id, other_id) DO NOTHING`

// storedMeeting finds the meeting of the start or announcement s, one
// index probe each: a lateral join whose LIMIT keeps the planner from
// flattening it into a join it may plan as a scan of the whole table when
// the statistics lag (as they do while a crowd's meetings pile up).
const storedMeeting = `
		SELECT m.id FROM meeting m
		WHERE (m.person_a, m.person_b, m.started) = (least(s.person_id, s.other_id), greatest(s.person_id, s.other_id), s.started)
		  AND m.merged_into IS NULL
		LIMIT 1`

// queueStarts adds to batch the statement that queues starts.
func queueStarts(batch *pgx.Batch, starts []detect.Start) {
	n := len(starts)
	locations, others, persons, nears := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	started, distances := make([]time.Time, n), make([]float64, n)
	for i, s := range starts {
		locations[i], others[i], persons[i], nears[i] = s.Report.ID, s.Near.Person, s.Report.Person, s.Near.ID
		started[i], distances[i] = s.Started, s.Distance
	}
	batch.Queue(queueStartsSQL, locations, others, persons, nears, started, distances)
}

// An Announcement is a meeting start waiting in the outbox: the event's id
// and data. The id derives from the report that started the meeting and
// the other person (connection-<location id>-<other's id>), so that a start
// found again after a restart is the same event. The locations are read as
// stored when it is sent.
type Announcement struct {
	ID    string
	Start udaconnect.MeetingStart
}

// Announced is what one call of Announce did with the rows it took.
type Announced struct {
	Taken, Sent, Dropped, Refused int
}

// Announce takes up to limit announcements that are due, oldest first,
// locked so that no other announcer takes them meanwhile (rows another
// holds are skipped), and gives those whose meeting is still stored to
// send, which says which the sink accepted and how long the sink asked to
// be left alone. It deletes the announcements accepted and those whose
// meeting is gone (merged into an earlier one of the pair, or its start
// moved, or a person deleted, whose announcements wait for this); the others are due again after a pause that
// doubles with each refusal (1 s to 5 minutes), and at least wait.
func (db *DB) Announce(ctx context.Context, limit int, send func(context.Context, []Announcement) (accepted []bool, wait time.Duration)) (Announced, error) {
	var did Announced
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return did, wrap("take announcements", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, _ := tx.Query(ctx, `
		SELECT s.id, m.id IS NOT NULL AND p.id IS NOT NULL AND o.id IS NOT NULL AND l.id IS NOT NULL AND n.id IS NOT NULL, s.distance,
			coalesce(p.id, 0), coalesce(p.first_name, ''), coalesce(p.last_name, ''), coalesce(p.company_name, ''),
			coalesce(o.id, 0), coalesce(o.first_name, ''), coalesce(o.last_name, ''), coalesce(o.company_name, ''),
			l.id, l.person_id, l.creation_time, ST_Y(l.coordinate::geometry), ST_X(l.coordinate::geometry),
			n.id, n.person_id, n.creation_time, ST_Y(n.coordinate::geometry), ST_X(n.coordinate::geometry)
		FROM (SELECT * FROM announcement WHERE due <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) s
		LEFT JOIN LATERAL (SELECT * FROM person p WHERE p.id = s.person_id LIMIT 1) p ON true
		LEFT JOIN LATERAL (SELECT * FROM person o WHERE o.id = s.other_id LIMIT 1) o ON true
		LEFT JOIN LATERAL (SELECT * FROM location l WHERE l.id = s.location_id LIMIT 1) l ON true
		LEFT JOIN LATERAL (SELECT * FROM location n WHERE n.id = s.near_id LIMIT 1) n ON true
		LEFT JOIN LATERAL (`+storedMeeting+`) m ON true
		ORDER BY s.id`, limit)
	var taken, gone []int64
	var waiting []Announcement
	var id int64
	var stored bool
	var a Announcement
	p, o, l, n := &a.Start.Person, &a.Start.Other, &a.Start.Location, &a.Start.Near
	var lID, nID, lPerson, nPerson *int64
	var lTime, nTime *time.Time
	var lLat, lLon, nLat, nLon *float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &stored, &a.Start.Distance,
		&p.ID, &p.FirstName, &p.LastName, &p.CompanyName, &o.ID, &o.FirstName, &o.LastName, &o.CompanyName,
		&lID, &lPerson, &lTime, &lLat, &lLon, &nID, &nPerson, &nTime, &nLat, &nLon}, func() error {
		if !stored {
			gone = append(gone, id)
			return nil
		}
		*l = udaconnect.Location{ID: *lID, PersonID: *lPerson, CreationTime: lTime.UTC(), Latitude: *lLat, Longitude: *lLon}
		*n = udaconnect.Location{ID: *nID, PersonID: *nPerson, CreationTime: nTime.UTC(), Latitude: *nLat, Longitude: *nLon}
		a.ID = fmt.Sprintf("connection-%d-%d", l.ID, o.ID)
		taken, waiting = append(taken, id), append(waiting, a)
		return nil
	}); err != nil {
		return did, wrap("take announcements", err)
	}
	did.Taken, did.Dropped = len(taken)+len(gone), len(gone)
	if did.Taken == 0 {
		return did, nil
	}
	var accepted []bool
	var wait time.Duration
	if len(waiting) > 0 {
		accepted, wait = send(ctx, waiting)
	}
	done, refused := gone, []int64(nil)
	for i, id := range taken {
		if accepted[i] {
			done = append(done, id)
		} else {
			refused = append(refused, id)
		}
	}
	did.Sent, did.Refused = len(done)-len(gone), len(refused)
	var batch pgx.Batch
	batch.Queue(`DELETE FROM announcement WHERE id = ANY($1)`, done)
	batch.Queue(`
		UPDATE announcement SET attempts = attempts + 1,
			due = now() + make_interval(secs => greatest(least(2 ^ attempts, 300), $2))
		WHERE id = ANY($1)`, refused, math.Ceil(wait.Seconds()))
	// Sent, whatever happens now: the next round finds them again only
	// if they could not be deleted.
	if err := tx.SendBatch(context.WithoutCancel(ctx), &batch).Close(); err != nil {
		return did, wrap("settle announcements", err)
	}
	if err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return did, wrap("settle announcements", err)
	}
	return did, nil
}

// AnnouncementBacklog returns the announcements waiting and how long the
// oldest has waited.
func (db *DB) AnnouncementBacklog(ctx context.Context) (int64, time.Duration, error) {
	var n int64
	var age float64
	err := db.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(queued))::float8, 0) FROM announcement`).Scan(&n, &age)
	if err != nil {
		return 0, 0, wrap("read announcements waiting", err)
	}
	return n, time.Duration(max(age, 0) * float64(time.Second)), nil
}
