// Package servertest drives UdaConnect functions over real HTTP with real
// CloudEvents, in binary and structured mode.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap/zaptest"
)

// InternalToken is the secret the tests' door, broker and functions share,
// as INTERNAL_TOKEN does under make run.
const InternalToken = "test-internal-token-0123456789abcdef"

// Start serves f as its process would under make run, taking only callers
// with InternalToken, until the test ends.
func Start(tb testing.TB, f server.Function) *httptest.Server {
	tb.Helper()
	callers, err := server.NewCallers(server.Config{InternalToken: InternalToken})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(server.Mux(f, callers, zaptest.NewLogger(tb)))
	tb.Cleanup(srv.Close)
	return srv
}

// Modes are the two CloudEvents HTTP content modes.
var Modes = []string{"binary", "structured"}

// NewEvent returns an event of type typ from source "test" with the JSON of
// data (raw bytes are sent as they are).
func NewEvent(tb testing.TB, typ, id string, data any) event.Event {
	tb.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("test")
	e.SetTime(time.Now().UTC())
	if raw, ok := data.([]byte); ok {
		e.SetDataContentType(event.ApplicationJSON)
		e.DataEncoded = raw
		return e
	}
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		tb.Fatal(err)
	}
	return e
}

// Response is what a function answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Event  *event.Event // the reply, if any
}

// A Client sends requests with a credential: Authorization: Bearer Token,
// when there is one. Client{} sends none.
type Client struct {
	Token string
}

// Internal calls a function as the door and the broker do: with
// InternalToken.
var Internal = Client{Token: InternalToken}

// Send posts e to url in the given mode, as the broker does.
func Send(tb testing.TB, url, mode string, e event.Event) Response {
	tb.Helper()
	return Internal.Send(tb, url, mode, e)
}

// Do sends req, as the door does, and reads the answer.
func Do(tb testing.TB, req *http.Request) Response {
	tb.Helper()
	return Internal.Do(tb, req)
}

// Request sends a plain HTTP request, as the door does, with an optional
// JSON body.
func Request(tb testing.TB, method, url string, body any) Response {
	tb.Helper()
	return Internal.Request(tb, method, url, body)
}

// Send posts e to url in the given mode.
func (c Client) Send(tb testing.TB, url, mode string, e event.Event) Response {
	tb.Helper()
	ctx := context.Background()
	if mode == "structured" {
		ctx = binding.WithForceStructured(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		tb.Fatal(err)
	}
	return c.Do(tb, req)
}

// Do sends req and reads the answer, and the reply event in it if any.
func (c Client) Do(tb testing.TB, req *http.Request) Response {
	tb.Helper()
	resp := c.send(tb, req)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Ce-Id") != "" {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		msg := cehttp.NewMessageFromHttpResponse(resp)
		if r.Event, err = binding.ToEvent(context.Background(), msg); err != nil {
			tb.Fatalf("reply is not a CloudEvent: %v", err)
		}
	}
	return r
}

// Open sends req and returns the status and headers of the answer, and its
// body only when the status is not 200: a stream's body is not waited for.
func (c Client) Open(tb testing.TB, req *http.Request) Response {
	tb.Helper()
	resp := c.send(tb, req)
	defer resp.Body.Close()
	r := Response{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		r.Body, _ = io.ReadAll(resp.Body)
	}
	return r
}

// Request sends a plain HTTP request with an optional JSON body.
func (c Client) Request(tb testing.TB, method, url string, body any) Response {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				tb.Fatal(err)
			}
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.Do(tb, req)
}

// Decode decodes the JSON body of r into v.
func (r Response) Decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorField returns the field named by an error answer.
func (r Response) ErrorField(tb testing.TB) string {
	tb.Helper()
	var e server.ErrorBody
	r.Decode(tb, &e)
	return e.Field
}

// send sends req with the client's credential.
func (c Client) send(tb testing.TB, req *http.Request) *http.Response {
	tb.Helper()
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// RefusesStrangers checks that each route of the function at url ("METHOD
// /path") answers a request without a credential, or with one that is not
// InternalToken, 401 with a message, and lets one with InternalToken in
// (the route's own answer, whatever it is, but neither 401 nor 403).
func RefusesStrangers(tb testing.TB, url string, routes ...string) {
	tb.Helper()
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		for _, c := range []Client{{}, {Token: "not-" + InternalToken}, Internal} {
			req, err := http.NewRequest(method, url+path, nil)
			if err != nil {
				tb.Fatal(err)
			}
			r := c.Open(tb, req)
			switch {
			case c == Internal && (r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden):
				tb.Errorf("%s with the internal credential = %d %s; want the route's answer", route, r.Status, r.Body)
			case c != Internal && (r.Status != http.StatusUnauthorized || !bytes.Contains(r.Body, []byte("credential"))):
				tb.Errorf("%s with token %q = %d %s; want 401 naming the credential", route, c.Token, r.Status, r.Body)
			}
		}
	}
}
