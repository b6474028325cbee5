package broker

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestWithError(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name     string
		body     string
		wantData string
	}{
		{"short body", `{"error":"unknown person"}`, base64.StdEncoding.EncodeToString([]byte(`{"error":"unknown person"}`))},
		{"long body truncated", long, base64.StdEncoding.EncodeToString([]byte(long))[:1024]},
		{"no body", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := withError(testEvent(), "http://127.0.0.1:8092", Result{Status: 422, Body: []byte(tt.body)})
			ext := e.Extensions()
			if ext[ErrorCodeExtension] != int32(422) || ext[ErrorDestExtension] != "http://127.0.0.1:8092" || ext[ErrorDataExtension] != tt.wantData {
				t.Errorf("extensions = %v; want code 422, dest, data %q", ext, tt.wantData)
			}
		})
	}
}

func TestStore(t *testing.T) {
	store := NewStore(2, zap.NewNop())
	srv := httptest.NewServer(store)
	defer srv.Close()
	for _, id := range []string{"a", "b", "c"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"x":1}`))
		req.Header = http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {id}, "Ce-Source": {"/t"}, "Ce-Type": {"t"},
			"Ce-Knativeerrorcode": {"422"}, "Content-Type": {"application/json"}}
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST dead letter %s = %v, %v; want 202", id, resp, err)
		}
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["id"] != "b" || got[1]["knativeerrorcode"] != "422" {
		t.Errorf("GET dead letters = %v; want the last two, b and c, with their extensions", got)
	}
}
