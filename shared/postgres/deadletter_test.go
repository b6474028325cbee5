package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// The cap of dead letters holds for locations too, which adds those of the
// reports it refuses without the right to read them; a dead letter there
// already still waits again.
func TestDeadLetterCap(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	locations := openAs(t, url, postgres.RoleLocations)
	deadletters := openAs(t, url, postgres.RoleDeadLetters)
	letters := func(source string, n int) []udaconnect.DeadLetter {
		var l []udaconnect.DeadLetter
		for i := range n {
			l = append(l, udaconnect.DeadLetter{Source: source, EventID: fmt.Sprint("e-", i), Type: "t", Destination: "locations", Event: []byte(`{}`)})
		}
		return l
	}
	if err := locations.StoreDeadLetters(ctx, letters("/senders/person-3/phone", 150)); err != nil {
		t.Fatal(err)
	}
	if err := locations.StoreDeadLetters(ctx, letters("/senders/organizer/import", 150)); err != nil {
		t.Fatal(err)
	}
	kept, err := deadletters.FindDeadLetters(ctx, 0, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, d := range kept {
		n[d.Source]++
	}
	if n["/senders/person-3/phone"] != 100 || n["/senders/organizer/import"] != 150 {
		t.Errorf("dead letters kept = %v; want the attendee's first 100 of 150 and the organizer's 150", n)
	}
	if _, err := deadletters.MarkReplayed(ctx, kept[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := deadletters.StoreDeadLetter(ctx, udaconnect.DeadLetter{Source: kept[0].Source, EventID: kept[0].EventID, Type: "t",
		Destination: "locations", Event: []byte(`{}`)}); err != nil {
		t.Errorf("a dead letter that comes back at the cap = %v; want it waiting again", err)
	}
	_, err = deadletters.StoreDeadLetter(ctx, udaconnect.DeadLetter{Source: "/senders/person-3/phone", EventID: "new", Type: "t", Event: []byte(`{}`)})
	if !errors.Is(err, postgres.ErrCapped) {
		t.Errorf("a new dead letter at the cap = %v; want ErrCapped", err)
	}
}
