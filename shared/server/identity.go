package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

// CallerTransport returns the transport of the door's calls to a function
// (docs/design.md, "Access"): it sends token as a bearer token with every
// request when it is set (INTERNAL_TOKEN, under make run), and otherwise
// the token of tokenFile (a projected service-account token for the
// function's audience, in the cluster), read for every request since the
// kubelet renews it in place; a request whose token cannot be read fails.
func CallerTransport(token, tokenFile string) http.RoundTripper {
	return &identity{next: http.DefaultTransport, token: token, tokenFile: tokenFile}
}

// identity adds a credential to each request: token, or else the content
// of tokenFile, read anew each time. When optional, a request whose
// tokenFile cannot be read goes without.
type identity struct {
	next      http.RoundTripper
	token     string
	tokenFile string
	optional  bool
}

func (i *identity) RoundTrip(r *http.Request) (*http.Response, error) {
	token := i.token
	if token == "" {
		b, err := os.ReadFile(i.tokenFile)
		if err != nil && !i.optional {
			if r.Body != nil {
				r.Body.Close()
			}
			return nil, fmt.Errorf("read the identity token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return i.next.RoundTrip(r)
}
