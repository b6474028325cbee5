package postgres_test

import (
	"context"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

var zeroTime time.Time

func person(first, last string) udaconnect.Person {
	return udaconnect.Person{FirstName: first, LastName: last, CompanyName: last + " Inc"}
}

func TestCreatePersonOncePerEvent(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	first, err := db.CreatePerson(ctx, person("Ada", "Lovelace"), "src", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.CreatePerson(ctx, person("Ada", "Lovelace"), "src", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("CreatePerson of the same event = %+v; want the first %+v", again, first)
	}
	other, err := db.CreatePerson(ctx, person("Ada", "Lovelace"), "src", "2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == first.ID {
		t.Errorf("CreatePerson of another event returned id %d again", other.ID)
	}
	got, err := db.FindPerson(ctx, first.ID)
	if err != nil || got != first {
		t.Errorf("FindPerson(%d) = %+v, %v; want %+v", first.ID, got, err, first)
	}
	persons, err := db.FindPersons(ctx)
	if err != nil || len(persons) != 2 {
		t.Errorf("FindPersons = %d people, %v; want 2", len(persons), err)
	}
}

func TestFindPersonUnknown(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	_, err := db.FindPerson(context.Background(), 404)
	if code := udaconnect.ErrorCode(err); code != udaconnect.ENOTFOUND {
		t.Errorf("FindPerson(404) error code = %q; want %q", code, udaconnect.ENOTFOUND)
	}
}

func TestFindPersonsEmpty(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	persons, err := db.FindPersons(context.Background())
	if err != nil || persons == nil || len(persons) != 0 {
		t.Errorf("FindPersons on no people = %#v, %v; want an empty, non-nil list", persons, err)
	}
}
