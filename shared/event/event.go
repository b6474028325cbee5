// Package event is the catalogue of UdaConnect's CloudEvents: their types and
// the data each carries (docs/design.md, "Events").
package event

import (
	"net/http"
	"strconv"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// The event types of the catalogue.
const (
	PersonCreate         = "io.udaconnect.person.create"
	PersonCreated        = "io.udaconnect.person.created"
	LocationReported     = "io.udaconnect.location.reported"
	LocationRecorded     = "io.udaconnect.location.recorded"
	LocationsReported    = "io.udaconnect.locations.reported"
	LocationsRecorded    = "io.udaconnect.locations.recorded"
	ConnectionsRequested = "io.udaconnect.connections.requested"
	ConnectionsFound     = "io.udaconnect.connections.found"
	ConnectionDetected   = "io.udaconnect.connection.detected"
	// RetentionDue is the type Knative's PingSource gives its events: the
	// PingSource retention (eventing/retention.yaml) sends one to locations
	// on its schedule, which then deletes the reports older than RETENTION.
	RetentionDue = "dev.knative.sources.ping"
	// DetectionDue is the same type: the PingSource detection
	// (eventing/detection.yaml) sends one to connections every minute, which
	// wakes it while reports wait for detection.
	DetectionDue = "dev.knative.sources.ping"
)

// Known reports whether typ is a type of the catalogue.
func Known(typ string) bool {
	switch typ {
	case PersonCreate, PersonCreated, LocationReported, LocationRecorded, LocationsReported, LocationsRecorded,
		ConnectionsRequested, ConnectionsFound, ConnectionDetected:
		return true
	}
	return false
}

// Retryable reports whether an event answered with status is sent again, by
// Knative's delivery rules, which the door, the Broker and devices follow:
// 404, 408, 409, 429 and 5xx are retried; other statuses are final.
func Retryable(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// Source is the source attribute of the events UdaConnect itself emits.
const Source = "/udaconnect"

// PersonCreateData is the data of PersonCreate.
type PersonCreateData struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	CompanyName string `json:"company_name"`
}

// Person validates d and returns the person to register; an error names the
// field at fault.
func (d PersonCreateData) Person() (udaconnect.Person, error) {
	p := udaconnect.Person{FirstName: d.FirstName, LastName: d.LastName, CompanyName: d.CompanyName}
	return p, p.Validate()
}

// LocationReportedData is the data of LocationReported. CreationTime is RFC
// 3339 and may be absent: the event's time stands in.
type LocationReportedData struct {
	PersonID     *int64   `json:"person_id"`
	Latitude     *float64 `json:"latitude"`
	Longitude    *float64 `json:"longitude"`
	CreationTime string   `json:"creation_time,omitempty"`
}

// Report validates d, carried by an event from source with the given id and
// time, and returns the report to store; an error names the field at fault.
func (d LocationReportedData) Report(source, id string, eventTime time.Time) (udaconnect.Report, error) {
	r := udaconnect.Report{Source: source, EventID: id}
	switch {
	case d.PersonID == nil:
		return r, udaconnect.Invalid("person_id", "person_id is required")
	case d.Latitude == nil:
		return r, udaconnect.Invalid("latitude", "latitude is required")
	case d.Longitude == nil:
		return r, udaconnect.Invalid("longitude", "longitude is required")
	}
	r.PersonID, r.Latitude, r.Longitude, r.CreationTime = *d.PersonID, *d.Latitude, *d.Longitude, eventTime
	if d.CreationTime != "" {
		t, err := time.Parse(time.RFC3339Nano, d.CreationTime)
		if err != nil {
			return r, udaconnect.Invalid("creation_time", "creation_time must be an RFC 3339 time such as 2020-07-07T10:37:06Z")
		}
		r.CreationTime = t
	}
	r.CreationTime = r.CreationTime.UTC()
	return r, r.Validate()
}

// Bounds of a LocationsReported event: Knative's Kafka broker takes
// messages of 1 MB by default.
const (
	MaxGroupReports = 1000
	MaxGroupBytes   = 256 << 10
)

// LocationsReportedData is the data of LocationsReported: reports that
// travel together inside the system, each with the source and id of the
// event that carried it, which still store it once.
type LocationsReportedData struct {
	Reports []ReportData `json:"reports"`
}

// ReportData is one report of LocationsReported, its creation time
// resolved.
type ReportData struct {
	Source       string    `json:"source"`
	ID           string    `json:"id"`
	PersonID     int64     `json:"person_id"`
	Latitude     float64   `json:"latitude"`
	Longitude    float64   `json:"longitude"`
	CreationTime time.Time `json:"creation_time"`
}

// NewReportData is r as a report of LocationsReported.
func NewReportData(r udaconnect.Report) ReportData {
	return ReportData{Source: r.Source, ID: r.EventID, PersonID: r.PersonID, Latitude: r.Latitude, Longitude: r.Longitude, CreationTime: r.CreationTime}
}

// Report validates d and returns the report to store; an error names the
// field at fault.
func (d ReportData) Report() (udaconnect.Report, error) {
	r := udaconnect.Report{Source: d.Source, EventID: d.ID, Location: udaconnect.Location{
		PersonID: d.PersonID, Latitude: d.Latitude, Longitude: d.Longitude, CreationTime: d.CreationTime.UTC()}}
	return r, r.Validate()
}

// LocationsRecordedData is the data of LocationsRecorded: the locations
// that one LocationsReported holds, as stored.
type LocationsRecordedData struct {
	Locations []udaconnect.Location `json:"locations"`
}

// ConnectionsFoundData is the data of ConnectionsFound.
type ConnectionsFoundData struct {
	PersonID    int64                   `json:"person_id"`
	Connections []udaconnect.Connection `json:"connections"`
}

// ConnectionDetectedData is the data of ConnectionDetected: a meeting of
// two people, where and when, and how far apart in metres.
type ConnectionDetectedData = udaconnect.MeetingStart

// ConnectionsRequestedData is the data of ConnectionsRequested: distance in
// metres (default 5), window a duration such as 15m (optional).
type ConnectionsRequestedData struct {
	PersonID  int64    `json:"person_id"`
	StartDate string   `json:"start_date"`
	EndDate   string   `json:"end_date"`
	Distance  *float64 `json:"distance,omitempty"`
	Window    string   `json:"window,omitempty"`
}

// Params returns d as the parameters of a connection query.
func (d ConnectionsRequestedData) Params() udaconnect.ConnectionParams {
	p := udaconnect.ConnectionParams{PersonID: d.PersonID, StartDate: d.StartDate, EndDate: d.EndDate, Window: d.Window}
	if d.Distance != nil {
		p.Distance = strconv.FormatFloat(*d.Distance, 'g', -1, 64)
	}
	return p
}
