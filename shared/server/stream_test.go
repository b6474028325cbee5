package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap/zaptest"
)

// An error before anything was sent is answered with its status; one after
// the first bytes cuts the answer short, so that it cannot pass for a
// complete list.
func TestStreamJSONFails(t *testing.T) {
	down := udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the database is unavailable, try again later")
	c := udaconnect.Person{ID: 2, FirstName: "A", LastName: "B", CompanyName: "C"}
	for _, tt := range []struct {
		name   string
		items  int
		status int // 0: cut short
	}{
		{"at once", 0, http.StatusServiceUnavailable},
		{"within the buffer", 10, http.StatusServiceUnavailable},
		{"after the first bytes", 2000, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				server.StreamJSON(w, r, zaptest.NewLogger(t), func(yield func(udaconnect.Person) error) error {
					for range tt.items {
						if err := yield(c); err != nil {
							return err
						}
					}
					return down
				})
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if tt.status == 0 {
				var persons []udaconnect.Person
				if resp.StatusCode != 200 || err == nil || json.Unmarshal(body, &persons) == nil {
					t.Errorf("failure after %d bytes = %d, read error %v; want 200 cut short, not a JSON list", len(body), resp.StatusCode, err)
				}
				return
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") == "" || err != nil {
				t.Errorf("failure = %d %s (%v); want %d with Retry-After", resp.StatusCode, body, err, tt.status)
			}
		})
	}
}

// The streamed array is what json.Marshal makes of the whole list, item by
// item, with a final newline.
func TestStreamJSONAsMarshal(t *testing.T) {
	at := time.Date(2026, 6, 16, 9, 0, 0, 123456000, time.UTC)
	conn := func(id int64, first string, lat, distance float64) udaconnect.Connection {
		return udaconnect.Connection{
			Person:   udaconnect.Person{ID: id, FirstName: first, LastName: "Hopper", CompanyName: "Green Chile & <Sons>"},
			Location: udaconnect.Location{ID: id * 10, PersonID: id, Latitude: lat, Longitude: -106.6492502724762, CreationTime: at},
			Distance: distance,
		}
	}
	many := make([]udaconnect.Connection, 2000) // beyond the buffer
	for i := range many {
		many[i] = conn(int64(i), "Grace", 35.08493543343072+float64(i)*1e-9, float64(i)*1e-7)
	}
	for _, tt := range []struct {
		name  string
		items []udaconnect.Connection
	}{
		{"none", nil},
		{"one", []udaconnect.Connection{conn(1, "Ada \"the first\"", 35, 0)}},
		{"floats", []udaconnect.Connection{conn(2, "Émile", -0.000001, 1e-7), conn(3, "Zoë\u2028", 1e21, 4.99999999)}},
		{"many", many},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			server.StreamJSON(w, httptest.NewRequest("GET", "/", nil), zaptest.NewLogger(t), func(yield func(udaconnect.Connection) error) error {
				for _, c := range tt.items {
					if err := yield(c); err != nil {
						return err
					}
				}
				return nil
			})
			want, err := json.Marshal(append([]udaconnect.Connection{}, tt.items...))
			if err != nil {
				t.Fatal(err)
			}
			if got := w.Body.String(); got != string(want)+"\n" || w.Code != http.StatusOK {
				t.Errorf("StreamJSON = %d %.200q…; want 200 %.200q…", w.Code, got, want)
			}
		})
	}
}
