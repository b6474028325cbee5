package event_test

import (
	"math"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
)

// A report that LocationReportedData.Report takes can be stored: its
// coordinates in range, a time, and a source and id within their bounds.
func FuzzReport(f *testing.F) {
	f.Add(int64(8), 35.05, -106.57, "2020-07-07T10:00:00Z", "/senders/organizer/devices", "id-1")
	f.Add(int64(0), math.NaN(), math.Inf(1), "2020-13-01T00:00:00Z", "s\x00", "\xff")
	f.Add(int64(1), 90.0, -180.0, "", "s", "i\ni")
	f.Fuzz(func(t *testing.T, personID int64, lat, lon float64, creationTime, source, id string) {
		d := ev.LocationReportedData{PersonID: &personID, Latitude: &lat, Longitude: &lon, CreationTime: creationTime}
		r, err := d.Report(source, id, time.Date(2020, 7, 7, 10, 0, 0, 0, time.UTC))
		if err != nil {
			if e, ok := err.(*udaconnect.Error); !ok || e.Code != udaconnect.EINVALID || e.Field == "" {
				t.Fatalf("Report = %v; want an invalid error naming a field", err)
			}
			return
		}
		switch {
		case r.PersonID <= 0, !(r.Latitude >= -90 && r.Latitude <= 90), !(r.Longitude >= -180 && r.Longitude <= 180), r.CreationTime.IsZero():
			t.Errorf("Report took %+v", r)
		case len(r.Source) > udaconnect.MaxKeyBytes || len(r.EventID) > udaconnect.MaxKeyBytes:
			t.Errorf("Report took a source or id over %d bytes", udaconnect.MaxKeyBytes)
		case udaconnect.CheckText("source", r.Source) != nil || udaconnect.CheckText("id", r.EventID) != nil:
			t.Errorf("Report took source %q, id %q", r.Source, r.EventID)
		}
	})
}
