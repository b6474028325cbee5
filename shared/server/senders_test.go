package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	trigger  = "system:serviceaccount:udaconnect:locations-oidc-eventing.knative.dev-trigger"
	audience = "serving.knative.dev/service/udaconnect/locations"
)

type signer struct {
	key *rsa.PrivateKey
	kid string
}

func newSigner(t *testing.T, kid string) signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key: key, kid: kid}
}

func (s signer) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.RS256), Use: "sig"}
}

func (s signer) token(t *testing.T, subject, aud string, expiry time.Time) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(jwt.Claims{Subject: subject, Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(expiry), IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Only the Broker's deliveries for this function's Trigger get through.
func TestSenders(t *testing.T) {
	cluster, rotated, stranger := newSigner(t, "k1"), newSigner(t, "k2"), newSigner(t, "k1")
	published := []jose.JSONWebKey{cluster.public()}
	fetches := 0
	senders := NewSenders(audience, []string{trigger}, func(context.Context) (*jose.JSONWebKeySet, error) {
		fetches++
		return &jose.JSONWebKeySet{Keys: published}, nil
	})
	now := time.Now()
	senders.now = func() time.Time { return now }
	srv := httptest.NewServer(senders.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})))
	defer srv.Close()
	send := func(token string) int {
		req, _ := http.NewRequest("POST", srv.URL, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hour := now.Add(time.Hour)
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"the Trigger's token", cluster.token(t, trigger, audience, hour), 202},
		{"no token", "", 401},
		{"not a token", "abc.def.ghi", 401},
		{"another function's audience", cluster.token(t, trigger, "serving.knative.dev/service/udaconnect/persons", hour), 401},
		{"expired", cluster.token(t, trigger, audience, now.Add(-time.Hour)), 401},
		{"another service account", cluster.token(t, "system:serviceaccount:udaconnect:default", audience, hour), 403},
		{"signed by a key not the cluster's", stranger.token(t, trigger, audience, hour), 401},
	} {
		if got := send(tt.token); got != tt.want {
			t.Errorf("%s = %d; want %d", tt.name, got, tt.want)
		}
	}
	before := fetches
	// The cluster rotates its keys: a token of the new key is taken once
	// the keys are read again, which happens at most every keysRefresh.
	published = append(published, rotated.public())
	now = now.Add(keysRefresh + time.Second)
	if got := send(rotated.token(t, trigger, audience, now.Add(time.Hour))); got != 202 {
		t.Errorf("a token of a rotated key = %d; want 202", got)
	}
	if fetches != before+1 {
		t.Errorf("%d key reads for one rotation; want 1", fetches-before)
	}
}
