package server

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// An https sink whose CA is in K_CA_CERTS is trusted, and the identity token
// the SinkBinding mounts goes with every request, read anew each time; the
// shared secret instead, when there is one.
func TestSinkTransport(t *testing.T) {
	got := make(chan string, 2)
	sink := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sink.Certificate().Raw}))
	tokenFile := filepath.Join(t.TempDir(), "token")

	plain, err := SinkTransport("", "", tokenFile, 1)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", sink.URL, nil)
	if resp, err := plain.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Errorf("a sink whose CA is not given was trusted")
	}

	trusting, err := SinkTransport(ca, "", tokenFile, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", "first-token", "renewed-token"} {
		if token != "" {
			if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		req, _ := http.NewRequest("POST", sink.URL, nil)
		resp, err := trusting.RoundTrip(req)
		if err != nil {
			t.Fatalf("send to a sink whose CA is given: %v", err)
		}
		resp.Body.Close()
		want := ""
		if token != "" {
			want = "Bearer " + token
		}
		if h := <-got; h != want {
			t.Errorf("Authorization = %q; want %q", h, want)
		}
		if req.Header.Get("Authorization") != "" {
			t.Errorf("the caller's request was changed")
		}
	}
	// Under make run, the secret shared with the local broker.
	local, err := SinkTransport(ca, "the-shared-secret", tokenFile, 1)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("POST", sink.URL, nil)
	if resp, err := local.RoundTrip(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if h := <-got; h != "Bearer the-shared-secret" {
		t.Errorf("with INTERNAL_TOKEN: Authorization = %q; want the shared secret", h)
	}
	if _, err := SinkTransport("not a certificate", "", tokenFile, 1); err == nil {
		t.Errorf("K_CA_CERTS without a certificate was taken")
	}
}
