package postgres

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// A meeting is a chain of near pairs of reports of two people, each pair
// starting at most udaconnect.DetectWindow after the last seen of those
// before it. recompute chains the near pairs of each pair of people with
// near reports again over the time around them (span), and writes the
// meetings that differ from those stored:
//
//   - span: the times of the near reports (seeds) widened by the window and
//     by the stored meetings within the window of them, which the new pairs
//     may extend or join. Every other meeting of the pair lies more than the
//     window away, so the near pairs in the span make its meetings whole;
//   - the reports of each person over their spans are read once, and paired
//     here: two reports of the pair at most the window apart in time, within
//     udaconnect.DetectDistance on the spheroid (see decide);
//   - the near pairs and the stored meetings, in time order, make a new
//     meeting (island) when one starts more than the window after every one
//     before it ends. A stored meeting spans near pairs that chain, so it
//     falls in the island they make, which keeps the lowest id of those it
//     holds;
//   - each island with near pairs is a meeting: first and last seen, the
//     closest distance, and the centroid of its reports, each once: the
//     mean of their coordinates summed in report order, as PostgreSQL's avg
//     does, to the last bit.
//
// Then the kept meetings that differ are updated, the islands that hold
// none inserted, and the other stored ones merged into theirs. A stored
// meeting in an island without near pairs (its reports are gone) is
// deleted. It returns the pairs of the meetings it changed.
func recompute(ctx context.Context, tx pgx.Tx, seeds pairs) ([][2]int64, error) {
	spans, err := readSpans(ctx, tx, seeds)
	if err != nil || len(spans) == 0 {
		return nil, err
	}
	reports, err := readReports(ctx, tx, spans)
	if err != nil {
		return nil, err
	}
	var w meetingWrites
	var toMeasure []*nearPair
	ps := make([][]nearPair, len(spans))
	for i, sp := range spans {
		ps[i] = sp.pairs(reports[sp.a], reports[sp.b])
		for j := range ps[i] {
			if ps[i][j].state == unsettled {
				toMeasure = append(toMeasure, &ps[i][j])
			}
		}
	}
	if err := measure(ctx, tx, toMeasure); err != nil {
		return nil, err
	}
	var islands []*island
	for i, sp := range spans {
		islands = append(islands, sp.chain(ps[i])...)
	}
	var closest []*nearPair
	for _, is := range islands {
		closest = append(closest, is.closestCandidates()...)
	}
	if err := measure(ctx, tx, closest); err != nil {
		return nil, err
	}
	for _, is := range islands {
		w.add(is)
	}
	return w.write(ctx, tx)
}

// span is a pair of people, the time to recompute its meetings over, and
// the stored meetings in it.
type span struct {
	a, b        int64
	first, last time.Time
	old         []storedMeeting
}

type storedMeeting struct {
	id                int64
	started, lastSeen time.Time
}

