package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/udaconnect/udaconnect/frontend/auth"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/batch"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// Bounds of the public event entry. Forwarding a batch 16 events at a time
// keeps the door's CPU busy (4 to 32 at a time forward as fast, measured with
// BenchmarkEventsBatch on 2 cores), and lets 32 batches be under way before
// the door answers 429 to some of their events.
//
// At most MaxParsing batches are read and parsed at once (16 × 4 MiB of
// bodies, and their events), beyond which a batch is refused with 429; the
// broker must answer each event within ForwardTimeout.
const (
	MaxBatchSize   = 1000    // events in one batch
	MaxBatchBytes  = 4 << 20 // bytes of one batch
	MaxParsing     = 16      // batches read and parsed at once
	MaxForwarding  = 512     // events being forwarded to the broker at once
	batchForwarder = 16      // events of one batch forwarded at once
	ForwardTimeout = 10 * time.Second
)

// What one credential may have under way at the door at once, beyond which
// it is answered 429 with Retry-After, so that no credential takes the
// bounds above from the others: batches being read and parsed, and events
// on their way to the broker (alone, or waiting for their group).
var (
	parsingCaps  = map[auth.Role]int{auth.Attendee: 1, auth.Reporter: 4, auth.Organizer: MaxParsing / 2}
	inFlightCaps = map[auth.Role]int{auth.Attendee: 60, auth.Reporter: 4 * MaxBatchSize, auth.Organizer: groupQueue / 2}
)

// Door forwards the CloudEvents it accepts at /events to the broker: the
// reports in groups, other events one by one.
type Door struct {
	sink    string // the broker's ingress
	client  *http.Client
	slots   chan struct{} // bounds the events being forwarded
	parsing chan struct{} // bounds the batches being read and parsed
	groups  *batch.Committer[pendingReport, Result]
	log     *zap.Logger

	parsingOf, inFlightOf *auth.Slots // each credential's share of the bounds

	// Limits, when set, charges each event of a batch to its sender's rate
	// (the request was charged one already).
	Limits *auth.Limits

	// Check, when set, refuses a report that its sender may not send as it
	// is (an attendee's that is not live or not plausible).
	Check func(ctx context.Context, p auth.Principal, r udaconnect.Report) error
}

// NewDoor returns a door forwarding to sink, gathering reports into groups
// for up to linger.
func NewDoor(sink string, transport http.RoundTripper, linger time.Duration, log *zap.Logger) *Door {
	d := &Door{
		sink:    sink,
		client:  &http.Client{Transport: transport, Timeout: ForwardTimeout},
		slots:   make(chan struct{}, MaxForwarding),
		parsing: make(chan struct{}, MaxParsing),
		log:     log,

		parsingOf:  auth.NewSlots(parsingCaps),
		inFlightOf: auth.NewSlots(inFlightCaps),
	}
	d.groups = newGrouper(d, linger)
	return d
}

// Result is the outcome of one event of a batch: 202 when the broker
// accepted it, otherwise the status and message it would have had alone.
type Result struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// BatchAnswer is the body of a batch that was not wholly accepted: one
// result per event, in the order of the batch.
type BatchAnswer struct {
	Error   string   `json:"error"`
	Results []Result `json:"results"`
}

