package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// A function answers only the holders of the secret it shares with the
// door and the broker, as `make run` starts it; `curl` at its port gets
// 401. Without the secret, or a cluster's settings, it does not start.
func TestFunctionsRefuseStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the built binaries")
	}
	dbURL := pgtest.RoleURL(t, pgtest.NewDatabase(t), postgres.RolePersons)
	open := start(t, "persons", nil, "HOST=127.0.0.1", "PORT="+freePort(t), "DATABASE_URL="+dbURL)
	<-open.exited
	if b, _ := os.ReadFile(open.log); !strings.Contains(string(b), "INTERNAL_TOKEN is not set, nor OIDC_AUDIENCE") {
		t.Errorf("persons without INTERNAL_TOKEN: %s; want it to stop, naming INTERNAL_TOKEN", b)
	}

	port := freePort(t)
	start(t, "persons", nil, "HOST=127.0.0.1", "PORT="+port, "DATABASE_URL="+dbURL, "INTERNAL_TOKEN="+servertest.InternalToken)
	base := "http://127.0.0.1:" + port
	eventually(t, "persons ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, c := range []servertest.Client{{}, {Token: testOrganizerToken}} {
		if r := c.Request(t, "GET", base+"/api/persons", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("GET /api/persons at persons with token %q = %d %s; want 401", c.Token, r.Status, r.Body)
		}
	}
	if r := servertest.Internal.Request(t, "GET", base+"/api/persons", nil); r.Status != http.StatusOK {
		t.Errorf("GET /api/persons at persons with the shared secret = %d %s; want 200", r.Status, r.Body)
	}
}

// The local broker takes events only with the secret, and does not start
// without it.
func TestBrokerRefusesStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the built binaries")
	}
	port := freePort(t)
	args := []string{"-listen", "127.0.0.1:" + port, "-data", filepath.Join(t.TempDir(), "broker"), "-manifests", "../eventing"}
	for _, fn := range []string{"persons", "locations", "connections", "dead-letters"} {
		args = append(args, "-service", fn+"=http://127.0.0.1:1")
	}
	open := start(t, "localbroker", args)
	<-open.exited
	if b, _ := os.ReadFile(open.log); !strings.Contains(string(b), "INTERNAL_TOKEN is not set") {
		t.Errorf("localbroker without INTERNAL_TOKEN: %s; want it to stop, naming INTERNAL_TOKEN", b)
	}

	start(t, "localbroker", args, "INTERNAL_TOKEN="+servertest.InternalToken)
	base := "http://127.0.0.1:" + port
	eventually(t, "broker healthy", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	e := servertest.NewEvent(t, ev.PersonCreate, "stranger", ev.PersonCreateData{FirstName: "Eve", LastName: "Stranger", CompanyName: "Outside"})
	for _, c := range []servertest.Client{{}, {Token: testOrganizerToken}} {
		if r := c.Send(t, base+"/udaconnect/default", "binary", e); r.Status != http.StatusUnauthorized {
			t.Errorf("an event at the broker with token %q = %d %s; want 401", c.Token, r.Status, r.Body)
		}
	}
	if r := servertest.Internal.Send(t, base+"/udaconnect/default", "binary", e); r.Status != http.StatusAccepted {
		t.Errorf("an event at the broker with the shared secret = %d %s; want 202", r.Status, r.Body)
	}
}
