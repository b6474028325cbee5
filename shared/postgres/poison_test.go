package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// Reports that cannot be stored, mixed into a batch, fail alone: those that
// validation refuses before the write (a key too long for its index, a
// control character) and those PostgreSQL refuses (a hash that breaks a
// CHECK constraint); every honest report beside them is stored by the same
// call.
func TestStoreReportsIsolatesPoison(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	pam := mustCreatePerson(t, db, "Pam", "Trexler")
	at := time.Date(2020, 7, 7, 10, 37, 6, 0, time.UTC)
	var batch []udaconnect.Report
	poison := map[int]string{} // index: the field at fault
	for i := range 40 {
		r := report(fmt.Sprintf("honest-%d", i), pam.ID, 35, -106, at.Add(time.Duration(i)*time.Minute))
		switch i % 10 {
		case 3:
			r.Source, poison[i] = strings.Repeat("s", 3000), "source"
		case 5:
			r.EventID, poison[i] = "line\nbreak", "id"
		case 7:
			r.Hash, poison[i] = []byte("short"), "data" // only the database knows it is wrong
		}
		batch = append(batch, r)
	}
	locs, errs, err := db.StoreReports(context.Background(), batch)
	if err != nil {
		t.Fatalf("StoreReports = %v; want the batch stored but its poison", err)
	}
	for i, r := range batch {
		field, bad := poison[i]
		switch {
		case bad && (udaconnect.ErrorCode(errs[i]) != udaconnect.EINVALID || errField(errs[i]) != field):
			t.Errorf("poison report %d: %v; want invalid %s", i, errs[i], field)
		case !bad && (errs[i] != nil || locs[i].ID == 0 || !locs[i].CreationTime.Equal(r.CreationTime)):
			t.Errorf("honest report %d: %+v, %v; want it stored", i, locs[i], errs[i])
		}
	}
	var stored int
	if err := db.Count(context.Background(), &stored); err != nil || stored != 40-len(poison) {
		t.Errorf("%d locations stored (%v); want %d", stored, err, 40-len(poison))
	}
}

func errField(err error) string {
	if e, ok := err.(*udaconnect.Error); ok {
		return e.Field
	}
	return ""
}

// The same event (the Idempotency-Key) sent again with the same request is
// answered with what the first stored; with another request it is refused
// as reused, and the first stays.
func TestIdempotencyKeyReused(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

	first, err := db.CreatePerson(ctx, person("Ada", "Lovelace"), "src", "key", hash("ada"))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := db.CreatePerson(ctx, person("Ada", "Lovelace"), "src", "key", hash("ada")); err != nil || again != first {
		t.Errorf("the same person again = %+v, %v; want %+v", again, err, first)
	}
	if _, err := db.CreatePerson(ctx, person("Bob", "Other"), "src", "key", hash("bob")); udaconnect.ErrorCode(err) != udaconnect.EREUSED {
		t.Errorf("another person under the same key: %v; want %s", err, udaconnect.EREUSED)
	}

	pam := mustCreatePerson(t, db, "Pam", "Trexler")
	at := time.Date(2020, 7, 7, 10, 37, 6, 0, time.UTC)
	r := report("r", pam.ID, 35, -106, at)
	r.Hash = hash("one")
	locs := mustStore(t, db, r)
	r2 := r
	_, errs, err := db.StoreReports(ctx, []udaconnect.Report{r2})
	if err != nil || errs[0] != nil {
		t.Errorf("the same report again: %v, %v; want it answered", err, errs)
	}
	r2.Latitude, r2.Hash = 36, hash("two")
	got, errs, err := db.StoreReports(ctx, []udaconnect.Report{r2, report("s", pam.ID, 1, 1, at)})
	if err != nil || udaconnect.ErrorCode(errs[0]) != udaconnect.EREUSED || errs[1] != nil || got[1].ID == 0 {
		t.Errorf("another report under the same key: %v, %v; want it refused as reused, the other stored", err, errs)
	}
	if l, err := db.FindLocation(ctx, locs[0].ID); err != nil || l.Latitude != 35 {
		t.Errorf("the first report is now %+v, %v; want it unchanged", l, err)
	}
}

// A NUL, a line break or bytes that are not UTF-8 in a name never reach the
// database; if one did, it is refused as invalid, not an internal error.
func TestCreatePersonRefusesWhatPostgreSQLCannotStore(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	p := person("Nul\x00", "Byte")
	_, err := db.CreatePerson(context.Background(), p, "src", "nul", nil)
	if code := udaconnect.ErrorCode(err); code != udaconnect.EINVALID {
		t.Errorf("CreatePerson with a NUL: %v (code %q); want %q", err, code, udaconnect.EINVALID)
	}
}

// Reads cannot take the connections ingest needs: with every connection of
// the pool of reads taken, a read waits, and reports are still stored.
func TestReadsApartFromWrites(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	pam := mustCreatePerson(t, db, "Pam", "Trexler")
	release, err := db.HoldReads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := db.FindPerson(short, pam.ID); udaconnect.ErrorCode(err) != udaconnect.EUNAVAILABLE {
		t.Errorf("a read with every read connection taken = %v; want it to wait, then give up as unavailable", err)
	}
	locs := mustStore(t, db, report("beside", pam.ID, 35, -106, time.Date(2020, 7, 7, 10, 0, 0, 0, time.UTC)))
	if locs[0].ID == 0 {
		t.Errorf("stored %+v; want the report stored while reads are exhausted", locs[0])
	}
}

// Every statement of either pool is bounded by statement_timeout, unless
// DATABASE_URL sets its own.
func TestStatementTimeout(t *testing.T) {
	url := pgtest.NewDatabase(t)
	for _, tt := range []struct{ url, want string }{
		{url, "10s"},
		{url + "&statement_timeout=2500", "2500ms"},
	} {
		db, err := postgres.Open(context.Background(), tt.url)
		if err != nil {
			t.Fatal(err)
		}
		writes, reads, err := db.StatementTimeouts(context.Background())
		db.Close()
		if err != nil || writes != tt.want || reads != tt.want {
			t.Errorf("statement_timeout = %q and %q (%v); want %q in both pools", writes, reads, err, tt.want)
		}
	}
}
