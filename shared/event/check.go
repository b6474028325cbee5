package event

import (
	"crypto/sha256"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
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

// MaxAttributeBytes bounds an event's attributes and extensions together, in
// bytes as binary mode carries them in HTTP headers ("Ce-<name>: <value>"):
// the door forwards an event so, and the Broker delivers it so to a function
// or the dead-letter sink, whose headers are at most 64 KiB
// (server.MaxHeaderBytes), their own credentials and trace among them.
const MaxAttributeBytes = 32 << 10

// Check refuses an event that could not be stored or forwarded whole: an id
// or source longer than limit bytes; an attribute or extension that is not
// valid UTF-8 or holds a control character (which no HTTP header can carry);
// attributes and extensions over MaxAttributeBytes together (413); data that
// is not valid UTF-8. Strings inside the data are checked by the validation
// of what they hold (udaconnect.Person).
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
	size := 0
	for name, v := range e.Extensions() {
		s, ok := v.(string)
		if !ok {
			// numbers, booleans, times and URIs are encoded by the SDK
			f, _ := types.Format(v)
			size += len(name) + len(f) + headerBytes
			continue
		}
		attrs = append(attrs, struct{ name, value string }{name, s})
	}
	for _, a := range attrs {
		if err := udaconnect.CheckText(a.name, a.value); err != nil {
			return err
		}
		size += len(a.name) + len(a.value) + headerBytes
	}
	if size > MaxAttributeBytes {
		return udaconnect.Errorf(udaconnect.ETOOLARGE, "the event's attributes and extensions take %d bytes as HTTP headers; at most %d are taken", size, MaxAttributeBytes)
	}
	if !utf8.Valid(e.Data()) {
		return udaconnect.Invalid("data", "the event's data is not valid UTF-8")
	}
	return nil
}

// headerBytes is what a header takes beside its attribute's name and value:
// "Ce-", ": " and the line's end.
const headerBytes = len("Ce-: \r\n")

// Fingerprint is the SHA-256 of e's data, stored with what e carried: the
// same source and id sent again with other data is refused.
func Fingerprint(e event.Event) []byte {
	h := sha256.Sum256(e.Data())
	return h[:]
}
