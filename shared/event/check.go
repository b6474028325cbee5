package event

import (
	"crypto/sha256"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// Bounds of an event's id and source, which key what it stores, in bytes.
// The door scopes a sender's source under /senders/<subject>/ (at most 38
// bytes) and its Idempotency-Key under <subject>: (at most 29), so it takes
// at most MaxSenderBytes of either from a sender, and what it forwards stays
// within MaxKeyBytes, which the functions check: under PostgreSQL's btree
// row limit for the (source, id) key by far.
const (
	MaxKeyBytes    = udaconnect.MaxKeyBytes
	MaxSenderBytes = 200
)

// Check refuses an event that could not be stored or forwarded whole: an id
// or source longer than limit bytes; an attribute or extension that is not
// valid UTF-8 or holds a control character (which no HTTP header can carry);
// data that is not valid UTF-8. Strings inside the data are checked by the
// validation of what they hold (udaconnect.Person).
func Check(e *event.Event, limit int) error {
	for _, a := range []struct{ name, value string }{{"id", e.ID()}, {"source", e.Source()}} {
		if len(a.value) > limit {
			return udaconnect.Invalid(a.name, "the event's %s is longer than %d bytes", a.name, limit)
		}
	}
	attrs := []struct{ name, value string }{
		{"id", e.ID()}, {"source", e.Source()}, {"type", e.Type()}, {"subject", e.Subject()},
		{"datacontenttype", e.DataContentType()}, {"dataschema", e.DataSchema()},
	}
	for name, v := range e.Extensions() {
		s, ok := v.(string)
		if !ok {
			continue // numbers, booleans, times and URIs are encoded by the SDK
		}
		attrs = append(attrs, struct{ name, value string }{name, s})
	}
	for _, a := range attrs {
		if err := udaconnect.CheckText(a.name, a.value); err != nil {
			return err
		}
	}
	if !utf8.Valid(e.Data()) {
		return udaconnect.Invalid("data", "the event's data is not valid UTF-8")
	}
	return nil
}

// Fingerprint is the SHA-256 of e's data, stored with what e carried: the
// same source and id sent again with other data is refused.
func Fingerprint(e event.Event) []byte {
	h := sha256.Sum256(e.Data())
	return h[:]
}
