package main

import (
	"strings"
	"testing"
)

// The web measures stand beside their targets, each CPU held to its own
// for the longest task; a run without them prints no web table.
func TestMarkdownWeb(t *testing.T) {
	r := sampleResults()
	if md := r.Markdown(); strings.Contains(md, "Web measure") {
		t.Errorf("a run without web measures renders them:\n%s", md)
	}
	out := []byte(`{"app_version":"0.1.0","browser":"156.0","desktop":{"cpu_slowdown":1,"list_usable_ms":420.5,"keystroke_ms":38,"list_dom_nodes":61,"person_view_ms":700,"summary":"Met 212 people","longest_task_filter_ms":0,"longest_task_ms":80},` +
		`"throttled":{"cpu_slowdown":4,"list_usable_ms":1300,"keystroke_ms":45,"list_dom_nodes":61,"person_view_ms":2100,"summary":"Met 212 people","longest_task_filter_ms":120,"longest_task_ms":250}}` + "\n")
	r.Web = &WebResult{Attendees: 10_000, PersonID: 42, PersonMeetings: 312}
	if err := parseWeb(out, r.Web); err != nil {
		t.Fatal(err)
	}
	md := r.Markdown()
	for _, want := range []string{
		"| Navigation → people list usable | ≤ 1.00 s | 420.5 ms | 1.30 s | **missed** |",
		"| Search keystroke → list updated | ≤ 50.0 ms | 38.0 ms | 45.0 ms | met |",
		"| Longest task, every report at 50 m | ≤ 100.0 ms / ≤ 300.0 ms | 80.0 ms | 250.0 ms | met |",
		"| Longest task, meetings closest within 50 m | ≤ 100.0 ms / ≤ 300.0 ms | 0.0 ms | 120.0 ms | met |",
		"| DOM nodes of the people list | < 500 | 61 | 61 | met |",
		"| Busiest attendee's meetings | ≥ 300 | 312 |  | met |",
		"attendee 42's, with 312 meetings",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
	if err := parseWeb([]byte("chromium crashed"), r.Web); err == nil {
		t.Error("parseWeb of output that is not JSON: no error")
	}
}
