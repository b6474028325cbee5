package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The door spreads a function's requests over its replicas in turn.
func TestReplicas(t *testing.T) {
	seen := map[string]int{}
	var servers []string
	for _, name := range []string{"a", "b", "c"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen[name]++ // one request at a time below
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(srv.Close)
		servers = append(servers, srv.URL)
	}
	url := startDoor(t, &broker{}, "PERSONS_URL="+servers[0]+", "+servers[1]+","+servers[2])
	for range 6 {
		if r := asOrganizer.Request(t, "GET", url+"/api/persons", nil); r.Status != http.StatusOK {
			t.Fatalf("GET /api/persons = %d", r.Status)
		}
	}
	for _, name := range []string{"a", "b", "c"} {
		if seen[name] != 2 {
			t.Errorf("replica %s took %d of 6 requests; want 2: %v", name, seen[name], seen)
		}
	}
	if _, err := parseReplicas("PERSONS_URL", "http://a, not a url"); err == nil {
		t.Errorf("parseReplicas took a list with a bad URL")
	}
}
