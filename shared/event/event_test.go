package event_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/event"
)

// Every event type of the catalogue is documented in docs/asyncapi.yaml.
func TestAsyncAPIDocumentsCatalogue(t *testing.T) {
	doc, err := os.ReadFile("../../docs/asyncapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{event.PersonCreate, event.PersonCreated, event.LocationReported, event.LocationRecorded, event.LocationsReported, event.LocationsRecorded,
		event.ConnectionsRequested, event.ConnectionsFound, event.ConnectionDetected, event.RetentionDue} {
		if !strings.Contains(string(doc), "name: "+typ+"\n") {
			t.Errorf("docs/asyncapi.yaml has no message %s", typ)
		}
	}
}

// An event's attributes travel as HTTP headers in binary mode, from the
// door to the Broker and from the Broker to a function or the dead-letter
// sink: an event whose attributes would not fit in a server's headers is
// refused as too large (413), not taken and then refused by all of them.
func TestCheckBoundsAttributes(t *testing.T) {
	extended := func(n int, value any) *ce.Event {
		e := ce.New()
		e.SetID("many")
		e.SetSource("/devices/test")
		e.SetType(event.PersonCreate)
		for i := range n {
			e.SetExtension(fmt.Sprintf("x%d", i), value)
		}
		return &e
	}
	for _, tt := range []struct {
		name string
		e    *ce.Event
		code string
	}{
		{"a few extensions", extended(10, strings.Repeat("v", 100)), ""},
		{"extensions of 60 KB", extended(600, strings.Repeat("v", 100)), udaconnect.ETOOLARGE},
		{"6,000 numbers", extended(6000, 123456789), udaconnect.ETOOLARGE},
	} {
		if err := event.Check(tt.e, event.MaxKeyBytes); udaconnect.ErrorCode(err) != tt.code {
			t.Errorf("Check(%s) = %v; want code %q", tt.name, err, tt.code)
		}
	}
}

func TestLocationReportedDataReport(t *testing.T) {
	id, lat, lon := int64(1), 37.55, -122.29
	eventTime := time.Date(2020, 7, 7, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		data  event.LocationReportedData
		want  time.Time
		field string
	}{
		{"creation time", event.LocationReportedData{PersonID: &id, Latitude: &lat, Longitude: &lon, CreationTime: "2020-07-07T12:00:00+02:00"}, eventTime, ""},
		{"event time", event.LocationReportedData{PersonID: &id, Latitude: &lat, Longitude: &lon}, eventTime, ""},
		{"no person", event.LocationReportedData{Latitude: &lat, Longitude: &lon}, time.Time{}, "person_id"},
		{"no latitude", event.LocationReportedData{PersonID: &id, Longitude: &lon}, time.Time{}, "latitude"},
		{"no longitude", event.LocationReportedData{PersonID: &id, Latitude: &lat}, time.Time{}, "longitude"},
		{"bad time", event.LocationReportedData{PersonID: &id, Latitude: &lat, Longitude: &lon, CreationTime: "2020-07-07 10:00"}, time.Time{}, "creation_time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.data.Report("src", "id", eventTime)
			var e *udaconnect.Error
			if tt.field != "" {
				if !asError(err, &e) || e.Field != tt.field {
					t.Errorf("Report() = %v; want an error on %s", err, tt.field)
				}
				return
			}
			if err != nil || !r.CreationTime.Equal(tt.want) || r.CreationTime.Location() != time.UTC || r.Source != "src" || r.EventID != "id" {
				t.Errorf("Report() = %+v, %v; want creation time %v in UTC", r, err, tt.want)
			}
		})
	}
}

func asError(err error, e **udaconnect.Error) bool {
	var ok bool
	*e, ok = err.(*udaconnect.Error)
	return ok
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{200: false, 202: false, 400: false, 401: false, 403: false, 404: true, 408: true, 409: true,
		413: false, 415: false, 422: false, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := event.Retryable(status); got != want {
			t.Errorf("Retryable(%d) = %v; want %v", status, got, want)
		}
	}
}
