package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// The door's calls carry the shared secret, or else the token of its file,
// read anew for each call; without a token to send, no call goes out.
func TestCallerTransport(t *testing.T) {
	got := make(chan string, 1)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
	}))
	defer fn.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	call := func(rt http.RoundTripper) (string, error) {
		t.Helper()
		req, _ := http.NewRequest("GET", fn.URL, nil)
		req.Header.Set("Authorization", "Bearer the-callers-own")
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		return <-got, nil
	}

	if h, err := call(CallerTransport("the-shared-secret", tokenFile)); err != nil || h != "Bearer the-shared-secret" {
		t.Errorf("with INTERNAL_TOKEN: Authorization = %q, %v; want the shared secret", h, err)
	}
	if h, err := call(CallerTransport("", tokenFile)); err == nil {
		t.Errorf("without a token file: a call went out with Authorization %q", h)
	}
	for _, token := range []string{"first-token", "renewed-token"} {
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if h, err := call(CallerTransport("", tokenFile)); err != nil || h != "Bearer "+token {
			t.Errorf("Authorization = %q, %v; want Bearer %s", h, err, token)
		}
	}
}
