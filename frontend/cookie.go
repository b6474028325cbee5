package main

import "net/http"

// The web app's session cookie (docs/design.md, "Access"). Over https it is
// Secure and __Host- prefixed: the browser sends it over https only, to this
// host only (no Domain, Path=/), and refuses one set over http or by a
// sibling domain. Over plain http, which only `make run` and a port-forward
// on the developer's own machine serve, it is neither: not every browser
// takes a Secure or __Host- cookie from http://localhost.
const (
	SessionCookie       = "__Host-udaconnect_session"
	SessionCookieOnHTTP = "udaconnect_session"
)

// overHTTPS tells whether the client reached the door over https: TLS here,
// or at the ingress in front of it (Knative's, which says so in
// X-Forwarded-Proto).
func overHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// sessionCookie returns the name of the session cookie for the request's
// scheme and whether it is Secure.
func sessionCookie(r *http.Request) (name string, secure bool) {
	if overHTTPS(r) {
		return SessionCookie, true
	}
	return SessionCookieOnHTTP, false
}
