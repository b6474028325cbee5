package udaconnect

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNameLength bounds every name a person is registered with, in characters.
const MaxNameLength = 200

// Person is an attendee.
type Person struct {
	ID          int64  `json:"id"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	CompanyName string `json:"company_name"`
}

// Validate reports the first field of p that cannot be stored. It trims
// surrounding white space from the names first.
func (p *Person) Validate() error {
	p.FirstName = strings.TrimSpace(p.FirstName)
	p.LastName = strings.TrimSpace(p.LastName)
	p.CompanyName = strings.TrimSpace(p.CompanyName)
	for _, f := range []struct{ name, value string }{
		{"first_name", p.FirstName},
		{"last_name", p.LastName},
		{"company_name", p.CompanyName},
	} {
		if f.value == "" {
			return Invalid(f.name, "%s is required", f.name)
		}
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
		if utf8.RuneCountInString(f.value) > MaxNameLength {
			return Invalid(f.name, "%s is longer than %d characters", f.name, MaxNameLength)
		}
	}
	return nil
}

// The page sizes of a person search.
const (
	DefaultPersonLimit = 100
	MaxPersonLimit     = 1000
	// MaxPersonSearch bounds the search text, in characters.
	MaxPersonSearch = 200
)

// PersonQuery asks for a page of people ordered by last name, first name
// and id: those whose names or company hold every word of Words (case
// aside), at most Limit of them, after After.
type PersonQuery struct {
	Words []string
	Limit int
	After PersonCursor
}

// A PersonCursor is where a page of people ends: the people after it come
// after its last name, first name and id in that order. The zero cursor is
// the first page.
type PersonCursor struct {
	LastName, FirstName string
	ID                  int64
}

// String is the cursor as the after parameter carries it: a JSON array of
// the last name, the first name and the id.
func (c PersonCursor) String() string {
	b, _ := json.Marshal([]any{c.LastName, c.FirstName, c.ID})
	return string(b)
}

// PersonParams are the parameters of a person search as a URL carries them.
type PersonParams struct {
	Q, Limit, After string
}

// Query validates p and turns it into a PersonQuery; an error names the
// parameter at fault.
func (p PersonParams) Query() (PersonQuery, error) {
	q := PersonQuery{Limit: DefaultPersonLimit}
	if err := CheckText("q", p.Q); err != nil {
		return q, err
	}
	if utf8.RuneCountInString(p.Q) > MaxPersonSearch {
		return q, Invalid("q", "q is longer than %d characters", MaxPersonSearch)
	}
	q.Words = strings.Fields(p.Q)
	if p.Limit != "" {
		var err error
		if q.Limit, err = strconv.Atoi(p.Limit); err != nil || q.Limit < 1 || q.Limit > MaxPersonLimit {
			return q, Invalid("limit", "limit must be a whole number from 1 to %d", MaxPersonLimit)
		}
	}
	if p.After != "" {
		// The cursor holds the names of a person as stored, perhaps before
		// CheckText refused U+FFFD: text PostgreSQL can compare (UTF-8, no
		// NUL) is all it needs to be.
		var parts []json.RawMessage
		var c PersonCursor
		if json.Unmarshal([]byte(p.After), &parts) != nil || len(parts) != 3 ||
			json.Unmarshal(parts[0], &c.LastName) != nil || json.Unmarshal(parts[1], &c.FirstName) != nil ||
			json.Unmarshal(parts[2], &c.ID) != nil || c.ID <= 0 ||
			!utf8.ValidString(c.LastName+c.FirstName) || strings.ContainsRune(c.LastName+c.FirstName, 0) {
			return q, Invalid("after", `after must be the cursor of a Link rel="next", such as ["Lovelace","Ada",7]`)
		}
		q.After = c
	}
	return q, nil
}
