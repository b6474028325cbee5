package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	key       = "tSVou91kUtWdxMoDDvWAhbFpvHiQvUkHtDal2nVwDgo=" // 32 bytes in base64
	organizer = "the-organizer-token-0123456789abcdef"
)

func mustTokens(t *testing.T, key string) *Tokens {
	t.Helper()
	tokens, err := NewTokens(key, organizer, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func TestVerify(t *testing.T) {
	tokens := mustTokens(t, key)
	attendee, err := tokens.Issue(12, 3)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := mustTokens(t, "59595553232fc8640dc86f85baa90776f6f934b0505063e6714aef22ed363dbe").Issue(12, 3)
	past := mustTokens(t, key)
	past.Now = func() time.Time { return time.Now().Add(-61 * time.Minute) }
	expired, _ := past.Issue(12, 3)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "person-12", "gen": 3,
		"iss": issuer, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	reporter, _ := tokens.IssueReporter(3)
	organizerSigned, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "organizer", "gen": 1,
		"iss": issuer, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(mustKey(t, key))

	for _, tt := range []struct {
		name, token string
		want        Principal
		ok          bool
	}{
		{"organizer", organizer, Principal{Role: Organizer}, true},
		{"attendee", attendee, Principal{Role: Attendee, PersonID: 12, Generation: 3}, true},
		{"reporter", reporter, Principal{Role: Reporter, ReporterID: 3, Generation: 1}, true},
		{"organizer's token with one more character", organizer + "x", Principal{}, false},
		{"signed with another key", other, Principal{}, false},
		{"expired", expired, Principal{}, false},
		{"unsigned (alg none)", none, Principal{}, false},
		{"a signed subject that is no person", organizerSigned, Principal{}, false},
		{"tampered", tamper(attendee), Principal{}, false},
		{"empty", "", Principal{}, false},
	} {
		got, err := tokens.Verify(tt.token)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Verify(%s) = %+v, %v; want %+v, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestNewTokensRefusesWeakSettings(t *testing.T) {
	for _, tt := range []struct {
		name, key, organizer string
		ttl                  time.Duration
	}{
		{"short key", "c2hvcnQ=", organizer, time.Hour},
		{"short organizer token", key, "short", time.Hour},
		{"no lifetime", key, organizer, 0},
	} {
		if _, err := NewTokens(tt.key, tt.organizer, tt.ttl); err == nil {
			t.Errorf("NewTokens(%s) = nil error; want a refusal", tt.name)
		}
	}
}

func TestPrincipal(t *testing.T) {
	a, r := Principal{Role: Attendee, PersonID: 7}, Principal{Role: Reporter, ReporterID: 7}
	if !a.May(7) || a.May(8) || !(Principal{Role: Organizer}).May(8) || r.May(7) {
		t.Errorf("May: an attendee may act on their own person only, the organizer on everyone, a reporter on no one")
	}
	if !a.MayReport(7) || a.MayReport(8) || !r.MayReport(8) || !(Principal{Role: Organizer}).MayReport(8) {
		t.Errorf("MayReport: an attendee reports for themself only, the organizer and a reporter for anyone")
	}
	if r.Subject() != "reporter-7" {
		t.Errorf("Subject = %q; want reporter-7", r.Subject())
	}
	if a.Subject() != "person-7" || (Principal{Role: Organizer}).Subject() != "organizer" {
		t.Errorf("Subject = %q, %q; want person-7, organizer", a.Subject(), Principal{Role: Organizer}.Subject())
	}
}

// tamper changes one character in the middle of token's signature (the
// last ones may carry padding bits that decoding ignores).
func tamper(token string) string {
	i := len(token) - 10
	c := byte('A')
	if token[i] == c {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
