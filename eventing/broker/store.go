package broker

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Store keeps the brokers' events on disk: an embedded NATS server whose
// JetStream writes its streams as files under a directory, served to this
// process only (it listens on no port).
//
// Durability: JetStream writes each event to its file before it confirms
// the publish, so an event answered 202 is in the operating system's page
// cache and survives a kill -9 of the process. The files are fsynced every
// two minutes (JetStream's default sync interval), not per event: only a
// crash of the machine itself can lose the events of the last interval,
// which is the trade the local broker makes to stay fast (docs/design.md,
// "Faults").
type Store struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

// OpenStore starts the store on dir, made if new; what an earlier run left
// there is delivered again.
func OpenStore(dir string) (*Store, error) {
	srv, err := server.NewServer(&server.Options{
		ServerName: "localbroker",
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("store %s: not ready after 30s", dir)
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.MaxReconnects(-1))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("store %s: connect: %w", dir, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	return &Store{srv: srv, nc: nc, js: js}, nil
}

// Close writes the store's files and stops it.
func (s *Store) Close() {
	s.nc.Close()
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// errCodeStoreFailed is JetStream's error code for a message it did not
// store; its description says why, "maximum messages exceeded" when the
// stream is full.
const errCodeStoreFailed = 10077

// isFull reports a publish refused because a stream holds its maximum.
func isFull(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStoreFailed &&
		strings.HasPrefix(apiErr.Description, "maximum")
}
