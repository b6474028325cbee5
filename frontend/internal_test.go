package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

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
