package main

import (
	"net/http"
	"testing"

	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// A revision of the door or of connections can start before its
// SinkBinding gives it K_SINK. Without it they stay up and healthy, are not
// ready, and answer what they would send with 503 and Retry-After.
func TestWithoutSink(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the built binaries")
	}
	ports := map[string]string{"frontend": freePort(t), "connections": freePort(t)}
	dbURL := pgtest.NewDatabase(t)
	processes := []*process{
		start(t, "frontend", nil, "PORT="+ports["frontend"], "PERSONS_URL=http://127.0.0.1:1",
			"LOCATIONS_URL=http://127.0.0.1:1", "CONNECTIONS_URL=http://127.0.0.1:1", "DEADLETTERS_URL=http://127.0.0.1:1",
			"AUTH_KEY="+testAuthKey, "ORGANIZER_TOKEN="+testOrganizerToken, "INTERNAL_TOKEN="+servertest.InternalToken),
		start(t, "connections", nil, "PORT="+ports["connections"], "DATABASE_URL="+dbURL, "INTERNAL_TOKEN="+servertest.InternalToken),
	}
	senders := map[string]servertest.Client{"frontend": asOrganizer, "connections": servertest.Internal}
	sends := map[string]string{"frontend": "/events", "connections": "/"}
	events := map[string]string{"frontend": ev.LocationReported, "connections": ev.LocationRecorded}
	data := map[string]any{"id": 1, "person_id": 1, "latitude": 35.05, "longitude": -106.57, "creation_time": "2020-07-07T10:00:00Z"}
	for _, p := range processes {
		base := "http://127.0.0.1:" + ports[p.name]
		eventually(t, p.name+" healthy", func() bool {
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		if r := (servertest.Client{}).Request(t, "GET", base+"/readyz", nil); r.Status != http.StatusServiceUnavailable {
			t.Errorf("%s /readyz without K_SINK = %d %s; want 503", p.name, r.Status, r.Body)
		}
		e := servertest.NewEvent(t, events[p.name], "no-sink", data)
		r := senders[p.name].Send(t, base+sends[p.name], "binary", e)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s event without K_SINK = %d (Retry-After %q) %s; want 503 with Retry-After", p.name, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		if !p.running() {
			t.Errorf("%s stopped without K_SINK", p.name)
		}
	}
}
