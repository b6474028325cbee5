// Package secret holds a secret that processes share, such as the one the
// door, the local broker and the functions prove themselves with under
// make run (docs/design.md, "Access"), and checks it in constant time.
package secret

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// A Secret is kept as its hash.
type Secret [sha256.Size]byte

// New keeps s.
func New(s string) *Secret {
	sum := Secret(sha256.Sum256([]byte(s)))
	return &sum
}

// Is reports whether token is the secret, in a time that does not depend on
// how much of it matches; no secret is empty.
func (s *Secret) Is(token string) bool {
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], s[:]) == 1
}

// BearerToken returns the bearer token of r's Authorization header, or "".
func BearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
