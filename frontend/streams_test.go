package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// A live stream ends when its credential is revoked or its person deleted,
// at the door that did it and at another; and when its life is over, after
// which the client reconnects.
func TestStreamsEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	other := s.anotherDoor(t, "STREAM_MAX_LIFE=3s")
	a, b, c := s.register(t, "Ann", "Stream", "Booth"), s.register(t, "Ben", "Stream", "Booth"), s.register(t, "Cat", "Stream", "Booth")
	live := func(door string, p PersonWithToken) string {
		return fmt.Sprintf("%s/api/persons/%d/meetings/live", door, p.ID)
	}
	asA, asB, asC := servertest.Client{Token: a.Token}, servertest.Client{Token: b.Token}, servertest.Client{Token: c.Token}

	// A new token for A ends A's streams, here and at the other door.
	here, there := asA.Subscribe(t, live(s.door, a), ""), asA.Subscribe(t, live(other, a), "")
	byOrganizer := s.org.Subscribe(t, live(s.door, b), "")
	if r := s.org.Request(t, "POST", fmt.Sprintf("%s/api/persons/%d/token", s.door, a.ID), nil); r.Status != http.StatusCreated {
		t.Fatalf("new token for A = %d %s", r.Status, r.Body)
	}
	if !here.Ended(t) || !there.Ended(t) {
		t.Errorf("A's streams after A's token was revoked: ended here %v, at the other door %v; want both ended", here.Ended(t), there.Ended(t))
	}
	if r := asA.Open(t, mustRequest(t, "GET", live(other, a))); r.Status != http.StatusUnauthorized {
		t.Errorf("A's revoked token reconnecting = %d; want 401", r.Status)
	}

	// Deleting B ends B's stream at the other door, and the organizer's of B.
	there = asB.Subscribe(t, live(other, b), "")
	if r := s.org.Request(t, "DELETE", fmt.Sprintf("%s/api/persons/%d", s.door, b.ID), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete B = %d %s", r.Status, r.Body)
	}
	if !there.Ended(t) || !byOrganizer.Ended(t) {
		t.Errorf("B's streams after B was deleted: B's ended %v, the organizer's of B ended %v; want both ended", there.Ended(t), byOrganizer.Ended(t))
	}

	// C's stream at the other door ends after its life; C reconnects.
	there = asC.Subscribe(t, live(other, c), "")
	if !there.Ended(t) {
		t.Errorf("C's stream past STREAM_MAX_LIFE still open; want it ended")
	}
	asC.Subscribe(t, live(other, c), "0").Close()
}
