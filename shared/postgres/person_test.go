package postgres_test

import (
	"context"
	"fmt"
	"slices"
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
	persons, err := db.FindPersons(ctx, udaconnect.PersonQuery{Limit: 10})
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
	persons, err := db.FindPersons(context.Background(), udaconnect.PersonQuery{Limit: 10})
	if err != nil || persons == nil || len(persons) != 0 {
		t.Errorf("FindPersons on no people = %#v, %v; want an empty, non-nil list", persons, err)
	}
}

// A search finds the people whose names or company hold each word, case
// aside, a page at a time in name order; wildcards match themselves.
func TestFindPersonsSearchedAndPaged(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	for i, p := range []udaconnect.Person{
		{FirstName: "Ada", LastName: "Lovelace", CompanyName: "Analytical Engines"},
		{FirstName: "Augusta", LastName: "Lovelace", CompanyName: "Analytical Engines"},
		{FirstName: "Grace", LastName: "Hopper", CompanyName: "Navy"},
		{FirstName: "Alan", LastName: "Turing", CompanyName: "100% Bletchley_Park"},
		{FirstName: "Zoë", LastName: "Ångström", CompanyName: "Navy"},
	} {
		if _, err := db.CreatePerson(ctx, p, "src", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	names := func(q udaconnect.PersonQuery) []string {
		t.Helper()
		persons, err := db.FindPersons(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range persons {
			got = append(got, p.FirstName+" "+p.LastName)
		}
		return got
	}
	for _, tt := range []struct {
		words []string
		want  []string
	}{
		{[]string{"LOVE"}, []string{"Ada Lovelace", "Augusta Lovelace"}},
		{[]string{"navy"}, []string{"Grace Hopper", "Zoë Ångström"}},
		{[]string{"navy", "gRACE"}, []string{"Grace Hopper"}},
		{[]string{"ångSTRÖM"}, []string{"Zoë Ångström"}},
		{[]string{"100%"}, []string{"Alan Turing"}},
		{[]string{"%"}, []string{"Alan Turing"}},
		{[]string{"y_P"}, []string{"Alan Turing"}},
		{[]string{"_"}, []string{"Alan Turing"}},
		{[]string{"Ada", "Hopper"}, nil},
		{[]string{"aLove"}, nil},        // a word is in one of the three,
		{[]string{"ceAnalytical"}, nil}, // not across two
	} {
		// (The order of names is the database's collation's: sorted here.)
		got := names(udaconnect.PersonQuery{Words: tt.words, Limit: 10})
		if slices.Sort(got); !slices.Equal(got, tt.want) {
			t.Errorf("FindPersons(%q) = %q; want %q", tt.words, got, tt.want)
		}
	}
	// Two at a time, each page after the last of the one before, give
	// everyone once in order.
	var all []string
	q := udaconnect.PersonQuery{Limit: 2}
	for page := 0; ; page++ {
		persons, err := db.FindPersons(ctx, q)
		if err != nil || page > 3 {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, p := range persons {
			all = append(all, p.FirstName+" "+p.LastName)
		}
		if len(persons) < q.Limit {
			break
		}
		last := persons[len(persons)-1]
		q.After = udaconnect.PersonCursor{LastName: last.LastName, FirstName: last.FirstName, ID: last.ID}
	}
	whole := names(udaconnect.PersonQuery{Limit: 10})
	if len(whole) != 5 || !slices.Equal(all, whole) {
		t.Errorf("pages of 2 = %q; want everyone once in order, %q", all, whole)
	}
}