// ServeHTTP accepts one event (binary or structured) or a batch. A single
// event gets the broker's answer for the group or the event that carries
// it; a batch is answered once every event in it was forwarded: 202 when all
// were accepted, otherwise the worst status of its events (see worse) and a
// BatchAnswer, so that a client resends only the events whose status is
// retryable.
func (d *Door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	ctx := telemetry.RequestContext(r)
	if server.MediaType(r) != server.BatchType {
		e, err := server.ReadEvent(w, r)
		var report *udaconnect.Report
		if err == nil {
			report, err = d.admit(ctx, p, e)
		}
		if err == nil && !d.inFlightOf.Acquire(p, 1) {
			err = errInFlight
		}
		if err != nil {
			server.WriteError(w, err)
			return
		}
		defer d.inFlightOf.Release(p, 1)
		var res Result
		if report != nil {
			res = d.group(ctx, []pendingReport{{eventID: e.ID(), report: *report, trace: telemetry.EventSpan(ctx, e)}})[0]
		} else {
			res = d.forward(ctx, *e)
		}
		if res.Status != http.StatusAccepted {
			writeResult(w, res)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	events, reports, results, err := d.parseBatch(w, r, p)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	var pending []pendingReport
	var grouped, single []int // indexes of the reports, and of the other events to forward
	for i, report := range reports {
		switch {
		case results[i].Status != 0:
		case report != nil:
			pending = append(pending, pendingReport{eventID: events[i].ID(), report: *report, trace: telemetry.EventSpan(ctx, &events[i])})
			grouped = append(grouped, i)
		default:
			single = append(single, i)
		}
	}
	n := len(pending) + len(single)
	if !d.inFlightOf.Acquire(p, n) {
		server.WriteError(w, errInFlight)
		return
	}
	defer d.inFlightOf.Release(p, n)
	var wg sync.WaitGroup
	wg.Go(func() {
		for j, res := range d.group(ctx, pending) {
			results[grouped[j]] = res
		}
	})
	next := make(chan int)
	for range min(batchForwarder, len(single)) {
		wg.Go(func() {
			for i := range next {
				results[i] = d.forward(ctx, events[i])
			}
		})
	}
	for _, i := range single {
		next <- i
	}
	close(next)
	wg.Wait()
	status, refused := http.StatusAccepted, 0
	for _, res := range results {
		if res.Status != http.StatusAccepted {
			refused++
		}
		if worse(res.Status, status) {
			status = res.Status
		}
	}
	if status == http.StatusAccepted {
		w.WriteHeader(status)
		return
	}
	if ev.Retryable(status) {
		w.Header().Set("Retry-After", server.RetryAfter)
	}
	msg := fmt.Sprintf("%d of the %d events were not accepted: send again only those whose status is retryable", refused, len(results))
	server.WriteJSON(w, status, BatchAnswer{Error: msg, Results: results})
}

// group hands reports to the groups on their way to the Broker and returns
// the result of each, in order, once its group is accepted or refused.
func (d *Door) group(ctx context.Context, reports []pendingReport) []Result {
	results, errs := d.groups.DoAll(ctx, reports)
	for i, err := range errs {
		if err != nil {
			results[i] = Result{ID: reports[i].eventID, Status: server.ErrorStatus(err), Error: udaconnect.ErrorMessage(err)}
			telemetry.CountEvent(ev.LocationReported, results[i].Status)
		}
	}
	return results
}

// worse reports whether a batch holding an event answered a is answered a
// rather than b: a retryable status before a final one, so that a client
// resending the whole batch on its status alone loses nothing (the events
// already accepted are stored once), then the higher.
func worse(a, b int) bool {
	if ev.Retryable(a) != ev.Retryable(b) {
		return ev.Retryable(a)
	}
	return a > b
}

// admit refuses an event the system cannot take (attributes it could not
// store or forward, an unknown type, or data that its function would
// refuse) or that p may not send (a report for someone else, or one that
// d.Check refuses), then makes it p's own: its source is
// scoped to p, so that no other sender can claim its source and id, and
// Knative's own extensions are dropped. For a location.reported it returns
// the report, which travels in a group.
func (d *Door) admit(ctx context.Context, p auth.Principal, e *event.Event) (*udaconnect.Report, error) {
	if err := ev.Check(e, ev.MaxSenderBytes); err != nil {
		return nil, err
	}
	e.SetSource(SenderSource(p, e.Source()))
	switch e.Type() {
	case ev.LocationReported:
		var data ev.LocationReportedData
		if err := server.DecodeData(*e, &data); err != nil {
			return nil, err
		}
		report, err := data.Report(e.Source(), e.ID(), e.Time())
		if err != nil {
			return nil, err
		}
		if !p.MayReport(report.PersonID) {
			return nil, errForbidden
		}
		if d.Check != nil {
			if err := d.Check(ctx, p, report); err != nil {
				return nil, err
			}
		}
		return &report, nil
	case ev.PersonCreate:
		var data ev.PersonCreateData
		if err := server.DecodeData(*e, &data); err != nil {
			return nil, err
		}
		if _, err := data.Person(); err != nil {
			return nil, err
		}
		if p.Role != auth.Organizer {
			return nil, errOrganizer
		}
	default:
		return nil, udaconnect.Invalid("type", "events of type %q are not taken here; send %s or %s", e.Type(), ev.LocationReported, ev.PersonCreate)
	}
	for name := range e.Extensions() {
		if strings.HasPrefix(name, "knative") {
			e.SetExtension(name, nil)
		}
	}
	return nil, nil
}

// SenderSource is the source under which the door forwards an event that p
// sent from source.
func SenderSource(p auth.Principal, source string) string {
	return "/senders/" + p.Subject() + "/" + strings.TrimPrefix(source, "/")
}

var (
	errParsing       = udaconnect.Errorf(udaconnect.EOVERLOADED, "too many batches at once, try again later")
	errParsingOf     = udaconnect.Errorf(udaconnect.EOVERLOADED, "too many batches of this credential at once: send one after the other")
	errInFlight      = udaconnect.Errorf(udaconnect.EOVERLOADED, "too many events of this credential on their way at once, try again later")
	errRateOfBatches = udaconnect.Errorf(udaconnect.EOVERLOADED, "over this credential's rate: send this event again later")
)

// parseBatch reads and admits a batch, when fewer than MaxParsing are, and
// fewer than its sender's share: its events, the report of each
// location.reported, and the result of each event refused already (over
// the sender's rate, or not admitted), the others' left zero.
func (d *Door) parseBatch(w http.ResponseWriter, r *http.Request, p auth.Principal) ([]event.Event, []*udaconnect.Report, []Result, error) {
	if !d.parsingOf.Acquire(p, 1) {
		return nil, nil, nil, errParsingOf
	}
	defer d.parsingOf.Release(p, 1)
	select {
	case d.parsing <- struct{}{}:
		defer func() { <-d.parsing }()
	default:
		return nil, nil, nil, errParsing
	}
	events, err := readBatch(w, r)
	if err != nil {
		return nil, nil, nil, err
	}
	charged := len(events) // the request paid for the first
	if d.Limits != nil {
		charged = 1 + d.Limits.Take(p, len(events)-1)
	}
	reports, results := make([]*udaconnect.Report, len(events)), make([]Result, len(events))
	for i := range events {
		e := &events[i]
		if i >= charged {
			err = errRateOfBatches
		} else {
			reports[i], err = d.admit(r.Context(), p, e)
		}
		if err != nil {
			results[i] = Result{ID: e.ID(), Status: server.ErrorStatus(err), Error: udaconnect.ErrorMessage(err)}
			telemetry.CountEvent(e.Type(), results[i].Status)
		}
	}
	return events, reports, results, nil
}

func readBatch(w http.ResponseWriter, r *http.Request) ([]event.Event, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBatchBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, udaconnect.Errorf(udaconnect.ETOOLARGE, "the batch is larger than %d bytes", MaxBatchBytes)
	}
	if err != nil {
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "the batch cannot be read")
	}
	if !utf8.Valid(body) {
		// The JSON decoder would replace what is not UTF-8 unseen.
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "the batch is not valid UTF-8")
	}
	var events []event.Event
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "malformed batch: %s", server.OneLine(err))
	}
	switch {
	case len(events) == 0:
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "the batch is empty")
	case len(events) > MaxBatchSize:
		return nil, udaconnect.Errorf(udaconnect.ETOOLARGE, "the batch has %d events; at most %d are taken", len(events), MaxBatchSize)
	}
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return nil, udaconnect.Errorf(udaconnect.EINVALID, "event %d of the batch is invalid: %s", i, server.OneLine(err))
		}
	}
	return events, nil
}

