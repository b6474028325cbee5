package auth

import (
	"strings"
	"testing"
)

func mustKey(t *testing.T, s string) []byte {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKey(t *testing.T) {
	for _, tt := range []struct {
		name, key string
		size      int // 0: refused
	}{
		{"hex", "24797ff6ec2ee8acdf5fe4ce3088629a31285b446cdb681580c3109a9af49d85", 32},
		{"base64", "tSVou91kUtWdxMoDDvWAhbFpvHiQvUkHtDal2nVwDgo=", 32},
		{"base64url without padding (make run)", "tSVou91kUtWdxMoDDvWAhbFpvHiQvUkHtDal2nVwDgo", 32},
		{"base64url", "-_Vou91kUtWdxMoDDvWAhbFpvHiQvUkHtDal2nVwDgo=", 32},
		{"48 bytes in base64", "J9Xw0Kq1nW7y0bM3vQ8r5Zs2pL6tH4gF1eC9dA7uY3iO5kN2mB8xV0zR6wT4qS1j", 48},
		{"a word repeated", "changemechangemechangemechangeme", 0},
		{"a word repeated, in hex", strings.Repeat("6368616e67656d65", 4), 0},
		{"16 random bytes twice", strings.Repeat("24797ff6ec2ee8acdf5fe4ce3088629a", 2), 0},
		{"one byte", strings.Repeat("00", 32), 0},
		{"31 bytes", "24797ff6ec2ee8acdf5fe4ce3088629a31285b446cdb681580c3109a9af49d", 0},
		{"not hex or base64", "this is not a key, it has spaces and is long", 0},
		{"empty", "", 0},
	} {
		key, err := ParseKey(tt.key)
		if len(key) != tt.size || (err == nil) != (tt.size > 0) {
			t.Errorf("ParseKey(%s) = %d bytes, %v; want %d bytes", tt.name, len(key), err, tt.size)
		}
		if err != nil && !strings.Contains(err.Error(), "AUTH_KEY") {
			t.Errorf("ParseKey(%s) = %v; want a message naming AUTH_KEY", tt.name, err)
		}
	}
}
