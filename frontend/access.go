package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"

	"github.com/udaconnect/udaconnect/frontend/auth"
)

// The door decides who may do what (docs/design.md, "Access"): every request
// to /api/... and /events has an owner, the organizer or one attendee, whose
// credential is a bearer token or the session cookie the web app got for it.

// AppHeader is the header the web app sends with every request: a write
// with the session cookie needs it, or Sec-Fetch-Site: same-origin, to
// prove it comes from the app's own pages. A page of another origin cannot
// send it without a CORS preflight, which the door never answers.
const AppHeader = "X-Requested-With"

// MaxIdempotencyKey bounds an Idempotency-Key header, in bytes: the key is
// scoped to its sender before it becomes an event's id.
const MaxIdempotencyKey = ev.MaxSenderBytes

// access authenticates requests and applies the rules of each route.
type access struct {
	broker   *Door // where the door sends events
	tokens   *auth.Tokens
	gens     *auth.Generations
	limits   *auth.Limits
	reports  *reportRules
	settings ReportSettings        // told to the web app with the session
	shares   map[share]*auth.Slots // what each credential has under way, by kind
	streams  *streams
	log      *zap.Logger
}

// ReportSettings tell the web app, with the session, what becomes of an
// attendee's reports: how old one may be when it arrives, and how long
// reports are kept (RETENTION as it is set, such as 30d; empty when they
// are kept until deleted).
type ReportSettings struct {
	MaxAgeS   float64 `json:"report_max_age_s"`
	Retention string  `json:"retention,omitempty"`
}

// Session is who is signed in, with the settings of their reports.
type Session struct {
	auth.Principal
	ReportSettings
}

type principalKey struct{}

// principalOf returns the principal that authenticate put in ctx.
func principalOf(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

var (
	errNoCredential = udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "sign in: send Authorization: Bearer <token>")
	errForbidden    = udaconnect.Errorf(udaconnect.EFORBIDDEN, "you may only act on your own person")
	errOrganizer    = udaconnect.Errorf(udaconnect.EFORBIDDEN, "only the organizer may do this")
	errReporter     = udaconnect.Errorf(udaconnect.EFORBIDDEN, "a reporter may only send location reports")
	errRateLimited  = udaconnect.Errorf(udaconnect.EOVERLOADED, "too many requests from this credential, slow down")
	errContentType  = udaconnect.Errorf(udaconnect.EUNSUPPORTED, "send JSON: Content-Type application/json, or a CloudEvents content type")
	errCrossSite    = udaconnect.Errorf(udaconnect.EFORBIDDEN, "a write with the session cookie must come from the web app's own pages (Sec-Fetch-Site: same-origin, or the "+AppHeader+" header)")
)

// principal verifies the request's credential: a bearer token, else the
// session cookie, whose writes must prove that they come from the web app.
func (a *access) principal(r *http.Request) (auth.Principal, string, error) {
	token, ok := bearer(r)
	if !ok {
		name, _ := sessionCookie(r)
		c, err := r.Cookie(name)
		if err != nil || c.Value == "" {
			return auth.Principal{}, "", errNoCredential
		}
		if !sameOrigin(r) {
			return auth.Principal{}, "", errCrossSite
		}
		token = c.Value
	}
	p, err := a.tokens.Verify(token)
	if err == nil {
		err = a.gens.Check(r.Context(), p)
	}
	switch {
	case errors.Is(err, auth.ErrToken):
		return p, "", udaconnect.Errorf(udaconnect.EUNAUTHORIZED, "%s", auth.ErrToken.Error())
	case err != nil:
		a.log.Error("check token", zap.Error(err))
		return p, "", udaconnect.Errorf(udaconnect.EUNAVAILABLE, "credentials cannot be checked now, try again later")
	}
	return p, token, nil
}

