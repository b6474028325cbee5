// Package device posts location reports to UdaConnect's public event entry
// as attendees' phones do: one CloudEvent per request, or a batch after being
// offline, resending after Retry-After the reports the door answered with a
// retryable status, and only those.
package device

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server"
)

// MaxAttempts is how many times a report is sent before its last answer
// stands.
const MaxAttempts = 10

// Client talks to UdaConnect's door.
type Client struct {
	URL   string       // the door, such as http://localhost:8080
	Token string       // the sender's credential: the organizer's token, or an attendee's
	HTTP  *http.Client // nil: http.DefaultClient
}

// Result is the outcome of sending reports: each ends accepted, or refused
// with its last status.
type Result struct {
	Reports  int           // reports sent
	Accepted int           // reports the door accepted
	Refused  map[int]int   // the others by their last status; -1 when the door could not be reached
	Retries  int           // requests resent after a retryable answer
	TooMany  int           // answers of 429
	Latency  time.Duration // from the first attempt to the final answer
}

// Send posts reports to /events, as one structured event or, above one, as
// a CloudEvents batch. The reports answered with a retryable status, or not
// answered at all, are sent again after the answer's Retry-After (1 s
// without one), up to MaxAttempts
// times: the whole request when the door answered it as a whole, only the
// events not accepted when it answered a batch event by event.
func (c *Client) Send(ctx context.Context, reports []udaconnect.Report) Result {
	began := time.Now()
	res := Result{Reports: len(reports), Refused: map[int]int{}}
	for attempt := 1; ; attempt++ {
		status, statuses, wait := c.post(ctx, reports)
		if status == http.StatusTooManyRequests {
			res.TooMany++
		}
		var again []udaconnect.Report
		for i, s := range statuses {
			switch {
			case s == http.StatusAccepted:
				res.Accepted++
			case (ev.Retryable(s) || s == unreachable) && attempt < MaxAttempts:
				again = append(again, reports[i])
			default:
				res.Refused[s]++
			}
		}
		if len(again) == 0 {
			break
		}
		res.Retries++
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		reports = again
	}
	res.Latency = time.Since(began)
	return res
}

// unreachable is the status of a report whose request got no answer: the
// door could not be reached, or the connection broke. It is sent again.
const unreachable = -1

// post sends reports once and returns the answer's status (unreachable when
// no answer came), the status of each report (202 when accepted), and how
// long to wait before sending again. A batch answer that lists a result
// per event gives each report its own status; any other answer applies to
// all.
func (c *Client) post(ctx context.Context, reports []udaconnect.Report) (status int, statuses []int, wait time.Duration) {
	statuses = make([]int, len(reports))
	body, contentType := Encode(reports)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp, err := c.do(req)
	if err != nil {
		for i := range statuses {
			statuses[i] = unreachable
		}
		return unreachable, statuses, time.Second
	}
	defer resp.Body.Close()
	var answer struct {
		Results []struct {
			ID     string `json:"id"`
			Status int    `json:"status"`
		} `json:"results"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer)
	io.Copy(io.Discard, resp.Body)
	for i, r := range reports {
		statuses[i] = resp.StatusCode
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			statuses[i] = http.StatusAccepted
		} else if len(answer.Results) == len(reports) && answer.Results[i].ID == eventID(r) {
			statuses[i] = answer.Results[i].Status
		}
	}
	wait = time.Second
	if d, ok := server.ParseRetryAfter(resp.Header); ok {
		wait = d
	}
	return resp.StatusCode, statuses, wait
}

// Encode returns the body and content type of a request carrying reports:
// one structured CloudEvent, or a batch of them. Each event's id is the
// report's Source and EventID, so sending a report again is a resend.
func Encode(reports []udaconnect.Report) (body []byte, contentType string) {
	events := make([]event.Event, len(reports))
	for i, r := range reports {
		e := event.New()
		e.SetID(eventID(r))
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
	var ids []int64
	for next := "/api/persons?limit=1000"; next != ""; {
		var page []udaconnect.Person
		var err error
		if next, err = c.getPage(ctx, next, &page); err != nil {
			return nil, err
		}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
	}
	slices.Sort(ids)
	for i := len(ids); i < len(persons); i++ {
		p := persons[i]
		body, _ := json.Marshal(p)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/api/persons", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("devices-attendee-%d", i))
		var created udaconnect.Person
		if _, err := c.doJSON(req, &created); err != nil {
			return nil, fmt.Errorf("register attendee: %w", err)
		}
		ids = append(ids, created.ID)
	}
	return ids[:len(persons)], nil
}

func eventID(r udaconnect.Report) string { return r.Source + "/" + r.EventID }

// do sends req with the client's credential.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.HTTP != nil {
		return c.HTTP.Do(req)
	}
	return http.DefaultClient.Do(req)
}

// nextLink finds the path of rel="next" in a Link header.
var nextLink = regexp.MustCompile(`<(/api/[^>]*)>\s*;\s*rel="next"`)

// getPage reads the page at path into v and returns the path of the next
// page, or "" after the last.
func (c *Client) getPage(ctx context.Context, path string, v any) (next string, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	resp, err := c.doJSON(req, v)
	if err != nil {
		return "", err
	}
	if m := nextLink.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
		return m[1], nil
	}
	return "", nil
}

// doJSON sends req and decodes the answer into v.
func (c *Client) doJSON(req *http.Request, v any) (*http.Response, error) {
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp, json.NewDecoder(resp.Body).Decode(v)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
