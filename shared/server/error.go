package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// statuses maps each kind of error to its HTTP status, following Knative's
// delivery rules: 4xx other than 404/408/409/429 are final, 429 and 5xx are
// retried.
var statuses = map[string]int{
	udaconnect.EINVALID:      http.StatusBadRequest,
	udaconnect.ENOTFOUND:     http.StatusNotFound,
	udaconnect.EUNKNOWN:      http.StatusUnprocessableEntity,
	udaconnect.EIMPLAUSIBLE:  http.StatusUnprocessableEntity,
	udaconnect.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	udaconnect.EREUSED:       http.StatusUnprocessableEntity,
	udaconnect.EINFLIGHT:     http.StatusConflict,
	udaconnect.EOVERLOADED:   http.StatusTooManyRequests,
	udaconnect.EUNAUTHORIZED: http.StatusUnauthorized,
	udaconnect.EFORBIDDEN:    http.StatusForbidden,
	udaconnect.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	udaconnect.EUNAVAILABLE:  http.StatusServiceUnavailable,
	udaconnect.EINTERNAL:     http.StatusInternalServerError,
}

// RetryAfter is the pause, in seconds, asked of clients on 409, 429 and 503.
const RetryAfter = "1"

// ParseRetryAfter reads a Retry-After of whole seconds, as this project's
// servers and Knative's answer it; ok is false without one.
func ParseRetryAfter(h http.Header) (d time.Duration, ok bool) {
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0, false
	}
	return time.Duration(s) * time.Second, true
}

// ErrorStatus returns the HTTP status for err.
func ErrorStatus(err error) int {
	return statuses[udaconnect.ErrorCode(err)]
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// WriteError answers err with its status and a JSON message.
func WriteError(w http.ResponseWriter, err error) {
	status := ErrorStatus(err)
	body := ErrorBody{Error: udaconnect.ErrorMessage(err)}
	var e *udaconnect.Error
	if errors.As(err, &e) {
		body.Field = e.Field
	}
	if status == http.StatusConflict || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	WriteJSON(w, status, body)
}

// WriteJSON answers v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
