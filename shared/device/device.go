// Package device posts location reports to UdaConnect's public event entry
// as attendees' phones do: one CloudEvent per request, or a batch after being
// offline, retrying 429 and 503 after their Retry-After.
package device

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
)

// MaxAttempts is how many times a request is sent before its last answer
// stands.
const MaxAttempts = 10

// Client talks to UdaConnect's door.
type Client struct {
	URL  string       // the door, such as http://localhost:8080
	HTTP *http.Client // nil: http.DefaultClient
}

// Result is the outcome of one request carrying reports.
type Result struct {
	Reports int           // reports in the request
	Status  int           // the final answer; -1 when the door could not be reached
	Retries int           // answers of 429 or 503 that were retried
	TooMany int           // of which 429
	Latency time.Duration // from the first attempt to the final answer
}

// Send posts reports to /events, as one structured event or, above one, as
// a CloudEvents batch, and retries 429 and 503 after their Retry-After.
func (c *Client) Send(ctx context.Context, reports []udaconnect.Report) Result {
	body, contentType := Encode(reports)
	began := time.Now()
	res := Result{Reports: len(reports)}
	for range MaxAttempts {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		resp, err := c.client().Do(req)
		if err != nil {
			res.Status = -1
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.Status = resp.StatusCode
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		res.Retries++
		if resp.StatusCode == http.StatusTooManyRequests {
			res.TooMany++
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(max(wait, 1)) * time.Second):
		}
	}
	res.Latency = time.Since(began)
	return res
}

// Encode returns the body and content type of a request carrying reports:
// one structured CloudEvent, or a batch of them. Each event's id is the
// report's Source and EventID, so sending a report again is a resend.
func Encode(reports []udaconnect.Report) (body []byte, contentType string) {
	events := make([]event.Event, len(reports))
	for i, r := range reports {
		e := event.New()
		e.SetID(r.Source + "/" + r.EventID)
		e.SetSource("/devices/simulator")
		e.SetType(ev.LocationReported)
		e.SetTime(r.CreationTime)
		_ = e.SetData(event.ApplicationJSON, map[string]any{"person_id": r.PersonID, "latitude": r.Latitude, "longitude": r.Longitude, "creation_time": r.CreationTime})
		events[i] = e
	}
	if len(events) == 1 {
		return mustJSON(events[0]), "application/cloudevents+json"
	}
	return mustJSON(events), "application/cloudevents-batch+json"
}

// Attendees returns the ids of len(persons) people: those already
// registered first, by id, then persons registered in order as needed.
func (c *Client) Attendees(ctx context.Context, persons []udaconnect.Person) ([]int64, error) {
	var registered []udaconnect.Person
	if err := c.getJSON(ctx, "/api/persons", &registered); err != nil {
		return nil, err
	}
	var ids []int64
	for _, p := range registered {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	for i := len(ids); i < len(persons); i++ {
		p := persons[i]
		body, _ := json.Marshal(p)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/api/persons", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("devices-attendee-%d", i))
		var created udaconnect.Person
		if err := c.doJSON(req, &created); err != nil {
			return nil, fmt.Errorf("register attendee: %w", err)
		}
		ids = append(ids, created.ID)
	}
	return ids[:len(persons)], nil
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	return c.doJSON(req, v)
}

func (c *Client) doJSON(req *http.Request, v any) error {
	resp, err := c.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
