package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
)

// OIDCTokenFile is where Knative's SinkBinding mounts the sender's identity
// token when Eventing's authentication-oidc feature is on; it is renewed in
// place, so it is read for every request.
const OIDCTokenFile = "/oidc/token"

// SinkTransport returns the transport for sending events to K_SINK, as a
// SinkBinding sets it up (docs/design.md, "Access"): it trusts the CA
// certificates of K_CA_CERTS besides the system's, for an https sink, and
// sends as a bearer token the secret token when it is set (INTERNAL_TOKEN,
// which the local broker takes under make run), or else the identity token
// of tokenFile when that file exists. It keeps up to idle connections to
// the sink.
func SinkTransport(caCerts, token, tokenFile string, idle int) (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idle
	if strings.TrimSpace(caCerts) != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(caCerts)) {
			return nil, fmt.Errorf("K_CA_CERTS holds no PEM certificate")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &identity{next: t, token: token, tokenFile: tokenFile, optional: true}, nil
}
