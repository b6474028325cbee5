package secret

import (
	"net/http"
	"testing"
)

func TestSecret(t *testing.T) {
	s := New("the-shared-secret")
	for _, tt := range []struct {
		authorization string
		want          bool
	}{
		{"Bearer the-shared-secret", true},
		{"bearer  the-shared-secret ", true},
		{"Bearer the-shared-secreT", false},
		{"Bearer the-shared-secret2", false},
		{"Bearer ", false},
		{"Basic the-shared-secret", false},
		{"the-shared-secret", false},
		{"", false},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.authorization)
		if got := s.Is(BearerToken(r)); got != tt.want {
			t.Errorf("Authorization %q: Is = %v; want %v", tt.authorization, got, tt.want)
		}
	}
	if New("").Is("") {
		t.Error("an empty token is the empty secret; want no secret empty")
	}
}
