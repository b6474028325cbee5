package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/udaconnect/udaconnect/shared/secret"
	"go.uber.org/zap/zaptest"
)

const (
	trigger  = "system:serviceaccount:udaconnect:locations-oidc-eventing.knative.dev-trigger"
	door     = "system:serviceaccount:udaconnect:frontend"
	audience = "serving.knative.dev/service/udaconnect/locations"
)

type signer struct {
	key *rsa.PrivateKey
	kid string
}

func newSigner(t testing.TB, kid string) signer {
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

func (s signer) token(t testing.TB, subject, aud string, expiry time.Time) string {
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

// In the cluster, only the Broker's deliveries for this function's Trigger
// reach POST /, and only the door's calls the other routes.
func TestCallersInTheCluster(t *testing.T) {
	cluster, rotated, stranger := newSigner(t, "k1"), newSigner(t, "k2"), newSigner(t, "k1")
	published := []jose.JSONWebKey{cluster.public()}
	fetches := 0
	callers := clusterCallers(audience, []string{trigger}, []string{door}, func(context.Context) (*jose.JSONWebKeySet, error) {
		fetches++
		return &jose.JSONWebKeySet{Keys: published}, nil
	})
	now := time.Now()
	callers.now = func() time.Time { return now }
	srv := httptest.NewServer(Mux(function{}, callers, zaptest.NewLogger(t)))
	defer srv.Close()
	send := func(method, path, token string) int {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" ||
			resp.StatusCode == 403 && resp.Header.Get("WWW-Authenticate") != `Bearer error="insufficient_scope"` {
			t.Errorf("%s %s: %d with WWW-Authenticate %q", method, path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		return resp.StatusCode
	}
	hour := now.Add(time.Hour)
	for _, tt := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"the Trigger's token", "POST", "/", cluster.token(t, trigger, audience, hour), 400}, // not an event, but let in
		{"the door's token", "GET", "/things/1", cluster.token(t, door, audience, hour), 200},
		{"the door's token at POST /", "POST", "/", cluster.token(t, door, audience, hour), 403},
		{"the Trigger's token at a route", "GET", "/things/1", cluster.token(t, trigger, audience, hour), 403},
		{"no token", "POST", "/", "", 401},
		{"no token at a route", "GET", "/things/1", "", 401},
		{"no token at no route", "GET", "/nothing", "", 401},
		{"not a token", "GET", "/things/1", "abc.def.ghi", 401},
		{"another function's audience", "GET", "/things/1", cluster.token(t, door, "serving.knative.dev/service/udaconnect/persons", hour), 401},
		{"expired", "POST", "/", cluster.token(t, trigger, audience, now.Add(-time.Hour)), 401},
		{"another service account", "GET", "/things/1", cluster.token(t, "system:serviceaccount:udaconnect:default", audience, hour), 403},
		{"signed by a key not the cluster's", "GET", "/things/1", stranger.token(t, door, audience, hour), 401},
	} {
		if got := send(tt.method, tt.path, tt.token); got != tt.want {
			t.Errorf("%s: %s %s = %d; want %d", tt.name, tt.method, tt.path, got, tt.want)
		}
	}
	before := fetches
	// The cluster rotates its keys: a token of the new key is taken once
	// the keys are read again, which happens at most every keysRefresh.
	published = append(published, rotated.public())
	now = now.Add(keysRefresh + time.Second)
	if got := send("GET", "/things/1", rotated.token(t, door, audience, now.Add(time.Hour))); got != 200 {
		t.Errorf("a token of a rotated key = %d; want 200", got)
	}
	if fetches != before+1 {
		t.Errorf("%d key reads for one rotation; want 1", fetches-before)
	}
}

// Under make run, every route but the health endpoints takes only the
// shared secret.
func TestCallersShareASecret(t *testing.T) {
	callers, err := NewCallers(Config{InternalToken: "the-shared-secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: "127.0.0.1:0", Handler: Mux(function{}, callers, zaptest.NewLogger(t)), Log: zaptest.NewLogger(t)}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	for _, tt := range []struct {
		method, path, authorization string
		want                        int
	}{
		{"GET", "/things/1", "Bearer the-shared-secret", 200},
		{"POST", "/", "Bearer the-shared-secret", 400}, // not an event, but let in
		{"GET", "/things/1", "", 401},
		{"POST", "/", "", 401},
		{"GET", "/things/1", "Bearer the-shared-secreT", 401},
		{"GET", "/things/1", "Bearer ", 401},
		{"GET", "/things/1", "Basic the-shared-secret", 401},
		{"GET", "/nothing", "", 401},
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
	} {
		req, _ := http.NewRequest(tt.method, "http://"+s.Addr+tt.path, nil)
		if tt.authorization != "" {
			req.Header.Set("Authorization", tt.authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body ErrorBody
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s with %q = %d; want %d", tt.method, tt.path, tt.authorization, resp.StatusCode, tt.want)
		}
		if resp.StatusCode == 401 && !strings.Contains(body.Error, "credential") {
			t.Errorf("%s %s with %q: 401 %q; want a message on the credential", tt.method, tt.path, tt.authorization, body.Error)
		}
	}
}

// A function without a way to know its callers does not start.
func TestCallersFailClosed(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"nothing", Config{}, "INTERNAL_TOKEN is not set, nor OIDC_AUDIENCE"},
		{"both", Config{InternalToken: "s", Audience: audience}, "both set"},
		{"no senders", Config{Audience: audience, APICallers: []string{door}, KubernetesAPI: "https://10.0.0.1"}, "EVENTS_SENDERS is not set"},
		{"no door", Config{Audience: audience, EventsSenders: []string{trigger}, KubernetesAPI: "https://10.0.0.1"}, "API_CALLERS is not set"},
		{"outside a cluster", Config{Audience: audience, EventsSenders: []string{trigger}, APICallers: []string{door}}, "KUBERNETES_SERVICE_HOST is not set"},
	} {
		if _, err := NewCallers(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewCallers = %v; want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// function is a Function with a route, /things/{id}.
type function struct{}

func (function) Handle(context.Context, event.Event) (*event.Event, error) { return nil, nil }

func (function) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
}

// The cost of the check per request: a hash under make run, a signature
// in the cluster.
func BenchmarkCallers(b *testing.B) {
	cluster := newSigner(b, "k1")
	req, _ := http.NewRequest("GET", "/things/1", nil)
	for _, bb := range []struct {
		name    string
		callers *Callers
		token   string
	}{
		{"shared secret", &Callers{secret: secret.New("the-shared-secret")}, "the-shared-secret"},
		{"cluster token", clusterCallers(audience, []string{trigger}, []string{door}, func(context.Context) (*jose.JSONWebKeySet, error) {
			return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{cluster.public()}}, nil
		}), cluster.token(b, door, audience, time.Now().Add(time.Hour))},
	} {
		b.Run(bb.name, func(b *testing.B) {
			req.Header.Set("Authorization", "Bearer "+bb.token)
			for b.Loop() {
				if err := bb.callers.check(req, bb.callers.api, "test"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
