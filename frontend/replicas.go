package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/udaconnect/udaconnect/shared/server"
)

// replicas are the addresses of a function's replicas, taken in turn, as
// Knative's activator spreads requests over a revision's pods, and the
// transport that calls them with the door's credential. In the cluster
// there is one address, the Knative Service's; `make run REPLICAS=n` gives
// n.
type replicas struct {
	urls      []*url.URL
	next      atomic.Uint64
	transport http.RoundTripper
}

// upstream reads the function of the variable name (PERSONS_URL...) and
// how the door proves itself to it (docs/design.md, "Access"): the secret
// of INTERNAL_TOKEN under make run, or else, in the cluster, the token
// file of PERSONS_TOKEN_FILE (for PERSONS_URL), a projected service-account
// token for the function's audience. With neither the door does not start.
func upstream(name string, getenv func(string) string) (*replicas, error) {
	r, err := parseReplicas(name, getenv(name))
	if err != nil {
		return nil, err
	}
	token, fileName := getenv("INTERNAL_TOKEN"), strings.TrimSuffix(name, "_URL")+"_TOKEN_FILE"
	file := getenv(fileName)
	if token == "" && file == "" {
		return nil, fmt.Errorf("INTERNAL_TOKEN is not set, nor %s: the functions answer only the door's credential", fileName)
	}
	r.transport = server.CallerTransport(token, file)
	return r, nil
}

// parseReplicas reads the comma-separated absolute URLs of the variable name.
func parseReplicas(name, v string) (*replicas, error) {
	r := &replicas{}
	for s := range strings.SplitSeq(v, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("%s must be absolute URLs separated by commas, not %q", name, v)
		}
		r.urls = append(r.urls, u)
	}
	return r, nil
}

// pick returns the replica whose turn it is.
func (r *replicas) pick() *url.URL {
	return r.urls[(r.next.Add(1)-1)%uint64(len(r.urls))]
}
