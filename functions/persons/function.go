// Persons registers attendees: io.udaconnect.person.create in,
// io.udaconnect.person.created out, and the /api/persons routes; and the
// reporters that send reports for them, at /api/reporters.
package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	if p, err = f.db.CreatePerson(ctx, p, e.Source(), e.ID(), ev.Fingerprint(e)); err != nil {
		return nil, err
	}
	f.log.Info("person created", telemetry.EventFields(e, zap.Int64("person_id", p.ID))...)
	return server.NewEvent(source, ev.PersonCreated, e.ID(), p)
}

// Routes adds the REST routes of people to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/persons", f.personsRoute)
	mux.Handle("POST /api/persons", server.PostEvent(f.Handle, source, ev.PersonCreate, f.log))
	mux.Handle("GET /api/persons/{id}", server.GetByID(f.db.FindPerson, f.log))
	mux.HandleFunc("DELETE /api/persons/{id}", f.deletePerson)
	mux.HandleFunc("POST /api/persons/{id}/token", f.newTokenGeneration)
	mux.Handle("GET /token-generations", server.Get(func(r *http.Request) (map[string]int64, error) {
		return f.db.TokenGenerations(r.Context())
	}, f.log))
	mux.HandleFunc("POST /api/reporters", f.createReporter)
	mux.Handle("GET /api/reporters", server.Get(func(r *http.Request) ([]udaconnect.Reporter, error) {
		reporters, err := f.db.FindReporters(r.Context())
		if reporters == nil {
			reporters = []udaconnect.Reporter{}
		}
		return reporters, err
	}, f.log))
	mux.HandleFunc("DELETE /api/reporters/{id}", f.revokeReporter)
}

// createReporter registers a reporter from a body {"name": …}: 201 with
// the reporter, whose token the door adds.
func (f *Function) createReporter(w http.ResponseWriter, r *http.Request) {
	var reporter udaconnect.Reporter
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, server.MaxRequestSize)).Decode(&reporter)
	if err != nil {
		err = udaconnect.Invalid("body", "the request body must be a JSON object such as {\"name\": \"Hall A gateway\"}")
	}
	if err == nil {
		err = reporter.Validate()
	}
	if err == nil {
		reporter, err = f.db.CreateReporter(r.Context(), udaconnect.Reporter{Name: reporter.Name})
	}
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	f.log.Info("reporter created", zap.Int64("reporter_id", reporter.ID))
	server.WriteJSON(w, http.StatusCreated, reporter)
}

// revokeReporter revokes a reporter's token: 204, or 404 for an unknown
// or revoked reporter.
func (f *Function) revokeReporter(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	if err == nil {
		if err = f.db.RevokeReporter(r.Context(), id); err == nil {
			f.log.Info("reporter revoked", zap.Int64("reporter_id", id))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	f.writeError(w, r, err)
}

// personsRoute answers a page of the people a search asks for, in name
// order, with the address of the next page in a Link header when there may
// be one.
func (f *Function) personsRoute(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := udaconnect.PersonParams{Q: v.Get("q"), Limit: v.Get("limit"), After: v.Get("after")}.Query()
	var persons []udaconnect.Person
	if err == nil {
		persons, err = f.db.FindPersons(r.Context(), q)
	}
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	if len(persons) == q.Limit {
		last := persons[len(persons)-1]
		v.Set("after", udaconnect.PersonCursor{LastName: last.LastName, FirstName: last.FirstName, ID: last.ID}.String())
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, v.Encode()))
	}
	server.WriteJSON(w, http.StatusOK, persons)
}

// TokenGeneration is the answer to a new token: the door signs the token of
// that generation, which revokes those of earlier ones.
type TokenGeneration struct {
	PersonID   int64 `json:"person_id"`
	Generation int64 `json:"generation"`
}

func (f *Function) newTokenGeneration(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	if err == nil {
		var gen int64
		if gen, err = f.db.NextTokenGeneration(r.Context(), id); err == nil {
			f.log.Info("token reissued", zap.Int64("person_id", id), zap.Int64("generation", gen))
			server.WriteJSON(w, http.StatusCreated, TokenGeneration{PersonID: id, Generation: gen})
			return
		}
	}
	f.writeError(w, r, err)
}

// deletePerson deletes a person with all their data and revokes their
// tokens: 204, or 404 for an unknown person.
func (f *Function) deletePerson(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	if err == nil {
		if err = f.db.DeletePerson(r.Context(), id); err == nil {
			f.log.Info("person deleted", zap.Int64("person_id", id))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	f.writeError(w, r, err)
}

// writeError answers err, logging it when it is the server's fault.
func (f *Function) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if server.ErrorStatus(err) >= 500 {
		f.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	server.WriteError(w, err)
}
