package detect

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzDetector decodes a small world from the bytes (five a report: person,
// time, north, east, second), feeds it in that order in small groups, with
// a Lateness of a minute so that many reports are late, and checks the
// meetings against Reference.
func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0, 1, 1, 3, 3, 0, 0, 9, 2, 3, 1, 1, 30, 3, 3, 2, 0, 2, 2, 4, 5, 1, 3, 12, 12, 3})
	f.Add([]byte{1, 0, 0, 0, 0, 2, 0, 1, 1, 0, 1, 60, 0, 0, 0, 2, 61, 1, 1, 0, 1, 5, 0, 0, 0, 2, 6, 9, 9, 0, 3, 7, 1, 0, 0})
	f.Add([]byte{0, 200, 5, 5, 0, 1, 10, 5, 6, 0, 0, 20, 5, 5, 0, 1, 15, 5, 5, 9, 2, 18, 6, 5, 0, 0, 190, 15, 15, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rs []Report
		for i := 0; i+5 <= len(data) && len(rs) < 200; i += 5 {
			b := data[i : i+5]
			lat, lon := place(float64(b[2]%16), float64(b[3]%16))
			rs = append(rs, Report{ID: int64(i/5 + 1), Person: int64(b[0]%4 + 1), Time: at0(float64(b[1])*10 + float64(b[4]%10)), Lat: lat, Lon: lon})
		}
		p := DefaultParams()
		p.Lateness = time.Minute
		s := newStore()
		d := New(p, s)
		for i := 0; i < len(rs); {
			n := min(len(rs)-i, 1+int(data[i*5]/4%3))
			group := rs[i : i+n]
			s.reports = append(s.reports, group...)
			if err := d.Add(context.Background(), group, group[n-1].Time); err != nil {
				t.Fatal(err)
			}
			s.apply(t, d.Changes())
			i += n
		}
		finish(t, d, s, rs, at0(3000))
	})
}

// A snapshot cut short, of another version, or made with other rules, is
// refused, never half restored.
func TestSnapshotRefused(t *testing.T) {
	p := DefaultParams()
	w := people(3)
	rs := join(w[0].every(0, 600, 5, 0, 0), w[1].every(0, 600, 5, 0, 2), w[2].every(300, 600, 5, 0, 30))
	d := New(p, nil)
	if err := d.Add(context.Background(), rs, at0(600)); err != nil {
		t.Fatal(err)
	}
	d.Changes()
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		fresh := New(p, nil)
		if err := fresh.UnmarshalBinary(b[:n]); err == nil {
			t.Fatalf("UnmarshalBinary(%d of %d bytes) = nil; want an error", n, len(b))
		}
		if len(fresh.persons) != 0 || !fresh.Time().IsZero() {
			t.Fatalf("UnmarshalBinary(%d of %d bytes) restored a part", n, len(b))
		}
	}
	older := append(binary.AppendVarint(nil, snapshotVersion-1), b[1:]...)
	if err := New(p, nil).UnmarshalBinary(older); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("UnmarshalBinary of version %d = %v; want an error naming the version", snapshotVersion-1, err)
	}
	other := p
	other.Distance = 10
	if err := New(other, nil).UnmarshalBinary(b); err == nil {
		t.Error("UnmarshalBinary with other rules = nil; want an error")
	}
	if err := New(p, nil).UnmarshalBinary(b); err != nil {
		t.Errorf("UnmarshalBinary = %v", err)
	}
}

func TestAddRefuses(t *testing.T) {
	for _, r := range []Report{
		{ID: 1, Person: 1, Time: t0, Lat: math.NaN()},
		{ID: 2, Person: 1, Time: t0, Lat: 91},
		{ID: 3, Person: 1, Time: t0, Lon: math.Inf(1)},
		{ID: 4, Person: 1, Lat: 1, Lon: 1},
	} {
		d := New(DefaultParams(), nil)
		if err := d.Add(context.Background(), []Report{r}, t0); err == nil {
			t.Errorf("Add(%+v) = nil; want an error", r)
		}
		if len(d.persons) != 0 || !d.Time().IsZero() {
			t.Errorf("Add(%+v) placed it", r)
		}
	}
}
