package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// WebResult is the web app in Chromium on the largest conference of the
// connection query (frontend/web/bench/web.mjs), for its busiest attendee.
type WebResult struct {
	Attendees      int         `json:"attendees"`
	PersonID       int64       `json:"person_id"`
	PersonMeetings int         `json:"person_meetings"`
	Browser        string      `json:"browser"`
	Desktop        WebMeasures `json:"desktop"`
	Throttled      WebMeasures `json:"throttled"`
}

// WebMeasures are the web measures on one CPU (times in ms).
type WebMeasures struct {
	CPUSlowdown       float64 `json:"cpu_slowdown"`
	ListUsable        float64 `json:"list_usable_ms"`
	Keystroke         float64 `json:"keystroke_ms"`
	ListDOMNodes      int     `json:"list_dom_nodes"`
	PersonView        float64 `json:"person_view_ms"`
	Summary           string  `json:"summary"`
	LongestTask       float64 `json:"longest_task_ms"`
	LongestTaskFilter float64 `json:"longest_task_filter_ms"`
}

// The targets of the web app (issue 15).
const (
	targetListUsableMS     = 1000.0
	targetKeystrokeMS      = 50.0
	targetLongTaskMS       = 100.0
	targetLongTaskSlowMS   = 300.0
	targetListDOMNodes     = 500
	targetBusyMeetings     = 300
	webScript              = "frontend/web/bench/web.mjs"
	webScreenshotsFullRuns = "docs/screenshots"
)

// measureWeb starts the system on the database of the connection query at
// c (kept from that step), finds its busiest attendee and runs the web
// measures on them; a full run writes the screenshots of their view too.
func measureWeb(ctx context.Context, o *options, c ConnectionResult, loaded *peaks) (*WebResult, error) {
	dbURL, err := postgres.DatabaseURL(o.databaseURL, fmt.Sprintf("bench_%d", c.Reports))
	if err != nil {
		return nil, err
	}
	r := &WebResult{Attendees: c.Attendees}
	if r.PersonID, r.PersonMeetings, err = busiest(ctx, dbURL); err != nil {
		return nil, err
	}
	say("  the busiest attendee, %d, has %d meetings", r.PersonID, r.PersonMeetings)
	sys, err := startSystem(ctx, o, dbURL, loaded)
	if err != nil {
		return nil, err
	}
	defer sys.stop()
	cmd := exec.CommandContext(ctx, "node", webScript)
	cmd.Env = append(os.Environ(), "BASE_URL="+doorURL, "ORGANIZER_TOKEN="+benchOrganizerToken, fmt.Sprintf("PERSON_ID=%d", r.PersonID))
	if !o.quick {
		cmd.Env = append(cmd.Env, "SCREENSHOTS="+webScreenshotsFullRuns)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", webScript, err, strings.TrimSpace(stderr.String()))
	}
	if err := parseWeb(out, r); err != nil {
		return nil, err
	}
	say("  people list usable in %.0f ms, a keystroke %.0f ms, the longest task at 50 m %.0f ms (4× slower CPU: %.0f, %.0f, %.0f)",
		r.Desktop.ListUsable, r.Desktop.Keystroke, r.Desktop.LongestTask, r.Throttled.ListUsable, r.Throttled.Keystroke, r.Throttled.LongestTask)
	return r, nil
}

// parseWeb reads the script's JSON into r.
func parseWeb(out []byte, r *WebResult) error {
	var v struct {
		Browser   string      `json:"browser"`
		Desktop   WebMeasures `json:"desktop"`
		Throttled WebMeasures `json:"throttled"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &v); err != nil {
		return fmt.Errorf("%s printed %.200q: %w", webScript, out, err)
	}
	r.Browser, r.Desktop, r.Throttled = v.Browser, v.Desktop, v.Throttled
	return nil
}

// busiest returns the attendee with the most meetings, and how many.
func busiest(ctx context.Context, dbURL string) (id int64, meetings int, err error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `
		SELECT p, count(*) FROM (
			SELECT person_a AS p FROM meeting WHERE merged_into IS NULL
			UNION ALL
			SELECT person_b FROM meeting WHERE merged_into IS NULL
		) m GROUP BY p ORDER BY count(*) DESC, p LIMIT 1`).Scan(&id, &meetings)
	if err != nil {
		return 0, 0, fmt.Errorf("busiest attendee: %w", err)
	}
	return id, meetings, nil
}

// web renders the web measures beside their targets.
func (r *Results) web(b *strings.Builder) {
	w := r.Web
	if w == nil {
		return
	}
	fmt.Fprintf(b, "**Web app** in Chromium %s (playwright-core) against the system on the %s attendees of the connection query, signed in as the organizer; the person's view is attendee %d's, with %s %s. Each measure on the desktop CPU and with the CPU 4× slower (`Emulation.setCPUThrottlingRate`).\n\n",
		w.Browser, thousands(w.Attendees), w.PersonID, thousands(w.PersonMeetings), plural(w.PersonMeetings, "meeting", "meetings"))
	b.WriteString("| Web measure | Target | Desktop CPU | 4× slower CPU | |\n|---|---|---|---|---|\n")
	row := func(name, target string, desktop, slow string, ok bool) {
		v := verdict(ok)
		if target == "" {
			v = ""
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, target, desktop, slow, v)
	}
	d, s := w.Desktop, w.Throttled
	row("Navigation → people list usable", fmt.Sprintf("≤ %s", millis(targetListUsableMS)), millis(d.ListUsable), millis(s.ListUsable), d.ListUsable <= targetListUsableMS && s.ListUsable <= targetListUsableMS)
	row("Search keystroke → list updated", fmt.Sprintf("≤ %s", millis(targetKeystrokeMS)), millis(d.Keystroke), millis(s.Keystroke), d.Keystroke <= targetKeystrokeMS && s.Keystroke <= targetKeystrokeMS)
	row("Open the busiest attendee → view complete", "", millis(d.PersonView), millis(s.PersonView), true)
	row("Longest task, every report at 50 m", fmt.Sprintf("≤ %s / ≤ %s", millis(targetLongTaskMS), millis(targetLongTaskSlowMS)), millis(d.LongestTask), millis(s.LongestTask), d.LongestTask <= targetLongTaskMS && s.LongestTask <= targetLongTaskSlowMS)
	row("Longest task, meetings closest within 50 m", fmt.Sprintf("≤ %s / ≤ %s", millis(targetLongTaskMS), millis(targetLongTaskSlowMS)), millis(d.LongestTaskFilter), millis(s.LongestTaskFilter), d.LongestTaskFilter <= targetLongTaskMS && s.LongestTaskFilter <= targetLongTaskSlowMS)
	row("DOM nodes of the people list", fmt.Sprintf("< %d", targetListDOMNodes), thousands(d.ListDOMNodes), thousands(s.ListDOMNodes), d.ListDOMNodes < targetListDOMNodes && s.ListDOMNodes < targetListDOMNodes)
	row("Busiest attendee's meetings", fmt.Sprintf("≥ %d", targetBusyMeetings), thousands(w.PersonMeetings), "", w.PersonMeetings >= targetBusyMeetings)
	b.WriteString("\nA long task is one of 50 ms or more (`PerformanceObserver`, `longtask`): 0 ms means none.\n\n")
}
