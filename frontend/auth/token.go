// Package auth decides who sends a request to the door: the organizer,
// through an opaque token of the deployment, or one attendee or reporter,
// through a token the door signed for them (docs/design.md, "Access").
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a principal may do.
type Role string

// The roles.
const (
	Organizer Role = "organizer" // everything
	Attendee  Role = "attendee"  // their own person only
	Reporter  Role = "reporter"  // sends reports for anyone registered, reads nothing
)

// Principal is who sent a request.
type Principal struct {
	Role       Role  `json:"role"`
	PersonID   int64 `json:"person_id,omitempty"`   // an attendee's person
	ReporterID int64 `json:"reporter_id,omitempty"` // a reporter's
	Generation int64 `json:"-"`                     // of an attendee's or a reporter's token
}

// The prefixes of the subjects of attendees and reporters.
const (
	personSubject   = "person-"
	reporterSubject = "reporter-"
)

// Subject names the principal in keys that belong to it: "organizer",
// "person-12" or "reporter-3".
func (p Principal) Subject() string {
	switch p.Role {
	case Organizer:
		return string(Organizer)
	case Reporter:
		return reporterSubject + strconv.FormatInt(p.ReporterID, 10)
	}
	return personSubject + strconv.FormatInt(p.PersonID, 10)
}

// May reports whether p may act on the person with the given id: read
// their data, change them.
func (p Principal) May(personID int64) bool {
	return p.Role == Organizer || p.Role == Attendee && p.PersonID == personID
}

// MayReport reports whether p may send a report of where the person with
// the given id was.
func (p Principal) MayReport(personID int64) bool {
	return p.Role == Reporter || p.May(personID)
}

// ErrToken is the error of a credential that is not valid: unknown, forged,
// expired or revoked. Its message is meant for the sender.
var ErrToken = errors.New("the token is not valid: sign in again with a current link")

const (
	issuer   = "udaconnect"
	audience = "udaconnect-door"
)

// Tokens issues and verifies credentials.
type Tokens struct {
	key       []byte
	organizer [sha256.Size]byte // of the organizer's token
	ttl       time.Duration     // of an attendee's token

	ReporterTTL time.Duration    // of a reporter's token: a year unless set
	Now         func() time.Time // the clock: time.Now
}

// NewTokens returns tokens signed with key (hex or base64, see ParseKey),
// the organizer's token, and the lifetime of an attendee's token.
func NewTokens(key, organizer string, ttl time.Duration) (*Tokens, error) {
	k, err := ParseKey(key)
	switch {
	case err != nil:
		return nil, err
	case len(organizer) < 32:
		return nil, fmt.Errorf("ORGANIZER_TOKEN must be at least 32 characters")
	case ttl <= 0:
		return nil, fmt.Errorf("ATTENDEE_TOKEN_TTL must be positive")
	}
	return &Tokens{key: k, organizer: sha256.Sum256([]byte(organizer)), ttl: ttl, ReporterTTL: 365 * 24 * time.Hour, Now: time.Now}, nil
}

type claims struct {
	Generation int64 `json:"gen"`
	jwt.RegisteredClaims
}

// Issue returns a token for the attendee personID, of the given generation:
// issuing generation n revokes every token of an earlier one.
func (t *Tokens) Issue(personID, generation int64) (string, error) {
	return t.sign(Principal{Role: Attendee, PersonID: personID, Generation: generation}, t.ttl)
}

// IssueReporter returns the token of the reporter reporterID, which stays
// valid until the reporter is revoked or ReporterTTL passes.
func (t *Tokens) IssueReporter(reporterID int64) (string, error) {
	return t.sign(Principal{Role: Reporter, ReporterID: reporterID, Generation: 1}, t.ReporterTTL)
}

func (t *Tokens) sign(p Principal, ttl time.Duration) (string, error) {
	now := t.Now()
	c := claims{Generation: p.Generation, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Audience:  jwt.ClaimStrings{audience},
		Subject:   p.Subject(),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Verify returns the principal of token, or ErrToken. It checks the
// signature and the expiry, not revocation (see Generations).
func (t *Tokens) Verify(token string) (Principal, error) {
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], t.organizer[:]) == 1 {
		return Principal{Role: Organizer}, nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.Now))
	if err != nil {
		return Principal{}, ErrToken
	}
	for _, p := range []struct {
		prefix string
		role   Role
	}{{personSubject, Attendee}, {reporterSubject, Reporter}} {
		rest, ok := strings.CutPrefix(c.Subject, p.prefix)
		id, err := strconv.ParseInt(rest, 10, 64)
		if !ok || err != nil || id <= 0 || c.Generation <= 0 {
			continue
		}
		if p.role == Reporter {
			return Principal{Role: Reporter, ReporterID: id, Generation: c.Generation}, nil
		}
		return Principal{Role: Attendee, PersonID: id, Generation: c.Generation}, nil
	}
	return Principal{}, ErrToken
}
