// Package server is the bootstrap every UdaConnect process shares: config
// from the environment, CloudEvents and REST on one mux, health endpoints,
// metrics and traces (see telemetry), and a graceful shutdown.
package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is read once from the environment at start.
type Config struct {
	Host        string // HOST, the address to listen on; default all
	Port        string // PORT, default 8080
	DatabaseURL string // DATABASE_URL, required by the functions
	Sink        string // K_SINK, where emitted events go; a process that sends events starts without it, not ready
	CACerts     string // K_CA_CERTS, the CA certificates of an https sink (optional)
	LogLevel    string // LOG_LEVEL: debug, info, warn or error; default info

	// Who may call a function (docs/design.md, "Access"): under make run,
	// the holders of a shared secret; in the cluster, the holders of a token
	// the cluster signed for the function's audience, by subject.
	InternalToken string   // INTERNAL_TOKEN, the secret the door, the local broker and the functions share
	Audience      string   // OIDC_AUDIENCE, the audience of the tokens a function takes
	EventsSenders []string // EVENTS_SENDERS, comma-separated: the subjects that may send events (the Triggers)
	APICallers    []string // API_CALLERS, comma-separated: the subjects that may call the other routes (the door)
	KubernetesAPI string   // https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT, in a pod
}

// Addr is the address to listen on.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, c.Port) }

// LoadConfig reads the environment; required names a variable that must be set.
func LoadConfig(required ...string) (Config, error) {
	c := Config{
		Host:          os.Getenv("HOST"),
		Port:          getenv("PORT", "8080"),
		DatabaseURL:   os.Getenv("DATABASE_URL"),
		Sink:          os.Getenv("K_SINK"),
		CACerts:       os.Getenv("K_CA_CERTS"),
		LogLevel:      getenv("LOG_LEVEL", "info"),
		InternalToken: os.Getenv("INTERNAL_TOKEN"),
		Audience:      os.Getenv("OIDC_AUDIENCE"),
		EventsSenders: list(os.Getenv("EVENTS_SENDERS")),
		APICallers:    list(os.Getenv("API_CALLERS")),
	}
	if host := os.Getenv("KUBERNETES_SERVICE_HOST"); host != "" {
		c.KubernetesAPI = "https://" + net.JoinHostPort(host, getenv("KUBERNETES_SERVICE_PORT", "443"))
	}
	for _, name := range required {
		if os.Getenv(name) == "" {
			return c, fmt.Errorf("%s is not set", name)
		}
	}
	return c, nil
}

// ParseRetention reads the setting name, how long data is kept: in days
// (30d) or as Go writes a duration (720h); empty is 0, kept forever.
func ParseRetention(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
	if strings.HasSuffix(s, "d") && err == nil {
		d = time.Duration(days) * 24 * time.Hour
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("%s: want a duration such as 30d or 720h, not %q", name, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s: want a positive duration, not %q", name, s)
	}
	return d, nil
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// list splits a comma-separated value, dropping blanks.
func list(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
