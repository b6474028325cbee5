package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The door does not start with a key that is short, not hex or base64, or
// a word repeated: it exits with a message that names AUTH_KEY.
func TestWeakKey(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the built binary")
	}
	for _, key := range []string{"changemechangemechangemechangeme", strings.Repeat("ab", 32), "c2hvcnQ="} {
		p := start(t, "frontend", nil, "PORT="+freePort(t), "PERSONS_URL=http://127.0.0.1:1",
			"LOCATIONS_URL=http://127.0.0.1:1", "CONNECTIONS_URL=http://127.0.0.1:1", "DEADLETTERS_URL=http://127.0.0.1:1",
			"AUTH_KEY="+key, "ORGANIZER_TOKEN="+testOrganizerToken)
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("the door runs with AUTH_KEY=%s", key)
		}
		if p.cmd.ProcessState.ExitCode() == 0 {
			t.Errorf("the door with AUTH_KEY=%s exited with status 0", key)
		}
		if out, _ := os.ReadFile(p.log); !strings.Contains(string(out), "AUTH_KEY must be at least 32 random bytes") {
			t.Errorf("the door with AUTH_KEY=%s said %q; want a message naming AUTH_KEY", key, out)
		}
	}
}
