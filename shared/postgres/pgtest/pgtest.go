// Package pgtest gives each test a database of its own on the PostgreSQL
// server at TEST_DATABASE_URL, migrated and dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	schema "github.com/udaconnect/udaconnect/db"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// MustOpenDB returns a DB on a new, migrated database of the test's own.
func MustOpenDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

// NewDatabase creates a new, migrated database for the test, dropped when it
// ends, and returns its URL. Without TEST_DATABASE_URL the test is skipped,
// or fails when CI=true: there a missing database is an error.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("TEST_DATABASE_URL is not set: run the tests with `make test`")
		}
		tb.Skip("TEST_DATABASE_URL is not set: run the tests with `make test`")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)
	template, err := ensureTemplate(ctx, admin, base)
	if err != nil {
		tb.Fatal(err)
	}
	name := "test_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", name)); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
	})
	url, err := postgres.DatabaseURL(base, name)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	return url
}

// ensureTemplate creates, once per version of the migrations, a migrated
// database that test databases are copied from.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, base string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(schema.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.Migrations, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", err
	}
	name := "template_" + hex.EncodeToString(h.Sum(nil))[:16]
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(7371000002)`); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, `SELECT pg_advisory_unlock(7371000002)`)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		return name, err
	}
	building := name + "_new"
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	url, err := postgres.DatabaseURL(base, building)
	if err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RoleURL returns the URL of the database at url as the function's role,
// which it lets log in. Roles belong to the server, which every test shares:
// each role has one password in every test.
func RoleURL(tb testing.TB, url, role string) string {
	tb.Helper()
	owner, err := postgres.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	defer owner.Close()
	password := "test-password-of-" + role
	if err := owner.SetPassword(context.Background(), role, password); err != nil {
		tb.Fatal(err)
	}
	u, err := postgres.RoleURL(url, role, password)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
