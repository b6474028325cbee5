package udaconnect

import (
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
