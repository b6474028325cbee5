package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/capacity"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server"
)

// Costs are the measured inputs of the capacity model: the CPU per report
// stored of each process on the path of single events and the reports per
// group the door gathered there, the storage per report at the largest
// dataset, and the size of one report in a group and of one
// connection.detected. With the crowds measured, connections' CPU is the
// design point's (the 2,000 hall at its own rate through the door),
// PostgreSQL's adds detection alone in that hall as it forms, and the
// meetings it stored per report are the connection.detected events of a
// report: both upper bounds, for a hall that has stood a while starts fewer
// meetings.
func (r *Results) Costs() capacity.Costs {
	c := capacity.Costs{CPU: map[string]float64{}}
	for _, in := range r.Ingest {
		if in.Kind != kindSingle || in.Stored == 0 {
			continue
		}
		for p, seconds := range in.CPU {
			c.CPU[p] = seconds / float64(in.Stored)
		}
		c.ReportsPerGroup = in.ReportsPerGroup
	}
	if door := r.Crowds.door(hall2000); door != nil {
		own := door.phase(kindReal)
		for _, d := range r.Crowds.Detection {
			if d.Hall == hall2000 && d.FromSeconds == 0 && own != nil && own.Reports > 0 {
				c.Crowd = true
				c.CPU["connections"] = own.perReport("connections")
				c.CPU["postgres"] += d.PostgresCPUUS / 1e6
				c.DetectedPerReport = float64(d.Meetings) / float64(d.Reports)
				c.ZoneLagP50, c.ZoneLagP99 = own.FreshLag.P50, own.FreshLag.P99
			}
		}
	}
	for _, conn := range r.Connections {
		c.StorageBytes = max(c.StorageBytes, conn.StorageBytesPerReport)
	}
	// A report in a group of 100, as the door sends it.
	group := ev.LocationsReportedData{}
	for i := range 100 {
		group.Reports = append(group.Reports, ev.ReportData{Source: "/senders/person-12345/devices/phone", ID: fmt.Sprintf("phone-12345-%06d", i),
			PersonID: 12345, Latitude: 37.553441, Longitude: -122.290524, CreationTime: time.Date(2026, 11, 30, 10, 37, 6, 0, time.UTC)})
	}
	body, _ := json.Marshal(group)
	c.EventBytes = float64(len(body)) / 100
	c.DetectedEventBytes = float64(len(detectedEvent()))
	return c
}

// detectedEvent is a connection.detected as connections sends it, of two
// people with names and companies of usual lengths.
func detectedEvent() []byte {
	at := time.Date(2026, 11, 30, 10, 37, 6, 0, time.UTC)
	start := udaconnect.MeetingStart{
		Person:   udaconnect.Person{ID: 12345, FirstName: "Pamela", LastName: "Trexler", CompanyName: "Alpha Omega Upholstery"},
		Location: udaconnect.Location{ID: 123456789, PersonID: 12345, Latitude: 37.553441, Longitude: -122.290524, CreationTime: at},
		Other:    udaconnect.Person{ID: 23456, FirstName: "Frank", LastName: "Shader", CompanyName: "USDA"},
		Near:     udaconnect.Location{ID: 123456790, PersonID: 23456, Latitude: 37.553452, Longitude: -122.290511, CreationTime: at.Add(-2 * time.Second)},
		Distance: 1.532,
	}
	e, _ := server.NewEvent(ev.Source+"/connections", ev.ConnectionDetected, "connection-123456789-23456", start)
	e.SetTime(at) // of a given length
	body, _ := json.Marshal(e)
	return body
}

// scalingDoc is docs/scaling.md when there is none yet.
const scalingDoc = "# Scaling\n\n" + beginMarker + "\n" + endMarker + "\n"

// writeCapacity rewrites the table of docs/scaling.md (between its markers)
// from the costs of r.
func (r *Results) writeCapacity(dir string) error {
	return rewrite(filepath.Join(dir, "scaling.md"), scalingDoc, capacity.Markdown(r.Costs()))
}
