package broker

import (
	"encoding/base64"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Knative's extensions on a dead-lettered event.
const (
	ErrorCodeExtension = "knativeerrorcode"
	ErrorDestExtension = "knativeerrordest"
	ErrorDataExtension = "knativeerrordata"
	maxErrorData       = 1024 // characters of base64, as in Knative
)

// withError returns a copy of e carrying why its delivery to dest failed:
// the last status, the destination and the base64 of the answer's body.
func withError(e event.Event, dest string, r Result) event.Event {
	e = e.Clone()
	data := base64.StdEncoding.EncodeToString(r.Body)
	if len(data) > maxErrorData {
		data = data[:maxErrorData]
	}
	e.SetExtension(ErrorCodeExtension, r.Status)
	e.SetExtension(ErrorDestExtension, dest)
	e.SetExtension(ErrorDataExtension, data)
	return e
}
