package udaconnect_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

func field(err error) string {
	if e, ok := err.(*udaconnect.Error); ok {
		return e.Field
	}
	return ""
}

func TestPersonValidate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		p     udaconnect.Person
		field string
	}{
		{"ok", udaconnect.Person{FirstName: " Pam ", LastName: "Trexler", CompanyName: "Hampton"}, ""},
		{"no first name", udaconnect.Person{FirstName: "  ", LastName: "Trexler", CompanyName: "Hampton"}, "first_name"},
		{"no last name", udaconnect.Person{FirstName: "Pam", CompanyName: "Hampton"}, "last_name"},
		{"no company", udaconnect.Person{FirstName: "Pam", LastName: "Trexler"}, "company_name"},
		{"long name", udaconnect.Person{FirstName: strings.Repeat("é", 201), LastName: "T", CompanyName: "H"}, "first_name"},
		{"bad utf-8", udaconnect.Person{FirstName: "P\xffm", LastName: "T", CompanyName: "H"}, "first_name"},
		{"NUL", udaconnect.Person{FirstName: "Pam", LastName: "T\x00", CompanyName: "H"}, "last_name"},
		{"line break", udaconnect.Person{FirstName: "Pam", LastName: "T", CompanyName: "Hamp\nton"}, "company_name"},
		{"replacement character", udaconnect.Person{FirstName: "P\ufffdm", LastName: "T", CompanyName: "H"}, "first_name"},
		{"accents and emoji", udaconnect.Person{FirstName: "Zoë 🎉", LastName: "Ó'Brien-Łukasz", CompanyName: "東京"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if got := field(err); got != tt.field || (tt.field == "") != (err == nil) {
				t.Errorf("Validate(%+v) = %v; want an error on %q", tt.p, err, tt.field)
			}
		})
	}
	// JSON's decoder reads a lone surrogate as U+FFFD: the name is refused,
	// not stored replaced.
	var lone udaconnect.Person
	if err := json.Unmarshal([]byte(`{"first_name":"P\ud800m","last_name":"T","company_name":"H"}`), &lone); err != nil {
		t.Fatal(err)
	}
	if err := lone.Validate(); field(err) != "first_name" {
		t.Errorf("Validate(%q) = %v; want first_name refused", lone.FirstName, err)
	}
	p := udaconnect.Person{FirstName: " Pam ", LastName: "Trexler", CompanyName: "Hampton"}
	if _ = p.Validate(); p.FirstName != "Pam" {
		t.Errorf("Validate left first name %q; want it trimmed", p.FirstName)
	}
}

func TestPersonParams(t *testing.T) {
	for _, tt := range []struct {
		name  string
		p     udaconnect.PersonParams
		want  udaconnect.PersonQuery
		field string
	}{
		{"defaults", udaconnect.PersonParams{}, udaconnect.PersonQuery{Words: []string{}, Limit: udaconnect.DefaultPersonLimit}, ""},
		{"words", udaconnect.PersonParams{Q: "  ada  Love ", Limit: "5"}, udaconnect.PersonQuery{Words: []string{"ada", "Love"}, Limit: 5}, ""},
		{"cursor", udaconnect.PersonParams{After: `["O'Brien, Jr","Zoë",7]`},
			udaconnect.PersonQuery{Words: []string{}, Limit: udaconnect.DefaultPersonLimit, After: udaconnect.PersonCursor{LastName: "O'Brien, Jr", FirstName: "Zoë", ID: 7}}, ""},
		// A name stored before U+FFFD was refused still pages on.
		{"cursor with U+FFFD", udaconnect.PersonParams{After: `["B","A\ufffd",12]`},
			udaconnect.PersonQuery{Words: []string{}, Limit: udaconnect.DefaultPersonLimit, After: udaconnect.PersonCursor{LastName: "B", FirstName: "A\ufffd", ID: 12}}, ""},
		{"limit 0", udaconnect.PersonParams{Limit: "0"}, udaconnect.PersonQuery{}, "limit"},
		{"limit too high", udaconnect.PersonParams{Limit: "1001"}, udaconnect.PersonQuery{}, "limit"},
		{"limit not a number", udaconnect.PersonParams{Limit: "ten"}, udaconnect.PersonQuery{}, "limit"},
		{"q too long", udaconnect.PersonParams{Q: strings.Repeat("a", 201)}, udaconnect.PersonQuery{}, "q"},
		{"q with a NUL", udaconnect.PersonParams{Q: "a\x00"}, udaconnect.PersonQuery{}, "q"},
		{"cursor not JSON", udaconnect.PersonParams{After: "Lovelace,Ada,7"}, udaconnect.PersonQuery{}, "after"},
		{"cursor too short", udaconnect.PersonParams{After: `["Lovelace",7]`}, udaconnect.PersonQuery{}, "after"},
		{"cursor id 0", udaconnect.PersonParams{After: `["Lovelace","Ada",0]`}, udaconnect.PersonQuery{}, "after"},
		{"cursor with a NUL", udaconnect.PersonParams{After: `["Love\u0000lace","Ada",7]`}, udaconnect.PersonQuery{}, "after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.p.Query()
			if got := field(err); got != tt.field || (tt.field == "") != (err == nil) {
				t.Fatalf("Query(%+v) = %v; want an error on %q", tt.p, err, tt.field)
			}
			if err == nil && !reflect.DeepEqual(q, tt.want) {
				t.Errorf("Query(%+v) = %+v; want %+v", tt.p, q, tt.want)
			}
		})
	}
	c := udaconnect.PersonCursor{LastName: `Quote "and" comma,`, FirstName: "Ünal", ID: 42}
	if q, err := (udaconnect.PersonParams{After: c.String()}).Query(); err != nil || q.After != c {
		t.Errorf("the cursor %q read back = %+v, %v; want %+v", c.String(), q.After, err, c)
	}
}

