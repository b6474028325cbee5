package main

import (
	"path/filepath"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/capacity"
	"github.com/udaconnect/udaconnect/shared/device"
)

// Costs are the measured inputs of the capacity model: the CPU per report
// stored of each process on the path of single events, the storage per
// report at the largest dataset, and the size of one report's event.
func (r *Results) Costs() capacity.Costs {
	c := capacity.Costs{CPU: map[string]float64{}}
	for _, in := range r.Ingest {
		if in.Kind != kindSingle || in.Stored == 0 {
			continue
		}
		for p, seconds := range in.CPU {
			c.CPU[p] = seconds / float64(in.Stored)
		}
	}
	for _, conn := range r.Connections {
		c.StorageBytes = max(c.StorageBytes, conn.StorageBytesPerReport)
	}
	one := udaconnect.Report{Location: udaconnect.Location{PersonID: 12345, Latitude: 37.553441, Longitude: -122.290524,
		CreationTime: time.Date(2026, 11, 30, 10, 37, 6, 0, time.UTC)}, Source: "/devices/phone-12345", EventID: "phone-12345-000123"}
	body, _ := device.Encode([]udaconnect.Report{one})
	c.EventBytes = float64(len(body))
	return c
}

// scalingDoc is docs/scaling.md when there is none yet.
const scalingDoc = "# Scaling\n\n" + beginMarker + "\n" + endMarker + "\n"

// writeCapacity rewrites the table of docs/scaling.md (between its markers)
// from the costs of r.
func (r *Results) writeCapacity(dir string) error {
	return rewrite(filepath.Join(dir, "scaling.md"), scalingDoc, capacity.Markdown(r.Costs()))
}
