package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// Senders admits events only from the senders a function allows
// (docs/design.md, "Access"). With Knative Eventing's authentication-oidc
// feature on, the Broker sends every delivery to a Trigger whose subscriber
// names an audience with a token of the Trigger's service account, signed by
// the cluster. Senders checks that token: the cluster's signature, the
// function's audience, an allowed subject, and the expiry. Locally there is
// no such token, and no Senders.
type Senders struct {
	audience string
	subjects []string
	keys     KeysFunc
	now      func() time.Time

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// A KeysFunc returns the keys that sign the cluster's tokens.
type KeysFunc func(ctx context.Context) (*jose.JSONWebKeySet, error)

// NewSenders admits the tokens for audience whose subject is one of
// subjects, signed by one of the keys that keys returns.
func NewSenders(audience string, subjects []string, keys KeysFunc) *Senders {
	return &Senders{audience: audience, subjects: subjects, keys: keys, now: time.Now}
}

// The service account of a pod in the cluster.
const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

// SendersFromEnv returns the Senders of EVENTS_AUDIENCE and EVENTS_SENDERS
// (a comma-separated list of subjects) that reads the cluster's keys from
// its API server, or nil when EVENTS_AUDIENCE is not set.
func SendersFromEnv() (*Senders, error) {
	audience := os.Getenv("EVENTS_AUDIENCE")
	if audience == "" {
		return nil, nil
	}
	var subjects []string
	for s := range strings.SplitSeq(os.Getenv("EVENTS_SENDERS"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			subjects = append(subjects, s)
		}
	}
	if len(subjects) == 0 {
		return nil, fmt.Errorf("EVENTS_SENDERS is not set: name the subjects that may send events")
	}
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" {
		return nil, fmt.Errorf("EVENTS_AUDIENCE is set outside a cluster: KUBERNETES_SERVICE_HOST is not set")
	}
	ca, err := os.ReadFile(serviceAccount + "/ca.crt")
	if err != nil {
		return nil, fmt.Errorf("EVENTS_AUDIENCE: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	url := "https://" + strings.TrimSuffix(host+":"+port, ":") + "/openid/v1/jwks"
	return NewSenders(audience, subjects, func(ctx context.Context) (*jose.JSONWebKeySet, error) {
		token, err := os.ReadFile(serviceAccount + "/token")
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		return fetchKeys(client, req)
	}), nil
}

func fetchKeys(client *http.Client, req *http.Request) (*jose.JSONWebKeySet, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode %s: %w", req.URL, err)
	}
	return &set, nil
}

// keysRefresh is how often the keys are read again at most: when a token is
// signed by a key not seen yet, the cluster may have rotated its keys.
const keysRefresh = time.Minute

// Check returns nil when the request carries a valid token of an allowed
// sender; otherwise an EUNAUTHORIZED or EFORBIDDEN error.
func (s *Senders) Check(r *http.Request) error {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "events are taken from the Broker only: no identity token")
	}
	token, err := jwt.ParseSigned(strings.TrimSpace(raw), []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "the identity token is malformed")
	}
	var claims jwt.Claims
	for try := 0; ; try++ {
		set, err := s.keySet(r.Context(), try > 0)
		if err != nil {
			return udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the cluster's keys cannot be read: %v", err)
		}
		if err = token.Claims(set, &claims); err == nil {
			break
		}
		if try > 0 {
			return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "the identity token is not signed by the cluster")
		}
	}
	if err := claims.Validate(jwt.Expected{AnyAudience: jwt.Audience{s.audience}, Time: s.now()}); err != nil {
		return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "the identity token is not valid here: %v", err)
	}
	if !slices.Contains(s.subjects, claims.Subject) {
		return udaconnect.Errorf(udaconnect.EFORBIDDEN, "%s may not send events here", claims.Subject)
	}
	return nil
}

// keySet returns the cached keys, read again when they are missing, or when
// fresh keys are asked for and the last read is keysRefresh old.
func (s *Senders) keySet(ctx context.Context, fresh bool) (*jose.JSONWebKeySet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set != nil && (!fresh || s.now().Sub(s.fetched) < keysRefresh) {
		return s.set, nil
	}
	set, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	s.set, s.fetched = set, s.now()
	return set, nil
}

// Require serves only the requests that Check admits.
func (s *Senders) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Check(r); err != nil {
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
