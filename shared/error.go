// Package udaconnect holds the domain of UdaConnect: people, their location
// reports and the connections between them, with their validation and the
// kinds of error every adapter maps to its own status codes.
package udaconnect

import (
	"context"
	"errors"
	"fmt"
)

// Error codes: the kinds of failure, independent of transport.
const (
	EINVALID      = "invalid"      // the input is malformed or out of range
	ENOTFOUND     = "not_found"    // the addressed thing does not exist
	EUNKNOWN      = "unknown"      // the input refers to something that does not exist
	EIMPLAUSIBLE  = "implausible"  // the input is well formed but cannot be true: too old, too fast, elsewhere
	ETOOLARGE     = "too_large"    // the input exceeds a size limit
	EUNAUTHORIZED = "unauthorized" // the sender has no valid credential
	EFORBIDDEN    = "forbidden"    // the sender may not do this
	EUNSUPPORTED  = "unsupported"  // the content type is not taken
	EREUSED       = "reused"       // an idempotency key comes again with another request
	EINFLIGHT     = "in_flight"    // the first request with an idempotency key is still being handled
	EOVERLOADED   = "overloaded"   // a bounded queue is full; try again later
	EUNAVAILABLE  = "unavailable"  // a dependency is down; try again later
	EINTERNAL     = "internal"     // anything else
)

// Error is a failure meant to be shown to a person: Message says what is
// wrong in a sentence, Field names the input at fault when there is one.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("udaconnect error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("udaconnect error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EUNAVAILABLE for
// an operation cancelled or out of time, EINTERNAL for any other error, and
// "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return EUNAVAILABLE
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the *Error in err's chain, or a
// generic sentence that reveals nothing of an internal error.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	case ErrorCode(err) == EUNAVAILABLE:
		return "the operation did not finish in time, try again later"
	default:
		return "internal error"
	}
}
