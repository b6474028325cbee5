// Package server is the bootstrap every UdaConnect process shares: config
// from the environment, CloudEvents and REST on one mux, health endpoints,
// metrics and traces (see telemetry), and a graceful shutdown.
package server

import (
	"fmt"
	"net"
	"os"
)

// Config is read once from the environment at start.
type Config struct {
	Host        string // HOST, the address to listen on; default all
	Port        string // PORT, default 8080
	DatabaseURL string // DATABASE_URL, required by the functions
	Sink        string // K_SINK, where emitted events go; a process that sends events starts without it, not ready
	CACerts     string // K_CA_CERTS, the CA certificates of an https sink (optional)
	LogLevel    string // LOG_LEVEL: debug, info, warn or error; default info
}

// Addr is the address to listen on.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, c.Port) }

// LoadConfig reads the environment; required names a variable that must be set.
func LoadConfig(required ...string) (Config, error) {
	c := Config{
		Host:        os.Getenv("HOST"),
		Port:        getenv("PORT", "8080"),
		DatabaseURL: os.Getenv("DATABASE_URL"),
		Sink:        os.Getenv("K_SINK"),
		CACerts:     os.Getenv("K_CA_CERTS"),
		LogLevel:    getenv("LOG_LEVEL", "info"),
	}
	for _, name := range required {
		if os.Getenv(name) == "" {
			return c, fmt.Errorf("%s is not set", name)
		}
	}
	return c, nil
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
