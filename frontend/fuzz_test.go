package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/udaconnect/udaconnect/frontend/auth"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"go.uber.org/zap"
)

// checkingBroker is the broker's ingress as the functions see it: every
// event the door forwards must be one they can read, store and forward.
type checkingBroker struct {
	mu  sync.Mutex
	bad []string
}

func (b *checkingBroker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err == nil {
		err = e.Validate()
	}
	if err == nil {
		err = ev.Check(e, ev.MaxKeyBytes)
	}
	sources := []string{e.Source()}
	if err == nil && e.Type() == ev.LocationsReported {
		var group ev.LocationsReportedData
		err = e.DataAs(&group)
		sources = sources[:0]
		for _, d := range group.Reports {
			if _, rerr := d.Report(); rerr != nil && err == nil {
				err = fmt.Errorf("report %q: %v", d.ID, rerr)
			}
			sources = append(sources, d.Source)
		}
	}
	for _, source := range sources {
		if err == nil && !strings.HasPrefix(source, "/senders/organizer/") {
			err = fmt.Errorf("source %q is not scoped to its sender", source)
		}
	}
	if err != nil {
		b.mu.Lock()
		b.bad = append(b.bad, err.Error())
		b.mu.Unlock()
	}
	w.WriteHeader(http.StatusAccepted)
}

// fuzzDoor returns a function that serves a request at /events as the
// organizer and fails t if the answer is not one the door may give, or if
// the door forwarded an event the broker's subscribers could not take.
func fuzzDoor(f *testing.F) func(t *testing.T, req *http.Request) {
	b := &checkingBroker{}
	sink := httptest.NewServer(b)
	f.Cleanup(sink.Close)
	d := NewDoor(sink.URL, http.DefaultTransport, DefaultLinger, zap.NewNop())
	organizer := context.WithValue(context.Background(), principalKey{}, auth.Principal{Role: auth.Organizer})
	return func(t *testing.T, req *http.Request) {
		w := httptest.NewRecorder()
		d.ServeHTTP(w, req.WithContext(organizer))
		switch w.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("answer %d %s; want 202, 400 or 413 from a broker that takes everything", w.Code, w.Body)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, bad := range b.bad {
			t.Errorf("the door forwarded an event the functions refuse: %s", bad)
		}
		b.bad = nil
	}
}

const fuzzReport = `{"person_id":8,"latitude":35.05,"longitude":-106.57,"creation_time":"2020-07-07T10:00:00Z"}`

// FuzzEventBinary sends one event in binary mode, its attributes in headers.
func FuzzEventBinary(f *testing.F) {
	f.Add("id-1", "/devices/test", ev.LocationReported, "", fuzzReport)
	f.Add("line\nbreak", "/devices/test", ev.LocationReported, "a", fuzzReport)
	f.Add("id", "src", ev.PersonCreate, "nul\x00", `{"first_name":"A","last_name":"B","company_name":"C"}`)
	f.Add("\xff\xfe", strings.Repeat("s", 300), ev.LocationReported, "", `{"person_id":8,"latitude":1e400}`)
	f.Add("id", "src", ev.PersonCreate, "", `{"first_name":"A\u0000","last_name":"B","company_name":"C"}`)
	serve := fuzzDoor(f)
	f.Fuzz(func(t *testing.T, id, source, typ, ext, data string) {
		req := httptest.NewRequest("POST", "/events", strings.NewReader(data))
		req.Header = http.Header{
			"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {id},
			"Ce-Source": {source}, "Ce-Type": {typ}, "Ce-Note": {ext},
		}
		serve(t, req)
	})
}

// FuzzEventStructured sends one event in structured mode.
func FuzzEventStructured(f *testing.F) {
	f.Add([]byte(report("id-1", 8)))
	f.Add([]byte(`{"specversion":"1.0","id":"a\nb","source":"s","type":"` + ev.LocationReported + `","data":` + fuzzReport + `}`))
	f.Add([]byte(`{"specversion":"1.0","id":"\xff","source":"s","type":"` + ev.PersonCreate + `","note":"\u0000","data":{"first_name":"\u0000"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"i","source":"s","type":"` + ev.LocationReported + `","data_base64":"/w=="}`))
	serve := fuzzDoor(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		serve(t, req)
	})
}

// FuzzEventBatch sends a batch.
func FuzzEventBatch(f *testing.F) {
	f.Add([]byte("[" + report("a", 8) + "," + report("b", 6) + "]"))
	f.Add([]byte("[" + report("a", 8) + `,{"specversion":"1.0","id":"x\ny","source":"s","type":"t"}]`))
	f.Add([]byte(`[{"specversion":"1.0","id":"` + strings.Repeat("i", 201) + `","source":"s","type":"` + ev.LocationReported + `","data":` + fuzzReport + `}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte("[\xff]"))
	serve := fuzzDoor(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", batchType)
		serve(t, req)
	})
}
