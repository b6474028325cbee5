package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

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
