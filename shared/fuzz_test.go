package udaconnect_test

import (
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// Whatever the query parameters, Query either names the one at fault or
// returns a query within every bound.
func FuzzConnectionParams(f *testing.F) {
	f.Add(int64(1), "2020-07-07", "2020-07-08", "5", "15m")
	f.Add(int64(1), "2020-01-01", "2020-12-31", "10000", "744h")
	f.Add(int64(-1), "2020-02-30", "", "NaN", "-1s")
	f.Add(int64(9), "0001-01-01", "9999-12-31", "1e-320", "9223372036s")
	f.Add(int64(9), "2020-07-07", "2020-07-07", "+Inf", "24h0m0.000000001s")
	f.Fuzz(func(t *testing.T, id int64, start, end, distance, window string) {
		p := udaconnect.ConnectionParams{PersonID: id, StartDate: start, EndDate: end, Distance: distance, Window: window}
		q, err := p.Query()
		if err != nil {
			if e, ok := err.(*udaconnect.Error); !ok || e.Code != udaconnect.EINVALID || e.Field == "" {
				t.Fatalf("Query(%+v) = %v; want an invalid error naming a field", p, err)
			}
			return
		}
		switch {
		case q.PersonID <= 0:
			t.Errorf("person_id %d taken", q.PersonID)
		case !q.End.After(q.Start) || q.End.Sub(q.Start) > udaconnect.MaxRange:
			t.Errorf("range [%v, %v) taken", q.Start, q.End)
		case !(q.Distance > 0 && q.Distance <= udaconnect.MaxDistance):
			t.Errorf("distance %v taken", q.Distance)
		case q.Window < 0 || q.Window > udaconnect.MaxWindow:
			t.Errorf("window %v taken", q.Window)
		}
	})
}

// DateRange either names the date at fault or returns an ordered range.
func FuzzDateRange(f *testing.F) {
	f.Add("2020-07-07", "2020-07-08")
	f.Add("", "2020-07-08")
	f.Add("2020-07-09", "2020-07-08")
	f.Add("2020-7-7", "x")
	f.Fuzz(func(t *testing.T, start, end string) {
		s, e, err := udaconnect.DateRange(start, end)
		if err != nil {
			if ue, ok := err.(*udaconnect.Error); !ok || ue.Code != udaconnect.EINVALID || ue.Field == "" {
				t.Fatalf("DateRange(%q, %q) = %v; want an invalid error naming a field", start, end, err)
			}
			return
		}
		if !s.IsZero() && !e.IsZero() && !e.After(s) {
			t.Errorf("DateRange(%q, %q) = [%v, %v); want start before end", start, end, s, e)
		}
	})
}

// A person Validate takes has names PostgreSQL stores as they are.
func FuzzPersonValidate(f *testing.F) {
	f.Add("Pam", "Trexler", "Hampton")
	f.Add("A\x00", "B", "C")
	f.Add("P\xffm", " ", "\n")
	f.Fuzz(func(t *testing.T, first, last, company string) {
		p := udaconnect.Person{FirstName: first, LastName: last, CompanyName: company}
		if p.Validate() != nil {
			return
		}
		for _, name := range []string{p.FirstName, p.LastName, p.CompanyName} {
			if err := udaconnect.CheckText("name", name); err != nil || name == "" {
				t.Errorf("Validate took %q: %v", name, err)
			}
		}
	})
}