// readSpans returns the span of each pair with near reports.
func readSpans(ctx context.Context, tx pgx.Tx, seeds pairs) ([]*span, error) {
	rows, _ := tx.Query(ctx, `
		WITH span AS MATERIALIZED (
			SELECT s.a, s.b, least(s.lo - $1::interval, m.started) AS first, greatest(s.hi + $1::interval, m.last_seen) AS last
			FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) AS s(a, b, lo, hi)
			CROSS JOIN LATERAL (SELECT min(started) AS started, max(last_seen) AS last_seen FROM meeting
				WHERE person_a = s.a AND person_b = s.b AND merged_into IS NULL
				  AND last_seen >= s.lo - $1::interval AND started <= s.hi + $1::interval) m
			WHERE s.lo IS NOT NULL
		)
		SELECT sp.a, sp.b, sp.first, sp.last, m.id, m.started, m.last_seen
		FROM span sp
		LEFT JOIN LATERAL (SELECT id, started, last_seen FROM meeting
			WHERE person_a = sp.a AND person_b = sp.b AND merged_into IS NULL
			  AND last_seen >= sp.first AND started <= sp.last) m ON true
		ORDER BY sp.a, sp.b`, udaconnect.DetectWindow, seeds.as, seeds.bs, seeds.los, seeds.his)
	var spans []*span
	var a, b int64
	var first, last time.Time
	var id *int64
	var started, lastSeen *time.Time
	_, err := pgx.ForEachRow(rows, []any{&a, &b, &first, &last, &id, &started, &lastSeen}, func() error {
		if len(spans) == 0 || spans[len(spans)-1].a != a || spans[len(spans)-1].b != b {
			spans = append(spans, &span{a: a, b: b, first: first, last: last})
		}
		if id != nil {
			sp := spans[len(spans)-1]
			sp.old = append(sp.old, storedMeeting{*id, *started, *lastSeen})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read spans: %w", err)
	}
	return spans, nil
}

// report is a location as chaining reads it: its coordinate as stored.
type report struct {
	id       int64
	at       time.Time
	lat, lon float64
}

// readReports returns the reports of each person over all their spans, in
// time order, read once per person.
func readReports(ctx context.Context, tx pgx.Tx, spans []*span) (map[int64][]report, error) {
	type interval struct{ first, last time.Time }
	over := map[int64]interval{}
	widen := func(p int64, sp *span) {
		iv, ok := over[p]
		if !ok || sp.first.Before(iv.first) {
			iv.first = sp.first
		}
		if !ok || sp.last.After(iv.last) {
			iv.last = sp.last
		}
		over[p] = iv
	}
	for _, sp := range spans {
		widen(sp.a, sp)
		widen(sp.b, sp)
	}
	var persons []int64
	var firsts, lasts []time.Time
	for p, iv := range over {
		persons, firsts, lasts = append(persons, p), append(firsts, iv.first), append(lasts, iv.last)
	}
	rows, _ := tx.Query(ctx, `
		SELECT r.person_id, l.id, l.creation_time, ST_Y(l.coordinate::geometry), ST_X(l.coordinate::geometry)
		FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[]) AS r(person_id, first, last)
		CROSS JOIN LATERAL (SELECT id, creation_time, coordinate FROM location
			WHERE person_id = r.person_id AND creation_time BETWEEN r.first AND r.last) l`, persons, firsts, lasts)
	reports := make(map[int64][]report, len(persons))
	var p int64
	var r report
	_, err := pgx.ForEachRow(rows, []any{&p, &r.id, &r.at, &r.lat, &r.lon}, func() error {
		reports[p] = append(reports[p], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read reports: %w", err)
	}
	for _, rs := range reports {
		slices.SortFunc(rs, func(x, y report) int { return cmp.Or(x.at.Compare(y.at), cmp.Compare(x.id, y.id)) })
	}
	return reports, nil
}

// A pair of reports is within the distance, beyond it, or unsettled until
// the spheroid is asked.
type nearState int

const (
	unsettled nearState = iota
	within
	beyond
)

// nearPair is a pair of reports of a and b (ra of a) at most the window
// apart. estimate is the distance on a local flat map; distance the
// spheroid's, once measured.
type nearPair struct {
	ra, rb   *report
	lo, hi   time.Time
	estimate float64
	distance float64
	measured bool
	state    nearState
}

// The flat estimate is within 0.6 % of the geodesic distance on the
// spheroid for points metres apart (the radii of curvature of WGS84 are
// 0.9944 to 1.0045 times the mean radius it uses) away from the poles;
// margin bounds the ratio of the two with room to spare.
const (
	meanRadius = 6_371_008.7714
	margin     = 1.02
)

// estimate is the distance from p to q on a flat map around them, in
// metres; +Inf near the poles, where it is not used.
func estimate(p, q *report) float64 {
	if math.Abs(p.lat) > 80 || math.Abs(q.lat) > 80 {
		return math.Inf(1)
	}
	dlon := math.Abs(p.lon - q.lon)
	if dlon > 180 {
		dlon = 360 - dlon
	}
	rad := math.Pi / 180
	x := dlon * rad * math.Cos((p.lat+q.lat)/2*rad)
	y := (p.lat - q.lat) * rad
	return meanRadius * math.Hypot(x, y)
}

// decide settles a pair from its estimate where the margin allows; the
// others are measured on the spheroid.
func (p *nearPair) decide() {
	switch d := udaconnect.DetectDistance; {
	case math.IsInf(p.estimate, 1):
		p.state = unsettled
	case p.estimate <= d/margin:
		p.state = within
	case p.estimate > d*margin:
		p.state = beyond
	default:
		p.state = unsettled
	}
}

// pairs returns the pairs of reports of the span at most the window apart
// that are near or unsettled; ras and rbs are a's and b's reports in time
// order.
func (sp *span) pairs(ras, rbs []report) []nearPair {
	in := func(r report) bool { return !r.at.Before(sp.first) && !r.at.After(sp.last) }
	var ps []nearPair
	start := 0
	for i := range ras {
		ra := &ras[i]
		if !in(*ra) {
			continue
		}
		for start < len(rbs) && rbs[start].at.Before(ra.at.Add(-udaconnect.DetectWindow)) {
			start++
		}
		for j := start; j < len(rbs) && !rbs[j].at.After(ra.at.Add(udaconnect.DetectWindow)); j++ {
			rb := &rbs[j]
			if !in(*rb) {
				continue
			}
			p := nearPair{ra: ra, rb: rb, estimate: estimate(ra, rb)}
			if p.decide(); p.state != beyond {
				p.lo, p.hi = earlier(ra.at, rb.at), later(ra.at, rb.at)
				ps = append(ps, p)
			}
		}
	}
	return ps
}

func earlier(x, y time.Time) time.Time {
	if x.Before(y) {
		return x
	}
	return y
}

func later(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}

// measure asks PostGIS for the geodesic distance of each pair not yet
// measured, from a's report to b's, and settles the unsettled.
func measure(ctx context.Context, tx pgx.Tx, ps []*nearPair) error {
	ps = slices.DeleteFunc(ps, func(p *nearPair) bool { return p.measured })
	if len(ps) == 0 {
		return nil
	}
	coords := make([][]float64, 4)
	for _, p := range ps {
		coords[0], coords[1] = append(coords[0], p.ra.lon), append(coords[1], p.ra.lat)
		coords[2], coords[3] = append(coords[2], p.rb.lon), append(coords[3], p.rb.lat)
	}
	// The points as locations stores them (ST_MakePoint(longitude,
	// latitude)::geography), from the same numbers: the same points.
	rows, _ := tx.Query(ctx, `
		SELECT ST_Distance(ST_MakePoint(p.x1, p.y1)::geography, ST_MakePoint(p.x2, p.y2)::geography)
		FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[]) WITH ORDINALITY AS p(x1, y1, x2, y2, i)
		ORDER BY p.i`, coords[0], coords[1], coords[2], coords[3])
	i := 0
	var d float64
	_, err := pgx.ForEachRow(rows, []any{&d}, func() error {
		p := ps[i]
		p.distance, p.measured = d, true
		if p.state == unsettled {
			p.state = beyond
			if d <= udaconnect.DetectDistance {
				p.state = within
			}
		}
		i++
		return nil
	})
	if err != nil {
		return fmt.Errorf("measure distances: %w", err)
	}
	return nil
}

// island is a meeting as recomputed: its near pairs, and the stored
// meetings in it.
type island struct {
	a, b  int64
	pairs []*nearPair
	old   []storedMeeting
}

// chain makes the islands of the span's near pairs (the unsettled settled)
// and stored meetings: in order of first, then last seen, near pairs by
// their reports before stored meetings by id, an island starting at each
// that starts more than the window after every one before it ends.
func (sp *span) chain(ps []nearPair) []*island {
	type item struct {
		lo, hi time.Time
		pair   *nearPair
		old    storedMeeting
	}
	items := make([]item, 0, len(ps)+len(sp.old))
	for i := range ps {
		if p := &ps[i]; p.state == within {
			items = append(items, item{lo: p.lo, hi: p.hi, pair: p})
		}
	}
	for _, m := range sp.old {
		items = append(items, item{lo: m.started, hi: m.lastSeen, old: m})
	}
	slices.SortFunc(items, func(x, y item) int {
		if c := cmp.Or(x.lo.Compare(y.lo), x.hi.Compare(y.hi)); c != 0 {
			return c
		}
		switch {
		case x.pair != nil && y.pair != nil:
			return cmp.Or(cmp.Compare(x.pair.ra.id, y.pair.ra.id), cmp.Compare(x.pair.rb.id, y.pair.rb.id))
		case x.pair != nil:
			return -1
		case y.pair != nil:
			return 1
		}
		return cmp.Compare(x.old.id, y.old.id)
	})
	var islands []*island
	var reach time.Time
	for i, it := range items {
		if i == 0 || it.lo.After(reach.Add(udaconnect.DetectWindow)) {
			islands = append(islands, &island{a: sp.a, b: sp.b})
		}
		if i == 0 || it.hi.After(reach) {
			reach = it.hi
		}
		is := islands[len(islands)-1]
		if it.pair != nil {
			is.pairs = append(is.pairs, it.pair)
		} else {
			is.old = append(is.old, it.old)
		}
	}
	return islands
}

// closestCandidates are the near pairs of the island that may be its
// closest on the spheroid: those within the margin's ratio, squared, of
// its closest estimate.
func (is *island) closestCandidates() []*nearPair {
	best := math.Inf(1)
	for _, p := range is.pairs {
		best = min(best, p.estimate)
	}
	var cs []*nearPair
	for _, p := range is.pairs {
		if p.estimate <= best*margin*margin+1e-9 || math.IsInf(p.estimate, 1) {
			cs = append(cs, p)
		}
	}
	return cs
}

// meetingWrites are the meetings to write, as arrays for one statement.
type meetingWrites struct {
	as, bs                          []int64
	keeps                           []*int64
	joins                           []bool
	starteds, lastSeens             []time.Time
	closests, latitudes, longitudes []float64
	merged, into, dropped           []int64
}

// add adds what the island changes.
func (w *meetingWrites) add(is *island) {
	var keep *int64
	for _, m := range is.old {
		if keep == nil || m.id < *keep {
			keep = &m.id
		}
	}
	if len(is.pairs) == 0 {
		for _, m := range is.old {
			w.dropped = append(w.dropped, m.id)
		}
		return
	}
	for _, m := range is.old {
		if m.id != *keep {
			w.merged, w.into = append(w.merged, m.id), append(w.into, *keep)
		}
	}
	started, lastSeen, closest := is.pairs[0].lo, is.pairs[0].hi, math.Inf(1)
	reports := make([]*report, 0, 2*len(is.pairs))
	for _, p := range is.pairs {
		started, lastSeen = earlier(started, p.lo), later(lastSeen, p.hi)
		if p.measured {
			closest = min(closest, p.distance)
		}
		reports = append(reports, p.ra, p.rb)
	}
	slices.SortFunc(reports, func(x, y *report) int { return cmp.Compare(x.id, y.id) })
	reports = slices.CompactFunc(reports, func(x, y *report) bool { return x.id == y.id })
	var lat, lon float64
	for _, r := range reports {
		lat += r.lat
		lon += r.lon
	}
	n := float64(len(reports))
	w.as, w.bs, w.keeps, w.joins = append(w.as, is.a), append(w.bs, is.b), append(w.keeps, keep), append(w.joins, len(is.old) > 1)
	w.starteds, w.lastSeens = append(w.starteds, started), append(w.lastSeens, lastSeen)
	w.closests, w.latitudes, w.longitudes = append(w.closests, closest), append(w.latitudes, lat/n), append(w.longitudes, lon/n)
}

// write writes the meetings in one statement and returns the pairs of those
// it changed for the live stream: started, ended, merged or gone. A meeting
// has ended once either person reported later than the window after it was
// last seen. One that only grows (later last seen, closer, its centroid
// moved) keeps its version, which changes no indexed column: PostgreSQL
// updates it in place (a heap-only tuple).
func (w *meetingWrites) write(ctx context.Context, tx pgx.Tx) ([][2]int64, error) {
	rows, _ := tx.Query(ctx, `
		WITH fresh AS MATERIALIZED (
			SELECT f.*,
				EXISTS (SELECT FROM location l WHERE l.person_id = f.a AND l.creation_time > f.last_seen + $1::interval)
				OR EXISTS (SELECT FROM location l WHERE l.person_id = f.b AND l.creation_time > f.last_seen + $1::interval) AS ended
			FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::float8[], $8::float8[], $9::float8[], $13::bool[])
				AS f(a, b, keep, started, last_seen, closest_m, latitude, longitude, joins)
		), updated AS (
			UPDATE meeting m
			SET started = f.started, last_seen = f.last_seen, closest_m = f.closest_m,
				latitude = f.latitude, longitude = f.longitude, ended = f.ended,
				version = CASE WHEN c.changes THEN nextval('meeting_version') ELSE m.version END
			FROM fresh f
			JOIN meeting o ON o.id = f.keep
			CROSS JOIN LATERAL (SELECT f.joins OR (o.started, o.ended) IS DISTINCT FROM (f.started, f.ended) AS changes) c
			WHERE m.id = f.keep
			  AND (m.started, m.last_seen, m.closest_m, m.latitude, m.longitude, m.ended)
			      IS DISTINCT FROM (f.started, f.last_seen, f.closest_m, f.latitude, f.longitude, f.ended)
			RETURNING m.person_a, m.person_b, c.changes
		), inserted AS (
			INSERT INTO meeting (person_a, person_b, started, last_seen, closest_m, latitude, longitude, ended)
			SELECT a, b, started, last_seen, closest_m, latitude, longitude, ended
			FROM fresh WHERE keep IS NULL
			ORDER BY a, b, started
			RETURNING person_a, person_b
		), merged AS (
			UPDATE meeting m SET merged_into = k.keep, version = nextval('meeting_version')
			FROM unnest($10::bigint[], $11::bigint[]) AS k(id, keep)
			WHERE m.id = k.id
			RETURNING m.person_a, m.person_b
		), dropped AS (
			DELETE FROM meeting m WHERE m.id = ANY($12::bigint[])
			RETURNING m.person_a, m.person_b
		)
		SELECT person_a, person_b FROM updated WHERE changes UNION ALL SELECT * FROM inserted
		UNION ALL SELECT * FROM merged UNION ALL SELECT * FROM dropped`,
		udaconnect.DetectWindow, w.as, w.bs, w.keeps, w.starteds, w.lastSeens, w.closests, w.latitudes, w.longitudes,
		w.merged, w.into, w.dropped, w.joins)
	var changed [][2]int64
	var a, b int64
	_, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
		changed = append(changed, [2]int64{a, b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write meetings: %w", err)
	}
	return changed, nil
}
