package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
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
	"github.com/udaconnect/udaconnect/shared/secret"
)

// Callers admits to a function only the door and the Broker
// (docs/design.md, "Access"); every route checks its caller but the health
// endpoints, which the Server serves beside it.
//
// Under make run the door, the local broker and the functions share a
// secret (INTERNAL_TOKEN), which they send as a bearer token; it is
// compared in constant time, on hashes.
//
// In the cluster each caller sends a token of its service account that the
// cluster signed for the function's audience: the Broker's filter, with
// Knative Eventing's authentication-oidc feature on, a token of the
// Trigger's identity with every delivery; the door a projected
// service-account token. Callers checks the cluster's signature, the
// audience, the expiry, and the subject: a Trigger's at POST /, the door's
// elsewhere.
type Callers struct {
	secret *secret.Secret // under make run

	// In the cluster.
	audience    string
	events, api []string // the subjects admitted at POST / and elsewhere
	keys        KeysFunc
	now         func() time.Time

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// A KeysFunc returns the keys that sign the cluster's tokens.
type KeysFunc func(ctx context.Context) (*jose.JSONWebKeySet, error)

// The service account of a pod in the cluster.
const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

// NewCallers returns the check that cfg asks for: the shared secret of
// INTERNAL_TOKEN, or the cluster's tokens for OIDC_AUDIENCE, from the
// subjects of EVENTS_SENDERS at POST / and of API_CALLERS elsewhere, with
// the keys read from the cluster's API server. With neither it fails: a
// function never serves open.
func NewCallers(cfg Config) (*Callers, error) {
	switch {
	case cfg.InternalToken != "" && cfg.Audience != "":
		return nil, errors.New("INTERNAL_TOKEN and OIDC_AUDIENCE are both set: set INTERNAL_TOKEN under make run, OIDC_AUDIENCE in a cluster")
	case cfg.InternalToken != "":
		return &Callers{secret: secret.New(cfg.InternalToken)}, nil
	case cfg.Audience == "":
		return nil, errors.New("INTERNAL_TOKEN is not set, nor OIDC_AUDIENCE: a function answers only the door and the Broker, and needs the one (under make run) or the other (in a cluster) to tell them from anyone else")
	case len(cfg.EventsSenders) == 0:
		return nil, errors.New("EVENTS_SENDERS is not set: name the subjects that may send events")
	case len(cfg.APICallers) == 0:
		return nil, errors.New("API_CALLERS is not set: name the subjects that may call the routes (the door's)")
	case cfg.KubernetesAPI == "":
		return nil, errors.New("OIDC_AUDIENCE is set outside a cluster: KUBERNETES_SERVICE_HOST is not set")
	}
	ca, err := os.ReadFile(serviceAccount + "/ca.crt")
	if err != nil {
		return nil, fmt.Errorf("OIDC_AUDIENCE: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	url := cfg.KubernetesAPI + "/openid/v1/jwks"
	return clusterCallers(cfg.Audience, cfg.EventsSenders, cfg.APICallers, func(ctx context.Context) (*jose.JSONWebKeySet, error) {
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

// clusterCallers admits the tokens for audience signed by one of the keys
// that keys returns, of the subjects events at POST / and api elsewhere.
func clusterCallers(audience string, events, api []string, keys KeysFunc) *Callers {
	return &Callers{audience: audience, events: events, api: api, keys: keys, now: time.Now}
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

// Events serves next to the Broker only.
func (c *Callers) Events(next http.Handler) http.Handler {
	return c.require(c.events, "events are taken from the Broker only", next)
}

// API serves next to the door only.
func (c *Callers) API(next http.Handler) http.Handler {
	return c.require(c.api, "this service answers the door only", next)
}

// require serves next to the requests that check admits, and answers the
// others 401 (no valid credential) or 403 (another subject's), each with
// WWW-Authenticate (RFC 6750), by which the door tells a refusal of its
// own credential from a function's answer.
func (c *Callers) require(subjects []string, only string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.check(r, subjects, only); err != nil {
			switch udaconnect.ErrorCode(err) {
			case udaconnect.EUNAUTHORIZED:
				w.Header().Set("WWW-Authenticate", "Bearer")
			case udaconnect.EFORBIDDEN:
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			}
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check returns nil when r carries the shared secret, or a valid token of
// one of subjects; otherwise an EUNAUTHORIZED or EFORBIDDEN error.
func (c *Callers) check(r *http.Request, subjects []string, only string) error {
	raw := secret.BearerToken(r)
	if raw == "" {
		return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "%s: no credential", only)
	}
	if c.secret != nil {
		if !c.secret.Is(raw) {
			return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "%s: the credential is not valid", only)
		}
		return nil
	}
	token, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "%s: the identity token is malformed", only)
	}
	var claims jwt.Claims
	for try := 0; ; try++ {
		set, err := c.keySet(r.Context(), try > 0)
		if err != nil {
			return udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the cluster's keys cannot be read: %v", err)
		}
		if err = token.Claims(set, &claims); err == nil {
			break
		}
		if try > 0 {
			return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "%s: the identity token is not signed by the cluster", only)
		}
	}
	if err := claims.Validate(jwt.Expected{AnyAudience: jwt.Audience{c.audience}, Time: c.now()}); err != nil {
		return udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "%s: the identity token is not valid here: %v", only, err)
	}
	if !slices.Contains(subjects, claims.Subject) {
		return udaconnect.Errorf(udaconnect.EFORBIDDEN, "%s: not %s", only, claims.Subject)
	}
	return nil
}

// keySet returns the cached keys, read again when they are missing, or when
// fresh keys are asked for and the last read is keysRefresh old.
func (c *Callers) keySet(ctx context.Context, fresh bool) (*jose.JSONWebKeySet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set != nil && (!fresh || c.now().Sub(c.fetched) < keysRefresh) {
		return c.set, nil
	}
	set, err := c.keys(ctx)
	if err != nil {
		return nil, err
	}
	c.set, c.fetched = set, c.now()
	return set, nil
}