// errNoSink answers the events that reach a door started without K_SINK,
// before its SinkBinding gave one to a later revision.
var errNoSink = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "K_SINK is not set: there is no broker to send events to yet, try again later")

// sinkReady reports whether a door forwarding to sink is ready.
func sinkReady(sink string) func(context.Context) error {
	return func(context.Context) error {
		if sink == "" {
			return errNoSink
		}
		return nil
	}
}

// forward sends e to the broker in binary mode and returns its answer. When
// MaxForwarding events are already on their way it answers 429 at once. An
// event that carries no trace starts one here, under ctx's if any.
func (d *Door) forward(ctx context.Context, e event.Event) Result {
	ctx, span := telemetry.Start(ctx, "forward "+e.Type(), &e)
	defer span.End()
	res := d.send(ctx, e)
	telemetry.CountEvent(e.Type(), res.Status)
	if res.Status == http.StatusAccepted {
		d.log.Info("event forwarded", telemetry.EventFields(e)...)
	}
	return res
}

func (d *Door) send(ctx context.Context, e event.Event) Result {
	res := Result{ID: e.ID()}
	if d.sink == "" {
		res.Status, res.Error = http.StatusServiceUnavailable, udaconnect.ErrorMessage(errNoSink)
		return res
	}
	select {
	case d.slots <- struct{}{}:
		defer func() { <-d.slots }()
	default:
		telemetry.Overloaded("door")
		res.Status, res.Error = http.StatusTooManyRequests, "too many events at once, try again later"
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.sink, nil)
	if err == nil {
		err = cehttp.WriteRequest(ctx, binding.ToMessage(&e), req)
	}
	if err != nil {
		res.Status, res.Error = http.StatusBadRequest, fmt.Sprintf("the event cannot be encoded: %v", err)
		return res
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.log.Error("forward to the broker", telemetry.EventFields(e, zap.Error(err))...)
		res.Status, res.Error = http.StatusServiceUnavailable, "the broker is unavailable, try again later"
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	res.Status = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		res.Status = http.StatusAccepted
		return res
	}
	var msg server.ErrorBody
	if json.Unmarshal(body, &msg) == nil && msg.Error != "" {
		res.Error = msg.Error
	} else {
		res.Error = strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
	}
	if res.Error == "" {
		res.Error = "the broker answered " + http.StatusText(res.Status)
	}
	if res.Status >= 500 {
		d.log.Error("broker refused an event", telemetry.EventFields(e, zap.Int("status", res.Status), zap.String("error", res.Error))...)
	}
	return res
}

func writeResult(w http.ResponseWriter, res Result) {
	if res.Status == http.StatusTooManyRequests || res.Status >= 500 {
		w.Header().Set("Retry-After", server.RetryAfter)
	}
	server.WriteJSON(w, res.Status, server.ErrorBody{Error: res.Error})
}
