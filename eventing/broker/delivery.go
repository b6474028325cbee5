package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// maxRetryAfter caps how long a subscriber's Retry-After can hold a retry.
const maxRetryAfter = time.Minute

// Policy is a compiled Knative DeliverySpec.
type Policy struct {
	Retry          int
	Linear         bool
	Delay          time.Duration
	Timeout        time.Duration // per attempt; 0 keeps the client's
	DeadLetterSink string        // URL; empty when there is none
}

// NewPolicy compiles d; a nil d delivers once with no dead-letter sink.
// The backoff policy defaults to exponential.
func NewPolicy(d *Delivery, resolve func(Destination) (string, error)) (Policy, error) {
	var p Policy
	if d == nil {
		return p, nil
	}
	var err error
	if d.Retry != nil {
		p.Retry = int(*d.Retry)
	}
	switch d.BackoffPolicy {
	case "", "exponential":
	case "linear":
		p.Linear = true
	default:
		return p, fmt.Errorf("backoffPolicy %q: want linear or exponential", d.BackoffPolicy)
	}
	if d.BackoffDelay != "" {
		if p.Delay, err = ParseDuration(d.BackoffDelay); err != nil {
			return p, fmt.Errorf("backoffDelay: %w", err)
		}
	}
	if d.Timeout != "" {
		if p.Timeout, err = ParseDuration(d.Timeout); err != nil {
			return p, fmt.Errorf("timeout: %w", err)
		}
	}
	if d.DeadLetterSink != nil {
		if p.DeadLetterSink, err = resolve(*d.DeadLetterSink); err != nil {
			return p, fmt.Errorf("deadLetterSink: %w", err)
		}
	}
	return p, nil
}

// Backoff is the wait before retry n (from 1), Knative's formulas:
// delay*n when linear, delay*2^n when exponential.
func (p Policy) Backoff(n int) time.Duration {
	if p.Linear {
		return p.Delay * time.Duration(n)
	}
	return p.Delay << min(n, 30)
}

// Result is the outcome of one attempt to hand an event on.
type Result struct {
	Status     int // 500 when no response came, as Knative reports it
	Body       []byte
	RetryAfter time.Duration
	Reply      *event.Event // the CloudEvent of a 2xx response, if any
	Err        error
}

// OK reports a 2xx answer.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Sender posts events to subscribers, with Token as a bearer token when it
// is set.
type Sender struct {
	Client *http.Client
	Token  string
}

// Send posts e to url in binary mode and reads its answer; a 2xx body that
// is not a CloudEvent is no reply, as in Knative.
func (s *Sender) Send(ctx context.Context, url string, e event.Event, timeout time.Duration) Result {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err == nil {
		err = cehttp.WriteRequest(ctx, binding.ToMessage(&e), req)
	}
	if err != nil {
		return Result{Status: http.StatusInternalServerError, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Prefer", "reply")
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return Result{Status: http.StatusInternalServerError, Body: []byte("dispatch error: " + err.Error()), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	r := Result{Status: resp.StatusCode, Body: body, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	if err != nil || !r.OK() {
		r.Err = errors.Join(fmt.Errorf("subscriber answered %d", resp.StatusCode), err)
		return r
	}
	reply, err := decodeEvent(ctx, resp.Header, body)
	switch {
	case errors.Is(err, errNotEvent):
	case err != nil:
		// Knative's ingress would refuse this reply with a 400.
		return Result{Status: http.StatusBadRequest, Body: jsonError(err), Err: fmt.Errorf("reply: %w", err)}
	default:
		r.Reply = reply
	}
	return r
}

// RetryDelay is the wait before retrying a delivery whose attempt (from 1)
// ended in r: p's backoff, or on 429 and 503 a longer Retry-After (capped
// at a minute), as Knative's delivery-retryafter feature does.
func (p Policy) RetryDelay(attempt int, r Result) time.Duration {
	wait := p.Backoff(attempt)
	if r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable {
		wait = max(wait, min(r.RetryAfter, maxRetryAfter))
	}
	return wait
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(h string) time.Duration {
	n, _ := strconv.Atoi(h)
	return time.Duration(max(n, 0)) * time.Second
}
