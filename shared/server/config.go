// Package server is the bootstrap every UdaConnect process shares: config
// from the environment, JSON logs, CloudEvents and REST on one mux, health
// endpoints and a graceful shutdown.
package server

import (
	"fmt"
	"net"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config is read once from the environment at start.
type Config struct {
	Host        string // HOST, the address to listen on; default all
	Port        string // PORT, default 8080
	DatabaseURL string // DATABASE_URL, required by the functions
	Sink        string // K_SINK, where emitted events go (optional)
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

// NewLogger returns a JSON logger at the given level.
func NewLogger(level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.TimeKey = "time"
	cfg.EncoderConfig.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	cfg.Sampling = nil
	return cfg.Build()
}
