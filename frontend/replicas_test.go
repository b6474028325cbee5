package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
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

// The door calls a function with its own credential, never the caller's:
// the shared secret under make run, the token file of the function in the
// cluster, read for every call. A function that refuses it is a fault of
// the door's (503), and a door without a credential does not start.
func TestDoorCredential(t *testing.T) {
	got := make(chan string, 1)
	status := http.StatusOK
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(fn.Close)
	call := func(url string) (int, string) {
		t.Helper()
		r := asOrganizer.Request(t, "GET", url+"/api/persons", nil)
		return r.Status, <-got
	}
	local := startDoor(t, &broker{}, "PERSONS_URL="+fn.URL)
	if s, h := call(local); s != http.StatusOK || h != "Bearer "+servertest.InternalToken {
		t.Errorf("make run: GET /api/persons = %d, the function got Authorization %q; want 200 and the shared secret", s, h)
	}

	dir := t.TempDir()
	files := []string{"INTERNAL_TOKEN=", "PERSONS_URL=" + fn.URL}
	for _, fn := range []string{"PERSONS", "LOCATIONS", "CONNECTIONS", "DEADLETTERS"} {
		files = append(files, fn+"_TOKEN_FILE="+filepath.Join(dir, fn))
	}
	cluster := startDoor(t, &broker{}, files...)
	for _, token := range []string{"first-token", "renewed-token"} {
		if err := os.WriteFile(filepath.Join(dir, "PERSONS"), []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, h := call(cluster); s != http.StatusOK || h != "Bearer "+token {
			t.Errorf("cluster: GET /api/persons = %d, the function got Authorization %q; want 200 and Bearer %s", s, h, token)
		}
	}

	status = http.StatusUnauthorized
	if s, _ := call(local); s != http.StatusServiceUnavailable {
		t.Errorf("a function that refuses the door: GET /api/persons = %d; want 503", s)
	}

	env := map[string]string{"PERSONS_URL": fn.URL, "LOCATIONS_URL": fn.URL, "CONNECTIONS_URL": fn.URL, "DEADLETTERS_URL": fn.URL,
		"AUTH_KEY": testAuthKey, "ORGANIZER_TOKEN": testOrganizerToken}
	if _, err := newHandler(fn.URL, func(k string) string { return env[k] }, zaptest.NewLogger(t)); err == nil || !strings.Contains(err.Error(), "INTERNAL_TOKEN") {
		t.Errorf("a door without a credential for the functions: newHandler = %v; want an error naming INTERNAL_TOKEN", err)
	}
}
