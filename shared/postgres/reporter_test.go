package postgres_test

import (
	"context"
	"fmt"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// Reporters are kept by the persons role, which lists those not revoked and
// reports the revoked ones among the token generations; no other role may
// read them.
func TestReporters(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	persons := openAs(t, url, postgres.RolePersons)
	var created []udaconnect.Reporter
	for _, name := range []string{"Hall A gateway", "Import"} {
		r, err := persons.CreateReporter(ctx, udaconnect.Reporter{Name: name})
		if err != nil || r.ID <= 0 || r.CreatedAt.IsZero() {
			t.Fatalf("CreateReporter(%s) = %+v, %v; want an id and a time", name, r, err)
		}
		created = append(created, r)
	}
	if err := persons.RevokeReporter(ctx, created[0].ID); err != nil {
		t.Fatalf("RevokeReporter = %v", err)
	}
	if err := persons.RevokeReporter(ctx, created[0].ID); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("RevokeReporter twice = %v; want not found", err)
	}
	listed, err := persons.FindReporters(ctx)
	if err != nil || len(listed) != 1 || listed[0].ID != created[1].ID || listed[0].Name != "Import" {
		t.Errorf("FindReporters = %+v, %v; want the import alone", listed, err)
	}
	gens, err := persons.TokenGenerations(ctx)
	if err != nil || gens[fmt.Sprint("reporter-", created[0].ID)] != postgres.Deleted || len(gens) != 1 {
		t.Errorf("TokenGenerations = %v, %v; want the revoked reporter alone, at Deleted", gens, err)
	}
	for _, role := range []string{postgres.RoleLocations, postgres.RoleConnections, postgres.RoleDeadLetters} {
		if _, err := openAs(t, url, role).FindReporters(ctx); err == nil {
			t.Errorf("%s read the reporters; want permission denied", role)
		}
	}
}