// sameOrigin reports whether r reads, or else shows that it comes from the
// door's own origin: a browser's Sec-Fetch-Site, or AppHeader, which only a
// same-origin page can send.
func sameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin" || r.Header.Get(AppHeader) != ""
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// authenticate lets through the requests of a known principal within its
// rate, with a JSON or CloudEvents body when they write: 401 without a valid
// credential, 429 over the rate, 415 for a write of another content type
// (so that no cross-site form can post; a POST without a body, which no form
// sends, needs none).
func (a *access) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, err := a.principal(r)
		if err == nil && !a.limits.Allow(p) {
			err = errRateLimited
		}
		if err == nil && r.Method == http.MethodPost && !jsonBody(r) && !(r.ContentLength == 0 && r.Header.Get("Content-Type") == "") {
			err = errContentType
		}
		if err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func writeError(w http.ResponseWriter, err error) {
	if server.ErrorStatus(err) == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="udaconnect"`)
	}
	server.WriteError(w, err)
}

// jsonBody reports whether r's body is JSON or CloudEvents.
func jsonBody(r *http.Request) bool {
	t := server.MediaType(r)
	return t == "application/json" || t == server.StructuredType || t == server.BatchType
}

// A rule decides whether the principal p may have r served.
type rule func(a *access, p auth.Principal, r *http.Request) error

// reader lets through every principal but a reporter, which reads nothing.
func reader(_ *access, p auth.Principal, _ *http.Request) error {
	if p.Role == auth.Reporter {
		return errReporter
	}
	return nil
}

// organizer lets only the organizer through.
func organizer(a *access, p auth.Principal, r *http.Request) error {
	if err := reader(a, p, r); err != nil {
		return err
	}
	if p.Role != auth.Organizer {
		return errOrganizer
	}
	return nil
}

// self lets through the organizer and the person of the path's {id}.
func self(a *access, p auth.Principal, r *http.Request) error {
	if err := reader(a, p, r); err != nil {
		return err
	}
	id, err := server.PathID(r, "id")
	if err != nil {
		return err
	}
	if !p.May(id) {
		return errForbidden
	}
	return nil
}

// An attendee's connection query stays within what "met" means: within
// AttendeeDistance metres and AttendeeWindow apart in time, so that no
// attendee can read another's trail through wide queries around fake
// reports of their own.
const (
	AttendeeDistance = udaconnect.DefaultDistance
	AttendeeWindow   = 15 * time.Minute
)

// nearSelf is self, and keeps an attendee's connection query within
// AttendeeDistance and AttendeeWindow: 400 for parameters no one may send,
// 403 naming the parameter for those only the organizer may.
func nearSelf(a *access, p auth.Principal, r *http.Request) error {
	if err := self(a, p, r); err != nil || p.Role == auth.Organizer {
		return err
	}
	v := r.URL.Query()
	q, err := udaconnect.ConnectionParams{PersonID: p.PersonID, StartDate: v.Get("start_date"), EndDate: v.Get("end_date"),
		Distance: v.Get("distance"), Window: v.Get("window")}.Query()
	switch {
	case err != nil:
		return err
	case q.Distance > AttendeeDistance:
		return &udaconnect.Error{Code: udaconnect.EFORBIDDEN, Field: "distance", Message: fmt.Sprintf("an attendee may ask for a distance of at most %g m", AttendeeDistance)}
	case q.Window == 0 || q.Window > AttendeeWindow:
		return &udaconnect.Error{Code: udaconnect.EFORBIDDEN, Field: "window", Message: "an attendee must ask for a window of at most 15m, such as window=15m"}
	}
	return nil
}

// ownReport lets an attendee post a location for themself only, the
// organizer and reporters for anyone, each within the rules of their
// reports (a missing creation_time is now). An attendee's or a reporter's
// body that is not a report is refused here (400).
func ownReport(a *access, p auth.Principal, r *http.Request) error {
	if p.Role == auth.Organizer {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, server.MaxRequestSize+1))
	if err != nil {
		return udaconnect.Errorf(udaconnect.EINVALID, "the request body cannot be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > server.MaxRequestSize {
		return udaconnect.Errorf(udaconnect.ETOOLARGE, "the request body is larger than %d bytes", server.MaxRequestSize)
	}
	var data ev.LocationReportedData
	if err := server.DecodeJSON(body, &data); err != nil {
		return err
	}
	if data.PersonID == nil {
		return udaconnect.Invalid("person_id", "person_id is required")
	}
	if !p.MayReport(*data.PersonID) {
		return errForbidden
	}
	report, err := data.Report("", "", a.reports.now())
	if err != nil {
		return err
	}
	return a.reports.check(r.Context(), p, report)
}

// A share is a kind of request of which each credential may have only a
// few under way at once.
type share int

const (
	none   share = iota
	heavy        // a read that may cost seconds of the database: the connection route, an export
	stream       // a live stream, open for long
)

// The caps of each credential's heavy reads and streams at once: an
// attendee's web app opens one stream, and a few tabs may be open.
var (
	heavyCaps  = map[auth.Role]int{auth.Attendee: 1, auth.Organizer: 4}
	streamCaps = map[auth.Role]int{auth.Attendee: 3, auth.Organizer: 32}
)

var errShare = map[share]error{
	heavy:  udaconnect.Errorf(udaconnect.EOVERLOADED, "this credential has as many heavy reads under way as it may: wait for one to finish"),
	stream: udaconnect.Errorf(udaconnect.EOVERLOADED, "this credential has as many live streams open as it may: close one first"),
}

// shared serves r with next when its principal has a share of kind s left
// (429 with Retry-After otherwise), and holds it until next returns. A
// stream ends when its credential is revoked, its person deleted, or its
// life over (see streams).
func (a *access) shared(s share, next http.Handler) http.Handler {
	switch s {
	case none:
		return next
	case stream:
		next = a.streams.serve(next)
	}
	slots := a.shares[s]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		if !slots.Acquire(p, 1) {
			writeError(w, errShare[s])
			return
		}
		defer slots.Release(p, 1)
		next.ServeHTTP(w, r)
	})
}

type headKey struct{}

// guard serves r with next when rule lets its principal through. The
// principal's Idempotency-Key is made its own, so that no other credential
// can send the same key. A HEAD goes on as a GET, so that the function's
// answer is checked as a GET's is (the server sends no body to a HEAD; see
// modify).
func (a *access) guard(rule rule, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r.Context())
		if err := rule(a, p, r); err != nil {
			writeError(w, err)
			return
		}
		if r.Method == http.MethodHead {
			r = r.Clone(context.WithValue(r.Context(), headKey{}, true))
			r.Method = http.MethodGet
		}
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			if len(key) > MaxIdempotencyKey {
				writeError(w, udaconnect.Invalid("Idempotency-Key", "Idempotency-Key must be at most %d bytes", MaxIdempotencyKey))
				return
			}
			r.Header.Set("Idempotency-Key", p.Subject()+":"+key)
		}
		next.ServeHTTP(w, r)
	})
}

// A response rule checks or completes a function's answer to r before the
// door sends it on; it may replace the body.
type responseRule func(a *access, p auth.Principal, resp *http.Response, body []byte) (int, any, error)

// ownLocation lets an attendee see only their own locations, and fails
// closed: anything but a location of theirs, a missing one included, is
// 403 (only an outage, 5xx, goes on as it is).
func ownLocation(_ *access, p auth.Principal, resp *http.Response, body []byte) (int, any, error) {
	if p.Role == auth.Organizer || resp.StatusCode >= 500 {
		return 0, nil, nil
	}
	var loc udaconnect.Location
	if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &loc) == nil && loc.PersonID > 0 && p.May(loc.PersonID) {
		return 0, nil, nil
	}
	return 0, nil, errForbidden
}

// errAnswer refuses what a function answered but the door cannot read.
var errAnswer = udaconnect.Errorf(udaconnect.EINTERNAL, "the answer of the service cannot be read")

// created decodes a function's answer into v when it is status, and reports
// whether it was; an answer of that status that does not decode is an
// error, not passed on unchecked.
func created(resp *http.Response, body []byte, status int, v any) (bool, error) {
	if resp.StatusCode != status {
		return false, nil
	}
	if json.Unmarshal(body, v) != nil {
		return false, errAnswer
	}
	return true, nil
}

// recorded passes on to the broker the location.recorded of a location
// stored through POST /api/locations, as the reply of locations does for a
// location.reported event: a report posted there reaches the detection of
// meetings as one sent to /events does. When the broker does not take it
// the answer is 503: the client sends again (with its Idempotency-Key, the
// same location) and the same event goes again, which connections takes
// once.
func recorded(a *access, _ auth.Principal, resp *http.Response, body []byte) (int, any, error) {
	var loc udaconnect.Location
	if ok, err := created(resp, body, http.StatusCreated, &loc); !ok {
		return 0, nil, err
	}
	e, err := server.NewEvent(ev.Source+"/locations", ev.LocationRecorded, fmt.Sprintf("location-%d", loc.ID), loc)
	if err != nil {
		return 0, nil, err
	}
	if res := a.broker.forward(resp.Request.Context(), *e); res.Status != http.StatusAccepted {
		return 0, nil, udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the location was stored but cannot be passed on now, send it again")
	}
	return 0, nil, nil
}

// PersonWithToken is a person just registered, with their first token.
type PersonWithToken struct {
	udaconnect.Person
	Token string `json:"token"`
}

// withToken adds the new person's sign-in token to their registration.
func withToken(a *access, _ auth.Principal, resp *http.Response, body []byte) (int, any, error) {
	var person udaconnect.Person
	if ok, err := created(resp, body, http.StatusCreated, &person); !ok {
		return 0, nil, err
	}
	token, err := a.tokens.Issue(person.ID, a.gens.Current(auth.Principal{Role: auth.Attendee, PersonID: person.ID}.Subject()))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, PersonWithToken{Person: person, Token: token}, nil
}

// Reissue is the answer to a new token for a person.
type Reissue struct {
	PersonID int64  `json:"person_id"`
	Token    string `json:"token"`
}

// newToken turns the person's new token generation into their token; the
// earlier ones are revoked here at once, and at the other doors within
// auth.MaxAge.
func newToken(a *access, _ auth.Principal, resp *http.Response, body []byte) (int, any, error) {
	var gen struct {
		PersonID   int64 `json:"person_id"`
		Generation int64 `json:"generation"`
	}
	if ok, err := created(resp, body, http.StatusCreated, &gen); !ok {
		return 0, nil, err
	}
	a.gens.Set(auth.Principal{Role: auth.Attendee, PersonID: gen.PersonID}.Subject(), gen.Generation)
	token, err := a.tokens.Issue(gen.PersonID, gen.Generation)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, Reissue{PersonID: gen.PersonID, Token: token}, nil
}

// deleted revokes every token of a person the function deleted, here at
// once and at the other doors within auth.MaxAge.
func deleted(a *access, _ auth.Principal, resp *http.Response, _ []byte) (int, any, error) {
	id, err := strconv.ParseInt(path.Base(resp.Request.URL.Path), 10, 64)
	if resp.StatusCode == http.StatusNoContent && err == nil {
		a.gens.Set(auth.Principal{Role: auth.Attendee, PersonID: id}.Subject(), auth.Deleted)
	}
	return 0, nil, nil
}

// ReporterWithToken is a reporter just registered, with its token: the
// only time the token is shown.
type ReporterWithToken struct {
	udaconnect.Reporter
	Token string `json:"token"`
}

// withReporterToken adds the new reporter's token to its registration.
func withReporterToken(a *access, _ auth.Principal, resp *http.Response, body []byte) (int, any, error) {
	var reporter udaconnect.Reporter
	if ok, err := created(resp, body, http.StatusCreated, &reporter); !ok {
		return 0, nil, err
	}
	token, err := a.tokens.IssueReporter(reporter.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ReporterWithToken{Reporter: reporter, Token: token}, nil
}

// revoked refuses the token of a reporter the function revoked, here at
// once and at the other doors within auth.MaxAge.
func revoked(a *access, _ auth.Principal, resp *http.Response, _ []byte) (int, any, error) {
	id, err := strconv.ParseInt(path.Base(resp.Request.URL.Path), 10, 64)
	if resp.StatusCode == http.StatusNoContent && err == nil {
		a.gens.Set(auth.Principal{Role: auth.Reporter, ReporterID: id}.Subject(), auth.Deleted)
	}
	return 0, nil, nil
}

// modify applies rule, if any, to a function's answer; an error becomes the
// answer. The answer to a HEAD, checked as a GET's, goes without its body.
func (a *access) modify(rule responseRule) func(*http.Response) error {
	return func(resp *http.Response) error {
		if rule == nil {
			return headOnly(resp)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read answer: %w", err)
		}
		status, v, err := rule(a, principalOf(resp.Request.Context()), resp, body)
		if err != nil {
			status, v = server.ErrorStatus(err), server.ErrorBody{Error: udaconnect.ErrorMessage(err)}
			if ev.Retryable(status) {
				resp.Header.Set("Retry-After", server.RetryAfter)
			}
		}
		if v != nil {
			if body, err = json.Marshal(v); err != nil {
				return fmt.Errorf("encode answer: %w", err)
			}
			body = append(body, '\n')
			resp.StatusCode = status
			resp.Header.Set("Content-Type", "application/json")
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return headOnly(resp)
	}
}

// headOnly drops the body of the answer to a HEAD (a stream's too).
func headOnly(resp *http.Response) error {
	if head, _ := resp.Request.Context().Value(headKey{}).(bool); head {
		resp.Body.Close()
		resp.Body = http.NoBody
	}
	return nil
}

// signIn exchanges a bearer token for the session cookie of the web app.
func (a *access) signIn(w http.ResponseWriter, r *http.Request) {
	if _, ok := bearer(r); !ok {
		writeError(w, errNoCredential)
		return
	}
	p, token, err := a.principal(r)
	if err == nil {
		err = reader(a, p, r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	name, secure := sessionCookie(r)
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure,
	})
	server.WriteJSON(w, http.StatusOK, Session{p, a.settings})
}

// session answers who is signed in, with the settings of their reports; a
// reporter has no session.
func (a *access) session(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	if err := reader(nil, p, r); err != nil {
		writeError(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, Session{p, a.settings})
}

// signOut ends the web app's session.
func signOut(w http.ResponseWriter, r *http.Request) {
	name, secure := sessionCookie(r)
	http.SetCookie(w, &http.Cookie{
		Name: name, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure,
	})
	w.WriteHeader(http.StatusNoContent)
}

// fetchGenerations asks the persons function for the token generations.
func fetchGenerations(client *http.Client, persons *replicas) auth.FetchFunc {
	return func(ctx context.Context) (map[string]int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, persons.pick().JoinPath("token-generations").String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("persons answered %s", resp.Status)
		}
		var gens map[string]int64
		if err := json.NewDecoder(resp.Body).Decode(&gens); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		return gens, nil
	}
}

// securityHeaders are sent with every answer of the door: the web app runs
// only its own scripts, loads images from itself and the tile server, and
// cannot be framed.
func securityHeaders(tileOrigin string, next http.Handler) http.Handler {
	csp := "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: " + tileOrigin +
		"; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// durationOf reads the setting name, a positive Go duration, fallback when unset.
func durationOf(name, v string, fallback time.Duration) (time.Duration, error) {
	if v == "" {
		return fallback, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as %s, not %q", name, fallback, v)
	}
	return d, nil
}

// rate reads a rate limit "PER_SECOND[/BURST]" such as 5/50.
func rateOf(name, v string, fallback auth.Rate) (auth.Rate, error) {
	if v == "" {
		return fallback, nil
	}
	perSecond, burst, _ := strings.Cut(v, "/")
	r := auth.Rate{}
	var err error
	if r.PerSecond, err = strconv.ParseFloat(perSecond, 64); err != nil || r.PerSecond <= 0 {
		return r, fmt.Errorf("%s must be PER_SECOND[/BURST] such as 5/50, not %q", name, v)
	}
	r.Burst = int(r.PerSecond)
	if burst != "" {
		if r.Burst, err = strconv.Atoi(burst); err != nil || r.Burst <= 0 {
			return r, fmt.Errorf("%s must be PER_SECOND[/BURST] such as 5/50, not %q", name, v)
		}
	}
	r.Burst = max(r.Burst, 1)
	return r, nil
}
