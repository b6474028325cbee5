package broker

import (
	"encoding/json"
	"testing"
)

// A Service with several replicas gets its deliveries in turn.
func TestServicesReplicas(t *testing.T) {
	s := Services{}
	if err := s.Set("locations=http://127.0.0.1:1/,http://127.0.0.1:2,http://127.0.0.1:3"); err != nil {
		t.Fatal(err)
	}
	var d Destination
	if err := json.Unmarshal([]byte(`{"ref": {"kind": "Service", "name": "locations"}}`), &d); err != nil {
		t.Fatal(err)
	}
	url, err := s.Resolve(d)
	if err != nil {
		t.Fatal(err)
	}
	r := newReplicas(url)
	var got []string
	for range 4 {
		got = append(got, r.pick())
	}
	want := []string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3", "http://127.0.0.1:1"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("deliveries went to %v; want %v", got, want)
		}
	}
	if err := s.Set("locations=http://127.0.0.1:1,ftp://x"); err == nil {
		t.Errorf("Set took a list with a URL that is not http")
	}
}
