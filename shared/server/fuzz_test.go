package server_test

import (
	"net/http/httptest"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/server"
)

// PathID takes positive integers only, and names the parameter otherwise.
func FuzzPathID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "9223372036854775807", "9223372036854775808", "1e3", " 1", "０"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetPathValue("id", s)
		id, err := server.PathID(r, "id")
		if err != nil {
			if e, ok := err.(*udaconnect.Error); !ok || e.Field != "id" {
				t.Fatalf("PathID(%q) = %v; want an error naming id", s, err)
			}
			return
		}
		if id <= 0 {
			t.Errorf("PathID(%q) = %d", s, id)
		}
	})
}
