package main

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Over https (TLS at the door or at the ingress before it) the session
// cookie is __Host- prefixed, Secure, Path=/ and has no Domain, as a
// browser requires of a __Host- cookie; over plain http it is neither, so
// that `make run` on http://localhost signs in in every browser.
func TestSessionCookieFollowsScheme(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(*http.Request)
		cookie string
		secure bool
	}{
		{"http", func(*http.Request) {}, SessionCookieOnHTTP, false},
		{"https at the ingress", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") }, SessionCookie, true},
		{"TLS at the door", func(r *http.Request) { r.TLS = &tls.ConnectionState{} }, SessionCookie, true},
		{"http at the ingress", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "http") }, SessionCookieOnHTTP, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("DELETE", "/api/session", nil)
			tt.setup(r)
			if name, secure := sessionCookie(r); name != tt.cookie || secure != tt.secure {
				t.Errorf("sessionCookie = %s, %v; want %s, %v", name, secure, tt.cookie, tt.secure)
			}
			w := httptest.NewRecorder()
			signOut(w, r)
			set := w.Header().Get("Set-Cookie")
			if !strings.HasPrefix(set, tt.cookie+"=") || strings.Contains(set, "Secure") != tt.secure {
				t.Errorf("Set-Cookie %q; want %s, Secure %v", set, tt.cookie, tt.secure)
			}
			if !strings.Contains(set, "Path=/") || strings.Contains(set, "Domain=") {
				t.Errorf("Set-Cookie %q; want Path=/ and no Domain", set)
			}
		})
	}
	if !strings.HasPrefix(SessionCookie, "__Host-") {
		t.Errorf("SessionCookie %q has no __Host- prefix", SessionCookie)
	}
}