func TestLocationValidate(t *testing.T) {
	at := time.Date(2020, 7, 7, 10, 37, 6, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		l     udaconnect.Location
		field string
	}{
		{"ok", udaconnect.Location{PersonID: 1, Latitude: 37.55, Longitude: -122.29, CreationTime: at}, ""},
		{"edges", udaconnect.Location{PersonID: 1, Latitude: -90, Longitude: 180, CreationTime: at}, ""},
		{"no person", udaconnect.Location{Latitude: 1, Longitude: 1, CreationTime: at}, "person_id"},
		{"latitude over 90", udaconnect.Location{PersonID: 1, Latitude: 90.1, Longitude: 1, CreationTime: at}, "latitude"},
		{"latitude NaN", udaconnect.Location{PersonID: 1, Latitude: math.NaN(), Longitude: 1, CreationTime: at}, "latitude"},
		{"longitude under -180", udaconnect.Location{PersonID: 1, Latitude: 1, Longitude: -180.5, CreationTime: at}, "longitude"},
		{"no time", udaconnect.Location{PersonID: 1, Latitude: 1, Longitude: 1}, "creation_time"},
		{"future", udaconnect.Location{PersonID: 1, Latitude: 1, Longitude: 1, CreationTime: time.Now().AddDate(1, 0, 0)}, "creation_time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Validate()
			if got := field(err); got != tt.field || (tt.field == "") != (err == nil) {
				t.Errorf("Validate(%+v) = %v; want an error on %q", tt.l, err, tt.field)
			}
		})
	}
}

func TestConnectionParamsQuery(t *testing.T) {
	ok := udaconnect.ConnectionParams{PersonID: 1, StartDate: "2020-01-01", EndDate: "2020-12-30"}
	q, err := ok.Query()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC); !q.End.Equal(want) || q.Distance != 5 || q.Window != 0 {
		t.Errorf("Query() = %+v; want end %v, distance 5, no window", q, want)
	}
	for _, tt := range []struct {
		name  string
		edit  func(p *udaconnect.ConnectionParams)
		field string
	}{
		{"window", func(p *udaconnect.ConnectionParams) { p.Window = "15m" }, ""},
		{"distance", func(p *udaconnect.ConnectionParams) { p.Distance = "12.5" }, ""},
		{"no start", func(p *udaconnect.ConnectionParams) { p.StartDate = "" }, "start_date"},
		{"bad start", func(p *udaconnect.ConnectionParams) { p.StartDate = "2020-13-01" }, "start_date"},
		{"bad end", func(p *udaconnect.ConnectionParams) { p.EndDate = "tomorrow" }, "end_date"},
		{"end before start", func(p *udaconnect.ConnectionParams) { p.EndDate = "2019-12-31" }, "end_date"},
		{"range too long", func(p *udaconnect.ConnectionParams) { p.EndDate = "2022-01-01" }, "end_date"},
		{"distance not a number", func(p *udaconnect.ConnectionParams) { p.Distance = "five" }, "distance"},
		{"distance zero", func(p *udaconnect.ConnectionParams) { p.Distance = "0" }, "distance"},
		{"distance NaN", func(p *udaconnect.ConnectionParams) { p.Distance = "NaN" }, "distance"},
		{"distance too far", func(p *udaconnect.ConnectionParams) { p.Distance = "1e9" }, "distance"},
		{"window not a duration", func(p *udaconnect.ConnectionParams) { p.Window = "15" }, "window"},
		{"window negative", func(p *udaconnect.ConnectionParams) { p.Window = "-5m" }, "window"},
		{"no person", func(p *udaconnect.ConnectionParams) { p.PersonID = 0 }, "person_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			_, err := p.Query()
			if got := field(err); got != tt.field || (tt.field == "") != (err == nil) {
				t.Errorf("Query(%+v) = %v; want an error on %q", p, err, tt.field)
			}
			if err != nil && !strings.Contains(udaconnect.ErrorMessage(err), tt.field) {
				t.Errorf("message %q does not name %s", udaconnect.ErrorMessage(err), tt.field)
			}
		})
	}
}

func TestDateRange(t *testing.T) {
	start, end, err := udaconnect.DateRange("", "2020-07-07")
	if err != nil || !start.IsZero() || !end.Equal(time.Date(2020, 7, 8, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("DateRange(\"\", 2020-07-07) = %v, %v, %v", start, end, err)
	}
	if _, _, err := udaconnect.DateRange("2020-07-08", "2020-07-07"); field(err) != "end_date" {
		t.Errorf("DateRange backwards: %v; want an error on end_date", err)
	}
	if _, _, err := udaconnect.DateRange("July", ""); field(err) != "start_date" {
		t.Errorf("DateRange(July): %v; want an error on start_date", err)
	}
}
