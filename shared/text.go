package udaconnect

import (
	"unicode"
	"unicode/utf8"
)

// CheckText refuses a string that is not valid UTF-8 or holds a control
// character, NUL and line breaks included, which no name needs, no HTTP
// header can carry and PostgreSQL cannot store (NUL); field names the input
// at fault.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Invalid(field, "%s holds a control character (%U)", field, r)
		}
	}
	return nil
}
