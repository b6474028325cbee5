// Persons registers attendees: io.udaconnect.person.create in,
// io.udaconnect.person.created out, and the /api/persons routes.
package main

import (
	"context"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

const source = ev.Source + "/persons"

// Function stores people.
type Function struct {
	db  *postgres.DB
	log *zap.Logger
}

// New returns the function on db.
func New(_ server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	return &Function{db: db, log: log}, nil
}

// Handle stores the person of a person.create event and replies with
// person.created.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != ev.PersonCreate {
		return nil, udaconnect.Invalid("type", "this function takes %s events, not %q", ev.PersonCreate, e.Type())
	}
	var data ev.PersonCreateData
	if err := server.DecodeData(e, &data); err != nil {
		return nil, err
	}
	p, err := data.Person()
	if err != nil {
		return nil, err
	}
	if p, err = f.db.CreatePerson(ctx, p, e.Source(), e.ID()); err != nil {
		return nil, err
	}
	f.log.Info("person created", telemetry.EventFields(e, zap.Int64("person_id", p.ID))...)
	return server.NewEvent(source, ev.PersonCreated, e.ID(), p)
}

// Routes adds the REST routes of people to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/persons", server.Get(func(r *http.Request) ([]udaconnect.Person, error) {
		return f.db.FindPersons(r.Context())
	}, f.log))
	mux.Handle("POST /api/persons", server.PostEvent(f.Handle, source, ev.PersonCreate, f.log))
	mux.Handle("GET /api/persons/{id}", server.GetByID(f.db.FindPerson, f.log))
}
