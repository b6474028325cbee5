package main

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
)

// replicas are the addresses of a function's replicas, taken in turn, as
// Knative's activator spreads requests over a revision's pods. In the
// cluster there is one address, the Knative Service's; `make run
// REPLICAS=n` gives n.
type replicas struct {
	urls []*url.URL
	next atomic.Uint64
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
