package udaconnect

import (
	"strings"
	"time"
	"unicode/utf8"
)

// A Reporter sends location reports for registered people and reads
// nothing: a venue's gateway, an import, the simulator. It holds a token of
// its own, which the organizer revokes by deleting the reporter.
type Reporter struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Validate reports whether r's name can be stored, trimming it first.
func (r *Reporter) Validate() error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return Invalid("name", "name is required")
	}
	if err := CheckText("name", r.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.Name) > MaxNameLength {
		return Invalid("name", "name is longer than %d characters", MaxNameLength)
	}
	return nil
}
