package auth

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// MinKeySize is the least number of bytes of the key that signs tokens.
const MinKeySize = 32

// errKey names the setting and says how to make a good key.
var errKey = errors.New("AUTH_KEY must be at least 32 random bytes, written in hex or base64 (such as the output of `head -c 32 /dev/urandom | base64`)")

// ParseKey decodes the key that signs tokens from hex or base64 (standard
// or URL alphabet, padded or not) and refuses one that is too short or
// plainly not random: fewer than 16 different bytes, or a shorter run of
// bytes repeated.
func ParseKey(s string) ([]byte, error) {
	key, err := decodeKey(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: it is neither", errKey)
	case len(key) < MinKeySize:
		return nil, fmt.Errorf("%w: it decodes to %d bytes", errKey, len(key))
	case distinct(key) < 16 || periodic(key):
		return nil, fmt.Errorf("%w: it repeats itself", errKey)
	}
	return key, nil
}

func decodeKey(s string) ([]byte, error) {
	if key, err := hex.DecodeString(s); err == nil {
		return key, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.Strict().DecodeString(s); err == nil {
			return key, nil
		}
	}
	return nil, errors.New("not hex or base64")
}

func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	return n
}

// periodic reports whether b is a shorter run of bytes repeated (the last
// time perhaps in part).
func periodic(b []byte) bool {
	for p := 1; p <= len(b)/2; p++ {
		i := p
		for i < len(b) && b[i] == b[i-p] {
			i++
		}
		if i == len(b) {
			return true
		}
	}
	return false
}
