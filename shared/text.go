package udaconnect

import (
	"unicode"
	"unicode/utf8"
)

// CheckText refuses a string that is not valid UTF-8 or holds a control
// character, NUL and line breaks included, which no name needs, no HTTP
// header can carry and PostgreSQL cannot store (NUL); field names the input
// at fault. It refuses U+FFFD too, the mark of a character that could not
// be read: JSON's decoder puts it in place of a lone surrogate (\ud800), so
// that text would be stored other than it was sent.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return Invalid(field, "%s holds a control character (%U)", field, r)
		case r == utf8.RuneError:
			return Invalid(field, "%s holds U+FFFD, a character that could not be read (such as a lone surrogate \\ud800)", field)
		}
	}
	return nil
}
